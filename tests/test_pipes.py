"""``soundstage process - -``: audio from standard input and to standard output, through real pipes."""

from __future__ import annotations

import contextlib
import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from helpers import tool
from soundstage import load_chain
from soundstage.cli import main
from soundstage.errors import AudioFileError
from soundstage.fileio import process_file

ROOT = Path(__file__).resolve().parents[1]
CLI = "import sys; from soundstage.cli import main; sys.exit(main(sys.argv[1:]))"
SR = 48000


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugin")}
    return subprocess.run([sys.executable, "-c", CLI, *args], input=stdin, capture_output=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pipes")
    rng = np.random.default_rng(3)
    t = np.arange(int(1.5 * SR)) / SR
    audio = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.2 * rng.standard_normal(t.size)]).astype(np.float32)
    soundfile.write(str(folder / "song.wav"), audio.T, SR, subtype="FLOAT")
    return folder / "song.wav"


def test_a_plugin_that_prints_on_standard_output_leaves_the_audio_stream_clean(
    song: Path, tmp_path: Path, vst3_dir: Path
) -> None:
    """A plugin printing on standard output (DPF's d_stdout, a printf; the test plugin with SSCRASH_STDOUT set) wrote
    into the WAV of ``process IN -``: the stream began with "SS Test Crash: made" before its RIFF header, and a reader
    (ffmpeg) refused it. Its lines go to standard error now; the stream is the bytes the same run writes to a file."""
    chain = tmp_path / "chatty.toml"
    chain.write_text(f'format = 1\n[[stages]]\ntype = "plugin"\npath = "{vst3_dir / "SSCrash.vst3"}"\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugin"), "SSCRASH_STDOUT": "1"}
    piped = subprocess.run(
        [sys.executable, "-c", CLI, "process", str(song), "-", "--chain", str(chain)], capture_output=True, env=env, timeout=600
    )
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stdout[:4] == b"RIFF", piped.stdout[:80]
    assert b"SS Test Crash: made" in piped.stderr and b"SS Test Crash:" not in piped.stdout
    to_file = subprocess.run(
        [sys.executable, "-c", CLI, "process", str(song), str(tmp_path / "file.wav"), "--chain", str(chain)],
        capture_output=True,
        env=env,
        timeout=600,
    )
    assert to_file.returncode == 0, to_file.stderr.decode()
    assert piped.stdout == (tmp_path / "file.wav").read_bytes()


@pytest.mark.parametrize("codec", [("-c:a", "pcm_f32le", "-f", "wav"), ("-c:a", "flac", "-f", "flac")])
def test_a_pipe_in_and_out_gives_the_bytes_of_the_same_files_run(song: Path, tmp_path: Path, codec: tuple[str, ...]) -> None:
    """ffmpeg's pipe into `process - -` (a WAV with its sizes left open, or FLAC), read back from standard output: the
    same samples as the file run from disk to disk, and the lines that would go to standard output on standard error.
    Before, `-` was refused both ways."""
    ffmpeg = tool("ffmpeg")
    piped = subprocess.run([ffmpeg, "-loglevel", "error", "-i", str(song), *codec, "-"], capture_output=True, check=True)
    done = run("process", "-", "-", "--chain", "mastering", stdin=piped.stdout)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr.decode().startswith("wrote standard output: 1.50 s, 2 channel(s) at 48000 Hz (from 2);")
    assert main(["process", str(song), str(tmp_path / "direct.wav"), "--chain", "mastering"]) == 0
    direct, rate = soundfile.read(str(tmp_path / "direct.wav"), dtype="float32")
    out, out_rate = soundfile.read(io.BytesIO(done.stdout), dtype="float32")
    assert out_rate == rate == SR and out.shape == direct.shape == (int(1.5 * SR), 2)
    if "flac" in codec:  # 24-bit: the input's samples to 2**-23, then the chain's output within that
        assert np.abs(out - direct).max() < 1e-5
    else:
        assert np.array_equal(out, direct)


def test_standard_input_alone_is_named_as_such_in_the_line_and_its_errors(song: Path, tmp_path: Path) -> None:
    """`ffmpeg ... - | soundstage process - out.wav`: written as from the file; an empty pipe and text are said of
    standard input, not of the temporary file it is kept in."""
    done = run("process", "-", str(tmp_path / "out.wav"), "--chain", "mastering", stdin=song.read_bytes())
    assert done.returncode == 0 and done.stdout.decode().startswith(f"wrote {tmp_path / 'out.wav'}: 1.50 s")
    assert soundfile.info(str(tmp_path / "out.wav")).frames == int(1.5 * SR)
    empty = run("process", "-", str(tmp_path / "e.wav"), "--chain", "mastering")
    assert (empty.returncode, empty.stderr.decode()) == (
        2,
        "soundstage: error: input '-': standard input is empty (nothing was piped in); pipe an audio file in, or give it\n",
    )
    text = run("process", "-", str(tmp_path / "t.wav"), "--chain", "mastering", stdin=b"not audio at all\n")
    assert (text.returncode, text.stderr.decode()) == (
        2,
        "soundstage: error: standard input is a text file, not audio; give the audio file\n",
    )
    assert not (tmp_path / "e.wav").exists() and not (tmp_path / "t.wav").exists()


def test_a_terminal_is_refused_as_standard_input_and_output(song: Path, tmp_path: Path) -> None:
    """`process - out.wav` typed at a terminal would wait for audio that never comes, and `process in.wav -` would
    print a WAV's bytes on it: each is refused in one line, on a real terminal (a pseudo-terminal), writing nothing."""
    primary, secondary = pty.openpty()
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "plugin")}
        for args, stdin, stdout in (
            (["process", "-", str(tmp_path / "out.wav")], secondary, subprocess.PIPE),
            (["process", str(song), "-"], subprocess.DEVNULL, secondary),
        ):
            done = subprocess.run(
                [sys.executable, "-c", CLI, *args, "--chain", "mastering"],
                stdin=stdin,
                stdout=stdout,
                stderr=subprocess.PIPE,
                env=env,
                timeout=600,
            )
            said = done.stderr.decode()
            assert done.returncode == 2 and said.count("\n") == 1, said
            side = "input '-': standard input" if args[1] == "-" else "output '-': standard output"
            assert said.startswith(f"soundstage: error: {side} is a terminal"), said
        assert not (tmp_path / "out.wav").exists()
        os.set_blocking(primary, False)
        with contextlib.suppress(BlockingIOError):
            assert os.read(primary, 65536) == b""  # nothing was printed on the terminal
    finally:
        os.close(primary)
        os.close(secondary)


