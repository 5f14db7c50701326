"""How much each speaker speaks over any span of time, answered for many spans at once.

A :class:`SpeakerCoverage` holds, per speaker, the cumulative speaking time as a
piecewise-linear function of time. The speech of speaker ``k`` inside ``[start, end]``
is then ``F_k(end) - F_k(start)``: two interpolations per word and speaker, whatever
the length of the recording. It is built from frame probabilities (soft: a frame at
0.7 counts 0.7 of its duration) or from hard turns (a WhisperX diarization DataFrame,
a pyannote Annotation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..activity import SpeakerActivity

__all__ = ["SpeakerCoverage"]


@dataclass(frozen=True)
class _Speaker:
    knots: np.ndarray  # times at which the cumulative speaking time changes slope
    cumulative: np.ndarray  # speaking time before each knot, in seconds
    speech_starts: np.ndarray  # the speaker's speech, as sorted disjoint intervals
    speech_ends: np.ndarray


class SpeakerCoverage:
    """Cumulative speech per speaker; see the module docstring.

    Use :meth:`from_activity` or :meth:`from_turns` rather than the constructor.
    """

    def __init__(self, labels: Sequence[str], speakers: Sequence[_Speaker]) -> None:
        self.labels = list(labels)
        self._speakers = list(speakers)

    @classmethod
    def from_activity(cls, activity: SpeakerActivity, threshold: float = 0.5) -> SpeakerCoverage:
        """Soft coverage from frame probabilities; speech (for nearest-speaker search) is ``p >= threshold``."""
        probabilities = np.nan_to_num(np.asarray(activity.probabilities, dtype=np.float64), nan=0.0)
        probabilities = np.clip(probabilities, 0.0, 1.0)
        frames = probabilities.shape[0]
        step = activity.frame_duration
        edges = activity.start + step * np.arange(frames + 1)
        cumulative = np.vstack([np.zeros((1, probabilities.shape[1])), np.cumsum(probabilities * step, axis=0)])
        speakers = []
        for column in range(probabilities.shape[1]):
            active = np.concatenate([[False], probabilities[:, column] >= threshold, [False]])
            changes = np.flatnonzero(active[1:] != active[:-1])
            speakers.append(_Speaker(edges, cumulative[:, column], edges[changes[::2]], edges[changes[1::2]]))
        return cls(activity.labels, speakers)

    @classmethod
    def from_turns(cls, starts: Sequence[float], ends: Sequence[float], speakers: Sequence[str]) -> SpeakerCoverage:
        """Hard coverage from turns (one row per turn); a speaker's overlapping turns are merged."""
        begin = np.asarray(starts, dtype=np.float64)
        end = np.asarray(ends, dtype=np.float64)
        valid = np.isfinite(begin) & np.isfinite(end) & (end > begin)
        labels, which = np.unique(np.asarray(speakers, dtype=object)[valid].astype(str), return_inverse=True)
        begin, end = begin[valid], end[valid]
        built = []
        for index in range(labels.size):
            merged_starts, merged_ends = _merge(begin[which == index], end[which == index])
            knots = np.column_stack([merged_starts, merged_ends]).ravel()
            durations = merged_ends - merged_starts
            before = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
            cumulative = np.column_stack([before, before + durations]).ravel()
            built.append(_Speaker(knots, cumulative, merged_starts, merged_ends))
        return cls([str(label) for label in labels], built)

    @classmethod
    def from_annotation(cls, annotation) -> SpeakerCoverage:
        """Hard coverage from a ``pyannote.core.Annotation``."""
        tracks = [(segment.start, segment.end, str(label))
                  for segment, _, label in annotation.itertracks(yield_label=True)]
        if not tracks:
            return cls([], [])
        starts, ends, labels = zip(*tracks)
        return cls.from_turns(starts, ends, labels)

    @property
    def num_speakers(self) -> int:
        return len(self._speakers)

    def _speaker_arrays(self) -> list[_Speaker]:
        """Each speaker's knots, cumulative speech and speech intervals (what the queries read)."""
        return self._speakers

    def speech(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Seconds of speech of each speaker inside each span: shape ``(spans, speakers)``."""
        mass = np.zeros((starts.size, self.num_speakers))
        for column, speaker in enumerate(self._speaker_arrays()):
            if speaker.knots.size:
                mass[:, column] = np.interp(ends, speaker.knots, speaker.cumulative) - np.interp(
                    starts, speaker.knots, speaker.cumulative
                )
        return np.maximum(mass, 0.0)

    def gaps(self, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Seconds from each span back to each speaker's previous speech, and on to its next.

        Two ``(spans, speakers)`` arrays; 0 in both where the span touches the speaker's
        speech, ``inf`` where there is none on that side.
        """
        before = np.full((starts.size, self.num_speakers), np.inf)
        after = np.full((starts.size, self.num_speakers), np.inf)
        for column, speaker in enumerate(self._speaker_arrays()):
            count = speaker.speech_starts.size
            if not count:
                continue
            # the last speech ending at or before the span starts, and the first starting at or after it ends
            previous = np.searchsorted(speaker.speech_ends, starts, side="right") - 1
            following = np.searchsorted(speaker.speech_starts, ends, side="left")
            touching = previous + 1 < following  # some speech interval lies in between
            before[:, column] = np.where(previous >= 0, starts - speaker.speech_ends[np.maximum(previous, 0)], np.inf)
            next_start = speaker.speech_starts[np.minimum(following, count - 1)]
            after[:, column] = np.where(following < count, next_start - ends, np.inf)
            before[touching, column] = after[touching, column] = 0.0
        return before, after


def _merge(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, disjoint union of intervals."""
    if not starts.size:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    new = np.concatenate([[True], starts[1:] > reach[:-1]])
    groups = np.cumsum(new) - 1
    merged_ends = np.zeros(int(groups[-1]) + 1)
    np.maximum.at(merged_ends, groups, ends)
    return starts[new], merged_ends
