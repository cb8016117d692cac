"""What a file is, by how it begins (soundstage.signatures), on files other programs wrote, and every place a file of
one kind is given where another is wanted: the one-line error names what was given. Before, an audio file after
--chain was "not a text file (byte 0xb1 at 5)", a MIDI file as the input "does not seem to contain audio data ...
convert it (e.g. ffmpeg -i take.mid ...)", and a WAV after --midi "MThd not found. Probably not a MIDI file"."""

from __future__ import annotations

import gzip
import re
import subprocess
import zipfile
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import tool
from soundstage.cli import main
from soundstage.signatures import CATEGORIES, HEAD_BYTES, file_kind, kind_of_file

SR = 48000

#: Audio as other programs write it: (tool, its arguments after the input/before the output, file name, kind).
MADE_BY_TOOLS = [
    ("sox", ["-b", "24"], "take.wav", "a WAV file"),
    ("sox", ["-b", "24"], "take.aiff", "an AIFF file"),
    ("sox", [], "take.flac", "a FLAC file"),
    ("sox", [], "take.w64", "a Wave64 file"),
    ("ffmpeg", ["-c:a", "pcm_s24le", "-rf64", "always"], "take-rf64.wav", "a WAV file (RF64)"),
    ("ffmpeg", ["-c:a", "libvorbis"], "take.ogg", "an Ogg file"),
    ("ffmpeg", ["-c:a", "libopus"], "take.opus", "an Ogg file"),
    ("ffmpeg", ["-c:a", "libmp3lame"], "take.mp3", "an MP3 file"),
    ("ffmpeg", ["-c:a", "libmp3lame", "-id3v2_version", "0", "-write_xing", "0"], "bare.mp3", "an MP3 file"),
    ("ffmpeg", ["-c:a", "aac", "-f", "adts"], "take.aac", "an AAC file"),
    ("ffmpeg", ["-c:a", "aac"], "take.m4a", "an MP4 or M4A file"),
    ("ffmpeg", ["-c:a", "pcm_s24le"], "take.mkv", "a Matroska or WebM file"),
    ("ffmpeg", ["-c:a", "pcm_s24be"], "take.caf", "a CAF file"),
]


