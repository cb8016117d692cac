"""Acoustics: device profiles, the spherical head, measured HRTFs from SOFA."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from soundstage.acoustics.geometry import direction
from soundstage.acoustics.head import SphericalHead
from soundstage.acoustics.hrtf import DEFAULT_SOFA, HrtfError, HrtfSet
from soundstage.acoustics.profiles import Listener, ProfileError, known_profiles, load_profile
from soundstage.acoustics.sofa import FRACTIONAL_MARGIN
from soundstage.stages.crosstalk import CrosstalkCanceller

needs_kemar = pytest.mark.skipif(
    not DEFAULT_SOFA.exists(), reason=f"MIT KEMAR SOFA not at {DEFAULT_SOFA} (Debian: apt-get install libmysofa1)"
)


@pytest.fixture(scope="module")
def kemar(kemar_path: str) -> HrtfSet:
    return HrtfSet.from_sofa(kemar_path)


# -- profiles ---------------------------------------------------------------------------


def test_shipped_profiles() -> None:
    assert {"studio-5", "compact-pair", "stereo-pair"} <= set(known_profiles())
    studio = load_profile("studio-5")
    assert studio.driver_names == ["woofer", "mid_left", "mid_right", "mid_up", "tweeter"]
    positions = dict(zip(studio.driver_names, studio.world_positions()))
    aims = dict(zip(studio.driver_names, studio.world_directions()))
    # the device faces the listener: its 'left' midrange is on the listener's left (+y), firing left
    assert positions["mid_left"][1] == pytest.approx(0.0875) and aims["mid_left"] == pytest.approx([0, 1, 0], abs=1e-12)
    assert positions["tweeter"][0] < studio.distance_m and aims["tweeter"] == pytest.approx([-1, 0, 0], abs=1e-12)
    assert np.linalg.norm(positions["mid_left"] - positions["mid_right"]) == pytest.approx(0.175)
    pair = load_profile("stereo-pair", distance_m=3.0)
    left = pair.world_positions()[0]
    assert np.degrees(np.arctan2(left[1], left[0])) == pytest.approx(30.0) and np.linalg.norm(left) == pytest.approx(3.0)
    assert pair.world_directions()[0] == pytest.approx(-left / 3.0)


def test_unknown_device_lists_the_known_ones() -> None:
    with pytest.raises(
        ProfileError,
        match=r"unknown device 'studio5'; did you mean 'studio-5'\? \(known devices: compact-pair, stereo-pair, studio-5",
    ):
        load_profile("studio5")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'name = "x"\n[[drivers]]\nname = "a"\nrole = "subwoofer"\nposition_m = [0,0,0]\ndirection = [1,0,0]\n',
            r"drivers\[0\]\.role: role = 'subwoofer' is not allowed: one of 'woofer', 'mid' or 'tweeter'",
        ),
        (
            'name = "x"\n[[drivers]]\nname = "a"\nposition_m = [0,0]\ndirection = [1,0,0]\n',
            r"drivers\[0\]\.position_m: position_m = \[0, 0\] is not allowed: must be a list of at least 3 items",
        ),
        (
            'name = "x"\n[[drivers]]\nname = "a"\nposition_m = [0,0,0]\ndirection = [0,0,0]\n',
            r"drivers\[0\]\.direction: direction = \[0.0, 0.0, 0.0\] has no direction",
        ),
        (
            'name = "x"\n[device]\ndistance_m = -1\n[[drivers]]\nname = "a"\nazimuth_deg = 0\n',
            r"device\.distance_m: distance_m = -1 is not allowed: more than 0",
        ),
        (
            'name = "x"\n[[drivers]]\nname = "a"\nazimuth_deg = 0\ndirectivity = "piston"\n',
            r"drivers\[0\]\.radius_m: a piston needs radius_m > 0",
        ),
        (
            'name = "x"\n[[drivers]]\nname = "a"\nazimuth_deg = 0\nband_hz = [500, 100]\n',
            r"drivers\[0\]\.band_hz: band_hz = \[500.0, 100.0\] must be \[low, high\]",
        ),
        (
            'name = "x"\n[[drivers]]\nname = "a"\nazimuth_deg = 0\nrole = "woofer"\nbeam_band_hz = [160, "2k"]\n',
            r"drivers\[0\]\.beam_band_hz\[1\]: '2k' is not allowed: must be a valid number",
        ),
        (  # a profile written in millimetres: a driver 92 m out, a dome 50 m across (both were taken)
            'name = "x"\n[[drivers]]\nname = "a"\nposition_m = [0.0, -87.5, 30.0]\ndirection = [0, -1, 0]\n',
            r"drivers\[0\]\.position_m: position_m = \[0.0, -87.5, 30.0\] is 92.5 m from the device's center; positions "
            r"are in meters \(87.5 mm is 0.0875\), within 2 m of it",
        ),
        (
            'name = "x"\n[[drivers]]\nname = "a"\nazimuth_deg = 0\ndirectivity = "piston"\nradius_m = 25.0\n',
            r"drivers\[0\]\.radius_m: radius_m = 25 is a driver 50 m across; sizes are in meters",
        ),
        ('name = "x"\ndrivers = []\n', r"drivers: drivers = \[\] is not allowed: must be a list of at least 1 item"),
        ('name = "x"\ncolour = "red"\n[[drivers]]\nname = "a"\nazimuth_deg = 0\n', r"colour: unknown key 'colour'"),
    ],
)
def test_malformed_profile_names_file_key_and_value(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(text)
    with pytest.raises(ProfileError, match=message) as error:
        load_profile(file)
    assert str(file) in str(error.value)


def test_listener_inside_the_device() -> None:
    studio = load_profile("studio-5", distance_m=0.1)
    with pytest.raises(ProfileError, match=r"listener at \(0.0, 0.0, 0.0\) m is inside the device"):
        studio.check_listener(Listener(), head_radius_m=0.0875)
    load_profile("studio-5").check_listener(Listener(), head_radius_m=0.0875)


# -- the spherical head -------------------------------------------------------------------


def test_spherical_head_itd_is_woodworth() -> None:
    head = SphericalHead()
    for azimuth in (0.0, 30.0, 60.0, 90.0):
        theta = head.incidence(direction(azimuth)[None])[:, 0]
        itd = float(head.delay_s(theta[1:])[0] - head.delay_s(theta[:1])[0])
        woodworth = head.radius_m / 343.0 * (np.radians(azimuth) + np.sin(np.radians(azimuth)))
        assert itd == pytest.approx(woodworth, abs=1e-9)
    assert 0.0875 / 343.0 * (np.pi / 6 + 0.5) * 1e6 == pytest.approx(261.1, abs=0.1)


def test_spherical_head_shadow_limits() -> None:
    head = SphericalHead()
    r = head.ear_responses(np.array([10.0, 40000.0]), direction(90.0)[None])  # source at the left ear
    assert 20 * np.log10(abs(r[0, 0, 0])) == pytest.approx(0.0, abs=0.01)  # no shadow at low frequency
    assert 20 * np.log10(abs(r[0, 0, 1])) == pytest.approx(20 * np.log10(2.0), abs=0.1)  # +6 dB facing the ear
    assert 20 * np.log10(abs(r[1, 0, 1])) < -10.0  # shadowed far ear


# -- measured HRTFs -------------------------------------------------------------------------


def test_kemar_azimuth_convention(kemar: HrtfSet) -> None:
    left_source = kemar.measured(90.0)
    assert np.abs(left_source[0]).max() > 2 * np.abs(left_source[1]).max()  # +90 deg is the left ear's side
    assert kemar.sample_rate == 44100.0


def test_sample_rate_mismatch_is_resampled_and_said(kemar: HrtfSet) -> None:
    at_48k = HrtfSet.from_sofa(DEFAULT_SOFA, sample_rate=48000)
    assert at_48k.sample_rate == 48000.0 and "resampled 44100 -> 48000 Hz" in at_48k.source
    f = np.array([1000.0, 4000.0])
    a = kemar.ear_responses(f, direction(30.0)[None])
    b = at_48k.ear_responses(f, direction(30.0)[None])
    assert np.abs(20 * np.log10(np.abs(a) / np.abs(b))).max() < 0.2


@pytest.mark.parametrize("size", [8192, 1024, 1000, 300, 7])
def test_ear_responses_on_a_dfts_bins_are_the_sum_at_each_frequency(kemar: HrtfSet, size: int) -> None:
    """On a DFT's bins (as designs ask, ``rfftfreq``) the ear responses come from one FFT (the responses folded when
    the DFT is shorter than they are): the same, within 1e-12 of the largest, as each frequency asked alone (a sum
    over the taps), at measured and interpolated directions."""
    directions = np.stack([direction(azimuth, elevation) for azimuth, elevation in ((30.0, 0.0), (-7.3, 0.0), (95.0, 12.5))])
    f = np.fft.rfftfreq(size, 1 / kemar.sample_rate)
    together = kemar.ear_responses(f, directions)
    some = np.unique(np.linspace(0, len(f) - 1, 41).astype(int))
    alone = np.stack([kemar.ear_responses(f[k : k + 1], directions)[..., 0] for k in some], axis=-1)
    assert together.shape == (2, 3, len(f))
    assert np.max(np.abs(together[..., some] - alone)) <= 1e-12 * np.max(np.abs(alone))


def test_interpolation_leave_one_out(kemar: HrtfSet) -> None:
    """The 5 deg HRIR predicted from 0 and 10 deg matches the measured one within -20 dB (100 Hz-8 kHz)."""
    predicted = kemar.without(5.0).hrir(5.0)
    measured = kemar.measured(5.0)
    n = 1024
    f = np.fft.rfftfreq(n, 1 / kemar.sample_rate)
    band = (f >= 100) & (f <= 8000)
    for ear in range(2):
        p, m = np.fft.rfft(predicted[ear], n)[band], np.fft.rfft(measured[ear], n)[band]
        error_db = 10 * np.log10(np.sum(np.abs(p - m) ** 2) / np.sum(np.abs(m) ** 2))
        print(f"leave-one-out, 5 deg from 0 and 10 deg, {'left' if ear == 0 else 'right'} ear: error {error_db:.1f} dB")
        assert error_db <= -20.0, (ear, error_db)


@pytest.mark.parametrize("kind", ["missing", "not_netcdf", "not_hrir"])
def test_bad_sofa_files(tmp_path: Path, kind: str) -> None:
    file = tmp_path / f"{kind}.sofa"
    if kind == "not_netcdf":
        file.write_text("not a SOFA file")
    elif kind == "not_hrir":
        import sofar

        sofa = sofar.Sofa("GeneralTF")
        sofa.Data_Real = np.ones((1, 1, 4))
        sofa.Data_Imag = np.zeros((1, 1, 4))
        sofa.N = np.arange(4.0)
        sofar.write_sofa(str(file), sofa)
    message = {
        "missing": r"does not exist",
        "not_netcdf": r"not_netcdf\.sofa' is text, not a SOFA \(AES69\) file of head-related responses$",
        "not_hrir": r"holds transfer functions for 1 receiver\(s\); expected 2 ears",
    }[kind]
    with pytest.raises(HrtfError, match=message):
        HrtfSet.from_sofa(file)


def _sofar_set(path: Path) -> Path:
    """A small SimpleFreeFieldHRIR set as sofar writes it (netCDF-4 through HDF5 1.10+: superblock version 2; the
    libmysofa KEMAR file has version 0)."""
    import sofar

    sofa = sofar.Sofa("SimpleFreeFieldHRIR")
    sofa.Data_IR = np.random.default_rng(1).standard_normal((4, 2, 64)) * 0.1
    sofa.SourcePosition = [[0, 0, 1.2], [90, 0, 1.2], [180, 0, 1.2], [270, 0, 1.2]]
    sofa.Data_SamplingRate = 48000
    sofar.write_sofa(str(path), sofa)
    return path


@pytest.mark.parametrize("fraction", [0.03, 0.5, 0.97, None])
@pytest.mark.parametrize("writer", ["libmysofa's KEMAR", "sofar"])
def test_a_sofa_file_cut_short_says_so_with_both_lengths(
    tmp_path: Path, kemar_path: str, writer: str, fraction: float | None
) -> None:
    """A SOFA file whose download or copy stopped (at 3, 50 or 97% of it, or one byte short): the netCDF library said
    only "cannot be read: NetCDF: HDF error". The line says it is cut short, with the bytes it holds and the length
    its HDF5 superblock states (the file's own size: checked against the whole file)."""
    whole = Path(kemar_path).read_bytes() if writer != "sofar" else _sofar_set(tmp_path / "whole.sofa").read_bytes()
    held = len(whole) - 1 if fraction is None else int(len(whole) * fraction)
    file = tmp_path / "head.sofa"
    file.write_bytes(whole[:held])
    with pytest.raises(HrtfError) as raised:
        HrtfSet.from_sofa(file)
    assert str(raised.value) == (
        f"SOFA file {str(file)!r} is cut short: it holds {held} of the {len(whole)} bytes its HDF5 superblock states "
        "(a download or copy that did not finish?); copy it again"
    )
    file.write_bytes(whole)
    assert HrtfSet.from_sofa(file).sample_rate > 0


def test_a_sofa_file_damaged_inside_says_so(tmp_path: Path, kemar_path: str) -> None:
    """KEMAR's set with 16 bytes of its HDF5 structures (the root group's, after the superblock) overwritten: it said
    "cannot be read: NetCDF: HDF error"; it says the file is damaged, in the library's words, and to copy it again."""
    data = bytearray(Path(kemar_path).read_bytes())
    data[96:112] = b"\xa5" * 16
    file = tmp_path / "head.sofa"
    file.write_bytes(bytes(data))
    with pytest.raises(
        HrtfError, match=r"head\.sofa' is damaged: the netCDF library cannot read it \(NetCDF: [^)]+\); copy it again"
    ):
        HrtfSet.from_sofa(file)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("mix.wav", r"mix\.wav' is a WAV file, not a SOFA"),
        ("mix.flac", r"mix\.flac' is a FLAC file, not a SOFA"),
        ("sets.zip", r"sets\.zip' is a zip archive \(unpack the \.sofa file from it\)"),
        ("empty.sofa", r"empty\.sofa' is empty; give a SOFA"),
        ("folder.sofa", r"folder\.sofa' is a folder; give the \.sofa file in it"),
        ("data.nc", r"data\.nc' is a netCDF file but no SOFA file \(it has no SOFAConventions\)"),
    ],
)
def test_what_is_given_for_a_head_instead_of_a_sofa_file_is_named(tmp_path: Path, name: str, message: str) -> None:
    """Audio, an archive, an empty file, a folder, a netCDF file of something else: each named in one line (were:
    a netCDF error code, or sofar's words about a file nobody gave: "data.sofa does not exist")."""
    import zipfile

    import netCDF4
    import soundfile

    file = tmp_path / name
    if name.endswith((".wav", ".flac")):  # written by libsndfile, as a DAW's bounce
        soundfile.write(file, np.zeros((4800, 2)), 48000)
    elif name.endswith(".zip"):
        with zipfile.ZipFile(file, "w") as archive:
            archive.writestr("me.sofa", b"x")
    elif name == "folder.sofa":
        file.mkdir()
    elif name.endswith(".nc"):
        with netCDF4.Dataset(file, "w") as data:
            data.createDimension("x", 3)
            data.createVariable("v", "f8", ("x",))[:] = [1.0, 2.0, 3.0]
    else:
        file.touch()
    with pytest.raises(HrtfError, match=message):
        HrtfSet.from_sofa(file)


