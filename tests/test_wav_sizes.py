"""WAVs whose sizes other programs wrote wrong: read whole, as the audio in them is.

A WAV's sizes are 32-bit. Past 4 GiB of audio (6.2 hours of 48 kHz stereo 16-bit; 2.1 hours of 24-bit 5.1), a writer
without RF64 writes what it can: FFmpeg and libsndfile 0xFFFFFFFF ("to the end of the file"), SoX the size modulo
2**32. pedalboard and libsndfile then stop at 4 GiB, or at the size modulo 2**32 (10 minutes into a 6.4-hour
recording), without a word, and soundstage read as they did. The files here are made as those writers leave them (the
header each writes, the sizes each gives past 4 GiB), sparse: only the samples the tests compare take room on disk.

Smaller files: a RIFF size too small, or a chunk size before the audio that runs over its header, sent pedalboard past
the audio: it read no samples where libsndfile reads them all, and soundstage said the file had none.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from helpers import tool
from soundstage.cli import main
from soundstage.errors import AudioFileError
from soundstage.fileio import open_audio

RATE = 48000
FRAME = 4  # bytes of a 16-bit stereo frame
#: Audio of the long recordings: 10 minutes past 4 GiB (6.4 hours).
AUDIO_BYTES = 2**32 + 600 * RATE * FRAME


def _writers_header(writer: str, folder: Path) -> bytes:
    """The bytes ``writer`` puts before a 16-bit stereo WAV's samples (its header, up to and with the data chunk's)."""
    short = folder / f"{writer}-short.wav"
    if writer == "sox":
        subprocess.run([tool("sox"), "-n", "-r", str(RATE), "-c", "2", "-b", "16", str(short), "synth", "1", "sine", "440"],
                       check=True, capture_output=True)  # fmt: skip
    elif writer == "ffmpeg":
        subprocess.run([tool("ffmpeg"), "-v", "error", "-f", "lavfi", "-i", f"sine=f=440:d=1:sample_rate={RATE}", "-ac", "2",
                        "-c:a", "pcm_s16le", str(short)], check=True)  # fmt: skip
    else:
        soundfile.write(str(short), np.zeros((RATE, 2), np.float32), RATE, subtype="PCM_16")
    data = short.read_bytes()
    return data[: data.index(b"data") + 8]


def _long_recording(folder: Path, writer: str, *, tail: bytes = b"", cut: int = 0) -> tuple[Path, dict[int, np.ndarray]]:
    """A 6.4-hour WAV as ``writer`` leaves it past 4 GiB, ``tail`` (chunks) after its audio, ``cut`` bytes cut off its
    end; and the samples written at frames where it is not silent (its start, across the 4 GiB mark, its end)."""
    header = bytearray(_writers_header(writer, folder))
    if writer == "sox":  # the sizes modulo 2**32
        header[4:8] = ((len(header) - 8 + AUDIO_BYTES + len(tail)) % 2**32).to_bytes(4, "little")
        header[-4:] = (AUDIO_BYTES % 2**32).to_bytes(4, "little")
    else:  # FFmpeg 5.1 ("Filesize ... invalid for wav, output file will be broken") and libsndfile 1.2
        header[4:8] = header[-4:] = (2**32 - 1).to_bytes(4, "little")
    frames = AUDIO_BYTES // FRAME
    rng = np.random.default_rng(7)
    marks = {
        start: rng.integers(-20000, 20000, (RATE, 2), dtype=np.int16) for start in (0, 2**32 // FRAME - RATE // 2, frames - RATE)
    }
    path = folder / f"{writer}-long.wav"
    with path.open("wb") as out:
        out.write(header)
        for start, samples in marks.items():
            out.seek(len(header) + start * FRAME)
            out.write(samples.tobytes())
        out.seek(len(header) + AUDIO_BYTES)
        out.write(tail)
        out.truncate(len(header) + AUDIO_BYTES + len(tail) - cut)
    return path, {start: samples.T.astype(np.float32) / 32768 for start, samples in marks.items()}


@pytest.mark.parametrize("writer", ["sox", "ffmpeg", "libsndfile"])
def test_a_recording_over_4_gib_is_read_to_its_end(tmp_path: Path, writer: str) -> None:
    """A 6.4-hour recording as SoX, FFmpeg and libsndfile write it without RF64: every sample is read, 23 000 s of it,
    where libsndfile (and pedalboard) stop at 630 s or 22 370 s; the samples across the 4 GiB mark and at the end are
    those written."""
    path, marks = _long_recording(tmp_path, writer)
    frames = AUDIO_BYTES // FRAME
    assert soundfile.info(str(path)).frames < frames - 600 * RATE + 1  # what every other reader gives
    with open_audio(path) as reader:
        assert int(reader.frames) == frames and float(reader.samplerate) == RATE
        for start, expected in marks.items():
            reader.seek(start)
            assert np.array_equal(reader.read(RATE), expected), start


def test_chunks_after_the_audio_of_a_recording_over_4_gib_are_not_read_as_audio(tmp_path: Path) -> None:
    """SoX's sizes modulo 2**32, with markers after the audio (a cue chunk and a LIST of labels, as an editor adds
    them): the audio ends where they start, and the last second is the one written."""
    words = b"".join
    labels = (
        b"LIST"
        + words(v.to_bytes(4, "little") for v in (20,))
        + b"adtl"
        + b"labl"
        + words(v.to_bytes(4, "little") for v in (8, 1))
        + b"End\0"
    )
    cue = b"cue " + words(v.to_bytes(4, "little") for v in (28, 1, 1, 0)) + b"data" + bytes(12)
    path, marks = _long_recording(tmp_path, "sox", tail=cue + labels)
    with open_audio(path) as reader:
        assert int(reader.frames) == AUDIO_BYTES // FRAME
        last = max(marks)
        reader.seek(last)
        assert np.array_equal(reader.read(2 * RATE), marks[last])


def test_a_recording_over_4_gib_cut_short_is_refused_as_truncated(tmp_path: Path) -> None:
    """SoX's sizes modulo 2**32, the file cut 1 MB short (a disk that filled up): no 4 GiB step of the size leads to
    its end, so it is refused in one line as truncated, or read to what it holds with allow_truncated."""
    path, _ = _long_recording(tmp_path, "sox", cut=2**20)
    with pytest.raises(AudioFileError) as refused:
        open_audio(path)
    message = str(refused.value)
    assert "\n" not in message and repr(str(path)) in message and "is truncated: " in message, message
    assert f"declare at least {AUDIO_BYTES // FRAME} samples" in message and "--allow-truncated" in message, message
    with open_audio(path, allow_truncated=True) as reader:
        assert int(reader.frames) == (AUDIO_BYTES - 2**20) // FRAME


def test_session_new_gives_a_recording_over_4_gib_its_whole_length(tmp_path: Path) -> None:
    """`soundstage session new` on a folder holding SoX's 6.4-hour recording: the stem is 23 000 s long."""
    stems = tmp_path / "stems"
    stems.mkdir()
    path, _ = _long_recording(stems, "sox")
    for other in stems.glob("*-short.wav"):
        other.unlink()
    assert main(["session", "new", str(stems), "-o", str(tmp_path / "s.toml")]) == 0
    assert f"{AUDIO_BYTES // FRAME / RATE:.2f} s" in (tmp_path / "s.toml").read_text()


