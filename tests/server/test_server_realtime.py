"""The ``/v1/realtime`` WebSocket on a real uvicorn server, driven by the ``websockets`` client
and the official OpenAI SDK, streaming real speech at real time and at 10x real time."""

from __future__ import annotations

import base64
import contextlib
import json
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")
websockets = pytest.importorskip("websockets")
openai = pytest.importorskip("openai")

from websockets.exceptions import InvalidStatus  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from audar_plugins.activity import SpeakerActivity  # noqa: E402
from audar_plugins.backends.base import SpeakerCount  # noqa: E402
from audar_plugins.backends.fake import FakeBackend  # noqa: E402
from audar_plugins.evaluation import diarization_error_rate  # noqa: E402
from audar_plugins.formats import read_rttm  # noqa: E402
from audar_plugins.server.app import create_app  # noqa: E402
from audar_plugins.server.engine import Engine  # noqa: E402
from audar_plugins.server.settings import Settings  # noqa: E402

from .live_server import LiveServer, Reader, wait_until  # noqa: E402

KEY = "sk-realtime-test"
TRANSCRIPTION = "conversation.item.input_audio_transcription"
SETTINGS = dict(api_key=KEY, max_realtime_sessions=3, realtime_idle_seconds=4.0, max_message_bytes=200_000,
                max_audio_seconds=40.0, realtime_backlog_seconds=60.0, workers=2)


@pytest.fixture(scope="module")
def server(embedded, whisper):
    settings = Settings(**SETTINGS)
    running = LiveServer(create_app(settings, Engine(settings, embedded, whisper)))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def pcm(speech) -> bytes:
    """falcon as PCM16 16 kHz, the bytes a raw client sends."""
    return (np.clip(speech, -1, 1) * 32767).astype("<i2").tobytes()


@pytest.fixture(scope="module")
def expected(embedded, pcm) -> SpeakerActivity:
    """What the backend's own live session gives for those bytes, in this process."""
    session = embedded.open_session()
    return SpeakerActivity.concatenate([session.push(pcm), session.flush()])


def open_socket(server, query: str = "diarize=true", key: str | None = KEY):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return connect(f"{server.ws_url}/v1/realtime?{query}", additional_headers=headers, open_timeout=30)


def send_paced(socket, chunks, seconds_per_chunk: float, speed: float) -> float:
    """Send ``chunks`` as a live source would at ``speed`` times real time; returns the start time."""
    started = time.monotonic()
    for index, chunk in enumerate(chunks):
        delay = started + index * seconds_per_chunk / speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        socket.send(chunk)
    return started


def activity_of(events: list[dict]) -> list[tuple[str, float, float]]:
    """The speaker spans of ``audar.speaker_activity`` events, joined across event boundaries."""
    spans: dict[str, list[list[float]]] = {}
    for event in events:
        if event["type"] != "audar.speaker_activity":
            continue
        for segment in event["segments"]:
            runs = spans.setdefault(segment["speaker"], [])
            if runs and abs(runs[-1][1] - segment["start"]) < 1e-6:
                runs[-1][1] = segment["end"]
            else:
                runs.append([segment["start"], segment["end"]])
    return sorted((label, round(a, 2), round(b, 2)) for label, runs in spans.items() for a, b in runs)


def spans_of(activity: SpeakerActivity) -> list[tuple[str, float, float]]:
    active = activity.probabilities > 0.5
    spans = []
    for label, column in zip(activity.labels, active.T):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], column.astype(np.int8), [0]])))
        spans += [(label, round(activity.start + a * activity.frame_duration, 2),
                   round(activity.start + b * activity.frame_duration, 2)) for a, b in zip(edges[::2], edges[1::2])]
    return sorted(spans)


def dominant(spans, start: float, end: float) -> str:
    overlap: dict[str, float] = {}
    for label, a, b in spans:
        overlap[label] = overlap.get(label, 0.0) + max(0.0, min(b, end) - max(a, start))
    return max(overlap, key=overlap.get)