def test_a_set_whose_name_does_not_end_in_sofa_is_read_itself(tmp_path: Path, kemar: HrtfSet, kemar_path: str) -> None:
    """``me.SOFA`` (or a name with no suffix) is read as it is. Was: sofar reads ``NAME.sofa`` for any ``NAME.EXT``,
    so ``me.SOFA`` was missing on a case-sensitive disk, and with a ``me.sofa`` beside it that other file was read."""
    import shutil

    from helpers import colored_copy

    shutil.copy(kemar_path, tmp_path / "me.SOFA")
    shutil.copy(kemar_path, tmp_path / "me")
    colored_copy(kemar_path, str(tmp_path / "me.sofa"))  # another head beside it
    for name in ("me.SOFA", "me"):
        read = HrtfSet.from_sofa(tmp_path / name)
        assert read.irs.shape == kemar.irs.shape and np.array_equal(read.irs, kemar.irs), name
    assert not np.array_equal(HrtfSet.from_sofa(tmp_path / "me.sofa").irs[:, :, : kemar.irs.shape[2]], kemar.irs)


def _delayed_copies(tmp_path: Path, fraction: float | np.ndarray = 0.0) -> tuple[Path, Path, np.ndarray]:
    """KEMAR written twice: with each response's leading samples up to its onset zeroed (base), and with those
    samples cut and held in Data.Delay per measurement and ear (plus ``fraction``), as sets that store
    minimum-phase responses do (the 3D Tune-In Toolkit's)."""
    import sofar

    sofa = sofar.read_sofa(str(DEFAULT_SOFA), verify=False, verbose=False)
    irs = np.asarray(sofa.Data_IR, float)
    peaks = np.abs(irs).max(axis=-1, keepdims=True)
    cut = np.argmax(np.abs(irs) >= 0.1 * peaks, axis=-1) - 2  # a couple of samples before each onset
    base, delayed = np.zeros_like(irs), np.zeros_like(irs)
    for m, ear in np.ndindex(*cut.shape):
        d = int(cut[m, ear])
        base[m, ear, d:] = irs[m, ear, d:]
        delayed[m, ear, : irs.shape[2] - d] = irs[m, ear, d:]
    paths = []
    for name, data, delay in (("base", base, np.zeros((1, 2))), ("delayed", delayed, cut + fraction)):
        sofa.Data_IR = data
        sofa.Data_Delay = delay
        paths.append(tmp_path / f"{name}.sofa")
        sofar.write_sofa(str(paths[-1]), sofa)
    return paths[0], paths[1], cut


