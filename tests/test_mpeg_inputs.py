"""MP3 and MP2 inputs, written by ffmpeg (LAME) as web shops, streaming rips and clients' references are: read as
ffmpeg decodes them (the same count of samples, in time), or refused in one line where a decoder would stop short.

Before, pedalboard read every MP3: it kept LAME's gapless delay and padding (25 ms of silence ahead of the music and
more after, so an MP3 stem fell 25 ms behind its WAV siblings), and it stopped at its own estimate of an untagged
variable-bitrate stream's length: a third of the music, silently, or ten seconds of silence more.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import example, given, settings
from hypothesis import strategies as st

from soundstage import mpeg
from soundstage.cli import main
from soundstage.errors import AudioFileError
from soundstage.fileio import open_audio

SR = 44100

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg (Debian: apt-get install ffmpeg)")


def music(seconds: float = 3.0, lead_silence_s: float = 0.0) -> np.ndarray:
    """Stereo noise with a tone on top; ``lead_silence_s`` of silence first (a VBR encoder's cheapest frames)."""
    rng = np.random.default_rng(11)
    t = np.arange(int(seconds * SR)) / SR
    left, right = (0.2 * np.sin(2 * np.pi * f * t) + 0.1 * rng.standard_normal(t.size) for f in (440.0, 550.0))
    audio = np.stack([left, right]).astype(np.float32)
    return np.concatenate([np.zeros((2, int(lead_silence_s * SR)), np.float32), audio], axis=1)


def encode(folder: Path, name: str, options: list[str], audio: np.ndarray | None = None) -> Path:
    wav = folder / f"{name}.src.wav"
    soundfile.write(str(wav), (music() if audio is None else audio).T, SR, subtype="PCM_24")
    out = folder / name
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(wav), *options, str(out)], check=True)
    return out


def ffmpeg_decode(path: Path, channels: int) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-"], capture_output=True, check=True)
    return np.frombuffer(raw.stdout, np.float32).reshape(-1, channels).T


ENCODINGS = {
    "cbr with LAME's Info frame": ("a.mp3", ["-b:a", "192k"], 0.0),
    "vbr with a Xing frame": ("b.mp3", ["-q:a", "4"], 0.0),
    "cbr without an Info frame": ("c.mp3", ["-write_xing", "0", "-b:a", "160k"], 0.0),
    "vbr without an Info frame, quiet start": ("d.mp3", ["-write_xing", "0", "-q:a", "2"], 0.5),
    "MPEG-2 layer III, 22.05 kHz": ("e.mp3", ["-ar", "22050"], 0.0),
    "MPEG-2.5 layer III, 8 kHz mono": ("f.mp3", ["-ar", "8000", "-ac", "1"], 0.0),
    "MPEG-1 layer II": ("g.mp2", ["-c:a", "mp2"], 0.0),
}


@pytest.mark.parametrize("kind", ENCODINGS)
def test_an_mpeg_file_reads_as_ffmpeg_decodes_it(tmp_path: Path, kind: str) -> None:
    """The same number of samples as ffmpeg gives, and the same samples within -60 dB (two decoders)."""
    name, options, silence = ENCODINGS[kind]
    path = encode(tmp_path, name, options, music(lead_silence_s=silence))
    with open_audio(path) as reader:
        got = reader.read(reader.frames + 10000)  # asking for more gives no more
        frames, channels = reader.frames, reader.num_channels
    expected = ffmpeg_decode(path, channels)
    residual = got[:, : expected.shape[1]] - expected[:, : got.shape[1]]
    level_db = 10 * np.log10(np.mean(residual**2) / np.mean(expected**2))
    print(f"{kind}: {frames} samples, ffmpeg {expected.shape[1]}; residual {level_db:.1f} dB")
    assert frames == got.shape[1] == expected.shape[1]
    assert level_db < -60.0


