"""DSD (an SACD master's DSF or DSDIFF) and Musepack, read through FFmpeg's decoders (the ``formats`` extra) at the
length their headers declare, with the decoder's own delay dropped: DSD as PCM at an eighth of its rate (halved again
past 768 kHz), checked against the level written and against ffmpeg's decoding; Musepack against Musepack's own
decoder (musepack-tools). No program here writes DSD, so its files are written from the two formats' specifications
(Sony's "DSF File Format Specification" 1.01, Philips' "DSDIFF" 1.5), their bits from a sigma-delta modulator."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import tool
from soundstage import containers
from soundstage.cli import main
from soundstage.errors import AudioFileError
from soundstage.fileio import open_audio

pytest.importorskip("av", reason="DSD and Musepack are read with the formats extra (pip install 'soundstage[formats]')")

LEVELS = ((1000.0, 0.5), (3000.0, 0.25))  # left, right: frequency (Hz), amplitude


def one_bit(signal: np.ndarray) -> np.ndarray:
    """A first-order sigma-delta modulator's bits (1: +1, 0: -1): a bit is set where the running sum of the signal
    mapped to 0..1 passes a whole number, so the bits' mean follows the signal."""
    running = np.floor(np.cumsum((signal + 1.0) / 2.0))
    return np.diff(running, prepend=0.0).astype(np.uint8)


def dsd_bits(rate: int, seconds: float) -> list[np.ndarray]:
    t = np.arange(round(seconds * rate)) / rate
    return [one_bit(amplitude * np.sin(2 * np.pi * frequency * t)) for frequency, amplitude in LEVELS]


