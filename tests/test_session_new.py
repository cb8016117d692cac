"""``soundstage session new``: a session file for a folder of stems other programs exported."""

from __future__ import annotations

import hashlib
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile
import wavinfo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import tool
from soundstage.cli import main
from soundstage.containers import flac_comments
from soundstage.session.model import load_session
from soundstage.session.new import new_session
from soundstage.session.stems import inspect_stems

SR = 48000


def click_wav(path: Path, at_s: float, seconds: float = 1.0, channels: int = 1, rate: int = SR, subtype: str = "PCM_24") -> Path:
    audio = np.zeros((int(seconds * rate), channels), np.float32)
    audio[int(round(at_s * rate))] = 0.5
    soundfile.write(str(path), audio, rate, subtype=subtype)
    return path


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


def test_a_folder_other_programs_exported_renders_with_each_stem_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stems by ffmpeg (BWF-stamped WAVs, an MP3), sox (44.1 kHz) and soundfile (FLAC), one in a subfolder with the
    name of another, macOS's ._ file, a text file and an earlier render: every audio file is a stem, placed by its
    BWF stamp, the session rate is the most common one, and the mixdown puts the stamped stem's click on its sample."""
    ffmpeg, sox = tool("ffmpeg"), tool("sox")
    stems = tmp_path / "export"
    (stems / "drums").mkdir(parents=True)
    click_wav(tmp_path / "click.wav", 0.5, 2.0, channels=2)
    # drums/kick.wav: stamped 01:00:02 (2 s after the vocal's 01:00:00), its click 0.5 s in: 2.5 s into the mix
    run(ffmpeg, "-v", "error", "-i", str(tmp_path / "click.wav"), "-c:a", "pcm_f32le", "-write_bext", "1",
        "-metadata", f"time_reference={SR * 3602}", str(stems / "drums" / "kick.wav"))  # fmt: skip
    run(ffmpeg, "-v", "error", "-f", "lavfi", "-i", f"sine=f=440:d=2:sample_rate={SR}", "-c:a", "pcm_s24le",
        "-write_bext", "1", "-metadata", f"time_reference={SR * 3600}", str(stems / "vocal.wav"))  # fmt: skip
    run(sox, "-n", "-r", "44100", "-c", "1", "-b", "24", str(stems / "bass.wav"), "synth", "3", "sine", "55", "vol", "0.1")
    run(
        ffmpeg,
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "sine=f=330:d=1:sample_rate=44100",
        "-c:a",
        "libmp3lame",
        str(stems / "gtr.mp3"),
    )
    soundfile.write(str(stems / "kick.flac"), np.zeros((SR, 2), np.float32), SR, subtype="PCM_16")
    (stems / "._kick.flac").write_bytes(b"\x00\x05\x16\x07Mac OS X        ")  # AppleDouble: metadata, no audio
    (stems / "notes.txt").write_text("mix notes\n")
    (stems / "renders").mkdir()
    click_wav(stems / "renders" / "mixdown.wav", 0.1)  # an earlier render of this session: never a stem
    before = {p: p.read_bytes() for p in stems.rglob("*") if p.is_file()}

    assert main(["session", "new", str(stems)]) == 0
    out = capsys.readouterr().out
    assert "5 stem(s) at 48000 Hz, 2 placed by their time reference, 3 from the start" in out
    assert "left out 1 hidden file(s) (._kick.flac)" in out
    assert {p: p.read_bytes() for p in before} == before  # nothing the user made is touched
    session = load_session(stems)
    assert [stem.name for stem in session.stems] == ["bass", "drums-kick", "gtr", "kick", "vocal"]
    assert session.sample_rate == SR and [r.name for r in session.renders] == [
        "mixdown",
        "studio-5",
        "binaural",
        "reference",
        "ab",
    ]
    rate, placed = inspect_stems(session)
    starts = {info.stem.name: info.start for info in placed}
    assert starts == {"bass": 0, "drums-kick": 2 * SR, "gtr": 0, "kick": 0, "vocal": 0}

    assert main(["render", str(stems), "--only", "mixdown", "-o", str(tmp_path / "out")]) == 0
    mix, mix_rate = soundfile.read(str(tmp_path / "out" / "mixdown.wav"), always_2d=True)
    assert mix_rate == SR and len(mix) == 4 * SR  # the stamped drums end last: 2 s + 2 s
    assert int(np.argmax(np.abs(mix[:, 0]))) == int(2.5 * SR)


