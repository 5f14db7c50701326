"""diarize(): any backend, the backend's binarization unless overridden, the result's parts."""

from __future__ import annotations

import numpy as np
import pytest

import audar_plugins
from audar_plugins import Binarization, SpeakerCount
from audar_plugins.backends.fake import FakeBackend
from audar_plugins.errors import InvalidOptionError


def test_result_carries_activity_annotation_and_the_options_used(tmp_path):
    import soundfile as sf

    path = tmp_path / "two people.flac"
    sf.write(path, np.zeros(10 * 16000, dtype=np.float32), 16000)
    result = audar_plugins.diarize(path, backend=FakeBackend(num_speakers=2, turn_duration=2.0, overlap=0.32))
    assert result.backend == "fake" and result.binarization == Binarization()
    assert result.annotation.uri == "two_people"
    assert result.activity.num_speakers == 2
    # turns of 2 s alternate; the previous speaker lingers 0.32 s into each new turn
    speaker_1 = [(s.start, s.end) for s in result.annotation.label_timeline("speaker_1")]
    assert speaker_1[0] == (2.0, 4.32)
    padded = audar_plugins.diarize(path, backend=FakeBackend(), binarization=Binarization(pad_onset=0.1, pad_offset=0.1))
    assert [(s.start, s.end) for s in padded.annotation.label_timeline("speaker_1")][0] == (1.9, 4.42)


def test_uri_from_mappings_and_explicit():
    waveform = np.zeros(16000, dtype=np.float32)
    assert audar_plugins.diarize({"waveform": waveform[None], "sample_rate": 16000, "uri": "call 7"}, backend=FakeBackend()).annotation.uri == "call_7"
    assert audar_plugins.diarize(waveform, backend=FakeBackend(), uri="x").annotation.uri == "x"
    assert audar_plugins.diarize(waveform, backend=FakeBackend()).annotation.uri == "audio"


def test_speaker_count_validation():
    assert SpeakerCount(min_speakers=2).bounds == (2, float("inf"))
    with pytest.raises(InvalidOptionError, match="contradicts"):
        SpeakerCount(num_speakers=2, max_speakers=3)
    with pytest.raises(InvalidOptionError, match="positive integer"):
        audar_plugins.diarize(np.zeros(16000, dtype=np.float32), backend=FakeBackend(), num_speakers=2.5)


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, audar_plugins; print(sorted(m for m in ('torch', 'onnxruntime', 'nemo', 'matplotlib') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    assert loaded == "[]"