def write_dsf(path: Path, bits: list[np.ndarray], rate: int, block: int = 4096) -> Path:
    """A DSF: its DSD, fmt and data chunks (little-endian); each channel's bytes in blocks of ``block``, the first bit
    of a byte its lowest, the last block filled with zeros."""
    packed = [np.packbits(channel, bitorder="little") for channel in bits]
    blocks = -(-packed[0].size // block)
    data = b"".join(
        channel[k * block : (k + 1) * block].tobytes().ljust(block, b"\0") for k in range(blocks) for channel in packed
    )
    fmt = b"fmt " + struct.pack("<QIIIIIIQII", 52, 1, 0, 2, len(bits), rate, 1, bits[0].size, block, 0)
    body = fmt + b"data" + struct.pack("<Q", 12 + len(data)) + data
    path.write_bytes(b"DSD " + struct.pack("<QQQ", 28, 28 + len(body), 0) + body)
    return path


def write_dff(path: Path, bits: list[np.ndarray], rate: int) -> Path:
    """A DSDIFF: its FRM8 form of FVER, PROP (rate, channels, no compression) and DSD chunks (big-endian); the
    channels' bytes interleaved, the first bit of a byte its highest."""
    data = np.stack([np.packbits(channel, bitorder="big") for channel in bits], axis=1).tobytes()
    name = b"\x0enot compressed\x00"  # a Pascal string, padded to an even length
    prop = (
        b"SND "
        + b"FS  " + struct.pack(">QI", 4, rate)
        + b"CHNL" + struct.pack(">QH", 2 + 4 * len(bits), len(bits)) + b"SLFTSRGT"
        + b"CMPR" + struct.pack(">Q", 4 + len(name)) + b"DSD " + name
    )  # fmt: skip
    body = (
        b"DSD "
        + b"FVER" + struct.pack(">QI", 4, 0x01050000)
        + b"PROP" + struct.pack(">Q", len(prop)) + prop
        + b"DSD " + struct.pack(">Q", len(data)) + data + b"\0" * (len(data) % 2)
    )  # fmt: skip
    path.write_bytes(b"FRM8" + struct.pack(">Q", len(body)) + body)
    return path


def level_db(signal: np.ndarray, frequency: float, rate: float) -> float:
    """The level of ``frequency`` in ``signal`` (dB re full scale), by a least-squares fit of its sine and cosine."""
    t = np.arange(signal.size) / rate
    basis = np.stack([np.sin(2 * np.pi * frequency * t), np.cos(2 * np.pi * frequency * t)], axis=1)
    (a, b), *_ = np.linalg.lstsq(basis, signal, rcond=None)
    return float(20 * np.log10(np.hypot(a, b)))


def ffmpeg_decoded(path: Path, rate: float, channels: int) -> np.ndarray:
    out = subprocess.run(
        [tool("ffmpeg"), "-v", "error", "-i", str(path), "-ar", str(round(rate)), "-f", "f32le", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(out, np.float32).reshape(-1, channels).T


WRITERS = {"dsf": write_dsf, "dff": write_dff}


@pytest.mark.parametrize("suffix", ["dsf", "dff"])
@pytest.mark.parametrize(("dsd_rate", "pcm_rate"), [(2822400, 352800), (5644800, 705600), (11289600, 705600)])
def test_a_dsd_file_reads_as_pcm_at_the_level_and_length_it_holds(
    tmp_path: Path, suffix: str, dsd_rate: int, pcm_rate: int
) -> None:
    """DSD64, DSD128 and DSD256 in a DSF and a DSDIFF were refused as "a format soundstage does not read". They read
    as FFmpeg decodes them, at an eighth of their rate (DSD256's 1.4 MHz halved, within the 768 kHz read): the
    header's length exactly (a DSF's last block is filled with zeros past it, which FFmpeg states as its length),
    each tone within 0.05 dB of the level its bits were made at, the samples ffmpeg's decoding gives."""
    seconds = 0.1
    path = WRITERS[suffix](tmp_path / f"take.{suffix}", dsd_bits(dsd_rate, seconds), dsd_rate)
    with open_audio(path) as reader:
        assert (reader.samplerate, reader.num_channels, reader.frames) == (pcm_rate, 2, round(seconds * pcm_rate))
        audio = reader.read(reader.frames)
    settled = audio[:, pcm_rate // 100 : -pcm_rate // 100]  # 10 ms in from either end: the decoder's filter settled
    for channel, (frequency, amplitude) in zip(settled, LEVELS, strict=True):
        assert level_db(channel, frequency, pcm_rate) == pytest.approx(20 * np.log10(amplitude), abs=0.05)
    expected = ffmpeg_decoded(path, pcm_rate, 2)
    assert expected.shape == audio.shape
    assert np.max(np.abs(audio[:, 64:] - expected[:, 64:])) < 1e-5  # FFmpeg's versions start the filter apart


@pytest.mark.parametrize("suffix", ["dsf", "dff"])
def test_a_dsd_file_cut_short_is_truncated_with_both_lengths(tmp_path: Path, suffix: str) -> None:
    """A DSD file cut short was read to its cut without a word where FFmpeg takes the file's size for its length (a
    DSDIFF's): it is truncated, with the header's length and what the file holds; --allow-truncated reads that."""
    rate = 2822400
    whole = WRITERS[suffix](tmp_path / f"whole.{suffix}", dsd_bits(rate, 0.25), rate)
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    with pytest.raises(AudioFileError, match=r"is truncated: its header declares 88200 samples \(0\.250 s\) but it holds"):
        open_audio(cut)
    with open_audio(cut, allow_truncated=True) as reader:
        assert reader.declared_frames == 88200 and 0.5 * 88200 < reader.frames < 0.65 * 88200  # to a block (DSF: 4096 bytes)


def test_process_writes_a_dsd_take_as_pcm_at_its_decoded_rate(tmp_path: Path) -> None:
    rate = 2822400
    take = write_dsf(tmp_path / "take.dsf", dsd_bits(rate, 0.1), rate)
    assert main(["process", str(take), str(tmp_path / "out.wav"), "--chain", "stereo-reference"]) == 0
    info = soundfile.info(str(tmp_path / "out.wav"))
    assert (info.samplerate, info.channels, info.frames) == (352800, 2, 35280)


def musepack(tmp_path: Path, rate: int, channels: int, seconds: float) -> tuple[Path, np.ndarray]:
    """A Musepack file of pink noise that Musepack's encoder wrote, and what Musepack's own decoder reads in it."""
    source, encoded, decoded = tmp_path / "source.wav", tmp_path / "take.mpc", tmp_path / "decoded.wav"
    sox = [tool("sox"), "-n", "-r", str(rate), "-b", "16", "-c", str(channels), str(source)]
    subprocess.run([*sox, "synth", str(seconds), "pinknoise", "vol", "0.3"], check=True)
    subprocess.run([tool("mpcenc", "musepack-tools"), "--silent", str(source), str(encoded)], check=True)
    subprocess.run([tool("mpcdec", "musepack-tools"), str(encoded), str(decoded)], check=True, capture_output=True)
    reference, _ = soundfile.read(str(decoded), dtype="float32", always_2d=True)
    return encoded, reference.T


@pytest.mark.parametrize(("rate", "channels", "seconds"), [(44100, 2, 2.0), (48000, 1, 1.0), (44100, 2, 0.37), (32000, 1, 3.01)])
def test_a_musepack_file_reads_as_musepacks_own_decoder_reads_it(
    tmp_path: Path, rate: int, channels: int, seconds: float
) -> None:
    """A Musepack file was refused. Through FFmpeg it read 481 samples late (its synthesis filter's delay, which
    Musepack's decoder drops) and cut to a length some 20 % short (FFmpeg's, 1.67 s of a 2 s file): it reads as
    Musepack's own decoder reads it, sample for sample in time, within 2 steps of 16 bits (FFmpeg's filter against
    Musepack's), at the source's length."""
    encoded, reference = musepack(tmp_path, rate, channels, seconds)
    with open_audio(encoded) as reader:
        assert (reader.samplerate, reader.num_channels, reader.frames) == (rate, channels, round(seconds * rate))
        audio = reader.read(reader.frames)
    assert audio.shape == reference.shape
    assert np.max(np.abs(audio - reference)) <= 2 / 32768


def test_a_musepack_file_cut_short_is_truncated(tmp_path: Path) -> None:
    encoded, _ = musepack(tmp_path, 44100, 2, 2.0)
    cut = tmp_path / "cut.mpc"
    cut.write_bytes(encoded.read_bytes()[: encoded.stat().st_size // 2])
    with pytest.raises(AudioFileError, match=r"is truncated: its header declares 88200 samples \(2\.000 s\)"):
        open_audio(cut)


def test_a_folder_of_stems_with_dsd_and_musepack_takes_them_and_renders_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stems folder holding a DSF and a Musepack file beside a WAV left both out; they are stems now, resampled to
    the session's rate, and the mix is as long as the longest."""
    stems = tmp_path / "stems"
    stems.mkdir()
    write_dsf(stems / "strings.dsf", dsd_bits(2822400, 0.5), 2822400)
    encoded, _ = musepack(tmp_path, 44100, 2, 1.0)
    encoded.rename(stems / "keys.mpc")
    soundfile.write(str(stems / "vox.wav"), np.zeros((22050, 2)), 44100, subtype="PCM_24")
    assert main(["session", "new", str(stems)]) == 0
    assert "left out" not in capsys.readouterr().out
    assert main(["render", str(stems), "--only", "mixdown", "-o", str(tmp_path / "out")]) == 0
    mix, rate = soundfile.read(str(tmp_path / "out" / "mixdown.wav"))
    assert rate == 44100 and mix.shape[0] >= 44100  # the Musepack stem's second, and the session's tail after it
    strings = slice(4410, 17640)  # 0.1-0.4 s: the strings' 1 kHz and 3 kHz, the keys' noise below them
    assert level_db(mix[strings, 0], 1000.0, rate) == pytest.approx(20 * np.log10(0.5), abs=0.2)  # a stereo stem: unity


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.sampled_from([b"DSD \x1c\0\0\0\0\0\0\0", b"FRM8", b"MPCKSH"]), rest=st.binary(max_size=200))
def test_the_lengths_dsd_and_musepack_headers_declare_are_read_from_any_bytes(tmp_path: Path, start: bytes, rest: bytes) -> None:
    """The header readers that give a DSD or Musepack file's length answer for any bytes after the signature: a
    length and a rate (or silence) of whole numbers, or None; never an exception, never a silence past the length."""
    path = tmp_path / "take"
    path.write_bytes(start + rest)
    for found in (containers.dsd_samples(path), containers.musepack_samples(path)):
        assert found is None or (len(found) == 2 and all(isinstance(n, int) and n >= 0 for n in found))
    musepack = containers.musepack_samples(path)
    assert musepack is None or musepack[1] <= musepack[0]