@needs_kemar
def test_data_delay_is_applied(tmp_path: Path) -> None:
    """A set that holds its responses' delays in Data.Delay is the same head as the set with them in the responses:
    the same ear responses (to float rounding) and ITD; a fractional half sample lands as one."""
    base, delayed, cut = _delayed_copies(tmp_path)
    assert cut.max() > 20 and np.ptp(cut) > 10  # the delays carry the ITD: ignoring them would lose it
    a, b = HrtfSet.from_sofa(base), HrtfSet.from_sofa(delayed)
    f = np.geomspace(100.0, 16000.0, 40)
    directions = np.stack([direction(az) for az in (-90.0, -30.0, 0.0, 30.0, 65.0)])
    ra, rb = a.ear_responses(f, directions), b.ear_responses(f, directions)
    assert np.abs(rb - ra).max() <= 1e-9 * np.abs(ra).max()
    for azimuth in (-30.0, 30.0, 90.0):
        assert np.allclose(a.arrival_s(azimuth), b.arrival_s(azimuth), atol=1e-9)
    (tmp_path / "half").mkdir()
    _, half, _ = _delayed_copies(tmp_path / "half", fraction=np.array([0.5, 0.0]))  # the left ears half a sample later
    later = HrtfSet.from_sofa(half)
    n = 4096
    k = np.arange(n // 2 + 1)
    band = (k * a.sample_rate / n >= 100.0) & (k * a.sample_rate / n <= 16000.0)
    for m in (0, 100, 355):
        for ear, samples in ((0, FRACTIONAL_MARGIN + 0.5), (1, FRACTIONAL_MARGIN)):  # the margin: before all responses
            ratio = np.fft.rfft(later.irs[m, ear], n)[band] / np.fft.rfft(a.irs[m, ear], n)[band]
            expected = np.exp(-2j * np.pi * k[band] / n * samples)  # a pure delay of ``samples``
            error = np.abs(ratio - expected).max()
            assert error <= 3e-3, (m, ear, error)  # -50 dB: the fractional delay's sinc tails past the margin are cut
    itd = [np.subtract(*heard.arrival_s(30.0)) * a.sample_rate for heard in (a, later)]
    print(f"Data.Delay + 0.5 samples on the left ears, 30 deg: ITD {itd[0]:+.2f} -> {itd[1]:+.2f} samples")
    from soundstage import Virtualizer

    impulse = np.zeros((2, 4800), np.float32)
    impulse[:, 0] = 1.0
    heard = [Virtualizer(hrtf=str(path))(impulse, 48000) for path in (base, delayed)]
    assert np.abs(heard[1] - heard[0]).max() <= 1e-6 * np.abs(heard[0]).max()  # the same design from either file


@pytest.mark.parametrize(("delay", "message"), [(np.full((1, 2), 1e6), r"holds 1e\+06"), (np.full((1, 2), -4.0), r"holds -4")])
@needs_kemar
def test_a_damaged_data_delay_is_refused(tmp_path: Path, delay: np.ndarray, message: str) -> None:
    import sofar

    sofa = sofar.read_sofa(str(DEFAULT_SOFA), verify=False, verbose=False)
    sofa.Data_Delay = delay
    path = tmp_path / "damaged.sofa"
    sofar.write_sofa(str(path), sofa, compression=0)
    with pytest.raises(HrtfError, match=message):
        HrtfSet.from_sofa(path)


# -- grids, ears and sides as other measurement programs write them ---------------------------------------------


def _write_set(path: Path, irs: np.ndarray, azimuth: np.ndarray, elevation: np.ndarray, rate: float, receivers=None) -> Path:
    """A SimpleFreeFieldHRIR file written by sofar (not by soundstage), spherical source positions at 1.2 m."""
    import sofar

    sofa = sofar.Sofa("SimpleFreeFieldHRIR")
    sofa.Data_IR = irs
    sofa.Data_SamplingRate = rate
    sofa.SourcePosition = np.stack([azimuth, elevation, np.full(len(azimuth), 1.2)], axis=1)
    if receivers is not None:
        sofa.ReceiverPosition = receivers
    sofar.write_sofa(str(path), sofa)
    return path


@needs_kemar
def test_a_set_padded_with_zeros_is_the_same_head_at_the_cost_of_its_measurements(tmp_path: Path, kemar: HrtfSet) -> None:
    """KEMAR's 512-tap responses padded with zeros to 8192 taps (as a converter that writes one length for every set
    does), written by sofar: the same head, with its ear responses bit for bit, and a personalized canceller the same
    to the sample. Every design read the padding, 7 times as slow. A set whose last samples hold anything is read
    whole (KEMAR's own noise tail reaches its 512th sample)."""
    import sofar

    source = sofar.read_sofa(str(DEFAULT_SOFA), verify=False, verbose=False)
    irs = np.asarray(source.Data_IR, float)
    positions = np.asarray(source.SourcePosition, float)
    padded = np.concatenate([irs, np.zeros((*irs.shape[:2], 8192 - irs.shape[2]))], axis=-1)
    path = _write_set(tmp_path / "padded.sofa", padded, positions[:, 0], positions[:, 1], kemar.sample_rate)
    read = HrtfSet.from_sofa(path)
    assert read.irs.shape == kemar.irs.shape == (710, 2, 512)
    f = np.geomspace(100.0, 20000.0, 50)
    directions = np.stack([direction(a, e) for a, e in ((0.0, 0.0), (30.0, 0.0), (-5.0, 0.0), (120.0, 20.0))])
    assert np.array_equal(read.ear_responses(f, directions), kemar.ear_responses(f, directions))
    designs = []
    for sofa in (DEFAULT_SOFA, path):
        start = time.perf_counter()
        designs.append(CrosstalkCanceller(distance_m=1.0, hrtf=str(sofa)).design(48000.0))
        print(f"{Path(sofa).name}: designed in {time.perf_counter() - start:.1f} s")
    assert np.array_equal(designs[0].impulse, designs[1].impulse)


def _cipic_grid() -> tuple[np.ndarray, np.ndarray]:
    """CIPIC's grid (Algazi et al. 2001): 25 lateral x 50 polar angles (interaural-polar), as SOFA azimuth and
    elevation: almost every measurement has an elevation of its own."""
    lateral = np.radians(np.r_[-80, -65, -55, np.arange(-45, 46, 5), 55, 65, 80])
    polar = np.radians(-45 + 5.625 * np.arange(50))
    t, p = np.meshgrid(lateral, polar, indexing="ij")
    x, y, z = (np.cos(t) * np.cos(p)).ravel(), np.sin(t).ravel(), (np.cos(t) * np.sin(p)).ravel()
    return np.degrees(np.arctan2(y, x)) % 360.0, np.degrees(np.arcsin(z))


def _fibonacci_grid(count: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Scattered directions (a Fibonacci sphere), from -40 degrees up like KEMAR's."""
    i = np.arange(count) + 0.5
    elevation = np.degrees(np.arcsin(1 - 2 * i / count))
    azimuth = np.degrees(np.pi * (1 + 5**0.5) * i) % 360.0
    keep = elevation >= -40.0
    return azimuth[keep], elevation[keep]


#: Directions a device on the desk and a stereo pair put at the ears: a few degrees off the horizontal plane
#: (and one well to the side, inside CIPIC's lateral +-80 degrees).
NEAR_HORIZONTAL = [
    (0.0, 0.0),
    (5.0, 1.7),
    (-5.0, 1.7),
    (0.0, 2.9),
    (0.0, 5.9),
    (30.0, 3.0),
    (-30.0, 0.0),
    (2.5, -4.8),
    (70.0, 2.0),
]


@needs_kemar
@pytest.mark.parametrize("grid", ["cipic", "scattered"])
def test_a_set_on_another_grid_is_interpolated_from_the_neighbours_of_each_direction(
    tmp_path: Path, kemar: HrtfSet, grid: str
) -> None:
    """KEMAR resampled onto CIPIC's interaural-polar grid (or a scattered one), written to a SOFA file by sofar:
    near the horizontal plane its ear responses are KEMAR's within -15 dB (100 Hz-12 kHz), from measurements
    within 12 degrees (CIPIC's lateral steps reach 15). Bilinear on "rings" of constant elevation, a frontal source 1.7 degrees up was
    interpolated from the measurements at +-80 degrees on CIPIC's grid: +3.2 dB of error."""
    azimuth, elevation = _cipic_grid() if grid == "cipic" else _fibonacci_grid()
    irs = np.stack([kemar.hrir(a, e, lead_samples=20)[:, :256] for a, e in zip(azimuth, elevation)])
    other = HrtfSet.from_sofa(_write_set(tmp_path / f"{grid}.sofa", irs, azimuth, elevation, kemar.sample_rate))
    f = np.linspace(100.0, 12000.0, 240)
    for a, e in NEAR_HORIZONTAL:
        truth, heard = kemar.ear_responses(f, direction(a, e)[None]), other.ear_responses(f, direction(a, e)[None])
        error_db = 10 * np.log10(np.sum(np.abs(heard - truth) ** 2) / np.sum(np.abs(truth) ** 2))
        used = other.weights(a % 360.0, e)
        spans = [
            np.degrees(np.arccos(np.clip(direction(a, e) @ direction(other.azimuth_deg[i], other.elevation_deg[i]), -1, 1)))
            for i, _ in used
        ]
        print(f"{grid} ({a:+g}, {e:+g}): error {error_db:+.1f} dB from {len(used)} measurements within {max(spans):.1f} deg")
        assert error_db <= -15.0 and max(spans) <= 12.0 and sum(w for _, w in used) == pytest.approx(1.0)


def test_a_set_with_a_cap_left_out_interpolates_on_its_surface_only() -> None:
    """Measured only above 10 degrees: a direction in the measured cap is interpolated from its neighbours (not
    across the open side's hull face), one below it takes the nearest measurement."""
    azimuth, elevation = _fibonacci_grid(600)
    up = elevation > 10.0
    irs = np.zeros((int(up.sum()), 2, 32))
    irs[:, :, 4] = 1.0
    cap = HrtfSet(irs, azimuth[up], elevation[up], 48000.0)
    for a, e, limit in ((0.0, 40.0, 12.0), (120.0, 60.0, 12.0)):
        used = cap.weights(a, e)
        spans = [
            np.degrees(np.arccos(np.clip(direction(a, e) @ direction(cap.azimuth_deg[i], cap.elevation_deg[i]), -1, 1)))
            for i, _ in used
        ]
        assert len(used) >= 1 and max(spans) <= limit, (a, e, spans)
    below = cap.weights(0.0, -30.0)
    assert len(below) == 1 and below[0][1] == 1.0 and cap.elevation_deg[below[0][0]] < 20.0


def test_a_horizontal_plane_set_stays_on_its_ring() -> None:
    """One ring (a horizontal-plane set): bilinear along it; a direction above takes the ring's values."""
    azimuth = np.arange(0.0, 360.0, 10.0)
    irs = np.zeros((len(azimuth), 2, 32))
    irs[:, :, 4] = 1.0
    ring = HrtfSet(irs, azimuth, np.zeros_like(azimuth), 48000.0)
    assert ring.weights(25.0, 10.0) == [(2, pytest.approx(0.5)), (3, pytest.approx(0.5))]


@needs_kemar
def test_the_right_ear_listed_first_is_read_as_the_right_ear(tmp_path: Path, kemar: HrtfSet) -> None:
    """ReceiverPosition says which ear each response is: a file listing the right ear first is the same head."""
    import sofar

    sofa = sofar.read_sofa(str(DEFAULT_SOFA), verify=False, verbose=False)
    irs = np.asarray(sofa.Data_IR, float)
    azimuth, elevation = np.asarray(sofa.SourcePosition, float)[:, 0], np.asarray(sofa.SourcePosition, float)[:, 1]
    receivers = np.array([[[0.0], [-0.09], [0.0]], [[0.0], [0.09], [0.0]]])  # right ear first
    path = _write_set(tmp_path / "right-first.sofa", irs[:, ::-1].copy(), azimuth, elevation, kemar.sample_rate, receivers)
    flipped = HrtfSet.from_sofa(path)
    f = np.geomspace(200.0, 12000.0, 30)
    directions = np.stack([direction(a) for a in (-60.0, 0.0, 30.0, 90.0)])
    assert np.abs(flipped.ear_responses(f, directions) - kemar.ear_responses(f, directions)).max() <= 1e-9


@needs_kemar
@pytest.mark.parametrize("damage", ["clockwise", "ears swapped"])
def test_a_set_whose_sides_contradict_its_coordinates_is_refused(tmp_path: Path, damage: str) -> None:
    """Azimuths counted clockwise, or the ears swapped against ReceiverPosition: one line, not a mirrored design."""
    import sofar

    sofa = sofar.read_sofa(str(DEFAULT_SOFA), verify=False, verbose=False)
    irs = np.asarray(sofa.Data_IR, float)
    azimuth, elevation = np.asarray(sofa.SourcePosition, float)[:, 0], np.asarray(sofa.SourcePosition, float)[:, 1]
    if damage == "clockwise":
        azimuth = (360.0 - azimuth) % 360.0
    else:
        irs = irs[:, ::-1].copy()
    path = _write_set(tmp_path / "mirrored.sofa", irs, azimuth, elevation, 44100.0)
    with pytest.raises(
        HrtfError, match=r"mirrored\.sofa'.* dB louder at the other ear .*azimuths run clockwise or its ears are swapped"
    ) as raised:
        HrtfSet.from_sofa(path)
    assert "\n" not in str(raised.value)


@needs_kemar
def test_a_set_of_transfer_functions_is_the_same_head(tmp_path: Path, kemar: HrtfSet) -> None:
    """A SimpleFreeFieldHRTF file (spectra, as Mesh2HRTF writes a simulated head: even steps up to 22 kHz, no
    0 Hz; 50 Hz here, as KEMAR's measured responses last 11.6 ms) of KEMAR's responses, written by sofar: read
    back, its ear responses are KEMAR's within -25 dB over 200 Hz-16 kHz and its ITDs within 10 us."""
    import sofar

    source = sofar.read_sofa(str(DEFAULT_SOFA), verify=False, verbose=False)
    frequencies = np.arange(50.0, 22001.0, 50.0)
    taps = np.arange(source.Data_IR.shape[-1])
    spectra = np.asarray(source.Data_IR, float) @ np.exp(-2j * np.pi * np.outer(taps, frequencies) / kemar.sample_rate)
    sofa = sofar.Sofa("SimpleFreeFieldHRTF")
    sofa.Data_Real, sofa.Data_Imag, sofa.N = spectra.real, spectra.imag, frequencies
    sofa.SourcePosition = np.asarray(source.SourcePosition, float)
    sofar.write_sofa(str(tmp_path / "simulated.sofa"), sofa)
    spectral = HrtfSet.from_sofa(tmp_path / "simulated.sofa")
    assert spectral.sample_rate == 44100.0
    f = np.geomspace(200.0, 16000.0, 60)
    for azimuth, elevation in ((0.0, 0.0), (30.0, 0.0), (-30.0, 3.0), (5.0, 1.7), (90.0, 0.0), (150.0, 20.0)):
        truth = kemar.ear_responses(f, direction(azimuth, elevation)[None])
        heard = spectral.ear_responses(f, direction(azimuth, elevation)[None])
        error_db = 10 * np.log10(np.sum(np.abs(heard - truth) ** 2) / np.sum(np.abs(truth) ** 2))
        itds = [np.subtract(*s.arrival_s(azimuth, elevation)) * 1e6 for s in (kemar, spectral)]
        print(f"({azimuth:+g}, {elevation:+g}): error {error_db:+.1f} dB, ITD {itds[0]:+.0f} / {itds[1]:+.0f} us")
        assert error_db <= -25.0 and abs(itds[1] - itds[0]) <= 10.0


def test_transfer_functions_that_do_not_fit_are_refused_in_one_line(tmp_path: Path) -> None:
    import sofar

    sofa = sofar.Sofa("SimpleFreeFieldHRTF")
    sofa.Data_Real = np.ones((3, 2, 4))
    sofa.Data_Imag = np.zeros((3, 2, 4))
    sofa.N = np.array([100.0, 200.0, 300.0, 500000.0])
    sofa.SourcePosition = np.array([[0.0, 0.0, 1.0], [90.0, 0.0, 1.0], [270.0, 0.0, 1.0]])
    sofar.write_sofa(str(tmp_path / "wide.sofa"), sofa)
    with pytest.raises(HrtfError, match=r"wide\.sofa'.*N reaches 500000 Hz; at most 96000 Hz"):
        HrtfSet.from_sofa(tmp_path / "wide.sofa")


@needs_kemar
def test_a_personalized_design_on_cipics_grid_is_the_design_on_the_same_head(tmp_path: Path, kemar: HrtfSet) -> None:
    """KEMAR on CIPIC's grid (a SOFA file written by sofar), personalized: the canceller designed and heard on it
    separates as on KEMAR's own file, studio-5 at 1 m, within 2 dB at the seat and over the region (on rings it
    gave 21.9 / 13.7 dB against 30.3 / 17.7: the frontal drivers, 1.7 degrees up, were heard from +-80 degrees)."""
    from soundstage.acoustics.profiles import ListeningRegion
    from soundstage.analysis.crosstalk import region_separation_db, separation_db
    from soundstage.stages.crosstalk import design_crosstalk_canceller
    from soundstage.stages.device import PERSONAL_SEPARATION_PER_WIDTH_DB

    azimuth, elevation = _cipic_grid()
    irs = np.stack([kemar.hrir(a, e, lead_samples=20)[:, :256] for a, e in zip(azimuth, elevation)])
    path = _write_set(tmp_path / "cipic.sofa", irs, azimuth, elevation, kemar.sample_rate)
    profile = load_profile("studio-5", distance_m=1.0)
    figures = []
    for head in (HrtfSet.from_sofa(DEFAULT_SOFA, sample_rate=48000.0), HrtfSet.from_sofa(path, sample_rate=48000.0)):
        design = design_crosstalk_canceller(profile, head=head, plateau_db=PERSONAL_SEPARATION_PER_WIDTH_DB)
        args = (design.impulse, design.delay_samples, 48000.0, profile, head)
        figures.append((float(separation_db(*args)[1].mean()), region_separation_db(*args, ListeningRegion()).mean_db))
    print(
        f"personalized, KEMAR's file {figures[0][0]:.1f} / {figures[0][1]:.1f} dB, on CIPIC's grid {figures[1][0]:.1f} / {figures[1][1]:.1f} dB"
    )
    assert np.allclose(figures[1], figures[0], atol=2.0)


@needs_kemar
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("nan", r"measurement 5 \(azimuth 32\.1429, elevation -40 deg\), left ear, sample 10 holds nan; the file is damaged"),
        ("silent", r"measurement 100 \(azimuth 264, elevation -30 deg\), right ear is all zeros; the file is damaged"),
        ("position", r"measurement 7's SourcePosition is \[nan, .*\]; the file is damaged"),
    ],
)
def test_a_damaged_measurement_is_refused_in_one_line(tmp_path: Path, damage: str, message: str) -> None:
    """A NaN sample, an ear that is all zeros, or a position that is not a number: refused when the file is read,
    naming the measurement (before: NaN responses, or silence, for every direction read from it)."""
    import sofar

    sofa = sofar.read_sofa(str(DEFAULT_SOFA), verify=False, verbose=False)
    irs, positions = np.asarray(sofa.Data_IR, float), np.asarray(sofa.SourcePosition, float)
    if damage == "nan":
        irs[5, 0, 10] = np.nan
    elif damage == "silent":
        irs[100, 1] = 0.0
    else:
        positions[7, 0] = np.nan
    sofa.Data_IR, sofa.SourcePosition = irs, positions
    sofar.write_sofa(str(tmp_path / "damaged.sofa"), sofa)
    with pytest.raises(HrtfError, match=r"damaged\.sofa': " + message) as raised:
        HrtfSet.from_sofa(tmp_path / "damaged.sofa")
    assert "\n" not in str(raised.value)


