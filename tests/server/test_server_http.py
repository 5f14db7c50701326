"""The HTTP gateway on a real uvicorn server, driven by the official OpenAI SDK and by httpx.

One server (tiny.en + the embedded backend, loaded once) serves the module; a second one,
without ASR and with a backend that fails on request, shares the same diarization models.
"""

from __future__ import annotations

import io
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("fastapi")
openai = pytest.importorskip("openai")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

from audar_plugins.adapters.faster_whisper import FasterWhisperRecognizer, transcribe  # noqa: E402
from audar_plugins.backends.base import SpeakerCount  # noqa: E402
from audar_plugins.backends.fake import FakeBackend  # noqa: E402
from audar_plugins.errors import InvalidOptionError  # noqa: E402
from audar_plugins.formats import read_rttm, render  # noqa: E402
from audar_plugins.server.app import create_app  # noqa: E402
from audar_plugins.server.chunking import ChunkingStrategy, parse_chunking_strategy  # noqa: E402
from audar_plugins.server.engine import Engine  # noqa: E402
from audar_plugins.server.errors import APIError  # noqa: E402
from audar_plugins.server.events import transcription_events  # noqa: E402
from audar_plugins.server.forms import TranscriptionRequest  # noqa: E402
from audar_plugins.server.settings import Settings  # noqa: E402
from audar_plugins.server.transcription import Transcription  # noqa: E402
from audar_plugins.server.uploads import Upload  # noqa: E402

from .live_server import SERVER_LOG, LiveServer  # noqa: E402

KEY = "sk-test-key"
MAX_UPLOAD = 3_000_000
MAX_SECONDS = 25.0


