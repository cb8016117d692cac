"""Virtualizer: ITD, ILD against KEMAR, flat ipsilateral path, streaming contract."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage import ChannelError
from soundstage.acoustics.geometry import direction
from soundstage.acoustics.head import RigidSphereHead, SphericalHead
from soundstage.acoustics.hrtf import HrtfSet
from soundstage.analysis import ild_db, itd_s
from soundstage.stages.virtualizer import Virtualizer, design_virtualizer

SR = 48000
OCTAVES = [125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0]


def ears_for_left_impulse(stage: Virtualizer, length: int = 16384) -> np.ndarray:
    x = np.zeros((2, length))
    x[0, 200] = 1.0
    return stage(x, SR)


@pytest.fixture(scope="module")
def kemar_ild(kemar_path: str) -> dict[float, float]:
    hrir = HrtfSet.from_sofa(kemar_path, sample_rate=SR).hrir(30.0)
    return dict(zip(OCTAVES, ild_db(hrir[0], hrir[1], SR, np.array(OCTAVES), fraction=1)))


def test_itd_at_30_degrees(kemar_path: str) -> None:
    """The head model's ITD is the exact sphere's (its phase delay at 500 Hz, where the ITD is judged); at the ears,
    cross-correlated over 100-1500 Hz, it is within 40 us of KEMAR's (issue 13) and well above Woodworth's (261.1 us
    for 8.75 cm at 30 deg, the high-frequency limit), which Brown & Duda's head keeps."""
    hrir = HrtfSet.from_sofa(kemar_path, sample_rate=SR).hrir(30.0)
    ears = ears_for_left_impulse(Virtualizer())
    itd = itd_s(ears[0], ears[1], SR) * 1e6
    design = design_virtualizer(SR).itd_s * 1e6
    kemar = itd_s(hrir[0], hrir[1], SR) * 1e6
    print(f"ITD at 30 deg: head model {itd:.1f} us (design {design:.1f}), KEMAR {kemar:.1f} us")
    at = RigidSphereHead().ear_responses(np.array([500.0]), direction(30.0)[None])[:, 0, 0]
    assert design == pytest.approx(np.angle(at[0] / at[1]) / (2 * np.pi * 500.0) * 1e6, abs=0.1)
    assert itd == pytest.approx(kemar, abs=40.0)
    assert itd > 0.0875 / 343 * (np.pi / 6 + 0.5) * 1e6 + 40.0
    assert design_virtualizer(SR, head=SphericalHead()).itd_s * 1e6 == pytest.approx(261.1, abs=0.1)
    assert Virtualizer(hrtf="brown-duda").hrtf == "brown-duda"


@pytest.mark.parametrize(
    ("center", "tolerance"),
    [
        (125.0, 3.5),
        (250.0, 3.5),
        (500.0, 3.5),
        (1000.0, 2.0),  # Brown & Duda's head: 3.2 dB short (the reason for the head model's sphere level below 1 kHz)
        (2000.0, 2.0),
        (4000.0, 2.0),
        (8000.0, 2.0),
    ],
)
def test_ild_follows_kemar_at_30_degrees(kemar_ild: dict[float, float], center: float, tolerance: float) -> None:
    ears = ears_for_left_impulse(Virtualizer())
    ild = float(ild_db(ears[0], ears[1], SR, np.array([center]), fraction=1)[0])
    assert ild == pytest.approx(kemar_ild[center], abs=tolerance)


def test_no_setting_of_the_spherical_head_meets_every_kemar_ild_band(kemar_ild: dict[float, float]) -> None:
    """Brown & Duda's head (``hrtf = "brown-duda"``, the default until the head model): over its two free parameters (head radius 5-12 cm,
    crossfeed 0.3-1), even choosing them on KEMAR, no setting with the ITD inside 250 +- 50 us keeps all seven
    octave ILDs inside their tolerances (+-3.5 dB below 1 kHz, +-2 dB from 1 kHz). Reported: the closest miss."""
    tolerance = np.array([3.5, 3.5, 3.5, 2.0, 2.0, 2.0, 2.0])
    kemar = np.array([kemar_ild[c] for c in OCTAVES])
    best = (np.inf, 0.0, 0.0)
    for radius in np.arange(0.05, 0.12001, 0.0025):
        design = design_virtualizer(SR, head=SphericalHead(radius_m=float(radius)))
        if abs(design.itd_s * 1e6 - 250.0) > 50.0:
            continue
        for crossfeed in np.arange(0.3, 1.0001, 0.025):
            filters = design.ear_filters(float(crossfeed))
            ild = ild_db(filters[0, 0], filters[1, 0], SR, np.array(OCTAVES), fraction=1)
            best = min(best, (float(np.max(np.abs(ild - kemar) - tolerance)), float(radius), float(crossfeed)))
    print(f"closest spherical head: radius {best[1]:.4f} m, crossfeed {best[2]:.3f}: misses a band by {best[0]:.2f} dB")
    assert best[0] > 0.0