def test_an_mp3_stem_stays_in_time_with_its_wav_source(tmp_path: Path) -> None:
    """Processed, an MP3 lines up with the WAV it was encoded from (before: 1105 samples late, 1332 longer)."""
    audio = music()
    encode(tmp_path, "song.mp3", ["-b:a", "256k"], audio)
    soundfile.write(str(tmp_path / "song.wav"), audio.T, SR, subtype="FLOAT")
    for source in ("song.mp3", "song.wav"):
        assert main(["process", "--chain", "mastering", str(tmp_path / source), str(tmp_path / f"{source}.out.wav")]) == 0
    from_mp3, _ = soundfile.read(str(tmp_path / "song.mp3.out.wav"), dtype="float32")
    from_wav, _ = soundfile.read(str(tmp_path / "song.wav.out.wav"), dtype="float32")
    assert from_mp3.shape == from_wav.shape
    spectrum = np.fft.rfft(from_mp3[:, 0], 2 * len(from_mp3)) * np.conj(np.fft.rfft(from_wav[:, 0], 2 * len(from_wav)))
    correlation = np.fft.irfft(spectrum)
    lag = int(np.argmax(np.abs(correlation)))
    lag = lag if lag < len(from_mp3) else lag - 2 * len(from_mp3)
    assert lag == 0


def test_a_vbr_mp3_without_an_info_frame_is_refused_not_cut_short(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Its decoder stops at a third of the music: refused in one line naming the file, both lengths and the fix;
    --allow-truncated writes what it reads and reports the rest (before: 0.97 s of 3.03 s written, nothing said)."""
    path = encode(tmp_path, "rip.mp3", ["-write_xing", "0", "-q:a", "4"])
    holds = ffmpeg_decode(path, 2).shape[1]
    with pytest.raises(AudioFileError) as refused:
        open_audio(path)
    message = str(refused.value)
    print(message)
    assert "\n" not in message and "rip.mp3' holds 3.030 s of MPEG audio but its decoder reads" in message
    assert "ffmpeg -i rip.mp3 -c:a pcm_s24le rip.wav" in message and "--allow-truncated" in message
    out = tmp_path / "out.wav"
    assert main(["process", "--chain", "mastering", str(path), str(out)]) == 2 and not out.exists()
    assert main(["process", "--chain", "mastering", str(path), str(out), "--allow-truncated"]) == 0
    written = soundfile.info(str(out)).frames
    assert f"is TRUNCATED: {(holds - written) / SR:.3f} s missing" in capsys.readouterr().out
    assert 0 < written < holds


def test_a_cut_off_mp3_is_truncated_as_its_info_frame_says(tmp_path: Path) -> None:
    """Half an MP3 (a download cut off): refused as a cut WAV is; with allow_truncated, all it holds is read."""
    path = encode(tmp_path, "half.mp3", ["-b:a", "192k"])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioFileError, match=r"half.mp3' is truncated: its Info frame declares 132300 samples \(3.000 s\)"):
        open_audio(path)
    with open_audio(path, allow_truncated=True) as reader:
        got = reader.read(reader.frames)
        assert reader.frames == got.shape[1] and reader.declared_frames == 132300
    assert abs(got.shape[1] - ffmpeg_decode(path, 2).shape[1]) <= 1152  # ffmpeg decodes a cut frame's start too


def _info_tag(data: bytes) -> int:
    """Where the Xing/Info tag of FFmpeg's stereo MPEG-1 MP3 ``data`` starts: after its ID3v2 tag, the frame header
    (4 bytes) and the side information (32)."""
    return 10 + sum((byte & 0x7F) << (7 * (3 - i)) for i, byte in enumerate(data[6:10])) + 4 + 32


@pytest.mark.parametrize("frames_short", [1, 2])
def test_an_mp3_cut_between_frames_is_truncated_as_its_info_frame_says(tmp_path: Path, frames_short: int) -> None:
    """An MP3 whose last one or two frames are gone, cut where a frame starts (48 kHz, 128 kbit/s: frames of 384
    bytes): it was read as whole, 24 or 48 ms short, since the decoder's length had two frames' slack. The Info
    frame's count of frames says it is cut. An encoder that counts its Info frame among the audio (one more than a
    whole file holds, the byte count right) does not make a whole file truncated."""
    path = tmp_path / "song.mp3"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=440:d=3:sample_rate=48000", "-ac", "2",
                    "-c:a", "libmp3lame", "-b:a", "128k", str(path)], check=True)  # fmt: skip
    data = path.read_bytes()
    with open_audio(path) as reader:
        assert reader.frames == 144000
    path.write_bytes(data[: len(data) - 384 * frames_short])
    assert mpeg.scan(path) is not None and not mpeg.scan(path).cut_off  # no frame is cut: only the count shows it
    with pytest.raises(AudioFileError, match=r"song.mp3' is truncated: its Info frame declares 144000 samples \(3.000 s\)"):
        open_audio(path)
    with open_audio(path, allow_truncated=True) as reader:
        assert reader.declared_frames == 144000 and reader.frames < 144000

    tag = _info_tag(data)
    assert data[tag : tag + 4] == b"Info" and int.from_bytes(data[tag + 4 : tag + 8], "big") & 3 == 3
    counted = int.from_bytes(data[tag + 8 : tag + 12], "big")
    one_more = data[: tag + 8] + (counted + 1).to_bytes(4, "big") + data[tag + 12 :]
    path.write_bytes(one_more)
    with open_audio(path) as reader:
        assert 144000 <= reader.frames <= 144000 + 1152
    path.write_bytes(one_more[: len(one_more) - 384 * frames_short])
    with pytest.raises(AudioFileError, match=r"song.mp3' is truncated"):
        open_audio(path)


def test_an_mp3_cut_inside_its_info_frame_holds_nothing_and_is_refused_even_when_allowed(tmp_path: Path) -> None:
    """The first 200 bytes of an MP3 (its tag and part of its Info frame): no frame of audio, and nothing to allow:
    refused in one line with or without --allow-truncated, which the message does not offer."""
    path = encode(tmp_path, "start.mp3", ["-b:a", "192k"])
    path.write_bytes(path.read_bytes()[:200])
    stream = mpeg.scan(path)
    assert stream is not None and stream.frames == 0 and stream.cut_off
    for allowed in (False, True):
        with pytest.raises(AudioFileError) as refused:
            open_audio(path, allow_truncated=allowed)
        message = str(refused.value)
        assert "\n" not in message and "start.mp3'" in message and "--allow-truncated" not in message
        assert "truncated" in message or "cut short" in message


def test_mp3s_joined_end_to_end_are_refused(tmp_path: Path) -> None:
    """``cat a.mp3 b.mp3``: ffmpeg plays both, pedalboard stops at the first's Info frame: refused."""
    one = encode(tmp_path, "one.mp3", ["-b:a", "128k"])
    joined = tmp_path / "joined.mp3"
    joined.write_bytes(one.read_bytes() * 2)
    assert mpeg.scan(joined) is not None and mpeg.scan(joined).frames == 2 * mpeg.scan(one).frames  # type: ignore[union-attr]
    with pytest.raises(AudioFileError, match=r"joined.mp3' holds 6.030 s of MPEG audio but its decoder reads 3.005 s"):
        open_audio(joined)


