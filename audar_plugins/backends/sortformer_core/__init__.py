"""What both Sortformer runtimes (NeMo in :mod:`..sortformer`, ONNX in :mod:`..sortformer_onnx`) share.

None of it imports torch or NeMo:

* :mod:`.presets`: the streaming latency presets and their settings;
* :mod:`.schedule`: the chunk schedule, offline diarization through a session, the speaker-count bound;
* :mod:`.session`: the live session's schedule, feature buffer and snapshot, around a runtime's step;
* :mod:`.fingerprint`: the digest that tells checkpoints apart;
* :mod:`.export_settings`: the ``settings.json`` an ONNX export carries.
"""

from __future__ import annotations

from .presets import FRAME_DURATION, MODEL_CARD_BINARIZATION, PRESETS, StreamingConfig

__all__ = ["FRAME_DURATION", "MODEL_CARD_BINARIZATION", "PRESETS", "StreamingConfig"]
