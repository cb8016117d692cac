"""Align: per-channel delays (exact samples at several rates), the alignment design, streaming contract, chain files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from soundstage import Align, Chain, ChannelError, ParameterError, design_alignment, load_chain, save_chain


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_impulses_move_by_the_delays(rate: int) -> None:
    x = np.zeros((3, rate // 10), np.float32)
    x[:, 100] = 1.0
    out = Align(delays_ms=[0.0, 1.0, 2.5])(x, rate)
    assert [int(np.argmax(channel)) for channel in out] == [100, 100 + round(rate * 0.001), 100 + round(rate * 0.0025)]
    assert out.shape == x.shape and np.allclose(out.max(axis=1), 1.0)


def test_design_alignment_makes_paths_arrive_together() -> None:
    """Canceller path: 1024 samples + 1.9125 m; beam path: 512 samples + 2.0 m (the center, 8.75 cm further)."""
    rate = 48000
    delays = design_alignment([1024, 512], [1.9125, 2.0], rate)
    arrivals = [1024 + delays[0] + 1.9125 / 343 * rate, 512 + delays[1] + 2.0 / 343 * rate]
    assert delays[0] == 0 and abs(arrivals[0] - arrivals[1]) <= 0.5  # within half a sample
    with pytest.raises(ParameterError, match="2 latencies but 1 distances"):
        design_alignment([1, 2], [1.0], rate)


def test_block_size_invariance(noise: np.ndarray) -> None:
    stage = Align(delays_ms=[0.3, 7.0])
    reference = stage(noise, 48000)
    for buffer_size in (7, 64, 256, 8192):
        assert np.array_equal(Align(delays_ms=[0.3, 7.0])(noise, 48000, buffer_size=buffer_size), reference)
    cuts = [0, 1, 333, 334, 9000, noise.shape[1]]
    parts = [stage.process(noise[:, a:b], 48000, reset=False) for a, b in zip(cuts, cuts[1:])]
    assert np.array_equal(np.concatenate([*parts, stage.flush()], axis=1), reference)


def test_contract_errors_and_chain_file(tmp_path: Path) -> None:
    stage = Align(delays_ms=[1.0, 0.0])
    assert stage(np.zeros((2, 1)), 48000).shape == (2, 1)
    assert stage(np.ones((2, 10), np.float64), 48000).dtype == np.float32
    with pytest.raises(
        ChannelError, match=r"Align has 2 delays \(delays_ms\) but gets 1 channel\(s\); give one delay per channel"
    ):
        stage(np.zeros(100), 48000)
    with pytest.raises(ParameterError, match=r"delays_ms=\[1.0, -2.0\] must be a list of delays in 0..10000 ms"):
        Align(delays_ms=[1.0, -2.0])
    assert repr(stage) == "<Align delays_ms=[1.0, 0.0]>"
    save_chain(Chain([stage], names=["align"]), tmp_path / "align.toml")
    assert load_chain(tmp_path / "align.toml")["align"].delays_ms == [1.0, 0.0]
