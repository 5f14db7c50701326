"""Training-side tools: widening a Sortformer's speaker heads (``heads``)."""
