"""Sessions: timeline alignment (BWF, resampling, latency), loudness, dither, bad input, Ctrl-C."""

from __future__ import annotations

import hashlib
import math
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from pedalboard.io import AudioFile

from bwf import write_stem
from soundstage import AudioFileError, Chain, ChannelError, OutputError, SoundstageError, load_chain, load_plugin, save_chain
from soundstage.analysis.loudness import LoudnessMeter, TruePeakMeter
from soundstage.fileio import process_file
from soundstage.host.chainfile import find_chain
from soundstage.host.external import external_parameters
from soundstage.session import SessionError, load_session, render_session
from soundstage.session import streams as stream_module
from soundstage.session.graph import SessionGraph
from soundstage.session.render import render_summary

SR = 48000


def read(path: Path) -> np.ndarray:
    with AudioFile(str(path)) as reader:
        return reader.read(reader.frames)


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def click(
    rate: int, start_s: float, channels: int, *, at_s: float = 1.0, length_s: float = 2.0, amplitude: float = 0.5
) -> np.ndarray:
    """A stem starting at ``start_s`` on the timeline with a click at timeline ``at_s``."""
    audio = np.zeros((channels, int(rate * length_s)), np.float32)
    audio[:, int(round((at_s - start_s) * rate))] = amplitude
    return audio


def aligned_session(folder: Path, *, loud: str, chain_for_b: str | None = None) -> Path:
    """Three stems, BWF-stamped 0.5 s apart and one by offset; only ``loud`` has its click."""
    stems = folder / "stems"
    stems.mkdir(parents=True, exist_ok=True)
    silent = {name: 0.0 if name != loud else 0.5 for name in "abc"}
    write_stem(stems / "a.wav", click(SR, 0.0, 2, amplitude=silent["a"]), SR, bit_depth=32, time_reference=SR * 3600)
    write_stem(
        stems / "b.wav", click(44100, 0.5, 1, amplitude=silent["b"]), 44100, bit_depth=24, time_reference=int(44100 * 3600.5)
    )
    write_stem(stems / "c.wav", click(SR, 0.25, 1, amplitude=silent["c"]), SR, bit_depth=24)
    chain = f'chain = "{chain_for_b}"\n' if chain_for_b else ""
    session = folder / "session.toml"
    session.write_text(
        "format = 1\nsample_rate = 48000\n"
        '[[stems]]\npath = "stems/a.wav"\n'
        f'[[stems]]\npath = "stems/b.wav"\n{chain}'
        '[[stems]]\npath = "stems/c.wav"\noffset_s = 0.25\n'
        '[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 32\n'
    )
    return session


@pytest.mark.parametrize("loud", ["a", "b", "c"])
def test_clicks_land_on_the_same_sample(tmp_path: Path, loud: str) -> None:
    """Stereo float at BWF 1h00m00s, mono 24-bit 44.1 kHz at 1h00m00.5s, mono 24-bit by offset."""
    session = aligned_session(tmp_path, loud=loud)
    before = hashes(tmp_path / "stems")
    render_session(session, tmp_path / "out")
    mix = read(tmp_path / "out" / "mix.wav")
    assert abs(int(np.argmax(np.abs(mix[0]))) - SR) <= 1  # timeline 1.0 s = sample 48000
    assert hashes(tmp_path / "stems") == before


def test_a_latent_chain_on_one_stem_stays_aligned(tmp_path: Path, stereo_gain_path: Path) -> None:
    plugin = load_plugin(stereo_gain_path)
    external_parameters(plugin)["delay_samples"].value = 777
    from soundstage import Route

    save_chain(Chain([Route(channels=[0, 0]), plugin]), tmp_path / "latent.toml")  # mono stem -> stereo plugin
    session = aligned_session(tmp_path, loud="b", chain_for_b="latent.toml")
    render_session(session, tmp_path / "out")
    mix = read(tmp_path / "out" / "mix.wav")
    assert abs(int(np.argmax(np.abs(mix[0]))) - SR) <= 1


def test_loudness_meter_on_ebu_3341_case_1_and_true_peak() -> None:
    t = np.arange(20 * SR) / SR
    tone = 10 ** (-23 / 20) * np.sin(2 * np.pi * 1000 * t)  # EBU Tech 3341 case 1: 1 kHz at -23 dBFS, both channels
    meter = LoudnessMeter(SR, 2)
    for start in range(0, len(t), 10000):
        meter.add(np.stack([tone, tone])[:, start : start + 10000])
    assert meter.integrated_lufs() == pytest.approx(-23.0, abs=0.1)
    n = np.arange(SR)
    quarter = 0.5 * np.sin(2 * np.pi * n / 4 + np.pi / 4)  # samples at +-0.354, the wave peaks at 0.5 between them
    peak = TruePeakMeter(1)
    peak.add(quarter[None])
    peak.flush()
    assert peak.true_peak_dbtp == pytest.approx(20 * np.log10(0.5), abs=0.2)
    assert 20 * np.log10(np.abs(quarter).max()) < -8.9  # a sample peak meter would read 3 dB low


def test_ab_pair_is_loudness_matched(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    stems = tmp_path / "stems"
    stems.mkdir()
    music = (0.1 * rng.standard_normal((2, 4 * SR))).astype(np.float32)
    write_stem(stems / "mix.wav", music, SR, bit_depth=24)
    session = tmp_path / "ab.toml"
    session.write_text('[[stems]]\npath = "stems/mix.wav"\n[[renders]]\nname = "ab"\nkind = "ab"\nbit_depth = 24\n')
    result = render_session(session, tmp_path / "out")
    levels = {o["file"]: o["integrated_lufs"] for o in result.report["outputs"]}
    assert set(levels) == {"ab-A.wav", "ab-B.wav"}
    measured = []
    for name in ("ab-A.wav", "ab-B.wav"):
        meter = LoudnessMeter(SR, 2)
        meter.add(read(tmp_path / "out" / name))
        measured.append(meter.integrated_lufs())
    assert abs(measured[0] - measured[1]) <= 0.1
    assert (tmp_path / "out" / "render-report.json").exists()


def test_16_bit_render_is_tpdf_dithered(tmp_path: Path) -> None:
    stems = tmp_path / "stems"
    stems.mkdir()
    t = np.arange(4 * SR) / SR
    quiet = (10 ** (-100 / 20) * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    write_stem(stems / "quiet.wav", np.stack([quiet, quiet]), SR, bit_depth=32)
    session = tmp_path / "quiet.toml"
    session.write_text('[[stems]]\npath = "stems/quiet.wav"\n[[renders]]\nname = "q"\nkind = "mixdown"\nbit_depth = 16\n')
    render_session(session, tmp_path / "out")
    with AudioFile(str(tmp_path / "out" / "q.wav")) as reader:
        assert reader.file_dtype == "int16"
        out = reader.read(reader.frames)[0]
    lsb = 1 / 32768
    assert np.std(out) > 0.4 * lsb  # a noise floor is there (truncation alone would give all zeros at -100 dBFS)
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out)))) ** 2
    f = np.fft.rfftfreq(len(out), 1 / SR)
    floor = np.median(spectrum[(f > 5000) & (f < 15000)])
    for harmonic in (3000.0, 5000.0, 7000.0):  # truncation distortion of a 1 kHz sine: odd harmonics
        assert spectrum[np.argmin(np.abs(f - harmonic))] < 30 * floor


