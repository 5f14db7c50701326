"""NeMo's Sortformer log-mel features in NumPy, whole or as samples arrive (no torch).

What ``AudioToMelSpectrogramPreprocessor`` computes in inference for Sortformer
(``normalize: NA``, no dither, no frame splicing): pre-emphasis ``y[t] = x[t] - 0.97 x[t-1]``,
a centred STFT (``n_fft`` zeros split around the signal) with the model's window centred in
``n_fft``, power spectrum, the model's mel filterbank, ``log(mel + 2**-24)``, and
``len(x) // hop`` frames. The filterbank and window are the checkpoint's own arrays, saved
at export, so nothing here needs librosa or torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["IncrementalLogMel", "LogMel"]


@dataclass(frozen=True)
class LogMel:
    """The front end of one checkpoint.

    Parameters
    ----------
    filterbank
        ``(n_mels, n_fft // 2 + 1)`` mel weights (NeMo's ``featurizer.fb``).
    window
        The analysis window, ``win_length`` samples (NeMo's ``featurizer.window``).
    """

    filterbank: np.ndarray
    window: np.ndarray
    hop_length: int = 160
    n_fft: int = 512
    preemphasis: float = 0.97
    log_guard: float = 2.0**-24
    _padded_window: np.ndarray = field(init=False, repr=False, compare=False)
    _filterbank64: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        padded = np.zeros(self.n_fft, dtype=np.float64)
        offset = (self.n_fft - self.window.size) // 2
        padded[offset : offset + self.window.size] = self.window
        object.__setattr__(self, "_padded_window", padded)
        object.__setattr__(self, "_filterbank64", np.asarray(self.filterbank, dtype=np.float64))

    @property
    def num_features(self) -> int:
        return int(self.filterbank.shape[0])

    def __call__(self, waveform: np.ndarray) -> np.ndarray:
        """Features of a whole signal, ``(n_mels, len(waveform) // hop)`` float32."""
        frames = IncrementalLogMel(self)
        frames.push(waveform)
        frames.end()
        return frames.compute()

    def frames(self, emphasised: np.ndarray, origin: int, first: int, last: int) -> np.ndarray:
        """Frames ``first`` to ``last`` from pre-emphasised samples starting at global sample ``origin``;
        samples outside the array are zeros (the STFT's padding)."""
        half = self.n_fft // 2
        count = last - first
        if count <= 0:
            return np.zeros((self.num_features, 0), dtype=np.float32)
        begin = first * self.hop_length - half - origin  # array index of frame ``first``'s first sample
        end = begin + (count - 1) * self.hop_length + self.n_fft
        segment = np.zeros(end - begin, dtype=np.float64)
        low, high = max(begin, 0), min(end, emphasised.size)
        if high > low:
            segment[low - begin : high - begin] = emphasised[low:high]
        windows = np.lib.stride_tricks.sliding_window_view(segment, self.n_fft)[:: self.hop_length]
        spectrum = np.fft.rfft(windows * self._padded_window, axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        return np.log(self._filterbank64 @ power.T + self.log_guard).astype(np.float32)


class IncrementalLogMel:
    """Push samples as they arrive; :meth:`compute` returns the frames that became final.

    Frame ``i`` is final once samples up to ``i * hop + n_fft / 2`` have arrived; after
    :meth:`end`, the last frames (zero-padded) follow, ``num_samples // hop`` in all, as NeMo
    keeps them. The output equals :class:`LogMel` on the whole signal however it is cut.
    """

    def __init__(self, front_end: LogMel) -> None:
        self.front_end = front_end
        self._pieces: list[np.ndarray] = []  # raw samples from global index _start on
        self._start = 0
        self._previous = 0.0  # the raw sample before _start (pre-emphasis)
        self.num_samples = 0
        self.num_frames = 0
        self.ended = False

    @property
    def num_features(self) -> int:
        """Mel bands per frame."""
        return self.front_end.num_features

    def push(self, samples: np.ndarray) -> None:
        if len(samples):
            self._pieces.append(np.asarray(samples, dtype=np.float32))
            self.num_samples += len(samples)

    def end(self) -> None:
        self.ended = True

    @property
    def available(self) -> int:
        """Frames final so far, computed or not."""
        hop, half = self.front_end.hop_length, self.front_end.n_fft // 2
        if self.ended:
            return self.num_samples // hop
        return 0 if self.num_samples < half else (self.num_samples - half) // hop + 1

    def compute(self) -> np.ndarray:
        """The newly final frames, ``(n_mels, k)`` float32."""
        until = self.available
        if until <= self.num_frames:
            return np.zeros((self.front_end.num_features, 0), dtype=np.float32)
        raw = np.concatenate(self._pieces).astype(np.float64) if self._pieces else np.zeros(0)
        emphasised = raw.copy()
        if raw.size:
            emphasised[1:] -= self.front_end.preemphasis * raw[:-1]
            if self._start > 0:
                emphasised[0] -= self.front_end.preemphasis * self._previous
        new = self.front_end.frames(emphasised, self._start, self.num_frames, until)
        self.num_frames = until
        # keep what the next frame's window reads, and the sample before it
        keep_from = max(self._start, until * self.front_end.hop_length - self.front_end.n_fft // 2)
        if keep_from > self._start:
            self._previous = float(raw[keep_from - self._start - 1])
            self._pieces = [raw[keep_from - self._start :].astype(np.float32)]
            self._start = keep_from
        return new

    def state(self) -> dict[str, np.ndarray | int | float]:
        """Everything needed to continue elsewhere (for session snapshots)."""
        tail = np.concatenate(self._pieces) if self._pieces else np.zeros(0, dtype=np.float32)
        return {"tail": tail, "start": self._start, "previous": self._previous, "num_samples": self.num_samples,
                "num_frames": self.num_frames}

    def restore(self, state: dict) -> None:
        self._pieces = [np.asarray(state["tail"], dtype=np.float32)]
        self._start = int(state["start"])
        self._previous = float(state["previous"])
        self.num_samples = int(state["num_samples"])
        self.num_frames = int(state["num_frames"])
