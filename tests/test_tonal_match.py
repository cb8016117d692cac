"""Tonal match: the device preview's octave balance is the stereo reference's on the design head (the A/B compares space)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from soundstage import Spatializer
from soundstage.acoustics.timbre import EQ_HALF_TAPS, smooth_power
from soundstage.analysis.device import tonal_balance
from soundstage.stages.monitors import BinauralMonitor

SR = 48000.0
KEMAR = "/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa"


def test_smoothing_keeps_a_flat_spectrum_and_averages_a_comb() -> None:
    frequencies = np.fft.rfftfreq(8192, 1 / SR)
    assert np.allclose(smooth_power(frequencies, np.ones_like(frequencies)), 1.0)
    comb = np.abs(1 + np.exp(-2j * np.pi * frequencies * 0.005)) ** 2  # teeth every 200 Hz, mean power 2
    smoothed = smooth_power(frequencies, comb)
    band = (frequencies > 3000) & (frequencies < 16000)  # 3 or more teeth per 1/3 octave there
    assert np.abs(smoothed[band] - 2.0).max() <= 0.3


@pytest.mark.parametrize("distance_m", [1.0, 2.0])
def test_on_the_design_head_the_preview_has_the_references_octave_balance(distance_m: float) -> None:
    """Pink noise center-panned, decorrelated and mixed: every octave 63 Hz-16 kHz within 1 dB (mean removed)."""
    balance = tonal_balance(Spatializer(distance_m=distance_m), BinauralMonitor(distance_m=distance_m), SR)
    for program in ("center", "decorrelated", "mixed"):
        values = np.array(balance[program])
        print(f"{distance_m:g} m {program}: {values} dB")
        assert np.abs(values).max() <= 1.0, program


def test_the_match_adds_its_latency_to_every_path_alike() -> None:
    """An impulse in both channels comes out at the reported latency: the EQ delays L'/R' and C together."""
    device = Spatializer()
    plain = Spatializer()
    plain.upmix.center_amount = 0.0  # all of it through L'/R'
    for stage in (device, plain):
        impulse = np.zeros((2, 24000), np.float32)
        impulse[:, 1000] = 1.0
        out = stage(impulse, SR)
        peak = int(np.argmax(np.abs(out).sum(axis=0)))
        print(f"peak at {peak} (input 1000, latency {stage.latency_samples}, of which the match {EQ_HALF_TAPS})")
        assert abs(peak - 1000) <= 48  # aligned to the input within 1 ms (the latency is compensated)


@pytest.mark.skipif(not os.path.exists(KEMAR), reason="needs the MIT KEMAR set (Debian: apt-get install libmysofa1)")
def test_on_kemar_the_match_narrows_the_spread() -> None:
    """Designed on the model, heard on KEMAR: the decorrelated spread is under the unmatched design's 6.2 dB."""
    balance = tonal_balance(Spatializer(), BinauralMonitor(hrtf=KEMAR), SR)
    spreads = {p: max(balance[p]) - min(balance[p]) for p in ("center", "decorrelated", "mixed")}
    print(f"KEMAR spreads: {spreads}")
    assert spreads["decorrelated"] <= 5.0
