"""``/v1/realtime`` under attack and under load: every limit crossed, every bad value answered,
nothing lost when a client drops. The backend is the fake one (it streams with no model) and
the recognizer the fake one behind a gate, so that each race is made to happen, not hoped for."""

from __future__ import annotations

import base64
import json
import socket as sockets
import threading

import numpy as np
import pytest

pytest.importorskip("fastapi")
websockets = pytest.importorskip("websockets")

from websockets.exceptions import InvalidStatus  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from audar_plugins.backends.base import SpeakerCount  # noqa: E402
from audar_plugins import FakeBackend, FakeRecognizer  # noqa: E402
from audar_plugins.server.app import create_app  # noqa: E402
from audar_plugins.server.engine import Engine  # noqa: E402
from audar_plugins.server.realtime.stream import MAX_BUFFER_SECONDS, RealtimeStream  # noqa: E402
from audar_plugins.server.settings import Settings  # noqa: E402

from .live_server import LiveServer, Reader, wait_until  # noqa: E402

TRANSCRIPTION = "conversation.item.input_audio_transcription"
SECOND = b"\x01\x00" * 16_000  # one second of PCM16 at 16 kHz


class GatedRecognizer(FakeRecognizer):
    """The fake recognizer (a word per half second), decoding once the gate opens."""

    def __init__(self, open_gate: bool = True) -> None:
        super().__init__(threshold=0.0)
        self.gate = threading.Event()
        if open_gate:
            self.gate.set()
        self.started = threading.Event()

    def recognize(self, waveform, language=None, **options):
        self.started.set()
        if not self.gate.wait(60):
            raise TimeoutError("the test never opened the gate")
        return super().recognize(waveform, language, **options)


class _GatedSession:
    """A fake live session whose pushes wait for the gate: a server slower than its client, on demand."""

    def __init__(self, session, gate: threading.Event) -> None:
        self._session = session
        self._gate = gate

    def push(self, audio, sample_rate: int = 16_000):
        if not self._gate.wait(60):
            raise TimeoutError("the test never opened the gate")
        return self._session.push(audio, sample_rate)

    def __getattr__(self, name):
        return getattr(self._session, name)


