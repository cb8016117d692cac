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


def test_it_is_the_exact_sphere_below_and_brown_and_duda_above_the_octave() -> None:
    low = np.geomspace(20.0, BLEND_HZ[0], 40)
    high = np.geomspace(BLEND_HZ[1], 20000.0, 40)
    head = BlendedSphereHead(radius_m=0.09)
    np.testing.assert_allclose(
        head.ear_responses(low, DIRECTIONS), RigidSphereHead(0.09).ear_responses(low, DIRECTIONS), rtol=1e-12
    )
    np.testing.assert_allclose(
        head.ear_responses(high, DIRECTIONS), SphericalHead(0.09).ear_responses(high, DIRECTIONS), rtol=1e-12
    )


def test_the_crossfade_has_no_dip() -> None:
    """Between 1 and 2 kHz the two models' delays differ by up to 72 us; their blend's level stays within 0.2 dB
    of the quieter of the two, for every direction around the head and both ears."""
    f = np.geomspace(*BLEND_HZ, 60)
    sphere, shadow = RigidSphereHead().ear_responses(f, DIRECTIONS), SphericalHead().ear_responses(f, DIRECTIONS)
    blend = BlendedSphereHead().ear_responses(f, DIRECTIONS)
    delay_us = np.abs(np.angle(sphere / shadow)) / (2 * np.pi * f) * 1e6
    dip_db = 20 * np.log10(np.abs(blend) / np.minimum(np.abs(sphere), np.abs(shadow)))
    print(f"largest delay difference {delay_us.max():.0f} us; blend at worst {dip_db.min():+.2f} dB re the quieter model")
    assert delay_us.max() > 30.0  # the two differ enough that a careless blend could dip
    assert dip_db.min() >= -0.2


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


def test_its_phase_crossfade_puts_the_device_paths_apart_so_it_is_not_the_default() -> None:
    """The limit that keeps it from being the default: through the device chain heard on the same head, center
    content (the beam, not head-compensated) and left content (the canceller, compensated on this head) arrive
    more than a sample apart in 0.5-2 kHz (Brown & Duda: within one, tests/test_device_chain.py)."""
    n = 48000
    center, left = np.zeros((2, n)), np.zeros((2, n))
    center[:, 12000] = 1.0
    left[0, 12000] = 1.0
    apart = {}
    for hrtf in ("blended-sphere", "model"):
        chain = Chain([Spatializer(hrtf=hrtf), BinauralMonitor(hrtf=hrtf)])
        ears_center, ears_left = chain(center, SR), chain(left, SR)
        apart[hrtf] = max(abs(group_delay_samples(ears_center[ear]) - group_delay_samples(ears_left[0])) for ear in range(2))
    print(
        f"center vs left content at the ears, 0.5-2 kHz: {apart['blended-sphere']:.2f} samples apart (Brown & Duda {apart['model']:.2f})"
    )
    assert apart["blended-sphere"] > 1.5 and apart["model"] <= 1.0
