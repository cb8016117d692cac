"""Streaming loudness (ITU-R BS.1770) and true peak, for renders that never fit in memory.

The K-weighting filters are pyloudnorm's (its public ``IIRfilter`` with the
BS.1770 stage parameters its ``Meter`` uses: a +4 dB high shelf at 1500 Hz,
Q 1/sqrt(2), and a 38 Hz high-pass, Q 0.5), run with carried state; 400 ms blocks with 75 % overlap are reduced to their mean
squares as audio streams by, so a three-hour render needs a few hundred kB.
Gating follows BS.1770-4 as pyloudnorm implements it (absolute -70 LUFS, relative
-10 LU); on whole signals the result equals ``pyloudnorm.Meter.integrated_loudness``.

True peak: 4x oversampling (polyphase FIR as a matrix product), carried across blocks.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LoudnessMeter", "SpectrumMeter", "TruePeakMeter", "short_term_lufs"]

_CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)
#: The K-weighting stages (ITU-R BS.1770-4): (gain dB, Q, frequency Hz, pyloudnorm's filter type).
K_WEIGHTING = ((4.0, 1 / np.sqrt(2), 1500.0, "high_shelf"), (0.0, 0.5, 38.0, "high_pass"))


class LoudnessMeter:
    """Integrated loudness of a stream, ``(channels, n)`` blocks in, LUFS out."""

    def __init__(self, sample_rate: float, channels: int) -> None:
        # pyloudnorm and scipy load on first use (a second or more): a command refused before any audio is read
        # says so without waiting for them
        import pyloudnorm  # noqa: PLC0415 (slow to load: on first use)

        rate = int(round(sample_rate))
        # a stage whose corner is at or above Nyquist (the shelf at rates below 3 kHz) has no digital form: the
        # cookbook biquad is unstable there (LUFS came out inf). Its effect below Nyquist is the shelf's lower
        # skirt (under +1.5 dB at 1 kHz), so such a stage passes the band flat.
        stages = [
            np.concatenate([f.b, f.a]) / f.a[0] if frequency < rate / 2 else np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0])
            for gain, q, frequency, kind in K_WEIGHTING
            for f in [pyloudnorm.IIRfilter(gain, q, frequency, rate, kind)]
        ]
        # both stages in one pass (second-order sections, each normalized by its a0)
        self._sos = np.array(stages, float)
        self._state = np.zeros((len(stages), channels, 2))
        self.sample_rate = float(sample_rate)
        self.channels = channels
        self._block = max(1, int(0.4 * sample_rate))  # at least a sample: a nonsense rate never stalls the meter
        self._step = max(1, int(0.1 * sample_rate))
        # the squares are summed per unit (the largest length dividing both block and step: 100 ms at
        # 48 kHz), once each; a gating block is then the sum of its units' sums, so the 75 % overlap
        # costs no second pass over the samples
        self._unit = math.gcd(self._block, self._step)
        self._partial = np.zeros((channels, 0))  # squares of the unit under way
        self._units = np.zeros((channels, 0))  # unit sums from the next gating block's start on
        self._powers: list[np.ndarray] = []  # per block: mean square per channel

    def sections(self) -> np.ndarray:
        """The K-weighting filter as second-order sections (stages, 6: b0 b1 b2 1 a1 a2)."""
        return self._sos.copy()

    def add(self, block: np.ndarray) -> None:
        """Feed ``(channels, n)`` samples."""
        import scipy.signal  # noqa: PLC0415 (slow to load: on first use)

        weighted, self._state = scipy.signal.sosfilt(self._sos, np.asarray(block, float), axis=1, zi=self._state)
        squares = np.concatenate([self._partial, weighted**2], axis=1)
        whole = squares.shape[1] // self._unit * self._unit
        sums = squares[:, :whole].reshape(self.channels, -1, self._unit).sum(axis=2)
        self._partial = squares[:, whole:]
        units = np.concatenate([self._units, sums], axis=1)
        per_block, per_step = self._block // self._unit, self._step // self._unit
        if units.shape[1] >= per_block:
            starts = (units.shape[1] - per_block) // per_step + 1
            windows = np.lib.stride_tricks.sliding_window_view(units, per_block, axis=1)[:, : starts * per_step : per_step]
            self._powers.extend((windows.sum(axis=2) / self._block).T)
            units = units[:, starts * per_step :]
        self._units = units

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
    """True peak (dBTP) of a stream by 4x oversampling."""

    UP = 4
    TAPS_PER_PHASE = 24
    #: Input samples interpolated per matrix product: bounds the windows' copy (CHUNK x taps x channels floats).
    CHUNK = 4096

    def __init__(self, channels: int) -> None:
        import scipy.signal  # noqa: PLC0415 (slow to load: on first use)

        taps = self.UP * self.TAPS_PER_PHASE
        # in float32 (the audio's own precision; 3-4x faster): the peak is exact to about 1e-6
        design = scipy.signal.firwin(taps, 1.0 / self.UP, window=("kaiser", 8.0)) * self.UP
        # polyphase: the interpolated sample p/UP after input n is sum_k h[UP k + p] x[n - k]. As a matrix
        # product of each input's window of TAPS_PER_PHASE samples (oldest first) with the phases' taps
        # (reversed to match), one BLAS call interpolates a chunk: 5x faster than scipy.signal.upfirdn
        self._phases = np.ascontiguousarray(design.reshape(self.TAPS_PER_PHASE, self.UP)[::-1].astype(np.float32))
        # the last TAPS_PER_PHASE - 1 input samples carry the filter's state from block to block
        self._history = np.zeros((channels, self.TAPS_PER_PHASE - 1), np.float32)
        self._overshoot = float(np.abs(design).reshape(self.TAPS_PER_PHASE, self.UP).sum(axis=0).max())
        self.peak = 0.0
        self.sample_peak = 0.0

    def add(self, block: np.ndarray) -> None:
        """Feed ``(channels, n)`` samples."""
        data = np.asarray(block, np.float32)
        self.sample_peak = max(self.sample_peak, float(np.abs(data).max(initial=0.0)))
        if not data.shape[1]:
            return
        extended = np.concatenate([self._history, data], axis=1)
        self.peak = max(self.peak, self.sample_peak)
        windows = np.lib.stride_tricks.sliding_window_view(extended, self.TAPS_PER_PHASE, axis=1)  # one per new input
        for start in range(0, windows.shape[1], self.CHUNK):
            chunk = windows[:, start : start + self.CHUNK]
            # an interpolated sample is at most its window's peak times the phase's sum of |taps|: a chunk
            # that cannot beat the peak so far needs no interpolation (exact, not an estimate)
            span = extended[:, start : start + chunk.shape[1] + self.TAPS_PER_PHASE - 1]
            if float(np.abs(span).max()) * self._overshoot > self.peak:
                interpolated = np.ascontiguousarray(chunk) @ self._phases
                self.peak = max(self.peak, float(np.abs(interpolated).max()))
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
    #: Frames transformed per FFT call (bounds the windowed copy: BATCH x FRAME x channels floats).
    BATCH = 32

    def __init__(self, sample_rate: float, channels: int) -> None:
        self.sample_rate = float(sample_rate)
        import scipy.signal  # noqa: PLC0415 (slow to load: on first use)

        self._window = scipy.signal.get_window("hann", self.FRAME).astype(np.float32)
        self._pending = np.zeros((channels, 0), np.float32)
        self._power = np.zeros(self.FRAME // 2 + 1)
        self._frames = 0

    def add(self, block: np.ndarray) -> None:
        """Feed ``(channels, n)`` samples."""
        import scipy.fft  # noqa: PLC0415 (slow to load: on first use)

        pending = np.concatenate([self._pending, np.asarray(block, np.float32)], axis=1)
        hop = self.FRAME // 2
        count = (pending.shape[1] - self.FRAME) // hop + 1 if pending.shape[1] >= self.FRAME else 0
        windows = np.lib.stride_tricks.sliding_window_view(pending, self.FRAME, axis=1) if count else pending[:, :, None]
        frames = windows[:, : count * hop : hop]
        for first in range(0, count, self.BATCH):  # whole frames a batch at a time, in float32 (levels to 0.01 dB)
            spectrum = scipy.fft.rfft(frames[:, first : first + self.BATCH] * self._window, axis=2)
            self._power += (spectrum.real**2 + spectrum.imag**2).sum(axis=(0, 1), dtype=float)
        self._frames += count
        self._pending = pending[:, count * hop :]

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
