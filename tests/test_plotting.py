"""The speaker timeline picture."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest
from pyannote.core import Annotation, Segment

from audar_plugins.errors import InvalidOptionError
from audar_plugins.plotting import plot_timeline


def test_png_has_one_coloured_lane_per_speaker(tmp_path):
    annotation = Annotation(uri="clip")
    annotation[Segment(0, 4), 0] = "speaker_0"
    annotation[Segment(5, 9), 1] = "speaker_1"
    annotation[Segment(10, 12), 2] = "speaker_2"
    path = tmp_path / "timeline.png"
    plot_timeline(annotation, path, duration=12)
    pixels = matplotlib.image.imread(path)[..., :3]
    # tab10's first three colours each appear: one bar colour per speaker lane
    for colour in [(0.122, 0.467, 0.706), (1.0, 0.498, 0.055), (0.173, 0.627, 0.173)]:
        assert (np.abs(pixels - colour).max(axis=2) < 0.02).sum() > 50


def test_svg_and_bad_suffix(tmp_path):
    annotation = Annotation(uri="clip")
    annotation[Segment(0, 1)] = "speaker_0"
    plot_timeline(annotation, tmp_path / "timeline.svg")
    assert (tmp_path / "timeline.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(InvalidOptionError, match=".png or .svg"):
        plot_timeline(annotation, tmp_path / "timeline.jpg")
