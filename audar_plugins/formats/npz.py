"""The frame probabilities themselves, as NumPy's ``.npz``, for users who post-process or plot them.

A file holds one :class:`~audar_plugins.activity.SpeakerActivity`:

``probabilities``   frames x speakers, float32
``frame_duration``  seconds per frame, float64
``start``           the first frame's start, in seconds, float64
``labels``          the speaker labels, one per column, unicode strings
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, BinaryIO

from ..errors import FormatError

if TYPE_CHECKING:
    from ..activity import SpeakerActivity

__all__ = ["read_npz", "write_npz"]


_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
"""The time stamped on every member: ``numpy.savez`` stamps the current time, so the same result
would not be the same bytes twice (``audar batch`` promises identical outputs however it runs)."""


def write_npz(activity: SpeakerActivity, file: str | os.PathLike | BinaryIO) -> None:
    """Save the frame probabilities, frame duration, start time and labels as ``.npz`` (what ``numpy.savez``
    writes, with fixed time stamps: the same activity gives the same bytes)."""
    import zipfile

    import numpy as np

    arrays = {
        "probabilities": np.asarray(activity.probabilities),
        "frame_duration": np.float64(activity.frame_duration),
        "start": np.float64(activity.start),
        "labels": np.array(activity.labels, dtype=str),
    }
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME), "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def read_npz(file: str | os.PathLike | BinaryIO) -> SpeakerActivity:
    """The :class:`SpeakerActivity` that :func:`write_npz` saved."""
    import numpy as np

    from ..activity import SpeakerActivity

    try:
        with np.load(file, allow_pickle=False) as data:
            return SpeakerActivity(
                data["probabilities"], float(data["frame_duration"]), float(data["start"]),
                tuple(str(label) for label in data["labels"]),
            )
    except (OSError, ValueError, KeyError) as error:
        raise FormatError(f"not a speaker-activity .npz file: {error}") from None
