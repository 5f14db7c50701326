"""OpenAI's known_speaker_names[] / known_speaker_references[] on a real server, through the official SDK.

Two LibriSpeech readers converse (their later utterances); their first utterances, as WAV
data URLs, are the references. A third reader is never enrolled.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("fastapi")
openai = pytest.importorskip("openai")
httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from audar_plugins.audio import load_audio  # noqa: E402
from audar_plugins.server.app import create_app  # noqa: E402
from audar_plugins.server.engine import Engine  # noqa: E402
from audar_plugins.server.settings import Settings  # noqa: E402
from audar_plugins.speakers import VoiceEncoder, enroll, file_name, write_voiceprint  # noqa: E402

from ..conftest import librispeech_clip, librispeech_conversation  # noqa: E402
from .live_server import LiveServer  # noqa: E402

NAMES = {"1688": "alice", "1998": "bob"}


def _wav(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, 16_000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _data_url(audio: bytes, media: str = "audio/wav") -> str:
    return f"data:{media};base64," + base64.b64encode(audio).decode()


@pytest.fixture(scope="module")
def voices(data, embedded, tmp_path_factory) -> Path:
    """A server-side voices folder holding carol (reader 2609, absent from the conversation)."""
    folder = tmp_path_factory.mktemp("voices")
    carol = enroll("carol", librispeech_clip(data, "2609"), VoiceEncoder(embedded.models))
    write_voiceprint(carol, folder / file_name("carol"))
    return folder


@pytest.fixture(scope="module")
def server(embedded, whisper, voices):
    settings = Settings(workers=2, max_audio_seconds=120, realtime_backlog_seconds=120, voices=str(voices))
    engine = Engine(settings, embedded, whisper)
    engine.load_voices(settings.voices)  # as Engine.load does with settings.voices
    running = LiveServer(create_app(settings, engine))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=120) as session:
        yield session


@pytest.fixture(scope="module")
def conversation(data):
    waveform, reference = librispeech_conversation(data, ("1688", "1998", "2033"), seed=2, uri="call", first=1)
    from pyannote.core import Segment

    cut = 16_000 * 60  # the first minute, with all three readers
    return _wav(waveform[:cut]), reference.crop(Segment(0, cut / 16_000))


@pytest.fixture(scope="module")
def references(data) -> dict[str, str]:
    return {name: _data_url(_wav(load_audio(librispeech_clip(data, reader)))) for reader, name in NAMES.items()}


def _speaker_at(reference, start: float, end: float) -> str:
    """The reader who speaks most of [start, end] in the reference."""
    from pyannote.core import Segment

    cropped = reference.crop(Segment(start, end))
    return max(cropped.labels(), key=cropped.label_duration)


def test_the_sdk_gets_the_names_back_in_diarized_json(client, conversation, references):
    audio, reference = conversation
    result = client.audio.transcriptions.create(
        model="gpt-4o-transcribe-diarize", file=("call.wav", audio), response_format="diarized_json",
        chunking_strategy="auto",
        extra_body={"known_speaker_names": list(references), "known_speaker_references": list(references.values())})
    speakers = {segment.speaker for segment in result.segments}
    assert {"alice", "bob"} <= speakers and "carol" not in speakers
    # every named segment is on its reader's voice; the unenrolled reader has a letter
    timed = sum(s.end - s.start for s in result.segments)
    right = sum(s.end - s.start for s in result.segments
                if {"alice": "1688", "bob": "1998"}.get(s.speaker, "2033") == _speaker_at(reference, s.start, s.end))
    assert right / timed >= 0.95, [(s.start, s.end, s.speaker) for s in result.segments]
    assert speakers - {"alice", "bob"} <= {"A", "B"}


def test_streamed_diarized_json_carries_the_names_too(client, conversation, references):
    audio, _ = conversation
    events = client.audio.transcriptions.create(
        model="gpt-4o-transcribe-diarize", file=("call.wav", audio[: 16_000 * 2 * 30]), response_format="diarized_json",
        stream=True, extra_body={"known_speaker_names": ["alice"], "known_speaker_references": [references["alice"]]})
    speakers = {event.speaker for event in events if event.type == "transcript.text.segment"}
    assert "alice" in speakers and speakers - {"alice"} <= {"A", "B"}


def test_our_json_carries_names_and_scores(http, conversation, references):
    audio, _ = conversation
    response = http.post("/v1/audio/transcriptions", files={"file": ("call.wav", audio)}, data={
        "response_format": "json", "diarize": "true",
        # one JSON array per field: the encoding some SDKs use for arrays
        "known_speaker_names": json.dumps(["bob"]), "known_speaker_references": json.dumps([references["bob"]])})
    assert response.status_code == 200, response.text
    body = response.json()
    named = {entry["name"]: entry for entry in body["speakers"] if entry["name"]}
    assert set(named) == {"bob"} and named["bob"]["score"] >= 0.5 and named["bob"]["label"] == "bob"
    assert {segment["speaker"] for segment in body["segments"]} >= {"bob"}


def _error(response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


@pytest.fixture(scope="module")
def short_clip(data) -> str:
    speech = load_audio(librispeech_clip(data, "1688"))
    return _data_url(_wav(np.concatenate([np.zeros(16_000 * 2, np.float32), speech[16_000 : 16_000 + 8_000]])))


@pytest.mark.parametrize(("names", "refs", "param", "says"), [
    (["alice"], [_data_url(b"these are not audio bytes")], "known_speaker_references", "[0] cannot be read as audio"),
    (["alice"], ["data:audio/wav;base64,"], "known_speaker_references", "[0] is empty"),
    (["alice"], ["https://example.com/alice.wav"], "known_speaker_references", "must be a data URL"),
    (["alice"], ["data:text/plain;base64,aGVsbG8="], "known_speaker_references", "not audio"),
    (["alice"], ["data:audio/wav;base64,@@@"], "known_speaker_references", "not valid base64"),
    (["alice", "bob"], ["alice"], "known_speaker_names", "pair up"),
    (["alice"], ["alice", "bob"], "known_speaker_references", "pair up"),
    (["alice", "alice"], ["alice", "alice"], "known_speaker_names", "repeats alice"),
    (["alice", " "], ["alice", "bob"], "known_speaker_names", "[1] is empty"),
    (["speaker_0"], ["alice"], "known_speaker_names", "unnamed speakers"),
    ([f"p{k}" for k in range(9)], ["alice"] * 9, "known_speaker_references", "at most 8"),
])
def test_bad_known_speakers_get_400s_and_the_server_keeps_serving(http, conversation, references, names, refs,
                                                                  param, says):
    audio, _ = conversation
    refs = [references.get(ref, ref) for ref in refs]
    error = _error(http.post("/v1/audio/transcriptions", files={"file": ("call.wav", audio[:16_000 * 2 * 8])},
                             data={"response_format": "diarized_json", "known_speaker_names[]": names,
                                   "known_speaker_references[]": refs}))
    assert error["param"] == param and says in error["message"], error
    assert http.get("/health").json()["status"] == "ok"


def test_references_too_short_or_too_long_are_refused(http, data, short_clip):
    long_clip = _data_url(_wav(np.tile(load_audio(librispeech_clip(data, "1998")), 4)[: 16_000 * 31]))
    for clip, says in ((short_clip, "needs at least 1 s"), (long_clip, "longer than 30 s")):
        error = _error(http.post("/v1/audio/diarizations", files={"file": ("a.wav", _wav(np.zeros(16_000)))},
                                 data={"known_speaker_names[]": "alice", "known_speaker_references[]": clip}))
        assert error["param"] == "known_speaker_references" and says in error["message"], error


def test_known_speakers_need_diarization(http, references):
    error = _error(http.post("/v1/audio/transcriptions", files={"file": ("a.wav", _wav(np.zeros(16_000)))},
                             data={"diarize": "false", "known_speaker_names[]": "alice",
                                   "known_speaker_references[]": references["alice"]}))
    assert error["param"] == "diarize"


def test_references_are_neither_logged_nor_written(http, conversation, references):
    """Everything logged at any level while a request with references is served, and every file
    the temporary folder gains, is free of the names and of the reference audio."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root, handler = logging.getLogger(), Keep(logging.DEBUG)
    level, before = root.level, set(Path(tempfile.gettempdir()).iterdir())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        audio, _ = conversation
        response = http.post("/v1/audio/transcriptions", files={"file": ("call.wav", audio[: 16_000 * 2 * 20])},
                             data={"response_format": "diarized_json", "known_speaker_names[]": ["zed-secret-name"],
                                   "known_speaker_references[]": [references["alice"]]})
        assert response.status_code == 200
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    logged = "\n".join(record.getMessage() + repr(record.args) for record in records)
    assert "zed-secret-name" not in logged and references["alice"][22:80] not in logged
    assert set(Path(tempfile.gettempdir()).iterdir()) <= before