def test_raw_pcm_at_real_time(server, pcm, expected):
    """wscat-style binary frames, paced at real time: live speakers, then turns with text."""
    chunk = 3200  # 100 ms
    with open_socket(server) as socket:
        reader = Reader(socket)
        send_paced(socket, [pcm[i : i + chunk] for i in range(0, len(pcm), chunk)], 0.1, speed=1.0)
        socket.send(json.dumps({"type": "audar.stream.end"}))
        events = reader.wait()
    assert events[0]["type"] == "session.created" and events[0]["session"]["resume_token"]
    # the speakers are exactly those of the backend's own live session on the same audio
    assert activity_of(events) == spans_of(expected)
    assert events[-1]["speakers"] == ["speaker_0", "speaker_1", "speaker_2"]
    # and they came with the audio: the pushes, not the final flush, finalised most of the stream
    # (counted in stream time, so that a loaded machine cannot change the answer)
    *live, last = [e for e in events if e["type"] == "audar.speaker_activity"]
    assert live and sum(e["end"] - e["start"] for e in live) > 0.8 * len(pcm) / 32000
    # turn detection made items; each segment's speaker is the one active over it
    committed = reader.of("input_audio_buffer.committed")
    assert len(committed) >= 3
    started = reader.of("input_audio_buffer.speech_started")
    assert [s["item_id"] for s in started] == [c["item_id"] for c in committed][: len(started)]
    segments = reader.of(f"{TRANSCRIPTION}.segment")
    assert {s["speaker"] for s in segments} == {"speaker_0", "speaker_1", "speaker_2"}
    for segment in segments:
        assert segment["speaker"] == dominant(activity_of(events), segment["start"], segment["end"])
    completed = reader.of(f"{TRANSCRIPTION}.completed")
    text = " ".join(c["transcript"] for c in completed).lower()
    assert "crocodile" in text and "turbulence" in text
    for item in completed:
        pieces = [d["delta"] for d in reader.of(f"{TRANSCRIPTION}.delta") if d["item_id"] == item["item_id"]]
        assert "".join(pieces) == item["transcript"]


def test_openai_events_at_24khz_and_10x_real_time(server, data, speech):
    """OpenAI's client events: session.update (PCM 24 kHz, no turn detection), base64 appends, commits."""
    import soxr

    audio24 = soxr.resample(speech, 16_000, 24_000)
    pcm24 = (np.clip(audio24, -1, 1) * 32767).astype("<i2").tobytes()
    seconds = 0.2
    size = int(48_000 * seconds)
    chunks = [pcm24[i : i + size] for i in range(0, len(pcm24), size)]
    with open_socket(server) as socket:
        reader = Reader(socket)
        socket.send(json.dumps({"type": "session.update", "session": {"type": "transcription", "audio": {"input": {
            "format": {"type": "audio/pcm", "rate": 24000}, "turn_detection": None,
            "transcription": {"model": "gpt-4o-transcribe-diarize", "language": "en"}}}}}))
        messages = []
        for index, chunk in enumerate(chunks):
            messages.append(json.dumps({"type": "input_audio_buffer.append",
                                        "audio": base64.b64encode(chunk).decode()}))
            if index in (int(5.0 / seconds), int(11.9 / seconds)):  # between the reference turns
                messages.append(json.dumps({"type": "input_audio_buffer.commit"}))
        send_paced(socket, messages, seconds * len(chunks) / len(messages), speed=10.0)
        socket.send(json.dumps({"type": "audar.stream.end"}))
        events = reader.wait()
    updated = reader.of("session.updated")[0]["session"]
    assert updated["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert updated["audio"]["input"]["turn_detection"] is None
    committed = reader.of("input_audio_buffer.committed")
    assert [c["previous_item_id"] for c in committed] == [None, committed[0]["item_id"], committed[1]["item_id"]]
    assert not reader.of("input_audio_buffer.speech_stopped")  # no turn detection: only our commits
    segments = reader.of(f"{TRANSCRIPTION}.segment")
    assert [s["speaker"] for s in segments] == ["speaker_0", "speaker_1", "speaker_2"]
    reference = read_rttm(data / "falcon" / "test.rttm")["test"]
    from pyannote.core import Annotation, Segment

    hypothesis = Annotation(uri="test")
    for label, start, end in activity_of(events):
        hypothesis[Segment(start, end), label + str(start)] = label
    report = diarization_error_rate({"test": reference}, {"test": hypothesis}, collar=0.25)
    assert report.total.der < 0.05


def test_the_openai_sdk_realtime_client(server, pcm):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)
    with client.realtime.connect(model="gpt-4o-transcribe-diarize", extra_query={"diarize": "true"}) as connection:
        connection.session.update(session={"type": "transcription", "audio": {"input": {
            "format": {"type": "audio/pcm", "rate": 16000}, "turn_detection": None}}})
        connection.input_audio_buffer.append(audio=base64.b64encode(pcm[: 32000 * 4]).decode())  # under the cap
        connection.input_audio_buffer.commit()
        kinds, segments = [], []
        for event in connection:
            kinds.append(event.type)
            if event.type == f"{TRANSCRIPTION}.segment":
                segments.append(event)
            if event.type == f"{TRANSCRIPTION}.completed":
                break
    assert kinds[:2] == ["session.created", "session.updated"]
    assert "input_audio_buffer.committed" in kinds
    assert segments and segments[0].speaker == "speaker_0" and "begins" in segments[0].text.lower()
    assert event.transcript == " ".join(s.text for s in segments)


