"""The web page at ``GET /``, driven in headless Chromium (Debian's) against a real ``audar serve`` on loopback.

Screenshots of each mode go to ``test-screenshots/`` (or ``$AUDAR_SCREENSHOTS``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest

from audar_plugins.server.app import create_app
from audar_plugins.server.engine import Engine
from audar_plugins.server.settings import Settings
from audar_plugins.server.web_page import SECURITY_HEADERS

from .live_server import LiveServer

KEY = "sk-page-test"
SCREENSHOTS = Path(os.environ.get("AUDAR_SCREENSHOTS", Path(__file__).resolve().parents[2] / "test-screenshots"))

LANES = """() => Object.fromEntries([...document.querySelectorAll('#timeline .lane')].map(lane => [
    lane.dataset.speaker,
    [...lane.querySelectorAll('.turn')].map(turn => [Number(turn.dataset.start), Number(turn.dataset.end)])]))"""
LINES = """() => [...document.querySelectorAll('#transcript .line')].map(line => ({
    speaker: line.dataset.speaker, start: Number(line.dataset.start), end: Number(line.dataset.end),
    text: line.querySelector('.text').textContent}))"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("the browser tests need Debian's chromium: apt-get install chromium (nox -s tests installs it)")
    return path


@pytest.fixture(scope="module")
def server(embedded, whisper):
    settings = Settings(api_key=KEY, workers=2)
    running = LiveServer(create_app(settings, Engine(settings, embedded, whisper)))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser(chromium, data):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=[
            "--use-fake-ui-for-media-stream",  # allow the microphone without asking
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={data / 'falcon' / 'test.wav'}%noloop",
        ])
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(server.url)
    page.problems = problems
    yield page
    page.close()


def wait_for(page, expression: str, timeout: float) -> None:
    """Until ``expression`` is true in the page, for at most ``timeout`` seconds. (Playwright's own
    ``wait_for_function`` evaluates strings with eval, which the page's policy rightly forbids.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        assert time.monotonic() < deadline, f"not within {timeout} s: {expression}"
        time.sleep(0.2)


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def merged(segments: list[dict]) -> dict[str, list[list[float]]]:
    """The speakers' turns as the server sent them, pieces that touch joined (a turn spans several events)."""
    lanes: dict[str, list[list[float]]] = {}
    for segment in segments:
        turns = lanes.setdefault(segment["speaker"], [])
        if turns and abs(turns[-1][1] - segment["start"]) < 1e-6:
            turns[-1][1] = segment["end"]
        else:
            turns.append([segment["start"], segment["end"]])
    return lanes


def test_the_page_and_its_files_carry_a_strict_policy(server):
    for path in ("/", "/static/app.js", "/static/pcm-worklet.js", "/static/app.css"):
        response = httpx.get(server.url + path)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert httpx.get(server.url + "/static/app.js").headers["content-type"].startswith("text/javascript")
    page = httpx.get(server.url + "/").text
    assert "<script>" not in page and " style=" not in page and "http" not in page.replace("http-equiv", "")


def test_live_mode_draws_three_speakers_as_the_server_sent_them(page):
    frames: list[str] = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: frames.append(payload)))
    page.fill("#api-key", KEY)
    page.click("#live-start")
    # the fake microphone plays falcon (18.6 s, 3 speakers) once, in real time
    wait_for(page, "document.querySelectorAll('#timeline .lane').length >= 3", 120)
    wait_for(page, "parseFloat(document.querySelector('#live-clock').textContent) > 19.5", 60)
    screenshot(page, "live")
    page.click("#live-stop")
    wait_for(page, "!document.querySelector('#live-start').disabled", 120)
    events = [json.loads(frame) for frame in frames if isinstance(frame, str)]
    activity = [segment for event in events if event["type"] == "audar.speaker_activity"
                for segment in event["segments"]]
    assert page.evaluate(LANES) == merged(activity)
    lines = page.evaluate(LINES)
    sent = [event for event in events if event["type"] == "conversation.item.input_audio_transcription.segment"]
    assert [(line["speaker"], line["text"]) for line in lines] == [(event["speaker"], event["text"]) for event in sent]
    assert len({line["speaker"] for line in lines}) == 3
    assert any(event["type"] == "audar.stream.ended" for event in events)
    screenshot(page, "live-stopped")
    assert page.problems == []


