"""The device chain end to end, on the measured head (MIT KEMAR): width, phantom center, zone, depth."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage import BinauralMonitor, Chain, Spatializer, StereoReference
from soundstage.acoustics.head import FreeField, HybridSphereHead, SphericalHead
from soundstage.acoustics.profiles import Listener, load_profile
from soundstage.acoustics.transfer import transfer_matrix
from soundstage.analysis import ild_db, itd_s
from soundstage.analysis.crosstalk import separation_db
from soundstage.stages.beamformer import design_beamformer
from soundstage.stages.crosstalk import design_crosstalk_canceller

SR = 48000
BANDS_1_4K = np.array([1000.0, 1260.0, 1580.0, 2000.0, 2510.0, 3160.0, 3980.0])


@pytest.fixture(scope="module")
def source() -> np.ndarray:
    return (0.3 * np.random.default_rng(0).standard_normal(2 * SR)).astype(np.float32)


def cues(render: object, stereo: np.ndarray) -> tuple[float, float]:
    ears = render(stereo, SR)[:, 4000:-4000]  # type: ignore[operator]
    return itd_s(ears[0], ears[1], SR) * 1e6, float(np.mean(ild_db(ears[0], ears[1], SR, BANDS_1_4K)))


def test_width_hard_left_moves_toward_the_stereo_reference(kemar_path: str, source: np.ndarray) -> None:
    hard_left = np.stack([source, 0 * source])
    device_itd, device_ild = cues(Chain([Spatializer(), BinauralMonitor(hrtf=kemar_path)]), hard_left)
    reference_itd, reference_ild = cues(StereoReference(hrtf=kemar_path), hard_left)
    monitor = BinauralMonitor(hrtf=kemar_path)

    def plain(stereo: np.ndarray, rate: float) -> np.ndarray:  # the two side drivers, no processing
        silent = np.zeros_like(stereo[0])
        return monitor(np.stack([silent, stereo[0], stereo[1], silent, silent]), rate)

    plain_itd, plain_ild = cues(plain, hard_left)
    assert device_itd - plain_itd >= 0.5 * (reference_itd - plain_itd)
    assert device_ild - plain_ild >= 0.5 * (reference_ild - plain_ild)
    assert abs(device_itd - reference_itd) <= 60.0
    assert abs(device_ild - reference_ild) <= 3.0


def test_phantom_center_holds(kemar_path: str, source: np.ndarray) -> None:
    itd, ild = cues(Chain([Spatializer(), BinauralMonitor(hrtf=kemar_path)]), np.stack([source, source]))
    assert abs(itd) <= 20.0 and abs(ild) <= 1.0


@pytest.mark.parametrize("distance_m", [1.0, 2.0, 3.0])
def test_center_beam_level_45_degrees_off_axis(distance_m: float) -> None:
    design = design_beamformer(load_profile("studio-5"), sample_rate=SR)
    profile = load_profile("studio-5", distance_m=distance_m)
    band = (design.frequencies >= 300) & (design.frequencies <= 4000)
    levels = []
    for angle in (0.0, 45.0, -45.0):  # listeners on a circle around the device, facing it
        a = np.radians(angle)
        where = (distance_m * (1 - np.cos(a)), distance_m * np.sin(a), 0.0)
        plant = transfer_matrix(profile, design.frequencies, FreeField(), listener=Listener(position_m=where, yaw_deg=angle))
        levels.append(np.mean(np.abs(np.einsum("fn,fn->f", plant[:, 0, :], design.response[:, :, 0]))[band] ** 2))
    print(f"center beam 45 deg off axis at {distance_m:g} m: {10 * np.log10(min(levels[1:]) / levels[0]):+.1f} dB re on axis")
    assert 10 * np.log10(min(levels[1:]) / levels[0]) >= -7.0


@pytest.mark.parametrize("distance_m", [1.5, 2.0, 2.5, 3.0])
def test_listening_zone_5_cm_either_side(distance_m: float) -> None:
    profile = load_profile("studio-5", distance_m=distance_m)
    design = design_crosstalk_canceller(profile, sample_rate=SR)
    for offset in (-0.05, 0.05):
        bands = separation_db(
            design.impulse,
            design.delay_samples,
            SR,
            profile,
            HybridSphereHead(),
            listener=Listener(position_m=(0.0, offset, 0.0)),
        )[1]
        print(f"zone at {distance_m:g} m, {offset * 100:+.0f} cm: mean separation {bands.mean():.1f} dB")
        assert bands.mean() >= 10.0


def test_depth_beam_has_a_higher_direct_to_reverberant_ratio() -> None:
    pytest.importorskip("pyroomacoustics", reason="room simulation needs pyroomacoustics: pip install 'soundstage[room]'")
    import scipy.signal

    from soundstage import Beamformer

    monitor = BinauralMonitor(room=[5.0, 4.0, 2.7], rt60_s=0.4, distance_m=2.0)
    impulse = np.zeros((1, SR))
    impulse[0, 1000] = 1.0
    sos = scipy.signal.butter(4, (500, 3000), "bandpass", fs=SR, output="sos")
    ratios = {}
    for mode in ("beam", "matrix"):
        ear = scipy.signal.sosfiltfilt(sos, monitor(Beamformer(mode=mode)(impulse, SR), SR)[0])
        onset = int(np.argmax(np.abs(ear) > 0.3 * np.abs(ear).max()))
        ratios[mode] = 10 * np.log10(np.sum(ear[max(onset - 48, 0) : onset + 96] ** 2) / np.sum(ear[onset + 96 :] ** 2))
    print(f"DRR 0.5-3 kHz at 2 m: beam {ratios['beam']:.1f} dB, matrix {ratios['matrix']:.1f} dB")
    assert ratios["beam"] - ratios["matrix"] > 1.0


def test_center_image_error_of_a_source_beside_the_device_center(tmp_path: object) -> None:
    """One omni driver 10 cm to the listener's left of the device center, at 1.5 m: the image is off by the
    spherical head's ITD for 3.8 degrees; a driver at the center is off by nothing."""
    from pathlib import Path

    from soundstage.acoustics.profiles import Listener
    from soundstage.analysis.crosstalk import center_image_error

    impulse = np.zeros((1, 1, 256))
    impulse[0, 0, 10] = 1.0
    errors = {}
    for name, y in (("beside", -0.1), ("center", 0.0)):
        file = Path(str(tmp_path)) / f"{name}.toml"
        file.write_text(f'name = "{name}"\n[[drivers]]\nname = "a"\nposition_m = [0.0, {y}, 0.0]\ndirection = [1.0, 0.0, 0.0]\n')
        errors[name] = center_image_error(impulse, 10, SR, load_profile(file, distance_m=1.5), SphericalHead())
    theta, a_over_c = np.arctan(0.1 / 1.5), 0.0875 / 343.0
    # between the high-frequency (Woodworth, 34 us) and low-frequency (Kuhn: 3 a/c sin theta, 51 us) sphere limits,
    # as the cross-correlation ITD (100-1500 Hz) sees it through the head-shadow filters
    assert a_over_c * (theta + np.sin(theta)) * 1e6 <= errors["beside"][0] <= 3 * a_over_c * np.sin(theta) * 1e6 + 2.0
    assert errors["beside"][1] > 0.0  # louder at the left ear
    assert abs(errors["center"][0]) <= 1.0 and abs(errors["center"][1]) <= 0.05
    # and the studio-5 center beam, listener 30 cm off axis at 2 m: the image stays at the device
    beam = design_beamformer(load_profile("studio-5"), sample_rate=SR)
    itd, ild = center_image_error(
        beam.impulse,
        beam.delay_samples,
        SR,
        load_profile("studio-5"),
        SphericalHead(),
        listener=Listener(position_m=(0.0, 0.3, 0.0)),
    )
    assert abs(itd) <= 20.0 and abs(ild) <= 1.0
