"""Sortformer on ONNX Runtime and NumPy, without NeMo or torch at run time (work in progress).

So far: :mod:`.frontend`, NeMo's log-mel features in NumPy.
"""
