"""Live naming: a streaming session whose speakers take known speakers' names as they speak.

:class:`NamingSession` wraps any backend's session. The blocks of final frames it returns are
the inner session's, with its labels (``speaker_N``), so that they concatenate as any
session's; :attr:`NamingSession.names` maps those labels to the names given so far, and
:meth:`NamingSession.named` relabels blocks or their concatenation. Behind it, each speaker's speech alone (probability
over 0.5, nobody else active) is gathered and embedded every :data:`CHUNK_SECONDS` seconds
(:class:`~.encoder.VoiceEncoder`, as offline); the speaker's voice is the mean of its chunks.
Once a speaker has ``live_min_speech`` seconds embedded (2 s by default: its first chunk),
and after each later chunk until it is named, its voice is compared with the voiceprints no
other speaker has taken: the closest is its name when it passes the offline rule (threshold,
and margin over every other voiceprint). A named speaker is never renamed. Speakers stop being
embedded after ``max_speech`` seconds.

The snapshot holds the inner session's snapshot, the voiceprints and each speaker's voice
so far, and the audio not yet covered by final frames: a restored session continues exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..activity import SpeakerActivity
from ..audio import SAMPLE_RATE
from ..backends.embedded.speaker_clusters import normalize
from ..backends.session import BaseSession
from .encoder import MIN_SPAN, VoiceEncoder
from .naming import NamingSettings, SpeakerMatch, solo_spans
from .voiceprint import Voiceprint

__all__ = ["CHUNK_SECONDS", "NamingSession"]

CHUNK_SECONDS = 2.0
"""Seconds of a speaker's speech alone embedded at a time."""


class _Voice:
    """One speaker's voice so far: the sum of its chunks' unit embeddings, and what waits."""

    def __init__(self, dimension: int) -> None:
        self.total = np.zeros(dimension, dtype=np.float64)
        self.seconds = 0.0
        self.pending: list[np.ndarray] = []

    @property
    def pending_seconds(self) -> float:
        return sum(piece.size for piece in self.pending) / SAMPLE_RATE