@pytest.mark.parametrize(("codec", "form"), [("aac", "adts"), ("mp2", "mp2"), ("libmp3lame", "mp3")])
def test_a_coded_stream_on_standard_input_is_decoded_as_ffmpeg_decodes_it(
    song: Path, tmp_path: Path, codec: str, form: str
) -> None:
    """The format of standard input is told from its first bytes. An AAC stream in ADTS frames (`-f adts -`) begins
    with the sync bits an MPEG audio frame begins with, and was taken for MP3: "standard input ends early at sample
    3456". ADTS has layer 0, which no MPEG audio frame has. Each stream now reads as long as ffmpeg decodes it."""
    ffmpeg = tool("ffmpeg")
    noise = tmp_path / "noise.wav"  # 5 s of noise at -20 dBFS: pedalboard's MP3 decoder took the ADTS of it for MPEG frames
    soundfile.write(str(noise), 0.1 * np.random.default_rng(5).standard_normal((5 * SR, 2)), SR, subtype="PCM_16")
    stream = subprocess.run(
        [ffmpeg, "-loglevel", "error", "-i", str(noise), "-c:a", codec, "-f", form, "-"], capture_output=True, check=True
    ).stdout
    (tmp_path / "stream").write_bytes(stream)
    decoded = subprocess.run(
        [ffmpeg, "-loglevel", "error", "-i", str(tmp_path / "stream"), "-f", "f32le", "-"],  # its format as probed
        capture_output=True,
        check=True,
    ).stdout
    frames = len(decoded) // 8  # two float32 channels
    done = run("process", "-", str(tmp_path / "out.wav"), "--chain", "mastering", stdin=stream)
    assert done.returncode == 0, done.stderr.decode()
    assert soundfile.info(str(tmp_path / "out.wav")).frames == frames


@pytest.mark.parametrize("codec", [("-c:a", "pcm_s24le", "-f", "wav"), ("-c:a", "flac", "-f", "flac")])
def test_a_named_pipe_is_read_as_standard_input_is(song: Path, tmp_path: Path, codec: tuple[str, ...]) -> None:
    """``soundstage process <(ffmpeg -i song.mp3 -f wav -) out.wav``: the shell gives a pipe's path (``/dev/fd/63``),
    here a named pipe ffmpeg writes into. It was "input file '/dev/fd/63' is empty (0 bytes; an export that did not
    finish?)"; it is read once, kept as standard input is, and gives the bytes the file it carries gives."""
    ffmpeg = tool("ffmpeg")
    carried = tmp_path / f"carried.{codec[-1]}"
    subprocess.run([ffmpeg, "-loglevel", "error", "-i", str(song), *codec, str(carried)], check=True)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen([ffmpeg, "-loglevel", "error", "-y", "-i", str(song), *codec, str(fifo)])
    try:
        done = run("process", str(fifo), str(tmp_path / "piped.wav"), "--chain", "mastering")
    finally:  # a reader that never opened the pipe leaves its writer waiting
        with contextlib.suppress(subprocess.TimeoutExpired):
            writer.wait(timeout=10)
        writer.kill()
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith(f"wrote {tmp_path / 'piped.wav'}: 1.50 s, 2 channel(s)"), done.stdout.decode()
    assert main(["process", str(carried), str(tmp_path / "file.wav"), "--chain", "mastering"]) == 0
    assert (tmp_path / "piped.wav").read_bytes() == (tmp_path / "file.wav").read_bytes()
    # a pipe no one writes into and closes at once: named, not "an export that did not finish"
    empty = subprocess.Popen(["sh", "-c", f": > {fifo}"])
    try:
        done = run("process", str(fifo), str(tmp_path / "none.wav"), "--chain", "mastering")
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            empty.wait(timeout=10)
        empty.kill()
    assert done.returncode == 2 and done.stderr.decode().strip() == (
        f"soundstage: error: input {str(fifo)!r} is empty (nothing was piped in); pipe an audio file in, or give it"
    )
    assert not (tmp_path / "none.wav").exists()


def test_a_pipe_given_to_the_library_is_named_as_one(tmp_path: Path) -> None:
    """``process_file`` reads a file (its decoders seek): a pipe given to it is named as a pipe, without reading from
    it (a read would take what its writer sends); it was "is empty (0 bytes; an export that did not finish?)"."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(AudioFileError, match=r"^input '.*fifo' is a pipe, which the decoders cannot seek in; save what it"):
        process_file(load_chain("mastering"), fifo, tmp_path / "out.wav")
    assert not (tmp_path / "out.wav").exists()
