"""A DAW's own project given where soundstage wants a session file, a folder of stems or an audio file.

A mastering engineer's first try is the project they have open: ``soundstage render song.RPP``. soundstage reads no
DAW's project (the DAW renders its tracks, with their edits, fades, plugins and automation, as stems; ``session
new`` writes a session for them). It said "song.RPP: not valid TOML: Invalid statement (at line 1, column 1)", of
an Ardour session the same, of an Ableton set "is not a text file (byte 0x8b at 1): give the .toml file", and of a
Logic project "is a folder: give the .toml file (it holds none)". Now each is named, with how that DAW exports stems.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from daw import new_session
from soundstage.cli import main

REAPER = '<REAPER_PROJECT 0.1 "7.07/linux-x86_64" 1733400000\n  RIPPLE 0\n  TEMPO 120 4 4\n  <TRACK\n    NAME Vocal\n  >\n>\n'
ABLETON = b'<?xml version="1.0" encoding="UTF-8"?>\n<Ableton MajorVersion="5" MinorVersion="11.0_433" Creator="Ableton Live 11.3">\n</Ableton>\n'


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("soundstage: error: "), error
    return error


@pytest.fixture
def projects(tmp_path: Path) -> dict[str, tuple[Path, str, str]]:
    """Projects as the DAWs write them: (path, what it is named, the DAW's way to export stems)."""
    (tmp_path / "song.RPP").write_text(REAPER)
    (tmp_path / "renamed.txt").write_text(REAPER)  # a REAPER project under another name: by how it begins
    (tmp_path / "song.als").write_bytes(gzip.compress(ABLETON))  # Live writes its sets gzipped
    (tmp_path / "song.logicx" / "Alternatives" / "000").mkdir(parents=True)  # Logic's project is a folder
    return {
        "reaper": (tmp_path / "song.RPP", "a REAPER project", "File > Render, Source: Stems (selected tracks)"),
        "reaper renamed": (tmp_path / "renamed.txt", "a REAPER project", "File > Render"),
        "ableton": (tmp_path / "song.als", "an Ableton Live set", "Rendered Track: All Individual Tracks"),
        "logic": (tmp_path / "song.logicx", "a Logic Pro project", "File > Export > All Tracks as Audio Files"),
    }


@pytest.mark.parametrize("daw", ["reaper", "reaper renamed", "ableton", "logic"])
def test_a_daws_project_is_named_with_how_it_exports_stems(
    daw: str, projects: dict[str, tuple[Path, str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, what, export = projects[daw]
    for argv in (["render", str(path), "-o", str(tmp_path / "out")], ["session", "check", str(path)]):
        error = run(argv, capsys)
        assert f"session file {str(path)!r} is {what}, which soundstage does not read; export its tracks as stems (" in error
        assert export in error and error.rstrip().endswith("then write a session for them: soundstage session new STEMS/")
    error = run(["process", str(path), str(tmp_path / "out.wav"), "--chain", "mastering"], capsys)
    assert f"input file {str(path)!r} is {what}, which soundstage does not read; render its mix to a WAV file" in error
    if path.is_dir() or path.suffix != ".txt":
        error = run(["session", "new", str(path)], capsys)
        assert f"session new: {str(path)!r} is {what}, which soundstage does not read" in error
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.wav").exists()


def test_a_session_ardour_wrote_and_its_folder_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A session made and saved by Ardour itself (Debian's Ardour 7): its .ardour file, and its folder, given to
    render."""
    project = new_session(tmp_path / "ardour")
    assert project.is_file() and project.read_text().lstrip().startswith("<?xml")
    error = run(["render", str(project), "-o", str(tmp_path / "out")], capsys)
    assert f"{str(project)!r} is an Ardour session, which soundstage does not read" in error
    assert "(Session > Export > Stem Export)" in error
    error = run(["render", str(project.parent), "-o", str(tmp_path / "out")], capsys)
    assert f"{str(project.parent)!r} is the folder of {project.name!r}, an Ardour session, which soundstage" in error


def test_stems_rendered_beside_a_project_make_a_session(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """REAPER renders into the project's folder by default: ``session new`` of that folder takes the stems beside
    the project (it does not refuse the folder for the project in it), and renders them."""
    (tmp_path / "song.RPP").write_text(REAPER)
    for name in ("song - Vocal.wav", "song - Bass.wav"):
        sf.write(tmp_path / name, 0.1 * np.random.default_rng(len(name)).standard_normal((4800, 2)), 48000, subtype="PCM_24")
    assert main(["session", "new", str(tmp_path)]) == 0, capsys.readouterr().err
    assert main(["render", str(tmp_path / "session.toml"), "-o", str(tmp_path / "renders"), "--only", "mixdown"]) == 0
    assert (tmp_path / "renders" / "mixdown.wav").is_file()
    shutil.rmtree(tmp_path / "renders")
