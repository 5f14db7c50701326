"""The model ids the server answers to, as ``GET /v1/models`` lists them.

OpenAI clients send a model id with every request, often hard-coded, so the transcription
route answers to OpenAI's transcription ids; all of them run the one configured faster-whisper
model. ``gpt-4o-transcribe-diarize`` diarizes unless told ``diarize=false``; the others
diarize when asked (``diarize=true``, or a format that needs speakers). ``audar-diarize``
names the diarization-only route. The served backend's own name (``embedded``,
``sortformer``, ...) is a model id too, on both routes: it diarizes. A request without
``model`` (the model card's ``curl``) uses the first id of its route.
"""

from __future__ import annotations

import time

from .errors import APIError

__all__ = ["DIARIZATION_MODEL", "TRANSCRIPTION_MODELS", "diarization_models", "diarizes_by_default", "list_models",
           "resolve_model", "transcription_models"]

TRANSCRIPTION_MODELS = {
    "whisper-1": False,
    "gpt-4o-transcribe": False,
    "gpt-4o-mini-transcribe": False,
    "gpt-4o-transcribe-diarize": True,
}
"""Transcription model id -> whether it diarizes by default."""

DIARIZATION_MODEL = "audar-diarize"
_CREATED = int(time.time())


def transcription_models(backend: str) -> tuple[str, ...]:
    """The ids the transcription route answers to: OpenAI's, then the served backend's name."""
    return (*TRANSCRIPTION_MODELS, backend)


def diarization_models(backend: str) -> tuple[str, ...]:
    """The ids the diarization route answers to: ``audar-diarize``, then the served backend's name."""
    return (DIARIZATION_MODEL, backend)


def list_models(has_asr: bool, backend: str) -> dict:
    """The ``GET /v1/models`` body: the transcription ids when ASR is loaded, the diarization ids."""
    ids = dict.fromkeys([*(TRANSCRIPTION_MODELS if has_asr else ()), *diarization_models(backend)])
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
    """Whether a transcription with ``model`` diarizes unless told not to (the backend's own id does)."""
    return TRANSCRIPTION_MODELS.get(model, True)