def test_ipsilateral_path_is_flat() -> None:
    ears = ears_for_left_impulse(Virtualizer(crossfeed=1.0))
    spectrum = np.fft.rfft(ears[0])
    f = np.fft.rfftfreq(ears.shape[1], 1 / SR)
    band = (f >= 20) & (f <= 20000)
    level = 20 * np.log10(np.abs(spectrum[band]))
    assert level.max() <= 0.5 and level.min() >= -0.5
    assert int(np.argmax(np.abs(ears[0]))) == 200  # latency compensated


def test_no_crossfeed_is_identity(noise: np.ndarray) -> None:
    out = Virtualizer(crossfeed=0.0)(noise, SR)
    np.testing.assert_allclose(out, noise, atol=1e-7)


def test_block_size_invariance(noise: np.ndarray) -> None:
    reference = Virtualizer(azimuth_deg=40.0)(noise, SR)
    for buffer_size in (7, 64, 256, 8192):
        assert np.abs(Virtualizer(azimuth_deg=40.0)(noise, SR, buffer_size=buffer_size) - reference).max() <= 1e-6
    stage = Virtualizer(azimuth_deg=40.0)
    cuts = [0, 3, 1000, 1001, 9000, noise.shape[1]]
    parts = [stage.process(noise[:, a:b], SR, buffer_size=256, reset=False) for a, b in zip(cuts, cuts[1:])]
    assert np.abs(np.concatenate([*parts, stage.flush()], axis=1) - reference).max() <= 1e-6


def test_changes_while_running_do_not_click() -> None:
    t = np.arange(SR) / SR
    x = np.stack([np.sin(2 * np.pi * 300 * t), np.zeros_like(t)]).astype(np.float32)
    stage = Virtualizer()
    first = stage.process(x[:, : SR // 2], SR, reset=False)
    stage.azimuth_deg = 60.0
    stage.crossfeed = 0.5
    second = stage.process(x[:, SR // 2 :], SR, reset=False)
    right = np.concatenate([first[1], second[1]])
    # a 300 Hz sine at these levels changes by at most ~2*pi*300/48000 per sample; a switch would jump
    steady = np.abs(np.diff(right[2000:])).max()
    assert steady < 2 * np.pi * 300 / SR * 1.05


def test_contract() -> None:
    stage = Virtualizer()
    assert stage(np.zeros((2, 1)), SR).shape == (2, 1)
    assert stage(np.zeros((2, 100), np.float64), SR).dtype == np.float32
    with pytest.raises(ChannelError, match="Virtualizer expects 2 input channels, got 1"):
        stage(np.zeros(100), SR)
    assert repr(Virtualizer(azimuth_deg=45.0)) == "<Virtualizer azimuth_deg=45.0>"


def test_designed_on_a_measured_set_it_carries_that_heads_cues(kemar_path: str, kemar_ild: dict[float, float], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """hrtf = a SOFA file (a personalized head): the crossfeed follows that head's contra/ipsi ratio.

    The ipsilateral path stays flat, so the band ILD is -10 log10(mean |Hc/Hi|^2) rather than KEMAR's
    10 log10(mean |Hi|^2 / mean |Hc|^2): the two differ where the ipsilateral ear has peaks and
    notches inside a band (1.2 dB in the 2 kHz octave), hence 1.5 dB.
    """
    from soundstage import Chain, load_chain, save_chain
    from soundstage.acoustics.hrtf import HrtfError

    stage = Virtualizer(hrtf=kemar_path)
    ears = ears_for_left_impulse(stage)
    ild = dict(zip(OCTAVES, ild_db(ears[0], ears[1], SR, np.array(OCTAVES), fraction=1)))
    for center in OCTAVES[1:]:  # a 256-tap crossfeed does not resolve the 125 Hz octave
        assert ild[center] == pytest.approx(kemar_ild[center], abs=1.5)
    hrir = HrtfSet.from_sofa(kemar_path, sample_rate=SR).hrir(30.0)
    assert itd_s(ears[0], ears[1], SR) * 1e6 == pytest.approx(itd_s(hrir[0], hrir[1], SR) * 1e6, abs=25.0)
    level = 20 * np.log10(np.abs(np.fft.rfft(ears[0])[1:]))
    assert np.ptp(level) <= 1e-3  # the ipsilateral path is still a pure delay
    save_chain(Chain([stage], names=["virtual"]), tmp_path / "v.toml")
    assert load_chain(tmp_path / "v.toml")["virtual"].hrtf == kemar_path
    assert repr(stage) == f"<Virtualizer hrtf={kemar_path!r}>"
    with pytest.raises(HrtfError, match=r"SOFA file '/no/such.sofa' does not exist"):
        Virtualizer(hrtf="/no/such.sofa")
