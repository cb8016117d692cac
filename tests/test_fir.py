"""MimoFir: exact MIMO convolution, block-size independent, reports its latency."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from soundstage.dsp.fir import MimoFir


def reference(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = x.shape[1]
    return np.stack(
        [sum(scipy.signal.oaconvolve(x[i].astype(np.float64), h[o, i])[:n] for i in range(h.shape[1])) for o in range(h.shape[0])]
    )


def run(fir: MimoFir, x: np.ndarray, sizes: list[int]) -> np.ndarray:
    pieces, position = [], 0
    while position < x.shape[1]:
        size = sizes[len(pieces) % len(sizes)]
        pieces.append(fir.process(x[:, position : position + size]))
        position += size
    pieces.append(fir.process(np.zeros((x.shape[0], fir.latency_samples), np.float32)))
    return np.concatenate(pieces, axis=1)[:, fir.latency_samples : fir.latency_samples + x.shape[1]]


@pytest.mark.parametrize("partition", [64, 512, 1000])
def test_equals_direct_convolution_for_any_block_sizes(partition: int) -> None:
    rng = np.random.default_rng(1)
    h = rng.standard_normal((5, 2, 2048)) * np.exp(-np.arange(2048) / 300) * 0.3
    x = (0.3 * rng.standard_normal((2, 70000))).astype(np.float32)
    expected = reference(x, h)
    results = [
        run(MimoFir(h, partition_size=partition), x, sizes) for sizes in ([7], [256], [8192], [70000], [3, 5000, 1, 40000])
    ]
    peak = np.abs(expected).max()
    for result in results:
        assert np.abs(result - expected).max() <= 2e-6 * peak  # float32 spectra
        assert np.abs(result - results[0]).max() <= 1e-6 * peak  # block-size invariance (float32 spectra)
    assert MimoFir(h, partition_size=partition).latency_samples == partition


def test_impulse_response_and_latency() -> None:
    h = np.zeros((2, 1, 5))
    h[0, 0, 0] = 1.0
    h[1, 0, 4] = -0.5
    fir = MimoFir(h, partition_size=8)
    x = np.zeros((1, 64), np.float32)
    x[0, 10] = 1.0
    y = fir.process(x)
    assert y.shape == (2, 64)
    assert int(np.argmax(y[0])) == 18 and y[0, 18] == pytest.approx(1.0, abs=1e-6)
    assert int(np.argmin(y[1])) == 22 and y[1, 22] == pytest.approx(-0.5, abs=1e-6)


def test_filter_change_keeps_history_and_reset_clears() -> None:
    rng = np.random.default_rng(2)
    h1, h2 = rng.standard_normal((1, 2, 300)), rng.standard_normal((1, 2, 300))
    x = rng.standard_normal((2, 4096)).astype(np.float32)
    fir = MimoFir(h1, partition_size=128)
    fir.process(x[:, :2048])
    fir.set_filters(h2)
    tail = fir.process(x[:, 2048:])
    expected = reference(x, h2)[:, 2048 - 128 : 4096 - 128]  # after the switch, h2 applies to the whole history
    assert np.abs(tail[:, 128 + 300 :] - expected[:, 128 + 300 :]).max() < 1e-4
    fir.reset()
    again = fir.process(x)
    assert np.abs(again[:, 128:] - reference(x, h2)[:, : 4096 - 128]).max() < 1e-4
    with pytest.raises(ValueError, match=r"filters are 2x2, the engine runs 1x2"):
        fir.set_filters(np.zeros((2, 2, 10)))
