"""Uploads an attacker sends the gateway: FLAC of unknown length, bytes that are not audio, hostile names.

One real uvicorn server on the fake backend (no model, no ASR) serves the module.
"""

from __future__ import annotations

import io
import re
import struct

import numpy as np
import pytest
import soundfile as sf

from audar_plugins.formats import MAX_URI_LENGTH, read_rttm, safe_uri

from ..test_audio import unknown_length_flac

MAX_SECONDS = 20.0
HOSTILE_NAME = "notes\x00\x1b[31m\u202eevaw.mp3"  # NUL, an ANSI colour escape and a right-to-left override


@pytest.fixture(scope="module")
def http():
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    from audar_plugins.backends.fake import FakeBackend
    from audar_plugins.server.app import create_app
    from audar_plugins.server.engine import Engine
    from audar_plugins.server.settings import Settings

    from .live_server import LiveServer

    settings = Settings(max_audio_seconds=MAX_SECONDS, workers=1)
    server = LiveServer(create_app(settings, Engine(settings, FakeBackend())))
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client
    server.stop()


@pytest.fixture(scope="module")
def falcon(data) -> tuple[np.ndarray, int]:
    return sf.read(data / "falcon/test.wav", dtype="float32")


def _flac(waveform: np.ndarray, rate: int) -> bytes:
    file = io.BytesIO()
    sf.write(file, waveform, rate, format="FLAC")
    return file.getvalue()


def _error(response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def _multipart(filename: bytes, content: bytes, **fields: str) -> tuple[bytes, dict[str, str]]:
    """A form with ``filename`` sent byte for byte (httpx percent-escapes control characters)."""
    parts = [b'--b\r\nContent-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n\r\n'
             + content + b"\r\n"]
    parts += [f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
              for name, value in fields.items()]
    return b"".join(parts) + b"--b--\r\n", {"Content-Type": "multipart/form-data; boundary=b"}


# -- a FLAC whose header leaves the length unknown ------------------------------------------


def test_unknown_length_flac_is_diarized_whole(http, falcon):
    waveform, rate = falcon
    flac = unknown_length_flac(_flac(waveform, rate))
    response = http.post("/v1/audio/diarizations", files={"file": ("stream.flac", flac)})
    assert response.status_code == 200, response.text
    assert response.json()["duration"] == pytest.approx(waveform.shape[0] / rate, abs=1e-3)


def test_unknown_length_flac_over_the_cap_is_refused_with_a_sane_length(http, falcon):
    waveform, rate = falcon
    long = _flac(np.tile(waveform, 3), rate)  # 55.7 s
    error = _error(http.post("/v1/audio/diarizations", files={"file": ("stream.flac", unknown_length_flac(long))}))
    assert error["code"] == "audio_too_long" and error["param"] == "file"
    seconds = [float(number) for number in re.findall(r"\d+(?:\.\d+)?", error["message"])]
    assert seconds and all(number <= 60 for number in seconds) and f"{MAX_SECONDS:g} s" in error["message"], error
    # the same audio with its length stated is refused on the header, and says how long it is
    stated = _error(http.post("/v1/audio/diarizations", files={"file": ("long.flac", long)}))
    assert stated["code"] == "audio_too_long" and "55.7 s long" in stated["message"], stated


# -- bytes that are not audio: the message names the file, never an object ----------------


def _wav(waveform: np.ndarray, rate: int) -> bytes:
    file = io.BytesIO()
    sf.write(file, waveform, rate, format="WAV", subtype="PCM_16")
    return file.getvalue()


def _bad_uploads(waveform: np.ndarray, rate: int) -> dict[str, bytes]:
    wav, flac = _wav(waveform, rate), _flac(waveform, rate)
    unknown_format = bytearray(wav)
    unknown_format[20:22] = struct.pack("<H", 0x1234)  # the WAVE format tag
    no_channels = bytearray(wav)
    no_channels[22:24] = struct.pack("<H", 0)
    return {
        "text": b"these are not audio bytes",
        "zeros": bytes(5000),
        "a WAV cut inside its header": wav[:30],
        "a WAV header and no samples": wav[:44],
        "a WAV of an unknown format": bytes(unknown_format),
        "a WAV of no channels": bytes(no_channels),
        "a FLAC cut in half": flac[: len(flac) // 2],
        "a FLAC of a header only": flac[:42],
        "an Ogg page of nothing": b"OggS" + bytes(100),
    }


def test_decoding_errors_name_the_upload_and_show_no_object(http, falcon):
    for kind, content in _bad_uploads(*falcon).items():
        error = _error(http.post("/v1/audio/diarizations", files={"file": ("my talk.wav", content)}))
        assert error["param"] == "file" and "'my talk.wav'" in error["message"], (kind, error)
        assert "object at" not in error["message"] and "0x" not in error["message"], (kind, error)


# -- file names: the RTTM file id is safe ---------------------------------------------------


@pytest.mark.parametrize(("name", "uri"), [
    ("team meeting 3", "team_meeting_3"),
    ("  padded\t", "padded"),
    ("réunion_北京", "réunion_北京"),
    ("a\x00b", "ab"),
    ("\x1b[31mred", "[31mred"),
    ("evil\u202ewav.exe", "evilwav.exe"),
    ("zero\u200bwidth\ufeff", "zerowidth"),
    ("line\u2028break\xa0space", "line_break_space"),
    ("lone\ud800surrogate", "lonesurrogate"),
    ("private\ue000use", "privateuse"),
    ("\x00\x1b\u202e", "audio"),
    ("", "audio"),
    ("x" * 500, "x" * MAX_URI_LENGTH),
])
def test_safe_uri(name, uri):
    assert safe_uri(name) == uri


def test_a_hostile_file_name_never_reaches_an_answer_raw(http, falcon, tmp_path):
    waveform, rate = falcon
    audio = _wav(waveform[: 4 * rate], rate)
    body, headers = _multipart(HOSTILE_NAME.encode(), audio, response_format="rttm")
    response = http.post("/v1/audio/diarizations", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert {line.split()[1] for line in response.text.splitlines()} == {"notes[31mevaw"}
    assert not any(character in response.text for character in "\x00\x1b\u202e")
    (tmp_path / "answer.rttm").write_text(response.text, encoding="utf-8")
    assert set(read_rttm(tmp_path / "answer.rttm")) == {"notes[31mevaw"}
    body, headers = _multipart(HOSTILE_NAME.encode(), audio)  # JSON: no file id in it, and still served
    answer = http.post("/v1/audio/diarizations", content=body, headers=headers)
    assert answer.status_code == 200 and answer.json()["duration"] == pytest.approx(4.0)
    assert not any(character in answer.text for character in "\x00\x1b\u202e")
    # and in an error: the name is shown escaped
    body, headers = _multipart(HOSTILE_NAME.encode(), b"these are not audio bytes")
    error = _error(http.post("/v1/audio/diarizations", content=body, headers=headers))
    assert repr(HOSTILE_NAME) in error["message"], error
    assert not any(character in error["message"] for character in "\x00\x1b\u202e")


def test_a_hostile_name_in_an_upload_through_httpx(http, falcon):
    waveform, rate = falcon
    name = "ré union\u202e北京\u200b.wav"
    response = http.post("/v1/audio/diarizations", files={"file": (name, _wav(waveform[: 4 * rate], rate))},
                         data={"response_format": "rttm"})
    assert response.status_code == 200, response.text
    assert {line.split()[1] for line in response.text.splitlines()} == {"ré_union北京"}