@needs_kemar
@pytest.mark.parametrize("near_first", [True, False])
def test_a_set_measured_at_several_distances_is_read_at_the_farthest(tmp_path: Path, near_first: bool) -> None:
    """A near-field set: every direction of KEMAR at 1.4 m and again at 0.5 m (there with the right ear 10 dB
    down, as a near source's ILD grows), written by sofar in either order, reads as the 1.4 m set (the same ear
    responses to 1e-9) and says so in its source; a rig whose loudspeakers stand 1.17-1.23 m away keeps every
    measurement. (Before, the two distances were averaged or not, by the order of the file.)"""
    import sofar

    sofa = sofar.read_sofa(str(DEFAULT_SOFA), verify=False, verbose=False)
    irs, far = np.asarray(sofa.Data_IR, float), np.asarray(sofa.SourcePosition, float)
    near = far.copy()
    near[:, 2] = 0.5
    quieter = irs * np.array([1.0, 10 ** (-10 / 20)])[None, :, None]
    order = [(quieter, near), (irs, far)] if near_first else [(irs, far), (quieter, near)]
    sofa.Data_IR = np.concatenate([part for part, _ in order])
    sofa.SourcePosition = np.concatenate([where for _, where in order])
    path = tmp_path / "near-field.sofa"
    sofar.write_sofa(str(path), sofa, compression=0)
    heard, plain = HrtfSet.from_sofa(path), HrtfSet.from_sofa(DEFAULT_SOFA)
    f = np.geomspace(100.0, 16000.0, 30)
    directions = np.stack([direction(az) for az in (-30.0, 0.0, 30.0, 90.0)])
    a, b = plain.ear_responses(f, directions), heard.ear_responses(f, directions)
    assert np.abs(b - a).max() <= 1e-9 * np.abs(a).max()
    assert len(heard.azimuth_deg) == len(plain.azimuth_deg)
    assert "0.5-1.4 m" in heard.source
    rig = sofar.read_sofa(str(DEFAULT_SOFA), verify=False, verbose=False)
    positions = np.asarray(rig.SourcePosition, float)
    positions[:, 2] = 1.2 + 0.03 * np.sin(np.arange(len(positions)))
    rig.SourcePosition = positions
    sofar.write_sofa(str(tmp_path / "rig.sofa"), rig, compression=0)
    kept = HrtfSet.from_sofa(tmp_path / "rig.sofa")
    assert len(kept.azimuth_deg) == len(plain.azimuth_deg) and kept.source == str(tmp_path / "rig.sofa")


