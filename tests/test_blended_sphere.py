"""The blended-sphere head model: the exact sphere below 1 kHz, Brown & Duda's head above 2 kHz (acoustics/head.py)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import group_delay_samples
from soundstage import BinauralMonitor, Chain, CrosstalkCanceller, Spatializer, Virtualizer, load_chain, save_chain
from soundstage.acoustics.geometry import direction
from soundstage.acoustics.head import BLEND_HZ, BlendedSphereHead, RigidSphereHead, SphericalHead
from soundstage.acoustics.hrtf import HrtfSet
from soundstage.analysis import ild_db, itd_s
from soundstage.stages.virtualizer import design_virtualizer

SR = 48000.0
OCTAVES = np.array([125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0])
DIRECTIONS = np.array([direction(float(azimuth)) for azimuth in range(-180, 180, 5)])


def test_its_level_is_the_exact_spheres_below_and_brown_and_dudas_above_and_its_phase_brown_and_dudas() -> None:
    low = np.geomspace(20.0, BLEND_HZ[0], 40)
    high = np.geomspace(BLEND_HZ[1], 20000.0, 40)
    everywhere = np.geomspace(20.0, 20000.0, 200)
    head = BlendedSphereHead(radius_m=0.09)
    sphere, shadow = RigidSphereHead(0.09), SphericalHead(0.09)
    np.testing.assert_allclose(
        np.abs(head.ear_responses(low, DIRECTIONS)), np.abs(sphere.ear_responses(low, DIRECTIONS)), rtol=1e-9
    )
    np.testing.assert_allclose(head.ear_responses(high, DIRECTIONS), shadow.ear_responses(high, DIRECTIONS), rtol=1e-12)
    phase_error = np.angle(head.ear_responses(everywhere, DIRECTIONS) / shadow.ear_responses(everywhere, DIRECTIONS))
    assert np.abs(phase_error).max() < 1e-9  # the smooth Woodworth timing of Brown & Duda at every frequency


def test_between_the_two_its_level_stays_between_theirs() -> None:
    """Over 1-2 kHz the level crossfades in dB: never outside the two models' levels, for every direction and ear."""
    f = np.geomspace(*BLEND_HZ, 60)
    sphere = np.abs(RigidSphereHead().ear_responses(f, DIRECTIONS))
    shadow = np.abs(SphericalHead().ear_responses(f, DIRECTIONS))
    blend = np.abs(BlendedSphereHead().ear_responses(f, DIRECTIONS))
    assert np.all(blend >= np.minimum(sphere, shadow) * (1 - 1e-12)) and np.all(blend <= np.maximum(sphere, shadow) * (1 + 1e-12))
    assert np.abs(20 * np.log10(sphere / shadow)).max() > 1.0  # the two differ there: the test can fail


@pytest.fixture(scope="module")
def kemar(kemar_path: str) -> HrtfSet:
    return HrtfSet.from_sofa(kemar_path, sample_rate=SR)


def test_the_virtualizer_on_it_meets_kemars_ild_and_itd_at_30_degrees(kemar: HrtfSet) -> None:
    """Issue 13's virtualizer figures, designed on the model and evaluated on KEMAR: octave ILD within 2 dB from
    1 kHz and 3 dB below, ITD within 285 +- 40 us (Woodworth's ITD: the exact sphere's low-frequency one is longer)."""
    left, right = kemar.hrir(30.0)
    measured = ild_db(left, right, SR, OCTAVES, fraction=1)
    design = design_virtualizer(SR, head=BlendedSphereHead())
    ears = design.ear_filters(1.0)
    virtual = ild_db(ears[0, 0], ears[1, 0], SR, OCTAVES, fraction=1)
    brown_duda = design_virtualizer(SR, head=SphericalHead()).ear_filters(1.0)
    before = ild_db(brown_duda[0, 0], brown_duda[1, 0], SR, OCTAVES, fraction=1)
    itd = itd_s(ears[0, 0], ears[1, 0], SR) * 1e6
    print(
        f"octave ILD minus KEMAR's: blended {np.round(virtual - measured, 1)}, Brown & Duda {np.round(before - measured, 1)}; ITD {itd:.0f} us"
    )
    tolerance = np.where(OCTAVES >= 1000.0, 2.0, 3.0)
    assert np.all(np.abs(virtual - measured) <= tolerance)
    assert abs(before[3] - measured[3]) > 2.0  # Brown & Duda alone misses the 1 kHz octave: the reason for the blend
    assert abs(itd - 285.0) <= 40.0


def test_stages_take_it_and_chain_files_keep_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    chain = Chain([Virtualizer(hrtf="blended-sphere"), CrosstalkCanceller(hrtf="blended-sphere")])
    save_chain(chain, tmp_path / "blend.toml")
    assert 'hrtf = "blended-sphere"' in (tmp_path / "blend.toml").read_text()
    audio = np.random.default_rng(0).standard_normal((2, 9600)).astype(np.float32) * 0.1
    assert np.array_equal(chain(audio, 48000), load_chain(tmp_path / "blend.toml")(audio, 48000))
    assert Spatializer(hrtf="blended-sphere")(audio, 48000).shape == (5, 9600)


def test_through_the_device_chain_center_and_sides_arrive_together_on_it() -> None:
    """With Brown & Duda's timing the beam (not head-compensated) and the canceller's paths (compensated on this
    head) arrive together at the ears in 0.5-2 kHz, as on Brown & Duda (tests/test_device_chain.py): within a sample.
    (A complex crossfade of the two models put them 2.3 samples apart: the sphere's phase ripples at 1-2 kHz.)"""
    n = 48000
    center, left = np.zeros((2, n)), np.zeros((2, n))
    center[:, 12000] = 1.0
    left[0, 12000] = 1.0
    chain = Chain([Spatializer(hrtf="blended-sphere"), BinauralMonitor(hrtf="blended-sphere")])
    ears_center, ears_left = chain(center, SR), chain(left, SR)
    apart = max(abs(group_delay_samples(ears_center[ear]) - group_delay_samples(ears_left[0])) for ear in range(2))
    print(f"center vs left content at the ears, 0.5-2 kHz: {apart:.2f} samples apart")
    assert apart <= 1.0
