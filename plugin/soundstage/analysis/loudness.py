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

__all__ = ["LoudnessMeter", "SpectrumMeter", "TruePeakMeter", "short_term_lufs"]

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

    def block_powers(self) -> list[np.ndarray]:
        """The mean squares of the K-weighted 400 ms gating blocks so far (every 100 ms), per channel."""
        return list(self._powers)

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


def short_term_lufs(meter: LoudnessMeter, every_s: float = 1.0) -> list[float | None]:
    """Short-term loudness (3 s windows, BS.1771) every ``every_s`` seconds, from a meter's 400 ms gating blocks.

    A 3 s window is the mean of the 27 gating blocks (400 ms every 100 ms) that
    lie inside it: every sample of the window counts four times except at its
    edges, within 0.2 LU of the direct measure on program material. None for
    silence and for windows before the first 3 s are in.
    """
    powers = np.array(meter.block_powers())  # (blocks, channels)
    if not len(powers):
        return []
    weights = np.array(_CHANNEL_WEIGHTS[: meter.channels] + (1.0,) * max(0, meter.channels - 5))[: meter.channels]
    weighted = (powers * weights).sum(axis=1)
    step = max(1, int(round(every_s / 0.1)))
    values: list[float | None] = []
    for start in range(0, len(weighted) - 26, step):
        mean = float(weighted[start : start + 27].mean())
        values.append(round(-0.691 + 10 * np.log10(mean), 2) if mean > 0 else None)
    return values


class TruePeakMeter:
    """True peak (dBTP) of a stream by 4x oversampling, and the count of clipped samples."""

    UP = 4
    TAPS_PER_PHASE = 24

    def __init__(self, channels: int) -> None:
        taps = self.UP * self.TAPS_PER_PHASE
        # in float32 (the audio's own precision; 3-4x faster): the peak is exact to about 1e-6
        self._filter = (scipy.signal.firwin(taps, 1.0 / self.UP, window=("kaiser", 8.0)) * self.UP).astype(np.float32)
        # upfirdn runs the interpolation polyphase (the zero-stuffed samples cost nothing); the last
        # TAPS_PER_PHASE - 1 input samples carry the filter's state from block to block
        self._history = np.zeros((channels, self.TAPS_PER_PHASE - 1), np.float32)
        self._overshoot = float(np.abs(self._filter.astype(float)).reshape(self.TAPS_PER_PHASE, self.UP).sum(axis=0).max())
        self.peak = 0.0
        self.sample_peak = 0.0
        self.clipped = 0

    def add(self, block: np.ndarray) -> None:
        """Feed ``(channels, n)`` samples."""
        data = np.asarray(block, np.float32)
        self.sample_peak = max(self.sample_peak, float(np.abs(data).max(initial=0.0)))
        self.clipped += int(np.count_nonzero(np.abs(data) >= 1.0))
        if not data.shape[1]:
            return
        extended = np.concatenate([self._history, data], axis=1)
        self.peak = max(self.peak, self.sample_peak)
        # an interpolated sample is at most the window's peak times the phase's sum of |taps|: a block that
        # cannot beat the peak so far needs no oversampling (exact, not an estimate)
        if float(np.abs(extended).max()) * self._overshoot > self.peak:
            lead = self._history.shape[1] * self.UP  # the outputs of the history itself were measured before
            upsampled = scipy.signal.upfirdn(self._filter, extended, up=self.UP, axis=1)
            self.peak = max(self.peak, float(np.abs(upsampled[:, lead : lead + data.shape[1] * self.UP]).max(initial=0.0)))
        self._history = extended[:, extended.shape[1] - self._history.shape[1] :]

    def flush(self) -> None:
        """Let the interpolation filter's tail through (call at the end)."""
        self.add(np.zeros((self._history.shape[0], self.TAPS_PER_PHASE)))

    @property
    def true_peak_dbtp(self) -> float:
        """Maximum of the oversampled signal, dB re full scale."""
        return float(20 * np.log10(self.peak)) if self.peak > 0 else float("-inf")


class SpectrumMeter:
    """Long-term spectrum of a stream in 1/3-octave bands (Welch: Hann frames of 8192, half overlap), summed over channels."""

    FRAME = 8192

    def __init__(self, sample_rate: float, channels: int) -> None:
        self.sample_rate = float(sample_rate)
        self._window = scipy.signal.get_window("hann", self.FRAME)
        self._pending = np.zeros((channels, 0))
        self._power = np.zeros(self.FRAME // 2 + 1)
        self._frames = 0

    def add(self, block: np.ndarray) -> None:
        """Feed ``(channels, n)`` samples."""
        pending = np.concatenate([self._pending, np.asarray(block, float)], axis=1)
        hop = self.FRAME // 2
        start = 0
        while start + self.FRAME <= pending.shape[1]:
            spectrum = np.fft.rfft(pending[:, start : start + self.FRAME] * self._window, axis=1)
            self._power += (np.abs(spectrum) ** 2).sum(axis=0)
            self._frames += 1
            start += hop
        self._pending = pending[:, start:]

    def third_octave_db(self) -> tuple[list[float], list[float | None]]:
        """Band centers (Hz, 25 Hz-20 kHz, base-10 series) and band levels (dB, arbitrary reference; None if empty)."""
        frequencies = np.fft.rfftfreq(self.FRAME, 1 / self.sample_rate)
        centers = [float(10 ** (k / 10)) for k in range(14, 44) if 10 ** (k / 10) < self.sample_rate / 2 / 2 ** (1 / 6)]
        levels: list[float | None] = []
        for center in centers:
            band = (frequencies >= center * 2 ** (-1 / 6)) & (frequencies < center * 2 ** (1 / 6))
            power = float(self._power[band].sum()) / max(self._frames, 1) / self.FRAME
            levels.append(round(10 * np.log10(power), 2) if power > 0 else None)
        return [round(c, 1) for c in centers], levels
