"""Streaming loudness (ITU-R BS.1770) and true peak, for renders that never fit in memory.

The K-weighting filters are pyloudnorm's (its public ``IIRfilter`` with the
BS.1770 stage parameters its ``Meter`` uses: a +4 dB high shelf at 1500 Hz,
Q 1/sqrt(2), and a 38 Hz high-pass, Q 0.5), run with carried state; 400 ms blocks with 75 % overlap are reduced to their mean
squares as audio streams by, so a three-hour render needs a few hundred kB.
Gating follows BS.1770-4 as pyloudnorm implements it (absolute -70 LUFS, relative
-10 LU); on whole signals the result equals ``pyloudnorm.Meter.integrated_loudness``.

True peak: 4x oversampling (polyphase FIR, scipy), carried across blocks.
"""

from __future__ import annotations

import numpy as np
import pyloudnorm
import scipy.signal

__all__ = ["LoudnessMeter", "TruePeakMeter"]

_CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)
#: The K-weighting stages (ITU-R BS.1770-4): (gain dB, Q, frequency Hz, pyloudnorm's filter type).
K_WEIGHTING = ((4.0, 1 / np.sqrt(2), 1500.0, "high_shelf"), (0.0, 0.5, 38.0, "high_pass"))


class LoudnessMeter:
    """Integrated loudness of a stream, ``(channels, n)`` blocks in, LUFS out."""

    def __init__(self, sample_rate: float, channels: int) -> None:
        rate = int(round(sample_rate))
        stages = [pyloudnorm.IIRfilter(gain, q, frequency, rate, kind) for gain, q, frequency, kind in K_WEIGHTING]
        self._sections = [(np.asarray(f.b, float), np.asarray(f.a, float)) for f in stages]
        self._states = [np.zeros((channels, max(len(a), len(b)) - 1)) for b, a in self._sections]
        self.sample_rate = float(sample_rate)
        self.channels = channels
        self._block = max(1, int(0.4 * sample_rate))  # at least a sample: a nonsense rate never stalls the meter
        self._step = max(1, int(0.1 * sample_rate))
        self._pending = np.zeros((channels, 0))
        self._powers: list[np.ndarray] = []  # per block: mean square per channel

    def add(self, block: np.ndarray) -> None:
        """Feed ``(channels, n)`` samples."""
        weighted = np.asarray(block, float)
        for index, (b, a) in enumerate(self._sections):
            weighted, self._states[index] = scipy.signal.lfilter(b, a, weighted, axis=1, zi=self._states[index])
        pending = np.concatenate([self._pending, weighted], axis=1)
        start = 0
        while start + self._block <= pending.shape[1]:
            self._powers.append(np.mean(pending[:, start : start + self._block] ** 2, axis=1))
            start += self._step
        self._pending = pending[:, start:]

    def integrated_lufs(self) -> float:
        """Gated integrated loudness so far (-inf for silence)."""
        if not self._powers:
            return float("-inf")
        z = np.array(self._powers)  # (blocks, channels)
        weights = np.array(_CHANNEL_WEIGHTS[: self.channels] + (1.0,) * max(0, self.channels - 5))[: self.channels]
        loudness = -0.691 + 10 * np.log10(np.maximum((z * weights).sum(axis=1), 1e-300))
        gated = z[loudness >= -70.0]
        if not len(gated):
            return float("-inf")
        relative = -0.691 + 10 * np.log10((gated.mean(axis=0) * weights).sum()) - 10.0
        final = z[(loudness >= -70.0) & (loudness >= relative)]
        return float(-0.691 + 10 * np.log10((final.mean(axis=0) * weights).sum()))


class TruePeakMeter:
    """True peak (dBTP) of a stream by 4x oversampling, and the count of clipped samples."""

    UP = 4
    TAPS_PER_PHASE = 24

    def __init__(self, channels: int) -> None:
        taps = self.UP * self.TAPS_PER_PHASE
        self._filter = scipy.signal.firwin(taps, 1.0 / self.UP, window=("kaiser", 8.0)) * self.UP
        self._state = np.zeros((channels, taps - 1))
        self.peak = 0.0
        self.sample_peak = 0.0
        self.clipped = 0

    def add(self, block: np.ndarray) -> None:
        """Feed ``(channels, n)`` samples."""
        data = np.asarray(block, float)
        self.sample_peak = max(self.sample_peak, float(np.abs(data).max(initial=0.0)))
        self.clipped += int(np.count_nonzero(np.abs(data) >= 1.0))
        stuffed = np.zeros((data.shape[0], data.shape[1] * self.UP))
        stuffed[:, :: self.UP] = data
        upsampled, self._state = scipy.signal.lfilter(self._filter, [1.0], stuffed, axis=1, zi=self._state)
        self.peak = max(self.peak, float(np.abs(upsampled).max(initial=0.0)), self.sample_peak)

    def flush(self) -> None:
        """Let the interpolation filter's tail through (call at the end)."""
        self.add(np.zeros((self._state.shape[0], self.TAPS_PER_PHASE)))

    @property
    def true_peak_dbtp(self) -> float:
        """Maximum of the oversampled signal, dB re full scale."""
        return float(20 * np.log10(self.peak)) if self.peak > 0 else float("-inf")