@pytest.mark.parametrize(("program", "arguments", "name", "kind"), MADE_BY_TOOLS, ids=[row[2] for row in MADE_BY_TOOLS])
def test_audio_written_by_other_programs_is_known_as_audio(
    tmp_path: Path, program: str, arguments: list[str], name: str, kind: str
) -> None:
    source = tmp_path / "source.wav"
    soundfile.write(source, 0.1 * np.random.default_rng(0).standard_normal((SR // 2, 2)), SR, subtype="FLOAT")
    out = tmp_path / name
    if program == "sox":
        command = [tool("sox"), str(source), *arguments, str(out)]
    else:
        command = [tool("ffmpeg"), "-loglevel", "error", "-i", str(source), *arguments, str(out)]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    found = kind_of_file(out)
    assert found is not None and (found.name, found.audio) == (kind, True)


def _midi(path: Path) -> Path:
    song = mido.MidiFile()
    song.tracks.append(mido.MidiTrack([mido.Message("control_change", control=74, value=64)]))
    song.save(path)
    return path


def _zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("stems/vocal.wav", b"RIFF")
    return path


def _gzip(path: Path) -> Path:
    path.write_bytes(gzip.compress(b"[[stages]]\n"))
    return path


def _mat(path: Path) -> Path:
    import scipy.io

    scipy.io.savemat(path, {"hrir": np.zeros((2, 2, 8))})  # a set saved from MATLAB (or scipy) instead of as SOFA
    return path


def _png(path: Path) -> Path:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure()
    figure.savefig(path)
    plt.close(figure)
    return path


@pytest.mark.parametrize(
    ("make", "name", "kind"),
    [
        (_midi, "automation.mid", "a MIDI file"),
        (_zip, "stems.zip", "a zip archive"),
        (_gzip, "chain.toml.gz", "a gzip archive"),
        (_png, "plot.png", "a PNG image"),
        (_mat, "kemar.mat", "a MATLAB file"),
    ],
)
def test_files_that_are_no_audio_are_known_so(tmp_path: Path, make: object, name: str, kind: str) -> None:
    found = kind_of_file(make(tmp_path / name))  # type: ignore[operator]
    assert found is not None and (found.name, found.audio) == (kind, False)


@pytest.mark.parametrize(
    ("form", "kind"),
    [
        ("NETCDF4", "an HDF5 file (a SOFA set?)"),  # SOFA's own container
        ("NETCDF4_CLASSIC", "an HDF5 file (a SOFA set?)"),
        ("NETCDF3_CLASSIC", "a netCDF file"),
        ("NETCDF3_64BIT_OFFSET", "a netCDF file"),
        ("NETCDF3_64BIT_DATA", "a netCDF file"),  # CDF-5
    ],
)
def test_every_container_the_netcdf_library_writes_is_known_as_a_head(tmp_path: Path, form: str, kind: str) -> None:
    netCDF4 = pytest.importorskip("netCDF4")
    path = tmp_path / "head.nc"
    with netCDF4.Dataset(path, "w", format=form) as data:
        data.createDimension("M", 2)
        data.createVariable("Data.Delay", "f8", ("M",))[:] = [0.0, 1.0]
    found = kind_of_file(path)
    assert found is not None and (found.name, found.category) == (kind, "head")


@pytest.mark.parametrize(
    ("head", "kind", "category"),
    [
        (b"MAC \x96\x0f4\x00\x00\x00", "a Monkey's Audio file", "other audio"),  # 3.99: "MAC ", version 3990, size 52
        (b"DSD \x1c\x00\x00\x00\x00\x00\x00\x00", "a DSD stream file (DSF)", "audio"),  # its DSD chunk: 28 bytes
        (b"FRM8\x00\x00\x00\x00\x00\x00\x10\x00DSD FVER", "a DSDIFF file", "audio"),
        (b"tBaK\x00\x00\x00\x24", "a TAK file", "other audio"),
        (b"MPCKSH\x10\x08\x00\x00", "a Musepack file", "audio"),
        (b"MP+\x17\x00\x00", "a Musepack file (stream version 7)", "other audio"),
        (b"ajkg\x02\x05", "a Shorten file", "other audio"),
    ],
)
def test_audio_of_formats_in_four_letters_is_known_as_audio(head: bytes, kind: str, category: str) -> None:
    """A catalog's Monkey's Audio, DSD, TAK, Musepack or Shorten file is audio: named as such (it was "not audio"),
    as audio it reads (DSD, Musepack 8: FFmpeg's decoders) or as audio of a format it does not read, so that it is
    converted, not thrown away; the same four letters in text are not."""
    found = file_kind(head)
    assert found is not None and (found.name, found.category, found.audio) == (kind, category, category == "audio")
    letters = head[: next(i for i, b in enumerate(head) if not 0x20 <= b < 0x7F)]  # "MAC ", "MP+", "MPCKSH"
    assert file_kind(letters + b"address = 1\n") is None


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\t\r\n"), max_size=40))
def test_no_text_but_rtf_is_taken_for_another_kind_of_file(text: str) -> None:
    """A chain file, map, session or head track is text: whatever it begins with (a key "MZ", "ID3" or "OggS"), none
    is named a program or an audio file; RTF, which is text, is named so that it is saved as plain text."""
    found = file_kind(text.encode("utf-8")[:HEAD_BYTES])
    assert found is None or (text.startswith("{\\rtf") and found.name.startswith("an RTF document"))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=HEAD_BYTES))
def test_any_bytes_are_some_kind_or_none(head: bytes) -> None:
    found = file_kind(head)
    assert found is None or (found.name.startswith(("a ", "an ")) and found.category in CATEGORIES)


def _case(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_each_kind_of_file_given_in_the_wrong_place_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    take = tmp_path / "take.wav"
    soundfile.write(take, 0.1 * np.random.default_rng(1).standard_normal((SR // 2, 2)), SR, subtype="FLOAT")
    midi = _midi(tmp_path / "automation.mid")
    (tmp_path / "map.toml").write_text('format = 1\n[[bindings]]\ntarget = "device.width"\nkind = "cc"\nnumber = 74\n')
    (tmp_path / "chain.rtf.toml").write_text("{\\rtf1\\ansi\\deff0 [[stages]]}")
    out = str(tmp_path / "out.wav")
    cases = {
        # the audio after --chain (the arguments swapped), a MIDI file for a chain, a chain saved as RTF
        ("process", str(midi), out, "--chain", str(take)): r"chain file '.*take\.wav' is a WAV file, not TOML text; give",
        ("process", str(take), out, "--chain", str(midi)): r"chain file '.*automation\.mid' is a MIDI file, not TOML text",
        ("process", str(take), out, "--chain", str(tmp_path / "chain.rtf.toml")): r"is an RTF document \(save it as plain text\)",
        # the MIDI file as the input; an archive of stems as the input
        ("process", str(midi), out, "--chain", "mastering"): (
            r"input file '.*automation\.mid' is a MIDI file, not audio \(a MIDI file of automation goes after --midi\)"
        ),
        ("process", str(_zip(tmp_path / "stems.zip")), out, "--chain", "mastering"): (
            r"input file '.*stems\.zip' is a zip archive, not audio \(unpack the audio from it\); give the audio file$"
        ),
        ("process", str(_gzip(tmp_path / "stems.tar.gz")), out, "--chain", "mastering"): (
            r"input file '.*stems\.tar\.gz' is a gzip archive, not audio \(unpack the audio from it\); give the audio file$"
        ),
        # audio after --midi, --map and --head-track; audio for a session and a device profile
        ("process", str(take), out, "--chain", "studio-5", "--midi", str(take), "--map", str(tmp_path / "map.toml")): (
            r"MIDI file '.*take\.wav' is a WAV file, not a Standard MIDI File; give the \.mid file the DAW exported"
        ),
        ("process", str(take), out, "--chain", "studio-5", "--midi", str(midi), "--map", str(take)): (
            r"MIDI map '.*take\.wav' is a WAV file, not TOML text"
        ),
        ("process", str(take), out, "--chain", "studio-5", "--head-track", str(take)): (
            r"take\.wav: a WAV file, not a head track; a head track is a CSV"
        ),
        ("render", str(take)): r"session file '.*take\.wav' is a WAV file, not TOML text",
        ("analyze", "device", "--device", str(take)): r"device profile file '.*take\.wav' is a WAV file, not TOML text",
    }
    for argv, message in cases.items():
        err = _case(list(argv), capsys)
        assert re.search(message, err), (argv, err)
    assert not (tmp_path / "out.wav").exists()