class NamingSession(BaseSession):
    """A live session of ``inner`` with the names of ``voiceprints`` (see the module docstring).

    Built by :meth:`~.backend.NamingBackend.open_session`; restored by its ``restore_session``.
    """

    snapshot_kind = "naming-session"
    snapshot_version = 1
    snapshot_mismatch = "the snapshot was taken with another speaker encoder"

    def __init__(self, inner, voiceprints: Sequence[Voiceprint], encoder: VoiceEncoder,
                 settings: NamingSettings = NamingSettings(), live_min_speech: float = CHUNK_SECONDS) -> None:
        super().__init__(inner.frame_duration if inner is not None else 0.0, {"encoder": encoder.identity})
        self.inner = inner
        self.voiceprints = list(voiceprints)
        self.encoder = encoder
        self.settings = settings
        self.live_min_speech = live_min_speech
        self.names: dict[str, str] = {}  # inner label -> name
        self.scores: dict[str, float] = {}  # inner label -> similarity to its name's voiceprint
        self._backend: Any = None  # what restores the inner session (see _reopen)
        self._voices: dict[str, _Voice] = {}
        self._audio = np.zeros(0, dtype=np.float32)  # samples from _audio_start on
        self._audio_start = 0

    @property
    def labels(self) -> tuple[str, ...]:
        """The inner session's labels (``speaker_N``): blocks keep them, so they concatenate."""
        return tuple(self.inner.labels)

    def matches(self) -> tuple[SpeakerMatch, ...]:
        """Per speaker so far, the name it took (or none) with its score, and the seconds embedded."""
        return tuple(SpeakerMatch(label, self.names.get(label), self.scores.get(label),
                                  round(self._voices[label].seconds, 3) if label in self._voices else 0.0)
                     for label in self.inner.labels)

    def named(self, activity: SpeakerActivity) -> SpeakerActivity:
        """``activity`` (blocks of this session, or their concatenation) with the names known now."""
        from dataclasses import replace

        return replace(activity, labels=tuple(self.names.get(label, label) for label in activity.labels))

    def _push(self, samples: np.ndarray) -> SpeakerActivity:
        self._audio = np.concatenate([self._audio, samples])
        return self._named(self.inner.push(samples))

    def _flush(self) -> SpeakerActivity:
        return self._named(self.inner.flush(), last=True)

    def _named(self, block: SpeakerActivity, last: bool = False) -> SpeakerActivity:
        """Learn the voices in ``block``, name who can be named, and relabel it."""
        end = int(round((block.start + block.num_frames * block.frame_duration) * SAMPLE_RATE))
        for column, label in enumerate(block.labels):
            dimension = self.voiceprints[0].embedding.size if self.voiceprints else 0
            voice = self._voices.setdefault(label, _Voice(dimension))
            if label in self.names or voice.seconds >= self.settings.max_speech or not self.voiceprints:
                continue
            for start, stop in solo_spans(block, column, end):
                start, stop = max(start, self._audio_start), min(stop, self._audio_start + self._audio.size)
                if stop - start >= MIN_SPAN * SAMPLE_RATE:
                    voice.pending.append(self._audio[start - self._audio_start : stop - self._audio_start].copy())
            while voice.pending_seconds >= CHUNK_SECONDS or (last and voice.pending):
                self._embed_pending(voice)
            self._try_naming(label, voice)
        drop = max(0, min(end, self._audio_start + self._audio.size) - self._audio_start)
        self._audio, self._audio_start = self._audio[drop:], self._audio_start + drop
        return block

    def _embed_pending(self, voice: _Voice) -> None:
        """Embed the waiting speech (all of it, at most a chunk's worth) as one chunk."""
        pieces, held = [], 0
        while voice.pending and held < CHUNK_SECONDS * SAMPLE_RATE:
            piece = voice.pending.pop(0)
            room = int(CHUNK_SECONDS * SAMPLE_RATE) - held
            if piece.size > room:
                voice.pending.insert(0, piece[room:])
                piece = piece[:room]
            pieces.append(piece)
            held += piece.size
        joined = np.concatenate(pieces)
        bounds = np.cumsum([0, *(piece.size for piece in pieces)])
        embedding, seconds = self.encoder.embed(joined, list(zip(bounds[:-1].tolist(), bounds[1:].tolist())),
                                                max_speech=CHUNK_SECONDS)
        if embedding is not None:
            voice.total += embedding
            voice.seconds += seconds

    def _try_naming(self, label: str, voice: _Voice) -> None:
        if voice.seconds < max(self.live_min_speech, self.settings.min_speech) or not voice.total.any():
            return
        similarity = np.stack([v.embedding for v in self.voiceprints]) @ normalize(voice.total)
        taken = set(self.names.values())
        free = [k for k, v in enumerate(self.voiceprints) if v.name not in taken]
        if not free:
            return
        best = max(free, key=lambda k: similarity[k])
        runner_up = np.delete(similarity, best).max() if similarity.size > 1 else -1.0
        if similarity[best] >= self.settings.threshold and similarity[best] - runner_up >= self.settings.margin:
            self.names[label] = self.voiceprints[best].name
            self.scores[label] = float(similarity[best])

    # -- snapshots -----------------------------------------------------------------------------

    def _snapshot_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        voices = {}
        arrays: dict[str, np.ndarray] = {
            "inner": np.frombuffer(self.inner.snapshot(), dtype=np.uint8),
            "audio": self._audio,
            "voiceprints": np.stack([v.embedding for v in self.voiceprints]) if self.voiceprints
            else np.zeros((0, 0), dtype=np.float32),
        }
        for index, (label, voice) in enumerate(self._voices.items()):
            voices[label] = {"seconds": voice.seconds, "index": index}
            arrays[f"total_{index}"] = voice.total
            arrays[f"pending_{index}"] = (np.concatenate(voice.pending) if voice.pending
                                          else np.zeros(0, dtype=np.float32))
            arrays[f"pieces_{index}"] = np.array([piece.size for piece in voice.pending], dtype=np.int64)
        header = {
            "names": self.names, "scores": self.scores, "voices": voices, "audio_start": self._audio_start,
            "voiceprints": [{"name": v.name, "encoder": v.encoder, "clips": v.clips, "speech": v.speech}
                            for v in self.voiceprints],
            "settings": {"threshold": self.settings.threshold, "margin": self.settings.margin,
                         "min_speech": self.settings.min_speech, "max_speech": self.settings.max_speech},
            "live_min_speech": self.live_min_speech,
        }
        return header, arrays

    @classmethod
    def _reopen(cls, owner: Any, header: dict[str, Any]) -> NamingSession:
        backend, encoder = owner
        session = cls(None, [], encoder, NamingSettings(**header["settings"]), float(header["live_min_speech"]))
        session._backend = backend
        return session

    def _restore_state(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        try:
            self._restore(header, arrays)
        except AttributeError as error:  # a header value of the wrong kind
            raise ValueError(str(error)) from None

    def _restore(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.inner = self._backend.restore_session(arrays["inner"].tobytes())
        self.frame_duration = self.inner.frame_duration
        embeddings = arrays["voiceprints"]
        self.voiceprints = [Voiceprint(str(v["name"]), embeddings[k], str(v["encoder"]), int(v["clips"]),
                                       float(v["speech"])) for k, v in enumerate(header["voiceprints"])]
        self.names = {str(label): str(name) for label, name in header["names"].items()}
        self.scores = {str(label): float(score) for label, score in header["scores"].items()}
        self._audio = np.asarray(arrays["audio"], dtype=np.float32)
        self._audio_start = int(header["audio_start"])
        self._voices = {}
        for label, saved in header["voices"].items():
            index = int(saved["index"])
            voice = _Voice(0)
            voice.total = np.asarray(arrays[f"total_{index}"], dtype=np.float64)
            voice.seconds = float(saved["seconds"])
            bounds = np.cumsum([0, *arrays[f"pieces_{index}"].tolist()])
            pending = np.asarray(arrays[f"pending_{index}"], dtype=np.float32)
            voice.pending = [pending[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
            self._voices[str(label)] = voice