REALTIME = "conversation.item.input_audio_transcription"


def _realtime_events(server, session: dict, audio: bytes | None, extra: list[dict] = ()) -> list:
    """Events of a realtime session driven by the official SDK: session.update, ``audio`` in 1 s
    appends (PCM16 16 kHz), one commit, then the end of the stream."""
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    events = []
    with client.realtime.connect(model="gpt-4o-transcribe-diarize", extra_query={"diarize": "true"}) as connection:
        connection.session.update(session={"type": "transcription", "audio": {"input": {
            "format": {"type": "audio/pcm", "rate": 16000}, "turn_detection": None}}, **session})
        for event in extra:
            connection.send(event)
        if audio is not None:
            for start in range(0, len(audio), 32_000):
                connection.input_audio_buffer.append(audio=base64.b64encode(audio[start : start + 32_000]).decode())
            connection.input_audio_buffer.commit()
        connection.send({"type": "audar.stream.end"})
        for event in connection:
            events.append(event)
            if event.type == "audar.stream.ended":
                break
    return events


def test_the_realtime_sdk_client_gets_named_segments(server, data, references):
    waveform, reference = librispeech_conversation(data, ("1688", "1998", "2033"), seed=2, uri="live", first=1)
    audio = (np.clip(waveform[: 16_000 * 30], -1, 1) * 32767).astype("<i2").tobytes()
    # 8 s of each reference: a session.update is one message, under the 1 MB message cap
    clips = [_data_url(_wav(load_audio(librispeech_clip(data, reader))[: 16_000 * 8])) for reader in NAMES]
    events = _realtime_events(server, {"known_speaker_names": list(NAMES.values()),
                                       "known_speaker_references": clips}, audio)
    named = {e.name: e for e in events if e.type == "audar.speaker.named"}
    assert set(named) <= {"alice", "bob"} and "alice" in named and named["alice"].score >= 0.5
    segments = [e for e in events if e.type == f"{REALTIME}.segment"]
    readers = {"alice": "1688", "bob": "1998"}
    timed = sum(s.end - s.start for s in segments if s.speaker in readers)
    right = sum(s.end - s.start for s in segments
                if s.speaker in readers and readers[s.speaker] == _speaker_at(reference, s.start, s.end))
    assert timed > 5 and right / timed >= 0.9, [(s.start, s.end, s.speaker) for s in segments]
    activity = [e for e in events if e.type == "audar.speaker_activity"]
    assert any("alice" in e.speakers for e in activity) and not any("carol" in e.speakers for e in activity)
    assert "carol" not in {s.speaker for s in segments}


