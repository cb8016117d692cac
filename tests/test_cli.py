"""The `soundstage` command: process, chain show, plugin info, demo; atomic outputs; Ctrl-C."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pedalboard
import pytest
from pedalboard.io import AudioFile

from bwf import write_stem
from helpers import tool
from soundstage import Chain, Gain, Processor, load_chain, load_plugin, save_chain
from soundstage.cli import main
from soundstage.host.external import external_parameters

SR = 48000


def write_wav(path: Path, audio: np.ndarray, rate: int = SR, bit_depth: int = 32) -> Path:
    with AudioFile(str(path), "w", rate, audio.shape[0], bit_depth=bit_depth) as writer:
        writer.write(audio)
    return path


def read(path: Path) -> np.ndarray:
    with AudioFile(str(path)) as reader:
        return reader.read(reader.frames)


def test_process_streams_a_file_like_the_one_shot_chain(
    tmp_path: Path, stereo_gain_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audio = (0.2 * np.random.default_rng(3).standard_normal((2, 30011))).astype(np.float32)
    source = write_wav(tmp_path / "mix.wav", audio)
    vst = load_plugin(stereo_gain_path)
    external_parameters(vst)["gain_db"].value = -6.0
    external_parameters(vst)["delay_samples"].value = 500
    chain = Chain([pedalboard.HighpassFilter(cutoff_frequency_hz=40.0), vst, Gain(gain_db=1.5)])
    save_chain(chain, tmp_path / "chain.toml")
    expected = load_chain(tmp_path / "chain.toml")(audio, SR)
    status = main(
        ["process", str(source), str(tmp_path / "out.wav"), "--chain", str(tmp_path / "chain.toml"), "--buffer-size", "1000"]
    )
    assert status == 0
    out = read(tmp_path / "out.wav")
    assert out.shape == audio.shape
    assert np.abs(out - expected).max() <= 1e-6
    assert "chain latency 563 samples, compensated" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain.toml", "mix.wav", "out.wav"]


def test_process_takes_its_output_with_o_as_the_other_commands_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """render, batch and export-plugin take -o; a user typing it for process gets the same file as the positional."""
    source = write_wav(tmp_path / "in.wav", np.full((1, 1000), 0.25, np.float32))
    (tmp_path / "g.toml").write_text('[[stages]]\ntype = "Gain"\nparameters = { gain_db = -6.0206 }\n')
    chain = ["--chain", str(tmp_path / "g.toml")]
    assert main(["process", str(source), "-o", str(tmp_path / "a.wav"), *chain]) == 0
    assert main(["process", str(source), str(tmp_path / "b.wav"), *chain]) == 0
    assert np.array_equal(read(tmp_path / "a.wav"), read(tmp_path / "b.wav"))
    assert float(read(tmp_path / "a.wav")[0, 500]) == pytest.approx(0.125, abs=1e-6)
    capsys.readouterr()
    assert main(["process", str(source), str(tmp_path / "c.wav"), "--output", str(tmp_path / "d.wav"), *chain]) == 2
    assert "output given twice" in capsys.readouterr().err
    assert main(["process", str(source), *chain]) == 2
    assert "no output file given" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "b.wav", "g.toml", "in.wav"]


def test_a_mono_file_through_a_stereo_preset_plays_as_dual_mono(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A mono vocal through a preset whose first stage takes stereo: what a DAW's stereo track does with a mono clip
    (the same signal on both channels at unity), which is what sox's `remix 1 1` writes; a mono chain keeps it mono."""
    tool("sox")
    mono, dual = tmp_path / "vocal.wav", tmp_path / "vocal-dual.wav"
    subprocess.run(
        ["sox", "-n", "-r", "48000", "-c", "1", "-b", "24", str(mono), "synth", "1.5", "pinknoise", "vol", "0.2"], check=True
    )
    subprocess.run(["sox", str(mono), str(dual), "remix", "1", "1"], check=True)
    before = mono.read_bytes()
    for name in ("headphones", "studio-5"):
        assert main(["process", str(mono), str(tmp_path / f"{name}-mono.wav"), "--chain", name]) == 0
        assert f"input {mono} is mono: played on both channels" in capsys.readouterr().out
        assert main(["process", str(dual), str(tmp_path / f"{name}-dual.wav"), "--chain", name]) == 0
        assert "is mono" not in capsys.readouterr().out
        from_mono, from_dual = read(tmp_path / f"{name}-mono.wav"), read(tmp_path / f"{name}-dual.wav")
        assert from_mono.shape == from_dual.shape and from_mono.shape[1] == 72000
        assert np.abs(from_mono - from_dual).max() <= 1e-7, name  # the same audio at unity, not -3 or -6 dB
        assert np.abs(from_mono).max() > 0.01
    assert mono.read_bytes() == before
    (tmp_path / "g.toml").write_text('[[stages]]\ntype = "Gain"\nparameters = { gain_db = 0.0 }\n')
    assert main(["process", str(mono), str(tmp_path / "g.wav"), "--chain", str(tmp_path / "g.toml")]) == 0
    assert read(tmp_path / "g.wav").shape[0] == 1 and "is mono" not in capsys.readouterr().out


def test_overwrite_and_bit_depth(tmp_path: Path) -> None:
    source = write_wav(tmp_path / "in.wav", np.full((1, 1000), 0.25, np.float32))
    (tmp_path / "g.toml").write_text('[[stages]]\ntype = "Gain"\nparameters = { gain_db = -6.0206 }\n')
    target = tmp_path / "out.flac"
    assert main(["process", str(source), str(target), "--chain", str(tmp_path / "g.toml")]) == 0
    assert main(["process", str(source), str(target), "--chain", str(tmp_path / "g.toml")]) == 2
    assert (
        main(["process", str(source), str(target), "--chain", str(tmp_path / "g.toml"), "--overwrite", "--bit-depth", "16"]) == 0
    )
    with AudioFile(str(target)) as reader:
        assert reader.file_dtype == "int16"
        assert float(reader.read(1000)[0, 500]) == pytest.approx(0.125, abs=1 / 32768)