class SlowBackend(FakeBackend):
    """The fake backend, its live pushes held until ``gate`` opens."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def open_session(self, preset=None, speakers=SpeakerCount()):
        return _GatedSession(super().open_session(preset, speakers), self.gate)


def serve(backend=None, recognizer=None, **settings):
    options = {"workers": 2, "realtime_idle_seconds": 30.0, "max_realtime_sessions": 4, **settings}
    configured = Settings(**options)
    return LiveServer(create_app(configured, Engine(configured, backend or FakeBackend(), recognizer)))


@pytest.fixture(scope="module")
def fake_server():
    running = serve(max_realtime_sessions=2, recognizer=GatedRecognizer())
    yield running
    running.stop()


def open_socket(server, query: str = "diarize=true"):
    return connect(f"{server.ws_url}/v1/realtime?{query}", open_timeout=30)


def session_update(**audio_input) -> str:
    return json.dumps({"type": "session.update", "session": {"type": "transcription", "audio": {"input": {
        "format": {"type": "audio/pcm", "rate": 16000}, **audio_input}}}})


END = json.dumps({"type": "audar.stream.end"})


# -- the handshake ----------------------------------------------------------------------------


@pytest.mark.parametrize("query", [
    "max_speakers=0", "max_speakers=-3", "max_speakers=abc", "max_speakers=1e400", "max_speakers=nan",
    "max_speakers=99999999999999999999", "max_speakers=2.5", "max_speakers=65", "diarize=maybe",
    "resume=no-such-token", "diarize=true&diarize=false",
])
def test_a_refused_handshake_gives_its_slot_back(fake_server, query):
    for _ in range(3):  # more refusals than the cap of 2
        with pytest.raises(InvalidStatus) as refused:
            open_socket(fake_server, query)
        assert refused.value.response.status_code in (400, 404)
        assert "error" in json.loads(refused.value.response.body)
    with open_socket(fake_server) as first, open_socket(fake_server) as second:  # both places are free
        for socket in (first, second):
            reader = Reader(socket)
            socket.send(END)  # ended, not parked: the places are free again for the next case
            assert reader.wait(30)[0]["type"] == "session.created"


def test_parked_sessions_count_toward_the_cap_and_resume_into_their_place(fake_server):
    with open_socket(fake_server) as dropped:  # closed without audar.stream.end: the stream is parked
        token = json.loads(dropped.recv(10))["session"]["resume_token"]
    with open_socket(fake_server) as other:
        assert json.loads(other.recv(10))["type"] == "session.created"
        with pytest.raises(InvalidStatus) as refused:  # one open, one parked: the cap of 2 is reached
            open_socket(fake_server)
        assert refused.value.response.status_code == 429
    with open_socket(fake_server, f"resume={token}") as resumed:
        assert json.loads(resumed.recv(10))["session"]["resume_token"] == token
        resumed.send(SECOND)
        resumed.send(END)
        assert Reader(resumed).wait(30)[-1]["type"] == "audar.stream.ended"


# -- client events ----------------------------------------------------------------------------


BAD_NUMBERS = ("Infinity", "-Infinity", "NaN", "1e400", "-1", "true", '"12 ms"', "[[[1]]]", "{}", "9" * 5000)
"""JSON texts of numbers no server should act on, as a client can send them."""


NUMBER_FIELDS = {
    "rate": '{"type": "session.update", "event_id": "E", "session": {"audio": {"input": '
            '{"format": {"type": "audio/pcm", "rate": VALUE}}}}}',
    "silence_duration_ms": '{"type": "session.update", "event_id": "E", "session": {"audio": {"input": '
                           '{"turn_detection": {"type": "server_vad", "silence_duration_ms": VALUE}}}}}',
    "prefix_padding_ms": '{"type": "session.update", "event_id": "E", "session": {"audio": {"input": '
                         '{"turn_detection": {"type": "server_vad", "prefix_padding_ms": VALUE}}}}}',
    "threshold": '{"type": "session.update", "event_id": "E", "session": {"audio": {"input": '
                 '{"turn_detection": {"type": "server_vad", "threshold": VALUE}}}}}',
    "older shape": '{"type": "transcription_session.update", "event_id": "E", "session": {"turn_detection": '
                   '{"type": "server_vad", "silence_duration_ms": VALUE}}}',
}


def test_bad_values_in_every_field_of_every_event_are_error_events(fake_server):
    deep = "[" * 1_100 + "]" * 1_100
    messages = [
        '{"type": "session.update", "event_id": "E", "session": ' + deep + "}",  # nesting
        '{"type": "input_audio_buffer.append", "event_id": "E", "audio": ' + deep + "}",
        deep,
        '{"type": "session.update", "event_id": "E", "session": {"audio": {"input": {"transcription": '
        '{"model": "gpt-9-transcribe"}}}}}',
        '{"type": "session.update", "event_id": "E", "session": {"audio": {"input": {"transcription": '
        '{"model": ' + deep + "}}}}}",
        '{"type": "session.update", "event_id": "E", "session": {"audio": {"input": {"transcription": '
        '{"language": "english"}}}}}',
        '{"type": "session.update", "event_id": "E", "session": {"audio": {"input": {"transcription": '
        '{"language": 5}}}}}',
        '{"type": "session.update", "event_id": "E", "session": {"audio": {"input": {"transcription": '
        '{"prompt": "' + "x" * 1_001 + '"}}}}}',
        '{"type": "session.update", "event_id": "E", "session": {"audio": {"input": {"transcription": "auto"}}}}',
        '{"type": "' + "t" * 100_000 + '"}',
    ]
    messages += [text.replace("VALUE", value) for text in NUMBER_FIELDS.values() for value in BAD_NUMBERS]
    with open_socket(fake_server) as socket:
        reader = Reader(socket)
        for message in messages:
            socket.send(message)
        socket.send(SECOND)
        socket.send(END)
        events = reader.wait(60)
    errors = reader.of("error")
    assert len(errors) == len(messages), [e["error"]["message"][:80] for e in errors]
    assert all(e["error"]["type"] == "invalid_request_error" and e["error"]["code"] != "internal_error"
               for e in errors)
    parsed = [m for m in messages if m.count("[") < 1_000 and "9" * 5000 not in m and "inity" not in m
              and "NaN" not in m and "ttttt" not in m]
    assert sum(e["error"]["event_id"] == "E" for e in errors) == len(parsed)
    assert not reader.of("session.updated")  # nothing bad was applied
    assert events[-1]["type"] == "audar.stream.ended" and events[-1]["duration"] == pytest.approx(1.0)


def test_session_values_are_applied_once_valid(fake_server):
    with open_socket(fake_server) as socket:
        reader = Reader(socket)
        socket.send(json.dumps({"type": "session.update", "session": {"audio": {"input": {
            "format": {"type": "audio/pcm", "rate": 16000.0},
            "transcription": {"model": "whisper-1", "language": "en", "prompt": "Names: Ada."},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": "700", "threshold": 0.4}}}}}))
        socket.send(END)
        reader.wait(30)
    audio_input = reader.of("session.updated")[0]["session"]["audio"]["input"]
    assert audio_input["format"] == {"type": "audio/pcm", "rate": 16000}
    assert audio_input["transcription"] == {"model": "whisper-1", "language": "en", "prompt": "Names: Ada."}
    assert audio_input["turn_detection"] == {"type": "server_vad", "silence_duration_ms": 700,
                                             "prefix_padding_ms": 300}


# -- nothing lost when the client goes ---------------------------------------------------------


def _send_two_items(socket) -> Reader:
    """Three seconds of audio committed twice, without turn detection; the socket's reader."""
    reader = Reader(socket)
    socket.send(session_update(turn_detection=None))
    for _ in range(2):
        socket.send(SECOND * 3)
        socket.send(json.dumps({"type": "input_audio_buffer.commit"}))
    return reader


