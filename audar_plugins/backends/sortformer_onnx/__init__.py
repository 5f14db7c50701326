"""Sortformer on ONNX Runtime and NumPy, without NeMo or torch at run time (work in progress).

So far: :mod:`.frontend`, NeMo's log-mel features, and :mod:`.state`, NeMo's speaker cache
and FIFO update (synchronous mode), both in NumPy and tested against NeMo.
"""