def test_a_dropped_session_resumes_with_its_speakers(server, pcm, expected):
    half = len(pcm) // 2 // 3200 * 3200
    with open_socket(server) as socket:
        first = Reader(socket)
        for start in range(0, half, 32000):
            socket.send(pcm[start : min(start + 32000, half)])
        socket.send(json.dumps({"type": "input_audio_buffer.clear"}))
        wait_until(lambda: first.of("input_audio_buffer.cleared"), what="input_audio_buffer.cleared")
        token = first.events[0][1]["session"]["resume_token"]
    # the connection dropped without ending the stream: resume it
    with open_socket(server, f"resume={token}") as socket:
        second = Reader(socket)
        for start in range(half, len(pcm), 32000):
            socket.send(pcm[start : start + 32000])
        socket.send(json.dumps({"type": "audar.stream.end"}))
        second.wait()
    events = [e for _, e in first.events] + [e for _, e in second.events]
    assert activity_of(events) == spans_of(expected)
    assert second.of("session.created")[0]["session"]["speakers"] == first.of("audar.speaker_activity")[-1]["speakers"]
    with pytest.raises(InvalidStatus) as refused:  # a token is good once
        open_socket(server, f"resume={token}")
    assert refused.value.response.status_code == 404


def test_bad_messages_get_error_events_and_the_session_goes_on(server, pcm):
    bad = [
        (json.dumps({"type": "input_audio_buffer.commit"}), "input_audio_buffer_commit_empty"),
        ("not json", "invalid_json"),
        (json.dumps(["a list"]), "invalid_event"),
        (json.dumps({"type": "response.create"}), "unknown_event"),
        (json.dumps({"type": "input_audio_buffer.append", "audio": "***"}), "invalid_value"),
        (json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(b"abc").decode()}),
         "invalid_audio"),
        (json.dumps({"type": "session.update", "session": {"audio": {"input": {"format": {"type": "audio/pcmu"}}}}}),
         "unsupported_format"),
        (json.dumps({"type": "session.update", "session": {"audio": {"input": {
            "format": {"type": "audio/pcm", "rate": 44100}}}}}), "unsupported_format"),
        (json.dumps({"type": "input_audio_buffer.append", "audio": "A" * 300_000}), "message_too_large"),
        (b"\x00" * 300_001, "message_too_large"),
        (b"\x00" * 3, "invalid_audio"),
    ]
    with open_socket(server) as socket:
        reader = Reader(socket)
        for message, _ in bad:
            socket.send(message)
        socket.send(pcm[: 32000 * 4])
        socket.send(json.dumps({"type": "audar.stream.end"}))
        reader.wait()
    assert [e["error"]["code"] for e in reader.of("error")] == [code for _, code in bad]
    assert all(e["error"]["type"] == "invalid_request_error" for e in reader.of("error"))
    assert reader.of("audar.stream.ended")[0]["duration"] == pytest.approx(4.0)


def test_an_over_long_stream_is_refused_and_the_server_goes_on(server, pcm):
    silence = b"\x00" * 192_000  # 6 s
    with open_socket(server) as socket:
        reader = Reader(socket)
        for _ in range(8):  # 48 s: the seventh message would cross the 40 s cap, and is refused whole
            socket.send(silence)
        socket.send(pcm[: 32000 * 4])  # 4 s more still fit
        socket.send(json.dumps({"type": "audar.stream.end"}))
        reader.wait()
    assert [e["error"]["code"] for e in reader.of("error")] == ["audio_too_long"] * 2
    assert reader.of("audar.stream.ended")[0]["duration"] == pytest.approx(40.0)


