"""Integer PCM files are read on the scale every other reader uses: sample ``q`` of a ``b``-bit file is
``q / 2**(b-1)``, so -32768 in a 16-bit file is -1.0, full scale, exactly as libsndfile, FFmpeg and SoX read it and as
soundstage writes it.

Before, WAV, AIFF and FLAC files of 8, 16 and 24 bits were read as pedalboard (JUCE) reads them, ``q / (2**(b-1)-1)``:
-32768 read as -1.0000305, past full scale, so a 16-bit master limited to full scale came back from a 0 dB chain
reported CLIPPED, with samples 2 steps off; every sample was 0.0003 dB louder (0.07 dB at 8 bits).
The files here are written by SoX from raw integers; FFmpeg is the independent reader.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from helpers import tool
from soundstage.cli import main
from soundstage.fileio import open_audio

RATE = 48000

#: name -> (bits, SoX's encoding arguments of the file): integer formats pedalboard reads.
FORMATS = {
    "s16.wav": (16, ["-e", "signed", "-b", "16"]),
    "s24.wav": (24, ["-e", "signed", "-b", "24"]),
    "u8.wav": (8, ["-e", "unsigned", "-b", "8"]),
    "s16.aiff": (16, ["-e", "signed", "-b", "16"]),
    "s24.aiff": (24, ["-e", "signed", "-b", "24"]),
    "s8.aiff": (8, ["-e", "signed", "-b", "8"]),
    "s16.flac": (16, ["-b", "16"]),
    "s24.flac": (24, ["-b", "24"]),
}


def _integers(bits: int) -> np.ndarray:
    """Both ends of the scale, the steps around zero and half scale, then every value (8 and 16 bits) or 200000 drawn
    at random (24 bits), as int32, two channels."""
    top = 2 ** (bits - 1)
    ends = np.array([-top, top - 1, -top + 1, 0, 1, -1, top // 2, -top // 2], np.int64)
    rest = np.arange(-top, top) if bits <= 16 else np.random.default_rng(bits).integers(-top, top, 200000)
    values = np.concatenate([ends, rest]).astype(np.int32)
    return np.stack([values, values[::-1]])


def _made_by_sox(folder: Path, name: str, values: np.ndarray) -> Path:
    bits, encoding = FORMATS[name]
    raw = folder / f"{name}.raw"
    raw.write_bytes(values.T.astype("<i4").tobytes())  # SoX reads 32-bit integers and writes the format's bits (-D:
    # without dither, so the bits are these)
    out = folder / name
    subprocess.run(
        [tool("sox"), "-D", "-t", "raw", "-r", str(RATE), "-e", "signed", "-b", "32", "-c", "2", str(raw), *encoding, str(out)],
        check=True,
    )
    return out


def _ffmpeg_floats(path: Path) -> np.ndarray:
    decoded = subprocess.run(
        [tool("ffmpeg"), "-v", "error", "-i", str(path), "-f", "f32le", "-c:a", "pcm_f32le", "-"], capture_output=True, check=True
    ).stdout
    return np.frombuffer(decoded, "<f4").reshape(-1, 2).T


@pytest.mark.parametrize("name", FORMATS)
def test_integer_samples_read_as_libsndfile_ffmpeg_and_sox_read_them(tmp_path: Path, name: str) -> None:
    bits = FORMATS[name][0]
    values = _integers(bits) << (32 - bits)  # the format's bits, at the top of SoX's 32-bit input
    path = _made_by_sox(tmp_path, name, values)
    expected = (values >> (32 - bits)) / 2.0 ** (bits - 1)
    with open_audio(path) as reader:
        got = reader.read(int(reader.frames))
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert got[0, 0] == -1.0  # full scale, not past it
    assert np.array_equal(got, expected)  # every sample exactly on the 2**(bits-1) scale
    assert np.array_equal(got, _ffmpeg_floats(path))  # and as FFmpeg decodes it
    assert np.array_equal(got, soundfile.read(str(path), dtype="float32", always_2d=True)[0].T)


def test_a_16_bit_master_at_full_scale_passes_a_0_db_chain_unclipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A master limited to full scale (half its samples at -32768 or +32767) through a 0 dB gain: written as a float
    WAV it holds ``q / 32768`` exactly, none said to be over full scale; written at 16 bits it is within the dither's 1
    step of the input, and no sample is reported clipped."""
    rng = np.random.default_rng(7)
    values = np.clip(rng.normal(0, 40000, (2, RATE)), -32768, 32767).astype(np.int32)
    assert np.mean(np.abs(values) >= 32767) > 0.3
    master = _made_by_sox(tmp_path, "s16.wav", values << 16)
    chain = tmp_path / "unity.toml"
    chain.write_text('[[stages]]\ntype = "Gain"\nparameters = { gain_db = 0.0 }\n')

    assert main(["process", str(master), str(tmp_path / "float.wav"), "--chain", str(chain)]) == 0
    assert "over full scale" not in capsys.readouterr().err  # before: 19682 samples said to be
    floats = soundfile.read(str(tmp_path / "float.wav"), dtype="float32", always_2d=True)[0].T
    assert np.array_equal(floats, values / 32768.0)

    assert main(["process", str(master), str(tmp_path / "16.wav"), "--chain", str(chain), "--bit-depth", "16"]) == 0
    assert "CLIPPED" not in capsys.readouterr().err
    written = soundfile.read(str(tmp_path / "16.wav"), dtype="int16", always_2d=True)[0].T.astype(np.int32)
    assert np.abs(written - values).max() <= 1  # TPDF dither of +-1 step, nothing more


def test_every_24_bit_value_reads_exactly(tmp_path: Path) -> None:
    """All 2**24 values of a 24-bit WAV (libsndfile's writer): pedalboard's float32 of ``q / (2**23 - 1)`` is within
    a quarter step of ``q`` everywhere, so rounding to the step gives ``q / 2**23`` exactly, with no exception."""
    values = np.arange(-(2**23), 2**23, dtype=np.int32)
    path = tmp_path / "every.wav"
    soundfile.write(str(path), values << 8, RATE, subtype="PCM_24")
    with open_audio(path) as reader:
        got = reader.read(int(reader.frames))[0]
    assert np.array_equal(got, values / 2.0**23)