class _Failing:
    """The embedded backend, except that asking for 7 speakers raises an unexpected error."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.name = backend.name
        self.binarization = backend.binarization

    def diarize(self, audio, speakers=SpeakerCount(), progress=None):
        if speakers.num_speakers == 7:
            raise RuntimeError("deep inside a library")
        return self.backend.diarize(audio, speakers, progress)


@pytest.fixture(scope="module")
def server(embedded, whisper):
    settings = Settings(api_key=KEY, max_upload_bytes=MAX_UPLOAD, max_audio_seconds=MAX_SECONDS, workers=2)
    running = LiveServer(create_app(settings, Engine(settings, embedded, whisper)))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def diarizer(embedded):
    """A server without ASR (and without a key)."""
    settings = Settings(workers=2)
    running = LiveServer(create_app(settings, Engine(settings, _Failing(embedded))))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as session:
        yield session


@pytest.fixture(scope="module")
def falcon(data) -> bytes:
    return (data / "falcon/test.wav").read_bytes()


@pytest.fixture(scope="module")
def in_process(whisper, embedded, data):
    """What transcribe() gives for falcon in this process, with the same models."""
    return transcribe(data / "falcon/test.wav", whisper, embedded, language="en")


@pytest.fixture(scope="module")
def diarized(client, falcon):
    return client.audio.transcriptions.create(model="whisper-1", file=("test.wav", falcon), language="en",
                                              response_format="diarized_json", extra_body={"diarize": True})


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]


def _still_serving(client, falcon) -> None:
    result = client.post("/v1/audio/diarizations", files={"file": ("test.wav", falcon)})
    assert result.status_code == 200 and len(result.json()["speakers"]) == 3


# -- OpenAI SDK: transcription --------------------------------------------------------------


def test_models_and_health(client, http, diarizer):
    ids = [model.id for model in client.models.list()]
    assert ids == ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-diarize",
                   "audar-diarize", "embedded"]
    assert http.get("/health").json() == {"status": "ok", "backend": "embedded", "asr": True}
    assert [m["id"] for m in httpx.get(diarizer.url + "/v1/models").json()["data"]] == ["audar-diarize", "embedded"]


def test_diarized_json_equals_transcribe_and_render_in_process(diarized, in_process):
    expected = json.loads(render(in_process, "diarized_json"))
    assert type(diarized).__name__ == "TranscriptionDiarized"
    assert [segment.model_dump() for segment in diarized.segments] == expected["segments"]
    assert diarized.text == expected["text"] == in_process.text
    assert [segment.speaker for segment in diarized.segments] == ["A", "B", "C"]
    assert diarized.duration == pytest.approx(18.6, abs=0.05)
    assert diarized.usage.type == "duration" and diarized.usage.seconds == diarized.duration


def test_json_with_diarize_has_the_model_card_shape(client, falcon, in_process):
    result = client.audio.transcriptions.create(model="whisper-1", file=("test.wav", falcon), language="en",
                                                extra_body={"diarize": True})
    body = result.model_dump()
    assert body["text"] == in_process.text
    assert body["segments"] == json.loads(render(in_process, "json"))["segments"]
    assert [segment["speaker"] for segment in body["segments"]] == ["speaker_0", "speaker_1", "speaker_2"]
    assert set(body["segments"][0]) == {"speaker", "start", "end", "text"}


def test_streamed_events_equal_the_answer_without_streaming(client, falcon, diarized):
    events = list(client.audio.transcriptions.create(model="whisper-1", file=("test.wav", falcon), language="en",
                                                     response_format="diarized_json", stream=True))
    types = [event.type for event in events]
    assert types[-1] == "transcript.text.done" and types.count("transcript.text.done") == 1
    segments = [event.model_dump() for event in events if event.type == "transcript.text.segment"]
    assert segments == [segment.model_dump() for segment in diarized.segments]
    deltas = [event for event in events if event.type == "transcript.text.delta"]
    assert "".join(event.delta for event in deltas) == events[-1].text == diarized.text
    assert [event.segment_id for event in deltas] == [segment["id"] for segment in segments]


def test_streaming_without_diarization_sends_whisper_segments_as_deltas(client, falcon):
    # chunking_strategy="auto" as the SDK sends it: a plain string
    plain = client.audio.transcriptions.create(model="whisper-1", file=("test.wav", falcon), language="en",
                                               chunking_strategy="auto")
    events = list(client.audio.transcriptions.create(model="whisper-1", file=("test.wav", falcon), language="en",
                                                     stream=True, chunking_strategy="auto"))
    deltas = [event.delta for event in events if event.type == "transcript.text.delta"]
    assert "crocodile" in plain.text
    assert len(deltas) > 3 and "".join(deltas) == events[-1].text == plain.text
    assert not any(event.type == "transcript.text.segment" for event in events)
    assert plain.model_dump()["usage"] == {"type": "duration", "seconds": pytest.approx(18.578, abs=1e-3)}


def test_chunking_strategy_as_an_object_in_both_encodings(client, http, falcon):
    # a speech threshold no probability exceeds: the VAD keeps nothing, so whisper hears nothing
    deaf = {"type": "server_vad", "threshold": 1.0, "silence_duration_ms": 500, "prefix_padding_ms": 100}
    bracketed = client.audio.transcriptions.create(model="whisper-1", file=("test.wav", falcon),
                                                   chunking_strategy=deaf)  # the SDK sends chunking_strategy[...]
    assert bracketed.text == ""
    as_json = http.post("/v1/audio/transcriptions", files={"file": ("test.wav", falcon)},
                        data={"model": "whisper-1", "chunking_strategy": json.dumps(deaf)})
    assert as_json.status_code == 200 and as_json.json()["text"] == ""
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=("test.wav", falcon),
                                           chunking_strategy={"type": "server_vad", "threshold": 2})
    assert caught.value.body["param"] == "chunking_strategy" and "threshold" in caught.value.body["message"]


def test_verbose_json_is_whisper_segments_and_words(client, falcon, in_process):
    verbose = client.audio.transcriptions.create(model="whisper-1", file=("test.wav", falcon), language="en",
                                                 response_format="verbose_json",
                                                 timestamp_granularities=["word", "segment"],
                                                 extra_body={"diarize": True})
    assert type(verbose).__name__ == "TranscriptionVerbose"
    assert verbose.text == in_process.text and verbose.language == "en"
    assert [segment.id for segment in verbose.segments] == list(range(len(verbose.segments)))
    assert " ".join(segment.text.strip() for segment in verbose.segments) == verbose.text
    assert [word.word for word in verbose.words] == [word.text.strip() for word in in_process.words]
    assert [word.model_dump()["speaker"] for word in verbose.words] == [word.speaker for word in in_process.words]
    assert all(0 <= word.start <= word.end <= verbose.duration for word in verbose.words)


def test_subtitles_text_and_rttm(http, falcon, in_process, tmp_path):
    def ask(response_format, form):
        answer = http.post("/v1/audio/transcriptions", files={"file": ("/etc/passwd", falcon)},
                           data={"response_format": response_format, "language": "en", **form})
        assert answer.status_code == 200, answer.text
        return answer

    with ThreadPoolExecutor(2) as pool:
        srt, vtt, text, plain_srt, rttm = pool.map(ask, ["srt", "vtt", "text", "srt", "rttm"],
                                                   [{"diarize": "true"}] * 3 + [{}, {"num_speakers": "2"}])
    for answer, response_format in ((srt, "srt"), (vtt, "vtt"), (text, "text")):
        assert answer.text == render(in_process, response_format)
    blocks = srt.text.strip().split("\n\n")
    assert len(blocks) >= 3 and all(block.split("\n")[1].count(" --> ") == 1 for block in blocks)
    assert vtt.text.startswith("WEBVTT\n") and "<v speaker_2>" in vtt.text
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert [line.split(":")[0] for line in text.text.splitlines()] == ["speaker_0", "speaker_1", "speaker_2"]
    assert "speaker_" not in plain_srt.text and plain_srt.text.startswith("1\n00:00:01,780 --> ")
    (tmp_path / "out.rttm").write_text(rttm.text)
    annotation = read_rttm(tmp_path / "out.rttm")["passwd"]  # the client's file name is only a name
    assert len(annotation.labels()) == 2  # num_speakers reached the backend


# -- diarization without ASR ----------------------------------------------------------------


def test_diarization_route_json_and_rttm(http, falcon, tmp_path):
    answer = http.post("/v1/audio/diarizations", files={"file": ("meeting.wav", falcon)})
    body = answer.json()
    assert body["speakers"] == ["speaker_0", "speaker_1", "speaker_2"]
    assert all(set(row) == {"speaker", "start", "end"} for row in body["segments"])
    two = http.post("/v1/audio/diarizations", files={"file": ("meeting.wav", falcon)},
                    data={"response_format": "rttm", "num_speakers": "2", "model": "audar-diarize"})
    (tmp_path / "two.rttm").write_text(two.text)
    assert len(read_rttm(tmp_path / "two.rttm")["meeting"].labels()) == 2


def test_a_server_without_asr_diarizes_and_says_why_it_cannot_transcribe(diarizer, falcon):
    with httpx.Client(base_url=diarizer.url, timeout=60) as http:
        error = _error(http.post("/v1/audio/transcriptions", files={"file": ("test.wav", falcon)}), 400)
        assert error["code"] == "asr_unavailable" and "/v1/audio/diarizations" in error["message"]
        assert http.post("/v1/audio/diarizations", files={"file": ("test.wav", falcon)}).status_code == 200


@pytest.mark.server_errors
def test_an_unexpected_failure_is_a_500_without_traceback(diarizer, falcon):
    with httpx.Client(base_url=diarizer.url, timeout=60) as http:
        error = _error(http.post("/v1/audio/diarizations", files={"file": ("a.wav", falcon)},
                                 data={"num_speakers": "7"}), 500)
        assert error["type"] == "server_error" and "library" not in error["message"]
        _still_serving(http, falcon)
    # the traceback is in the server's log, once, as the server's own failure
    logged = [r for r in SERVER_LOG.records if r.exc_info]
    assert [(r.name, r.exc_info[0]) for r in logged] == [("audar_plugins.server.errors", RuntimeError)]


def test_concurrent_requests_all_succeed(diarizer, falcon):
    def diarize(_):
        with httpx.Client(base_url=diarizer.url, timeout=120) as http:
            return http.post("/v1/audio/diarizations", files={"file": ("a.wav", falcon)}).json()["speakers"]

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(diarize, range(8))) == [["speaker_0", "speaker_1", "speaker_2"]] * 8


# -- limits and errors ----------------------------------------------------------------------


def _raw_answer(server, head: bytes, body_chunks=()) -> bytes:
    """Send a request head and some body on a raw socket, never finishing the body; return the answer."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as connection:
        connection.sendall(head)
        for chunk in body_chunks:
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += connection.recv(65536)
        head, _, body = answer.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(body) < length:
            body += connection.recv(65536)
        return head + b"\r\n\r\n" + body