def test_keys_session_cap_and_idle_timeout(server):
    for key in (None, "sk-wrong"):
        with pytest.raises(InvalidStatus) as refused:
            open_socket(server, key=key)
        assert refused.value.response.status_code == 401
        assert json.loads(refused.value.response.body)["error"]["code"] == "invalid_api_key"
    # OpenAI's browser form: the key as a subprotocol
    with connect(f"{server.ws_url}/v1/realtime", subprotocols=["realtime", f"openai-insecure-api-key.{KEY}"]) as ok:
        reader = Reader(ok)
        ok.send(json.dumps({"type": "audar.stream.end"}))  # ended, not parked: its place is free again
        assert reader.wait(30)[0]["type"] == "session.created"

    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(open_socket(server)) for _ in range(SETTINGS["max_realtime_sessions"])]
        tokens = [json.loads(socket.recv())["session"]["resume_token"] for socket in sockets]
        _cap_and_idle(server, sockets, tokens[-1])


def _cap_and_idle(server, sockets, idle_token: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_socket(server)
    assert refused.value.response.status_code == 429
    assert json.loads(refused.value.response.body)["error"]["code"] == "too_many_sessions"
    # an idle session is closed with an error event; parked, it keeps its place until resumed or expired
    idle = sockets.pop()
    event = json.loads(idle.recv(timeout=SETTINGS["realtime_idle_seconds"] + 10))
    assert event["type"] == "error" and event["error"]["code"] == "idle_timeout"
    with pytest.raises(websockets.ConnectionClosed):
        idle.recv(timeout=10)
    with pytest.raises(InvalidStatus) as refused:
        open_socket(server)
    assert refused.value.response.status_code == 429
    with open_socket(server, f"resume={idle_token}") as again:
        reader = Reader(again)
        again.send(json.dumps({"type": "audar.stream.end"}))
        assert reader.wait(30)[0]["session"]["resume_token"] == idle_token


class _OfflineOnly:
    """A backend without live sessions: the fake backend's offline call, and nothing else."""

    name = "offline-only"
    binarization = FakeBackend().binarization

    def diarize(self, audio, speakers=SpeakerCount(), progress=None):
        return FakeBackend().diarize(audio, speakers, progress)


def test_a_backend_that_cannot_stream_is_refused_clearly():
    settings = Settings(workers=1)
    running = LiveServer(create_app(settings, Engine(settings, _OfflineOnly())))
    try:
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{running.ws_url}/v1/realtime?diarize=true", open_timeout=30)
        assert refused.value.response.status_code == 400
        assert json.loads(refused.value.response.body)["error"]["code"] == "backend_not_streaming"
    finally:
        running.stop()


def test_the_sortformer_backend_streams_through_the_gateway(sortformer, pcm):
    """A tiny random Sortformer behind /v1/realtime: the events carry its own live session's output."""
    session = sortformer.open_session()
    expected = SpeakerActivity.concatenate([session.push(pcm), session.flush()])
    settings = Settings(workers=1)
    running = LiveServer(create_app(settings, Engine(settings, sortformer)))
    try:
        with connect(f"{running.ws_url}/v1/realtime?diarize=true", open_timeout=30) as socket:
            reader = Reader(socket)
            for start in range(0, len(pcm), 12_800):
                socket.send(pcm[start : start + 12_800])
            socket.send(json.dumps({"type": "audar.stream.end"}))
            events = reader.wait()
    finally:
        running.stop()
    activity = [e for e in events if e["type"] == "audar.speaker_activity"]
    assert activity[-1]["end"] == pytest.approx(expected.end)
    assert activity_of(events) == spans_of(expected)
    assert events[-1]["speakers"] == list(sortformer.labels)


def test_a_stream_without_transcripts_keeps_no_activity(embedded, speech):
    """Memory stays flat: with no ASR or no diarization, nothing waits for an item."""
    from audar_plugins.server.realtime.stream import RealtimeStream

    stream = RealtimeStream(embedded, keep_activity=False)
    for start in range(0, len(speech), 1600):
        stream.push(speech[start : start + 1600])
    assert stream._aligner.activity_end == 0.0
    kept = RealtimeStream(embedded)
    for start in range(0, len(speech), 1600):
        kept.push(speech[start : start + 1600])
    session = kept._session
    assert session.emitted_frames > 0
    assert kept._aligner.activity_end == pytest.approx(session.emitted_frames * session.frame_duration)
