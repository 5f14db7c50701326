"""Our binarization gives exactly the segments of NeMo's Sortformer ``diarize()``.

NeMo's ``diarize()`` post-processes with ``SortformerEncLabelModel._diarize_output_processing``
(``ts_vad_post_processing`` per speaker, the manifest offset, rounding to 10 ms and
``generate_diarization_output_lines``). That very method is called here on random
probabilities, without building a model, and its output lines are compared with ours.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from audar_plugins.activity import Binarization, SpeakerActivity

nemo_models = pytest.importorskip("nemo.collections.asr.models", reason="NeMo is installed by the test requirements")

MODEL_CARD = dict(onset=0.5, offset=0.5, pad_onset=0.1, pad_offset=0.1, min_duration_on=0.0, min_duration_off=0.0)
PARAMETER_SETS = [
    dict(onset=0.5, offset=0.5, pad_onset=0.0, pad_offset=0.0, min_duration_on=0.0, min_duration_off=0.0),  # NeMo default
    MODEL_CARD,
    # NeMo's shipped YAMLs for the streaming v2 model (callhome, dihard3)
    dict(onset=0.641, offset=0.561, pad_onset=0.229, pad_offset=0.079, min_duration_on=0.511, min_duration_off=0.296),
    dict(onset=0.56, offset=1.0, pad_onset=0.063, pad_offset=0.002, min_duration_on=0.007, min_duration_off=0.151),
    # onset below offset: frames in between toggle the state on a 10 ms grid
    dict(onset=0.3, offset=0.7, pad_onset=0.05, pad_offset=0.02, min_duration_on=0.1, min_duration_off=0.2),
]


def nemo_lines(probabilities: np.ndarray, params: dict, offset: float, subsampling: int = 8) -> set:
    """Segments as NeMo's diarize() reports them, parsed from its output lines."""
    import torch
    from omegaconf import OmegaConf

    from nemo.collections.asr.models.sortformer_diar_models import DiarizeConfig
    from nemo.collections.asr.parts.utils.vad_utils import PostProcessingParams

    model = SimpleNamespace(
        _diarize_audio_rttm_map={"clip": {"offset": offset}},
        _cfg=OmegaConf.create({"encoder": {"subsampling_factor": subsampling}}),
    )
    config = DiarizeConfig(postprocessing_params=OmegaConf.structured(PostProcessingParams(**params)))
    lines = nemo_models.SortformerEncLabelModel._diarize_output_processing(
        model, torch.from_numpy(probabilities)[None], ["clip"], config
    )[0]
    parsed = set()
    for line in lines:
        start, end, speaker = line.split()
        parsed.add((speaker, round(float(start), 2), round(float(end), 2)))
    return parsed


def our_segments(probabilities: np.ndarray, params: dict, offset: float, frame: float = 0.08) -> set:
    activity = SpeakerActivity(probabilities, frame_duration=frame, start=offset)
    return {
        (f"speaker_{k}", start, end)
        for k, segments in enumerate(activity.segments(Binarization(**params)))
        for start, end in segments.tolist()
    }


def random_probabilities(rng: np.random.Generator, frames: int, speakers: int) -> np.ndarray:
    kind = rng.integers(3)
    if kind == 0:  # white noise around every threshold
        return rng.random((frames, speakers)).astype(np.float32)
    if kind == 1:  # sparse activity
        return ((rng.random((frames, speakers)) > 0.6) * rng.random((frames, speakers))).astype(np.float32)
    walk = np.cumsum(rng.normal(0, 0.15, (frames, speakers)), axis=0) % 1.0  # smooth, Sortformer-like
    return walk.astype(np.float32)


def clamped_speakers(probabilities: np.ndarray, params: dict) -> set:
    """Speakers with two or more segments whose padded start is clamped to 0 s."""
    clamped = set()
    for k, column in enumerate(probabilities.T):
        segments = SpeakerActivity(column[:, None], 0.08).segments(Binarization(params["onset"], params["offset"]))[0]
        if (segments[:, 0] - params["pad_onset"] <= 0).sum() > 1:
            clamped.add(f"speaker_{k}")
    return clamped


@pytest.mark.parametrize("params", PARAMETER_SETS, ids=lambda p: f"on{p['onset']}-off{p['offset']}-pad{p['pad_onset']}")
def test_identical_to_nemo_diarize_on_random_probabilities(params):
    rng = np.random.default_rng(abs(hash(tuple(params.values()))) % 2**32)
    compared = 0
    for _ in range(40):
        probabilities = random_probabilities(rng, int(rng.integers(1, 400)), int(rng.choice([4, 8])))
        offset = float(rng.choice([0.0, rng.uniform(0, 3600)]))
        skip = clamped_speakers(probabilities, params)  # NeMo's own bug, tested below
        ours = {s for s in our_segments(probabilities, params, offset) if s[0] not in skip}
        nemo = {s for s in nemo_lines(probabilities, params, offset) if s[0] not in skip}
        assert ours == nemo
        compared += probabilities.shape[1] - len(skip)
    assert compared >= 100


def test_identical_to_nemo_with_other_frame_durations():
    rng = np.random.default_rng(7)
    for subsampling in (1, 2, 4):
        for _ in range(20):
            probabilities = random_probabilities(rng, int(rng.integers(1, 300)), 2)
            params = dict(MODEL_CARD, pad_onset=0.0)
            ours = our_segments(probabilities, params, 1.5, frame=0.01 * subsampling)
            assert ours == nemo_lines(probabilities, params, 1.5, subsampling)


def test_where_nemo_loses_speech_near_time_zero_we_keep_the_union():
    """NeMo merges padded segments after an unstable sort: when several padded starts clamp
    to 0 s, the order of the ties decides what survives, and speech is dropped. We return
    the union, which covers everything NeMo returns and differs only near the start."""
    params = dict(MODEL_CARD, pad_onset=0.5)
    probabilities = np.zeros((40, 4), dtype=np.float32)
    probabilities[[0, 2, 4, 6], 0] = 0.9  # four short bursts within the first 0.5 s
    probabilities[20:30, 1] = 0.9
    ours, nemo = our_segments(probabilities, params, 0.0), nemo_lines(probabilities, params, 0.0)
    assert ("speaker_0", 0.0, 0.66) in ours  # the union of the padded bursts
    assert {s for s in ours if s[0] != "speaker_0"} == {s for s in nemo if s[0] != "speaker_0"}
    for speaker, start, end in nemo:
        assert any(s == speaker and a <= start and end <= b for s, a, b in ours)
