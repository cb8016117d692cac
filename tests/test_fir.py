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


@pytest.mark.parametrize("lead, tail", [(0, 3), (3, 0), (5, 2), (7, 1)])
def test_zero_partitions_at_either_end_are_skipped_and_change_nothing(lead: int, tail: int) -> None:
    """A filter whose first ``lead`` and last ``tail`` partitions (of 256) are zero in every output and input: both
    paths skip them (the long-FFT path convolves with the rest, ``lead`` partitions late), and the output is still
    the direct convolution, for any block sizes; after a change to a filter with other zero ends too."""
    rng = np.random.default_rng(11)
    p, parts = 256, 12
    h = np.zeros((3, 2, parts * p))
    h[:, :, lead * p : (parts - tail) * p - 5] = rng.standard_normal((3, 2, (parts - tail - lead) * p - 5)) * 0.1
    x = (0.3 * rng.standard_normal((2, 60000))).astype(np.float32)
    expected = reference(x, h)
    peak = np.abs(expected).max()
    for sizes in ([7], [256], [8192], [60000], [3, 20000, 1, 30000]):
        fir = MimoFir(h, partition_size=p)
        assert fir._support() == (lead * p, (parts - tail - lead) * p)
        assert np.abs(run(fir, x, sizes) - expected).max() <= 2e-6 * peak
    # a change (no fade) to a filter with no zero partition, then back: the skipped columns follow the filters
    g = rng.standard_normal((3, 2, parts * p)) * np.exp(-np.arange(parts * p) / 500) * 0.1
    fir, cut = MimoFir(h, partition_size=p), 30000
    first = fir.process(x[:, :cut])
    fir.set_filters(g)
    second = fir.process(x[:, cut:])
    got = np.concatenate([first, second], axis=1)[:, p:]
    before, after = reference(x, h), reference(x, g)
    assert np.abs(got[:, : cut - p] - before[:, : cut - p]).max() <= 2e-6 * peak
    assert np.abs(got[:, cut:] - after[:, cut : x.shape[1] - p]).max() <= 2e-6 * np.abs(after).max()
    # faded changes between filters with different zero ends (the fade runs both: the columns of either count)
    from soundstage.dsp.fir import CrossfadingFir

    k = np.zeros_like(h)
    k[:, :, (parts - lead - tail) // 2 * p : (parts - 1) * p] = g[:, :, : (parts - 1 - (parts - lead - tail) // 2) * p]
    fading, changes = CrossfadingFir(h, partition_size=p, fade_samples=1500), [20000, 24000, 41000]
    pieces, position = [], 0
    for change, filters in zip([*changes, x.shape[1]], [k, h, k, None], strict=True):
        pieces.append(fading.process(x[:, position:change]))
        position = change
        if filters is not None:
            fading.set_filters(filters)
    pieces.append(fading.process(np.zeros((2, p), np.float32)))
    got = np.concatenate(pieces, axis=1)[:, p : p + x.shape[1]]
    expected = faded(x, [h, k, h, k], changes, 1500, p)
    assert np.abs(got - expected).max() <= 2e-6 * np.abs(expected).max()


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


def faded(x: np.ndarray, filters: list[np.ndarray], changes: list[int], fade: int, p: int) -> np.ndarray:
    """What a crossfading engine must give, from direct convolutions (no engine code), latency removed: a
    change at input sample t fades from the filters heard to the new ones, linearly over ``fade`` samples,
    from the first output not yet computed on: that of input sample s = t - (t mod P) (the engine computes
    whole partitions; the input since s waits in its partial block)."""
    n = x.shape[1]
    heard = filters[0]
    out = reference(x, heard)
    for t, new in zip(changes, filters[1:], strict=True):
        s = t - t % p
        blend = heard  # the filters heard at sample s: a fade in progress there is mixed in the filter domain
        out_new = reference(x, new)
        ramp = np.clip((np.arange(n) - s + 1) / fade, 0.0, 1.0)
        ramp[:s] = 0.0
        out = np.where(np.arange(n) < s, out, reference(x, blend) + (out_new - reference(x, blend)) * ramp)
        heard = new
    return out


@pytest.mark.parametrize("sizes", [[7], [256], [3000], [1, 999, 4096]])
def test_crossfade_is_linear_from_the_first_new_partition_for_any_block_sizes(sizes: list[int]) -> None:
    """A change fades linearly over fade_samples from the first partition computed after it; blocks of any size
    give the same output within float32 (checked against direct convolutions, not the engine)."""
    from soundstage.dsp.fir import CrossfadingFir

    rng = np.random.default_rng(7)
    p, fade = 256, 1000
    h1 = rng.standard_normal((2, 3, 700)) * np.exp(-np.arange(700) / 150) * 0.3
    h2 = rng.standard_normal((2, 3, 450)) * np.exp(-np.arange(450) / 100) * 0.3  # shorter: the fade keeps 3 partitions
    x = (0.3 * rng.standard_normal((3, 20000))).astype(np.float32)
    change = 6000  # cut at a call boundary whatever the block sizes
    fir = CrossfadingFir(h1, partition_size=p, fade_samples=fade)
    pieces, position = [], 0
    while position < x.shape[1]:
        size = sizes[len(pieces) % len(sizes)]
        size = min(size, change - position) if position < change else size
        pieces.append(fir.process(x[:, position : position + size]))
        position += size
        if position == change:
            fir.set_filters(h2)
    pieces.append(fir.process(np.zeros((3, p), np.float32)))
    got = np.concatenate(pieces, axis=1)[:, p : p + x.shape[1]]
    expected = faded(x, [h1, h2], [change], fade, p)
    assert np.abs(got - expected).max() <= 2e-6 * np.abs(expected).max()


def test_a_change_during_a_fade_starts_from_where_the_fade_is() -> None:
    """A second change mid-fade fades from the blend heard at that point: the output stays continuous
    (no jump back to the first filters), within float32 of the direct convolutions of the blend."""
    from soundstage.dsp.fir import CrossfadingFir

    rng = np.random.default_rng(8)
    p, fade = 256, 2000
    h = [rng.standard_normal((1, 2, 900)) * np.exp(-np.arange(900) / 200) * 0.3 for _ in range(3)]
    x = (0.3 * rng.standard_normal((2, 16000))).astype(np.float32)
    fir = CrossfadingFir(h[0], partition_size=p, fade_samples=fade)
    first, second = 4000, 4900
    out = [fir.process(x[:, :first])]
    fir.set_filters(h[1])
    out.append(fir.process(x[:, first:second]))
    fir.set_filters(h[2])
    out.append(fir.process(x[:, second:]))
    out.append(fir.process(np.zeros((2, p), np.float32)))
    got = np.concatenate(out, axis=1)[:, p : p + x.shape[1]]
    s1, s2 = first - first % p, second - second % p
    w = (s2 - s1 + 1) / fade  # the first fade's weight at the first sample of the second
    y = [reference(x, f) for f in h]
    blend = reference(x, h[0] * (1 - w) + h[1] * w)
    n = np.arange(x.shape[1])
    r1 = np.clip((n - s1 + 1) / fade, 0.0, 1.0)
    r2 = np.clip((n - s2 + 1) / fade, 0.0, 1.0)
    expected = np.where(n < s1, y[0], np.where(n < s2, y[0] + (y[1] - y[0]) * r1, blend + (y[2] - blend) * r2))
    assert np.abs(got - expected).max() <= 2e-6 * np.abs(expected).max()
    jump = np.abs(np.diff(got[0, s2 - 3 : s2 + 3])).max()
    assert jump <= 4 * np.abs(np.diff(got[0, s2 - 200 : s2 - 3])).max()  # no step where the second change lands


def test_blend_is_the_weighted_sum_and_leaves_its_inputs() -> None:
    """The in-place BLAS blend equals numpy's weighted sum (to float32 rounding) and modifies no input."""
    from soundstage.dsp.fir import blend

    rng = np.random.default_rng(3)
    for dtype, tolerance in ((np.complex64, 1e-6), (np.float64, 1e-12)):
        shape = (5, 27, 513) if dtype == np.complex64 else (4, 7)
        arrays = [rng.standard_normal(shape).astype(dtype) for _ in range(4)]
        if dtype == np.complex64:
            arrays = [a + 1j * rng.standard_normal(shape).astype(np.float32) for a in arrays]
            arrays = [a.astype(np.complex64) for a in arrays]
        copies = [a.copy() for a in arrays]
        weights = [-0.0625, 0.5625, 0.5625, -0.0625]  # a cubic's weights halfway
        got = blend(arrays, weights)
        expected = sum(w * a.astype(np.complex128) for w, a in zip(weights, arrays, strict=True))
        assert got.dtype == dtype
        assert np.max(np.abs(got - expected)) <= tolerance * np.max(np.abs(expected))
        assert all(np.array_equal(a, c) for a, c in zip(arrays, copies, strict=True))


def test_a_fade_told_which_columns_changed_sounds_as_one_that_was_not() -> None:
    """``changed``: the old filters run over those columns only; changes mid-fade (their own columns) give
    the output of the plain fades, within float32 rounding."""
    from soundstage.dsp.fir import CrossfadingFir, partition_spectra

    rng = np.random.default_rng(11)
    p, inputs = 64, 3
    base = rng.standard_normal((4, inputs, 9 * p)) * np.exp(-np.arange(9 * p) / 200)
    columns = [(6, 20), (8, 14), (2, 25)]  # partition-major, inputs fastest
    spectra = [partition_spectra(base, p)]
    for first, last in columns:
        moved = spectra[-1].copy()
        moved[:, first:last] += (0.3 * rng.standard_normal(moved[:, first:last].shape)).astype(np.complex64)
        spectra.append(moved)
    x = rng.standard_normal((inputs, 40 * p)).astype(np.float32)
    bounds = [0, 7 * p, 10 * p, 13 * p, 40 * p]  # changes every 3 partitions, the fade is 5: each lands mid-fade
    outputs, spans = [], []
    for hinted in (False, True):
        fir = CrossfadingFir(base, partition_size=p, fade_samples=5 * p)
        pieces = [fir.process(x[:, bounds[0] : bounds[1]])]
        for k, (first, last) in enumerate(columns, start=1):
            fir.set_spectra(spectra[k], inputs, changed=(first, last) if hinted else None)
            spans.append(fir.engine._fade_columns)
            pieces.append(fir.process(x[:, bounds[k] : bounds[k + 1]]))
        outputs.append(np.concatenate(pieces, axis=1))
    assert spans == [(0, 27)] * 3 + [(6, 20), (6, 20), (2, 25)]  # the running fade's columns are kept in the next
    assert outputs[0].shape == outputs[1].shape == (4, 40 * p)
    assert np.abs(outputs[1] - outputs[0]).max() <= 1e-5 * np.abs(outputs[0]).max()
