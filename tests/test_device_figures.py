"""The device figures a render puts in its report (and the audition page draws): checked against the analysis they summarize."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile

from soundstage import Spatializer
from soundstage.acoustics.head import HybridSphereHead
from soundstage.acoustics.profiles import ListeningRegion, load_profile
from soundstage.analysis.crosstalk import separation_db
from soundstage.analysis.device import chain_device_figures, device_figures
from soundstage.host.chain import Chain
from soundstage.session import render_session
from soundstage.stages.monitors import BinauralMonitor, StereoReference

SR = 48000.0
KEMAR = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")


@pytest.fixture(scope="module")
def figures() -> dict:
    return device_figures(Spatializer(), sample_rate=SR)


def test_separation_is_the_canceller_on_the_seat_and_the_region(figures: dict) -> None:
    """The curves are the analysis of the Spatializer's own canceller: seat, region mean, worst seat, in that order."""
    separation = figures["separation"]
    design = Spatializer().canceller_design(SR)
    profile = load_profile("studio-5", distance_m=2.0)
    centers, expected = separation_db(
        design.impulse, design.delay_samples, SR, profile, HybridSphereHead(), low_hz=100, high_hz=10000
    )
    assert np.allclose(separation["hz"], np.round(centers, 1)) and np.abs(np.array(separation["seat_db"]) - expected).max() < 0.01
    band = (centers >= 250) & (centers <= 6400)
    print(
        f"seat {separation['mean_250_6300_db']} dB, region mean {separation['region_mean_250_6300_db']} dB, "
        f"worst seat {separation['worst_seat_250_6300_db']} dB"
    )
    assert abs(separation["mean_250_6300_db"] - expected[band].mean()) < 0.01
    assert separation["worst_seat_250_6300_db"] < separation["region_mean_250_6300_db"] < separation["mean_250_6300_db"]
    assert len(ListeningRegion().positions()) == 27 and separation["region"].startswith("+-5 deg yaw")


def test_zone_map_holds_the_seat_and_is_symmetric(figures: dict) -> None:
    zone = figures["zone"]
    grid = np.array(zone["separation_db"])
    assert grid.shape == (len(zone["distance_m"]), len(zone["lateral_m"])) == (5, 11)
    seat = grid[zone["distance_m"].index(2.0), zone["lateral_m"].index(0.0)]
    # the same filters at the same seat, the zone rounded to 0.1 dB and the mean to 0.01 dB
    assert abs(seat - figures["separation"]["mean_250_6300_db"]) <= 0.05 + 0.005 + 1e-9
    assert np.abs(grid - grid[:, ::-1]).max() <= 0.1  # studio-5 is symmetric: so is its zone (within 0.1 dB)
    assert grid[:, zone["lateral_m"].index(0.3)].max() < seat - 10  # 30 cm off to the side the cancellation is gone


def test_beam_pattern_has_its_side_nulls_and_zero_on_axis(figures: dict) -> None:
    beam = figures["beam"]
    azimuths = np.array(beam["azimuth_deg"])
    for k, frequency in enumerate(beam["frequencies_hz"]):
        levels = np.array(beam["beam_db"][k])
        assert levels[azimuths == 0][0] == 0.0
        if 1000 <= frequency <= 2000:  # the design's nulls at +-90 degrees (analyze beam: >= 100 dB deep there)
            assert levels[np.abs(azimuths) == 90].max() <= -30.0, frequency


def test_width_rows_compare_the_device_with_a_real_pair(figures: dict) -> None:
    rows = {row["source"]: row for row in figures["width"]}
    left, center, right = rows["hard left"], rows["center"], rows["hard right"]
    assert left["device_itd_us"] > 100 and left["reference_itd_us"] > 250  # left ear first, for both
    assert (
        abs(left["device_itd_us"] + right["device_itd_us"]) <= 1.0 and abs(left["device_ild_db"] + right["device_ild_db"]) <= 0.05
    )
    assert abs(center["device_itd_us"]) <= 20 and abs(center["device_ild_db"]) <= 0.5


