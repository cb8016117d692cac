"""Tonal match: the device preview's octave balance is the stereo reference's on the design head (the A/B compares space)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from helpers import colored_copy
from soundstage import Spatializer
from soundstage.acoustics.profiles import load_profile
from soundstage.acoustics.timbre import EQ_HALF_TAPS, smooth_power
from soundstage.analysis.crosstalk import separation_db
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


def _personal_figures(sofa: str) -> tuple[dict[str, list[float]], float]:
    """The preview's octave balance and the canceller's mean separation (250 Hz-6.3 kHz), designed and heard on ``sofa``."""
    spatializer = Spatializer(hrtf=sofa)
    balance = tonal_balance(spatializer, BinauralMonitor(hrtf=sofa), SR)
    design = spatializer.canceller_design(SR)
    head = BinauralMonitor(hrtf=sofa).head(SR)
    _, separation = separation_db(design.impulse, design.delay_samples, SR, load_profile("studio-5", distance_m=2.0), head)
    return balance, float(separation.mean())


def test_on_the_listeners_own_head_the_preview_has_the_references_octave_balance(kemar_path: str) -> None:
    """Designed on KEMAR and heard on KEMAR (the personalized design): every octave 63 Hz-16 kHz within
    +-1.5 dB (the fidelity issue's target) for all three programs. Before the canceller left each measured
    head's common response alone, it inverted MIT KEMAR's measurement chain and the tonal match could not put
    it back within its +-10 dB: +2.9 dB at 63 Hz decorrelated, a 4 dB spread."""
    balance, _ = _personal_figures(kemar_path)
    for program in ("center", "decorrelated", "mixed"):
        values = np.array(balance[program])
        print(f"{program}: {values} dB")
        assert np.abs(values).max() <= 1.5, program


def test_a_sets_measurement_chain_does_not_reach_the_preview(kemar_path: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same head measured through another chain (:func:`helpers.colored_copy`): the personalized preview keeps the
    reference's octave balance (+-1.5 dB) and the canceller its separation (within 0.5 dB of the plain set's).
    A flat delivery inverted the chain: -4.3..+3.7 dB, and the effort limit spent at low frequencies."""
    colored = colored_copy(kemar_path, str(tmp_path / "colored.sofa"))
    plain_balance, plain_separation = _personal_figures(kemar_path)
    balance, separation = _personal_figures(colored)
    print(f"separation {separation:.2f} dB (plain set {plain_separation:.2f})")
    for program in ("center", "decorrelated", "mixed"):
        values = np.array(balance[program])
        print(f"{program}: {values} dB (plain set {plain_balance[program]})")
        assert np.abs(values).max() <= 1.5, program
    assert abs(separation - plain_separation) <= 0.5


def test_the_models_own_response_at_the_device_is_its_frontal_shadow() -> None:
    """:func:`head_response` on the design model (source straight ahead, 90 degrees from each ear): 0 dB at low
    frequencies, and at 8 kHz Brown & Duda's shadow filter at 90 degrees of incidence, computed here from its
    formula (``alpha = 1.05 + 0.95 cos(90/150 pi)``, ``|1 + j alpha w/2w0| / |1 + j w/2w0|``), within 0.3 dB;
    both ears alike."""
    from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S
    from soundstage.acoustics.head import HybridSphereHead
    from soundstage.acoustics.profiles import Listener
    from soundstage.acoustics.timbre import head_response

    frequencies = np.fft.rfftfreq(2048, 1 / SR)
    response = head_response(load_profile("studio-5", distance_m=2.0), frequencies, HybridSphereHead(), Listener())
    level = 20 * np.log10(np.abs(response[:, 0]))
    low = (frequencies >= 40) & (frequencies <= 120)  # the sphere scatters little there (ka < 0.2)
    alpha = 1.05 + 0.95 * np.cos(np.pi * 90 / 150)
    x = 2 * np.pi * 8000.0 / (2 * SPEED_OF_SOUND_M_S / 0.0875)
    shadow_db = 20 * np.log10(abs(1 + 1j * alpha * x) / abs(1 + 1j * x))
    at_8k = level[np.argmin(np.abs(frequencies - 8000.0))]
    print(f"40-120 Hz {level[low].min():+.2f}..{level[low].max():+.2f} dB; 8 kHz {at_8k:+.2f} dB (formula {shadow_db:+.2f})")
    assert np.abs(level[low]).max() <= 0.1
    assert abs(at_8k - shadow_db) <= 0.3
    assert np.allclose(response[:, 0], response[:, 1])