def _ffmpeg_wav_with_tags(folder: Path) -> tuple[Path, np.ndarray]:
    """A 1 s stereo WAV FFmpeg writes with tags (its LIST/INFO before the audio), and its samples."""
    path = folder / "tagged.wav"
    subprocess.run([tool("ffmpeg"), "-v", "error", "-f", "lavfi", "-i", f"anoisesrc=d=1:r={RATE}:a=0.3", "-ac", "2",
                    "-metadata", "title=Lead vocal", "-c:a", "pcm_s16le", str(path)], check=True)  # fmt: skip
    return path, soundfile.read(str(path), dtype="float32", always_2d=True)[0].T


@pytest.mark.parametrize("riff_size", [4, 28, 36])
def test_a_riff_size_too_small_reads_every_sample(tmp_path: Path, riff_size: int) -> None:
    """FFmpeg's tagged WAV with its RIFF size written as 4, 28 (up to its fmt chunk) or 36 (a bare header's), as a
    writer that never updated it leaves it: pedalboard stopped at that size, before the audio, and soundstage said the
    file had no samples. It reads the samples FFmpeg and libsndfile read."""
    path, expected = _ffmpeg_wav_with_tags(tmp_path)
    data = bytearray(path.read_bytes())
    data[4:8] = riff_size.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    decoded = subprocess.run(
        [tool("ffmpeg"), "-v", "error", "-i", str(path), "-f", "f32le", "-"], capture_output=True, check=True
    )
    assert np.array_equal(np.frombuffer(decoded.stdout, np.float32).reshape(-1, 2).T, expected)
    with open_audio(path) as reader:
        assert np.array_equal(reader.read(reader.frames), expected)


def test_a_chunk_before_the_audio_that_runs_over_its_header_reads_every_sample(tmp_path: Path) -> None:
    """FFmpeg's tagged WAV whose LIST/INFO size runs 8 bytes into the data chunk (a tag editor that counted its pad
    bytes twice): pedalboard skipped the audio's header and read no samples; libsndfile finds it, and soundstage reads
    the samples written."""
    path, expected = _ffmpeg_wav_with_tags(tmp_path)
    data = bytearray(path.read_bytes())
    at = data.index(b"LIST")
    size = int.from_bytes(data[at + 4 : at + 8], "little")
    data[at + 4 : at + 8] = (size + 8).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with open_audio(path) as reader:
        assert np.array_equal(reader.read(reader.frames), expected)


