"""Files cut short, as a disk that fills up under a writer or a copy that stops leaves them: every format soundstage
reads, made by ffmpeg and sox, cut at any byte, is read whole or refused in one line that says it is cut short.

Before, half a Wave64 (Reaper, Vegas), half a CAF (Logic, Pro Tools), half an IMA ADPCM WAV and half an Ogg Vorbis or
Opus file were processed without a word into a file of half the length; a WAV cut inside its header, a FLAC cut inside
its metadata and an M4A cut before its index were refused as formats to convert; half an MP3 also printed libmpg123's
doubts on a second line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from helpers import tool
from soundstage.containers import flac_end_at_whole_frames
from soundstage.errors import AudioFileError
from soundstage.fileio import CUT_UNKNOWN, missing_frames, open_audio

SECONDS = 3
RATE = 48000

#: name -> (tool, arguments after the input / before the output): how the test file is made.
FFMPEG = {
    "pcm24.wav": ["-c:a", "pcm_s24le"],
    "float.rf64": ["-c:a", "pcm_f32le", "-rf64", "always", "-f", "wav"],
    "pcm24.w64": ["-c:a", "pcm_s24le"],
    "pcm16.caf": ["-c:a", "pcm_s16le"],
    "alac.caf": ["-c:a", "alac"],
    "pcm24.aiff": ["-c:a", "pcm_s24be"],
    "flac.flac": ["-c:a", "flac"],
    "info.mp3": ["-c:a", "libmp3lame"],
    "bare.mp3": ["-c:a", "libmp3lame", "-write_xing", "0"],  # no Info frame: nothing says how long it is
    "vorbis.ogg": ["-c:a", "libvorbis"],
    "opus.opus": ["-c:a", "libopus"],
    "aac.m4a": ["-c:a", "aac"],  # ffmpeg writes the index (moov) after the audio
    "faststart.m4a": ["-c:a", "aac", "-movflags", "+faststart"],
    "wavpack.wv": ["-c:a", "wavpack"],
}
SOX = {"ima.wav": ["-e", "ima-adpcm"], "gsm.wav": ["-e", "gsm-full-rate"]}


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int]]:
    """Each format's file, and the samples soundstage reads from it whole."""
    ffmpeg, sox = tool("ffmpeg"), tool("sox")
    folder = tmp_path_factory.mktemp("whole")
    made = {}
    for name, arguments in FFMPEG.items():
        made[name] = folder / name
        tone = ["-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}:sample_rate={RATE}", "-ac", "2"]
        subprocess.run([ffmpeg, "-v", "error", *tone, *arguments, str(made[name])], check=True)
    for name, arguments in SOX.items():
        made[name] = folder / name
        subprocess.run([sox, "-n", "-r", "16000", "-c", "1", *arguments, str(made[name]), "synth", str(SECONDS), "sine", "440"])
    frames = {}
    for name, path in made.items():
        with open_audio(path) as reader:
            frames[name] = (path, int(reader.frames))
    return frames


#: The fewest bytes a cut keeps in the test at any byte.
MIN_CUT = 64


def _cut(source: Path, folder: Path, size: int) -> Path:
    cut = folder / f"cut-{source.name}"
    cut.write_bytes(source.read_bytes()[:size])
    return cut


def _soundstage(*arguments: str) -> subprocess.CompletedProcess[str]:
    """The command line in a child process, so what a C library prints on the process's stderr is seen."""
    script = "import sys; from soundstage.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", script, *arguments], capture_output=True, text=True, timeout=300)


#: What is known of each format cut in half: how long its header says it is (seconds), where it says so.
DECLARED = {"pcm24.wav": 3.0, "float.rf64": 3.0, "pcm24.w64": 3.0, "pcm16.caf": 3.0, "pcm24.aiff": 3.0, "flac.flac": 3.0}
DECLARED |= {"info.mp3": 3.0, "ima.wav": 3.0, "gsm.wav": 3.0, "faststart.m4a": 3.0, "wavpack.wv": 3.0}


