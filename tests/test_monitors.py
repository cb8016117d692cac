"""BinauralMonitor and StereoReference: measured HRIRs reproduced, signs right, streaming contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from soundstage import Chain
from soundstage.acoustics.hrtf import DEFAULT_SOFA, HrtfError, HrtfSet
from soundstage.analysis import itd_s
from soundstage.stages import BinauralMonitor, CrosstalkCanceller, StereoReference, Virtualizer

SR = 48000

needs_kemar = pytest.mark.skipif(
    not DEFAULT_SOFA.exists() and __import__("os").environ.get("CI") != "true",
    reason=f"MIT KEMAR SOFA not at {DEFAULT_SOFA} (Debian: apt-get install libmysofa1)",
)


def energy_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(np.asarray(x, float) ** 2)))


@needs_kemar
def test_one_driver_straight_ahead_reproduces_the_measured_hrir(tmp_path: Path) -> None:
    profile = tmp_path / "front.toml"
    profile.write_text('name = "front"\n[device]\ndistance_m = 2.0\n[[drivers]]\nname = "center"\nazimuth_deg = 0.0\n')
    monitor = BinauralMonitor(device=str(profile), hrtf=str(DEFAULT_SOFA))
    x = np.zeros((1, 4096))
    x[0, 100] = 1.0
    ears = monitor(x, SR)
    assert "resampled 44100 -> 48000 Hz" in monitor.hrtf_source
    measured = HrtfSet.from_sofa(DEFAULT_SOFA, sample_rate=SR).measured(0.0)
    n = 4096
    k = np.arange(n // 2 + 1)
    for ear in range(2):
        out, ref = np.fft.rfft(ears[ear], n), np.fft.rfft(measured[ear], n)
        lag = int(np.argmax(np.correlate(ears[ear], measured[ear], "full"))) - (len(measured[ear]) - 1)

        def residual(delay: float, out: np.ndarray = out, ref: np.ndarray = ref) -> float:
            shifted = ref * np.exp(-2j * np.pi * k * delay / n)
            gain = np.vdot(shifted, out).real / np.vdot(shifted, shifted).real  # distance gain, fitted
            return float(np.sum(np.abs(out - gain * shifted) ** 2) / np.sum(np.abs(gain * shifted) ** 2))

        best = minimize_scalar(residual, bounds=(lag - 2, lag + 2), method="bounded")  # distance delay, fitted
        print(f"one driver at 0 deg vs the measured 0 deg HRIR, ear {ear}: error {10 * np.log10(best.fun):.1f} dB")
        assert 10 * np.log10(best.fun) <= -40.0


def test_hard_left_ends_up_at_the_left_ear(noise: np.ndarray) -> None:
    left_only = np.stack([noise[0], np.zeros_like(noise[0])])
    reference = StereoReference()(left_only, SR)
    assert energy_db(reference[0]) - energy_db(reference[1]) > 3.0
    assert itd_s(reference[0], reference[1], SR) > 150e-6  # the right ear lags
    device = Chain([Virtualizer(), CrosstalkCanceller(distance_m=2.0), BinauralMonitor(distance_m=2.0)])
    ears = device(left_only, SR)
    assert ears.shape == (2, noise.shape[1])
    assert energy_db(ears[0]) - energy_db(ears[1]) > 3.0
    assert itd_s(ears[0], ears[1], SR) > 100e-6


def test_stereo_reference_is_symmetric(noise: np.ndarray) -> None:
    mono = np.stack([noise[0], noise[0]])
    ears = StereoReference()(mono, SR)
    assert abs(energy_db(ears[0]) - energy_db(ears[1])) < 0.01
    assert abs(itd_s(ears[0], ears[1], SR)) < 2e-6


def test_block_size_invariance(noise: np.ndarray) -> None:
    feeds = np.concatenate([noise, noise[::-1] * 0.5, noise[:1]], axis=0)  # 5 driver feeds
    reference = BinauralMonitor(listener_yaw_deg=10.0)(feeds, SR)
    for buffer_size in (7, 64, 256, 8192):
        assert np.abs(BinauralMonitor(listener_yaw_deg=10.0)(feeds, SR, buffer_size=buffer_size) - reference).max() <= 1e-6
    monitor = BinauralMonitor(listener_yaw_deg=10.0)
    cuts = [0, 9, 5000, 5001, feeds.shape[1]]
    parts = [monitor.process(feeds[:, a:b], SR, buffer_size=256, reset=False) for a, b in zip(cuts, cuts[1:])]
    assert np.abs(np.concatenate([*parts, monitor.flush()], axis=1) - reference).max() <= 1e-6


def test_bad_sofa_is_refused_at_construction(tmp_path: Path) -> None:
    with pytest.raises(HrtfError, match=r"does not exist"):
        BinauralMonitor(hrtf=str(tmp_path / "none.sofa"))
    (tmp_path / "text.sofa").write_text("hello")
    with pytest.raises(HrtfError, match=r"text.sofa. is text, not a SOFA"):
        BinauralMonitor(hrtf=str(tmp_path / "text.sofa"))


def test_channel_counts_follow_the_device() -> None:
    assert BinauralMonitor().input_channels == 5 and StereoReference().input_channels == 2
    with pytest.raises(Exception, match=r"expects 5 input channels, got 2"):
        BinauralMonitor()(np.zeros((2, 100)), SR)


def test_shoebox_room_adds_reflections_and_keeps_the_direct_sound(tmp_path: Path) -> None:
    pytest.importorskip("pyroomacoustics", reason="room simulation needs pyroomacoustics: pip install 'soundstage[room]'")
    x = np.zeros((2, 24000))
    x[0, 100] = 1.0
    free = StereoReference()(x, SR)
    room = StereoReference(room=[5.0, 4.0, 2.7], rt60_s=0.4)
    roomy = room(x, SR)
    onset = int(np.argmax(np.abs(free[0]) > 0.1 * np.abs(free[0]).max()))
    direct = slice(max(onset - 32, 0), onset + 48)  # the first reflection comes > 2 ms later
    np.testing.assert_allclose(roomy[0, direct], free[0, direct], atol=0.02 * np.abs(free[0]).max())
    later = roomy[:, onset + 200 :]
    drr = energy_db(roomy[0, direct]) - energy_db(later[0])
    # Sabine: critical distance 0.057 sqrt(V / RT60) = 0.66 m, so at 2 m the direct sound is
    # about 9.6 dB below the reverberant field; the image sources stop at order 10, so a
    # little less reverberation is modelled
    critical = 0.057 * np.sqrt(5.0 * 4.0 * 2.7 / 0.4)
    expected = 20 * np.log10(critical / 2.0)
    assert expected - 1.0 <= drr <= expected + 4.0, (drr, expected)
    assert energy_db(roomy[0]) > energy_db(roomy[1])  # still on the left
    from soundstage import Chain, load_chain, save_chain

    save_chain(Chain([room]), tmp_path / "room.toml")
    assert "room = [" in (tmp_path / "room.toml").read_text()
    assert np.array_equal(load_chain(tmp_path / "room.toml")(x, SR), roomy)