def test_files_it_does_not_take_as_stems_are_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A stem in a format it does not list (Monkey's Audio, TAK) was left out of the session in silence: a mix without
    it. What it leaves out is said (notes and artwork too), but not the hidden files, its own outputs, nor the
    session file written again."""
    stems = tmp_path / "export"
    (stems / "renders").mkdir(parents=True)
    soundfile.write(stems / "vox.wav", np.zeros((SR // 10, 2)), SR, subtype="PCM_24")
    for name in ("bass.ape", "notes.txt", "Cover.PNG", "renders/render-report.json", "._vox.wav"):
        (stems / name).write_bytes(b"x")
    assert main(["session", "new", str(stems)]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "of no audio format" in line]
    assert said == [
        "left out 3 file(s) of no audio format it takes as a stem (bass.ape, Cover.PNG, notes.txt); one that is audio: "
        "convert it to WAV or FLAC, or give it as a stem's path in the session file (FFmpeg may read it)"
    ]
    assert main(["session", "new", str(stems), "--overwrite"]) == 0
    assert "(bass.ape, Cover.PNG, notes.txt)" in capsys.readouterr().out  # not its own session.toml


def test_audio_among_the_files_it_does_not_take_is_named_with_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Among the files left out, those that are audio by how they begin are named: a WAV sox wrote without a suffix
    and a backup copy (``mix.wav.bak``), which it reads once named for their format, and a Monkey's Audio file, which
    it does not read and which ffmpeg converts; notes are only listed. ``process`` of the Monkey's Audio file, named
    .ape or .wav, says the same (was: "is a Monkey's Audio file, not audio")."""
    stems = tmp_path / "export"
    stems.mkdir()
    run(tool("sox"), "-n", "-r", str(SR), "-c", "2", "-b", "24", "-t", "wav", str(stems / "take"), "synth", "0.1", "sine", "440")
    shutil.copy(stems / "take", stems / "vox.wav")
    shutil.copy(stems / "take", stems / "mix.wav.bak")
    ape = b"MAC \x96\x0f4\x00" + bytes(64)  # Monkey's Audio 3.99's descriptor: "MAC ", its version, its size
    (stems / "bass.ape").write_bytes(ape)
    (stems / "notes.txt").write_text("mix notes")
    assert main(["session", "new", str(stems)]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "of no audio format" in line]
    assert said == [
        "left out 4 file(s) of no audio format it takes as a stem (bass.ape, mix.wav.bak, notes.txt, take); audio it "
        "reads under another name: mix.wav.bak (a WAV file), take (a WAV file); name it for its format (.wav, .flac "
        "...); audio of a format it does not read: bass.ape (a Monkey's Audio file); convert it to WAV or FLAC (e.g. "
        "ffmpeg -i IN -c:a pcm_s24le OUT.wav)"
    ]
    (tmp_path / "bass.wav").write_bytes(ape)
    for name in ("bass.ape", "bass.wav"):
        source = stems / name if name.endswith(".ape") else tmp_path / name
        assert main(["process", str(source), str(tmp_path / "out.wav"), "--chain", "mastering"]) == 2
        assert capsys.readouterr().err == (
            f"soundstage: error: input file {str(source)!r} is a Monkey's Audio file, a format soundstage does not read; "
            f"convert it to WAV or FLAC (e.g. ffmpeg -i {name} -c:a pcm_s24le bass-pcm.wav) and give that\n"
        )


def test_a_render_written_among_the_stems_is_not_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A render written into a folder among the stems (``-o export/mixes``) or into the stems' folder itself leaves its
    audition page there: ``session new`` run again named it as a file of no audio format (it knew ``renders/`` only).
    What a render wrote is soundstage's, said as such; the notes beside the stems are still said."""
    stems = tmp_path / "export"
    stems.mkdir()
    soundfile.write(stems / "vox.wav", np.zeros((SR // 10, 2)), SR, subtype="PCM_24")
    (stems / "notes.txt").write_text("mix notes")
    assert main(["session", "new", str(stems)]) == 0
    for folder in (stems / "mixes", stems):
        assert main(["render", str(stems), "--only", "mixdown", "-o", str(folder)]) == 0
        assert (folder / "index.html").is_file()
        capsys.readouterr()
        assert main(["session", "new", str(stems), "--overwrite"]) == 0
        said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("left out")]
        assert said[0].startswith("left out 1 file(s) of no audio format it takes as a stem (notes.txt); "), said
        assert len(said) == 2 and "renders and batch outputs, not stems" in said[1], said
        assert [stem.name for stem in load_session(stems).stems] == ["vox"]


def test_wavs_named_wave_and_rf64_are_stems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Broadcast Wave named ``.wave`` and an RF64 named ``.rf64`` (as recorders and ffmpeg name them) are read, but a
    folder's scan left them out: "holds no audio files". They are stems now, the ``.wave`` placed by its stamp."""
    ffmpeg = tool("ffmpeg")
    stems = tmp_path / "export"
    stems.mkdir()
    run(ffmpeg, "-v", "error", "-f", "lavfi", "-i", f"sine=f=440:d=2:sample_rate={SR}", "-c:a", "pcm_s24le",
        "-write_bext", "1", "-metadata", f"time_reference={SR * 3601}", "-f", "wav", str(stems / "vox.wave"))  # fmt: skip
    run(ffmpeg, "-v", "error", "-f", "lavfi", "-i", f"sine=f=220:d=3:sample_rate={SR}", "-c:a", "pcm_s24le",
        "-rf64", "always", "-write_bext", "1", "-metadata", f"time_reference={SR * 3600}", "-f", "wav",
        str(stems / "room.rf64"))  # fmt: skip
    assert main(["session", "new", str(stems)]) == 0
    assert "2 stem(s) at 48000 Hz, 2 placed by their time reference" in capsys.readouterr().out
    _, placed = inspect_stems(load_session(stems))
    assert {info.stem.name: info.start for info in placed} == {"room": 0, "vox": SR}


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", r"'.*nowhere' does not exist; give the folder the stems were exported into"),
        ("a file", r"is a file, not a folder"),
        ("no audio", r"holds no audio files \(\.wav, .*\); export the stems there"),
        ("exists", r"session\.toml' already exists; pass --overwrite to replace it, or -o another file"),
        ("text as audio", r"stem 'b\.wav': input file .* is a text file, not audio .*\(or move it out of the folder\)"),
        ("empty stem", r"stem 'b\.wav': input file .* is empty \(0 bytes.*\(or move it out of the folder\)"),
        ("a day apart", r"stem 'b'.*more than the 86400 s a session spans; give the stem offset_s.*; nothing was written"),
        ("not toml", r"'.*session\.txt' is no \.toml file"),
        ("under a file", r"the folder of '.*a\.wav/session\.toml' is a file, not a folder$"),  # before: "does not exist"
    ],
)
def test_what_it_refuses_in_one_line_writing_nothing(
    case: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    stems = tmp_path / "stems"
    stems.mkdir()
    click_wav(stems / "a.wav", 0.1)
    folder, extra = str(stems), []
    if case == "missing":
        folder = str(tmp_path / "nowhere")
    elif case == "a file":
        folder = str(stems / "a.wav")
    elif case == "no audio":
        (stems / "a.wav").unlink()
        (stems / "readme.txt").write_text("stems follow\n")
    elif case == "exists":
        (stems / "session.toml").write_text("# mine\n")
    elif case == "text as audio":
        (stems / "b.wav").write_text("<html>404 Not Found</html>\n")
    elif case == "empty stem":
        (stems / "b.wav").write_bytes(b"")
    elif case == "a day apart":
        from soundstage.session.bwf import write_stem

        write_stem(stems / "a.wav", np.zeros((1, SR)), SR, time_reference=0)
        write_stem(stems / "b.wav", np.zeros((1, SR)), SR, time_reference=SR * 90_000)
    elif case == "not toml":
        extra = ["-o", str(stems / "session.txt")]
    elif case == "under a file":
        extra = ["-o", str(stems / "a.wav" / "session.toml")]
    before = digest(tmp_path)
    assert main(["session", "new", folder, *extra]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert digest(tmp_path) == before  # no session written, nothing changed, no temporary left


def test_a_truncated_stem_is_listed_marked_and_renders_only_when_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stems = tmp_path / "stems"
    stems.mkdir()
    click_wav(stems / "a.wav", 0.1)
    data = click_wav(stems / "cut.wav", 0.1, seconds=2.0).read_bytes()
    (stems / "cut.wav").write_bytes(data[: len(data) // 2])  # a copy that stopped half way
    assert main(["session", "new", str(stems)]) == 0
    assert "stem cut.wav is TRUNCATED" in capsys.readouterr().out
    text = (stems / "session.toml").read_text()
    assert "TRUNCATED: 1.000 s missing at its end (render with --allow-truncated, or export it again)" in text
    assert main(["render", str(stems), "--only", "mixdown"]) == 2
    assert "--allow-truncated" in capsys.readouterr().err
    assert main(["render", str(stems), "--only", "mixdown", "--allow-truncated"]) == 0


def test_the_session_file_can_live_elsewhere(tmp_path: Path) -> None:
    """``-o``: paths are written relative to the session file, so it loads from where it is."""
    stems = tmp_path / "delivery" / "stems"
    stems.mkdir(parents=True)
    click_wav(stems / "a.wav", 0.1)
    (tmp_path / "sessions").mkdir()
    made = new_session(stems, output=tmp_path / "sessions" / "album.toml")
    assert 'path = "../delivery/stems/a.wav"' in made.file.read_text()
    assert load_session(made.file).resolve(str(made.session.stems[0].path)).resolve() == (stems / "a.wav").resolve()
    # -o a folder (as render and batch take -o): its session.toml; this was refused as "no .toml file"
    made = new_session(stems, output=tmp_path / "sessions")
    assert made.file == tmp_path / "sessions" / "session.toml"
    assert load_session(made.file).resolve(str(made.session.stems[0].path)).resolve() == (stems / "a.wav").resolve()


def test_the_commands_it_prints_run_as_pasted_into_a_shell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A DAW names the folder after the song ("Bob's Song - stems (v2)"). The check and render commands printed at the
    end were written with the path bare, so a pasted one split at the spaces and the quote. Each is now split as a
    POSIX shell splits it and run: both work."""
    stems = tmp_path / "Bob's Song \u2013 stems (v2)"
    stems.mkdir()
    click_wav(stems / "vox.wav", 0.1)
    assert main(["session", "new", str(stems)]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    check, render = line.removeprefix("check it: ").split("; render it: ")
    assert shlex.split(check)[:3] == ["soundstage", "session", "check"]
    assert shlex.split(render)[:2] == ["soundstage", "render"]
    assert main([*shlex.split(check)[1:]]) == 0
    assert main([*shlex.split(render)[1:], "--only", "mixdown"]) == 0
    assert soundfile.info(str(stems / "renders" / "mixdown.wav")).frames > 0


#: File names as people and other programs make them: quotes, TOML's specials, accents, CJK, a leading ~ or #,
#: newlines and backslashes (legal in POSIX names; a backslash also reads as a Windows separator).
NAME = st.text(alphabet=st.sampled_from(list("ab Z09-_.'\"#=[]{}~\\\té中\n")), min_size=1, max_size=12).filter(
    lambda name: name.strip(".") != "" and "/" not in name and not name.startswith(".")
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(NAME, min_size=1, max_size=4, unique_by=lambda n: n.lower()))
def test_any_file_names_load_back_as_the_same_files(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        stems = Path(folder)
        files = [click_wav(stems / f"{name}.wav", 0.01, seconds=0.05) for name in names]
        made = new_session(stems)
        session = load_session(made.file)
        resolved = sorted(str(session.resolve(str(stem.path)).resolve()) for stem in session.stems)
        assert resolved == sorted(str(file.resolve()) for file in files)
        assert len({stem.name for stem in session.stems}) == len(files)


def test_a_linked_stem_is_written_as_the_link(tmp_path: Path) -> None:
    """A stem that is a symbolic link (to a shared sample library) keeps the link's path, as the user made it."""
    (tmp_path / "library").mkdir()
    click_wav(tmp_path / "library" / "take-7.wav", 0.1)
    stems = tmp_path / "stems"
    stems.mkdir()
    (stems / "vocal.wav").symlink_to(tmp_path / "library" / "take-7.wav")
    made = new_session(stems)
    assert [str(stem.path) for stem in made.session.stems] == ["vocal.wav"]
    assert [stem.name for stem in made.session.stems] == ["vocal"]


def test_a_stem_of_more_than_two_channels_is_listed_and_marked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 4-channel stem (no bed a fold-down knows) among the stems: listed (nothing the user exported is dropped), its
    comment and the command's note saying what it needs; the render then refuses it in one line as before."""
    stems = tmp_path / "stems"
    stems.mkdir()
    click_wav(stems / "quad.wav", 0.1, channels=4)
    click_wav(stems / "music.wav", 0.1, channels=2)
    assert main(["session", "new", str(stems)]) == 0
    assert "stem quad.wav has more than 2 channels: a stem enters the mix as mono or stereo" in capsys.readouterr().out
    assert [stem.name for stem in load_session(stems).stems] == ["music", "quad"]
    assert "4 ch int24, 1.00 s, no time reference (BWF, FLAC or Ogg)" in (stems / "session.toml").read_text()
    assert main(["render", str(stems), "--only", "mixdown"]) == 2
    assert "stem 'quad' comes out with 4 channels" in capsys.readouterr().err


def test_a_surround_bed_is_folded_down_by_its_preset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """5.1 and 7.1 beds (WAV with the 5.1 / 7.1 channel mask as soundfile writes it, FLAC by ffmpeg) get the fold-down
    preset as their chain; a 6-channel WAV whose mask says another layout (ffmpeg's 6.0) does not. In the mixdown
    the 5.1 bed's center click is -3.01 dB in both channels and its left surround's -3.01 dB on the left only."""
    ffmpeg = tool("ffmpeg")
    stems = tmp_path / "stems"
    stems.mkdir()
    bed = np.zeros((SR, 6), np.float32)
    bed[int(0.1 * SR), 2] = 0.5  # C
    bed[int(0.2 * SR), 4] = 0.5  # Ls
    bed[int(0.3 * SR), 3] = 0.5  # LFE: left out of the fold-down
    soundfile.write(str(stems / "bed.wav"), bed, SR, format="WAVEX", subtype="PCM_24")
    soundfile.write(str(stems / "atmos.wav"), np.zeros((SR // 10, 8), np.float32), SR, format="WAVEX", subtype="PCM_24")
    noise = ["-f", "lavfi", "-i", "anoisesrc=d=0.05:r=48000:a=0.01"]  # over before the bed's clicks
    run(ffmpeg, "-v", "error", *noise, "-af", "pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0", str(stems / "film.flac"))
    run(ffmpeg, "-v", "error", *noise, "-af", "pan=6.0|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0", str(stems / "hexagon.wav"))
    assert main(["session", "new", str(stems)]) == 0
    out = capsys.readouterr().out
    assert "stem hexagon.wav has more than 2 channels" in out and "bed.wav" not in out and "film.flac" not in out
    chains = {stem.name: stem.chain for stem in load_session(stems).stems}
    assert chains == {"atmos": "downmix-7.1", "bed": "downmix-5.1", "film": "downmix-5.1", "hexagon": None}
    assert "folded down to stereo by downmix-5.1 (its channels taken as L R C LFE Ls Rs)" in (stems / "session.toml").read_text()
    (stems / "hexagon.wav").unlink()
    assert main(["session", "new", str(stems), "--overwrite"]) == 0
    assert main(["render", str(stems), "--only", "mixdown", "-o", str(tmp_path / "out")]) == 0
    mix = soundfile.read(str(tmp_path / "out" / "mixdown.wav"), always_2d=True)[0]
    level = lambda x: 20 * np.log10(abs(x) / 0.5)  # noqa: E731
    center, surround, lfe = mix[int(0.1 * SR)], mix[int(0.2 * SR)], mix[int(0.3 * SR)]
    assert level(center[0]) == pytest.approx(-3.01, abs=0.01) and level(center[1]) == pytest.approx(-3.01, abs=0.01)
    assert level(surround[0]) == pytest.approx(-3.01, abs=0.01) and abs(surround[1]) < 1e-4
    assert np.abs(lfe).max() < 1e-4


def test_six_channels_in_another_format_are_not_taken_for_a_wav_bed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An AIFF's 6 channels are another layout by its format (left, left center, center, right, right center,
    surround), Vorbis orders 5.1 L C R Ls Rs LFE, and an ADM file's channels are what its chna chunk says: none is
    folded as a WAV bed; each is marked."""
    ffmpeg = tool("ffmpeg")
    stems = tmp_path / "stems"
    stems.mkdir()
    soundfile.write(str(stems / "six.aiff"), np.zeros((SR // 10, 6), np.float32), SR, subtype="PCM_24")
    noise = ["-f", "lavfi", "-i", "anoisesrc=d=0.1:r=48000:a=0.01", "-af", "pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0"]
    run(ffmpeg, "-v", "error", *noise, "-c:a", "libvorbis", str(stems / "web.ogg"))
    # ADM (ITU-R BS.2076): six channels that its chna chunk describes (objects here), in a WAV and in a BW64
    soundfile.write(str(stems / "adm.wav"), np.zeros((SR // 10, 6), np.float32), SR, subtype="PCM_24")
    data = (stems / "adm.wav").read_bytes()
    chna = b"chna" + (4 + 40).to_bytes(4, "little") + (6).to_bytes(2, "little") + (6).to_bytes(2, "little") + bytes(40)
    (stems / "adm.wav").write_bytes(b"RIFF" + (len(data) - 8 + len(chna)).to_bytes(4, "little") + data[8:] + chna)
    run(ffmpeg, "-v", "error", *noise, "-c:a", "pcm_s24le", "-rf64", "always", str(tmp_path / "rf64.wav"))
    (stems / "atmos.wav").write_bytes(b"BW64" + (tmp_path / "rf64.wav").read_bytes()[4:])
    # EBU Tech 3306 ADM in an RF64, chna after the audio: the data chunk's 32-bit size is 0xFFFFFFFF, ds64 has it
    (stems / "ebu.wav").write_bytes((tmp_path / "rf64.wav").read_bytes() + chna)
    assert main(["session", "new", str(stems)]) == 0
    out = capsys.readouterr().out
    assert "stem six.aiff has more than 2 channels" in out and "stem web.ogg has more than 2 channels" in out
    assert "stem adm.wav has more than 2 channels" in out and "stem atmos.wav has more than 2 channels" in out
    assert "stem ebu.wav has more than 2 channels" in out
    chains = {stem.name: stem.chain for stem in load_session(stems).stems}
    assert chains == {"six": None, "web": None, "adm": None, "atmos": None, "ebu": None}


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_reading_awav_channel_mask_takes_any_bytes(data: bytes) -> None:
    from soundstage.session.new import wav_channel_mask

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.wav"
        for content in (data, b"RIFF\x00\x00\x00\x00WAVE" + data):
            path.write_bytes(content)
            mask = wav_channel_mask(path)
            assert mask is None or 0 <= mask < 2**32


def test_renders_and_batch_outputs_in_the_folder_are_not_taken_for_stems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A render written with -o into the stems' folder, and a batch's outputs there, became stems of the next
    `session new` (before: each of their files was a stem, a 5-driver feed among them). They are left out and said;
    a folder of outputs given itself is taken, as the user asked."""
    from soundstage.batch.manifest import MANIFEST_NAME
    from soundstage.session.new import OUTPUT_MARKERS

    assert MANIFEST_NAME in OUTPUT_MARKERS
    noise = np.random.default_rng(5).standard_normal((SR, 2)) * 0.05
    soundfile.write(str(tmp_path / "drums.wav"), noise, SR, subtype="PCM_24")
    soundfile.write(str(tmp_path / "bass.wav"), noise, SR, subtype="PCM_24")
    assert main(["session", "new", str(tmp_path)]) == 0
    assert main(["render", str(tmp_path / "session.toml"), "-o", str(tmp_path / "mix-v1"), "--only", "mixdown"]) == 0
    assert main(["batch", str(tmp_path), "--chain", "mastering", "-o", str(tmp_path / "mastered"), "--workers", "1"]) == 0
    (tmp_path / "session.toml").unlink()
    capsys.readouterr()
    assert main(["session", "new", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert [stem.name for stem in load_session(tmp_path).stems] == ["bass", "drums"]
    assert "left out what soundstage wrote (mastered/, mix-v1/): renders and batch outputs, not stems" in out
    assert main(["session", "new", str(tmp_path / "mastered")]) == 0
    assert [stem.name for stem in load_session(tmp_path / "mastered").stems] == ["bass", "drums"]
    # a render written into the stems' own folder: the files its report names are left out, the stems stay
    assert main(["render", str(tmp_path / "session.toml"), "-o", str(tmp_path), "--only", "mixdown"]) == 0
    assert (tmp_path / "mixdown.wav").is_file()
    (tmp_path / "session.toml").unlink()
    capsys.readouterr()
    assert main(["session", "new", str(tmp_path)]) == 0
    assert [stem.name for stem in load_session(tmp_path).stems] == ["bass", "drums"]
    assert "left out what soundstage wrote (mastered/, mix-v1/, mixdown.wav)" in capsys.readouterr().out


def test_a_split_stereo_pair_is_panned_back_to_stereo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """DAWs export a stereo track as two mono files ("multiple mono": Pro Tools' Piano.L.wav and Piano.R.wav). Both
    entered the mix in the middle, and the piano came out mono. session new now pans the halves hard left and right,
    and the mixdown gives back the stereo file. A half without its partner, halves
    that differ in length, and a stereo file named .L are left as they are."""
    stems = tmp_path / "stems"
    stems.mkdir()
    sox = tool("sox")
    rng = np.random.default_rng(7)
    soundfile.write(tmp_path / "piano.wav", rng.uniform(-0.5, 0.5, (2 * SR, 2)), SR, subtype="PCM_24")
    stereo, _ = soundfile.read(tmp_path / "piano.wav")
    run(sox, "-D", str(tmp_path / "piano.wav"), str(stems / "Piano.L.wav"), "remix", "1")  # as another program splits it
    run(sox, "-D", str(tmp_path / "piano.wav"), str(stems / "Piano.R.wav"), "remix", "2")  # (-D: no dither)
    click_wav(stems / "Gtr_L.wav", 0.5, seconds=2.0)  # no Gtr_R
    click_wav(stems / "Pad-L.wav", 0.5, seconds=2.0)
    click_wav(stems / "Pad-R.wav", 0.5, seconds=1.0)  # not alike: two takes, not a pair
    click_wav(stems / "Keys.L.wav", 0.5, seconds=2.0, channels=2)
    click_wav(stems / "Keys.R.wav", 0.5, seconds=2.0)
    assert main(["session", "new", str(stems)]) == 0
    assert "stems Piano.L.wav and Piano.R.wav are a split stereo pair: panned hard left and right" in capsys.readouterr().out
    session = load_session(stems / "session.toml")
    assert {stem.name: stem.pan for stem in session.stems if stem.pan} == {"Piano.L": -1.0, "Piano.R": 1.0}
    (tmp_path / "pair.toml").write_text(
        'format = 1\n[[stems]]\npath = "stems/Piano.L.wav"\npan = -1.0\n[[stems]]\npath = "stems/Piano.R.wav"\npan = 1.0\n'
        '[[renders]]\nname = "mix"\nbit_depth = 32\n'
    )
    from soundstage.session import render_session  # the pair alone, as written, renders back to the stereo file

    render_session(tmp_path / "pair.toml", tmp_path / "out")
    mix, _ = soundfile.read(tmp_path / "out" / "mix.wav")
    # to half a step of 24-bit PCM: pedalboard's reader scales integer samples by 1/(2**31 - 1), not 1/2**31 (a
    # stereo file rendered as one stem differs from itself by as much); a centred pair would be off by the other side
    assert np.abs(mix - stereo).max() <= 2**-24


def test_pan_moves_a_stem_between_the_sides_by_the_balance_law(tmp_path: Path) -> None:
    """pan = 0 is the stem as it was (mono on both sides at unity); -0.5 keeps the left at unity and the right at
    -6 dB; a stereo stem is balanced side by side."""
    from soundstage.session import render_session

    click_wav(tmp_path / "mono.wav", 0.5)
    click_wav(tmp_path / "stereo.wav", 0.5, channels=2)
    peaks = {}
    for pan in (None, 0.0, -0.5, 1.0):
        line = "" if pan is None else f"pan = {pan}\n"
        session = tmp_path / f"s{pan}.toml"
        session.write_text(
            f'format = 1\n[[stems]]\npath = "mono.wav"\n{line}[[stems]]\npath = "stereo.wav"\n{line}'
            '[[renders]]\nname = "mix"\nbit_depth = 32\n'
        )
        report = render_session(session, tmp_path / f"out{pan}").report
        assert [stem["pan"] for stem in report["stems"]] == [pan or 0.0] * 2  # the report says where each stem sat
        mix, _ = soundfile.read(tmp_path / f"out{pan}" / "mix.wav")
        peaks[pan] = np.abs(mix).max(axis=0)
    click = peaks[None][0] / 2  # two stems, one click each, at the same sample
    assert np.array_equal(peaks[0.0], peaks[None]) and peaks[None] == pytest.approx([2 * click, 2 * click])
    assert peaks[-0.5] == pytest.approx([2 * click, click], rel=1e-6)
    assert peaks[1.0] == pytest.approx([0.0, 2 * click], abs=1e-9)


def test_a_bed_exported_as_mono_files_is_folded_down_as_its_preset_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 5.1 bed exported as six mono files (Pro Tools' Bed.L, Bed.R, Bed.C, Bed.Lfe, Bed.Ls, Bed.Rs) entered the mix
    as six centred stems: the surrounds in the middle, the LFE at full level. Each is now panned and set as ITU-R
    BS.775 folds a bed down, and the mixdown equals the six-channel file through the downmix-5.1 preset within
    1e-6 (-120 dB: the -3.0103 dB written for the centre and surrounds, and the LFE at -120 dB)."""
    from soundstage.session import render_session

    stems = tmp_path / "stems"
    stems.mkdir()
    sox = tool("sox")
    tones = [item for frequency in (100, 200, 300, 40, 500, 600) for item in ("sine", str(frequency))]
    run(sox, "-n", "-r", str(SR), "-c", "6", "-b", "24", str(tmp_path / "bed.wav"), "synth", "2", *tones, "vol", "0.3")
    for number, channel in enumerate(("L", "R", "C", "Lfe", "Ls", "Rs"), start=1):
        run(sox, "-D", str(tmp_path / "bed.wav"), str(stems / f"Bed.{channel}.wav"), "remix", str(number))
    assert main(["session", "new", str(stems)]) == 0
    assert "are a bed exported as mono files: panned and folded down as ITU-R BS.775 does" in capsys.readouterr().out
    session = load_session(stems / "session.toml")
    placed = {stem.name: (stem.pan, stem.gain_db) for stem in session.stems}
    assert placed == {
        "Bed.C": (0.0, -3.0103), "Bed.L": (-1.0, 0.0), "Bed.Lfe": (0.0, -120.0),
        "Bed.Ls": (-1.0, -3.0103), "Bed.R": (1.0, 0.0), "Bed.Rs": (1.0, -3.0103),
    }  # fmt: skip
    render_session(stems / "session.toml", tmp_path / "out", only=["mixdown"])
    assert main(["process", str(tmp_path / "bed.wav"), str(tmp_path / "folded.wav"), "--chain", "downmix-5.1"]) == 0
    mix, _ = soundfile.read(tmp_path / "out" / "mixdown.wav")
    folded, _ = soundfile.read(tmp_path / "folded.wav")
    assert np.abs(mix - folded).max() <= 1e-6


@pytest.mark.parametrize(
    ("suffix", "codec", "label"), [("flac", ["-c:a", "flac"], "FLAC"), ("ogg", ["-c:a", "libvorbis", "-q:a", "8"], "Ogg")]
)
def test_stems_converted_to_flac_or_ogg_keep_their_place_on_the_timeline(
    suffix: str, codec: list[str], label: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stamped WAV stems converted to FLAC or Ogg Vorbis (ffmpeg carries the bext TimeReference over as a
    ``time_reference`` Vorbis comment; sox writes one given as ``--comment``, upper case) lost their place: each
    started at 0, 0.75 s and 1.5 s early against the stamped WAV beside them, without a word (the Ogg ones until stop
    59). Each is placed by its comment now, read back as ffprobe reads it, and its click lands on its sample in the
    mixdown, whose bext is the session's zero (the Vorbis coder moves a click's peak by a sample at most)."""
    ffmpeg, sox, ffprobe = tool("ffmpeg"), tool("sox"), tool("ffprobe")
    stems = tmp_path / "export"
    stems.mkdir()
    run(ffmpeg, "-v", "error", "-f", "lavfi", "-i", f"sine=f=440:d=3:sample_rate={SR}", "-af", "volume=0.05",
        "-c:a", "pcm_s24le", "-write_bext", "1", "-metadata", f"time_reference={SR * 3600}", str(stems / "pad.wav"))  # fmt: skip
    click_wav(tmp_path / "a.wav", 0.25)  # timeline 3600.75 + 0.25 = 1.0 s into the session
    run(ffmpeg, "-v", "error", "-i", str(tmp_path / "a.wav"), "-c:a", "pcm_s24le", "-write_bext", "1",
        "-metadata", f"time_reference={int(SR * 3600.75)}", str(tmp_path / "vox.wav"))  # fmt: skip
    run(ffmpeg, "-v", "error", "-i", str(tmp_path / "vox.wav"), *codec, str(stems / f"vox.{suffix}"))
    click_wav(tmp_path / "b.wav", 0.5, rate=44100)  # timeline 1.5 + 0.5 = 2.0 s into the session
    run(sox, str(tmp_path / "b.wav"), "--comment", f"TIME_REFERENCE={int(44100 * 3601.5)}", str(stems / f"gtr.{suffix}"))
    for name, expected in ((f"vox.{suffix}", int(SR * 3600.75)), (f"gtr.{suffix}", int(44100 * 3601.5))):
        probe = subprocess.run(
            [ffprobe, "-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "default=nw=1", str(stems / name)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.lower()
        assert f"tag:time_reference={expected}" in probe, probe

    assert main(["session", "new", str(stems)]) == 0
    out = capsys.readouterr().out
    assert "3 stem(s) at 48000 Hz, 3 placed by their time reference, 0 from the start" in out
    assert f"{label} start 01:00:00.750" in (stems / "session.toml").read_text()
    _, placed = inspect_stems(load_session(stems))
    assert {info.stem.name: (info.start, info.start_source) for info in placed} == {
        "gtr": (int(1.5 * SR), f"{label} TIME_REFERENCE"),
        "pad": (0, "BWF TimeReference"),
        "vox": (int(0.75 * SR), f"{label} TIME_REFERENCE"),
    }
    assert main(["render", str(stems), "--only", "mixdown", "-o", str(tmp_path / "out")]) == 0
    mix, _ = soundfile.read(str(tmp_path / "out" / "mixdown.wav"), always_2d=True)
    peaks = sorted(int(i) for i in np.argsort(np.abs(mix[:, 0]))[-2:])
    assert abs(peaks[0] - SR) <= (suffix == "ogg") and abs(peaks[1] - 2 * SR) <= 1, peaks  # 44.1 kHz: the resampler
    assert wavinfo.WavInfoReader(str(tmp_path / "out" / "mixdown.wav")).bext.time_reference == SR * 3600


def test_an_unstamped_stem_among_stamped_ones_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A stem whose converter dropped its stamp (an AIFF made from a stamped WAV), or whose stamp cannot be read (an
    Opus file's), starts at the session's zero, which may be right or not: session new names it instead of counting
    it only."""
    ffmpeg = tool("ffmpeg")
    stems = tmp_path / "export"
    stems.mkdir()
    for name, seconds in (("a.wav", 3600), ("b.wav", 3602)):
        run(ffmpeg, "-v", "error", "-f", "lavfi", "-i", f"sine=f=440:d=1:sample_rate={SR}", "-c:a", "pcm_s24le",
            "-write_bext", "1", "-metadata", f"time_reference={SR * seconds}", str(stems / name))  # fmt: skip
    run(ffmpeg, "-v", "error", "-i", str(stems / "b.wav"), str(stems / "c.aiff"))
    run(ffmpeg, "-v", "error", "-i", str(stems / "b.wav"), "-c:a", "libopus", str(stems / "d.opus"))
    assert main(["session", "new", str(stems)]) == 0
    out = capsys.readouterr().out
    assert "stem c.aiff has no time reference (BWF, FLAC or Ogg) while 2 stem(s) have: it starts with the earliest" in out
    assert "stem a.wav" not in out and "stem b.wav" not in out
    # an Opus file plays at 48 kHz whatever its source's rate, and ffmpeg copies the source's count as it is: the stamp
    # is not read, and session new says so, with the time it gives at 44.1 and at 48 kHz
    why = (
        "its TIME_REFERENCE comment (172896000 samples) counts at the rate of the file it was converted from, which an "
        "Opus file does not record (01:05:20.544 at 44.1 kHz, 01:00:02.000 at 48 kHz)"
    )
    assert f"stem d.opus: {why}; it starts with the earliest of the 2 stem(s) placed by theirs; give it offset_s" in out
    assert f'path = "d.opus" # 48 kHz mono float32, 1.00 s; {why}: starts at 0' in (stems / "session.toml").read_text()
    (stems / "a.wav").unlink()
    (stems / "b.wav").unlink()
    (stems / "d.opus").unlink()
    assert main(["session", "new", str(stems), "--overwrite"]) == 0
    assert "has no time reference" not in capsys.readouterr().out  # none stamped: nothing to say


@pytest.mark.parametrize("value", ["01:00:00.500", "-48000", "1.5e9", "", "9" * 21, "１２３"])
def test_a_time_reference_comment_that_is_no_sample_count_is_refused_in_one_line(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A FLAC whose TIME_REFERENCE comment is a time code, negative, a float, empty, past 64 bits or in full-width
    digits: refused naming the session, the stem, the file and the value, with the fix; offset_s places it."""
    sox = tool("sox")
    stems = tmp_path / "export"
    stems.mkdir()
    click_wav(tmp_path / "b.wav", 0.5)
    run(sox, str(tmp_path / "b.wav"), "--comment", f"TIME_REFERENCE={value}", str(stems / "gtr.flac"))
    assert main(["session", "new", str(stems)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"stem 'gtr.flac': '{stems / 'gtr.flac'}': its TIME_REFERENCE comment is {value!r}, not a count of samples" in err
    assert "give the stem offset_s" in err and not (stems / "session.toml").exists()
    (tmp_path / "s.toml").write_text('[[stems]]\npath = "export/gtr.flac"\noffset_s = 0.25\n[[renders]]\nname = "mix"\n')
    _, placed = inspect_stems(load_session(tmp_path / "s.toml"))
    assert [(info.start, info.start_source) for info in placed] == [(SR // 4, "session offset_s")]


@settings(max_examples=300, deadline=None)
@given(block=st.binary(max_size=120), declared=st.integers(0, 2**24 - 1), last=st.booleans())
def test_reading_flac_comments_takes_any_bytes(block: bytes, declared: int, last: bool) -> None:
    """A FLAC's Vorbis comment block of any bytes and any declared size (past the file's end too) gives comments or
    none, never an exception."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.flac"
        header = bytes([(0x80 if last else 0) | 4]) + declared.to_bytes(3, "big")
        path.write_bytes(b"fLaC" + header + block)
        comments = flac_comments(path)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in comments.items())