def test_figures_follow_the_chain_the_settings_and_the_preview_head() -> None:
    """A chain's figures: its Spatializer's settings, heard on the monitor after it (not on a StereoReference)."""
    narrow = Chain([Spatializer(width=0.4), BinauralMonitor(hrtf=str(KEMAR))]) if KEMAR.exists() else None
    if narrow is None:
        pytest.skip("needs the MIT KEMAR set (Debian: apt-get install libmysofa1)")
    figures = chain_device_figures(narrow, SR)
    assert figures is not None and figures["head"] == str(KEMAR) and figures["settings"]["width"] == 0.4
    # the plateau scales with width: the robust design (the default) gives the region about what width asks
    assert figures["separation"]["region_mean_250_6300_db"] < 0.4 * 25 + 3
    assert chain_device_figures(Chain([StereoReference()]), SR) is None


def test_a_device_render_reports_figures_and_the_loudness_of_its_feeds_summed(tmp_path: Path) -> None:
    noise = np.random.default_rng(5).standard_normal((4 * int(SR), 2)) * 0.05
    soundfile.write(tmp_path / "stem.wav", noise, int(SR))
    (tmp_path / "session.toml").write_text(
        'format = 1\n[[stems]]\npath = "stem.wav"\n'
        '[[renders]]\nname = "feeds"\nkind = "device"\nchain = "studio-5"\nper_driver = true\nbit_depth = 32\n'
        '[[renders]]\nname = "mix"\nkind = "mixdown"\n'
    )
    report = render_session(tmp_path / "session.toml", tmp_path / "out").report
    renders = {render["name"]: render for render in report["renders"]}
    assert "device" not in renders["mix"] and "summed_feeds_lufs" not in renders["mix"]
    assert renders["feeds"]["device"]["separation"]["mean_250_6300_db"] > 15
    feeds = [soundfile.read(tmp_path / "out" / o["file"])[0] for o in report["outputs"] if o["render"] == "feeds"]
    assert len(feeds) == 5
    independent = pyloudnorm.Meter(int(SR)).integrated_loudness(np.sum(feeds, axis=0))
    print(f"drivers summed: {renders['feeds']['summed_feeds_lufs']} LUFS, pyloudnorm on the files' sum {independent:.2f}")
    assert abs(renders["feeds"]["summed_feeds_lufs"] - independent) <= 0.1


def test_chains_of_one_design_share_their_figures_and_other_settings_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """A session's renders often hold the same design: its figures are computed once; a different setting or
    preview head is computed anew; a caller changing the returned figures does not change the next ones."""
    import soundstage.analysis.device as device_module

    calls: list[str] = []
    real = device_module.device_figures

    def counted(spatializer: Spatializer, monitor: BinauralMonitor | None = None, *, sample_rate: float = 48000.0) -> dict:
        calls.append(spatializer.device)
        return real(spatializer, monitor, sample_rate=sample_rate)

    monkeypatch.setattr(device_module, "device_figures", counted)
    from soundstage.memo import LruCache

    monkeypatch.setattr(device_module, "_FIGURES", LruCache(max_entries=8))
    first = chain_device_figures(Chain([Spatializer(width=0.7)]), 48000.0)
    assert first is not None
    first["separation"]["seat_db"][0] = 999.0
    again = chain_device_figures(Chain([Spatializer(width=0.7)]), 48000.0)
    assert len(calls) == 1 and again is not None and again["separation"]["seat_db"][0] != 999.0
    chain_device_figures(Chain([Spatializer(width=0.6)]), 48000.0)
    chain_device_figures(Chain([Spatializer(width=0.7), BinauralMonitor(hrtf="rigid-sphere")]), 48000.0)
    assert len(calls) == 3
    # a device render (no monitor: heard on the design's head) and its binaural preview on that head: one computation
    preview = chain_device_figures(Chain([Spatializer(width=0.7), BinauralMonitor()]), 48000.0)
    assert len(calls) == 3 and preview == again
    chain_device_figures(Chain([Spatializer(width=0.7), BinauralMonitor(distance_m=1.0)]), 48000.0)  # another seat
    assert len(calls) == 4