def test_realtime_known_speakers_errors_are_events_and_the_session_goes_on(server, references):
    bad = {"known_speaker_names": ["alice"], "known_speaker_references": ["data:audio/wav;base64,"]}
    events = _realtime_events(server, bad, None, extra=[
        {"type": "session.update", "session": {"known_speaker_names": "alice"}},
        {"type": "session.update", "session": {"known_speaker_names": ["alice"],
                                               "known_speaker_references": [references["alice"]]}}])
    errors = [e.error for e in events if e.type == "error"]
    assert "[0] is empty" in errors[0].message and errors[0].param == "known_speaker_references"
    assert "list of strings" in errors[1].message and errors[1].param == "session.known_speaker_names"
    assert [e.type for e in events].count("session.updated") == 1 and events[-1].type == "audar.stream.ended"
    silence = base64.b64encode(b"\0\0" * 16_000).decode()
    late = _realtime_events(server, {}, None, extra=[
        {"type": "input_audio_buffer.append", "audio": silence},
        {"type": "session.update", "session": {"known_speaker_names": ["alice"],
                                               "known_speaker_references": [references["alice"]]}}])
    assert [e.error.code for e in late if e.type == "error"] == ["known_speakers_after_audio"]
    assert late[-1].type == "audar.stream.ended"
