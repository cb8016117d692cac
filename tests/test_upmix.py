"""Upmix: what goes to the center, exact fold-down, a realistic mixture, streaming contract."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage import Upmix
from soundstage.stages.upmix import center_components

SR = 48000
N = SR * 3
T = np.arange(N) / SR


def harmonic(f0: float, vibrato_hz: float, seed: int, partials: int = 12) -> np.ndarray:
    """A voice-like (or instrument-like) harmonic tone with vibrato and a slow level swell."""
    rng = np.random.default_rng(seed)
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.012 * np.sin(2 * np.pi * vibrato_hz * T))) / SR
    tone = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, partials + 1))
    return tone * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * T + seed))


def energy_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(np.asarray(x, float) ** 2) + 1e-30))


def upmix(left: np.ndarray, right: np.ndarray, **parameters: float) -> np.ndarray:
    return Upmix(**parameters)(np.stack([left, right]), SR)


SOURCE = harmonic(220.0, 5.0, 1)


def test_hard_panned_source_stays_out_of_the_center() -> None:
    out = upmix(SOURCE, np.zeros(N))
    print(f"hard-left source in C: {energy_db(out[2]) - energy_db(SOURCE):.1f} dB")
    assert energy_db(out[2]) - energy_db(SOURCE) <= -40.0


def test_source_panned_70_30_stays_out_of_the_center() -> None:
    out = upmix(0.7 * SOURCE, 0.3 * SOURCE)
    assert 20 * np.log10(0.7 / 0.3) == pytest.approx(7.4, abs=0.05)
    print(f"70/30 source in C: {energy_db(out[2]) - energy_db(np.hypot(0.7, 0.3) * SOURCE):.1f} dB")
    assert energy_db(out[2]) - energy_db(np.hypot(0.7, 0.3) * SOURCE) <= -20.0


def test_center_source_goes_to_the_center() -> None:
    out = upmix(SOURCE, SOURCE)
    print(
        f"center source: C {energy_db(out[2]) - energy_db(SOURCE):+.3f} dB, "
        f"left in L'/R' {max(energy_db(out[0]), energy_db(out[1])) - energy_db(SOURCE):.1f} dB"
    )
    assert energy_db(out[2]) - energy_db(SOURCE) == pytest.approx(0.0, abs=0.5)
    assert energy_db(out[0]) - energy_db(SOURCE) <= -30.0 and energy_db(out[1]) - energy_db(SOURCE) <= -30.0


@pytest.mark.parametrize("settings", [{}, {"center_amount": 0.4, "center_width_db": 8.0, "smoothing_ms": 10.0}])
def test_fold_down_is_exact(settings: dict[str, float]) -> None:
    rng = np.random.default_rng(5)
    left = rng.standard_normal(N) * 0.3
    right = 0.6 * left + rng.standard_normal(N) * 0.2
    out = upmix(left, right, **settings)
    print(f"fold-down residual: {energy_db(out[0] + out[2] - left) - energy_db(left):.1f} dB")
    assert energy_db(out[0] + out[2] - left) - energy_db(left) <= -60.0
    assert energy_db(out[1] + out[2] - right) - energy_db(right) <= -60.0


def test_mixture_voice_instruments_and_ambience() -> None:
    """Center voice + two equal hard-panned instruments + decorrelated ambience at -10 dB."""
    voice = harmonic(200.0, 5.5, 3, partials=20)
    left_instrument, right_instrument = harmonic(330.0, 0.3, 4), harmonic(415.0, 0.2, 5)
    left_instrument *= np.sqrt(np.sum(voice**2) / np.sum(left_instrument**2))
    right_instrument *= np.sqrt(np.sum(voice**2) / np.sum(right_instrument**2))
    rng = np.random.default_rng(6)
    ambience = rng.standard_normal((2, N))
    ambience *= np.sqrt(np.sum(voice**2) / np.sum(ambience[0] ** 2)) * 10 ** (-10 / 20)
    parts = [np.stack([voice, voice]), np.stack([left_instrument, 0 * T]), np.stack([0 * T, right_instrument]), ambience]
    mixture = sum(parts)
    voice_c, left_c, right_c, ambience_c = center_components(mixture, parts, SR)
    # the parts' centers add up to what the stage itself extracts from the mixture
    whole = Upmix()(mixture, SR)[2]
    assert energy_db(voice_c + left_c + right_c + ambience_c - whole) - energy_db(whole) <= -60.0
    print(
        f"mixture: center SIR {energy_db(voice_c) - energy_db(left_c + right_c + ambience_c):.1f} dB, "
        f"voice loss {energy_db(voice) - energy_db(voice_c):.1f} dB, "
        f"ambience in C {energy_db(ambience_c) - energy_db(ambience[0]):.1f} dB re its input"
    )
    assert energy_db(voice_c) - energy_db(left_c + right_c + ambience_c) >= 15.0  # center signal-to-interference
    assert energy_db(voice) - energy_db(voice_c) <= 5.0  # voice loss
    assert energy_db(ambience_c) - energy_db(ambience[0]) <= -10.0  # ambience in the center re its input


def test_band_limits_and_amount() -> None:
    low = np.sin(2 * np.pi * 50 * T)
    assert energy_db(upmix(low, low)[2]) - energy_db(low) <= -30.0  # below low_hz: stays in L'/R'
    assert energy_db(upmix(SOURCE, SOURCE, center_amount=0.5)[2]) - energy_db(SOURCE) == pytest.approx(-6.02, abs=0.2)


def test_block_size_invariance(noise: np.ndarray) -> None:
    stereo = np.stack([noise[0] + 0.5 * noise[1], noise[1] + 0.5 * noise[0]])
    reference = Upmix()(stereo, SR)
    for buffer_size in (7, 64, 256, 8192):
        assert np.abs(Upmix()(stereo, SR, buffer_size=buffer_size) - reference).max() <= 1e-6
    stage = Upmix()
    cuts = [0, 3, 700, 701, 9000, stereo.shape[1]]
    parts = [stage.process(stereo[:, a:b], SR, buffer_size=300, reset=False) for a, b in zip(cuts, cuts[1:])]
    assert np.abs(np.concatenate([*parts, stage.flush()], axis=1) - reference).max() <= 1e-6


def test_contract() -> None:
    stage = Upmix(center_width_db=6.0)
    assert stage.latency_samples == 2048 and stage.output_channels_for(2) == 3
    assert stage(np.zeros((2, 1)), SR).shape == (3, 1)
    assert repr(stage) == "<Upmix center_width_db=6.0>"