def test_file_mode_draws_the_diarized_json_the_api_returns(page, server, data):
    audio = data / "falcon" / "test.wav"
    page.fill("#api-key", KEY)
    page.click("#mode-file")
    page.set_input_files("#file-input", str(audio))
    wait_for(page, "document.querySelector('#status').textContent.includes('speakers')", 120)
    with open(audio, "rb") as file:
        response = httpx.post(f"{server.url}/v1/audio/transcriptions", headers={"Authorization": f"Bearer {KEY}"},
                              files={"file": ("test.wav", file, "audio/wav")}, timeout=120,
                              data={"model": "gpt-4o-transcribe-diarize", "response_format": "diarized_json"})
    segments = response.json()["segments"]
    assert page.evaluate(LINES) == [{key: segment[key] for key in ("speaker", "start", "end", "text")}
                                    for segment in segments]
    lanes: dict[str, list[list[float]]] = {}
    for segment in segments:
        lanes.setdefault(segment["speaker"], []).append([segment["start"], segment["end"]])
    assert page.evaluate(LANES) == lanes and len(lanes) == 3
    screenshot(page, "file")

    # a turn plays from its start, by keyboard too
    last = segments[-1]
    page.focus("#transcript li:last-child .line")
    page.keyboard.press("Enter")
    wait_for(page, "!document.querySelector('#player').paused", 10)
    position = page.evaluate("document.querySelector('#player').currentTime")
    assert last["start"] - 0.05 <= position <= last["end"] + 0.3  # timeupdate comes every 250 ms or so
    assert page.problems == []


def test_without_asr_file_mode_draws_the_diarization(browser, embedded, data):
    settings = Settings(workers=2)
    server = LiveServer(create_app(settings, Engine(settings, embedded, None)))
    try:
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.goto(server.url)
        page.click("#mode-file")
        page.set_input_files("#file-input", str(data / "falcon" / "test.wav"))
        wait_for(page, "document.querySelector('#status').textContent.includes('no transcription')", 120)
        with open(data / "falcon" / "test.wav", "rb") as file:
            segments = httpx.post(f"{server.url}/v1/audio/diarizations", files={"file": file}, timeout=120,
                                  data={"model": "audar-diarize", "response_format": "json"}).json()["segments"]
        lanes: dict[str, list[list[float]]] = {}
        for segment in segments:
            lanes.setdefault(segment["speaker"], []).append([segment["start"], segment["end"]])
        assert page.evaluate(LANES) == lanes and len(lanes) == 3
        assert [line["speaker"] for line in page.evaluate(LINES)] == [segment["speaker"] for segment in segments]
        assert problems == []
        page.close()
    finally:
        server.stop()


def test_a_wrong_key_shows_a_readable_error(page, data):
    page.fill("#api-key", "sk-wrong")
    page.click("#live-start")
    error = page.wait_for_selector("#error:not([hidden])", timeout=10_000)
    assert error.inner_text() == "The API key was refused: incorrect API key provided"
    assert page.is_enabled("#live-start")
    page.click("#mode-file")
    page.set_input_files("#file-input", str(data / "falcon" / "test.wav"))
    wait_for(page, "document.querySelector('#error').textContent.includes('refused')", 10)
    assert page.evaluate("document.querySelectorAll('#timeline .lane').length") == 0
    screenshot(page, "wrong-key")


def test_the_page_can_be_turned_off(embedded):
    from fastapi.testclient import TestClient

    settings = Settings(web_page=False)
    with TestClient(create_app(settings, Engine(settings, embedded, None))) as client:
        assert client.get("/").status_code == 404
        assert client.get("/static/app.js").status_code == 404
    assert Settings.from_sources({}, {"AUDAR_WEB_PAGE": "off"}).web_page is False


