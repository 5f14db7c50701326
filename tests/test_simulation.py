"""Simulated conversations: every phrase used once, references consistent with the mixture."""

from __future__ import annotations

import numpy as np
import pytest

from audar_plugins.audio import load_audio
from audar_plugins.errors import InvalidOptionError
from audar_plugins.simulation import ConversationOptions, simulate_conversation, speech_regions


@pytest.fixture(scope="module")
def recordings(data):
    return {
        speaker: [load_audio(p) for p in sorted((data / "librispeech" / speaker).glob("*.flac"))[:2]]
        for speaker in ("1688", "2414")
    }


def test_regions_lie_on_voiced_loud_speech(recordings):
    waveform = recordings["2414"][0]
    regions = speech_regions(waveform)
    assert regions and all(0 <= start < end <= waveform.size for start, end in regions)
    rms = lambda x: np.sqrt(np.mean(x**2))  # noqa: E731
    inside = np.concatenate([waveform[s:e] for s, e in regions])
    outside = np.delete(waveform, np.concatenate([np.arange(s, e) for s, e in regions]))
    assert rms(inside) > 3 * rms(outside)
    assert speech_regions(np.zeros(16000, dtype=np.float32)) == []


def test_conversation_layout(recordings):
    options = ConversationOptions(overlap_probability=0.5)
    mixture, reference = simulate_conversation(recordings, seed=1, options=options, uri="c")
    assert reference.uri == "c" and set(reference.labels()) == {"1688", "2414"}
    assert reference.get_timeline().extent().end <= mixture.size / 16000 + 1e-9
    assert reference.get_overlap().duration() > 0  # overlaps were asked for
    total_in = sum(w.size for ws in recordings.values() for w in ws)
    assert mixture.size < total_in  # silences between phrases were cut
    same, _ = simulate_conversation(recordings, seed=1, options=options, uri="c")
    np.testing.assert_array_equal(same, mixture)


def test_invalid_options():
    with pytest.raises(InvalidOptionError):
        ConversationOptions(overlap_probability=2)
    with pytest.raises(InvalidOptionError):
        ConversationOptions(gap=(1.0, 0.5))
    with pytest.raises(InvalidOptionError, match="two speakers"):
        simulate_conversation({"a": [np.zeros(100, dtype=np.float32)]})
