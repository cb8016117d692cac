"""Inputs in the formats libsndfile reads and pedalboard does not: CAF (Logic, Pro Tools) and Sony Wave64 (Reaper,
Vegas). They read through ``soundfile`` behind pedalboard's reader interface, and give what the same samples in a
WAV give, at the file's rate and resampled. What neither reads (AAC, ALAC, WavPack), made by ffmpeg, reads through
FFmpeg's decoders (PyAV): lossless ones bit for bit."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st
from pedalboard.io import AudioFile

from helpers import tool
from soundstage.cli import main
from soundstage.fileio import SoundfileReader, open_audio

SR = 48000


def program(seconds: float = 1.5, channels: int = 2) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * SR)) / SR
    tone = 0.3 * np.sin(2 * np.pi * 330 * t)
    return np.stack([tone + 0.05 * rng.standard_normal(t.size) for _ in range(channels)]).astype(np.float32)


def write(path: Path, audio: np.ndarray, rate: int = SR, **kwargs: str) -> Path:
    soundfile.write(str(path), audio.T, rate, subtype="FLOAT", **kwargs)
    return path


@pytest.mark.parametrize(("suffix", "kind"), [(".caf", "CAF"), (".w64", "W64")])
def test_process_reads_caf_and_w64_as_the_same_samples_in_a_wav(tmp_path: Path, suffix: str, kind: str) -> None:
    audio = program()
    wav, other = write(tmp_path / "in.wav", audio), write(tmp_path / f"in{suffix}", audio, format=kind)
    for source in (wav, other):
        assert main(["process", str(source), str(tmp_path / f"out-{source.suffix[1:]}.wav"), "--chain", "mastering"]) == 0
    from_wav, _ = soundfile.read(str(tmp_path / "out-wav.wav"), dtype="float32")
    from_other, _ = soundfile.read(str(tmp_path / f"out-{suffix[1:]}.wav"), dtype="float32")
    assert from_other.shape == from_wav.shape == (audio.shape[1], 2)
    assert np.array_equal(from_other, from_wav)  # the same samples in, the same chain: the same file


@pytest.mark.parametrize("rate", [44100, 32000, 96000, 22050, 47999])
def test_a_resampled_caf_is_what_pedalboard_gives_for_the_same_wav(tmp_path: Path, rate: int) -> None:
    """Resampling a CAF streams through pedalboard's own resampler: the same samples and count as its WAV reader's,
    read in blocks of any size."""
    audio = program(channels=2)
    wav, caf = write(tmp_path / "in.wav", audio), write(tmp_path / "in.caf", audio, format="CAF")
    with AudioFile(str(wav)) as plain:
        expected_reader = plain.resampled_to(rate)
        expected = expected_reader.read(expected_reader.frames)
    reader = open_audio(caf)
    assert isinstance(reader, SoundfileReader) and reader.file_dtype == "float32"
    resampled = reader.resampled_to(rate)
    assert resampled.frames == expected.shape[1]
    pieces = []
    for size in [1, 7, 4096, 333, 65536] * 20:
        if resampled.tell() >= resampled.frames:
            break
        pieces.append(resampled.read(size))
    got = np.concatenate(pieces, axis=1)
    assert got.shape == expected.shape and np.array_equal(got, expected)
    assert resampled.read(100).shape == (2, 0)  # nothing past the count
    reader.close()


def test_a_session_with_caf_and_w64_stems_renders_as_with_wavs(tmp_path: Path) -> None:
    """A CAF stem at 44.1 kHz (resampled) and a Wave64 stem mix as the same stems in WAV files do."""
    rng = np.random.default_rng(3)
    bass = (0.2 * rng.standard_normal((1, 44100))).astype(np.float32)
    vocal = program(1.0, channels=1)
    outputs = {}
    for kind, (bass_name, vocal_name) in {"wav": ("bass.wav", "vocal.wav"), "other": ("bass.caf", "vocal.w64")}.items():
        folder = tmp_path / kind
        folder.mkdir()
        write(folder / bass_name, bass, 44100, **({"format": "CAF"} if bass_name.endswith(".caf") else {}))
        write(folder / vocal_name, vocal, **({"format": "W64"} if vocal_name.endswith(".w64") else {}))
        (folder / "session.toml").write_text(
            "format = 1\nsample_rate = 48000\n"
            f'[[stems]]\npath = "{bass_name}"\n[[stems]]\npath = "{vocal_name}"\n'
            '[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 32\n'
        )
        assert main(["render", str(folder / "session.toml"), "-o", str(folder / "out")]) == 0
        outputs[kind], _ = soundfile.read(str(folder / "out" / "mix.wav"), dtype="float32")
    assert outputs["other"].shape == outputs["wav"].shape and np.array_equal(outputs["other"], outputs["wav"])


def test_caf_written_by_ffmpeg_is_read(tmp_path: Path) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg (Debian: apt-get install ffmpeg)")
    audio = program()
    wav = write(tmp_path / "in.wav", audio)
    caf = tmp_path / "in.caf"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(wav), "-c:a", "pcm_s24le", str(caf)], check=True)
    with open_audio(caf) as reader:
        assert (reader.samplerate, reader.num_channels, reader.frames, reader.file_dtype) == (SR, 2, audio.shape[1], "int24")
        got = reader.read(reader.frames)
    assert np.abs(got - audio).max() <= 2.0**-23  # 24-bit: within one step


@pytest.mark.parametrize(("codec", "bytes_per_sample"), [("pcm_f32le", 4), ("pcm_f64le", 8), ("pcm_s24le", 3)])
def test_a_wave64_ffmpeg_writes_reads_as_ffmpeg_decodes_it_and_a_cut_one_is_truncated(
    tmp_path: Path, codec: str, bytes_per_sample: int
) -> None:
    """FFmpeg writes a Wave64's ``fmt`` as WAVE_FORMAT_EXTENSIBLE. libsndfile read its 32-bit floats as 32-bit integers:
    noise, the samples up to 0.56 off, without a word (its 64-bit ones it refuses: those were read by FFmpeg's
    decoders). Each reads as the ffmpeg command decodes it, every sample; cut inside its audio it is truncated, and
    with allow_truncated what it holds is read."""
    tool("ffmpeg")
    wav = write(tmp_path / "in.wav", program())
    w64 = ffmpeg(wav, tmp_path / "take.w64", "-c:a", codec)
    decoded = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(w64), "-f", "f32le", "-"], capture_output=True, check=True
    )
    expected = np.frombuffer(decoded.stdout, np.float32).reshape(-1, 2).T
    with open_audio(w64) as reader:
        assert (reader.samplerate, reader.num_channels, reader.frames) == (SR, 2, expected.shape[1])
        got = np.concatenate([reader.read(5000) for _ in range(-(-reader.frames // 5000))], axis=1)
    assert np.array_equal(got, expected)
    cut = tmp_path / "cut.w64"
    whole = w64.read_bytes()
    cut.write_bytes(whole[: len(whole) - 1000 * 2 * bytes_per_sample - 3])  # 1000 frames and a part of one short
    from soundstage.errors import AudioFileError

    with pytest.raises(AudioFileError, match=r"cut.w64' is truncated"):
        open_audio(cut)
    with open_audio(cut, allow_truncated=True) as reader:
        held = expected.shape[1] - 1001
        assert reader.frames == held and np.array_equal(reader.read(held), expected[:, :held])


def ffmpeg(source: Path, target: Path, *codec: str) -> Path:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(source), *codec, str(target)], check=True)
    return target


def pcm24(path: Path, audio: np.ndarray) -> np.ndarray:
    """``audio`` written as a 24-bit WAV at ``path``: the samples as that file holds them, read by libsndfile."""
    soundfile.write(str(path), audio.T, SR, subtype="PCM_24")
    return soundfile.read(str(path), dtype="float32", always_2d=True)[0].T


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("logic.m4a", "alac"),
        ("logic.caf", "alac"),
        ("archive.wv", "wavpack"),
        ("archive.tta", "tta"),
        ("flac.mka", "flac"),
        ("pcm.mkv", "pcm_s24le"),
    ],
)
def test_lossless_formats_other_programs_write_read_bit_exact(tmp_path: Path, name: str, codec: str) -> None:
    """ALAC (.m4a from iTunes / Logic, .caf), WavPack, True Audio and Matroska made by ffmpeg from a 24-bit WAV read
    as that WAV's samples, every one, and as many (neither pedalboard nor libsndfile reads them here)."""
    tool("ffmpeg")
    audio = program(2.0)
    audio[:, 24000] = 0.9  # a click: the start is not shifted either
    expected = pcm24(tmp_path / "source.wav", audio)
    encoded = ffmpeg(tmp_path / "source.wav", tmp_path / name, "-c:a", codec)
    with open_audio(encoded) as reader:
        assert (reader.samplerate, reader.num_channels, reader.frames) == (SR, 2, expected.shape[1])
        got = np.concatenate([reader.read(7000) for _ in range(-(-reader.frames // 7000))], axis=1)
    assert got.shape == expected.shape and np.array_equal(got, expected)


def sox_decoded(path: Path, channels: int) -> np.ndarray:
    """What sox decodes from ``path``: ``(channels, n)`` float32."""
    decoded = subprocess.run(["sox", str(path), "-t", "f32", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(decoded, "<f4").reshape(-1, channels).T


@pytest.mark.parametrize(
    ("name", "writer", "channels"),
    [
        ("amiga.8svx", "sox", 2),  # each channel's samples after the other's
        ("amiga-mono.8svx", "sox", 1),
        ("dos.voc", "sox", 2),  # one block of sound
        ("dos.voc", "ffmpeg", 2),  # a block per packet
        ("dos-mono.voc", "ffmpeg", 1),
    ],
)
def test_legacy_formats_other_programs_write_read_as_sox_decodes_them(
    tmp_path: Path, name: str, writer: str, channels: int
) -> None:
    """8SVX and Creative VOC files, which libsndfile reads and pedalboard does not, read as sox decodes them, every
    sample, and as long as their source. libsndfile read sox's stereo 8SVX as noise (its channels are stored one
    after the other) and ffmpeg's VOC with each block's header as samples (64 frames too many in 1 s, and wrong);
    these are read through FFmpeg's decoders now."""
    tool(writer)
    tool("sox")
    audio = program(1.0, channels)
    source = write(tmp_path / "source.wav", audio)
    made = tmp_path / name
    if writer == "sox":
        subprocess.run(["sox", str(source), *(["-b", "16"] if made.suffix == ".voc" else []), str(made)], check=True)
    else:
        ffmpeg(source, made, "-c:a", "pcm_s16le")
    expected = sox_decoded(made, channels)
    with open_audio(made) as reader:
        assert (reader.samplerate, reader.num_channels, reader.frames) == (SR, channels, audio.shape[1])
        got = reader.read(reader.frames)
    held = min(got.shape[1], expected.shape[1])  # sox reads its own VOC 2 to 4 samples short of its source
    assert held >= audio.shape[1] - 4 and np.array_equal(got[:, :held], expected[:, :held])


def test_without_the_formats_extra_a_stereo_8svx_is_refused_not_read_as_noise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool("sox")
    from soundstage.errors import AudioFileError
    from soundstage.fileio import decoded

    made = tmp_path / "amiga.8svx"
    subprocess.run(["sox", str(write(tmp_path / "source.wav", program(1.0))), str(made)], check=True)
    monkeypatch.setattr(decoded, "av", None)  # as if the formats extra were not installed
    with pytest.raises(
        AudioFileError,
        match=r"amiga.8svx' is a stereo 8SVX file, which libsndfile reads wrong; pip install 'soundstage\[formats\]' "
        r"to read it, or convert it \(e.g. ffmpeg -i amiga.8svx -c:a pcm_s24le amiga.wav\)$",
    ):
        open_audio(made)


@pytest.mark.parametrize("name", ["take.raw", "take.pcm", "take.dat", "take"])
def test_raw_audio_with_no_header_is_refused_not_read_as_a_guess(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """Headerless PCM (ffmpeg's `-f s16le`, a recorder's .raw) says nothing of its rate, channels or encoding. FFmpeg
    guesses a format for such bytes: a dual-mono take (a mono source bounced to stereo) probes as a game console's
    ADPCM ("adp"), and 1 s of it read as 3.5 s of noise, written without a word. It is refused in one line now, the
    sox command that names what it holds given for a .raw or .pcm file, and nothing is written."""
    tool("ffmpeg")
    mono = program(1.0, channels=1)
    source = write(tmp_path / "source.wav", np.concatenate([mono, mono]))
    raw = tmp_path / name
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(source), "-c:a", "pcm_s16le", "-f", "s16le", str(raw)], check=True)
    (tmp_path / "chain.toml").write_text('format = 1\n[[stages]]\ntype = "Gain"\n')
    out = tmp_path / "out.wav"
    assert main(["process", str(raw), "--chain", str(tmp_path / "chain.toml"), "-o", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "Traceback" not in error and not out.exists()
    if raw.suffix in (".raw", ".pcm"):
        assert f"input file {str(raw)!r} is raw audio: no header says its rate, channels and encoding" in error
        assert f"sox -t raw -r 48000 -e signed -b 24 -c 2 {name} take.wav" in error
    else:
        assert f"input file {str(raw)!r} cannot be read as audio" in error


@pytest.mark.parametrize(("codec", "rate", "channels"), [("g722", 16000, 1), ("adpcm_g726", 8000, 1), ("adpcm_yamaha", SR, 2)])
def test_a_wav_of_a_codec_libsndfile_lacks_reads_as_ffmpeg_decodes_it(
    tmp_path: Path, codec: str, rate: int, channels: int
) -> None:
    """WAVs of G.722 and G.726 (telephone and dictation recorders) and Yamaha ADPCM, which libsndfile refuses as a
    "malformed fmt chunk": read through FFmpeg's decoders, the very samples `ffmpeg -c:a pcm_f32le` decodes; a WAV no
    decoder reads (AAC behind a WAV header) is one line with the conversion to try."""
    tool("ffmpeg")
    source = write(tmp_path / "source.wav", program(1.0, channels))
    encoded = ffmpeg(source, tmp_path / "memo.wav", "-c:a", codec, "-ar", str(rate))
    with pytest.raises(soundfile.LibsndfileError):
        soundfile.info(str(encoded))
    decoded = ffmpeg(encoded, tmp_path / "decoded.wav", "-c:a", "pcm_f32le")
    expected = soundfile.read(str(decoded), dtype="float32", always_2d=True)[0].T
    with open_audio(encoded) as reader:
        assert (reader.samplerate, reader.num_channels) == (rate, channels)
        got = reader.read(reader.frames)
    assert got.shape == expected.shape and np.array_equal(got, expected)
    assert main(["process", str(encoded), str(tmp_path / "out.wav"), "--chain", "mastering"]) == 0


@pytest.mark.parametrize("session_rate", [44100, 48000])
def test_a_dictation_stem_at_8_khz_renders_whole_in_a_session_at_another_rate(tmp_path: Path, session_rate: int) -> None:
    """A G.726 WAV at 8 kHz (read through FFmpeg, its length the fact chunk's) in a session at 44.1 or 48 kHz: the
    render runs to the end (it stopped as "ends early": the resampler gives a sample less than the exact ratio) and
    the stem is in the mix as the same audio in a plain 8 kHz WAV is."""
    tool("ffmpeg")
    source = write(tmp_path / "source.wav", program(1.0, channels=1), 8000)
    memo = ffmpeg(source, tmp_path / "memo.wav", "-c:a", "adpcm_g726", "-ar", "8000")
    plain = ffmpeg(memo, tmp_path / "plain.wav", "-c:a", "pcm_f32le")
    mixes = []
    for stem in (memo, plain):
        (tmp_path / "session.toml").write_text(
            f"format = 1\nsample_rate = {session_rate}\n"
            f'[[stems]]\npath = "{stem.name}"\n'
            '[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 32\n'
        )
        out = tmp_path / f"out-{stem.stem}"
        assert main(["render", str(tmp_path / "session.toml"), "-o", str(out)]) == 0
        mixes.append(soundfile.read(str(out / "mix.wav"), dtype="float32")[0])
    assert mixes[0].shape == mixes[1].shape and np.array_equal(mixes[0], mixes[1])
    assert np.sqrt(np.mean(mixes[0] ** 2)) > 0.05


def test_a_wav_no_decoder_reads_is_one_line_with_the_conversion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tool("ffmpeg")
    source = write(tmp_path / "source.wav", program(1.0))
    broken = ffmpeg(source, tmp_path / "aac.wav", "-c:a", "aac")  # FFmpeg writes it; no decoder reads it back
    assert main(["process", str(broken), str(tmp_path / "out.wav"), "--chain", "mastering"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "aac.wav' cannot be read as audio: " in error
    assert "convert it (e.g. ffmpeg -i aac.wav -c:a pcm_s24le aac-pcm.wav)" in error
    assert not (tmp_path / "out.wav").exists()


def test_aac_reads_at_its_source_length_and_timing(tmp_path: Path) -> None:
    """AAC in an .m4a (a client's reference; pedalboard reads it only on macOS): the encoder's priming is dropped and
    its padding cut at the length the MP4 states, so it reads as long as the WAV it was made from (ffmpeg's own
    command line gives 704 samples more here), its click on the same sample, its level within 0.5 dB."""
    tool("ffmpeg")
    audio = np.zeros((2, 72000), np.float32)
    audio[:, 24000] = 0.8
    audio[:, 36000:60000] = 0.3 * np.sin(2 * np.pi * 1000 * np.arange(24000) / SR)
    expected = pcm24(tmp_path / "source.wav", audio)
    m4a = ffmpeg(tmp_path / "source.wav", tmp_path / "reference.m4a", "-c:a", "aac", "-b:a", "256k")
    with open_audio(m4a) as reader:
        assert (reader.samplerate, reader.num_channels, reader.frames) == (SR, 2, 72000)
        got = reader.read(reader.frames)
    assert int(np.argmax(np.abs(got[0, :30000]))) == 24000 and int(np.argmax(np.abs(got[1, :30000]))) == 24000
    level = 20 * np.log10(np.sqrt(np.mean(got[:, 40000:56000] ** 2)) / np.sqrt(np.mean(expected[:, 40000:56000] ** 2)))
    assert abs(level) < 0.5
    assert main(["process", str(m4a), str(tmp_path / "out.wav"), "--chain", "mastering"]) == 0
    assert soundfile.info(str(tmp_path / "out.wav")).frames == 72000


def test_an_aac_file_in_adts_frames_reads_as_ffmpeg_decodes_it(tmp_path: Path) -> None:
    """An .aac file (AAC in ADTS frames, no container: a broadcast or phone recorder's, or ffmpeg's `x.aac`) states no
    length; FFmpeg guesses one from the bitrate, and a variable-rate stream was refused as truncated ("declares 247564
    samples (5.158 s) but it holds 241664"). It reads as many samples as ffmpeg decodes from it, and a cut one as far
    as it goes (it has no length to be cut short of)."""
    tool("ffmpeg")
    noise = tmp_path / "noise.wav"
    soundfile.write(str(noise), 0.1 * np.random.default_rng(5).standard_normal((5 * SR, 2)), SR, subtype="PCM_16")
    aac = ffmpeg(noise, tmp_path / "noise.aac", "-c:a", "aac")
    decoded = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(aac), "-f", "f32le", "-"], capture_output=True, check=True
    )
    frames = len(decoded.stdout) // 8
    with open_audio(aac) as reader:
        assert reader.frames == frames
        got = reader.read(frames + 10)  # the same decoder; PyAV's float conversion differs in the last bits
        assert np.abs(got - np.frombuffer(decoded.stdout, np.float32).reshape(-1, 2).T).max() < 1e-6
    assert main(["process", str(aac), str(tmp_path / "out.wav"), "--chain", "mastering"]) == 0
    assert soundfile.info(str(tmp_path / "out.wav")).frames == frames


@pytest.mark.parametrize(("seconds", "rate"), [(0.5, 44100), (3.3, 48000), (7.01, 44100)])
def test_a_wma_file_reads_as_ffmpeg_decodes_it_and_a_cut_one_is_truncated(tmp_path: Path, seconds: float, rate: int) -> None:
    """A WMA file (an old Windows DAW's, Windows Media Player's; here ffmpeg's) was refused as truncated: its ASF
    header states a length past what FFmpeg decodes from it, by the decoder's delay of a 2048-sample frame and the
    header's millisecond's rounding ("declares 96288 samples (2.006 s) but it holds 94208"). It reads as many samples
    as the ffmpeg command decodes, the same samples; one cut in half is still truncated."""
    tool("ffmpeg")
    source = tmp_path / "source.wav"
    soundfile.write(str(source), 0.1 * np.random.default_rng(7).standard_normal((round(seconds * rate), 2)), rate)
    wma = ffmpeg(source, tmp_path / "take.wma")
    decoded = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(wma), "-f", "f32le", "-"], capture_output=True, check=True
    )
    frames = len(decoded.stdout) // 8
    with open_audio(wma) as reader:
        assert reader.frames == frames and reader.samplerate == rate
        got = reader.read(frames + 10)
        assert np.abs(got - np.frombuffer(decoded.stdout, np.float32).reshape(-1, 2).T).max() < 1e-6
    cut = tmp_path / "cut.wma"
    cut.write_bytes(wma.read_bytes()[: wma.stat().st_size // 2])
    from soundstage.errors import AudioFileError

    with pytest.raises(AudioFileError, match=r"cut.wma' is truncated: its header declares"):
        open_audio(cut)


def test_a_folder_of_stems_in_formats_ffmpeg_writes_is_taken_whole(tmp_path: Path) -> None:
    """`session new` and a batch of a folder took only the suffixes soundstage listed: WMA, FLAC in Ogg (.oga),
    Matroska audio (.mka) and True Audio (.tta) stems, which `process` reads, were left out in silence (a stem missing
    from the mix; "holds no audio files")."""
    tool("ffmpeg")
    source = tmp_path / "source.wav"
    soundfile.write(str(source), 0.1 * np.random.default_rng(8).standard_normal((SR, 2)), SR, subtype="PCM_24")
    stems = tmp_path / "stems"
    stems.mkdir()
    for name in ("a.wma", "b.oga", "c.mka", "d.tta"):
        ffmpeg(source, stems / name)
    assert main(["session", "new", str(stems)]) == 0
    listed = [line for line in (stems / "session.toml").read_text().splitlines() if line.startswith("path = ")]
    assert [line.split('"')[1] for line in listed] == ["a.wma", "b.oga", "c.mka", "d.tta"]
    assert main(["batch", str(stems), "-o", str(tmp_path / "out"), "--chain", "stereo-reference"]) == 0
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "a.wav", "b.wav", "batch-manifest.jsonl", "c.wav", "d.wav"
    ]  # fmt: skip


def test_a_cut_m4a_is_truncated_and_a_damaged_one_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An .m4a cut short in transfer (its index at the front, so it still opens) is refused as a cut WAV is, or read
    to where it ends with --allow-truncated; one whose index is lost (at the end, cut off) is refused in one line."""
    tool("ffmpeg")
    pcm24(tmp_path / "source.wav", program(3.0))
    whole = ffmpeg(tmp_path / "source.wav", tmp_path / "whole.m4a", "-c:a", "alac", "-movflags", "+faststart")
    data = whole.read_bytes()
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(data[: len(data) * 6 // 10])
    from soundstage.errors import AudioFileError

    with pytest.raises(AudioFileError, match=r"cut.m4a' is truncated: its header declares 144000 samples \(3.000 s\)"):
        open_audio(cut)
    with open_audio(cut, allow_truncated=True) as reader:
        assert 0.4 * 144000 < reader.frames < 0.65 * 144000 and reader.read(reader.frames).shape[1] == reader.frames
    tail = ffmpeg(tmp_path / "source.wav", tmp_path / "tail.m4a", "-c:a", "alac")  # the index after the audio
    lost = tmp_path / "lost.m4a"
    lost.write_bytes(tail.read_bytes()[: tail.stat().st_size // 2])
    assert main(["process", str(lost), str(tmp_path / "out.wav"), "--chain", "mastering"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "lost.m4a' is cut short: it ends inside its 'mdat' box, before the index" in error
    assert not (tmp_path / "out.wav").exists()


def test_without_the_formats_extra_an_m4a_is_refused_with_the_conversion_and_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool("ffmpeg")
    from soundstage.errors import AudioFileError
    from soundstage.fileio import decoded

    m4a = ffmpeg(write(tmp_path / "in.wav", program()), tmp_path / "song.m4a", "-c:a", "aac")
    try:
        AudioFile(str(m4a)).close()
        pytest.skip("this pedalboard reads .m4a (macOS)")
    except Exception:
        pass
    monkeypatch.setattr(decoded, "av", None)  # as if the formats extra were not installed
    with pytest.raises(
        AudioFileError,
        match=r"song.m4a' cannot be read as audio: .*ffmpeg -i song.m4a -c:a pcm_s24le song.wav\), or pip install "
        r"'soundstage\[formats\]' to read AAC, ALAC, WavPack, AC-3, BW64",
    ) as caught:
        open_audio(m4a)
    assert "\n" not in str(caught.value)


def test_a_wav_written_to_a_pipe_reads_to_its_end(tmp_path: Path) -> None:
    """ffmpeg writing WAV to a pipe cannot seek back to its header: the sizes stay 0xFFFFFFFF, "to the end of the
    file". Read as ffmpeg reads it: every sample, not refused as truncated (before: 'declares 536870911 samples')."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg (Debian: apt-get install ffmpeg)")
    audio = program()
    wav = write(tmp_path / "in.wav", audio)
    piped = tmp_path / "piped.wav"
    with piped.open("wb") as out:
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-i", str(wav), "-c:a", "pcm_f32le", "-f", "wav", "-"], stdout=out, check=True
        )
    data = piped.read_bytes()
    assert data[4:8] == b"\xff\xff\xff\xff" and data[data.index(b"data") + 4 : data.index(b"data") + 8] == b"\xff\xff\xff\xff"
    with open_audio(piped) as reader:
        assert reader.frames == audio.shape[1]
        assert np.array_equal(reader.read(reader.frames + 100), audio)
    assert main(["process", str(piped), str(tmp_path / "out.wav"), "--chain", "mastering"]) == 0
    assert soundfile.info(str(tmp_path / "out.wav")).frames == audio.shape[1]


@pytest.mark.parametrize("codec", ["pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_f64le"])
def test_an_rf64_written_to_a_pipe_reads_to_its_end(tmp_path: Path, codec: str) -> None:
    """ffmpeg writing RF64 to a pipe (`-rf64 always -f wav -`, as a long recording is streamed) cannot fill in its ds64,
    so the file says it holds no samples; pedalboard and libsndfile read none, and `process` said "has no samples
    (zero-length input)" of 1.5 s of audio. It now reads every sample, the same as ffmpeg's own file of that audio
    (read by soundfile), and nothing after it."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg (Debian: apt-get install ffmpeg)")
    wav = write(tmp_path / "in.wav", program(channels=3))
    piped, whole = tmp_path / "piped.wav", tmp_path / "whole.wav"
    convert = ["ffmpeg", "-loglevel", "error", "-i", str(wav), "-c:a", codec, "-rf64", "always"]
    with piped.open("wb") as out:
        subprocess.run([*convert, "-f", "wav", "-"], stdout=out, check=True)
    subprocess.run([*convert, str(whole)], check=True)
    data = piped.read_bytes()
    assert data[:4] == b"RF64" and soundfile.info(str(piped)).frames == 0
    expected = soundfile.read(str(whole), dtype="float32", always_2d=True)[0].T
    assert expected.shape == (3, int(1.5 * SR))
    with open_audio(piped) as reader:
        assert (reader.frames, reader.num_channels, reader.samplerate) == (expected.shape[1], 3, SR)
        assert np.array_equal(reader.read(reader.frames + 100), expected)
    assert main(["process", str(piped), str(tmp_path / "out.wav"), "--chain", "mastering"]) == 0
    assert (soundfile.info(str(tmp_path / "out.wav")).frames, soundfile.info(str(tmp_path / "out.wav")).channels) == (
        expected.shape[1],
        3,
    )


def test_a_flac_written_to_a_pipe_reads_whole(tmp_path: Path) -> None:
    """ffmpeg writing FLAC to a pipe (`-f flac -`) leaves STREAMINFO's sample count at 0, "unknown": libsndfile gives
    2**63 - 1 frames and its decode stops at the first 65536 with a failed seek, so the file was refused as
    truncated ("holds 65536 (1.365 s)"). It reads whole now, every sample as ffmpeg decodes it (to 16-bit)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg (Debian: apt-get install ffmpeg)")
    wav = write(tmp_path / "in.wav", program())
    piped = tmp_path / "piped.flac"
    with piped.open("wb") as out:
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-i", str(wav), "-c:a", "flac", "-f", "flac", "-"], stdout=out, check=True
        )
    assert soundfile.info(str(piped)).frames >= 2**62
    decoded = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(piped), "-f", "s16le", "-"], capture_output=True, check=True
    ).stdout
    expected = np.frombuffer(decoded, np.int16).reshape(-1, 2).T / 32768.0
    with open_audio(piped) as reader:
        assert reader.frames == expected.shape[1] == int(1.5 * SR)
        assert np.abs(reader.read(reader.frames) - expected).max() <= 2**-15  # within one 16-bit step: the scales differ
    assert main(["process", str(piped), str(tmp_path / "out.wav"), "--chain", "mastering"]) == 0
    assert soundfile.info(str(tmp_path / "out.wav")).frames == int(1.5 * SR)


def test_an_unfinished_recording_is_named_with_the_command_that_recovers_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A recorder that stopped before writing its header's sizes (0) leaves the audio after it: named in one line
    with the ffmpeg command that recovers it, which does (before: 'has no samples (zero-length input)')."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg (Debian: apt-get install ffmpeg)")
    audio = program()
    take = write(tmp_path / "take.wav", audio)
    data = bytearray(take.read_bytes())
    at = data.index(b"data")
    data[4:8] = data[at + 4 : at + 8] = bytes(4)
    take.write_bytes(bytes(data))
    assert main(["process", str(take), str(tmp_path / "out.wav"), "--chain", "mastering"]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and f"says it holds no samples, but {audio.size * 4} bytes follow its header" in error
    command = error.split("recover them: ")[1].split()
    assert command[:2] == ["ffmpeg", "-i"]
    subprocess.run([*command[:2], str(tmp_path / command[2]), *command[3:5], str(tmp_path / command[5])], check=True)
    with open_audio(tmp_path / "take-recovered.wav") as reader:
        assert np.array_equal(reader.read(reader.frames), audio)


def test_a_name_that_is_not_utf8_reads_writes_and_is_named_in_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """File names made on another system (Latin-1 bytes: a zip made on Windows, an old drive) reach Python as
    surrogates, which libsndfile, pedalboard and PyAV refused ("surrogates not allowed"): process, batch (into a
    folder so named too) and errors work with them as with plain names; session new, whose file is UTF-8, refuses
    the stem in one line with its likely name."""
    audio = program(1.0)
    plain = write(tmp_path / "plain.wav", audio)
    latin = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9 m\xfcller.wav"))
    latin.write_bytes(plain.read_bytes())
    assert main(["process", str(latin), str(tmp_path / "a.wav"), "--chain", "mastering"]) == 0
    assert main(["process", str(plain), str(tmp_path / "b.wav"), "--chain", "mastering"]) == 0
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    stems = Path(os.fsdecode(bytes(tmp_path) + b"/\xc9t\xe9"))  # "Été" in Latin-1: the folder too
    stems.mkdir()
    (stems / latin.name).write_bytes(plain.read_bytes())
    out = Path(os.fsdecode(bytes(tmp_path) + b"/r\xe9sultats"))
    assert main(["batch", str(stems), "--chain", "mastering", "-o", str(out), "--workers", "1"]) == 0
    assert (out / latin.name).read_bytes() == (tmp_path / "b.wav").read_bytes()
    capsys.readouterr()
    assert main(["session", "new", str(stems)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "is not UTF-8" in error and "'café müller.wav'" in error
    assert sorted(p.name for p in stems.iterdir()) == [latin.name]  # nothing written
    cut = Path(os.fsdecode(bytes(tmp_path) + b"/coup\xe9.wav"))
    cut.write_bytes(plain.read_bytes()[:20000])
    from soundstage.errors import AudioFileError

    with pytest.raises(AudioFileError) as caught:
        open_audio(cut)
    assert str(caught.value).startswith(f"input file {str(cut)!r} is truncated: its header declares 48000 samples")
    assert not [p for p in Path(tempfile.gettempdir()).glob("soundstage-input-*")]  # the plain names are gone


@pytest.mark.parametrize("channels", [4, 12])
def test_a_bw64_file_reads_as_the_rf64_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channels: int) -> None:
    """BW64 (ITU-R BS.2088: ADM deliveries, Dolby Atmos masters) is RF64 under another name; libsndfile does not
    read it ("Format not recognised"). Made here from ffmpeg's RF64 by its header id, as BS.2088 defines it. More
    than 8 channels (an Atmos bed with objects): PyAV's planar frames crashed the process there."""
    tool("ffmpeg")
    expected = pcm24(tmp_path / "source.wav", program(1.0, channels=channels))
    rf64 = ffmpeg(tmp_path / "source.wav", tmp_path / "rf64.wav", "-c:a", "pcm_s24le", "-rf64", "always")
    data = rf64.read_bytes()
    assert data[:4] == b"RF64" and data[8:12] == b"WAVE"
    bw64 = tmp_path / "atmos.wav"
    bw64.write_bytes(b"BW64" + data[4:])
    with open_audio(bw64) as reader:
        assert (reader.num_channels, reader.frames) == (channels, SR)
        assert np.array_equal(np.concatenate([reader.read(5000) for _ in range(10)], axis=1), expected)
    from soundstage.errors import AudioFileError
    from soundstage.fileio import decoded

    monkeypatch.setattr(decoded, "av", None)  # as if the formats extra were not installed
    with pytest.raises(AudioFileError, match=r"atmos.wav' is a BW64 file .*pip install 'soundstage\[formats\]'.*-rf64 auto"):
        open_audio(bw64)


def test_a_block_coded_wav_reads_to_its_fact_chunks_length(tmp_path: Path) -> None:
    """GSM 6.10 (sox) and IMA ADPCM (ffmpeg) WAVs hold whole blocks; libsndfile counts the last block's padding as
    music (12160 samples for sox's 12000). The fact chunk gives the length, as ffmpeg reads it; a PCM WAV's fact chunk,
    which some writers get wrong, is not trusted."""
    tool("ffmpeg")
    tool("sox")
    gsm, ima = tmp_path / "phone.wav", tmp_path / "ima.wav"
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-e", "gsm-full-rate", str(gsm), "synth", "1.5", "sine", "440"], check=True
    )
    ffmpeg(write(tmp_path / "src.wav", program(1.5)), ima, "-c:a", "adpcm_ima_wav")
    for coded in (gsm, ima):
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "stream=duration_ts", "-of", "csv=p=0", str(coded)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        with open_audio(coded) as reader:
            got = np.concatenate([reader.read(1000) for _ in range(-(-reader.frames // 1000) + 1)], axis=1)
        libsndfile = soundfile.read(str(coded), dtype="float32", always_2d=True)[0].T
        assert got.shape[1] == reader.frames == int(probe.stdout) <= libsndfile.shape[1], coded.name
        assert np.array_equal(got, libsndfile[:, : got.shape[1]])
    assert soundfile.info(str(gsm)).frames == 12160  # libsndfile's count, whole blocks
    with open_audio(gsm) as reader:
        assert reader.frames == 12000  # sox's 1.5 s at 8 kHz
    pcm = tmp_path / "pcm.wav"
    soundfile.write(str(pcm), program(1.0).T, SR, subtype="PCM_16")
    data = pcm.read_bytes()
    fact = b"fact" + (4).to_bytes(4, "little") + (100).to_bytes(4, "little")  # says 100 samples: wrong
    at = data.index(b"data")
    pcm.write_bytes(b"RIFF" + (len(data) - 8 + len(fact)).to_bytes(4, "little") + data[8:at] + fact + data[at:])
    with open_audio(pcm) as reader:
        assert reader.frames == SR


def test_process_carries_a_bwf_time_reference_to_its_wav(tmp_path: Path) -> None:
    """A stem a DAW stamped (bext TimeReference: its place on the timeline) lost the stamp in process, so the DAW put
    the processed file at zero. The output WAV carries the input's bext (the output is aligned to the input, latency
    compensated). Stamped by ffmpeg; read back by wavinfo and ffprobe, the audio by soundfile."""
    import json

    import wavinfo

    from soundstage import Chain, Gain
    from soundstage.fileio import process_file

    ffmpeg = tool("ffmpeg")
    tone = (0.25 * np.sin(2 * np.pi * 441 * np.arange(24000) / 48000)).astype(np.float32)
    soundfile.write(str(tmp_path / "plain.wav"), np.stack([tone, -tone]).T, 48000, subtype="PCM_24")
    stamped = tmp_path / "stamped.wav"
    subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(tmp_path / "plain.wav"), "-write_bext", "1", "-metadata", "time_reference=480000"]
        + ["-metadata", "originator=ProTools", "-c:a", "pcm_s24le", str(stamped)],
        check=True,
    )
    chain = Chain([Gain(gain_db=-3.0)])
    for name, bit_depth in (("out.wav", 24), ("float.wav", 32)):
        process_file(chain, stamped, tmp_path / name, bit_depth=bit_depth)
        info = wavinfo.WavInfoReader(str(tmp_path / name))
        assert info.bext.time_reference == 480000 and info.bext.originator == "ProTools", name
        probe = subprocess.run(
            [
                shutil.which("ffprobe") or "ffprobe",
                "-v",
                "error",
                "-show_entries",
                "format_tags",
                "-of",
                "json",
                str(tmp_path / name),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(probe.stdout)["format"]["tags"]["time_reference"] == "480000"
    process_file(chain, tmp_path / "plain.wav", tmp_path / "plain-out.wav", bit_depth=24)
    assert wavinfo.WavInfoReader(str(tmp_path / "plain-out.wav")).bext is None  # nothing stamped, nothing made up
    carried, plain = soundfile.read(str(tmp_path / "out.wav"))[0], soundfile.read(str(tmp_path / "plain-out.wav"))[0]
    assert np.array_equal(carried, plain)  # the same samples: only the metadata differs
    process_file(chain, stamped, tmp_path / "out.flac")  # FLAC has no bext: its TIME_REFERENCE comment (next test)
    assert soundfile.info(str(tmp_path / "out.flac")).frames == 24000


def _tags(path: Path) -> dict[str, str]:
    import json

    probe = subprocess.run(
        [tool("ffprobe"), "-v", "error", "-show_entries", "format_tags", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return {name.upper(): value for name, value in json.loads(probe.stdout)["format"].get("tags", {}).items()}


def _decoded(path: Path) -> np.ndarray:
    """The samples as FFmpeg decodes them; any complaint of its decoder fails the test."""
    done = subprocess.run([tool("ffmpeg"), "-v", "error", "-i", str(path), "-f", "f32le", "-"], capture_output=True, check=True)
    assert done.stderr == b"", done.stderr
    return np.frombuffer(done.stdout, np.float32)


def test_process_carries_the_time_reference_between_wav_and_flac(tmp_path: Path) -> None:
    """A stamped stem processed into another format lost its place on the DAW's timeline: a WAV into a FLAC, and a
    FLAC (its TIME_REFERENCE comment, as FFmpeg converts a BWF, or as sox writes one) into anything. The FLAC output
    carries it as its TIME_REFERENCE comment, the WAV output as a bext chunk; ffprobe and wavinfo read them back,
    FFmpeg decodes the FLAC without a complaint, and its samples are those of the same output unstamped."""
    import wavinfo

    from soundstage import Chain, Gain
    from soundstage.fileio import process_file

    ffmpeg, sox = tool("ffmpeg"), tool("sox")
    soundfile.write(str(tmp_path / "plain.wav"), program(0.5).T, SR, subtype="PCM_24")
    subprocess.run([ffmpeg, "-v", "error", "-i", str(tmp_path / "plain.wav"), "-write_bext", "1", "-metadata",
                    "time_reference=480000", "-c:a", "pcm_s24le", str(tmp_path / "stamped.wav")], check=True)  # fmt: skip
    subprocess.run([ffmpeg, "-v", "error", "-i", str(tmp_path / "stamped.wav"), str(tmp_path / "ffmpeg.flac")], check=True)
    subprocess.run(
        [sox, str(tmp_path / "plain.wav"), "--comment", "TIME_REFERENCE=96000", str(tmp_path / "sox.flac")], check=True
    )
    chain = Chain([Gain(gain_db=-3.0)])
    process_file(chain, tmp_path / "plain.wav", tmp_path / "plain.flac")
    assert "TIME_REFERENCE" not in _tags(tmp_path / "plain.flac")  # nothing stamped, nothing made up
    unstamped = _decoded(tmp_path / "plain.flac")
    for source, reference in (("stamped.wav", 480000), ("ffmpeg.flac", 480000), ("sox.flac", 96000)):
        flac, wav = tmp_path / f"{source}.out.flac", tmp_path / f"{source}.out.wav"
        process_file(chain, tmp_path / source, flac)
        process_file(chain, tmp_path / source, wav, bit_depth=24)
        assert _tags(flac)["TIME_REFERENCE"] == str(reference), source
        assert wavinfo.WavInfoReader(str(wav)).bext.time_reference == reference, source
        decoded = _decoded(flac)
        assert np.array_equal(decoded, unstamped), source
        assert np.array_equal(soundfile.read(str(flac), dtype="float32")[0].ravel(), decoded)
    process_file(chain, tmp_path / "stamped.wav", tmp_path / "out.aiff")  # AIFF has no place for it: written as before
    assert soundfile.info(str(tmp_path / "out.aiff")).frames == 24000


def test_flac_and_speex_in_ogg_read_as_ffmpeg_decodes_them_and_a_cut_one_to_its_cut(tmp_path: Path) -> None:
    """FLAC in an Ogg container (``ffmpeg -c:a flac x.oga``; pedalboard takes it for Vorbis and finds no samples,
    libsndfile does not read it) was refused as undecodable, with the conversion: it reads through FFmpeg's decoder,
    the source's 24-bit samples bit for bit, with the TimeReference FFmpeg carried into its comments. Cut in half it is
    refused as cut short, and reads to its cut with allow_truncated, every sample as the source's. Speex in Ogg, alike
    refused, reads as FFmpeg decodes it."""
    from soundstage.errors import AudioFileError
    from soundstage.fileio import time_reference

    ffmpeg = tool("ffmpeg")
    soundfile.write(str(tmp_path / "plain.wav"), program(1.0).T, SR, subtype="PCM_24")
    subprocess.run([ffmpeg, "-v", "error", "-i", str(tmp_path / "plain.wav"), "-write_bext", "1", "-metadata",
                    "time_reference=480000", "-c:a", "pcm_s24le", str(tmp_path / "stamped.wav")], check=True)  # fmt: skip
    oga = tmp_path / "stem.oga"
    subprocess.run([ffmpeg, "-v", "error", "-i", str(tmp_path / "stamped.wav"), "-c:a", "flac", str(oga)], check=True)
    source, _ = soundfile.read(str(tmp_path / "plain.wav"), dtype="float32", always_2d=True)
    with open_audio(oga) as reader:
        assert (reader.frames, reader.samplerate, reader.num_channels) == (SR, SR, 2)
        assert np.array_equal(reader.read(reader.frames), source.T)
    assert time_reference(oga) == 480000
    cut = tmp_path / "cut.oga"
    cut.write_bytes(oga.read_bytes()[: oga.stat().st_size // 2])
    with pytest.raises(AudioFileError, match=r"'.*cut\.oga' is cut short: its Ogg stream stops at .*--allow-truncated"):
        open_audio(cut)
    with open_audio(cut, allow_truncated=True) as reader:
        held = reader.read(reader.frames)
    assert 0.3 * SR < held.shape[1] < SR and np.array_equal(held, source.T[:, : held.shape[1]])
    # Speex in Ogg, which pedalboard finds empty as well: the samples FFmpeg decodes, as its command line does
    speex, decoded = tmp_path / "voice.ogg", tmp_path / "voice.wav"
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=1:sample_rate=16000", "-c:a", "libspeex",
                    str(speex)], check=True)  # fmt: skip
    subprocess.run([ffmpeg, "-v", "error", "-i", str(speex), "-c:a", "pcm_f32le", str(decoded)], check=True)
    expected, _ = soundfile.read(str(decoded), dtype="float32", always_2d=True)
    with open_audio(speex) as reader:
        assert np.array_equal(reader.read(reader.frames), expected.T)


def test_process_carries_an_ogg_vorbis_stems_time_reference_and_not_an_opus_ones(tmp_path: Path) -> None:
    """An Ogg Vorbis stem's TIME_REFERENCE comment (ffmpeg's from a BWF, sox's given as a comment) is carried into a WAV
    output's bext and a FLAC output's comment, read back by wavinfo and ffprobe. An Opus file's is not: it counts at
    its source's rate (here 44.1 kHz, the count ffmpeg copied), which the 48 kHz Opus file does not record, so the
    outputs carry no stamp rather than one 8.8% off."""
    import wavinfo

    from soundstage import Chain, Gain
    from soundstage.fileio import process_file, time_reference

    ffmpeg, sox = tool("ffmpeg"), tool("sox")
    soundfile.write(str(tmp_path / "plain.wav"), program(0.5).T, 44100, subtype="PCM_24")
    subprocess.run([ffmpeg, "-v", "error", "-i", str(tmp_path / "plain.wav"), "-write_bext", "1", "-metadata",
                    "time_reference=441000", "-c:a", "pcm_s24le", str(tmp_path / "stamped.wav")], check=True)  # fmt: skip
    for name, codec in (("ffmpeg.ogg", "libvorbis"), ("ffmpeg.opus", "libopus")):
        subprocess.run(
            [ffmpeg, "-v", "error", "-i", str(tmp_path / "stamped.wav"), "-c:a", codec, str(tmp_path / name)], check=True
        )
    subprocess.run([sox, str(tmp_path / "plain.wav"), "--comment", "TIME_REFERENCE=88200", str(tmp_path / "sox.ogg")], check=True)
    chain = Chain([Gain(gain_db=-3.0)])
    for source, reference in (("ffmpeg.ogg", 441000), ("sox.ogg", 88200), ("ffmpeg.opus", None)):
        assert time_reference(tmp_path / source) == reference, source
        flac, wav = tmp_path / f"{source}.out.flac", tmp_path / f"{source}.out.wav"
        process_file(chain, tmp_path / source, flac)
        process_file(chain, tmp_path / source, wav, bit_depth=24)
        bext = wavinfo.WavInfoReader(str(wav)).bext
        if reference is None:
            assert "TIME_REFERENCE" not in _tags(flac) and bext is None, source
            continue
        assert _tags(flac)["TIME_REFERENCE"] == str(reference), source
        assert bext is not None and bext.time_reference == reference, source


def _ogg_files() -> dict[str, bytes]:
    """An Ogg Vorbis file (sox) and an Opus file (ffmpeg) with a TIME_REFERENCE comment: their first 8 KB."""
    ffmpeg, sox = shutil.which("ffmpeg"), shutil.which("sox")
    if ffmpeg is None or sox is None:
        return {}
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        soundfile.write(str(base / "a.wav"), program(0.5).T, SR, subtype="PCM_16")
        subprocess.run([sox, str(base / "a.wav"), "--comment", "TIME_REFERENCE=96000", str(base / "a.ogg")], check=True)
        subprocess.run([ffmpeg, "-v", "error", "-i", str(base / "a.wav"), "-c:a", "libopus", "-metadata",
                        "time_reference=96000", str(base / "a.opus")], check=True)  # fmt: skip
        return {name: (base / name).read_bytes()[:8192] for name in ("a.ogg", "a.opus")}


OGG_FILES = _ogg_files()


@pytest.mark.skipif(not OGG_FILES, reason="needs ffmpeg and sox (apt-get install ffmpeg sox) to make the Ogg files")
@settings(max_examples=200, deadline=None, derandomize=True)
@given(data=st.data())
def test_ogg_comments_of_a_damaged_file_end_in_an_answer(data: st.DataObject) -> None:
    """The first 8 KB of an Ogg Vorbis and an Opus file (sox's and ffmpeg's), bytes overwritten or the file cut
    anywhere: ogg_comments answers (comments or None) without an exception, and time_reference either reads a count,
    reads none, or refuses the comment in one AudioFileError."""
    from soundstage.containers import ogg_comments
    from soundstage.errors import AudioFileError
    from soundstage.fileio import time_reference

    name = data.draw(st.sampled_from(sorted(OGG_FILES)))
    original = OGG_FILES[name]
    damaged = bytearray(original[: data.draw(st.integers(0, len(original)), label="cut")])
    for _ in range(data.draw(st.integers(0, 6), label="overwrites")):
        if damaged:
            damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(bytes(damaged))
        found = ogg_comments(path)
        assert found is None or found.codec in ("vorbis", "opus", "flac")
        try:
            value = time_reference(path)
        except AudioFileError as error:
            assert "TIME_REFERENCE comment" in str(error) and "\n" not in str(error)
        else:
            assert value is None or value >= 0


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40),
        min_size=1,
        max_size=4,
    ),
    without_block=st.booleans(),
)
def test_comments_added_to_a_flac_read_back_and_leave_its_audio(values: list[str], without_block: bool) -> None:
    """Any values (FFmpeg leaves out an empty one and ends one at a NUL), added to a FLAC libsndfile wrote, or to one
    without a comment block (made here by taking it out): flac_comments and ffprobe read each back, and FFmpeg decodes
    the same samples as before."""
    from soundstage.containers import flac_comments
    from soundstage.sinks import add_flac_comments

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.flac"
        soundfile.write(str(path), program(0.2).T, SR, subtype="PCM_16")
        data = path.read_bytes()
        if without_block:  # fLaC, STREAMINFO (34 bytes) then the comment block: flag STREAMINFO last, drop the block
            comment = 42 + 4 + int.from_bytes(data[43:46], "big")
            assert data[42] & 0x7F == 4 and data[42] & 0x80
            data = data[:4] + bytes([0x80]) + data[5:42] + data[comment:]
            path.write_bytes(data)
        before = _decoded(path)
        names = [f"SOUNDSTAGE_{i}" for i in range(len(values))]
        assert add_flac_comments(path, list(zip(names, values)))
        assert {name: flac_comments(path)[name] for name in names} == dict(zip(names, values))
        assert {name: _tags(path)[name] for name in names} == dict(zip(names, values))
        assert np.array_equal(_decoded(path), before)


def test_a_folders_mp2_aac_and_ac3_files_are_stems_and_batch_items(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """MPEG layer II (broadcast archives), raw AAC (ADTS) and AC-3 files, which soundstage reads, are taken from a
    folder by `session new` and `batch` as WAVs are (they were left out without a word)."""
    tool("ffmpeg")
    source = write(tmp_path / "source.wav", program(1.0))
    folder = tmp_path / "archive"
    folder.mkdir()
    for name, codec in (("news.mp2", "mp2"), ("promo.aac", "aac"), ("trailer.ac3", "ac3")):
        ffmpeg(source, folder / name, "-c:a", codec, *(("-f", "adts") if name.endswith(".aac") else ()))
    assert main(["session", "new", str(folder)]) == 0
    text = (folder / "session.toml").read_text()
    assert all(f'path = "{name}"' in text for name in ("news.mp2", "promo.aac", "trailer.ac3")), text
    (folder / "session.toml").unlink()
    assert main(["batch", str(folder), "--chain", "mastering", "-o", str(tmp_path / "out"), "--workers", "1"]) == 0
    assert sorted(path.name for path in (tmp_path / "out").glob("*.wav")) == ["news.wav", "promo.wav", "trailer.wav"]


def test_a_voc_file_reads_as_ffmpeg_decodes_it(tmp_path: Path) -> None:
    """A Creative VOC file (DOS-era games and sound cards) that ffmpeg writes: its blocks state no length, and it read
    as truncated against FFmpeg's guess from the file size; it reads as ffmpeg decodes it, every sample."""
    tool("ffmpeg")
    source = write(tmp_path / "source.wav", program(1.0), 44100)
    voc = ffmpeg(source, tmp_path / "old.voc", "-c:a", "pcm_u8")
    decoded = ffmpeg(voc, tmp_path / "decoded.wav", "-c:a", "pcm_f32le")
    expected, rate = soundfile.read(str(decoded), dtype="float32", always_2d=True)
    with open_audio(voc) as reader:
        assert (reader.samplerate, reader.num_channels, reader.frames) == (rate, 2, expected.shape[0])
        got = reader.read(reader.frames)
    assert np.array_equal(got, expected.T)


def _riff_chunk(kind: bytes, body: bytes, *, pad: bool = True) -> bytes:
    return kind + len(body).to_bytes(4, "little") + body + (b"\0" if pad and len(body) % 2 else b"")


@pytest.mark.parametrize("note", [b"<BWFXML>x</BWFXML>abc", b"<BWFXML>take 3</BWFXML>"])
def test_a_wav_whose_writer_left_out_a_pad_byte_before_its_audio_is_read_whole(tmp_path: Path, note: bytes) -> None:
    """A chunk of odd size (an iXML note) written without the pad byte RIFF asks for: libsndfile (and FFmpeg 5.1 and
    SoX 14.4 here) look for the next chunk a byte on and find no audio (before: refused as a format to convert with
    ffmpeg, which cannot). The chunk walk finds the audio where it is: every sample as written; half of such a file
    is refused as truncated, naming both lengths."""
    steps = np.random.default_rng(5).integers(-32768, 32768, (SR // 10, 2), dtype=np.int16)
    fmt = (1).to_bytes(2, "little") + (2).to_bytes(2, "little") + SR.to_bytes(4, "little") + (4 * SR).to_bytes(4, "little")
    fmt += (4).to_bytes(2, "little") + (16).to_bytes(2, "little")
    chunks = _riff_chunk(b"fmt ", fmt) + _riff_chunk(b"iXML", note, pad=False)
    body = b"WAVE" + chunks + _riff_chunk(b"data", steps.astype("<i2").tobytes())
    path = tmp_path / "nopad.wav"
    path.write_bytes(b"RIFF" + len(body).to_bytes(4, "little") + body)
    with pytest.raises(soundfile.LibsndfileError):
        soundfile.info(str(path))
    with open_audio(path) as reader:
        got = reader.read(int(reader.frames))
    assert np.array_equal(got, steps.T / 32768.0)
    out = tmp_path / "out.wav"
    assert main(["process", str(path), str(out), "--chain", "stereo-reference"]) == 0
    assert soundfile.info(str(out)).frames == SR // 10
    half = tmp_path / "half.wav"
    half.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    from soundstage.errors import AudioFileError

    with pytest.raises(AudioFileError, match=rf"half.wav' is truncated: its header declares {SR // 10} samples"):
        open_audio(half)