def test_live_mode_resumes_a_dropped_connection(page):
    connections = []

    def route(socket) -> None:
        server = socket.connect_to_server()
        connections.append((socket, server))

    page.route_web_socket("**/v1/realtime*", route)
    frames: list[str] = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: frames.append(payload)))
    page.fill("#api-key", KEY)
    page.click("#live-start")
    wait_for(page, "parseFloat(document.querySelector('#live-clock').textContent) > 7", 60)
    socket, server = connections[0]
    server.close(code=1011, reason="test drops the connection")  # both ends, as a network failure would
    socket.close(code=4000, reason="test drops the connection")
    wait_for(page, "parseFloat(document.querySelector('#live-clock').textContent) > 19.5", 60)
    page.click("#live-stop")
    wait_for(page, "!document.querySelector('#live-start').disabled", 120)
    assert len(connections) == 2 and "resume=" in connections[1][0].url
    events = [json.loads(frame) for frame in frames if isinstance(frame, str)]
    activity = [segment for event in events if event["type"] == "audar.speaker_activity"
                for segment in event["segments"]]
    assert page.evaluate(LANES) == merged(activity) and len(merged(activity)) == 3
    (ended,) = [event for event in events if event["type"] == "audar.stream.ended"]
    streamed = page.evaluate("parseFloat(document.querySelector('#live-clock').textContent)")
    assert abs(ended["duration"] - streamed) < 0.15  # the audio captured while disconnected was sent after
    assert page.evaluate("document.querySelector('#error').hidden")
    latest = {}  # a resumed session sends its unfinished items again: each segment once, as last sent
    for event in events:
        if event["type"] == "conversation.item.input_audio_transcription.segment":
            latest[event["id"]] = (event["speaker"], event["text"])
    # the page resumed with the last event it had (after=): what the drop lost in flight came again
    assert "after=event_" in connections[1][0].url
    assert [(line["speaker"], line["text"]) for line in page.evaluate(LINES)] == list(latest.values())
    assert page.problems == []


def test_the_live_timeline_scrolls_and_a_segment_sent_again_replaces_its_line(page):
    result = page.evaluate("""async () => {
        const { Timeline } = await import("./static/timeline.js");
        const { Transcript } = await import("./static/transcript.js");
        const lanes = document.createElement("div");
        const timeline = new Timeline(lanes, { window: 10 });
        timeline.add([{ speaker: "a", start: 0, end: 2 }, { speaker: "b", start: 3, end: 5 }]);
        const before = [...lanes.querySelectorAll(".turn")].map((turn) => turn.style.left);
        timeline.add([{ speaker: "a", start: 14, end: 16 }]);
        timeline.advance(25);
        const list = document.createElement("ol");
        const transcript = new Transcript(list);
        transcript.add({ id: "seg_1", speaker: "a", start: 0, end: 1, text: "first" });
        transcript.add({ id: "seg_2", speaker: "b", start: 1, end: 2, text: "second" });
        transcript.add({ id: "seg_1", speaker: "a", start: 0, end: 1.5, text: "first, whole" });
        return {
            before,
            after: [...lanes.querySelectorAll(".turn")].map((turn) => [turn.dataset.start, turn.style.left]),
            ticks: [...lanes.querySelectorAll(".ticks span")].map((tick) => tick.textContent),
            lines: [...list.querySelectorAll(".text")].map((text) => text.textContent),
        };
    }""")
    assert result["before"] == ["0%", "30%"]
    assert result["after"] == [["14.000", "-10%"]]  # [0, 2] and [3, 5] scrolled out of the last 10 s
    assert result["ticks"] == ["15.0 s", "17.5 s", "20.0 s", "22.5 s", "25.0 s"]
    assert result["lines"] == ["first, whole", "second"]
