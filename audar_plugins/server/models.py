"""The model ids the server answers to, as ``GET /v1/models`` lists them.

OpenAI clients send a model id with every request, often hard-coded, so the transcription
route answers to OpenAI's transcription ids; all of them run the one configured faster-whisper
model. ``gpt-4o-transcribe-diarize`` diarizes unless told ``diarize=false``; the others
diarize when asked (``diarize=true``, or a format that needs speakers). ``audar-diarize``
names the diarization-only route. A request without ``model`` (the model card's ``curl``)
uses the first id of its route.
"""

from __future__ import annotations

import time

from .errors import APIError

__all__ = ["DIARIZATION_MODEL", "TRANSCRIPTION_MODELS", "diarizes_by_default", "list_models", "resolve_model"]

TRANSCRIPTION_MODELS = {
    "whisper-1": False,
    "gpt-4o-transcribe": False,
    "gpt-4o-mini-transcribe": False,
    "gpt-4o-transcribe-diarize": True,
}
"""Transcription model id -> whether it diarizes by default."""

DIARIZATION_MODEL = "audar-diarize"
_CREATED = int(time.time())


def list_models(has_asr: bool) -> dict:
    """The ``GET /v1/models`` body: the diarization id, and the transcription ids when ASR is loaded."""
    ids = [*(TRANSCRIPTION_MODELS if has_asr else ()), DIARIZATION_MODEL]
    return {"object": "list",
            "data": [{"id": name, "object": "model", "created": _CREATED, "owned_by": "audar"} for name in ids]}


def resolve_model(model: str | None, route_models: tuple[str, ...]) -> str:
    """``model`` if the route serves it, its first id when ``None``, else a 404 ``model_not_found``."""
    if model is None:
        return route_models[0]
    if model not in route_models:
        raise APIError(f"the model {model!r} does not exist on this route; it serves {', '.join(route_models)}",
                       404, "model", "model_not_found")
    return model


def diarizes_by_default(model: str) -> bool:
    return TRANSCRIPTION_MODELS.get(model, False)
