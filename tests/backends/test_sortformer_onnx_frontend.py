"""The NumPy log-mel front end against NeMo's own preprocessor, whole and incremental, without torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from audar_plugins.backends.sortformer_onnx.frontend import IncrementalLogMel, LogMel


@pytest.fixture(scope="module")
def nemo_front_end(sortformer):
    preprocessor = sortformer.model.preprocessor
    featurizer = preprocessor.featurizer
    return preprocessor, LogMel(featurizer.fb[0].cpu().numpy(), featurizer.window.cpu().numpy())


def nemo_features(preprocessor, waveform: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        features, lengths = preprocessor(input_signal=torch.from_numpy(waveform)[None],
                                         length=torch.tensor([waveform.size]))
    return features[0, :, : int(lengths[0])].numpy()


def test_features_equal_nemo_preprocessor(nemo_front_end, speech):
    preprocessor, front_end = nemo_front_end
    rng = np.random.default_rng(0)
    quiet = np.concatenate([np.zeros(4000), 1e-4 * rng.standard_normal(7001)]).astype(np.float32)
    for waveform in (speech, quiet, speech[:300]):
        expected = nemo_features(preprocessor, waveform)
        ours = front_end(waveform)
        assert ours.shape == expected.shape == (128, waveform.size // 160)
        # NeMo runs in float32 and the log magnifies its rounding where the power is tiny
        assert np.abs(ours - expected).max() < 5e-4
        assert np.abs(ours - expected).mean() < 1e-5


def test_pushes_of_any_size_give_the_whole_signal_features(nemo_front_end, speech):
    _, front_end = nemo_front_end
    whole = front_end(speech)
    rng = np.random.default_rng(1)
    frames, position, resumed = IncrementalLogMel(front_end), 0, None
    parts = []
    while position < speech.size:
        size = int(rng.integers(1, 6000))
        frames.push(speech[position : position + size])
        position += size
        parts.append(frames.compute())
        if resumed is None and position > speech.size // 2:  # continue from a saved state
            resumed = IncrementalLogMel(front_end)
            resumed.restore(frames.state())
            frames = resumed
    frames.end()
    parts.append(frames.compute())
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)


def test_the_front_end_and_presets_import_without_torch():
    code = textwrap.dedent("""
        import sys
        sys.modules["torch"] = None  # any import of torch now fails
        import numpy as np
        from audar_plugins.backends.sortformer import PRESETS
        from audar_plugins.backends.sortformer_onnx.frontend import LogMel
        front_end = LogMel(np.ones((128, 257), np.float32), np.hanning(400).astype(np.float32))
        print(front_end(np.zeros(16000, np.float32)).shape, sorted(PRESETS)[0])
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["(128,", "100)"]