@pytest.mark.parametrize("name", [*FFMPEG, *SOX])
def test_half_a_file_is_refused_in_one_line_and_read_with_allow_truncated(
    sources: dict[str, tuple[Path, int]], tmp_path: Path, name: str
) -> None:
    """Cut in half, every format is refused in one line naming the file and saying so, and no output is written.
    Where its header says how long it was, the line says both lengths; with --allow-truncated it is processed to
    what it holds (the missing time reported, where known), except the formats that hold nothing readable without
    what comes after their audio (an M4A's index, a CAF of ALAC's packet table)."""
    source, frames = sources[name]
    cut = _cut(source, tmp_path, source.stat().st_size // 2)
    out = tmp_path / "out.wav"
    refused = _soundstage("process", "--chain", "mastering", str(cut), str(out))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and not refused.stdout, refused.stderr
    line = refused.stderr
    assert f"input file {str(cut)!r} is " in line and ("is truncated: " in line or "is cut short: " in line), line
    assert not out.exists()
    if name in DECLARED:
        assert f"declares {DECLARED[name] * (16000 if name in SOX else RATE):.0f} samples ({DECLARED[name]:.3f} s)" in line
    if "--allow-truncated" not in line:  # offered wherever something can be read
        assert "nothing in it can be read" in line or "but it holds 0 (0.000 s)" in line, line
        return
    done = _soundstage("process", "--chain", "mastering", str(cut), str(out), "--allow-truncated")
    assert done.returncode == 0 and not done.stderr, done.stderr
    held = soundfile.info(str(out)).frames
    rate = 16000 if name in SOX else RATE
    assert 0.3 * frames < held < 0.7 * frames  # about half: what the file holds, no more
    if name in DECLARED:
        assert f"is TRUNCATED: {(frames - held) / rate:.3f} s missing at its end" in done.stdout, done.stdout
    else:  # an Ogg stream or a bare MP3 does not say how long it was to be: said so, not passed over
        assert f"is TRUNCATED: {CUT_UNKNOWN} (--allow-truncated)" in done.stdout, done.stdout
        with open_audio(cut, allow_truncated=True) as reader:
            assert missing_frames(reader) is None and int(reader.frames) == held


def test_a_session_with_a_stem_cut_short_of_an_unknown_length_says_so_and_renders_when_allowed(
    sources: dict[str, tuple[Path, int]], tmp_path: Path
) -> None:
    """An Ogg Vorbis stem cut short beside a whole WAV: ``session new`` flags it (before: nothing said), ``render`` refuses
    it, and ``render --allow-truncated`` renders what it holds (before: refused, the flag not passed on to the stem's
    reader) and reports it cut short, the missing time unknown (JSON null), the WAV whole (0.0)."""
    folder = tmp_path / "stems"
    folder.mkdir()
    whole, _ = sources["pcm24.wav"]
    (folder / "whole.wav").write_bytes(whole.read_bytes())
    ogg, frames = sources["vorbis.ogg"]
    _cut(ogg, folder, ogg.stat().st_size * 4 // 5).rename(folder / "half.ogg")  # its first pages are its codebooks
    made = _soundstage("session", "new", str(folder))
    assert made.returncode == 0, made.stderr
    assert "stem half.ogg is TRUNCATED" in made.stdout and "whole.wav is TRUNCATED" not in made.stdout, made.stdout
    assert CUT_UNKNOWN in (folder / "session.toml").read_text()
    refused = _soundstage("render", str(folder / "session.toml"), "-o", str(tmp_path / "refused"))
    assert refused.returncode == 2 and "half.ogg' is cut short" in refused.stderr and refused.stderr.count("\n") == 1
    done = _soundstage("render", str(folder / "session.toml"), "-o", str(tmp_path / "out"), "--allow-truncated")
    assert done.returncode == 0, done.stderr
    assert f"stem half: TRUNCATED, {CUT_UNKNOWN} (--allow-truncated)" in done.stdout, done.stdout
    report = json.loads((tmp_path / "out" / "render-report.json").read_text())
    assert {stem["name"]: stem["missing_s"] for stem in report["stems"]} == {"whole": 0.0, "half": None}
    assert soundfile.info(str(tmp_path / "out" / "mixdown.wav")).frames == frames  # the whole stem's length


def _id3_size(file: Path) -> int:
    """The bytes of the ID3v2 tag FFmpeg puts before an MP3's frames (a 10-byte header, a syncsafe size)."""
    head = file.read_bytes()[:10]
    return 10 + sum((byte & 0x7F) << (7 * (3 - i)) for i, byte in enumerate(head[6:10])) if head[:3] == b"ID3" else 0


def _between_frames(file: Path) -> bool:
    """Whether an MP3 without an Info frame (FFmpeg's, 128 kbit/s at 48 kHz: frames of 384 bytes, no padding) is cut
    between two frames. Such a file holds no sign of the cut (no length in a header, no frame left half): it is a
    whole MP3 of fewer frames, to soundstage as to every reader; the README says so."""
    return (file.stat().st_size - _id3_size(file)) % 384 == 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from([*FFMPEG, *SOX]), share=st.floats(0.0, 1.0, exclude_max=True))
@example(name="float.rf64", share=3.79174159208869e-05)  # an RF64 cut inside its header: was "cannot be decoded here"
@example(name="alac.caf", share=0.002)  # a CAF cut between its header's chunks, before 'data': was "cannot be read"
@example(name="pcm16.caf", share=0.0)  # the same, 64 bytes: inside its 'chan' chunk
@example(name="aac.m4a", share=0.9733343535306583)  # an M4A cut in the 8-byte header of its index: was "cannot be read"
@example(name="bare.mp3", share=0.06313532612677708)  # cut between frames: a whole shorter MP3 (_between_frames)
@example(name="bare.mp3", share=0.007590106548400311)  # 2 bytes into its 2nd frame's header: was read as 1 frame, whole
@example(name="info.mp3", share=0.9920967163174305)  # one frame short of its Info frame's count: was read, 24 ms short
@example(name="pcm24.wav", share=4.2152801838739095e-05)  # cut in the LIST before its audio: libsndfile read 0 frames
def test_a_file_cut_at_any_byte_is_read_whole_or_refused_as_cut(
    sources: dict[str, tuple[Path, int]], tmp_path: Path, name: str, share: float
) -> None:
    """Never a silently short read: a file cut anywhere (in its header, its audio, or what follows the audio) either
    reads its whole length (only what follows the audio was lost) or is refused in one line that says it is cut.
    From its 64th byte on: fewer bytes than that show no format to judge (they are refused as unreadable)."""
    source, frames = sources[name]
    cut = _cut(source, tmp_path, MIN_CUT + int(share * (source.stat().st_size - MIN_CUT)))
    try:
        with open_audio(cut) as reader:
            if name == "bare.mp3" and int(reader.frames) != frames:  # the limit: see _between_frames
                assert _between_frames(cut) and int(reader.frames) == (cut.stat().st_size - _id3_size(cut)) // 384 * 1152
                return
            assert int(reader.frames) == frames, (name, cut.stat().st_size)
    except AudioFileError as error:
        message = str(error)
        assert "\n" not in message and repr(str(cut)) in message, message
        assert "is truncated: " in message or "is cut short: " in message, message


def _chunk(kind: bytes, body: bytes) -> bytes:
    return kind + len(body).to_bytes(4, "little") + body + b"\0" * (len(body) & 1)


def _with_markers(wav: Path, target: Path) -> int:
    """Write ``wav`` with what DAWs and editors write after the audio (Reaper, Audition, Sound Forge, Pro Tools) to
    ``target``: a ``cue `` chunk of two cue points, a sampler's ``smpl`` loop, a ``LIST``/``INFO`` of tags, a
    ``LIST``/``adtl`` labelling the cues (``labl``, ``note``, a region's ``ltxt``) and an ``iXML`` chunk, the RIFF
    size counting them. Returns the bytes added."""
    words = b"".join
    cue = _chunk(b"cue ", words(v.to_bytes(4, "little") for v in (2, 1, RATE // 4)) + b"data" + bytes(8)
                 + (RATE // 4).to_bytes(4, "little") + words(v.to_bytes(4, "little") for v in (2, RATE // 2))
                 + b"data" + bytes(8) + (RATE // 2).to_bytes(4, "little"))  # fmt: skip
    smpl = _chunk(b"smpl", words(v.to_bytes(4, "little") for v in (0, 0, 20833, 60, 0, 0, 0, 1, 0, 0, 0, 100, 4000, 0, 0)))
    info = _chunk(b"LIST", b"INFO" + _chunk(b"INAM", b"Lead vocal\0") + _chunk(b"ISFT", b"Reaper\0"))
    region = words(v.to_bytes(4, "little") for v in (2, RATE // 4, 0x72676E20)) + bytes(8) + b"Bridge\0"
    labels = _chunk(b"labl", (1).to_bytes(4, "little") + b"Chorus 1\0") + _chunk(b"note", (1).to_bytes(4, "little") + b"a note\0")
    adtl = _chunk(b"LIST", b"adtl" + labels + _chunk(b"ltxt", region))
    tail = cue + smpl + info + adtl + _chunk(b"iXML", b"<BWFXML><PROJECT>song</PROJECT></BWFXML>")
    data = bytearray(wav.read_bytes() + tail)
    data[4:8] = (len(data) - 8).to_bytes(4, "little")
    target.write_bytes(bytes(data))
    return len(tail)


def test_a_wav_cut_inside_its_markers_reads_whole_and_never_hangs(tmp_path: Path) -> None:
    """A WAV whose markers and tags (after the audio) were cut short, at each of their bytes: the audio is whole, and
    reads so, every sample as libsndfile reads it. pedalboard's reader (JUCE's) looped for ever on the cuts inside the
    LIST of labels (the file ending 12 or more bytes into it, before its first label ends): `soundstage process`, a
    batch or a render hung, at 100% of a core, without a word. The cuts are read in a child process with a time
    limit, so a hang fails the test."""
    source = tmp_path / "pcm24.wav"
    subprocess.run([tool("ffmpeg"), "-v", "error", "-f", "lavfi", "-i", f"sine=f=440:d=1:sample_rate={RATE}", "-ac", "2",
                    "-c:a", "pcm_s24le", str(source)], check=True)  # fmt: skip
    marked = tmp_path / "markers.wav"
    added = _with_markers(source, marked)
    assert soundfile.info(str(marked)).frames == RATE
    script = (
        "import sys; import numpy as np; import soundfile; from pathlib import Path\n"
        "from soundstage.fileio import open_audio\n"
        "whole, folder = Path(sys.argv[1]).read_bytes(), Path(sys.argv[2])\n"
        "expected = soundfile.read(sys.argv[1], dtype='float32', always_2d=True)[0].T\n"
        "for cut in range(1, int(sys.argv[3]) + 1):\n"
        "    path = folder / f'cut-{cut}.wav'\n"
        "    path.write_bytes(whole[:-cut])\n"
        "    with open_audio(path) as reader:\n"
        "        audio = reader.read(reader.frames)\n"
        "    assert np.array_equal(audio, expected), cut\n"
        "    print(cut, flush=True)\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script, str(marked), str(tmp_path), str(added)], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired as expired:
        read = (expired.stdout or b"").decode().split()
        pytest.fail(f"reading the WAV cut {int(read[-1]) + 1 if read else 1} bytes short of its end hung")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(cut) for cut in range(1, added + 1)]


def _refused_as_damaged(path: Path, said: str, why: str) -> float:
    """`soundstage process` of ``path``: refused in one line naming it, ``said`` (then the time in s) and ``why``,
    nothing written beside it; the time said."""
    output = path.parent / "out.wav"
    done = subprocess.run([sys.executable, "-m", "soundstage.cli", "process", str(path), str(output), "--chain", "mastering"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"input file {str(path)!r} {said}" in done.stderr and why in done.stderr, done.stderr
    assert not output.exists() and not list(path.parent.glob(".out.wav*"))
    return float(done.stderr.split(f" {said}")[1].split(" s ")[0])


@pytest.mark.parametrize(
    ("name", "codec"),
    [("wavpack.wv", "wavpack"), ("aac.m4a", "aac"), ("alac.m4a", "alac"), ("alac.caf", "alac"), ("ac3.ac3", "ac3")],
)
def test_a_file_damaged_inside_is_refused_as_damaged_at_its_time_not_as_cut_short(tmp_path: Path, name: str, codec: str) -> None:
    """A WavPack file, AAC in MP4, ALAC in MP4 or CAF, or a bare AC-3 stream (FFmpeg's), whole to its last byte but
    with one packet in the middle overwritten: FFmpeg plays it with an error and the packet skipped (the rest early,
    the file shorter), or stops there (WavPack); its ALAC decoder drops the packet without an error. soundstage said
    each was truncated (a disk that filled up?) and held some of its length, or (AC-3) that it could not be decoded,
    "Error number -16976906 occurred". It is refused in one line saying it is damaged, at the time of that packet,
    and nothing is written."""
    av = pytest.importorskip("av")
    source = tmp_path / "source.wav"
    subprocess.run([tool("ffmpeg"), "-v", "error", "-f", "lavfi", "-i", f"anoisesrc=d={SECONDS}:r={RATE}:a=0.3", "-ac", "2",
                    "-c:a", "pcm_s24le", str(source)], check=True)  # fmt: skip
    path = tmp_path / name
    subprocess.run([tool("ffmpeg"), "-v", "error", "-i", str(source), "-c:a", codec, str(path)], check=True)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        packets = [(p.pos, p.size, float(p.pts * p.time_base)) for p in container.demux(stream) if p.size]
    position, size, start_s = packets[len(packets) // 2]
    data = bytearray(path.read_bytes())
    data[position : position + size] = b"\xff" * size
    path.write_bytes(bytes(data))
    played = subprocess.run([tool("ffmpeg"), "-v", "error", "-i", str(path), "-f", "f32le", "-"], capture_output=True)
    assert played.stderr and len(played.stdout) // 8 < SECONDS * RATE  # FFmpeg: an error, the packet left out
    said_s = _refused_as_damaged(path, "is damaged at ", "not cut short")
    packet_s = (packets[1][2] - packets[0][2]) if len(packets) > 1 else 0.1
    assert start_s - 2 * packet_s <= said_s <= start_s + packet_s, (said_s, start_s)


@pytest.mark.parametrize("maker", ["ffmpeg 24-bit", "sox 16-bit"])
def test_a_flac_with_a_damaged_frame_is_refused_near_it_by_process_and_render(tmp_path: Path, maker: str) -> None:
    """A FLAC (FFmpeg's or SoX's) with 2000 bytes in its middle frame overwritten, whole to its last byte: pedalboard's
    decoder read it without a word, the damaged frame as silence and the first frame too, every later sample moved
    (measured: from 1.44 s on, 96 ms early, silence at the end; the file as long as ever). It is refused by `process`
    and by `render` (a stem) in one line saying it is damaged near where libsndfile loses sync (within 0.25 s of the
    damage), with nothing written; the file undamaged reads as before."""
    source = tmp_path / "source.wav"
    subprocess.run([tool("ffmpeg"), "-v", "error", "-f", "lavfi", "-i", f"anoisesrc=d={SECONDS}:r={RATE}:a=0.3", "-ac", "2",
                    "-c:a", "pcm_s24le", str(source)], check=True)  # fmt: skip
    path = tmp_path / "stem.flac"
    if maker.startswith("sox"):
        subprocess.run([tool("sox"), str(source), "-b", "16", str(path)], check=True)
    else:
        subprocess.run([tool("ffmpeg"), "-v", "error", "-i", str(source), "-c:a", "flac", str(path)], check=True)
    whole = path.read_bytes()
    with open_audio(path) as reader:
        undamaged = reader.read(reader.frames)
    audio_start = len(whole) - (len(whole) * 9) // 10  # past the metadata; the damage in the middle of the audio
    middle = audio_start + (len(whole) - audio_start) // 2
    damaged = bytearray(whole)
    damaged[middle : middle + 2000] = b"\xa5" * 2000
    path.write_bytes(bytes(damaged))
    damage_s = SECONDS * (middle - audio_start) / (len(whole) - audio_start)
    said_s = _refused_as_damaged(path, "is damaged near ", "MD5 signature")
    assert abs(said_s - damage_s) <= 0.25, (said_s, damage_s)
    (tmp_path / "session.toml").write_text(
        'format = 1\n[[stems]]\npath = "stem.flac"\n[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 24\n'
    )
    rendered = subprocess.run([sys.executable, "-m", "soundstage.cli", "render", str(tmp_path / "session.toml"), "-o",
                               str(tmp_path / "renders")], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert rendered.returncode != 0 and "stem.flac' is damaged near " in rendered.stderr, rendered.stderr
    assert not list((tmp_path / "renders").rglob("*.wav"))
    path.write_bytes(whole)
    with open_audio(path) as reader:
        assert np.array_equal(reader.read(reader.frames), undamaged)


def test_a_flac_whose_signature_its_encoder_wrote_wrong_is_processed_with_a_warning(tmp_path: Path) -> None:
    """A whole FLAC whose MD5 signature is not its audio's (an encoder that wrote it wrong: every frame decodes, in
    libsndfile as in pedalboard) is no damaged file: processed as read, the same bytes as the file with its signature
    right, with one warning line saying so."""
    source = tmp_path / "source.wav"
    subprocess.run([tool("ffmpeg"), "-v", "error", "-f", "lavfi", "-i", f"anoisesrc=d={SECONDS}:r={RATE}:a=0.3", "-ac", "2",
                    "-c:a", "pcm_s24le", str(source)], check=True)  # fmt: skip
    right, wrong = tmp_path / "right.flac", tmp_path / "wrong.flac"
    subprocess.run([tool("ffmpeg"), "-v", "error", "-i", str(source), "-c:a", "flac", str(right)], check=True)
    data = bytearray(right.read_bytes())
    assert data[8 + 18 : 8 + 34] != bytes(16)  # STREAMINFO's MD5, after "fLaC" and its block header
    data[8 + 18 : 8 + 34] = bytes(range(16))
    wrong.write_bytes(bytes(data))
    outputs = []
    for path in (right, wrong):
        output = tmp_path / f"{path.stem}-out.wav"
        done = subprocess.run([sys.executable, "-m", "soundstage.cli", "process", str(path), str(output), "--chain",
                               "mastering"], capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        outputs.append((output.read_bytes(), done.stderr))
    assert outputs[0][0] == outputs[1][0] and outputs[0][1] == ""
    assert (
        outputs[1][1].count("\n") == 1
        and "wrong.flac': its audio, as every decoder here reads it, does not match" in outputs[1][1]
    )


@pytest.fixture(scope="module")
def noise_flacs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three seconds of stereo noise (frames of many sizes, 0xFF bytes in their audio) as FLAC, by ffmpeg's encoder
    (24-bit, blocks of 4608) and by sox's libFLAC (16-bit, blocks of 4096), each the same on every run (seeded)."""
    folder = tmp_path_factory.mktemp("noise-flac")
    ffmpeg, sox = folder / "ffmpeg.flac", folder / "sox.flac"
    noise = ["-f", "lavfi", "-i", f"anoisesrc=d={SECONDS}:c=white:r={RATE}:a=0.5:seed=7", "-ac", "2"]
    subprocess.run([tool("ffmpeg"), "-v", "error", *noise, "-c:a", "flac", "-sample_fmt", "s32", str(ffmpeg)], check=True)
    subprocess.run(
        [tool("sox"), "-R", "-n", "-r", "44100", "-c", "2", "-b", "16", str(sox), "synth", str(SECONDS), "whitenoise"], check=True
    )
    return {"ffmpeg": ffmpeg, "sox": sox}


def _whole_frames_before(flac: Path, size: int) -> int:
    """The samples in the frames of ``flac`` that end within its first ``size`` bytes, as FFmpeg's demuxer (PyAV)
    finds its frames."""
    av = pytest.importorskip("av", reason="PyAV: pip install av (a test dependency)")
    with av.open(str(flac)) as container:
        packets = [p for p in container.demux(audio=0) if p.size]
    return sum(int(p.duration) for p in packets if p.pos is not None and p.pos + p.size <= size)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(maker=st.sampled_from(["ffmpeg", "sox"]), share=st.floats(0.02, 1.0))
def test_a_flac_cut_mid_frame_is_ended_at_its_last_whole_frame(
    noise_flacs: dict[str, Path], tmp_path: Path, maker: str, share: float
) -> None:
    """A FLAC cut at any byte of its audio (a drive that filled under a live take's encoder) is ended after its last
    whole frame: the frames FFmpeg's demuxer finds ending before the cut, told among the sync codes the noise holds
    by their checksums; its header then says that many samples, and they are the whole file's, sample for sample."""
    source = noise_flacs[maker]
    size = int(share * source.stat().st_size)
    cut = _cut(source, tmp_path, size)
    want = _whole_frames_before(source, size)
    kept = flac_end_at_whole_frames(cut)
    if want == 0:  # not one whole frame: nothing to keep
        assert kept is None
        return
    assert kept == want
    whole, _ = soundfile.read(source, dtype="int32")
    got, _ = soundfile.read(cut, dtype="int32")
    assert soundfile.info(str(cut)).frames == kept and np.array_equal(got, whole[:kept])


def test_a_flac_cut_in_the_first_bytes_of_a_frame_keeps_the_frame_before(noise_flacs: dict[str, Path], tmp_path: Path) -> None:
    """Cut 0-15 bytes into a frame, its header too short to check: the frame before it still ends there, whole (a
    first version of the cut looked for a frame's end only at headers that checked, and lost that frame)."""
    av = pytest.importorskip("av", reason="PyAV: pip install av (a test dependency)")
    source = noise_flacs["sox"]
    with av.open(str(source)) as container:
        starts = [int(p.pos) for p in container.demux(audio=0) if p.size][1:6]
    for start in starts:
        for into in (0, 1, 2, 3, 5, 15):
            cut = _cut(source, tmp_path, start + into)
            kept, want = flac_end_at_whole_frames(cut), _whole_frames_before(source, start + into)
            assert kept == want > 0, (start, into, kept, want)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=st.integers(1, 8), into=st.integers(4, 4000), maker=st.sampled_from(["ffmpeg", "sox"]))
def test_a_cut_frame_whose_bytes_hold_their_checksum_by_chance_is_not_kept(
    noise_flacs: dict[str, Path], tmp_path: Path, frame: int, into: int, maker: str
) -> None:
    """The first bytes of a cut frame hold their CRC-16 once in 65536 ends (a hunt over sox's FLACs cut near frame
    starts found one in about 39 000 cuts); such a cut, made here by giving the cut's last two bytes the CRC-16 of
    the bytes before, is no whole frame: the take ends at the frame before it, the frames FFmpeg finds whole there."""
    av = pytest.importorskip("av", reason="PyAV: pip install av (a test dependency)")
    source = noise_flacs[maker]
    with av.open(str(source)) as container:
        packets = [(int(p.pos), int(p.size)) for p in container.demux(audio=0) if p.size]
    start, length = packets[frame]
    into = min(into, length - 3)
    data = source.read_bytes()
    body = data[start : start + into]
    crc = 0  # FLAC's CRC-16 (polynomial 0x8005, from 0, unreflected), written out here as the format defines it
    for byte in body:
        crc ^= byte << 8
        for _ in range(8):
            crc = (crc << 1 ^ 0x8005 if crc & 0x8000 else crc << 1) & 0xFFFF
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[:start] + body + crc.to_bytes(2, "big"))
    kept, want = flac_end_at_whole_frames(cut), _whole_frames_before(source, start)
    assert kept == want > 0, (start, into, kept, want)
    whole, _ = soundfile.read(source, dtype="int32")
    got, _ = soundfile.read(cut, dtype="int32")
    assert np.array_equal(got, whole[:kept])