def test_chain_show_lists_channels_and_latency(
    tmp_path: Path, stereo_gain_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vst = load_plugin(stereo_gain_path)
    external_parameters(vst)["delay_samples"].value = 100
    save_chain(Chain([Gain(), vst], names=["trim", "vst"]), tmp_path / "c.toml")
    assert main(["chain", "show", str(tmp_path / "c.toml")]) == 0
    out = capsys.readouterr().out
    assert "trim" in out and "2 -> 2  (takes 2)" in out
    assert "total latency: 163 samples" in out  # 100 reported + the 63-sample pedalboard queue
    assert "vst.gain_db" in out


def test_plugin_info_lists_parameters(stereo_gain_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 0 dB default came back from the plugin's 0..1 float as -1e-06 dB, and was printed so."""
    assert main(["plugin", "info", str(stereo_gain_path)]) == 0
    out = capsys.readouterr().out
    assert "SS Test Gain (effect)" in out and "channels: 2" in out
    assert "    gain_db: 0 dB  range -60..12 dB  default 0  float\n" in out
    assert "latency_frames" in out and "(read-only)" in out


def test_demo_writes_and_renders_a_session(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "stem bass: resampled 44100 -> 48000 Hz" in out
    renders = tmp_path / "demo" / "renders"
    names = sorted(p.name for p in renders.iterdir())
    assert "mixdown.wav" in names and "studio-5-mid_left.wav" in names and "ab-B.wav" in names and "render-report.json" in names
    import json

    report = json.loads((renders / "render-report.json").read_text())
    levels = {o["file"]: o for o in report["outputs"]}
    assert abs(levels["ab-A.wav"]["integrated_lufs"] - levels["ab-B.wav"]["integrated_lufs"]) <= 0.1
    assert levels["mixdown.wav"]["clipped_samples"] == 0
    starts = {s["name"]: s["offset_s"] for s in report["stems"]}
    assert starts == {"vocal": 1.0, "bass": 0.0, "drums": 0.0, "pad": 2.0}
    assert report["automation"]["parameter_changes"] == 2 * 65  # the width ride on two renders
    assert main(["demo", str(tmp_path / "demo")]) == 2  # refuses to overwrite


@pytest.mark.parametrize(
    ("signum", "status", "message"),
    [
        (signal.SIGINT, 130, "interrupted; no output was written"),
        (signal.SIGTERM, 143, "terminated by SIGTERM; no output was written"),
        (signal.SIGHUP, 129, "terminated by SIGHUP; no output was written"),
    ],
)
def test_a_stopped_process_leaves_no_partial_output(tmp_path: Path, signum: int, status: int, message: str) -> None:
    long = (0.1 * np.random.default_rng(0).standard_normal((2, SR * 120))).astype(np.float32)
    source = write_wav(tmp_path / "long.wav", long)
    (tmp_path / "slow.toml").write_text(
        '[[stages]]\ntype = "pedalboard.Reverb"\n[[stages]]\ntype = "Gain"\n[[stages]]\ntype = "pedalboard.Chorus"\n'
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "soundstage.cli",
            "process",
            str(source),
            str(tmp_path / "out.wav"),
            "--chain",
            str(tmp_path / "slow.toml"),
            "--buffer-size",
            "256",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 30
    while time.time() < deadline and not any(p.name.endswith(".partial") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    assert any(p.name.endswith(".partial") for p in tmp_path.iterdir()), "the render never started"
    time.sleep(0.3)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == status, err
    assert message in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert os.path.getsize(source) > 0


def test_process_says_when_the_output_clipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A float mix peaking at +6 dBFS into a 24-bit FLAC was clipped in silence. Now the count (as many samples as
    the input has past full scale, through a unity chain), the peak and the fix; a float WAV keeps them and says so."""
    t = np.arange(SR) / SR
    hot = (2.0 * np.sin(2 * np.pi * 997 * t))[None].repeat(2, 0)
    source = write_wav(tmp_path / "hot.wav", hot)
    (tmp_path / "unity.toml").write_text('[[stages]]\ntype = "Gain"\n')
    past = int(np.count_nonzero(np.abs(hot.astype(np.float32)) > 1.0))  # as the float32 file holds them
    assert main(["process", str(source), str(tmp_path / "hot.flac"), "--chain", str(tmp_path / "unity.toml")]) == 0
    out = capsys.readouterr().out
    count = int(re.search(r"hot.flac: (\d+) sample\(s\) CLIPPED at full scale", out).group(1))  # type: ignore[union-attr]
    assert abs(count - past) <= 3, (count, past)
    assert "peaks at +6.0 dBFS" in out and "--bit-depth 32" in out
    assert main(["process", str(source), str(tmp_path / "float.wav"), "--chain", str(tmp_path / "unity.toml")]) == 0
    assert f"float.wav: {int(np.count_nonzero(np.abs(hot.astype(np.float32)) > 1.0))} sample(s) over full scale" in (
        capsys.readouterr().out
    )
    quiet = write_wav(tmp_path / "quiet.wav", 0.5 * hot)  # peaks at exactly full scale: nothing past it
    assert main(["process", str(quiet), str(tmp_path / "quiet.flac"), "--chain", str(tmp_path / "unity.toml")]) == 0
    assert "full scale" not in capsys.readouterr().out


def test_under_nohup_a_hangup_does_not_stop_a_render(tmp_path: Path) -> None:
    """``nohup soundstage ... &`` and log out: the process starts with SIGHUP ignored, and must keep it so (it turned
    SIGHUP into 'terminated by SIGHUP' whatever nohup said, so the render stopped when the terminal closed)."""
    audio = (0.1 * np.random.default_rng(1).standard_normal((2, SR * 20))).astype(np.float32)
    source = write_wav(tmp_path / "in.wav", audio)
    (tmp_path / "slow.toml").write_text('[[stages]]\ntype = "pedalboard.Reverb"\n[[stages]]\ntype = "Gain"\n')
    process = subprocess.Popen(
        [sys.executable, "-m", "soundstage.cli", "process", str(source), str(tmp_path / "out.wav")]
        + ["--chain", str(tmp_path / "slow.toml"), "--buffer-size", "64"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),  # as nohup starts it
    )
    deadline = time.time() + 30
    while time.time() < deadline and not any(p.name.endswith(".partial") for p in tmp_path.iterdir()):
        time.sleep(0.02)
    assert any(p.name.endswith(".partial") for p in tmp_path.iterdir()), "the render never started"
    process.send_signal(signal.SIGHUP)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    with AudioFile(str(tmp_path / "out.wav")) as written:
        assert written.frames == audio.shape[1]


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    source = write_wav(tmp_path / "in.wav", np.zeros((2, SR * 4), np.float32))
    (tmp_path / "g.toml").write_text('[[stages]]\ntype = "Gain"\n')
    command = [
        sys.executable,
        "-m",
        "soundstage.cli",
        "process",
        str(source),
        "--chain",
        str(tmp_path / "g.toml"),
        "--buffer-size",
        "4096",
    ]
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    process = subprocess.Popen(
        [*command[:5], str(tmp_path / "tty.wav"), *command[5:]], stderr=secondary, stdout=subprocess.DEVNULL
    )
    os.close(secondary)
    captured = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        captured += chunk
    process.wait(timeout=60)
    os.close(primary)
    assert process.returncode == 0
    assert b"in.wav" in captured and b"%|" in captured  # tqdm's bar
    piped = subprocess.run([*command[:5], str(tmp_path / "pipe.wav"), *command[5:]], capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and "%|" not in piped.stderr


def test_analyze_crosstalk_prints_the_table_and_draws_the_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib", reason="plots need matplotlib: pip install 'soundstage[plot]'")
    from soundstage.acoustics.hrtf import DEFAULT_SOFA

    hrtf = str(DEFAULT_SOFA) if DEFAULT_SOFA.exists() else "model"
    plot = tmp_path / "separation.png"
    assert main(["analyze", "crosstalk", "--device", "studio-5", "--distance-m", "1", "--hrtf", hrtf, "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "band Hz" in out and "mean 250 Hz-6.3 kHz: model" in out and "peak gain" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10000
    assert main(["analyze", "crosstalk", "--device", "nope"]) == 2
    assert "unknown device 'nope'" in capsys.readouterr().err


def test_analyze_beam_and_zones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib", reason="plots need matplotlib: pip install 'soundstage[plot]'")
    assert main(["analyze", "beam", "--device", "studio-5", "--plot", str(tmp_path / "beam.png")]) == 0
    out = capsys.readouterr().out
    assert "0.5-3 kHz: beam null >=" in out and "matrix" in out
    assert (tmp_path / "beam.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["analyze", "zones", "--device", "studio-5", "--plot", str(tmp_path / "zones.png")]) == 0
    out = capsys.readouterr().out
    assert "fraction of the grid with >= 10 dB separation:" in out and (tmp_path / "zones.png").stat().st_size > 5000
    assert "with the center image within 20 us and 1 dB of the device:" in out


def test_analyze_device_prints_the_end_to_end_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "device", "--device", "studio-5"]) == 0
    out = capsys.readouterr().out
    assert "hard-left ITD us / ILD 1-4 kHz dB" in out and "stereo reference" in out and "crosstalk separation" in out
    assert "over the listening region (+-5 deg yaw, +-5 cm lateral, +-5 cm fore-aft; 27 seats)" in out
    # the width of pink noise (center plus decorrelated sides) at the ears: on the head it is designed on, in 0.5-2 kHz
    # the device's interaural cross-correlation is within 0.05 of a real +-30 deg pair's
    row = out.split("width of the mixed program at the ears:")[1].splitlines()[0]
    low = re.search(r"500-2000 Hz (\d\.\d\d) / (\d\.\d\d) \(([-+]\d\.\d\d)\)", row)
    assert low is not None and "2000-8000 Hz" in row, row
    device, reference, difference = (float(value) for value in low.groups())
    assert 0.1 < reference < 0.9 and abs(difference) <= 0.05 and difference == pytest.approx(device - reference, abs=0.011)


def test_analyze_device_on_several_heads_personalized_over_a_region_with_a_plot(
    kemar_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--hrtf takes several heads (a section each), --design-hrtf designs on a measured one, --region-* sets the
    seats the figures are given over, --plot writes separation and width per seat."""
    plot = tmp_path / "device.png"
    args = ["analyze", "device", "--hrtf", "model", kemar_path, "--design-hrtf", kemar_path, "--region-yaw-deg", "0"]
    assert main([*args, "--region-fore-aft-m", "0", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert out.count("device chain: studio-5 at 2 m, designed on") == 2 and f"heard through {kemar_path}" in out
    assert out.count("over the listening region (+-5 cm lateral; 3 seats)") == 2
    assert plot.read_bytes()[:4] == b"\x89PNG" and plot.stat().st_size > 20000


def test_analyze_virtualizer_prints_its_cues_beside_the_measured_head(
    kemar_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from soundstage.acoustics.hrtf import HrtfSet
    from soundstage.analysis import ild_db

    plot = tmp_path / "ild.png"
    args = ["analyze", "virtualizer", "--azimuth-deg", "40", "--against", kemar_path]
    assert main([*args, *(["--plot", str(plot)] if importlib.util.find_spec("matplotlib") else [])]) == 0
    out = capsys.readouterr().out
    rows = {
        float(line.split()[0]): [float(v) for v in line.split()[1:]] for line in out.splitlines() if line[:9].strip().isdigit()
    }
    assert sorted(rows) == [125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0]
    pair = HrtfSet.from_sofa(kemar_path, sample_rate=48000).hrir(40.0)
    measured = ild_db(pair[0], pair[1], 48000, np.array([1000.0, 4000.0]), fraction=1)
    assert rows[1000.0][1] == pytest.approx(measured[0], abs=0.05) and rows[4000.0][1] == pytest.approx(measured[1], abs=0.05)
    for virtual, kemar, difference in rows.values():
        assert difference == pytest.approx(virtual - kemar, abs=0.11)
    itd = float(out.split("ITD: virtualizer ")[1].split()[0])
    from soundstage.analysis import itd_s
    from soundstage.stages.virtualizer import design_virtualizer

    ears = design_virtualizer(48000, azimuth_deg=40.0).ear_filters(1.0)[:, 0]  # the head model's, as a left source
    assert itd == pytest.approx(itd_s(ears[0], ears[1], 48000) * 1e6, abs=2.0)  # the report runs the stage
    assert itd > 0.0875 / 343 * (np.deg2rad(40) + np.sin(np.deg2rad(40))) * 1e6 + 40  # the sphere's: longer than Woodworth's
    if plot.exists():
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["analyze", "virtualizer", "--against", str(tmp_path / "missing.sofa")]) == 2
    assert "missing.sofa" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["crosstalk", "beam", "zones", "device", "virtualizer"])
def test_a_plot_that_cannot_be_written_is_refused_before_the_analysis(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import soundstage.analysis.report

    def analysis_ran(*args: object, **kwargs: object) -> str:
        raise AssertionError("the analysis ran before the plot path was checked")

    monkeypatch.setattr(soundstage.analysis.report, f"{command}_report", analysis_ran)
    assert main(["analyze", command, "--plot", str(tmp_path / "no" / "such" / "plot.png")]) == 2
    assert f"output folder {str(tmp_path / 'no' / 'such')!r} does not exist; create it first" in capsys.readouterr().err
    assert main(["analyze", command, "--plot", str(tmp_path)]) == 2
    assert f"give a file name such as {str(tmp_path / 'plot.png')!r}" in capsys.readouterr().err
    assert main(["analyze", command, "--plot", str(tmp_path / "plot.txt")]) == 2  # before: matplotlib's traceback
    error = capsys.readouterr().err
    assert "plot.txt': a plot cannot be written as .txt; end its name in .png, .svg or .pdf" in error
    assert len(error.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_analyze_crosstalk_over_the_region_on_several_heads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--hrtf takes several files, --design-hrtf designs on one; the region lines agree with separation_db seat by seat."""
    import re

    from soundstage.acoustics.hrtf import DEFAULT_SOFA, HrtfSet
    from soundstage.acoustics.profiles import ListeningRegion, load_profile
    from soundstage.analysis.crosstalk import separation_db
    from soundstage.stages.crosstalk import design_crosstalk_canceller

    if not DEFAULT_SOFA.exists():
        pytest.skip(f"the MIT KEMAR set is not installed at {DEFAULT_SOFA} (Debian: apt-get install libmysofa1)")
    copy = tmp_path / "kemar-copy.sofa"
    shutil.copy(DEFAULT_SOFA, copy)
    args = ["analyze", "crosstalk", "--distance-m", "1", "--region-fore-aft-m", "0", "--hrtf", str(DEFAULT_SOFA), str(copy)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "MIT_KEMAR_normal_pin dB" in out and "kemar-copy dB" in out and "(+-5 deg yaw, +-5 cm lateral; 9 seats)" in out
    shown = [float(v) for v in re.findall(r"  kemar-copy: mean ([-\d.]+) dB, worst seat ([-\d.]+) dB", out)[0]]
    kemar = HrtfSet.from_sofa(str(DEFAULT_SOFA), sample_rate=48000.0)
    profile = load_profile("studio-5", distance_m=1.0)
    design = design_crosstalk_canceller(profile, region=ListeningRegion(fore_aft_m=0.0))  # robust over the region shown
    seats = [
        separation_db(design.impulse, design.delay_samples, 48000.0, profile, kemar, listener=s)[1].mean()
        for s in ListeningRegion(fore_aft_m=0.0).positions()
    ]
    assert shown == pytest.approx([round(float(np.mean(seats)), 1), round(float(np.min(seats)), 1)], abs=0.051)
    assert (
        main(["analyze", "crosstalk", "--distance-m", "1", "--design-hrtf", str(DEFAULT_SOFA), "--hrtf", str(DEFAULT_SOFA)]) == 0
    )
    out = capsys.readouterr().out
    assert "(personalized)" in out
    mean = float(re.search(r"measured ([-\d.]+) dB \(worst band", out).group(1))  # type: ignore[union-attr]
    print(f"personalized on KEMAR, 1 m: mean {mean} dB")
    assert mean >= 22.0


def test_the_command_line_parses_without_loading_the_processing_layers() -> None:
    """``soundstage --help`` starts fast: building the parser loads no scipy, pedalboard, sofar or stage."""
    import subprocess
    import sys

    probe = (
        "import sys; from soundstage.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('scipy', 'pedalboard', 'sofar', 'numpy', 'soundstage.stages', 'soundstage.host.chain') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]", loaded
    import soundstage

    assert soundstage.Spatializer.type_name == "Spatializer" and "Spatializer" in dir(soundstage)  # still there on use


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["process", "in.wav", "out.wav", "--chain", "nochain"], "no chain file 'nochain'"),
        (["render", "nothere.toml", "-o", "renders"], "session file 'nothere.toml' does not exist"),
        (["batch", "nofolder", "--chain", "studio-5", "-o", "out"], "'nofolder' is not a folder, a glob"),
        (["session", "new", "nofolder"], "'nofolder' does not exist"),
    ],
)
def test_a_refused_command_says_so_without_loading_the_signal_libraries(tmp_path: Path, command: list[str], said: str) -> None:
    """A mistake is said at once: a command refused before any audio is read says so before scipy.signal, pyloudnorm,
    sofar or scipy.spatial load (together a second or two: such a refusal took 2.4-3.0 s)."""
    probe = (
        f"import sys; from soundstage.cli import main; code = main({command!r}); "
        "print(code, sorted(m for m in ('scipy.signal', 'pyloudnorm', 'sofar', 'scipy.spatial') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert done.stdout.strip() == "2 []", done.stdout
    assert said in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_help_reads_as_prose(capsys: pytest.CaptureFixture[str]) -> None:
    """``soundstage --help`` says what the tool does, with no reST markup from a docstring (it said
    "The ``soundstage`` command.")."""
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "``" not in text and ":class:" not in text
    assert "crosstalk cancellation" in text and "COMMAND --help" in text


@pytest.mark.parametrize("command", [["live"], ["midi", "learn"], ["midi", "monitor"]])
def test_every_midi_port_option_says_how_a_port_is_given(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """live --help said "MIDI input port (see the port forms above)", and nothing above it showed them."""
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "above" not in text
    for form in ("virtual:NAME", "jack:NAME", "tcp:HOST:PORT", "tcp-listen:HOST:PORT"):
        assert form in text


def test_the_command_line_holds_the_numerical_thread_pools_to_one_unless_told() -> None:
    """Before numpy loads, the command line sets OpenBLAS/OpenMP/MKL to one thread (soundstage parallelizes itself);
    a value the user set stays; once numpy is loaded it is too late, and nothing is set."""
    code = (
        "import os, sys; from soundstage.cli import _one_numerical_thread; _one_numerical_thread(); import numpy; "
        "print(os.environ.get('OPENBLAS_NUM_THREADS'), os.environ.get('OMP_NUM_THREADS'))"
    )
    late = "import numpy, os; from soundstage.cli import _one_numerical_thread; _one_numerical_thread(); print(os.environ.get('OPENBLAS_NUM_THREADS'))"
    base = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    run = functools.partial(subprocess.run, capture_output=True, text=True, check=True, timeout=120)
    assert run([sys.executable, "-c", code], env=base).stdout.split() == ["1", "1"]
    assert run([sys.executable, "-c", code], env={**base, "OPENBLAS_NUM_THREADS": "2"}).stdout.split() == ["2", "1"]
    assert run([sys.executable, "-c", late], env=base).stdout.split() == ["None"]


def test_analyze_crosstalk_designs_over_the_region_it_reports_or_at_the_seat(capsys: pytest.CaptureFixture[str]) -> None:
    """By default the canceller is designed robust over the region the report measures; ``--seat``: exact at the seat.
    On MIT KEMAR (never designed on) at 1 m the region's mean and worst seat are higher robust."""
    import re

    from soundstage.acoustics.hrtf import DEFAULT_SOFA

    if not DEFAULT_SOFA.exists():
        pytest.skip(f"the MIT KEMAR set is not installed at {DEFAULT_SOFA} (Debian: apt-get install libmysofa1)")
    figures = {}
    for flag in ([], ["--seat"]):
        args = ["analyze", "crosstalk", "--distance-m", "1", "--region-fore-aft-m", "0", "--hrtf", str(DEFAULT_SOFA), *flag]
        assert main(args) == 0
        out = capsys.readouterr().out
        assert ("robust over +-5 deg yaw, +-5 cm lateral" in out) == (not flag)
        found = re.search(r"  measured: mean ([-\d.]+) dB, worst seat ([-\d.]+) dB", out)
        assert found is not None, out
        figures["seat" if flag else "robust"] = (float(found.group(1)), float(found.group(2)))
    print(f"analyze crosstalk on KEMAR, 1 m, region mean / worst seat: {figures}")
    assert figures["robust"][0] > figures["seat"][0] and figures["robust"][1] > figures["seat"][1] + 1.0


def test_analyze_crosstalk_on_other_listeners(capsys: pytest.CaptureFixture[str]) -> None:
    """``--other-listeners``: the design on listeners made from each head (for the model: its ears moved; a SOFA set
    is also scaled), each row the separation the analysis module measures on that listener."""
    import re

    from soundstage.acoustics.head import HybridSphereHead
    from soundstage.acoustics.profiles import ListeningRegion, load_profile
    from soundstage.analysis.crosstalk import EAR_PLACEMENTS_DEG, MovedEars, region_separation_db, separation_db
    from soundstage.stages.crosstalk import design_crosstalk_canceller

    assert main(["analyze", "crosstalk", "--distance-m", "1", "--other-listeners"]) == 0
    out = capsys.readouterr().out
    section = out.split("on other listeners made from each head")[1]
    rows = re.findall(r"ears ([-+\d]+) / ([-+\d]+) deg back: +([-\d.]+) / +([-\d.]+) dB; +([-\d.]+) / +([-\d.]+) dB", section)
    assert [(float(left), float(right)) for left, right, *_ in rows] == list(EAR_PLACEMENTS_DEG), section
    assert "size x" not in section  # a model is not scaled: its radius is a parameter of its own
    profile = load_profile("studio-5", distance_m=1.0)
    region = ListeningRegion()
    design = design_crosstalk_canceller(profile, head=HybridSphereHead(), region=region)
    left, right, *printed = rows[-1]
    listener = MovedEars(HybridSphereHead(), float(left), float(right))
    bands = separation_db(design.impulse, design.delay_samples, 48000.0, profile, listener)[1]
    spread = region_separation_db(design.impulse, design.delay_samples, 48000.0, profile, listener, region)
    expected = (bands.mean(), bands.min(), spread.mean_db, spread.worst_seat[0])
    assert np.allclose([float(value) for value in printed], expected, atol=0.051), (printed, expected)


def test_process_with_the_listeners_own_head(kemar_path: str, tmp_path: Path, noise: np.ndarray) -> None:
    """``--hrtf``: the preset designed and previewed on that head (the same output as the API's); on a chain with no
    stage that takes a head it is refused in one line and nothing is written."""
    import soundfile as sf

    source = tmp_path / "in.wav"
    sf.write(source, noise.T, 48000, subtype="FLOAT")
    out = tmp_path / "out.wav"
    assert main(["process", str(source), str(out), "--chain", "studio-5-binaural", "--hrtf", kemar_path]) == 0
    written, rate = sf.read(out, dtype="float32", always_2d=True)
    expected = load_chain("studio-5-binaural", hrtf=kemar_path)(noise, 48000)
    assert rate == 48000 and np.abs(written.T - expected).max() <= 1e-5 * np.abs(expected).max()  # float32 blocks: -100 dB
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "soundstage.cli",
            "process",
            str(source),
            str(tmp_path / "no.wav"),
            "--chain",
            "mastering",
            "--hrtf",
            kemar_path,
        ],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "no stage takes a head" in refused.stderr and not (tmp_path / "no.wav").exists()


def test_hrtf_given_twice_keeps_both() -> None:
    """`--hrtf a.sofa --hrtf b.sofa` kept only b.sofa, silently; now both heads count, as `--hrtf a.sofa b.sofa`."""
    from soundstage.cli import build_parser

    parser = build_parser()
    chain = ["--chain", "studio-5"]
    for command in (
        ["process", "in.wav", "out.wav", *chain],
        ["render", "s.toml"],
        ["batch", "in/", *chain],
        ["export-plugin", "studio-5", "-o", "p/"],
    ):
        twice = parser.parse_args([*command, "--hrtf", "a.sofa", "--hrtf", "b.sofa", "c.sofa"])
        assert twice.hrtf == ["a.sofa", "b.sofa", "c.sofa"], command
        assert parser.parse_args(command).hrtf is None
    for command in (["analyze", "crosstalk"], ["analyze", "device"]):
        assert parser.parse_args([*command, "--hrtf", "model", "--hrtf", "x.sofa"]).hrtf == ["model", "x.sofa"]
        assert parser.parse_args(command).hrtf is None  # the model, where it is used


def test_a_format_or_rate_given_twice_is_taken_once() -> None:
    """export-plugin --format clap,clap built the CLAP twice into one folder and failed on the second ("File exists")."""
    from soundstage.cli import build_parser

    args = build_parser().parse_args(
        ["export-plugin", "studio-5", "-o", "out", "--format", "clap,CLAP, lv2", "--rates", "48000,48000"]
    )
    assert (args.format, args.rates) == (["clap", "lv2"], [48000.0])


def test_version_says_what_a_bug_report_needs(capsys: pytest.CaptureFixture[str]) -> None:
    """`soundstage --version` said 'the following arguments are required: command'."""
    import platform
    from importlib.metadata import version

    from soundstage.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == (
        f"soundstage {version('soundstage')} (pedalboard {version('pedalboard')}, Python {platform.python_version()})"
    )


def test_a_warning_prints_as_one_line(tmp_path: Path) -> None:
    """A warning (here: a chain file's old key) is one line, as an error is, not Python's two: the warning's class
    and file, then the source line of soundstage that raised it."""
    write_stem(tmp_path / "in.wav", np.zeros((2, 4800), np.float32), SR)
    (tmp_path / "chain.toml").write_text(
        '[[stages]]\ntype = "pedalboard.Chorus"\nparameters = { centre_delay_ms = 7.0 }\n', encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "soundstage.cli", "process", "in.wav", "out.wav", "--chain", "chain.toml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "DPF" not in line]
    assert lines == [
        "soundstage: warning: chain.toml: stages[0].parameters.centre_delay_ms: 'centre_delay_ms' is deprecated, write "
        "'center_delay_ms' (soundstage spells center the American way everywhere); it loads as that"
    ]


def test_process_renders_the_chains_tail_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--tail 0.75``: the output runs 0.75 s past the input's end and holds the reverb's tail, equal within 1e-6
    to the one-shot chain run on the input with that much silence after it, at two block sizes; the input's
    length stays what it was without. (Was: a reverb's tail was cut at the input's end, with no way to keep it.)"""
    audio = (0.3 * np.random.default_rng(5).standard_normal((2, SR))).astype(np.float32)
    source = write_wav(tmp_path / "in.wav", audio)
    chain_file = tmp_path / "verb.toml"
    chain_file.write_text('[[stages]]\ntype = "pedalboard.Reverb"\nparameters = { room_size = 0.9, wet_level = 0.6 }\n')
    tail = int(0.75 * SR)
    expected = load_chain(chain_file)(np.pad(audio, ((0, 0), (0, tail))), SR)
    for block in ("1000", "65536"):
        out = tmp_path / f"out-{block}.wav"
        assert main(["process", str(source), str(out), "--chain", str(chain_file), "--tail", "0.75", "--buffer-size", block]) == 0
        assert "wrote " + str(out) + ": 1.75 s (0.75 s of it the chain's tail)" in capsys.readouterr().out
        written = read(out)
        assert written.shape == (2, SR + tail)
        assert np.abs(written - expected).max() <= 1e-6
    last = 20 * np.log10(np.sqrt(np.mean(expected[:, -tail // 3 :] ** 2)))
    assert last > -60.0, f"the reverb's last quarter-second is at {last:.1f} dBFS: no tail to keep"
    assert main(["process", str(source), str(tmp_path / "cut.wav"), "--chain", str(chain_file)]) == 0
    assert read(tmp_path / "cut.wav").shape == (2, SR)


def test_a_tail_cut_where_the_file_ends_is_said_with_the_tail_that_renders_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reverb's or a delay's tail cut at the input's end (pedalboard's same-length rule) was cut without a word. The
    chain is heard on past the end: where it stays within 60 dB of the output's peak for over 0.1 s, a line says for
    how long and the ``--tail`` that renders it, the same at any block size; rendered with that tail, the file's
    last 10 ms are 60 dB (within 6) below its peak and nothing is said. A delay fed back on itself rings past the
    30 s it is heard for. Chains that ring no longer than a filter (the presets, on a file that ends loud) say
    nothing."""
    note = np.zeros((2, SR // 2), np.float32)
    note[:, : SR // 10] = 0.3 * np.sin(2 * np.pi * 440 * np.arange(SR // 10) / SR)
    source = write_wav(tmp_path / "note.wav", note)
    verb = tmp_path / "verb.toml"
    verb.write_text('[[stages]]\ntype = "pedalboard.Reverb"\nparameters = { room_size = 0.9 }\n')
    said = set()
    for block in ("65536", "8192", "1000"):
        assert (
            main(["process", str(source), str(tmp_path / "cut.wav"), "--chain", str(verb), "--buffer-size", block, "--overwrite"])
            == 0
        )
        said.add(capsys.readouterr().out.splitlines()[-1])
    assert len(said) == 1, said
    found = re.search(r"cut.wav: the chain still rings where it ends \(a reverb's or a delay's tail, cut\): it stays within "
                      r"60 dB of the output's peak ([\d.]+) s longer; pass --tail ([\d.]+) to render it$", said.pop())  # fmt: skip
    assert found is not None and 1.0 < float(found[1]) <= float(found[2]) < 10.0, found
    assert main(["process", str(source), str(tmp_path / "whole.wav"), "--chain", str(verb), "--tail", found[2]]) == 0
    assert "rings" not in capsys.readouterr().out
    whole = read(tmp_path / "whole.wav")
    end_db = 20 * np.log10(np.abs(whole[:, -SR // 100 :]).max() / np.abs(whole).max())
    print(f"rings {found[1]} s past the end; with --tail {found[2]} the last 10 ms are at {end_db:.1f} dB re the peak")
    assert -66.0 < end_db < -54.0
    fed_back = tmp_path / "delay.toml"
    fed_back.write_text('[[stages]]\ntype = "pedalboard.Delay"\nparameters = { delay_seconds = 0.5, feedback = 0.99 }\n')
    assert main(["process", str(source), str(tmp_path / "d.wav"), "--chain", str(fed_back)]) == 0
    assert "the chain still rings where it ends, and 30 s later (a delay fed back on itself?)" in capsys.readouterr().out
    loud = write_wav(tmp_path / "loud.wav", (0.3 * np.random.default_rng(3).standard_normal((2, SR))).astype(np.float32))
    for preset in ("mastering", "studio-5-binaural", "stereo-reference"):
        assert main(["process", str(loud), str(tmp_path / f"{preset}.wav"), "--chain", preset]) == 0
        assert "rings" not in capsys.readouterr().out, preset


class HumsFaintly(Processor):
    """Adds -180 dBFS of DC (a plugin's offset, a denormal guard): on digital silence, all there is."""

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        return block + np.float32(1e-9)


def test_a_silent_output_with_a_faint_offset_does_not_ring(tmp_path: Path) -> None:
    """On a silent input the output's peak is the offset itself, and 60 dB below it the offset went on past the end
    for ever: 30 s of silence were processed and a delay "fed back on itself" said. Nothing rings below -120 dBFS."""
    from soundstage.fileio import process_file

    source = write_wav(tmp_path / "silence.wav", np.zeros((2, SR // 2), np.float32))
    info = process_file(HumsFaintly(), source, tmp_path / "out.wav")
    assert info["ringing_s"] == 0.0 and info["frames"] == SR // 2


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    """``soundstage session check S | head -1``: when the reader of the output has gone, the command ends with 141
    (a tool stopped by SIGPIPE) and nothing on stderr. (Was: a BrokenPipeError traceback.)"""
    write_stem(tmp_path / "a.wav", np.zeros((2, 4800), np.float32), SR)
    (tmp_path / "session.toml").write_text('format = 1\n[[stems]]\npath = "a.wav"\n', encoding="utf-8")
    command = [sys.executable, "-m", "soundstage.cli", "session", "check", "session.toml"]
    with subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as running:
        assert running.stdout is not None and running.stderr is not None
        running.stdout.close()  # gone before the first line: every write of the command meets a closed pipe
        stderr = running.stderr.read().decode()
        assert running.wait(timeout=120) == 141, stderr
    assert stderr == ""


class GoesUnstable(Processor):
    """Infinite from 0.5 s to 0.75 s, then sound again (a stage run unstable and reset, a plugin misbehaving)."""

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        self._at, self._rate = 0, sample_rate

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        out = block.copy()
        times = (self._at + np.arange(block.shape[1])) / self._rate
        out[:, (times >= 0.5) & (times < 0.75)] = np.inf
        self._at += block.shape[1]
        return out


def test_live_plays_and_records_silence_for_an_output_that_is_not_finite(tmp_path: Path, capsys) -> None:
    """A live chain whose output turned inf sent it to the sound device (full-scale noise at a speaker) and the take.
    Those blocks are silence now, said at once and in the summary; the rest of the take is kept as played. (The
    stereo reference is there for the head tracker live needs something to move.)"""
    rate = 48000
    source = tmp_path / "in.wav"
    x = (np.random.default_rng(2).standard_normal((2, rate)) * 0.1).astype(np.float32)
    with AudioFile(str(source), "w", rate, 2, bit_depth=32) as file:
        file.write(x)
    chain = tmp_path / "chain.toml"
    chain.write_text(f'format = 1\n[[stages]]\ntype = "StereoReference"\n[[stages]]\ntype = "{GoesUnstable.type_name}"\n')
    take = tmp_path / "take.wav"
    live = ["live", "--chain", str(chain), "--head-tracker", "udp:0", "--input", str(source), "--record", str(take)]
    assert main([*live, "--block", "480"]) == 0
    said = capsys.readouterr().out
    # inf from 0.5 s to 0.75 s of the chain's stream: 25 of its 480-sample blocks, the first heard at 0.5 s less the
    # reference's latency (live compensates it, as the offline chain does)
    want = load_chain(chain)(x, rate)
    inf = ~np.isfinite(want).all(axis=0)
    latency = load_chain(chain).latency_samples
    assert np.flatnonzero(inf).tolist() == list(range(24000 - latency, 36000 - latency))
    first_s = (24000 - latency) / rate
    assert f"{first_s:8.2f} s  muted: the chain's output holds inf or NaN" in said
    assert f"25 block(s) muted (inf or NaN in the chain's output; the first at {first_s:.2f} s)" in said
    with AudioFile(str(take)) as file:
        got = file.read(file.frames)
    want[:, inf] = 0.0  # those blocks: silence
    assert got.shape == x.shape and np.isfinite(got).all()
    np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize(
    ("argv", "said", "command"),
    [
        # argparse said "the following arguments are required: --chain", and nothing of the option it did not know
        (
            ["process", "in.wav", "out.wav", "--chian", "mastering"],
            "unknown option '--chian' (did you mean '--chain'?)",
            "process",
        ),
        (["process", "in.wav", "out.wav", "-chain", "mastering"], "unknown option '-chain' (did you mean '--chain'?)", "process"),
        # argparse named the top command's options (and its help) for a subcommand's misspelt one
        (
            ["process", "in.wav", "out.wav", "--chain=mastering", "--overwite"],
            "unknown option '--overwite' (did you mean '--overwrite'?)",
            "process",
        ),
        (["procss", "in.wav"], "unknown command 'procss' (did you mean 'process'? commands: process, chain,", ""),
        (["session", "chek", "s.toml"], "unknown command 'chek' (did you mean 'check'? commands: new, check)", "session"),
        (["analyze", "crostalk"], "unknown command 'crostalk' (did you mean 'crosstalk'?", "analyze"),
    ],
)
def test_a_misspelt_option_or_command_is_named_with_the_one_meant(
    argv: list[str], said: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    error = capsys.readouterr().err
    assert stop.value.code == 2 and error.count("\n") == 1, error
    assert error.startswith(f"soundstage: error: {said}"), error
    assert error.rstrip().endswith(f"see '{' '.join(['soundstage', command]).strip()} --help'"), error


@pytest.mark.parametrize(
    ("argv", "said", "command"),
    [
        # an option of no command, close to none: argparse's words, but the help of the command it was given to
        (
            ["process", "in.wav", "out.wav", "--chain", "mastering", "--gain", "-3"],
            "unrecognized arguments: --gain -3",
            "process",
        ),
        (
            ["process", "in.wav", "out.wav", "--chain", "mastering", "--buffer-size", "-3"],
            "argument --buffer-size: -3 is outside",
            "process",
        ),
        (["xyz"], "argument command: invalid choice: 'xyz'", ""),
    ],
)
def test_what_is_close_to_nothing_keeps_argparses_words(
    argv: list[str], said: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(argv)
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"soundstage: error: {said}") and error.endswith(
        f"see '{'soundstage ' + command if command else 'soundstage'} --help'"
    ), error


def test_an_option_that_took_the_input_and_output_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """``--hrtf me.sofa in.wav out.wav``: --hrtf takes every name after it, so argparse said "the following
    arguments are required: input", of an input given."""
    with pytest.raises(SystemExit):
        main(["process", "--chain", "studio-5", "--hrtf", "me.sofa", "in.wav", "out.wav"])
    error = capsys.readouterr().err.strip()
    assert error.startswith(
        "soundstage: error: --hrtf took 'me.sofa', 'in.wav', 'out.wav': it takes every name after it, up to the next "
        "option; give --hrtf after the input and output, or end its list with -- (--hrtf me.sofa -- IN OUT)"
    ), error
    with pytest.raises(SystemExit):  # two heads and no input: argparse's words, which are right
        main(["process", "--chain", "studio-5", "--hrtf", "a.sofa", "b.sofa"])
    assert "the following arguments are required: input" in capsys.readouterr().err


def test_every_option_and_argument_says_what_it_is_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` of each command shows a line for each option; eleven showed only their names (``--device DEVICE``,
    ``--distance-m DISTANCE_M``). Read from the help as printed, every command and subcommand."""

    def help_of(command: list[str]) -> list[str]:
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        return capsys.readouterr().out.splitlines()

    bare, commands, seen = [], [[]], 0
    while commands:
        command = commands.pop()
        lines = help_of(command)
        seen += 1
        start = next(i for i, line in enumerate(lines) if line.startswith(("options:", "positional arguments:")))
        for index, line in enumerate(lines[start:], start):
            if found := re.fullmatch(r"  \{([\w,.-]+)\}", line):  # the list of subcommands
                commands += [[*command, name] for name in found.group(1).split(",")]
            elif line.startswith("  ") and not line.startswith("    "):  # an option's or argument's own line
                following = lines[index + 1] if index + 1 < len(lines) else ""
                has_help = len(line.strip().split("  ")) > 1 or following.startswith(" " * 10)
                bare += [] if has_help else [f"{' '.join(command)}: {line.strip()}"]
    assert seen > 20 and bare == []


def _closing(*descriptors: int) -> Callable[[], None]:
    """What a child runs before soundstage starts: ``descriptors`` closed, as a program that starts it may leave them."""

    def close() -> None:
        for descriptor in descriptors:
            os.close(descriptor)

    return close


@pytest.mark.parametrize("closed", [(1,), (2,), (0, 1, 2)])
def test_a_command_started_with_its_standard_streams_closed_runs(tmp_path: Path, closed: tuple[int, ...]) -> None:
    """A program that starts soundstage with standard output or error closed (a GUI, a service manager, `2>&-`):
    Python leaves sys.stderr None, and `process` failed with a traceback no one saw (status 1), writing nothing; with
    standard output closed it wrote the file, then failed the same way. Now it runs as with them open: the same bytes,
    status 0; a missing input still exits 2."""
    source = tmp_path / "in.wav"
    with AudioFile(str(source), "w", 48000, 2, bit_depth=24) as writer:
        writer.write((0.1 * np.random.default_rng(3).standard_normal((2, 48000))).astype(np.float32))
    command = [sys.executable, "-m", "soundstage.cli", "process", str(source)]
    subprocess.run([*command, str(tmp_path / "open.wav"), "--chain", "mastering"], check=True, capture_output=True)
    done = subprocess.run([*command, str(tmp_path / "closed.wav"), "--chain", "mastering"], preexec_fn=_closing(*closed))
    assert done.returncode == 0
    assert (tmp_path / "closed.wav").read_bytes() == (tmp_path / "open.wav").read_bytes()
    missing = subprocess.run(
        [*command[:-1], str(tmp_path / "gone.wav"), str(tmp_path / "x.wav"), "--chain", "mastering"], preexec_fn=_closing(*closed)
    )
    assert missing.returncode == 2 and not (tmp_path / "x.wav").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["closed.wav", "in.wav", "open.wav"]
