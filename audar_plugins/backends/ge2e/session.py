"""A live session of the GE2E backend: 16 kHz audio in pieces, speaker probabilities out as they settle.

The offline backend's steps, made incremental:

1. Silero VAD runs on each push with its LSTM state carried over, and speech regions
   follow the offline rules (hysteresis, speech shorter than ``min_speech`` dropped,
   silences shorter than ``min_silence`` bridged): a stream marks the same frames as
   speech as the whole recording does, however it is cut.
2. A window is embedded as soon as the speech under it is confirmed; the last,
   end-aligned window of a region when the region closes.
3. Speakers are found online, in order of arrival. A window joins the nearest speaker
   when its similarity to that speaker's centroid reaches ``1 - join_threshold`` and
   beats the runner-up by ``join_margin``; a window too close to two speakers joins
   neither. A window that matches nobody starts a candidate, which becomes the next
   speaker once it has ``min_speaker_speech`` of windows, and is dropped (its frames
   go to the known speakers) if its region ends first.
4. A frame is scored as offline, against the speakers' centroids, as soon as a window
   starting after it has been added (no window still to come covers it) and no
   candidate holds it. Scoring follows the sequence of windows, not the pushes, so the
   output is the same however the stream is cut, and a restored session continues
   exactly.

Memory is bounded by the longest speech region: the session keeps the audio and
windows of the open region, the centroids, and nothing else that grows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ...activity import SpeakerActivity
from ...errors import SnapshotError
from ..embedded.vad import VAD_FRAME_SAMPLES
from ..session import BaseSession
from .clustering import normalize
from .encoder import MEL_HOP, N_FFT, GE2EEncoder
from .frames import FRAME_DURATION, vad_index, vad_reads, window_starts

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is Python 3.11; the package supports 3.10

__all__ = ["GE2ESession", "OnlineSpeakers"]

_WINDOWS_PER_CALL = 4  # 0.6 s more latency than one at a time, for a quarter of the encoder time


@dataclass
class _Candidate:
    """A voice not yet heard long enough to be a speaker."""

    total: np.ndarray
    count: int
    first_frame: int


@dataclass
class OnlineSpeakers:
    """Speakers found in order of arrival, each a running sum of its windows' embeddings."""

    join_similarity: float
    margin: float
    min_windows: int
    max_speakers: float
    totals: list[np.ndarray] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    candidates: list[_Candidate] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.totals)

    def centroids(self) -> np.ndarray:
        if not self.totals:
            return np.zeros((0, GE2EEncoder.dimension), dtype=np.float32)
        return normalize(np.stack(self.totals)).astype(np.float32)

    @property
    def held_from(self) -> float:
        """The first frame a candidate's windows cover (frames from there on wait for it)."""
        return min((c.first_frame for c in self.candidates), default=np.inf)

    def add(self, embedding: np.ndarray, first_frame: int) -> None:
        """Assign one window's embedding."""
        similarity = self.centroids() @ embedding
        if similarity.size:
            order = np.argsort(similarity)[::-1]
            best = int(order[0])
            if similarity[best] >= self.join_similarity:
                runner_up = similarity[order[1]] if similarity.size > 1 else -np.inf
                if similarity[best] - runner_up >= self.margin:
                    self.totals[best] = self.totals[best] + embedding
                    self.counts[best] += 1
                return
            if self.count >= self.max_speakers:
                return
        self._add_to_candidate(embedding, first_frame)

    def _add_to_candidate(self, embedding: np.ndarray, first_frame: int) -> None:
        if self.candidates:
            similarity = normalize(np.stack([c.total for c in self.candidates])) @ embedding
            best = int(np.argmax(similarity))
            if similarity[best] >= self.join_similarity:
                candidate = self.candidates[best]
                candidate.total = candidate.total + embedding
                candidate.count += 1
                if candidate.count >= self.min_windows:
                    self._promote(best)
                return
        if self.count + len(self.candidates) < self.max_speakers:
            self.candidates.append(_Candidate(embedding.astype(np.float64), 1, first_frame))
            if self.min_windows <= 1:
                self._promote(len(self.candidates) - 1)

    def _promote(self, index: int) -> None:
        candidate = self.candidates.pop(index)
        similarity = self.centroids() @ normalize(candidate.total)
        if similarity.size and similarity.max() >= self.join_similarity:
            best = int(np.argmax(similarity))  # it drifted onto a known voice: that speaker, not a new one
            self.totals[best] = self.totals[best] + candidate.total
            self.counts[best] += candidate.count
        else:
            self.totals.append(candidate.total)
            self.counts.append(candidate.count)

    def settle(self) -> None:
        """A region ended: drop the candidates it left (promote the largest if nobody is known yet)."""
        if self.candidates and not self.totals:
            self._promote(int(np.argmax([c.count for c in self.candidates])))
        self.candidates.clear()

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header = {"counts": self.counts, "candidates": [[c.count, c.first_frame] for c in self.candidates]}
        arrays = {"speaker_totals": np.array(self.totals, dtype=np.float64).reshape(-1, GE2EEncoder.dimension),
                  "candidate_totals": np.array([c.total for c in self.candidates],
                                               dtype=np.float64).reshape(-1, GE2EEncoder.dimension)}
        return header, arrays

    def restore(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.totals = list(arrays["speaker_totals"])
        self.counts = [int(c) for c in header["counts"]]
        self.candidates = [_Candidate(total, int(count), int(first))
                           for total, (count, first) in zip(arrays["candidate_totals"], header["candidates"])]
        if len(self.totals) != len(self.counts) or len(self.candidates) != len(header["candidates"]):
            raise SnapshotError("inconsistent speaker state in the snapshot")


@dataclass
class _Stream:
    """Where the session stands, in 10 ms frames (all plain integers and flags, for snapshots)."""

    audio_start: int = 0  # sample index of the audio buffer's first sample
    vad_start: int = 0  # index of the first 32 ms VAD value kept
    processed: int = 0  # frames whose speech state has been run
    emitted: int = 0  # frames returned
    scored: int = 0  # frames whose probabilities are fixed (from ``emitted``, in ``_rows``)
    active: bool = False  # hysteresis state
    run_start: int = -1  # first frame of the active run
    run_kept: bool = False  # the active run is long enough to be speech
    region_start: int = -1  # first frame of the open speech region (-1: none open)
    region_end: int = -1  # end of the open region's speech so far
    next_window: int = 0  # index of the next regular window of the open region


class GE2ESession(BaseSession):
    """One live stream through a shared :class:`~audar_plugins.backends.ge2e.GE2EBackend`.

    Create sessions with :meth:`GE2EBackend.open_session`; resume one with
    :meth:`GE2EBackend.restore_session`. ``labels`` grows as speakers arrive;
    blocks may have more columns than the blocks before them.
    """

    snapshot_kind = "embedded-session"
    snapshot_version = 2
    snapshot_mismatch = "the snapshot was taken with other ge2e options; restore it on the same settings"

    def __init__(self, backend, max_speakers: float = np.inf) -> None:
        options = backend.options
        super().__init__(FRAME_DURATION, asdict(options))
        self._backend = backend
        self.options = options
        self._vad = backend._vad.stream()
        self._window = int(round(options.window / FRAME_DURATION))
        self._step = int(round(options.step / FRAME_DURATION))
        self.speakers = OnlineSpeakers(
            join_similarity=1.0 - options.join_threshold,
            margin=options.join_margin,
            min_windows=max(1, int(round(options.min_speaker_speech / options.step))),
            max_speakers=max_speakers,
        )
        self._s = _Stream()
        self._audio = np.zeros(0, dtype=np.float32)
        self._vad_probabilities = np.zeros(0, dtype=np.float32)
        self._speech = np.zeros(0, dtype=bool)  # frames from ``emitted`` to ``processed``
        self._rows: list[np.ndarray] = []  # probabilities of frames ``emitted`` to ``scored``
        self._window_starts: list[int] = []  # windows covering frames not yet emitted
        self._window_lengths: list[int] = []
        self._window_embeddings: list[np.ndarray] = []

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(f"speaker_{k}" for k in range(self.speakers.count))

    @property
    def latency(self) -> float:
        """Seconds of speech buffered before a frame in a long turn is final (compute time on top)."""
        return self.options.window

    def _push(self, samples: np.ndarray) -> SpeakerActivity:
        self._audio = np.concatenate([self._audio, samples])
        self._append_vad(self._vad.push(samples))
        # frame k exists once k * hop samples have arrived, and needs its 32 ms VAD value; the
        # newest frame may be the stream's last, which only the flush may run (see _process_frames)
        self._process_frames(min(self._frames_with_vad(), self._received // MEL_HOP))
        self._embed_ready_windows()
        return self._emit(self._settled())

    def _flush(self) -> SpeakerActivity:
        self._append_vad(self._vad.flush())
        total = 1 + self._received // MEL_HOP
        if self._s.vad_start + self._vad_probabilities.size == 0:
            total = 0  # nothing was pushed
        self._process_frames(total, final=True)
        if self._s.active:
            self._end_run(total - 1)  # as offline: speech running to the end stops where the last frame starts
        self._close_region()
        return self._emit(self._s.processed)

    # -- voice activity ----------------------------------------------------------------------

    def _append_vad(self, probabilities: np.ndarray) -> None:
        if probabilities.size:
            self._vad_probabilities = np.concatenate([self._vad_probabilities, probabilities])

    def _frames_with_vad(self) -> int:
        """How many leading frames have their VAD value (frame k reads the 32 ms value it falls in)."""
        known = self._s.vad_start + self._vad_probabilities.size
        count = (known * VAD_FRAME_SAMPLES) // MEL_HOP + 1
        while count > 0 and vad_index(count - 1) >= known:  # the same float arithmetic as offline
            count -= 1
        return count

    def _process_frames(self, until: int, final: bool = False) -> None:
        """Run the speech state machine over frames up to ``until`` (the last frames, when ``final``).

        As offline, speech running to the end of the signal ends where its last frame
        starts: a run that reaches the last frame is one frame shorter than one that
        goes on, both for ``min_speech`` and for the frames marked as speech.
        """
        s = self._s
        if until <= s.processed:
            return
        frames = np.arange(s.processed, until)
        known = s.vad_start + self._vad_probabilities.size
        values = self._vad_probabilities[vad_reads(frames, known) - s.vad_start]
        self._speech = np.concatenate([self._speech, np.zeros(frames.size, dtype=bool)])
        onset, offset = np.float32(self.options.vad_onset), np.float32(self.options.vad_offset)
        last = until - 1 if final else until
        for frame, value in zip(frames.tolist(), values.tolist()):
            value = np.float32(value)
            end = min(frame + 1, last)  # where the speech so far ends
            if not s.active and value > onset:
                s.active, s.run_start, s.run_kept = True, frame, False
            elif s.active and value < offset:
                s.active = False
                self._end_run(frame)
            if s.active and not s.run_kept and self._long_enough(s.run_start, end):
                s.run_kept = True
                self._start_kept_run(s.run_start)
            if s.active and s.run_kept:
                self._mark_speech(s.region_end, end)
                s.region_end = end
            elif s.region_start >= 0 and not self._bridged(s.region_end, end) and not self._may_bridge():
                self._close_region()
        s.processed = until
        keep_from = int(min(s.processed, s.run_start if s.active else s.processed,
                            s.region_start if s.region_start >= 0 else s.processed))
        # keep the value the next frame reads; until the stream ends, that may be the last
        # known one (the final frame of a stream a whole number of 2560 samples long reads it)
        drop = int(vad_reads(keep_from, known)) - s.vad_start
        if drop > 0 and not final:
            self._vad_probabilities = self._vad_probabilities[drop:]
            s.vad_start += drop

    # Durations compare in float32 seconds, as the offline binarization does, so that
    # a stream and the whole recording agree on every frame.

    def _long_enough(self, start: int, end: int) -> bool:
        return _seconds(end) - _seconds(start) >= np.float32(self.options.min_speech)

    def _bridged(self, end: int, start: int) -> bool:
        """A silence from ``end`` to ``start`` is short enough to be part of the speech region."""
        return _seconds(start) - _seconds(end) < np.float32(self.options.min_silence)

    def _may_bridge(self) -> bool:
        """An undecided run starts close enough to the open region to join it."""
        s = self._s
        return s.active and not s.run_kept and self._bridged(s.region_end, s.run_start)

    def _start_kept_run(self, start: int) -> None:
        s = self._s
        if s.region_start >= 0 and self._bridged(s.region_end, start):
            self._mark_speech(s.region_end, start)  # a short silence inside the region
            return
        self._close_region()
        s.region_start, s.region_end, s.next_window = start, start, 0

    def _end_run(self, end: int) -> None:
        """The active run ends before frame ``end``; a run too short to be kept by now is dropped."""
        s = self._s
        s.active = False
        if s.run_kept:
            self._mark_speech(s.region_end, end)
            s.region_end = max(s.region_end, end)

    def _mark_speech(self, start: int, end: int) -> None:
        offset = self._s.emitted
        self._speech[max(start, offset) - offset : end - offset] = True

    # -- windows and speakers ----------------------------------------------------------------

    def _close_region(self) -> None:
        s = self._s
        if s.region_start < 0:
            return
        self._embed_ready_windows()  # the same encoder batches as a stream cut elsewhere
        length = s.region_end - s.region_start
        # the regular windows come first, in order; those embedded already are the first next_window
        remaining = window_starts(length, self._window, self._step)[s.next_window :]
        self._embed(s.region_start + remaining, min(self._window, length))
        self.speakers.settle()
        self._score(s.region_end)
        s.next_window = 0
        s.region_start = s.region_end = -1

    def _embed_ready_windows(self) -> None:
        """Embed the next groups of regular windows of the open region whose speech and audio have arrived.

        Windows go to the encoder in fixed groups: one LSTM call for several windows
        costs little more than for one, and fixed groups keep the output independent
        of how the stream was cut (a batch's composition changes its float rounding).
        """
        s = self._s
        if s.region_start < 0:
            return
        while True:
            starts = s.region_start + (s.next_window + np.arange(_WINDOWS_PER_CALL)) * self._step
            end = int(starts[-1]) + self._window
            if end > s.region_end or (end - 1) * MEL_HOP + N_FFT // 2 > self._received:
                return
            self._embed(starts, self._window)
            s.next_window += _WINDOWS_PER_CALL

    def _embed(self, starts: np.ndarray, length: int) -> None:
        if not starts.size:
            return
        first = int(starts.min())
        last = int(starts.max()) + length
        base = self._s.audio_start // MEL_HOP
        mel = self._backend._mel(self._audio, first - base, last - base)
        windows = mel[(starts - first)[:, np.newaxis] + np.arange(length)]
        embeddings = self._backend._encoder(windows)
        for start, embedding in zip(starts.tolist(), embeddings):
            self.speakers.add(embedding.astype(np.float64), start)
            self._window_starts.append(start)
            self._window_lengths.append(length)
            self._window_embeddings.append(embedding)
            # windows come in order of start: none still to come covers a frame before this one
            self._score(int(min(start, self.speakers.held_from)))

    # -- output ------------------------------------------------------------------------------

    def _settled(self) -> int:
        """Frames before this one are final: scored, or silence for good."""
        s = self._s
        frontier = s.processed
        if s.active and not s.run_kept:
            frontier = min(frontier, s.run_start)  # may yet be speech
        if s.region_start >= 0:
            frontier = min(frontier, s.region_start)  # the open region's frames wait for their windows
        return max(frontier, s.scored)

    def _first_open_window(self) -> int:
        """The earliest frame a window of the open region still to be embedded may cover.

        Regular windows from the next one on, and the end-aligned last window,
        which starts at least a window before the region's speech so far ends.
        """
        s = self._s
        next_start = s.region_start + s.next_window * self._step
        return max(s.region_start, min(next_start, s.region_end - self._window))

    def _score(self, until: int) -> None:
        """Fix the probabilities of the frames up to ``until``, against the centroids as they are now."""
        s = self._s
        count = until - s.scored
        if count <= 0:
            return
        centroids = self.speakers.centroids()
        rows = np.zeros((count, centroids.shape[0]), dtype=np.float32)
        speech = np.flatnonzero(self._speech[s.scored - s.emitted : until - s.emitted])
        if speech.size and centroids.shape[0]:
            rows[speech] = self._scores(s.scored, count, centroids)[speech]
        self._rows.append(rows)
        s.scored = until
        self._forget_windows_before(until)

    def _emit(self, until: int) -> SpeakerActivity:
        s = self._s
        self._score(until)  # frames past the scored ones are silence here
        count = until - s.emitted
        width = self.speakers.count
        probabilities = self._pending_rows()
        self._rows = []
        centroids = self.speakers.centroids()
        block = SpeakerActivity(probabilities, FRAME_DURATION, s.emitted * FRAME_DURATION, self.labels,
                                embeddings=centroids if width else None)
        s.emitted += count
        self._speech = self._speech[count:]
        self._forget_audio()
        return block

    def _scores(self, first: int, count: int, centroids: np.ndarray) -> np.ndarray:
        """Offline's per-frame posterior: mean similarity of the covering windows, softened.

        Each frame sums its windows in the same order whatever range it is scored in,
        so the floats do not depend on when the frame was scored.
        """
        totals = np.zeros((count, centroids.shape[0]))
        covering = np.zeros(count)
        for start, length, embedding in zip(self._window_starts, self._window_lengths, self._window_embeddings):
            low, high = max(start - first, 0), min(start + length - first, count)
            if low < high:
                totals[low:high] += embedding @ centroids.T
                covering[low:high] += 1
        scores = totals / np.maximum(covering, 1)[:, np.newaxis]
        return np.exp((scores - scores.max(axis=1, keepdims=True)) / self.options.temperature)

    def _forget_windows_before(self, frame: int) -> None:
        keep = [i for i, (start, length) in enumerate(zip(self._window_starts, self._window_lengths))
                if start + length > frame]
        if len(keep) < len(self._window_starts):
            self._window_starts = [self._window_starts[i] for i in keep]
            self._window_lengths = [self._window_lengths[i] for i in keep]
            self._window_embeddings = [self._window_embeddings[i] for i in keep]

    def _forget_audio(self) -> None:
        """Drop the audio no window still to come needs."""
        s = self._s
        needed = [s.processed]
        if s.region_start >= 0:
            needed.append(self._first_open_window())
        if s.active:
            needed.append(s.run_start)
        # a frame reads N_FFT / 2 samples before its centre; keep whole hops, and one frame
        # more for the end-aligned window of a region that a flush shortens by a frame
        keep_from = max(0, (min(needed) - 3) * MEL_HOP)
        if keep_from > s.audio_start:
            self._audio = self._audio[keep_from - s.audio_start :].copy()
            s.audio_start = keep_from

    # -- snapshot and restore ----------------------------------------------------------------

    def _pending_rows(self) -> np.ndarray:
        width = self.speakers.count
        rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]))) for r in self._rows]
        return np.concatenate(rows) if rows else np.zeros((0, width), dtype=np.float32)

    def _snapshot_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        speakers_header, arrays = self.speakers.state()
        vad = self._vad.state()
        arrays.update(
            audio=self._audio, vad_probabilities=self._vad_probabilities, speech=self._speech,
            rows=self._pending_rows(),
            window_starts=np.array(self._window_starts, dtype=np.int64),
            window_lengths=np.array(self._window_lengths, dtype=np.int64),
            window_embeddings=np.array(self._window_embeddings, dtype=np.float32).reshape(-1, GE2EEncoder.dimension),
            **{f"vad.{name}": value for name, value in vad.items()},
        )
        header = {
            "max_speakers": None if np.isinf(self.speakers.max_speakers) else self.speakers.max_speakers,
            "stream": asdict(self._s),
            "speakers": speakers_header,
        }
        return header, arrays

    @classmethod
    def _reopen(cls, backend, header: dict[str, Any]) -> Self:
        max_speakers = header["max_speakers"]
        return cls(backend, np.inf if max_speakers is None else int(max_speakers))

    def _restore_state(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._s = _Stream(**header["stream"])
        self.speakers.restore(header["speakers"], arrays)
        self._vad.restore({name[len("vad."):]: value for name, value in arrays.items() if name.startswith("vad.")})
        self._audio = arrays["audio"].astype(np.float32)
        self._vad_probabilities = arrays["vad_probabilities"].astype(np.float32)
        self._speech = arrays["speech"].astype(bool)
        self._rows = [arrays["rows"].astype(np.float32)]
        self._window_starts = [int(v) for v in arrays["window_starts"]]
        self._window_lengths = [int(v) for v in arrays["window_lengths"]]
        self._window_embeddings = list(arrays["window_embeddings"])


def _seconds(frame: int) -> np.float32:
    return np.float32(frame * FRAME_DURATION)