@pytest.mark.parametrize("kind", ["early-sofa-api", "newer-revision", "free-field-hrir"])
def test_a_set_in_another_convention_version_is_the_same_head(tmp_path: Path, kemar: HrtfSet, kemar_path: str, kind: str) -> None:
    """KEMAR stamped SimpleFreeFieldHRIR 0.6 (an early SOFA API's files) or 2.0 (a revision sofar does not know yet),
    and KEMAR written by sofar as FreeFieldHRIR (AES69-2022: responses with an emitter dimension, FIR-E): each
    reads as KEMAR bit for bit. Were: 'SimpleFreeFieldHRIR v0.6 is not a valid SOFA Convention', and 'the
    responses have shape (710, 2, 512, 1)'."""
    import shutil

    import netCDF4
    import sofar

    file = tmp_path / "head.sofa"
    if kind == "free-field-hrir":
        source = sofar.read_sofa(kemar_path, verbose=False)
        sofa = sofar.Sofa("FreeFieldHRIR")
        sofa.Data_IR = np.asarray(source.Data_IR)[..., None]
        sofa.Data_SamplingRate = source.Data_SamplingRate
        sofa.SourcePosition = source.SourcePosition
        sofa.ReceiverPosition = np.asarray(source.ReceiverPosition).reshape(2, 3, 1)
        sofa.Data_Delay = np.zeros((1, 2, 1))
        sofar.write_sofa(str(file), sofa)
    else:
        shutil.copy(kemar_path, file)
        with netCDF4.Dataset(file, "a") as data:
            data.SOFAConventionsVersion = "0.6" if kind == "early-sofa-api" else "2.0"
    read = HrtfSet.from_sofa(file)
    assert np.array_equal(read.irs, kemar.irs) and np.array_equal(read.azimuth_deg, kemar.azimuth_deg)