def _two_items_then(server, recognizer, leave) -> tuple[list[dict], list[dict]]:
    """Commit two items, let the first start transcribing, ``leave(socket, reader)``, resume, end."""
    with open_socket(server) as socket:
        first = _send_two_items(socket)
        wait_until(lambda: len(first.of("input_audio_buffer.committed")) == 2, what="two commits")
        assert recognizer.started.wait(30), "the first item was never handed to the recognizer"
        token = first.events[0][1]["session"]["resume_token"]
        leave(socket, first)
    parked = server.server.config.app.state.realtime.parked
    wait_until(lambda: token in parked, what="the stream's parking")
    recognizer.gate.set()  # the recognizer finishes for a connection that is gone
    with open_socket(server, f"resume={token}") as socket:
        second = Reader(socket)
        socket.send(END)
        second.wait(60)
    return [e for _, e in first.events], [e for _, e in second.events]


def _each_item_completed_once(first: list[dict], second: list[dict]) -> None:
    committed = [e["item_id"] for e in first if e["type"] == "input_audio_buffer.committed"]
    completed = [e for e in first + second if e["type"] == f"{TRANSCRIPTION}.completed"]
    assert [e["item_id"] for e in completed] == committed
    assert [e["transcript"] for e in completed] == ["w0 w1 w2 w3 w4 w5"] * 2
    segments = [e for e in second if e["type"] == f"{TRANSCRIPTION}.segment"]
    assert {e["item_id"] for e in segments} == set(committed)


def test_a_client_dropped_during_transcription_gets_every_item_once_after_resuming():
    recognizer = GatedRecognizer(open_gate=False)
    running = serve(recognizer=recognizer)
    try:
        first, second = _two_items_then(running, recognizer, lambda socket, reader: socket.close())
    finally:
        running.stop()
    assert not [e for e in first if e["type"].startswith(TRANSCRIPTION)]
    _each_item_completed_once(first, second)


def test_an_idle_timeout_during_transcription_keeps_the_items_for_the_resume():
    recognizer = GatedRecognizer(open_gate=False)
    running = serve(recognizer=recognizer, realtime_idle_seconds=1.5)

    def go_quiet(socket, reader):
        reader.until = "never"
        reader.thread.join(30)  # the server closes the connection
        assert [e["error"]["code"] for e in reader.of("error")] == ["idle_timeout"]

    try:
        first, second = _two_items_then(running, recognizer, go_quiet)
    finally:
        running.stop()
    _each_item_completed_once(first, second)


def test_a_client_that_vanishes_while_the_server_sends_is_parked_quietly(fake_server):
    with open_socket(fake_server) as socket:
        token = json.loads(socket.recv(10))["session"]["resume_token"]
        for _ in range(20):
            socket.send(SECOND)
        socket.socket.shutdown(sockets.SHUT_RDWR)  # gone without a closing handshake, events still coming
    with open_socket(fake_server, f"resume={token}") as socket:  # parked, with the seconds it had read
        reader = Reader(socket)
        socket.send(END)
        assert 0 < reader.wait(30)[-1]["duration"] <= 20
    # the server's log holds nothing about it (checked after every test: conftest.server_log_is_clean)