def test_figures_are_of_the_settings_before_the_automation_moves_them(tmp_path: Path) -> None:
    """The demo's MIDI automation rides the device's width (0.3 .. 1.0); the figures, computed beside the render
    on copies taken before it starts, report the chain's starting width (0.2 here, outside the ride's range),
    while the chain itself ends where the ride leaves it."""
    from soundstage.demo import write_demo_session
    from soundstage.host.chainfile import find_chain

    session = write_demo_session(tmp_path / "demo")
    text = find_chain("studio-5").read_text()
    assert "width = 1.0" in text
    (session.parent / "studio-5-narrow.toml").write_text(text.replace("width = 1.0", "width = 0.2"))
    session_text = session.read_text()
    session.write_text(session_text.replace('chain = "studio-5"\nper_driver', 'chain = "studio-5-narrow.toml"\nper_driver'))
    assert session.read_text() != session_text
    result = render_session(session, tmp_path / "out", only=["studio-5"], overwrite=True)
    entry = next(e for e in result.report["renders"] if e["name"] == "studio-5")
    assert result.report["automation"]["parameter_changes"] > 0
    assert entry["device"]["settings"]["width"] == 0.2


def test_width_over_a_region_moves_the_listener_for_the_device_and_the_real_speakers() -> None:
    """:func:`region_width_cues`: at the nominal seat the same figures as :func:`width_cues` (another path: the
    feeds made once, the monitor moved); 5 cm to either side the real +-30 deg speaker's ILD for a hard-left
    source moves by under 1 dB while the device's moves by 3 dB or more (the canceller's sweet spot: the seat is
    applied to both); the device's center stays within 20 us and 0.5 dB of a real speaker where it stands."""
    from soundstage.acoustics.profiles import ListeningRegion
    from soundstage.analysis.device import region_width_cues, width_cues

    spatializer, monitor = Spatializer(), BinauralMonitor()
    region = region_width_cues(spatializer, monitor, SR, ListeningRegion(yaw_deg=0.0, fore_aft_m=0.0))
    assert [seat.position_m[1] for seat in region.seats] == [0.0, -0.05, 0.05]
    nominal = width_cues(spatializer, monitor, SR)
    for row, again in zip(region.rows[0], nominal):
        for key in ("device_itd_us", "reference_itd_us"):
            if row["source"] != "center" or key.startswith("device"):
                assert abs(row[key] - again[key]) <= 1.0, (row, again)
        assert abs(row["device_ild_db"] - again["device_ild_db"]) <= 0.05
    left = [next(r for r in rows if r["source"] == "hard left") for rows in region.rows]
    for moved in left[1:]:
        print(f"hard left 5 cm aside: device ILD {moved['device_ild_db']:+.2f}, real {moved['reference_ild_db']:+.2f} dB")
        assert abs(moved["reference_ild_db"] - left[0]["reference_ild_db"]) < 1.0
        assert abs(moved["device_ild_db"] - left[0]["device_ild_db"]) >= 3.0
    itd, ild = region.errors("center")
    assert np.abs(itd).max() <= 20.0 and np.abs(ild).max() <= 0.5


def test_iacc_is_one_for_one_signal_at_both_ears_and_near_zero_for_unrelated_ones() -> None:
    """The interaural cross-correlation the width figures use: one noise at both ears gives 1 (and a copy of it 0.5 ms
    late, inside the +-1 ms window, 1 too), a copy 5 ms late (outside it) or another noise about 0, and a shared noise
    plus a noise of each ear's own at the same level a half (+-0.05: 8 s of noise)."""
    from soundstage.analysis.binaural import iacc

    rng = np.random.default_rng(3)
    rate = 48000
    shared, own_left, own_right = (rng.standard_normal(8 * rate) for _ in range(3))
    band = (500.0, 2000.0)
    assert iacc(np.stack([shared, shared]), rate, band) == pytest.approx(1.0, abs=1e-9)
    assert iacc(np.stack([shared[24:], shared[:-24]]), rate, band) == pytest.approx(1.0, abs=0.005)
    assert iacc(np.stack([shared[240:], shared[:-240]]), rate, band) < 0.05
    assert iacc(np.stack([own_left, own_right]), rate, (2000.0, 8000.0)) < 0.05
    assert iacc(np.stack([shared + own_left, shared + own_right]), rate, band) == pytest.approx(0.5, abs=0.05)
    assert iacc(np.zeros((2, rate)), rate, band) == 0.0
