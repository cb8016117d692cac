"""The true-peak meter: streamed in any blocks it gives the peak of the whole signal 4x oversampled, exactly.

The reference is written here from the definition (zero-stuff by 4, the same Kaiser interpolation
filter, np.convolve of the whole signal), not from the meter's code: its polyphase float32
interpolation and its skipping of blocks that cannot beat the peak so far must not change the figure.
"""

from __future__ import annotations

import numpy as np
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from soundstage.analysis.loudness import TruePeakMeter


def oversampled_peak(x: np.ndarray) -> float:
    taps = TruePeakMeter.UP * TruePeakMeter.TAPS_PER_PHASE
    h = scipy.signal.firwin(taps, 1.0 / TruePeakMeter.UP, window=("kaiser", 8.0)) * TruePeakMeter.UP
    stuffed = np.zeros((x.shape[0], x.shape[1] * TruePeakMeter.UP))
    stuffed[:, :: TruePeakMeter.UP] = x
    peak = max(float(np.abs(np.convolve(channel, h)).max()) for channel in stuffed)
    return max(peak, float(np.abs(x).max()))


@given(
    seed=st.integers(0, 2**31),
    blocks=st.lists(st.integers(1, 5000), min_size=1, max_size=12),
    decay=st.floats(0.0, 8.0),
)
@settings(max_examples=60, deadline=None)
def test_streamed_peak_is_the_oversampled_peak_of_the_whole(seed: int, blocks: list[int], decay: float) -> None:
    rng = np.random.default_rng(seed)
    n = sum(blocks)
    envelope = np.exp(-decay * np.arange(n) / n)  # falling: later blocks are skipped, and must be rightly
    x = (0.5 * rng.standard_normal((2, n)) * envelope).astype(np.float32)
    x[:, rng.integers(0, n)] = rng.choice([-0.99, 0.99])  # a lone full-scale sample somewhere
    meter = TruePeakMeter(2)
    start = 0
    for size in blocks:
        meter.add(x[:, start : start + size])
        start += size
    meter.flush()
    expected = oversampled_peak(x.astype(np.float64))
    assert abs(meter.peak - expected) <= 2e-6 * expected  # float32 interpolation


def test_intersample_peak_above_the_samples_is_found() -> None:
    """A sine at fs/4 sampled at 45 degrees: every sample at 0.707 of the true peak of 1."""
    n = np.arange(4800)
    x = np.sin(2 * np.pi * n / 4 + np.pi / 4)[None].astype(np.float32)
    meter = TruePeakMeter(1)
    meter.add(x)
    meter.flush()
    assert abs(20 * np.log10(meter.peak)) <= 0.1  # 0 dBTP within 0.1 dB (the filter at 12 kHz), the samples at -3.01 dB
    assert abs(20 * np.log10(meter.sample_peak) + 3.01) <= 0.01