def test_an_upload_over_the_cap_is_refused_before_it_is_read(server, client, http, falcon):
    with pytest.raises(openai.APIStatusError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=("big.wav", falcon + bytes(MAX_UPLOAD)))
    assert caught.value.status_code == 413 and caught.value.body["code"] == "file_too_large"
    head = (b"POST /v1/audio/diarizations HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + KEY.encode()
            + b"\r\nContent-Type: multipart/form-data; boundary=b\r\n")
    # a 2 GB body announced: refused on the headers alone, not a byte of it sent
    answer = _raw_answer(server, head + b"Content-Length: 2000000000\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413") and b"file_too_large" in answer
    # chunked, no length: refused once the cap is crossed, while the body is still arriving
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n'
    answer = _raw_answer(server, head + b"Transfer-Encoding: chunked\r\n\r\n",
                         [part] + [bytes(100_000)] * (MAX_UPLOAD // 100_000 + 2))
    assert answer.startswith(b"HTTP/1.1 413") and b"file_too_large" in answer
    _still_serving(http, falcon)


def test_audio_longer_than_the_cap_is_refused(http, data, falcon):
    waveform, rate = sf.read(data / "falcon/test.wav")
    long = io.BytesIO()
    sf.write(long, np.concatenate([waveform, waveform]), rate, format="FLAC")  # 37 s, smaller than the upload cap
    error = _error(http.post("/v1/audio/diarizations", files={"file": ("long.flac", long.getvalue())}), 400)
    assert error["code"] == "audio_too_long" and "25 s" in error["message"]
    _still_serving(http, falcon)


def test_api_key(server, client, falcon):
    wrong = openai.OpenAI(base_url=server.url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.audio.transcriptions.create(model="whisper-1", file=("test.wav", falcon))
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    missing = _error(httpx.post(server.url + "/v1/audio/diarizations", files={"file": ("a.wav", falcon)}), 401)
    assert missing["code"] == "invalid_api_key" and "Bearer" in missing["message"]
    assert httpx.get(server.url + "/health").status_code == 200
    assert client.models.list().data


@pytest.mark.parametrize(("files", "form", "status", "param", "says"), [
    ({"file": ("notes.wav", b"these are not audio bytes")}, {}, 400, "file", "cannot decode 'notes.wav'"),
    ({"file": ("empty.wav", b"")}, {}, 400, "file", "empty"),
    (None, {"model": "whisper-1"}, 400, "file", "'file' is required"),
    ({"file": ("a.wav", b"x")}, {"response_format": "xml"}, 400, "response_format", "one of json, text"),
    ({"file": ("a.wav", b"x")}, {"chunking_strategy": "fixed"}, 400, "chunking_strategy", "'fixed'"),
    ({"file": ("a.wav", b"x")}, {"chunking_strategy[type]": "server_vad", "chunking_strategy[size]": "3"}, 400,
     "chunking_strategy", "unknown key(s) ['size']"),
    ({"file": ("a.wav", b"x")}, {"chunking_strategy": "{not json"}, 400, "chunking_strategy", "not valid JSON"),
    ({"file": ("a.wav", b"x")}, {"temperature": "1.5"}, 400, "temperature", "[0, 1]"),
    ({"file": ("a.wav", b"x")}, {"known_speaker_names[]": "agent"}, 400, "known_speaker_names", "pair up"),
    ({"file": ("a.wav", b"x")}, {"diarise": "true"}, 400, "diarise", "unrecognized"),
    ({"file": ("a.wav", b"x")}, {"response_format": "diarized_json", "diarize": "false"}, 400, "diarize", "drop"),
    ({"file": ("a.wav", b"x")}, {"response_format": "srt", "stream": "true"}, 400, "stream", "json, text"),
    ({"file": ("a.wav", b"x")}, {"num_speakers": "2"}, 400, "diarize", "diarize=true"),
    ({"file": ("a.wav", b"x")}, {"model": "whisper-9"}, 404, "model", "does not exist"),
])
def test_bad_requests_get_openai_errors(http, falcon, files, form, status, param, says):
    error = _error(http.post("/v1/audio/transcriptions", files=files, data=form), status)
    assert error["param"] == param and says in error["message"], error


def test_bad_requests_through_the_sdk_and_unknown_routes(client, http, falcon):
    with pytest.raises(openai.BadRequestError, match="cannot decode"):
        client.audio.transcriptions.create(model="whisper-1", file=("notes.wav", b"not audio"))
    with pytest.raises(openai.NotFoundError):
        client.audio.transcriptions.create(model="whisper-9", file=("a.wav", falcon))
    assert _error(http.get("/v1/nothing"), 404)["code"] == "not_found"
    assert _error(http.get("/v1/audio/transcriptions"), 405)["code"] == "method_not_allowed"
    assert _error(http.post("/v1/audio/transcriptions", json={"file": "x"}), 400)["param"] == "file"
    _still_serving(http, falcon)


# -- pieces ---------------------------------------------------------------------------------


def test_chunking_strategy_parsing():
    assert parse_chunking_strategy({}) is None
    assert parse_chunking_strategy({"chunking_strategy": ["auto"]}) == ChunkingStrategy("auto")
    assert parse_chunking_strategy({"chunking_strategy": ['"auto"']}) == ChunkingStrategy("auto")
    bracketed = {"chunking_strategy[type]": ["server_vad"], "chunking_strategy[threshold]": ["0.3"],
                 "chunking_strategy[silence_duration_ms]": ["700"]}
    as_json = {"chunking_strategy": ['{"type": "server_vad", "threshold": 0.3, "silence_duration_ms": 700}']}
    assert parse_chunking_strategy(bracketed) == parse_chunking_strategy(as_json) == ChunkingStrategy(
        "server_vad", threshold=0.3, silence_duration_ms=700)
    assert ChunkingStrategy("server_vad", 100, 700, 0.3).whisper_options() == {
        "vad_filter": True,
        "vad_parameters": {"threshold": 0.3, "min_silence_duration_ms": 700, "speech_pad_ms": 100}}
    for bad in ({"chunking_strategy": ["auto"], "chunking_strategy[type]": ["server_vad"]},
                {"chunking_strategy[type]": ["server_vad"], "chunking_strategy[prefix_padding_ms]": ["1.5"]},
                {"chunking_strategy[type]": ["semantic_vad"]},
                {"chunking_strategy": ['{"type": "server_vad", "threshold": true}']}):
        with pytest.raises(APIError) as caught:
            parse_chunking_strategy(bad)
        assert caught.value.param == "chunking_strategy"


def test_settings_from_flags_then_environment():
    environ = {"AUDAR_PORT": "9000", "AUDAR_HOST": "0.0.0.0", "AUDAR_MAX_UPLOAD_MB": "1.5", "AUDAR_DEVICE": "cpu",
               "AUDAR_API_KEY": "from-env"}
    settings = Settings.from_sources({"port": 9100, "api_key": None}, environ)
    assert (settings.port, settings.host, settings.max_upload_bytes, settings.api_key) == (9100, "0.0.0.0",
                                                                                            1_500_000, "from-env")
    assert settings.backend_options == {"device": "cpu"}
    assert Settings.from_sources({}, {}).host == "127.0.0.1" and Settings().port == 8001
    with pytest.raises(InvalidOptionError, match="AUDAR_PORT"):
        Settings.from_sources({}, {"AUDAR_PORT": "http"})
    with pytest.raises(InvalidOptionError, match="max_upload_bytes"):
        Settings(max_upload_bytes=0)


def test_the_serve_command_reads_flags_and_environment():
    from audar_plugins.cli import build_parser as _parser
    from audar_plugins.cli.serve import settings_from_args

    args = _parser().parse_args(["serve", "--port", "0", "--max-upload-mb", "2", "--asr", "tiny.en",
                                 "--preset", "card"])
    settings = settings_from_args(args, {"AUDAR_PORT": "7000", "AUDAR_WORKERS": "3", "AUDAR_PRECISION": "int8"})
    assert (settings.port, settings.max_upload_bytes, settings.asr_model, settings.workers) == (0, 2_000_000,
                                                                                                "tiny.en", 3)
    assert settings.backend_options == {"preset": "card", "precision": "int8"} and settings.host == "127.0.0.1"


class _ScriptedWhisper:
    """A stand-in for WhisperModel: one segment of six 0.5 s words per 3 s, counting what it decoded."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.decoded = 0

    def transcribe(self, waveform, **options):
        def segments():
            for index, start in enumerate(np.arange(0.0, self.seconds, 3.0)):
                words = [SimpleNamespace(word=f" w{index}.{k}" + ("." if k == 5 else ""), start=start + 0.5 * k,
                                         end=start + 0.5 * k + 0.4, probability=0.9) for k in range(6)]
                self.decoded += 1
                yield SimpleNamespace(text="".join(w.word for w in words), start=start, end=start + 3.0,
                                      words=words)

        return segments(), SimpleNamespace(language="en", duration=self.seconds)


def test_diarized_streams_send_turns_while_decoding_and_end_equal_to_the_whole():
    whisper = _ScriptedWhisper(60.0)
    request = TranscriptionRequest(Upload(io.BytesIO(), "a.wav"), "whisper-1", "diarized_json", diarize=True,
                                   stream=True)
    run = Transcription(FasterWhisperRecognizer(whisper), FakeBackend(num_speakers=3, turn_duration=4.0),
                        np.zeros(60 * 16_000, np.float32), request)
    progress = []
    events = []
    for event in transcription_events(run, "diarized_json"):
        events.append(event)
        progress.append(whisper.decoded)
    final = json.loads(render(run.result().transcript, "diarized_json"))
    segments = [event for event in events if event["type"] == "transcript.text.segment"]
    assert segments == final["segments"] and len(segments) > 10
    assert progress[0] < 10, "the first turns are sent while most of the audio is still to decode"
    deltas = [event["delta"] for event in events if event["type"] == "transcript.text.delta"]
    assert "".join(deltas) == events[-1]["text"] == final["text"]