def test_a_riff_size_too_small_in_a_file_cut_short_is_refused_with_what_it_holds(tmp_path: Path) -> None:
    """The RIFF size 36 and the file cut in its audio: refused in one line as truncated, with the samples declared
    and held (before: "nothing in it can be read", though all but its end can), and read to its cut with
    allow_truncated."""
    path, expected = _ffmpeg_wav_with_tags(tmp_path)
    data = bytearray(path.read_bytes())
    data[4:8] = (36).to_bytes(4, "little")
    path.write_bytes(bytes(data[: len(data) - 4 * (RATE // 4)]))  # a quarter of a second cut off
    with pytest.raises(AudioFileError) as refused:
        open_audio(path)
    message = str(refused.value)
    assert "\n" not in message and repr(str(path)) in message, message
    assert f"is truncated: its header declares {RATE} samples" in message and f"but it holds {RATE * 3 // 4} " in message
    with open_audio(path, allow_truncated=True) as reader:
        assert np.array_equal(reader.read(reader.frames), expected[:, : RATE * 3 // 4])


def _entry(kind: bytes, size: int, body: bytes = b"") -> bytes:
    return kind + size.to_bytes(4, "little") + body + b"\0" * (len(body) & 1)


def _add_list(path: Path, body: bytes) -> None:
    """Add a LIST chunk of ``body`` after the WAV's last chunk, the RIFF size counting it."""
    data = path.read_bytes() + b"LIST" + len(body).to_bytes(4, "little") + body
    path.write_bytes(data[:4] + (len(data) - 8).to_bytes(4, "little") + data[8:])


#: LISTs of tags whose one damaged entry size (2 GiB or more) libsndfile 1.2 takes for a step back onto an entry it has
#: read: itself (-8), the list's INFO (-12), or back over a Reaper tag to the INFO (-28).
LOOPING_LISTS = {
    "itself": b"INFO" + _entry(b"INAM", 11, b"Lead vocal\0") + _entry(b"inst", 2**32 - 8, bytes(8)),
    "to its INFO": b"INFO" + _entry(b"abcd", 2**32 - 13, bytes(8)),
    "over a tag": b"INFO" + _entry(b"ISFT", 7, b"Reaper\0") + _entry(b"abcd", 2**32 - 28, bytes(8)),
}


@pytest.mark.parametrize("name", list(LOOPING_LISTS))
def test_a_tag_whose_size_reads_as_a_step_back_is_refused_and_never_hangs(tmp_path: Path, name: str) -> None:
    """A WAV (FFmpeg's) with a LIST of tags after its audio, one entry's size damaged to 2 GiB or more: libsndfile
    1.2 read it for ever, and soundstage with it (`soundfile.info` never returned; found by a run of 5000 WAVs with
    damaged sizes). It is refused in one line naming the entry, with the FFmpeg command that rewrites it without its
    tags (the refusal comes only where libsndfile, given 5 s, did not return); that command's output reads the
    samples written. Read in a child process with a time limit, so a hang fails the test."""
    path, expected = _ffmpeg_wav_with_tags(tmp_path)
    _add_list(path, LOOPING_LISTS[name])
    script = "import sys\nfrom soundstage.fileio import open_audio\ntry:\n    open_audio(sys.argv[1])\nexcept Exception as e:\n    print(e)"
    try:
        done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"opening the WAV whose tag steps back ({name}) hung")
    message = done.stdout.strip()
    assert "\n" not in message and repr(str(path)) in message and "is damaged: " in message, (message, done.stderr)
    command = message.split("e.g. ")[1].split()
    assert command[:2] == ["ffmpeg", "-i"]
    subprocess.run([tool("ffmpeg"), "-v", "error", *command[1:]], cwd=tmp_path, check=True)
    with open_audio(tmp_path / command[-1]) as reader:
        assert np.array_equal(reader.read(reader.frames), expected)


def test_a_tag_whose_size_steps_back_past_its_list_is_read(tmp_path: Path) -> None:
    """A tag's size of 2 GiB steps libsndfile back past the start of its list, which ends its walk: the file reads
    every sample, as libsndfile reads it, and is not refused as damaged."""
    path, expected = _ffmpeg_wav_with_tags(tmp_path)
    _add_list(path, b"INFO" + _entry(b"abcd", 2**31, bytes(8)))
    assert soundfile.info(str(path)).frames == RATE
    with open_audio(path) as reader:
        assert np.array_equal(reader.read(reader.frames), expected)
