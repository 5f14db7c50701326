"""Naming: put the names of known speakers on a diarization, whichever backend made it.

1. Each diarized speaker is embedded on the frames where it alone is active (probability
   over 0.5), by :meth:`~.encoder.VoiceEncoder.embed`: the voiceprints' own function. A
   speaker with less than ``min_speech`` seconds of such speech is not named.
2. Cosine similarities between speakers and voiceprints are assigned one to one (the
   assignment with the greatest total similarity). A pair is kept when its similarity is
   at least ``threshold`` and beats the speaker's next best voiceprint by ``margin``.
3. Named speakers take the name as their label; the others keep theirs (``speaker_N``).
   Only labels change: the probabilities, hence the segments, are those of the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..activity import SpeakerActivity, runs
from ..audio import SAMPLE_RATE
from ..errors import InvalidOptionError, VoiceprintError
from .encoder import VoiceEncoder, shared_encoder
from .voiceprint import Voiceprint

__all__ = ["Naming", "NamingSettings", "SpeakerMatch", "assign_names", "name_speakers", "solo_spans"]


@dataclass(frozen=True)
class NamingSettings:
    """When a speaker takes a voiceprint's name (similarities are cosines; durations in seconds)."""

    threshold: float = 0.5
    margin: float = 0.1
    min_speech: float = 1.0
    max_speech: float = 60.0


@dataclass(frozen=True)
class SpeakerMatch:
    """What naming decided for one diarized speaker.

    Attributes
    ----------
    speaker
        The backend's label (``speaker_1``).
    name
        The voiceprint's name, or ``None`` when no voiceprint matched.
    score
        Cosine similarity to ``name``'s voiceprint, or to the closest one when unnamed
        (``None`` when the speaker had too little speech alone to be compared).
    speech
        Seconds of the speaker's speech that were embedded.
    """

    speaker: str
    name: str | None
    score: float | None
    speech: float

    @property
    def label(self) -> str:
        """The label in the named output: ``name``, else ``speaker``."""
        return self.name if self.name is not None else self.speaker


@dataclass(frozen=True)
class Naming:
    """The named :class:`SpeakerActivity` and one :class:`SpeakerMatch` per speaker column."""

    activity: SpeakerActivity
    matches: tuple[SpeakerMatch, ...]


def solo_spans(activity: SpeakerActivity, speaker: int, samples: int) -> list[tuple[int, int]]:
    """Sample ranges where ``speaker`` (a column) alone is active."""
    active = activity.probabilities > 0.5
    solo = active[:, speaker] & (active.sum(axis=1) == 1)
    spans = []
    for first, stop in runs(solo):
        begin = int(round((activity.start + first * activity.frame_duration) * SAMPLE_RATE))
        end = min(samples, int(round((activity.start + stop * activity.frame_duration) * SAMPLE_RATE)))
        if end > begin:
            spans.append((max(0, begin), end))
    return spans


def assign_names(similarity: np.ndarray, settings: NamingSettings) -> np.ndarray:
    """Per speaker (row), the index of the voiceprint (column) it takes, or -1: one to one,
    greatest total similarity, kept only above ``threshold`` and ``margin`` over the runner-up.
    Rows of NaN (speakers not embedded) take none."""
    from scipy.optimize import linear_sum_assignment

    speakers, voices = similarity.shape
    chosen = np.full(speakers, -1, dtype=np.int64)
    if speakers == 0 or voices == 0:
        return chosen
    usable = np.where(np.isnan(similarity), -2.0, similarity)
    rows, columns = linear_sum_assignment(usable, maximize=True)
    for row, column in zip(rows.tolist(), columns.tolist()):
        score = usable[row, column]
        others = np.delete(usable[row], column)
        runner_up = others.max() if others.size else -1.0
        if score >= settings.threshold and score - runner_up >= settings.margin:
            chosen[row] = column
    return chosen


def name_speakers(waveform: np.ndarray, activity: SpeakerActivity, voiceprints: Sequence[Voiceprint],
                  encoder: VoiceEncoder | None = None, settings: NamingSettings = NamingSettings()) -> Naming:
    """``activity`` of the 16 kHz mono ``waveform`` with known speakers' names as labels."""
    if not voiceprints or activity.num_speakers == 0:
        return Naming(activity, tuple(SpeakerMatch(label, None, None, 0.0) for label in activity.labels))
    encoder = encoder or shared_encoder()
    check_encoder(voiceprints, encoder)
    prints = np.stack([voiceprint.embedding for voiceprint in voiceprints])
    similarity = np.full((activity.num_speakers, len(voiceprints)), np.nan)
    speech = np.zeros(activity.num_speakers)
    for speaker in range(activity.num_speakers):
        voice, seconds = encoder.embed(waveform, solo_spans(activity, speaker, waveform.shape[0]),
                                       settings.max_speech)
        speech[speaker] = seconds
        if voice is not None and seconds >= settings.min_speech:
            similarity[speaker] = prints @ voice
    chosen = assign_names(similarity, settings)
    matches: list[SpeakerMatch] = []
    for speaker, label in enumerate(activity.labels):
        column = int(chosen[speaker])
        row = similarity[speaker]
        score = None if np.isnan(row).all() else float(row[column] if column >= 0 else row.max())
        matches.append(SpeakerMatch(label, voiceprints[column].name if column >= 0 else None, score,
                                    round(float(speech[speaker]), 3)))
    return Naming(relabel(activity, matches), tuple(matches))


def relabel(activity: SpeakerActivity, matches: Sequence[SpeakerMatch]) -> SpeakerActivity:
    """``activity`` with each column labelled as its match says."""
    labels = tuple(match.label for match in matches)
    if len(set(labels)) != len(labels):
        raise InvalidOptionError(f"a known speaker's name is also the label of an unnamed speaker: {labels!r}")
    return replace(activity, labels=labels)


def check_encoder(voiceprints: Sequence[Voiceprint], encoder: VoiceEncoder) -> None:
    """:class:`VoiceprintError` for a voiceprint another speaker encoder made."""
    dimension = encoder.models.encoder.dimension
    for voiceprint in voiceprints:
        if voiceprint.encoder != encoder.identity:
            raise VoiceprintError(f"the voiceprint of {voiceprint.name!r} was made with {voiceprint.encoder}, "
                                  f"not {encoder.identity}: enrol the speaker again")
        if voiceprint.embedding.size != dimension:
            raise VoiceprintError(f"the voiceprint of {voiceprint.name!r} has {voiceprint.embedding.size} values, "
                                  f"not the encoder's {dimension}: enrol the speaker again")
