"""The output layer: every format written and read back by an independent reader, exact dither,
A/B under a ceiling, file modes, names kept inside the output folder.

The independent reader is ``soundfile`` (libsndfile); true peak and loudness of
the files are measured here with ``scipy.signal.resample_poly`` (8x) and
``pyloudnorm``, not with soundstage's own meters.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import scipy.signal
import soundfile
import wavinfo

from bwf import write_stem
from helpers import tool
from soundstage import Chain, OutputError, Processor, Route
from soundstage.fileio import process_file
from soundstage.files import write_text
from soundstage.session import SessionError, render_session
from soundstage.sinks import AudioSink, AudioTarget, audio_target, insert_wav_chunks, wav_chunk

FORMATS = ("wav", "flac", "aiff")
DEPTHS = (16, 24, 32)
CHANNELS = (1, 2, 5, 8)
RATES = (44100, 48000, 96000)
SUBTYPE = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}


def refused(file_format: str, depth: int) -> bool:
    return file_format == "flac" and depth == 32  # FLAC has no float samples


def tone_pair(rate: int, seconds: float = 0.05) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.stack([0.5 * np.sin(2 * np.pi * 997 * t), 0.25 * np.sin(2 * np.pi * 3001 * t + 1)]).astype(np.float32)


def route_for(channels: int) -> list[int]:
    return [index % 2 for index in range(channels)]


def check_read_back(path: Path, expected: np.ndarray, rate: int, depth: int, file_format: str) -> None:
    """The file as libsndfile reads it: format, subtype, rate, channels, length, and the samples."""
    info = soundfile.info(str(path))
    assert info.format == {"wav": "WAV", "flac": "FLAC", "aiff": "AIFF"}[file_format] or info.format == "WAVEX"
    assert info.subtype == SUBTYPE[depth]
    assert (info.samplerate, info.channels, info.frames) == (rate, expected.shape[0], expected.shape[1])
    if depth == 32:
        read, _ = soundfile.read(str(path), dtype="float32", always_2d=True)
        np.testing.assert_array_equal(read.T, expected)  # float: bit for bit
    else:
        raw, _ = soundfile.read(str(path), dtype="int32", always_2d=True)
        assert not np.any(raw & ((1 << (32 - depth)) - 1)), "samples are not on the file's integer grid"
        error = (raw.T >> (32 - depth)) - expected.astype(np.float64) * 2 ** (depth - 1)
        assert np.abs(error).max() <= 1.5  # TPDF dither: within 1.5 LSB of the ideal value


@pytest.mark.parametrize(("file_format", "depth", "channels", "rate"), list(itertools.product(FORMATS, DEPTHS, CHANNELS, RATES)))
def test_process_writes_every_format_or_refuses_it_before_any_work(
    tmp_path: Path, file_format: str, depth: int, channels: int, rate: int
) -> None:
    source = tmp_path / "in.wav"
    audio = tone_pair(rate)
    soundfile.write(str(source), audio.T, rate, subtype="FLOAT")
    target = tmp_path / f"out.{file_format}"
    chain = Chain([Route(channels=route_for(channels))])
    if refused(file_format, depth):
        with pytest.raises(OutputError, match=r"out.flac': FLAC holds 16 or 24-bit integers, not 32; use bit_depth 16 or 24"):
            process_file(chain, source, target, bit_depth=depth)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]
        return
    info = process_file(chain, source, target, bit_depth=depth, buffer_size=777)
    check_read_back(target, audio[route_for(channels)], rate, depth, file_format)
    assert info["bit_depth"] == depth


@pytest.mark.parametrize(("suffix", "file_format"), [(".bwf", "wav"), (".wave", "wav"), (".aifc", "aiff"), (".WAV", "wav")])
def test_an_output_named_as_recorders_and_daws_name_wavs_and_aiffs_is_written(
    tmp_path: Path, suffix: str, file_format: str
) -> None:
    """``.bwf`` and ``.wave`` (Broadcast Wave, as some recorders and DAWs name it) and ``.aifc`` were refused as
    outputs ("unsupported format .bwf; use .wav, .aiff or .flac"), though soundstage reads them. They are written as
    WAV and AIFF, read back by libsndfile and by ffprobe, and a BWF input's stamp goes into a ``.bwf`` output."""
    source = write_stem(tmp_path / "take.wav", tone_pair(48000, 0.5), 48000, bit_depth=32, time_reference=48000 * 60)
    target = tmp_path / f"out{suffix}"
    process_file(Chain([Route(channels=[0, 1])]), source, target, bit_depth=24)
    check_read_back(target, tone_pair(48000, 0.5), 48000, 24, file_format)
    probe = subprocess.run(
        [tool("ffprobe"), "-v", "error", "-show_entries", "format=format_name", "-of", "csv=p=0", str(target)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == file_format
    if file_format == "wav":
        assert wavinfo.WavInfoReader(str(target)).bext.time_reference == 48000 * 60


def test_too_many_channels_for_flac_are_refused_before_any_work(tmp_path: Path) -> None:
    source = tmp_path / "in.wav"
    soundfile.write(str(source), tone_pair(48000).T, 48000, subtype="FLOAT")
    with pytest.raises(
        OutputError, match=r"out.flac': 10 channels; FLAC holds 1..8; write .wav, or route to 8 channels or fewer"
    ):
        process_file(Chain([Route(channels=route_for(10))]), source, tmp_path / "out.flac")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def render_matrix_session(folder: Path, rate: int) -> Path:
    """One session holding every format x depth x channel count as its own render."""
    stems = folder / "stems"
    stems.mkdir()
    soundfile.write(str(stems / "mix.wav"), tone_pair(rate, 0.2).T, rate, subtype="FLOAT")
    lines = ["format = 1", f"sample_rate = {rate}", "[[stems]]", 'path = "stems/mix.wav"']
    for channels in CHANNELS:
        (folder / f"route{channels}.toml").write_text(f'[[stages]]\ntype = "route"\nchannels = {route_for(channels)}\n')
    for file_format, depth, channels in itertools.product(FORMATS, DEPTHS, CHANNELS):
        lines += [
            "[[renders]]",
            f'name = "{file_format}-{depth}-{channels}"',
            'kind = "device"',
            f'chain = "route{channels}.toml"',
            f'format = "{file_format}"',
            f"bit_depth = {depth}",
        ]
    session = folder / "session.toml"
    session.write_text("\n".join(lines) + "\n")
    return session


@pytest.mark.parametrize("rate", RATES)
def test_render_writes_every_format_and_one_refused_render_does_not_stop_the_others(tmp_path: Path, rate: int) -> None:
    session = render_matrix_session(tmp_path, rate)
    result = render_session(session, tmp_path / "out")
    mix = tone_pair(rate, 0.2)
    expected_failures = {f"flac-32-{channels}" for channels in CHANNELS}
    assert set(result.failures) == expected_failures
    assert all("FLAC holds 16 or 24-bit integers, not 32" in reason for reason in result.failures.values())
    for file_format, depth, channels in itertools.product(FORMATS, DEPTHS, CHANNELS):
        name = f"{file_format}-{depth}-{channels}"
        path = tmp_path / "out" / f"{name}.{'aiff' if file_format == 'aiff' else file_format}"
        if name in expected_failures:
            assert not path.exists()
            continue
        check_read_back(path, mix[route_for(channels)], rate, depth, file_format)
    report = json.loads((tmp_path / "out" / "render-report.json").read_text())
    assert {f["render"] for f in report["failures"]} == expected_failures
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temporaries left


def test_the_command_line_exit_status_says_a_render_failed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from soundstage.cli import main

    stems = tmp_path / "stems"
    stems.mkdir()
    soundfile.write(str(stems / "mix.wav"), tone_pair(48000, 0.2).T, 48000, subtype="FLOAT")
    (tmp_path / "s.toml").write_text(
        '[[stems]]\npath = "stems/mix.wav"\n'
        '[[renders]]\nname = "good"\nkind = "mixdown"\n'
        '[[renders]]\nname = "ten"\nkind = "device"\nchain = "ten.toml"\nformat = "flac"\n'
    )
    (tmp_path / "ten.toml").write_text(f'[[stages]]\ntype = "route"\nchannels = {route_for(10)}\n')
    assert main(["render", str(tmp_path / "s.toml"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "render 'ten' failed: output" in err and "10 channels; FLAC holds 1..8" in err
    assert (tmp_path / "out" / "good.wav").exists() and not (tmp_path / "out" / "ten.flac").exists()


@pytest.mark.parametrize("depth", [16, 24])
def test_dither_is_unbiased_over_the_whole_scale(tmp_path: Path, depth: int) -> None:
    ramp = np.linspace(-1.0, 1.0, 400_001)[None]
    target = audio_target(tmp_path / "ramp.wav", channels=1, sample_rate=48000, bit_depth=depth)
    with AudioSink(target, seed=3) as sink:
        for start in range(0, ramp.shape[1], 65536):
            sink.write(ramp[:, start : start + 65536])
    raw, _ = soundfile.read(str(target.path), dtype="int32")
    error = (raw >> (32 - depth)) - ramp[0] * 2 ** (depth - 1)
    positive, negative = error[ramp[0] > 0], error[ramp[0] < 0]
    print(f"{depth}-bit: mean error +{positive.mean():.4f} / {negative.mean():.4f} LSB, max {np.abs(error).max():.3f} LSB")
    assert abs(positive.mean()) < 0.01 and abs(negative.mean()) < 0.01
    assert np.abs(error).max() <= 1.5


def true_peak_dbtp(path: Path) -> float:
    """An independent true-peak reading: 8x polyphase oversampling (scipy), no soundstage code."""
    audio, _ = soundfile.read(str(path), dtype="float64", always_2d=True)
    padded = np.concatenate([audio, np.zeros((64, audio.shape[1]))])
    return float(20 * np.log10(np.abs(scipy.signal.resample_poly(padded, 8, 1, axis=0)).max()))


def ffmpeg_true_peak_dbtp(path: Path) -> float | None:
    """ffmpeg's BS.1770 true-peak reading (ebur128 filter), or None where ffmpeg is not installed."""
    import re
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None:
        return None
    command = ["ffmpeg", "-nostats", "-hide_banner", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"]
    printed = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    return float(re.findall(r"Peak:\s+(-?[\d.]+) dBFS", printed)[-1])


def loudness_lufs(path: Path) -> float:
    audio, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    return float(pyloudnorm.Meter(rate).integrated_loudness(audio))


def test_ab_pair_is_matched_by_lowering_and_holds_the_ceiling(tmp_path: Path) -> None:
    rate = 48000
    rng = np.random.default_rng(4)
    t = np.arange(6 * rate) / rate
    music = np.stack([np.sin(2 * np.pi * 220 * t) + 0.3 * rng.standard_normal(t.size), np.sin(2 * np.pi * 330 * t)])
    music = music / np.abs(music).max() * 10 ** (-0.5 / 20)  # a master with 0.5 dB of headroom
    stems = tmp_path / "stems"
    stems.mkdir()
    soundfile.write(str(stems / "mix.wav"), music.T.astype(np.float32), rate, subtype="FLOAT")
    (tmp_path / "s.toml").write_text('[[stems]]\npath = "stems/mix.wav"\n[[renders]]\nname = "ab"\nkind = "ab"\nbit_depth = 24\n')
    result = render_session(tmp_path / "s.toml", tmp_path / "out")
    files = {side: tmp_path / "out" / f"ab-{side}.wav" for side in "AB"}
    report = {o["file"]: o for o in result.report["outputs"]}
    peaks = {side: true_peak_dbtp(path) for side, path in files.items()}
    levels = {side: loudness_lufs(path) for side, path in files.items()}
    print(f"A/B: true peak {peaks}, loudness {levels}, report {result.report['renders'][0]['ab']}")
    assert max(peaks.values()) <= -1.0 + 0.02  # 8x reading; the file's 4x (BS.1770) reading is held at -1.0
    for path in files.values():
        ffmpeg_peak = ffmpeg_true_peak_dbtp(path)
        if ffmpeg_peak is not None or os.environ.get("CI"):
            assert ffmpeg_peak is not None and ffmpeg_peak <= -1.0  # ffmpeg prints 0.1 dB steps
    assert abs(levels["A"] - levels["B"]) <= 0.1
    for side, path in files.items():
        assert report[path.name]["true_peak_dbtp"] <= -1.0
        assert abs(report[path.name]["true_peak_dbtp"] - peaks[side]) <= 0.1
        assert abs(report[path.name]["integrated_lufs"] - levels[side]) <= 0.1
    gains = [report[path.name]["gain_applied_db"] for path in files.values()]
    assert max(gains) <= 0.0  # nothing is raised
    note = result.report["renders"][0]["ab"]
    assert "lowering the louder side" in note
    assert "the mix is over the ceiling" in note and "trim the mix by" in note  # its peak is -0.5 dBTP, over -1.0


@pytest.mark.parametrize(("seconds", "level"), [(2.0, 0.0), (0.3, 0.1)])
def test_an_ab_with_no_loudness_to_match_says_so(tmp_path: Path, seconds: float, level: float) -> None:
    """A silent mix, or one shorter than BS.1770's 0.4 s block, has no integrated loudness: the A/B cannot be
    matched, and the report said it was, "by lowering the louder side (B) by 0.00 dB"."""
    stems = tmp_path / "stems"
    stems.mkdir()
    audio = level * np.random.default_rng(3).standard_normal((int(seconds * 48000), 2))
    soundfile.write(str(stems / "mix.wav"), audio.astype(np.float32), 48000, subtype="FLOAT")
    (tmp_path / "s.toml").write_text('[[stems]]\npath = "stems/mix.wav"\n[[renders]]\nname = "ab"\nkind = "ab"\n')
    note = render_session(tmp_path / "s.toml", tmp_path / "out").report["renders"][0]["ab"]
    assert note.startswith("not loudness-matched: sides A and B have no integrated loudness (silent, under BS.1770's"), note
    assert "lowering the louder side" not in note


def test_files_take_their_mode_from_the_umask_and_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        source = tmp_path / "in.wav"
        soundfile.write(str(source), tone_pair(48000).T, 48000, subtype="FLOAT")
        process_file(Chain([Route(channels=[0, 1])]), source, tmp_path / "out.wav")
        assert stat.S_IMODE((tmp_path / "out.wav").stat().st_mode) == 0o644
        mine = tmp_path / "map.toml"
        mine.write_text("format = 1\n")
        os.chmod(mine, 0o640)
        write_text(mine, "format = 1\n# replaced\n")
        assert stat.S_IMODE(mine.stat().st_mode) == 0o640 and "replaced" in mine.read_text()
        os.umask(0o027)
        write_text(tmp_path / "new.txt", "x")
        assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640
    finally:
        os.umask(previous)


def test_a_bext_added_to_a_wav_written_elsewhere_keeps_its_mode_and_audio(tmp_path: Path) -> None:
    """The chunk goes in through a copy that replaces the file: the file keeps its permissions (the copy is made
    0600), its audio and no temporary beside it."""
    from bwf import add_bext

    stem = tmp_path / "stem.wav"
    audio = tone_pair(48000).T
    soundfile.write(str(stem), audio, 48000, subtype="PCM_24")
    os.chmod(stem, 0o644)
    add_bext(stem, 96000)
    assert stat.S_IMODE(stem.stat().st_mode) == 0o644
    assert wavinfo.WavInfoReader(str(stem)).bext.time_reference == 96000
    np.testing.assert_allclose(soundfile.read(str(stem))[0], audio, atol=2**-22)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["stem.wav"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../escaped", r"renders\[0\].name: render name '../escaped' is not a plain file name"),
        ("/tmp/absolute", r"renders\[0\].name: render name '/tmp/absolute' is not a plain file name"),
        (".hidden", r"renders\[0\].name: render name '.hidden' is not a plain file name"),
    ],
)
def test_render_names_cannot_leave_the_output_folder(tmp_path: Path, name: str, message: str) -> None:
    stems = tmp_path / "stems"
    stems.mkdir()
    soundfile.write(str(stems / "mix.wav"), tone_pair(48000).T, 48000, subtype="FLOAT")
    (tmp_path / "s.toml").write_text(f'[[stems]]\npath = "stems/mix.wav"\n[[renders]]\nname = "{name}"\nkind = "mixdown"\n')
    with pytest.raises(SessionError, match=message):
        render_session(tmp_path / "s.toml", tmp_path / "out")
    assert not (tmp_path / "escaped.wav").exists() and not Path("/tmp/absolute.wav").exists()


def test_two_renders_on_one_file_are_refused_before_rendering(tmp_path: Path) -> None:
    stems = tmp_path / "stems"
    stems.mkdir()
    soundfile.write(str(stems / "mix.wav"), tone_pair(48000).T, 48000, subtype="FLOAT")
    (tmp_path / "s.toml").write_text(
        '[[stems]]\npath = "stems/mix.wav"\n[[renders]]\nname = "ab"\nkind = "ab"\n[[renders]]\nname = "AB-a"\nkind = "mixdown"\n'
    )
    with pytest.raises(OutputError, match=r"render 'AB-a' would write 'AB-a.wav', which render 'ab' also writes; rename one"):
        render_session(tmp_path / "s.toml", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # the folder it made, removed again


def test_a_render_failing_while_it_runs_does_not_stop_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from soundstage.session import outputs

    stems = tmp_path / "stems"
    stems.mkdir()
    soundfile.write(str(stems / "mix.wav"), tone_pair(48000, 3.0).T, 48000, subtype="FLOAT")
    (tmp_path / "s.toml").write_text(
        '[[stems]]\npath = "stems/mix.wav"\n[[renders]]\nname = "good"\n[[renders]]\nname = "bad"\n[[renders]]\nname = "also"\n'
    )
    original = outputs.Output.write

    def write(self, piece):  # type: ignore[no-untyped-def]
        if self.target.path.name == "bad.wav" and self.frames > 0:  # the disk fills up under this one render
            raise OutputError(f"cannot write {str(self.target.path)!r}: No space left on device")
        original(self, piece)

    monkeypatch.setattr(outputs.Output, "write", write)
    result = render_session(tmp_path / "s.toml", tmp_path / "out", block=48000)
    assert result.failures == {"bad": f"cannot write {str(tmp_path / 'out' / 'bad.wav')!r}: No space left on device"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["also.wav", "good.wav", "index.html", "render-report.json"]
    for name in ("good", "also"):
        assert soundfile.info(str(tmp_path / "out" / f"{name}.wav")).frames == 3 * 48000


def truncated_stem_session(folder: Path) -> Path:
    stems = folder / "stems"
    stems.mkdir()
    path = stems / "cut.wav"
    soundfile.write(str(path), tone_pair(48000, 2.0).T, 48000, subtype="PCM_24")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    (folder / "s.toml").write_text('[[stems]]\npath = "stems/cut.wav"\n[[renders]]\nname = "mix"\n')
    return folder / "s.toml"


def test_allow_truncated_renders_what_the_stem_holds_and_reports_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from soundstage.cli import main

    session = truncated_stem_session(tmp_path)
    assert main(["render", str(session), "-o", str(tmp_path / "refused")]) == 2
    assert "is truncated: its header declares 96000 samples (2.000 s)" in capsys.readouterr().err
    assert main(["render", str(session), "-o", str(tmp_path / "out"), "--allow-truncated"]) == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "render-report.json").read_text())
    missing = report["stems"][0]["missing_s"]
    print(f"missing: {missing:.4f} s; terminal: {[line for line in printed.splitlines() if 'TRUNCATED' in line]}")
    assert missing == pytest.approx(1.0, abs=0.001)
    assert f"stem cut: TRUNCATED, {missing:.3f} s missing at its end" in printed
    held = soundfile.info(str(tmp_path / "stems" / "cut.wav")).frames  # libsndfile's count of what the file holds
    assert soundfile.info(str(tmp_path / "out" / "mix.wav")).frames == held  # the mix holds what the stem holds


def test_process_allow_truncated_processes_what_a_cut_file_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``process`` names --allow-truncated as the fix for a cut-off input, and the flag works (it was refused with the
    same message: the command's first look at the input did not pass the flag on)."""
    from soundstage.cli import main

    cut = tmp_path / "cut.wav"
    soundfile.write(str(cut), tone_pair(48000, 2.0).T, 48000, subtype="PCM_24")
    cut.write_bytes(cut.read_bytes()[: 44 + 48000 * 6])  # one second of 24-bit stereo after the header
    arguments = ["process", "--chain", "mastering", str(cut)]
    assert main([*arguments, str(tmp_path / "refused.wav")]) == 2
    assert "pass --allow-truncated" in capsys.readouterr().err and not (tmp_path / "refused.wav").exists()
    assert main([*arguments, str(tmp_path / "out.wav"), "--allow-truncated"]) == 0
    assert "input " + str(cut) + " is TRUNCATED: 1.000 s missing at its end" in capsys.readouterr().out
    assert soundfile.info(str(tmp_path / "out.wav")).frames == soundfile.info(str(cut)).frames == 48000


def test_short_term_loudness_and_third_octave_spectrum_of_what_is_written() -> None:
    """The report's pictures: short-term loudness (3 s) within 0.2 LU of pyloudnorm on steady segments; white noise rises
    1 dB per 1/3 octave (within 0.5 dB from 100 Hz to 10 kHz); a 1 kHz sine peaks in the 1 kHz band."""
    import pyloudnorm

    from soundstage.analysis.loudness import LoudnessMeter, SpectrumMeter, short_term_lufs

    rate = 48000
    rng = np.random.default_rng(5)
    quiet, loud = 0.02 * rng.standard_normal((2, 6 * rate)), 0.2 * rng.standard_normal((2, 6 * rate))
    signal = np.concatenate([quiet, loud], axis=1)
    meter = LoudnessMeter(rate, 2)
    for start in range(0, signal.shape[1], 7000):  # any block size
        meter.add(signal[:, start : start + 7000])
    values = short_term_lufs(meter)
    reference = pyloudnorm.Meter(rate)
    assert abs(values[1] - reference.integrated_loudness(quiet[:, rate : 4 * rate].T)) <= 0.2  # window 1-4 s
    assert abs(values[8] - reference.integrated_loudness(loud[:, 2 * rate : 5 * rate].T)) <= 0.2  # window 8-11 s
    spectrum = SpectrumMeter(rate, 2)
    spectrum.add(rng.standard_normal((2, 20 * rate)))
    centers, levels = spectrum.third_octave_db()
    band = [i for i, c in enumerate(centers) if 100 <= c <= 10000]
    steps = np.diff([levels[i] for i in band])
    assert np.abs(steps - 10 * np.log10(2 ** (1 / 3))).max() <= 0.5, steps.round(2)
    tone = SpectrumMeter(rate, 1)
    tone.add(np.sin(2 * np.pi * 1000 * np.arange(2 * rate) / rate)[None])
    centers, levels = tone.third_octave_db()
    assert centers[int(np.argmax([v if v is not None else -999 for v in levels]))] == 1000.0


@pytest.mark.parametrize("rate", [8000, 11025, 44100, 48000, 96000])
def test_meters_streamed_in_any_blocks_give_the_whole_signal_figures(rate: int) -> None:
    """Integrated loudness streamed in random blocks equals pyloudnorm on the whole signal (1e-6 LU; 11025 Hz, whose
    100 ms step is not a whole number of samples, within 0.01 LU), and the spectrum's levels equal the one-shot ones."""
    import pyloudnorm

    from soundstage.analysis.loudness import LoudnessMeter, SpectrumMeter

    rng = np.random.default_rng(rate)
    signal = rng.standard_normal((2, 7 * rate)) * np.linspace(0.001, 0.3, 7 * rate)  # gating has work to do
    meter, spectrum, whole = LoudnessMeter(rate, 2), SpectrumMeter(rate, 2), SpectrumMeter(rate, 2)
    start = 0
    while start < signal.shape[1]:
        size = int(rng.integers(1, 20000))
        meter.add(signal[:, start : start + size])
        spectrum.add(signal[:, start : start + size])
        start += size
    whole.add(signal)
    expected = pyloudnorm.Meter(rate).integrated_loudness(signal.T)
    assert abs(meter.integrated_lufs() - expected) <= (0.01 if rate == 11025 else 1e-6)
    streamed, one_shot = spectrum.third_octave_db()[1], whole.third_octave_db()[1]
    assert streamed == one_shot


@pytest.mark.parametrize("rate", [1000, 2000, 2500, 3000, 8000])
def test_loudness_at_rates_below_the_shelf_is_finite_and_the_48k_figure(rate: int) -> None:
    """A file at 2 kHz (soundstage reads 1-768 kHz) was metered inf LUFS, with an overflow warning: the K-weighting
    shelf (1.5 kHz) lies above Nyquist, where its biquad is unstable. A 250 Hz tone at -20 dBFS now meters within
    0.2 dB of its figure at 48 kHz (the shelf adds under 0.1 dB at 250 Hz), without a warning."""
    import warnings

    from soundstage.analysis.loudness import LoudnessMeter

    def lufs(sample_rate: int) -> float:
        tone = 0.1 * np.sin(2 * np.pi * 250.0 * np.arange(10 * sample_rate) / sample_rate)
        meter = LoudnessMeter(sample_rate, 2)
        meter.add(np.stack([tone, tone]))
        return meter.integrated_lufs()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        low = lufs(rate)
    assert np.isfinite(low) and abs(low - lufs(48000)) <= 0.2, (rate, low)


# -- past 4 GiB --------------------------------------------------------------------------


def test_a_wav_past_4_gib_is_rf64_an_aiff_is_refused_and_a_recording_of_unknown_length_may_grow() -> None:
    """A WAV's sizes are 32-bit: past 4 GiB it is written as RF64 (before: refused, 'write .flac'), an AIFF is
    refused before any work, and a recording whose length is not known is RF64 that becomes a WAV if it ends under.
    (libsndfile alone writes such a WAV with its header capped at 4 GiB: 8 channels of float at 48 kHz for 47:20
    were read back 43.7 s short.)"""
    hour_of_eight = {"channels": 8, "sample_rate": 48000, "bit_depth": 32, "frames": 48000 * 3600}  # 5.1 GiB
    big = audio_target("long.wav", **hour_of_eight)
    assert (big.file_format, big.open_ended) == ("RF64", False)
    assert audio_target("short.wav", **{**hour_of_eight, "frames": 48000 * 60}).file_format == "WAV"
    with pytest.raises(OutputError, match=r"'long.aiff' would hold 5.1 GiB; an AIFF file holds at most 4 GiB: write .wav"):
        audio_target("long.aiff", **hour_of_eight)
    live = audio_target("live.wav", channels=2, sample_rate=48000)
    assert (live.file_format, live.open_ended) == ("RF64", True)


def write_through_sink(target: AudioTarget, audio: np.ndarray) -> None:
    with AudioSink(target) as sink:
        for start in range(0, audio.shape[1], 10000):
            sink.write(audio[:, start : start + 10000])


def decoded_by_ffmpeg(path: Path, channels: int) -> np.ndarray:
    import subprocess

    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-"], capture_output=True, check=True)
    return np.frombuffer(raw.stdout, np.float32).reshape(-1, channels).T


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg (Debian: apt-get install ffmpeg)")
def test_rf64_and_a_grown_recording_read_back_in_soundfile_and_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bytes, not only the choice: an RF64 file (the 4 GiB line moved down to 1 kB so a second of audio crosses
    it) and an open-ended recording that ends small (a RIFF WAV) give back every sample in soundfile and in ffmpeg."""
    import soundstage.sinks as sinks

    rng = np.random.default_rng(3)
    audio = (0.3 * rng.standard_normal((3, 48000))).astype(np.float32)
    grown = tmp_path / "live.wav"
    write_through_sink(audio_target(grown, channels=3, sample_rate=48000), audio)
    monkeypatch.setattr(sinks, "_FOUR_GIB_LESS_HEADERS", 1024)
    long = tmp_path / "long.wav"
    write_through_sink(audio_target(long, channels=3, sample_rate=48000, frames=audio.shape[1]), audio)
    for path, magic, kind in ((long, b"RF64", "RF64"), (grown, b"RIFF", "WAVEX")):
        assert path.read_bytes()[:4] == magic
        back, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        assert soundfile.info(str(path)).format == kind and rate == 48000
        assert np.array_equal(back.T, audio) and np.array_equal(decoded_by_ffmpeg(path, 3), audio)


def test_a_file_that_appears_at_the_output_while_process_runs_is_kept(tmp_path: Path) -> None:
    """Without overwrite, a file another program writes at the output name while a long process runs is the user's:
    it is kept byte for byte, the process output discarded, and the error says so (it was replaced)."""
    source = tmp_path / "in.wav"
    soundfile.write(str(source), tone_pair(48000, 1.0).T, 48000, subtype="PCM_24")
    target = tmp_path / "out.wav"

    def another_program_writes(_: int) -> None:
        if not target.exists():
            target.write_bytes(b"the user's own file")

    with pytest.raises(OutputError, match=r"out\.wav' appeared while it was being written.*kept as it is.*--overwrite"):
        process_file(Chain([Route(channels=[1, 0])]), source, target, buffer_size=4800, progress=another_program_writes)
    assert target.read_bytes() == b"the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "out.wav"]  # no temporary left
    info = process_file(Chain([Route(channels=[1, 0])]), source, target, overwrite=True, progress=another_program_writes)
    assert info["frames"] == 48000 and soundfile.info(str(target)).frames == 48000  # --overwrite replaces it


def test_without_hard_links_a_file_that_appeared_is_still_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAT and exFAT drives (and some network shares) have no hard links: the name is checked before the rename."""
    from soundstage.files import publish

    def no_links(*_: object, **__: object) -> None:
        raise PermissionError(1, "Operation not permitted")  # what Linux's vfat says to link()

    monkeypatch.setattr(os, "link", no_links)
    finished, target = tmp_path / ".out.wav.x.partial", tmp_path / "out.wav"
    finished.write_bytes(b"new")
    publish(finished, target, replace=False)
    assert target.read_bytes() == b"new" and not finished.exists()
    finished.write_bytes(b"newer")
    with pytest.raises(FileExistsError):
        publish(finished, target, replace=False)
    assert target.read_bytes() == b"new" and finished.read_bytes() == b"newer"


@pytest.mark.parametrize("bit_depth", [16, 24, 32])
def test_the_sink_counts_every_sample_past_full_scale(tmp_path: Path, bit_depth: int) -> None:
    """Both signs: the render report counted |x| >= 1.0 on the written samples, and an integer file's largest positive
    code is 1 - 2**-(b-1), so no positive clip was counted (half the clipped samples of a hot mix). Checked against the
    file read back: the samples at the integer range's ends, or past +-1.0 in a float file."""
    t = np.arange(48000) / 48000
    hot = np.stack([1.5 * np.sin(2 * np.pi * 997 * t), -1.2 * np.sin(2 * np.pi * 313 * t + 0.3)])
    target = audio_target(tmp_path / "hot.wav", channels=2, sample_rate=48000, bit_depth=bit_depth)
    with AudioSink(target) as sink:
        for start in range(0, hot.shape[1], 4096):
            sink.write(hot[:, start : start + 4096])
    if bit_depth == 32:
        back = soundfile.read(str(tmp_path / "hot.wav"), dtype="float64")[0]
        in_file = int(np.count_nonzero(np.abs(back) > 1.0))
        assert abs(sink.clipped - in_file) <= 3  # float64 given, float32 stored: a hair past 1.0 may round to it
    else:
        back = soundfile.read(str(tmp_path / "hot.wav"), dtype="int32")[0] >> (32 - bit_depth)
        in_file = int(np.count_nonzero((back == 2 ** (bit_depth - 1) - 1) | (back == -(2 ** (bit_depth - 1)))))
        assert abs(sink.clipped - in_file) <= 3  # a sample can land on an end code without clipping: rare, none here
    past = int(np.count_nonzero(np.abs(hot) > 1.0))
    print(f"{bit_depth}-bit: {sink.clipped} counted, {in_file} at the ends in the file, {past} past 1.0 given")
    assert abs(sink.clipped - past) <= 3 and sink.clipped > 40000
    assert sink.signal_peak == pytest.approx(1.5, abs=1e-4)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_chunks_go_in_before_the_audio_and_leave_it_as_it_was(tmp_path: Path, subtype: str) -> None:
    """insert_wav_chunks (how a processed WAV carries its input's bext): the samples read back equal, the RIFF size is
    the file's, an odd-sized chunk is padded, and readers find both chunks; not for a file that is not a RIFF WAV."""
    audio = np.random.default_rng(3).uniform(-0.5, 0.5, (3, 12345))
    path = tmp_path / "x.wav"
    soundfile.write(str(path), audio.T, 44100, subtype=subtype)
    before = soundfile.read(str(path))[0]
    assert insert_wav_chunks(path, [(b"bext", b"B" * 603), (b"iXML", b"<BWFXML/>")])
    data = path.read_bytes()
    assert int.from_bytes(data[4:8], "little") == len(data) - 8
    assert wav_chunk(path, b"bext") == b"B" * 603 and wav_chunk(path, b"iXML") == b"<BWFXML/>"
    assert data.index(b"bext") < data.index(b"data") and data[data.index(b"bext") + 8 + 603] == 0  # the pad byte
    assert np.array_equal(soundfile.read(str(path))[0], before)
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"]  # its temporary is gone
    soundfile.write(str(tmp_path / "x.flac"), audio.T, 44100)
    assert not insert_wav_chunks(tmp_path / "x.flac", [(b"bext", b"B")]) and wav_chunk(tmp_path / "x.flac", b"bext") is None


def test_a_renders_report_counts_the_positive_clips_too(tmp_path: Path) -> None:
    stems = tmp_path / "stems"
    stems.mkdir()
    t = np.arange(48000) / 48000
    hot = np.stack([1.5 * np.sin(2 * np.pi * 997 * t), 1.5 * np.sin(2 * np.pi * 997 * t)]).astype(np.float32)
    soundfile.write(str(stems / "hot.wav"), hot.T, 48000, subtype="FLOAT")
    (tmp_path / "s.toml").write_text('[[stems]]\npath = "stems/hot.wav"\n[[renders]]\nname = "mix"\nbit_depth = 24\n')
    result = render_session(tmp_path / "s.toml", tmp_path / "out")
    entry = next(output for output in result.report["outputs"] if output["file"] == "mix.wav")
    past = int(np.count_nonzero(np.abs(hot) > 1.0))
    positive = int(np.count_nonzero(hot > 1.0))
    print(f"report: {entry['clipped_samples']} clipped; {past} past full scale, {positive} of them positive")
    assert abs(entry["clipped_samples"] - past) <= 3 and positive > 20000


def test_a_file_that_appears_between_the_check_and_its_move_takes_the_renders_other_files_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last moment: another program writes ab-B.wav after the names were checked and ab-A.wav moved into place.
    The A/B render fails whole (ab-A.wav was left under its name, half an A/B); the other render is written."""
    stems = tmp_path / "stems"
    stems.mkdir()
    soundfile.write(str(stems / "mix.wav"), tone_pair(48000, 1.0).T, 48000, subtype="FLOAT")
    (tmp_path / "s.toml").write_text(
        '[[stems]]\npath = "stems/mix.wav"\n[[renders]]\nname = "ab"\nkind = "ab"\n[[renders]]\nname = "plain"\n'
    )
    out = tmp_path / "out"
    mine = out / "ab-B.wav"
    commit = AudioSink.commit

    def another_program_writes_first(sink: AudioSink) -> Path:
        if sink.target.path == mine:
            mine.write_bytes(b"the user's own file")
        return commit(sink)

    monkeypatch.setattr(AudioSink, "commit", another_program_writes_first)
    result = render_session(tmp_path / "s.toml", out)
    assert list(result.failures) == ["ab"] and "appeared while it was being written" in result.failures["ab"]
    assert mine.read_bytes() == b"the user's own file"
    assert not (out / "ab-A.wav").exists()
    assert [path.name for path in result.outputs] == ["plain.wav"]
    assert soundfile.info(str(out / "plain.wav")).frames == 48000
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_a_render_whose_file_appears_while_it_runs_fails_alone_and_keeps_that_file(tmp_path: Path) -> None:
    stems = tmp_path / "stems"
    stems.mkdir()
    soundfile.write(str(stems / "mix.wav"), tone_pair(48000, 2.0).T, 48000, subtype="FLOAT")
    (tmp_path / "s.toml").write_text('[[stems]]\npath = "stems/mix.wav"\n[[renders]]\nname = "a"\n[[renders]]\nname = "b"\n')
    out = tmp_path / "out"
    mine = out / "b.wav"

    def another_program_writes(position: int, total: int) -> None:
        if position and not mine.exists():
            mine.write_bytes(b"the user's own file")

    result = render_session(tmp_path / "s.toml", out, block=24000, progress=another_program_writes)
    assert list(result.failures) == ["b"] and "appeared while it was being written" in result.failures["b"]
    assert mine.read_bytes() == b"the user's own file"
    assert soundfile.info(str(out / "a.wav")).frames == 2 * 48000
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporaries left


class _BlowsUp(Processor):
    """A stage that runs unstable from sample 30 000 on (a feedback at its top, a filter past its limit)."""

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        self._at = 0

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        out = block.copy()
        out[1, max(30000 - self._at, 0) :] = np.inf
        self._at += block.shape[1]
        return out


@pytest.mark.parametrize("depth", [16, 32])
def test_an_output_the_chain_made_infinite_is_not_written(tmp_path: Path, depth: int) -> None:
    """A chain that went unstable (pedalboard's first-order filters above half the rate did, before they were clamped)
    gave a file of inf: in float, kept and reported as "+inf dBFS"; in PCM, full-scale noise. Nothing is written now,
    and the error names where it started; the folder holds no temporary."""
    source = tmp_path / "in.wav"
    soundfile.write(source, np.random.default_rng(1).standard_normal((48000, 2)) * 0.1, 48000, subtype="PCM_24")
    target = tmp_path / "out.wav"
    with pytest.raises(
        OutputError, match=r"'.*out\.wav': not written: the output holds inf at channel 1, 0\.625 s \(sample 30000\)"
    ):
        process_file(Chain([_BlowsUp()]), source, target, bit_depth=depth, buffer_size=7000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]
