"""The HTTP routes under attack: every numeric form field with values no server should act on,
JSON nesting, a prompt that multiplies decoding time, an upload abandoned mid-body. The backend
is the fake one and so is the recognizer: no model is needed to cross a limit."""

from __future__ import annotations

import json
import socket
import time

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from audar_plugins import FakeBackend, FakeRecognizer  # noqa: E402
from audar_plugins.server import transcription  # noqa: E402
from audar_plugins.server.app import create_app  # noqa: E402
from audar_plugins.server.engine import Engine  # noqa: E402
from audar_plugins.server.errors import APIError  # noqa: E402
from audar_plugins.server.settings import Settings  # noqa: E402
from audar_plugins.server.transcription import within_time  # noqa: E402

from .live_server import LiveServer  # noqa: E402

BAD_NUMBERS = ("Infinity", "-Infinity", "inf", "NaN", "1e400", "-1", "true", "12 ms", "[[[1]]]", "9" * 5000,
               "0x10", "")
DEEP = "[" * 1_100 + "]" * 1_100


class SlowRecognizer(FakeRecognizer):
    """The fake recognizer, taking ``pause`` seconds to decode each segment."""

    def __init__(self, pause: float) -> None:
        super().__init__(threshold=0.0, words_per_segment=6)
        self.pause = pause

    def _segments(self, waveform):
        for segment in super()._segments(waveform):
            time.sleep(self.pause)
            yield segment


@pytest.fixture(scope="module")
def server():
    settings = Settings(workers=2)
    running = LiveServer(create_app(settings, Engine(settings, FakeBackend(), FakeRecognizer(threshold=0.0))))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def wav(speech) -> bytes:
    import io

    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, speech[: 16_000 * 9], 16_000, format="WAV")
    return buffer.getvalue()


def _refused(answer, param: str) -> None:
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error", error


NUMBER_FIELDS = [
    ("/v1/audio/transcriptions", "temperature", {}, "temperature"),
    ("/v1/audio/transcriptions", "num_speakers", {"diarize": "true"}, "num_speakers"),
    ("/v1/audio/transcriptions", "min_speakers", {"diarize": "true"}, "min_speakers"),
    ("/v1/audio/transcriptions", "max_speakers", {"diarize": "true"}, "max_speakers"),
    ("/v1/audio/diarizations", "num_speakers", {}, "num_speakers"),
    ("/v1/audio/diarizations", "min_speakers", {}, "min_speakers"),
    ("/v1/audio/diarizations", "max_speakers", {}, "max_speakers"),
    ("/v1/audio/transcriptions", "chunking_strategy[threshold]", {"chunking_strategy[type]": "server_vad"},
     "chunking_strategy"),
    ("/v1/audio/transcriptions", "chunking_strategy[silence_duration_ms]", {"chunking_strategy[type]": "server_vad"},
     "chunking_strategy"),
    ("/v1/audio/transcriptions", "chunking_strategy[prefix_padding_ms]", {"chunking_strategy[type]": "server_vad"},
     "chunking_strategy"),
]


@pytest.mark.parametrize(("route", "field", "form", "param"), NUMBER_FIELDS)
def test_every_numeric_form_field_refuses_what_is_not_a_number_in_range(http, wav, route, field, form, param):
    for value in BAD_NUMBERS:
        if value == "" and not field.startswith("chunking"):
            continue  # an empty text field is an absent one, as OpenAI reads forms
        _refused(http.post(route, files={"file": ("a.wav", wav)}, data={**form, field: value}), param)


@pytest.mark.parametrize("key", ["threshold", "silence_duration_ms", "prefix_padding_ms"])
def test_chunking_strategy_as_json_refuses_bad_numbers_and_nesting(http, wav, key):
    texts = ['{"type": "server_vad", "%s": %s}' % (key, value) for value in BAD_NUMBERS if value]
    texts += ['{"type": "server_vad", "%s": %s}' % (key, DEEP), DEEP, '{"type": ' + DEEP + "}"]
    for text in texts:
        _refused(http.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav)},
                           data={"chunking_strategy": text}), "chunking_strategy")
    ok = http.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav)},
                   data={"chunking_strategy": json.dumps({"type": "server_vad", key: 1})})
    assert ok.status_code == 200 and ok.json()["text"].startswith("w0 w1 w2")


def test_prompts_and_languages_are_bounded(http, wav):
    _refused(http.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav)},
                       data={"prompt": "the " * 300}), "prompt")
    _refused(http.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav)},
                       data={"language": "en\x00"}), "language")
    ok = http.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav)}, data={"prompt": "the " * 200})
    assert ok.status_code == 200


def test_decoding_over_its_time_budget_is_refused_and_the_server_goes_on(wav, monkeypatch):
    monkeypatch.setattr(transcription, "ASR_GRACE_SECONDS", 0.0)
    settings = Settings(workers=1, asr_time_factor=0.001)  # 9 ms of decoding for 9 s of audio
    running = LiveServer(create_app(settings, Engine(settings, FakeBackend(), SlowRecognizer(pause=0.02))))
    try:
        with httpx.Client(base_url=running.url, timeout=60) as client:
            answer = client.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav)})
            assert answer.status_code == 400 and answer.json()["error"]["code"] == "transcription_too_slow"
            streamed = client.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav)},
                                   data={"stream": "true"})
            assert "transcription_too_slow" in streamed.text  # as an error event: the status was sent
            assert client.post("/v1/audio/diarizations", files={"file": ("a.wav", wav)}).status_code == 200
    finally:
        running.stop()


def test_the_time_budget_counts_decoding_only():
    clock = iter([0.0, 5.0, 10.0, 31.0, 41.0])
    decoded = within_time(iter("abcd"), audio_seconds=10.0, factor=1.0, clock=lambda: next(clock))  # 40 s allowed
    assert [next(decoded), next(decoded), next(decoded)] == ["a", "b", "c"]
    with pytest.raises(APIError) as caught:
        next(decoded)
    assert caught.value.code == "transcription_too_slow" and "40 s" in caught.value.message


def test_an_upload_abandoned_mid_body_is_a_quiet_end(server, http, wav):
    host, port = server.url.removeprefix("http://").split(":")
    head = (b"POST /v1/audio/diarizations HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n\r\n"
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n')
    for _ in range(3):
        with socket.create_connection((host, int(port)), timeout=20) as connection:
            connection.sendall(head + wav[:50_000])
    assert http.post("/v1/audio/diarizations", files={"file": ("a.wav", wav)}).status_code == 200
    time.sleep(0.5)  # the server notices the abandoned bodies; conftest then checks its log is clean


def test_the_served_backend_name_is_a_model_id_on_both_routes(http, wav):
    assert [model["id"] for model in http.get("/v1/models").json()["data"]][-2:] == ["audar-diarize", "fake"]
    diarized = http.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav)}, data={"model": "fake"})
    assert diarized.status_code == 200 and {s["speaker"] for s in diarized.json()["segments"]} == {"speaker_0",
                                                                                                   "speaker_1"}
    assert http.post("/v1/audio/diarizations", files={"file": ("a.wav", wav)},
                     data={"model": "fake"}).json()["speakers"] == ["speaker_0", "speaker_1"]
    assert http.post("/v1/audio/diarizations", files={"file": ("a.wav", wav)},
                     data={"model": "embedded"}).status_code == 404  # another backend's name is not served here