def test_events_sent_but_never_received_come_again_after_the_last_one_the_client_names():
    # A network failure can lose events the server has sent: here the client "received" only up to
    # the first commit, and both items' transcriptions went out after it.
    running = serve(recognizer=GatedRecognizer())
    try:
        with open_socket(running) as socket:
            first = _send_two_items(socket)
            wait_until(lambda: len(first.of(f"{TRANSCRIPTION}.completed")) == 2, what="two transcriptions")
        events = [event for _, event in first.events]
        received = next(i for i, e in enumerate(events) if e["type"] == "input_audio_buffer.committed")
        token = events[0]["session"]["resume_token"]
        lost = [e for e in events[received + 1:] if e["type"] not in ("session.updated", "error")]
        assert [e["type"] for e in lost].count(f"{TRANSCRIPTION}.completed") == 2
        with pytest.raises(InvalidStatus) as refused:  # a bad value is refused before the stream is taken
            open_socket(running, f"resume={token}&after=yesterday")
        assert refused.value.response.status_code == 400
        parked = running.server.config.app.state.realtime.parked
        wait_until(lambda: token in parked, what="the stream still parked")
        with open_socket(running, f"resume={token}&after={events[received]['event_id']}") as socket:
            second = Reader(socket)
            socket.send(END)
            again = second.wait(60)
    finally:
        running.stop()
    assert again[0]["type"] == "session.created"
    assert again[1 : 1 + len(lost)] == lost  # the same events, ids included, before anything new
    numbers = [int(e["event_id"].removeprefix("event_")) for e in again[1 + len(lost):]]
    assert numbers[0] > int(events[-1]["event_id"].removeprefix("event_"))  # ids never repeat in a stream


# -- limits -----------------------------------------------------------------------------------


def test_audio_faster_than_the_server_is_refused_by_name_never_dropped_silently():
    backend = SlowBackend()
    running = serve(backend=backend, realtime_backlog_seconds=2.0)
    try:
        with open_socket(running) as socket:
            reader = Reader(socket)
            socket.send(session_update(turn_detection=None))
            wait_until(lambda: reader.of("session.updated"), what="session.updated")
            appends = [json.dumps({"type": "input_audio_buffer.append", "event_id": f"a{k}",
                                   "audio": base64.b64encode(SECOND[: 16_000]).decode()})
                       for k in range(40)]  # 40 appends of 0.5 s while the server is stuck
            for message in appends:
                socket.send(message)
            wait_until(lambda: len(reader.of("error")) >= 30, what="the refusals")
            backend.gate.set()
            socket.send(END)
            events = reader.wait(60)
    finally:
        running.stop()
    refused = [e["error"]["event_id"] for e in reader.of("error") if e["error"]["code"] == "input_too_fast"]
    assert len(refused) == len(reader.of("error")) and refused == sorted(refused, key=lambda i: int(i[1:]))
    accepted = 40 - len(refused)
    assert 2 <= accepted <= 6  # the one being pushed, and 2 s of backlog
    assert events[-1]["type"] == "audar.stream.ended" and events[-1]["duration"] == pytest.approx(0.5 * accepted)


def test_without_turn_detection_the_buffer_is_committed_at_its_cap():
    stream = RealtimeStream(FakeBackend(), keep_activity=False)
    stream.turn_detection = None
    commits, largest = [], 0.0
    for _ in range(int(MAX_BUFFER_SECONDS) + 20):
        _, events = stream.push(np.zeros(16_000, np.float32))
        commits += [e for e in events if e["type"] == "input_audio_buffer.committed"]
        largest = max(largest, stream.buffered_seconds)
    assert len(commits) == 1 and commits[0]["item"].end - commits[0]["item"].start >= MAX_BUFFER_SECONDS - 1
    assert largest <= MAX_BUFFER_SECONDS
    assert stream.buffered_seconds < 30


def test_realtime_items_do_not_wait_behind_file_jobs():
    running = serve(recognizer=GatedRecognizer(), workers=1)
    engine = running.server.config.app.state.engine
    busy = threading.Event()
    try:
        job = engine.submit(busy.wait, 60)  # the only file-job thread is taken
        with open_socket(running) as socket:
            reader = Reader(socket, until=f"{TRANSCRIPTION}.completed")
            socket.send(session_update(turn_detection=None))
            socket.send(SECOND * 2)
            socket.send(json.dumps({"type": "input_audio_buffer.commit"}))
            reader.wait(30)
        assert not job.done() and reader.of(f"{TRANSCRIPTION}.completed")[0]["transcript"] == "w0 w1 w2 w3"
    finally:
        busy.set()
        running.stop()
