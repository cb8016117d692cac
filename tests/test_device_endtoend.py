"""The device chain end to end, on the measured head (MIT KEMAR): width, phantom centre, zone, depth."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage import BinauralMonitor, Chain, Spatializer, StereoReference
from soundstage.acoustics.head import FreeField, SphericalHead
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


def test_phantom_centre_holds(kemar_path: str, source: np.ndarray) -> None:
    itd, ild = cues(Chain([Spatializer(), BinauralMonitor(hrtf=kemar_path)]), np.stack([source, source]))
    assert abs(itd) <= 20.0 and abs(ild) <= 1.0


@pytest.mark.parametrize("distance_m", [1.0, 2.0, 3.0])
def test_centre_beam_level_45_degrees_off_axis(distance_m: float) -> None:
    design = design_beamformer(load_profile("studio-5"), sample_rate=SR)
    profile = load_profile("studio-5", distance_m=distance_m)
    band = (design.frequencies >= 300) & (design.frequencies <= 4000)
    levels = []
    for angle in (0.0, 45.0, -45.0):  # listeners on a circle around the device, facing it
        a = np.radians(angle)
        where = (distance_m * (1 - np.cos(a)), distance_m * np.sin(a), 0.0)
        plant = transfer_matrix(profile, design.frequencies, FreeField(), listener=Listener(position_m=where, yaw_deg=angle))
        levels.append(np.mean(np.abs(np.einsum("fn,fn->f", plant[:, 0, :], design.response))[band] ** 2))
    assert 10 * np.log10(min(levels[1:]) / levels[0]) >= -7.0


@pytest.mark.parametrize("distance_m", [1.5, 2.0, 2.5, 3.0])
def test_listening_zone_5_cm_either_side(distance_m: float) -> None:
    profile = load_profile("studio-5", distance_m=distance_m)
    design = design_crosstalk_canceller(profile, sample_rate=SR)
    for offset in (-0.05, 0.05):
        bands = separation_db(
            design.impulse, design.modelling_delay, SR, profile, SphericalHead(), listener=Listener(position_m=(0.0, offset, 0.0))
        )[1]
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