BAD = {
    "missing_stem": ('[[stems]]\npath = "stems/nothing.wav"\n', AudioFileError, r"nothing.wav' does not exist"),
    "non_audio": (
        '[[stems]]\npath = "stems/notes.txt"\n',
        AudioFileError,
        r"notes.txt' is a text file, not audio; give the audio file",
    ),
    "corrupt": (
        '[[stems]]\npath = "stems/corrupt.wav"\n',
        AudioFileError,
        r"corrupt.wav' is cut short: it ends after 27 bytes, inside its header",
    ),
    "truncated": (
        '[[stems]]\npath = "stems/truncated.wav"\n',
        AudioFileError,
        r"stems\[0\].path .*truncated.wav' is truncated: its header declares 48000 samples \(1.000 s\) but it holds \d+ \(0.500 s\)",
    ),
    "unknown_chain": (
        '[[stems]]\npath = "stems/ok.wav"\nchain = "no-such-preset"\n',
        SoundstageError,
        r"stems\[0\]\.chain: no chain file 'no-such-preset' and no preset",
    ),
    "duplicate_names": (
        '[[stems]]\npath = "stems/ok.wav"\n[[stems]]\npath = "stems/ok.wav"\n',
        SessionError,
        r"stems\[1\]\.name: stem name 'ok' is used twice",
    ),
    "negative_offset": (
        '[[stems]]\npath = "stems/ok.wav"\noffset_s = -1.0\n',
        SessionError,
        r"stems\[0\]\.offset_s: offset_s = -1 is negative",
    ),
    "channels": (
        '[[stems]]\npath = "stems/ok.wav"\nchain = "three.toml"\n',
        ChannelError,
        r"stem 'ok' comes out with 3 channels.*Route\(channels=\[0, 1\]\)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sessions(tmp_path: Path, case: str) -> None:
    text, error, message = BAD[case]
    stems = tmp_path / "stems"
    stems.mkdir()
    write_stem(stems / "ok.wav", np.zeros((2, SR), np.float32), SR)
    (stems / "notes.txt").write_text("not audio\n" * 100)
    (stems / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00rubbish")
    whole = write_stem(stems / "whole.wav", np.zeros((2, SR), np.float32), SR).read_bytes()
    (stems / "truncated.wav").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "three.toml").write_text('[[stages]]\ntype = "route"\nchannels = [0, 1, 1]\n')
    session = tmp_path / "bad.toml"
    session.write_text(text)
    before = hashes(tmp_path)
    with pytest.raises(error, match=message):
        render_session(session, tmp_path / "out")
    after = hashes(tmp_path)
    assert after == before  # no output, no partial file, inputs untouched


def test_outputs_never_overwrite_inputs_and_need_a_writable_folder(tmp_path: Path) -> None:
    stems = tmp_path / "stems"
    stems.mkdir()
    write_stem(stems / "mix.wav", np.zeros((2, SR), np.float32), SR)
    session = tmp_path / "s.toml"
    session.write_text('[[stems]]\npath = "stems/mix.wav"\n[[renders]]\nname = "mix"\nkind = "mixdown"\n')
    before = hashes(tmp_path)
    with pytest.raises(OutputError, match=r"would write .*stems/mix.wav', which is an input of the session"):
        render_session(session, stems, overwrite=True)
    with pytest.raises(OutputError, match=r"is not writable|cannot be created"):
        render_session(session, Path("/proc/soundstage-renders"))
    assert hashes(tmp_path) == before


def test_interrupted_render_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    stems = tmp_path / "stems"
    stems.mkdir()
    rng = np.random.default_rng(2)
    for index in range(3):
        write_stem(stems / f"s{index}.wav", (0.05 * rng.standard_normal((2, 120 * SR))).astype(np.float32), SR)
    session = tmp_path / "long.toml"
    session.write_text(
        "".join(f'[[stems]]\npath = "stems/s{i}.wav"\nchain = "headphones"\n' for i in range(3))
        + '[[renders]]\nname = "mix"\nkind = "mixdown"\n'
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    before = hashes(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "soundstage.cli", "render", str(session), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not any(".partial" in p.name for p in out.iterdir()):
        time.sleep(0.05)
    assert any(".partial" in p.name for p in out.iterdir()), "the render never started"
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert hashes(tmp_path) == before
    assert os.listdir(out) == ["keep.txt"]


def test_a_latent_bus_stays_aligned_with_direct_stems(tmp_path: Path, stereo_gain_path: Path) -> None:
    plugin = load_plugin(stereo_gain_path)
    external_parameters(plugin)["delay_samples"].value = 1234
    save_chain(Chain([plugin]), tmp_path / "bus.toml")
    stems = tmp_path / "stems"
    stems.mkdir()
    write_stem(stems / "a.wav", click(SR, 0.0, 2, amplitude=0.5), SR, bit_depth=32)
    write_stem(stems / "b.wav", click(SR, 0.0, 2, at_s=1.0, amplitude=-0.25), SR, bit_depth=32)
    session = tmp_path / "bus-session.toml"
    session.write_text(
        '[[buses]]\nname = "late"\nchain = "bus.toml"\n'
        '[[stems]]\npath = "stems/a.wav"\nbus = "late"\n[[stems]]\npath = "stems/b.wav"\n'
        '[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 32\n'
    )
    result = render_session(session, tmp_path / "out")
    mix = read(tmp_path / "out" / "mix.wav")
    assert mix[0, SR] == pytest.approx(0.25, abs=1e-6)  # 0.5 through the late bus + (-0.25) direct, same sample
    assert np.abs(np.delete(mix[0], SR)).max() < 1e-6
    assert result.report["buses"][0]["chain_latency_samples"] >= 1234


def test_stems_on_several_threads_give_the_same_file_as_on_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stems' chains run on the machine's cores; the mix is summed in the session's order, so the
    rendered file is bit-identical to a render with one thread (and to a second threaded one)."""
    from soundstage.demo import write_demo_session

    session = write_demo_session(tmp_path / "demo")
    files = []
    for threads, folder in ((4, "a"), (4, "b"), (1, "c")):
        monkeypatch.setattr(stream_module, "STEM_THREADS", threads)
        monkeypatch.setattr(stream_module.os, "cpu_count", lambda: 4)
        render_session(session, tmp_path / folder, only=["mixdown"], overwrite=True)
        files.append(next((tmp_path / folder).glob("mixdown*.wav")).read_bytes())
    assert files[0] == files[1] == files[2]


def test_an_ab_render_shares_the_streams_of_renders_with_the_same_chain_and_automation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's A side is its reference render's chain with no automation: it runs once, and the files are those
    of separate streams to the last bit. Its B side is the binaural render's chain, but only that render's width
    rides (the map): it runs its own stream, as does an A side whose chain differs."""
    import soundfile

    from soundstage.demo import write_demo_session
    from soundstage.host.chainfile import find_chain

    made: list[str] = []
    real = SessionGraph.stream

    def counted(self: object, prefix: str, chain: Chain | None) -> object:
        if prefix.startswith("renders.") and chain is not None:
            made.append(prefix)
        return real(self, prefix, chain)  # type: ignore[arg-type]

    session = write_demo_session(tmp_path / "demo")
    wanted = ["binaural", "reference", "ab"]
    monkeypatch.setattr(SessionGraph, "stream", counted)
    shared = render_session(session, tmp_path / "shared", only=wanted)
    assert sorted(made) == ["renders.ab.b", "renders.binaural", "renders.reference"]
    monkeypatch.setattr(stream_module, "_stage_tables", lambda chain: None)  # sharing off: separate streams
    made.clear()
    alone = render_session(session, tmp_path / "alone", only=wanted)
    assert len(made) == 4 and not shared.failures and not alone.failures
    for path in sorted((tmp_path / "shared").glob("*.wav")):
        a, _ = soundfile.read(path, dtype="float32")
        b, _ = soundfile.read(tmp_path / "alone" / path.name, dtype="float32")
        assert a.shape == b.shape and np.array_equal(a, b), path.name
    monkeypatch.undo()
    monkeypatch.setattr(SessionGraph, "stream", counted)
    text = find_chain("stereo-reference").read_text()
    (session.parent / "copy.toml").write_text(text)
    (session.parent / "nearer.toml").write_text(text.replace("distance_m = 2.0", "distance_m = 1.5"))
    original = session.read_text()
    for name, streams in (("copy.toml", 3), ("nearer.toml", 4)):  # the same chain from another file: shared
        session.write_text(original.replace('a = "stereo-reference"', f'a = "{name}"'))
        made.clear()
        render_session(session, tmp_path / name, only=wanted)
        assert len(made) == streams, (name, made)


def test_a_render_whose_chain_another_renders_chain_begins_with_is_tapped_from_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's driver feeds (the device chain) and headphone preview (the device chain, then the monitor) ride
    the same width automation: the device chain runs once, in the preview's stream, and the feeds are tapped from
    it. Every file is bit-identical to separate streams'. With another ride on the preview, or a ride on its
    monitor, both run."""
    import threading

    import soundfile

    from soundstage.demo import write_demo_session
    from soundstage.stages.device import Spatializer

    made: list[str] = []
    real_stream = SessionGraph.stream
    ran: set[int] = set()
    real_block = Spatializer._process_block

    def counted(self: object, prefix: str, chain: Chain | None) -> object:
        if prefix.startswith("renders.") and chain is not None:
            made.append(prefix)
        return real_stream(self, prefix, chain)  # type: ignore[arg-type]

    def running(self: Spatializer, block: np.ndarray) -> np.ndarray:
        if not threading.current_thread().name.startswith("soundstage-figures"):  # the render's, not the report's figures
            ran.add(id(self))
        return real_block(self, block)

    session = write_demo_session(tmp_path / "demo")
    wanted = ["studio-5", "binaural"]
    monkeypatch.setattr(SessionGraph, "stream", counted)
    monkeypatch.setattr(Spatializer, "_process_block", running)
    tapped = render_session(session, tmp_path / "tapped", only=wanted)
    assert made == ["renders.binaural"] and len(ran) == 1 and not tapped.failures
    monkeypatch.setattr(stream_module, "_stage_tables", lambda chain: None)  # sharing off: separate streams
    made.clear()
    ran.clear()
    alone = render_session(session, tmp_path / "alone", only=wanted)
    assert sorted(made) == ["renders.binaural", "renders.studio-5"] and len(ran) == 2 and not alone.failures
    names = sorted(path.name for path in (tmp_path / "tapped").glob("*.wav"))
    assert len(names) == 6 and names == sorted(path.name for path in (tmp_path / "alone").glob("*.wav"))
    for name in names:
        a, _ = soundfile.read(tmp_path / "tapped" / name, dtype="float32")
        b, _ = soundfile.read(tmp_path / "alone" / name, dtype="float32")
        assert a.shape == b.shape and np.array_equal(a, b), name
    monkeypatch.undo()
    monkeypatch.setattr(SessionGraph, "stream", counted)
    mapping = session.parent / "map.toml"
    original = mapping.read_text()
    mapping.write_text(original.replace("number = 75\nmin = 0.3", "number = 75\nmin = 0.5"))
    assert "min = 0.5" in mapping.read_text()
    made.clear()
    render_session(session, tmp_path / "other-ride", only=wanted)
    assert sorted(made) == ["renders.binaural", "renders.studio-5"]
    # a ride on the preview's monitor (after the tapped stage) would split the device chain's blocks: no tap
    ride = '\n[[bindings]]\ntarget = "renders.binaural.monitor.distance_m"\nkind = "cc"\nnumber = 75\nmin = 1.0\nmax = 3.0\n'
    mapping.write_text(original + ride)
    made.clear()
    with pytest.warns(UserWarning, match="both will move"):  # CC 75 rides the width and the monitor's distance
        render_session(session, tmp_path / "monitor-ride", only=wanted)
    assert sorted(made) == ["renders.binaural", "renders.studio-5"]


def test_the_render_holds_the_blas_pools_to_one_thread_and_gives_them_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the audio renders, numpy's and scipy's BLAS pools run one thread (the stems' threads are the
    parallelism); after it, what they ran before."""
    import scipy.linalg  # noqa: F401  (scipy's own OpenBLAS loaded, as a render loads it)
    from threadpoolctl import threadpool_info, threadpool_limits

    import soundstage.session.render as render_module

    seen: list[list[int]] = []
    run = render_module.run_audio

    def watched(*args: object, **kwargs: object) -> None:
        seen.append([pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"])
        run(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(render_module, "run_audio", watched)
    with threadpool_limits(limits=2, user_api="blas"):  # as an unlimited pool on two cores
        before = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        render_session(aligned_session(tmp_path, loud="a"), tmp_path / "out")
        after = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    print(f"BLAS pools: {before} before, {seen} during, {after} after")
    assert before and all(count == 2 for count in before)
    assert seen == [[1] * len(before)] and after == before


def test_a_stem_stamped_a_day_away_is_refused_and_offset_s_places_it(tmp_path: Path) -> None:
    """A stem whose BWF time reference lies more than 24 h after the earliest stem's (another day's export, a damaged
    stamp) is refused in one line naming it and the fix, before any work; offset_s places it by hand."""
    rng = np.random.default_rng(2)
    write_stem(tmp_path / "a.wav", 0.1 * rng.standard_normal((1, SR // 2)), SR, time_reference=SR * 3600)
    write_stem(tmp_path / "b.wav", 0.1 * rng.standard_normal((1, SR // 2)), SR, time_reference=5_000_000_000)
    session = tmp_path / "session.toml"
    text = 'format = 1\n[[stems]]\npath = "a.wav"\n[[stems]]\npath = "b.wav"\n{}[[renders]]\nname = "mix"\nkind = "mixdown"\n'
    session.write_text(text.format(""))
    with pytest.raises(
        SessionError, match=r"stem 'b': its BWF TimeReference \(5000000000 samples\) places it 100566.7 s"
    ) as caught:
        render_session(session, tmp_path / "out")
    assert "offset_s" in str(caught.value) and "\n" not in str(caught.value) and not (tmp_path / "out").exists()
    session.write_text(text.format("offset_s = 1.5\n"))
    result = render_session(session, tmp_path / "out")
    assert not result.failures
    with AudioFile(str(tmp_path / "out" / "mix.wav")) as mix:
        assert mix.frames == 2 * SR  # b placed at 1.5 s: the timeline is 2 s


def test_when_every_render_is_refused_no_audio_is_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A render refused at the check (an AIFF over 4 GiB: a stem 20 h in) is reported without rendering the timeline
    for nothing (was: 20 hours of silence processed, then the refusal)."""
    import soundstage.session.render as render_module

    write_stem(tmp_path / "a.wav", np.zeros((1, SR)), SR)
    (tmp_path / "session.toml").write_text(
        'format = 1\n[[stems]]\npath = "a.wav"\noffset_s = 72000.0\n[[renders]]\nname = "mix"\nkind = "mixdown"\nformat = "aiff"\n'
    )
    ran: list[object] = []
    real_run = render_module.run_audio
    monkeypatch.setattr(render_module, "run_audio", lambda *args: ran.append(args) or real_run(*args))
    result = render_session(tmp_path / "session.toml", tmp_path / "out")
    assert not ran and "would hold" in result.failures["mix"] and "4 GiB" in result.failures["mix"]
    assert not (tmp_path / "out" / "mix.aiff").exists()


def test_a_folder_given_for_the_session_is_its_session_toml_or_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``soundstage render FOLDER`` (the folder ``soundstage demo`` writes) renders the session.toml in it, into
    renders/ beside it; a folder without one is refused in one line naming it and the .toml files it holds."""
    from soundstage.cli import main

    session = aligned_session(tmp_path / "song", loud="a")
    assert main(["render", str(tmp_path / "song")]) == 0
    by_folder = read(tmp_path / "song" / "renders" / "mix.wav")
    render_session(session, tmp_path / "by-file")
    assert np.array_equal(by_folder, read(tmp_path / "by-file" / "mix.wav"))
    assert main(["session", "check", str(tmp_path / "song")]) == 0
    capsys.readouterr()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "take-2.toml").write_text(session.read_text())
    assert main(["render", str(tmp_path / "other")]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"soundstage: error: session file {str(tmp_path / 'other')!r} is a folder: give the .toml file (it holds take-2.toml)"
    )
    with pytest.raises(
        SessionError, match=r"stems' is a folder of stems with no session\.toml; write one first: soundstage session new"
    ):
        render_session(tmp_path / "song" / "stems", tmp_path / "out")  # the stems' own folder: audio and no .toml
    (tmp_path / "empty").mkdir()
    with pytest.raises(SessionError, match=r"empty' is a folder: give the \.toml file \(it holds none\)"):
        render_session(tmp_path / "empty", tmp_path / "out")


def test_a_render_that_writes_nothing_says_only_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every output already there: the render printed "rendered 2.00 s ..." and an empty table of files before its
    errors, and each error named the render twice. A head given for mixdowns alone changed nothing in silence; a
    render named in another case got no suggestion."""
    from soundstage.cli import main

    session = aligned_session(tmp_path / "song", loud="a")
    assert main(["render", str(session)]) == 0
    capsys.readouterr()
    before = hashes(tmp_path / "song")
    assert main(["render", str(session)]) == 2
    out, err = capsys.readouterr()
    mix = tmp_path / "song" / "renders" / "mix.wav"
    assert out == ""
    assert err.splitlines() == [
        f"soundstage: error: render 'mix' failed: {str(mix)!r} already exists; pass --overwrite to replace it"
    ]
    assert main(["render", str(session), "--only", "mix", "--hrtf", "model", "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"soundstage: error: {session}: the head given for this render (hrtf, --hrtf) would change nothing: "
        "render 'mix' is a mixdown and takes no head; give it for a device, binaural, reference or A/B render"
    ]
    assert main(["render", str(session), "--only", "Mix", "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip().endswith("no render named 'Mix' (renders: mix); did you mean 'mix'?")
    assert hashes(tmp_path / "song") == before and not (tmp_path / "out").exists()


def test_a_sessions_hrtf_is_the_listeners_head_for_its_render_chains(tmp_path: Path, kemar_path: str) -> None:
    """``hrtf = "me.sofa"`` (beside the session file): the binaural render is the studio-5-binaural preset with that
    head on the design and the preview (the same samples as the chain loaded with it), the mixdown is untouched,
    the report says which head; ``hrtf=`` (``render --hrtf``) renders on another head instead; a render chain with
    no stage that takes a head, or a missing file, is refused in one line naming the session file and the key."""
    import shutil

    from soundstage import load_chain

    shutil.copy(kemar_path, tmp_path / "me.sofa")
    rng = np.random.default_rng(4)
    music = (0.1 * rng.standard_normal((2, 2 * SR))).astype(np.float32)
    (tmp_path / "stems").mkdir()
    write_stem(tmp_path / "stems" / "mix.wav", music, SR, bit_depth=32)
    renders = '[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 32\n[[renders]]\nname = "bin"\nkind = "binaural"\nbit_depth = 32\n'
    session = tmp_path / "session.toml"
    session.write_text('hrtf = "me.sofa"\n[[stems]]\npath = "stems/mix.wav"\n' + renders)
    result = render_session(session, tmp_path / "out")
    assert result.report["hrtf"] == ["me.sofa"]
    heard = read(tmp_path / "out" / "bin.wav")
    expected = load_chain("studio-5-binaural", hrtf=tmp_path / "me.sofa")(music, SR)
    assert heard.shape == expected.shape and np.abs(heard - expected).max() <= 1e-5 * np.abs(expected).max()
    plain = load_chain("studio-5-binaural")(music, SR)
    assert np.abs(heard - plain).max() >= 0.1 * np.abs(plain).max()  # the head made a difference
    assert np.array_equal(read(tmp_path / "out" / "mix.wav"), music)
    other = render_session(session, tmp_path / "other", hrtf="rigid-sphere")  # render --hrtf: instead of the session's
    assert other.report["hrtf"] == ["rigid-sphere"]
    expected = load_chain("studio-5-binaural", hrtf="rigid-sphere")(music, SR)
    assert np.abs(read(tmp_path / "other" / "bin.wav") - expected).max() <= 1e-5 * np.abs(expected).max()
    session.write_text('hrtf = "me.sofa"\n[[stems]]\npath = "stems/mix.wav"\n[[renders]]\nkind = "device"\nchain = "mastering"\n')
    with pytest.raises(SessionError, match=r"session.toml: renders\[0\].chain: chain 'mastering' has no stage that takes a head"):
        render_session(session, tmp_path / "out2")
    session.write_text('hrtf = "nobody.sofa"\n[[stems]]\npath = "stems/mix.wav"\n' + renders)
    with pytest.raises(SessionError, match=r"session.toml: hrtf: SOFA file '.*nobody.sofa' does not exist"):
        render_session(session, tmp_path / "out3")
    with pytest.raises(
        SessionError, match=r"session.toml: the head given for this render \(hrtf, --hrtf\): SOFA file '.*gone.sofa'"
    ):
        render_session(session, tmp_path / "out4", hrtf="gone.sofa")
    assert not (tmp_path / "out2").exists() and not (tmp_path / "out3").exists() and not (tmp_path / "out4").exists()


def test_renders_are_stamped_where_the_stems_were_on_the_daws_timeline(tmp_path: Path) -> None:
    """Stems a DAW stamped (BWF TimeReference 01:00:00 and 01:00:02) are placed on the session's timeline, but the
    renders started at zero: a mixdown dragged back into the DAW landed at 00:00:00. A WAV render now carries a bext
    with the session's zero (the earliest stem's stamp); a session placed by offset_s only is not
    stamped. A FLAC render gets the same as its TIME_REFERENCE comment. Read back by wavinfo and ffprobe."""
    import json

    import wavinfo

    from helpers import tool

    stems = tmp_path / "stems"
    stems.mkdir()
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR))[None].repeat(2, 0)
    write_stem(stems / "a.wav", tone, SR, bit_depth=24, time_reference=SR * 3600)
    write_stem(stems / "b.wav", tone, SR, bit_depth=24, time_reference=SR * 3602)
    renders = (
        '[[renders]]\nname = "mix"\n[[renders]]\nname = "ab"\nkind = "ab"\n[[renders]]\nname = "lossless"\nformat = "flac"\n'
    )
    stems_toml = '[[stems]]\npath = "stems/a.wav"\n[[stems]]\npath = "stems/b.wav"\n'
    (tmp_path / "s.toml").write_text(stems_toml + renders)
    result = render_session(tmp_path / "s.toml", tmp_path / "out")
    assert not result.failures
    for name in ("mix.wav", "ab-A.wav", "ab-B.wav"):
        info = wavinfo.WavInfoReader(str(tmp_path / "out" / name))
        assert info.bext is not None and info.bext.time_reference == SR * 3600, name
        with AudioFile(str(tmp_path / "out" / name)) as rendered:
            assert rendered.frames == 3 * SR  # a at 0 s, b at 2 s for 1 s
    probe = subprocess.run(
        [tool("ffprobe"), "-v", "error", "-show_entries", "format_tags", "-of", "json", str(tmp_path / "out" / "mix.wav")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(probe.stdout)["format"]["tags"]["time_reference"] == str(SR * 3600)
    with AudioFile(str(tmp_path / "out" / "lossless.flac")) as flac:
        assert flac.frames == 3 * SR
    probe = subprocess.run(  # FLAC has no bext: its TIME_REFERENCE comment, as FFmpeg writes a BWF's into a FLAC
        [tool("ffprobe"), "-v", "error", "-show_entries", "format_tags", "-of", "json", str(tmp_path / "out" / "lossless.flac")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(probe.stdout)["format"]["tags"]["TIME_REFERENCE"] == str(SR * 3600)
    by_hand = stems_toml.replace('"stems/a.wav"\n', '"stems/a.wav"\noffset_s = 0.0\n').replace(
        '"stems/b.wav"\n', '"stems/b.wav"\noffset_s = 2.0\n'
    )
    (tmp_path / "hand.toml").write_text(by_hand + '[[renders]]\nname = "mix"\n')
    assert not render_session(tmp_path / "hand.toml", tmp_path / "hand").failures
    assert wavinfo.WavInfoReader(str(tmp_path / "hand" / "mix.wav")).bext is None


@pytest.mark.parametrize(
    ("flags", "heard"),
    [
        ({}, ["a", "b", "c"]),
        ({"b": "mute = true"}, ["a", "c"]),
        ({"a": "solo = true"}, ["a"]),
        ({"a": "solo = true", "c": "solo = true\nmute = true"}, ["a"]),  # a muted stem stays muted, soloed or not
    ],
)
def test_mute_and_solo_leave_stems_out_as_a_daw_does(tmp_path: Path, flags: dict[str, str], heard: list[str]) -> None:
    """A stem's mute and solo, as a DAW's buttons: the mix is exactly the sum of the stems that play, and the
    timeline keeps the length of every stem (the muted 3 s stem too)."""
    lengths = {"a": 1.0, "b": 3.0, "c": 2.0}
    audio = {}
    body = ""
    for index, (name, seconds) in enumerate(lengths.items()):
        t = np.arange(int(seconds * SR)) / SR
        audio[name] = np.stack([np.sin(2 * np.pi * 220 * (index + 1) * t)] * 2).astype(np.float32) * 0.1
        write_stem(tmp_path / f"{name}.wav", audio[name], SR, bit_depth=32)
        body += f'[[stems]]\npath = "{name}.wav"\n' + (flags.get(name, "") + "\n" if name in flags else "")
    (tmp_path / "s.toml").write_text(body + '[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 32\n')
    result = render_session(tmp_path / "s.toml", tmp_path / "out")
    with AudioFile(str(tmp_path / "out" / "mix.wav")) as reader:
        mix = reader.read(reader.frames)
    expected = np.zeros((2, 3 * SR), np.float32)
    for name in heard:
        expected[:, : audio[name].shape[1]] += audio[name]
    assert mix.shape == expected.shape and np.abs(mix - expected).max() <= 1e-6
    assert result.report["stems_left_out"] == [name for name in lengths if name not in heard]


@pytest.mark.parametrize(
    ("flags", "heard"),
    [
        ({}, ["a", "b", "c", "d"]),
        ({"x": "mute = true"}, ["a", "d"]),
        ({"x": "solo = true"}, ["b", "c"]),
        ({"x": "solo = true", "a": "solo = true"}, ["a", "b", "c"]),
        ({"x": "solo = true", "b": "mute = true"}, ["c"]),  # a muted stem stays muted on a soloed bus
        ({"y": "mute = true", "d": "solo = true", "c": "solo = true"}, ["c"]),  # a soloed stem on a muted bus too
    ],
)
def test_a_bus_mutes_and_solos_the_stems_sent_to_it(tmp_path: Path, flags: dict[str, str], heard: list[str]) -> None:
    """A bus's mute and solo, as a DAW's on a group or an aux: they count for every stem sent to it. Stem a goes to
    no bus, b and c to bus x (through a -6 dB chain), d to bus y. The mix is exactly the sum of what plays, and a bus
    none of whose stems plays is named in the report as left out. (Buses had no mute or solo: a session with them
    was refused.)"""
    (tmp_path / "down.toml").write_text('[[stages]]\ntype = "pedalboard.Gain"\nparameters = { gain_db = -6.0 }\n')
    buses = {"a": None, "b": "x", "c": "x", "d": "y"}
    audio, body = {}, ""
    for index, (name, bus) in enumerate(buses.items()):
        t = np.arange(SR) / SR
        audio[name] = np.stack([np.sin(2 * np.pi * 220 * (index + 1) * t)] * 2).astype(np.float32) * 0.1
        write_stem(tmp_path / f"{name}.wav", audio[name], SR, bit_depth=32)
        body += f'[[stems]]\npath = "{name}.wav"\n' + (f'bus = "{bus}"\n' if bus else "") + flags.get(name, "") + "\n"
    for bus, chain in (("x", '\nchain = "down.toml"'), ("y", "")):
        body += f'[[buses]]\nname = "{bus}"{chain}\n' + flags.get(bus, "") + "\n"
    (tmp_path / "s.toml").write_text(body + '[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 32\n')
    result = render_session(tmp_path / "s.toml", tmp_path / "out")
    with AudioFile(str(tmp_path / "out" / "mix.wav")) as reader:
        mix = reader.read(reader.frames)
    expected = np.zeros((2, SR), np.float32)
    for name in heard:
        expected += audio[name] * np.float32(10 ** (-6 / 20) if buses[name] == "x" else 1.0)
    assert mix.shape == expected.shape and np.abs(mix - expected).max() <= 1e-6
    assert result.report["stems_left_out"] == [name for name in buses if name not in heard]
    assert result.report["buses_left_out"] == [bus for bus in ("x", "y") if not any(buses[n] == bus for n in heard)]


def test_a_solo_that_leaves_a_bus_out_streams_the_mix(tmp_path: Path) -> None:
    """A stem soloed outside a bus left the bus with nothing to deliver, and the mix waited for it: the whole mix was
    held in memory and mastered and written at the end (a 10-minute session peaked at 2.4 GB instead of 0.23 GB).
    Measured by tracemalloc (numpy's arrays are traced) on 40 s of stems: the render with the solo peaks within 1.5
    times the one without (before the fix: 146.7 MB against 28.8 MB; after: 24.8 MB against 26.2 MB)."""
    import tracemalloc

    noise = (0.1 * np.random.default_rng(3).standard_normal((2, 40 * SR))).astype(np.float32)
    write_stem(tmp_path / "a.wav", noise, SR, bit_depth=32)
    write_stem(tmp_path / "b.wav", noise[::-1], SR, bit_depth=32)
    peaks = {}
    for solo in ("false", "true"):
        (tmp_path / f"{solo}.toml").write_text(
            f'[[stems]]\npath = "a.wav"\nsolo = {solo}\n[[stems]]\npath = "b.wav"\nbus = "drums"\n'
            '[[buses]]\nname = "drums"\n[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 32\n'
        )
        tracemalloc.start()
        try:
            render_session(tmp_path / f"{solo}.toml", tmp_path / solo)
            peaks[solo] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    print(f"\npeak traced memory: {peaks['false'] / 2**20:.1f} MB without the solo, {peaks['true'] / 2**20:.1f} MB with it")
    assert peaks["true"] <= 1.5 * peaks["false"]
    with AudioFile(str(tmp_path / "true" / "mix.wav")) as reader:
        assert np.array_equal(reader.read(reader.frames), noise)


@pytest.mark.parametrize("suffix", [".wav", ".bwf", ".wave", ".WAV"])
def test_a_stem_is_placed_by_its_bwf_stamp_whichever_name_its_wav_has(tmp_path: Path, suffix: str) -> None:
    """A BWF stem named ``.wave`` (as some recorders and DAWs name Broadcast Wave files) was read but not placed by its
    TimeReference: it started at 0, 2 s early against a ``.wav`` stem stamped beside it."""
    write_stem(tmp_path / "a.wav", np.full((2, SR), 0.1, np.float32), SR, bit_depth=32, time_reference=SR * 3600)
    write_stem(tmp_path / f"b{suffix}", np.full((2, SR), 0.1, np.float32), SR, bit_depth=32, time_reference=SR * 3602)
    (tmp_path / "s.toml").write_text(f'[[stems]]\npath = "a.wav"\n[[stems]]\npath = "b{suffix}"\n[[renders]]\nname = "mix"\n')
    offsets = {stem["name"]: stem["offset_s"] for stem in render_session(tmp_path / "s.toml", tmp_path / "out").report["stems"]}
    assert offsets == {"a": 0.0, "b": 2.0}


def test_a_mix_whose_every_stem_is_muted_is_refused(tmp_path: Path) -> None:
    write_stem(tmp_path / "a.wav", np.full((2, SR), 0.1, np.float32), SR, bit_depth=32)
    (tmp_path / "s.toml").write_text('[[stems]]\npath = "a.wav"\nmute = true\n')
    with pytest.raises(SessionError, match=r"s\.toml: every stem is muted \(.*\); the mix would be silence: unmute a stem"):
        render_session(tmp_path / "s.toml", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_tail_s_renders_the_chains_tails_past_the_last_stem(tmp_path: Path) -> None:
    """``tail_s = 0.5``: every render runs 0.5 s past the last stem, its chains' tails in it (a reverb on the
    master, the device's filters), equal within 1e-6 to the same session whose timeline a silent, muted stem
    makes 0.5 s longer. (Was: the render ended with the last stem, cutting the reverb.)"""
    noise = (0.2 * np.random.default_rng(8).standard_normal((2, SR))).astype(np.float32)
    write_stem(tmp_path / "a.wav", noise, SR, bit_depth=32)
    write_stem(tmp_path / "pad.wav", np.zeros((2, SR + SR // 2), np.float32), SR, bit_depth=32)
    (tmp_path / "verb.toml").write_text('[[stages]]\ntype = "pedalboard.Reverb"\nparameters = { room_size = 0.9 }\n')
    renders = (
        '[master]\nchain = "verb.toml"\n'
        '[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 32\n'
        '[[renders]]\nname = "device"\nkind = "device"\nchain = "studio-5"\nbit_depth = 32\n'
    )
    (tmp_path / "tail.toml").write_text('tail_s = 0.5\n[[stems]]\npath = "a.wav"\n' + renders)
    (tmp_path / "padded.toml").write_text('[[stems]]\npath = "a.wav"\n[[stems]]\npath = "pad.wav"\nmute = true\n' + renders)
    tailed = render_session(tmp_path / "tail.toml", tmp_path / "tail")
    render_session(tmp_path / "padded.toml", tmp_path / "padded")
    assert tailed.report["length_s"] == 1.5 and tailed.report["tail_s"] == 0.5
    for name in ("mix.wav", "device.wav"):
        with AudioFile(str(tmp_path / "tail" / name)) as reader, AudioFile(str(tmp_path / "padded" / name)) as other:
            audio, expected = reader.read(reader.frames), other.read(other.frames)
        assert audio.shape[1] == SR + SR // 2 and audio.shape == expected.shape
        assert np.abs(audio - expected).max() <= 1e-6
        tail_rms = 20 * np.log10(np.sqrt(np.mean(audio[:, SR:] ** 2)))
        assert tail_rms > -40.0, f"{name}: the tail is at {tail_rms:.1f} dBFS: no reverb in it"


@pytest.mark.parametrize("block", [65536, 4096, 1000])
def test_a_session_whose_chains_still_ring_where_it_ends_says_the_tail_s_that_renders_them(tmp_path: Path, block: int) -> None:
    """A reverb on the master was cut where the last stem ends (a session renders no tail unless tail_s says so), in
    silence. The render goes on past its end, silence in, heard and not written, and says how long its chains still
    ring (within 60 dB of each file's peak), the same at any block size and as ``process`` hears the same mix through
    the same chain; rendered again with the tail_s it says, nothing is said and the mix ends near 60 dB below its
    peak (the tail rounded up to 0.1 s)."""
    note = np.zeros((2, SR // 5), np.float32)
    note[:, : SR // 10] = 0.5 * np.sin(2 * np.pi * 440 * np.arange(SR // 10) / SR)
    write_stem(tmp_path / "a.wav", note, SR, bit_depth=32)
    (tmp_path / "verb.toml").write_text('[[stages]]\ntype = "pedalboard.Reverb"\nparameters = { room_size = 0.9 }\n')
    renders = (
        '[[stems]]\npath = "a.wav"\n[master]\nchain = "verb.toml"\n'
        '[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 32\n'
        '[[renders]]\nname = "device"\nkind = "device"\nchain = "studio-5"\nbit_depth = 32\n'
    )
    (tmp_path / "s.toml").write_text(renders)
    result = render_session(tmp_path / "s.toml", tmp_path / "out", block=block)
    rings = {render["name"]: render["ringing_s"] for render in result.report["renders"]}
    # the same mix through the same chain, heard by process: the stem itself, the master's reverb on it
    heard = process_file(load_chain(tmp_path / "verb.toml"), tmp_path / "a.wav", tmp_path / "p.wav", buffer_size=block)
    assert rings["mix"] == pytest.approx(heard["ringing_s"], abs=0.002) and 4.0 < rings["mix"] < 5.5
    assert 4.0 < rings["device"] < 5.5
    wanted = math.ceil(max(rings.values()) * 10) / 10
    assert render_summary(result, tmp_path / "out")[-2] == (
        "renders mix, device: the chains still ring where they end (a reverb's or a delay's tail, cut): they stay "
        f"within 60 dB of their peaks up to {max(rings.values()):.1f} s longer; set tail_s = {wanted:g} in the session "
        "file to render it"
    )
    assert read(tmp_path / "out" / "mix.wav").shape[1] == SR // 5  # heard past its end, not written
    (tmp_path / "s.toml").write_text(f"tail_s = {wanted}\n" + renders)
    again = render_session(tmp_path / "s.toml", tmp_path / "tailed", block=block)
    assert all(render["ringing_s"] == 0.0 for render in again.report["renders"])
    assert not any("still ring" in line for line in render_summary(again, tmp_path / "tailed"))
    mix = read(tmp_path / "tailed" / "mix.wav")
    end_db = 20 * np.log10(np.abs(mix[:, -SR // 100 :]).max() / np.abs(mix).max())
    assert -72.0 < end_db < -57.0  # rendered to within 0.1 s of where it fell 60 dB below the peak


def test_an_ab_of_one_chain_against_itself_is_said(tmp_path: Path) -> None:
    """An A/B render whose a and b name one chain (b = "stereo-reference" copied from a) rendered two equal files
    and a level match of 0 dB, in silence. The session still loads (with automation, renders.NAME.a.PATH and .b.PATH
    can set the sides apart, and then nothing is said); without it, one warning names the render and the fix. A
    preset against a copy of its file was not caught: the two names were compared as written."""
    write_stem(tmp_path / "a.wav", np.full((2, SR // 2), 0.1, np.float32), SR, bit_depth=32)
    text = '[[stems]]\npath = "a.wav"\n[[renders]]\nname = "compare"\nkind = "ab"\na = "stereo-reference"\n'
    (tmp_path / "s.toml").write_text(text + 'b = "stereo-reference"\n')
    with pytest.warns(UserWarning) as caught:
        load_session(tmp_path / "s.toml")
    assert [str(w.message) for w in caught] == [
        f"{tmp_path / 's.toml'}: renders[0] ('compare'): a and b are the same chain ('stereo-reference'), so the A/B "
        'compares the render with itself; give b the chain to compare a with (by default a = "stereo-reference", '
        'b = "studio-5-binaural")'
    ]
    # the preset by its name and by a copy of its file beside the session: one chain, said with both names
    (tmp_path / "chains").mkdir()
    (tmp_path / "chains" / "ref.toml").write_bytes(find_chain("stereo-reference").read_bytes())
    (tmp_path / "s.toml").write_text(text + 'b = "chains/ref.toml"\n')
    with pytest.warns(UserWarning) as caught:
        load_session(tmp_path / "s.toml")
    assert [str(w.message).split(", so")[0] for w in caught] == [
        f"{tmp_path / 's.toml'}: renders[0] ('compare'): a and b are the same chain ('stereo-reference' and 'chains/ref.toml')"
    ]
    (tmp_path / "chains" / "ref.toml").write_text(find_chain("stereo-reference").read_text() + "# mine\n")
    (tmp_path / "s.toml").write_text(text + 'b = "studio-5-binaural"\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_session(tmp_path / "s.toml")
        (tmp_path / "s.toml").write_text(text + 'b = "chains/ref.toml"\n')  # the copy, edited: another chain
        load_session(tmp_path / "s.toml")
        (tmp_path / "s.toml").write_text(text + 'b = "chains/gone.toml"\n')  # said when the render loads it
        load_session(tmp_path / "s.toml")
        (tmp_path / "yaw.csv").write_text("time_s,yaw_deg\n0,0\n0.25,20\n")
        (tmp_path / "s.toml").write_text('head_track = "yaw.csv"\n' + text + 'b = "stereo-reference"\n')
        load_session(tmp_path / "s.toml")  # a head track may move the sides apart


def test_a_bus_no_stem_is_sent_to_is_rendered_with_a_warning(tmp_path: Path) -> None:
    """A bus with a chain and no stem sent to it (a stem's ``bus = "drums"`` forgotten): the session renders, as a
    DAW keeps an empty bus, and one warning names the bus, that its chain does nothing, and the key to send stems
    with. (Was: accepted in silence, its chain never run.)"""
    write_stem(tmp_path / "a.wav", np.full((2, SR // 2), 0.1, np.float32), SR, bit_depth=32)
    (tmp_path / "s.toml").write_text(
        '[[buses]]\nname = "drums"\nchain = "mastering"\n[[stems]]\npath = "a.wav"\n[[renders]]\nkind = "mixdown"\n'
    )
    with pytest.warns(UserWarning) as caught:
        result = render_session(tmp_path / "s.toml", tmp_path / "out")
    assert [str(w.message) for w in caught] == [
        f"{tmp_path / 's.toml'}: buses[0] ('drums'): no stem is sent to it, so it is silent and its chain 'mastering' "
        'does nothing; send stems with bus = "drums" in their [[stems]] table'
    ]
    assert [Path(p).name for p in result.outputs] == ["mixdown.wav"]


def test_stems_through_per_channel_plugins_render_and_sum_as_their_chains(tmp_path: Path, mono_path: Path) -> None:
    """Three stems, each through a plugin run once per channel (a mono EQ or compressor on a stereo stem): the session
    ran its stems' chains on threads, where the per-channel copies were loaded, and JUCE (pedalboard's plugin host)
    makes a plugin only on the thread that made the first: the render stopped with a traceback ("must be reloaded on
    the main thread"; ZamTube's did so at its reset too). A stem whose chain holds a plugin now runs on the render's
    own thread: the mix is the sum of each stem through its chain to float precision."""
    rate = 48000
    rng = np.random.default_rng(8)
    stems = [(0.1 * rng.standard_normal((2, 2 * rate))).astype(np.float32) for _ in range(3)]
    (tmp_path / "stems").mkdir()
    for index, audio in enumerate(stems):
        with AudioFile(str(tmp_path / "stems" / f"s{index}.wav"), "w", rate, 2, bit_depth=32) as file:
            file.write(audio)
    chain = tmp_path / "mono.toml"
    chain.write_text(
        f'format = 1\n[[stages]]\ntype = "per_channel"\nname = "mono"\n[stages.stage]\ntype = "plugin"\n'
        f'path = "{mono_path}"\nparameters = {{ gain_db = -6.0, smoothing = 0.5 }}\n'
    )
    session = tmp_path / "s.toml"
    session.write_text(
        "format = 1\n"
        + "".join(f'[[stems]]\npath = "stems/s{i}.wav"\nchain = "mono.toml"\n' for i in range(3))
        + '[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 32\n'
    )
    render_session(session, tmp_path / "out")
    with AudioFile(str(tmp_path / "out" / "mix.wav")) as file:
        mix = file.read(file.frames)
    want = sum(load_chain(chain)(audio, rate) for audio in stems)
    assert mix.shape == want.shape
    assert float(np.max(np.abs(mix - want))) < 1e-6
