"""The HTTP routes: transcription, diarization, models and health.

Each audio route reads its form (:mod:`.forms`), decodes the upload and runs the models on
the engine's worker threads (:mod:`.engine`), and answers in the requested format; errors
are raised as :class:`~.errors.APIError` and answered by the handlers of :mod:`.errors`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from ..audio import SAMPLE_RATE
from ..formats import MEDIA_TYPES, diarization_body, safe_uri, transcription_body
from ..pipeline import diarize
from .engine import Engine
from .errors import APIError, error_for
from .events import transcription_events
from .forms import DiarizationRequest, TranscriptionRequest, read_diarization_form, read_transcription_form
from .known_speakers import naming_for
from .models import list_models
from .transcription import Transcription
from .uploads import decode_upload

__all__ = ["router"]

router = APIRouter()
FORM_LIMITS = {"max_files": 4, "max_fields": 200, "max_part_size": 4_100_000}
"""Bounds on the multipart parser: a few files, a few fields, text fields up to 4.1 MB (a known
speaker's reference clip, 3 MB as base64)."""


def _engine(request: Request) -> Engine:
    return request.app.state.engine


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    engine = _engine(request)
    return {"status": "ok", "backend": engine.backend.name, "asr": engine.recognizer is not None}


@router.get("/v1/models")
async def models(request: Request) -> dict[str, Any]:
    engine = _engine(request)
    return list_models(engine.recognizer is not None, engine.backend.name)


@router.post("/v1/audio/transcriptions")
async def transcriptions(request: Request) -> Response:
    engine = _engine(request)
    async with request.form(**FORM_LIMITS) as form:
        job = read_transcription_form(form, engine.backend.name)
        if engine.recognizer is None:
            raise APIError("this server runs without an ASR model, so it cannot transcribe; start it with "
                           "`audar serve --asr MODEL`, or diarize without ASR at POST /v1/audio/diarizations",
                           400, "model", "asr_unavailable")
        # one job per request from upload to answer: under load, requests finish in arrival order
        if job.stream:
            run = await engine.run(_start_transcription, engine, job)
        else:
            body = await engine.run(_transcribe, engine, job)
    if job.stream:
        return StreamingResponse(_server_sent(engine, transcription_events(run, job.response_format)),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    return Response(body, media_type=MEDIA_TYPES[job.response_format])


def _start_transcription(engine: Engine, job: TranscriptionRequest) -> Transcription:
    assert engine.recognizer is not None, "the route refuses transcriptions without an ASR model"
    naming = (naming_for(engine.backend, job.known_speakers, engine.voiceprints, lambda: engine.encoder)
              if job.diarize else None)
    waveform = decode_upload(job.upload, engine.settings.max_audio_seconds)
    return Transcription(engine.recognizer, engine.backend, waveform, job, engine.settings.asr_time_factor, naming)


def _transcribe(engine: Engine, job: TranscriptionRequest) -> str:
    result = _start_transcription(engine, job).result()
    return transcription_body(result, job.response_format, job.timestamp_granularities, safe_uri(job.upload.stem))


@router.post("/v1/audio/diarizations")
async def diarizations(request: Request) -> Response:
    engine = _engine(request)
    async with request.form(**FORM_LIMITS) as form:
        job = read_diarization_form(form, engine.backend.name)
        body = await engine.run(_diarize, engine, job)
    return Response(body, media_type=MEDIA_TYPES[job.response_format])


def _diarize(engine: Engine, job: DiarizationRequest) -> str:
    naming = naming_for(engine.backend, job.known_speakers, engine.voiceprints, lambda: engine.encoder)
    waveform = decode_upload(job.upload, engine.settings.max_audio_seconds)
    speakers = job.speakers
    result = diarize(waveform, engine.backend, speakers.num_speakers, speakers.min_speakers, speakers.max_speakers,
                     engine.binarization, uri=safe_uri(job.upload.stem),
                     known_speakers=None if naming is None else naming.voiceprints)
    return diarization_body(result.annotation, waveform.shape[0] / SAMPLE_RATE, job.response_format)


async def _server_sent(engine: Engine, events: Iterator[dict[str, Any]]) -> AsyncIterator[str]:
    """``events`` (produced on a worker thread) as server-sent events; stops the producer if the client leaves.

    An error after the first event can no longer change the status: it is sent as an
    ``{"error": {...}}`` event, which the OpenAI SDK raises as ``APIError``.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def produce() -> None:
        try:
            for event in events:
                if stop.is_set():
                    return
                loop.call_soon_threadsafe(queue.put_nowait, event)
        except Exception as error:  # answered to the client below, and logged by error_for
            loop.call_soon_threadsafe(queue.put_nowait, error)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    engine.submit(produce)
    try:
        while (item := await queue.get()) is not None:
            payload = error_for(item).body() if isinstance(item, Exception) else item
            yield f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"
    finally:
        stop.set()