@pytest.mark.parametrize("options", [["-b:a", "192k"], ["-write_xing", "0", "-b:a", "192k"]], ids=["info frame", "no info frame"])
def test_a_damaged_frame_and_tags_after_the_music_are_read_past(tmp_path: Path, options: list[str]) -> None:
    """A frame header zeroed mid-file (damage) and, after the music, an APE tag holding 100 kB (cover art) and an
    ID3v1 tag: read to the end as ffmpeg reads it, within one frame (libsndfile's decoder gave up at the APE tag)."""
    path = encode(tmp_path, "worn.mp3", options)
    data = bytearray(path.read_bytes())
    middle = data.index(b"\xff\xfb", len(data) // 2)
    data[middle : middle + 4] = bytes(4)
    art = np.random.default_rng(2).integers(0, 256, 100_000, np.uint8).tobytes()
    path.write_bytes(bytes(data) + b"APETAGEX" + art + b"TAG" + b" " * 125)
    with open_audio(path) as reader:
        got = reader.read(reader.frames + 5000)
        assert got.shape[1] == reader.frames
    expected = ffmpeg_decode(path, 2).shape[1]
    print(f"{got.shape[1]} samples, ffmpeg {expected}")
    assert abs(got.shape[1] - expected) <= 1152


def test_an_mp3_stem_at_another_rate_lands_with_its_wav_sibling_in_a_session(tmp_path: Path) -> None:
    """A 44.1 kHz MP3 stem beside a 48 kHz WAV stem, a click at 1 s in each (left in the WAV, right in the MP3): in
    the 48 kHz mix both clicks peak within one sample of 1 s (before: the MP3's 1105 samples of delay, resampled)."""
    click = np.zeros((2, 3 * SR), np.float32)
    click[1, SR] = 0.5
    encode(tmp_path, "right.mp3", ["-b:a", "320k"], click)
    left = np.zeros((3 * 48000, 2), np.float32)
    left[48000, 0] = 0.5
    soundfile.write(str(tmp_path / "left.wav"), left, 48000, subtype="FLOAT")
    (tmp_path / "s.toml").write_text('[[stems]]\npath = "left.wav"\n[[stems]]\npath = "right.mp3"\n[[renders]]\nname = "mix"\n')
    assert main(["render", str(tmp_path / "s.toml"), "-o", str(tmp_path / "out")]) == 0
    mix, rate = soundfile.read(str(tmp_path / "out" / "mix.wav"), dtype="float32")
    peaks = [int(np.argmax(np.abs(mix[:, channel]))) for channel in (0, 1)]
    print(f"mix at {rate} Hz: left click at {peaks[0]}, right (MP3) at {peaks[1]}")
    assert rate == 48000 and peaks[0] == 48000 and abs(peaks[1] - 48000) <= 1


@settings(max_examples=400, deadline=None)
@given(
    data=st.lists(
        st.one_of(st.binary(max_size=64), st.sampled_from([b"\xff\xfb\x90\x64", b"\xff\xf3", b"ID3\x04\x00\x00", b"Xing"])),
        max_size=40,
    )
)
@example(data=[b"\xff\xf2", b"\x18" + bytes(10), bytes(8), b"Xing"])  # an Info frame cut off where it starts: was -1 frames
def test_the_frame_walk_takes_any_bytes(tmp_path_factory: pytest.TempPathFactory, data: list[bytes]) -> None:
    """Any bytes (sync words, tags and headers among them): a stream of whole frames or None, never an exception."""
    path = tmp_path_factory.mktemp("walk") / "x.mp3"
    path.write_bytes(b"".join(data))
    stream = mpeg.scan(path)
    assert stream is None or (stream.frames >= 0 and stream.samples_per_frame in (384, 576, 1152))


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(np.random.default_rng(3).integers(0, 256, 200000, dtype=np.uint8).tobytes(), id="noise"),
        pytest.param((0.3 * np.random.default_rng(3).standard_normal(100000) * 32767).astype("<i2").tobytes(), id="raw-pcm"),
        pytest.param(bytes(200000), id="zeros"),
    ],
)
def test_a_file_named_mp3_that_holds_no_mpeg_audio_is_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], content: bytes
) -> None:
    """A file named .mp3 that holds no MPEG frame (another kind of file under that name, or a download that is no
    audio): libsndfile's mpg123 printed its own lines on stderr ("Giving up searching valid MPEG header after 65536
    bytes of junk", twice) above soundstage's, which said "cannot be decoded at sample 0". It is one line now, which
    says that no audio in it decodes, and nothing is written."""
    source = tmp_path / "song.mp3"
    source.write_bytes(content)
    (tmp_path / "chain.toml").write_text('format = 1\n[[stages]]\ntype = "Gain"\n')
    out = tmp_path / "out.wav"
    assert main(["process", str(source), "--chain", str(tmp_path / "chain.toml"), "-o", str(out)]) == 2
    error = capfd.readouterr().err
    assert error.count("\n") == 1, error
    assert error.startswith(f"soundstage: error: input file {str(source)!r} holds no audio that decodes (FFmpeg takes it for ")
    assert error.rstrip().endswith("; export it again") and not out.exists()
