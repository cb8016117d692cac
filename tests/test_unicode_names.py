"""Names with accents, written in Unicode's other normal form than the file system holds them.

macOS's Finder and its older file systems write an accented letter as the letter and a combining accent (NFD:
``e`` + U+0301); Linux keeps whatever bytes it is given, and a name typed here is one character (NFC: U+00E9).
The two look the same, and macOS takes either for the other. Stems copied from a Mac, a session file written there,
or a name typed on this machine for a file copied from one: each was "does not exist" beside a file that ``ls``
shows with the very name given, and an output so named was written a second time beside it.
"""

from __future__ import annotations

import glob
import hashlib
import os
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import wcwidth
from hypothesis import given, settings
from hypothesis import strategies as st

from soundstage.cli import main
from soundstage.files import glob_any_form, missing_hint, on_disk


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def write_stem(path: Path, seconds: float = 1.0, rate: int = 48000) -> Path:
    """A stem as another program writes it (libsndfile, through soundfile), 24-bit."""
    noise = 0.1 * np.random.default_rng(len(path.name)).standard_normal((int(seconds * rate), 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, noise, rate, subtype="PCM_24")
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_on_disk_finds_the_name_in_the_other_form_part_by_part(tmp_path: Path) -> None:
    folder = tmp_path / nfd("Séance à Montréal")
    stem = write_stem(folder / nfc("Café.wav"))
    assert nfd("Séance") != nfc("Séance")  # the two forms are other bytes
    assert on_disk(tmp_path / nfc("Séance à Montréal") / nfd("Café.wav")) == stem
    assert on_disk(stem) == stem  # as named: itself
    # a file still to be written keeps its name, in the folder that is there
    assert on_disk(tmp_path / nfc("Séance à Montréal") / nfd("Réveil.wav")) == folder / nfd("Réveil.wav")
    # nothing of that name in any form: as given
    assert on_disk(tmp_path / "Other" / "Café.wav") == tmp_path / "Other" / "Café.wav"
    # a name in another case is not taken for it (that is a hint, not the file): case is seen, forms are not
    assert on_disk(tmp_path / nfc("séance à montréal") / "café.wav") == tmp_path / nfc("séance à montréal") / "café.wav"
    assert missing_hint(tmp_path / nfc("séance à montréal") / "CAFÉ.wav").endswith("use that name")


def test_on_disk_is_relative_where_the_path_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_stem(tmp_path / nfd("Brûlé") / "kick.wav")
    assert on_disk(Path(nfc("Brûlé")) / "kick.wav") == Path(nfd("Brûlé")) / "kick.wav"


def test_process_reads_a_file_named_in_the_other_form_and_writes_no_second_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_stem(tmp_path / nfd("Café.wav"))  # copied from a Mac
    plain = tmp_path / "plain.wav"
    plain.write_bytes(source.read_bytes())
    before = digest(source)
    typed = str(tmp_path / nfc("Café.wav"))  # typed here
    assert main(["process", str(plain), str(tmp_path / "want.wav"), "--chain", "mastering"]) == 0
    assert main(["process", typed, str(tmp_path / "got.wav"), "--chain", "mastering"]) == 0, capsys.readouterr().err
    assert digest(tmp_path / "got.wav") == digest(tmp_path / "want.wav")
    capsys.readouterr()

    # the same name as output: the file that is there, so "already exists", and with --overwrite the input refused
    assert main(["process", str(plain), typed, "--chain", "mastering"]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert main(["process", typed, nfd(typed), "--chain", "mastering", "--overwrite"]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert main(["process", str(plain), typed, "--chain", "mastering", "--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([source.name, "plain.wav", "want.wav", "got.wav"])
    assert digest(source) == digest(tmp_path / "want.wav") != before  # replaced where it is, not written beside it


@pytest.mark.parametrize(("in_file", "on_disk_form"), [(nfd, nfc), (nfc, nfd)], ids=["session-NFD", "session-NFC"])
def test_a_session_names_its_stems_in_either_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], in_file, on_disk_form
) -> None:
    """A session written on a Mac (its names NFD) with its stems unpacked here (NFC), and the other way round: the
    session renders as one whose names are plain ASCII does, to the byte; its output folder named in the other form
    is the folder that is there."""
    names = {"Crème brûlée": "creme", "Bass à l'été": "bass"}
    for name, plain in names.items():
        stem = write_stem(tmp_path / "stems" / on_disk_form(f"{name}.wav"))
        (tmp_path / "plain").mkdir(exist_ok=True)
        (tmp_path / "plain" / f"{plain}.wav").write_bytes(stem.read_bytes())
    body = 'format = 1\nsample_rate = 48000\n[[stems]]\npath = "{}"\n[[stems]]\npath = "{}"\n[master]\nchain = "mastering"\n'
    session = tmp_path / "session.toml"
    session.write_text(body.format(*(in_file(f"stems/{name}.wav") for name in names)), encoding="utf-8")
    (tmp_path / "plain.toml").write_text(body.format(*(f"plain/{plain}.wav" for plain in names.values())))

    assert main(["session", "check", str(session)]) == 0, capsys.readouterr().err
    renders = tmp_path / on_disk_form("Rendus écoute")
    renders.mkdir()
    assert main(["render", str(session), "-o", str(tmp_path / in_file("Rendus écoute"))]) == 0
    assert main(["render", str(tmp_path / "plain.toml"), "-o", str(tmp_path / "want")]) == 0
    capsys.readouterr()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("Rendus")] == [renders.name]
    assert digest(renders / "mixdown.wav") == digest(tmp_path / "want" / "mixdown.wav")


def test_a_windows_path_in_another_case_is_hinted_at(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A session made on Windows: separators ``\\`` and a name in another case. Its separators were read as this
    system's only where the file was there so; where it was not, the error named ``stems\\VOCAL.wav`` as one name
    and had no hint."""
    write_stem(tmp_path / "stems" / "vocal.wav")
    session = tmp_path / "session.toml"
    session.write_text('format = 1\nsample_rate = 48000\n[[stems]]\npath = "stems\\\\VOCAL.wav"\n[master]\nchain = "mastering"\n')
    assert main(["session", "check", str(session)]) == 2
    error = capsys.readouterr().err
    assert f"{str(tmp_path / 'stems' / 'vocal.wav')!r} is there, named in another case" in error, error


def test_the_session_table_lines_up_under_accents_and_wide_letters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``session check``'s columns are placed by the cells a terminal gives a name (a combining accent takes none, a
    Japanese letter two), as ``wcwidth`` counts them; by ``len`` they stood one cell right for each accent of a name
    written NFD and one left for each wide letter."""
    names = ["kick", nfd("Crème brûlée"), "ベース", "드럼"]
    for name in names:
        write_stem(tmp_path / "stems" / f"{name}.wav")
    stems = "".join(f'[[stems]]\npath = "stems/{name}.wav"\n' for name in names)
    (tmp_path / "session.toml").write_text(f'format = 1\nsample_rate = 48000\n{stems}[master]\nchain = "mastering"\n')
    assert main(["session", "check", str(tmp_path / "session.toml")]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if " 0.000 " in line]
    assert len(rows) == len(names)
    columns = {wcwidth.width(row[: row.index(" 0.000 ")]) for row in rows}
    assert len(columns) == 1, rows


def test_a_batch_glob_typed_here_finds_the_folder_copied_from_a_mac(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a.wav", "b.wav"):
        write_stem(tmp_path / nfd("Démos") / name)
    monkeypatch.chdir(tmp_path)
    assert main(["batch", nfc("Démos") + "/*.wav", "--chain", "mastering", "-o", "out"]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.suffix == ".wav") == ["a.wav", "b.wav"]


def test_a_batch_glob_finds_every_file_of_a_folder_holding_names_in_both_forms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder copied from a Mac (NFD), holding a take made there (NFD) and one exported into it here (NFC): a glob
    typed here matched the folder in one form and each file in its own. The old code tried the whole pattern in each
    form and kept the first that matched anything: one of the two takes, the other left out without a word."""
    folder = tmp_path / "catalog" / nfd("Démos")
    write_stem(folder / nfd("Crème 1.wav"))
    write_stem(folder / nfc("Crème 2.wav"))
    write_stem(folder / "Other.wav")
    monkeypatch.chdir(tmp_path)
    for pattern in (nfc("catalog/Démos/Crème*.wav"), nfc("catalog/**/Crème*.wav"), nfd("catalog/Dé*/Crème*.wav")):
        out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}"
        assert main(["batch", pattern, "--chain", "mastering", "-o", str(out)]) == 0, capsys.readouterr().err
        written = sorted(nfc(p.name) for p in out.rglob("*.wav"))
        assert written == [nfc("Crème 1.wav"), nfc("Crème 2.wav")], (pattern, written)


_NAME = st.text(alphabet=["a", "b", nfc("é"), " ", "."], min_size=1, max_size=3).filter(lambda n: n not in (".", ".."))
_TREE = st.lists(st.lists(_NAME, min_size=1, max_size=3), min_size=1, max_size=6)


@st.composite
def _glob_over(draw: st.DrawFn, tree: list[list[str]]) -> str:
    """A glob aimed at ``tree``: a path of it, some of its letters made ``*`` or ``?``, some folders ``**``."""
    path = draw(st.sampled_from(tree))
    parts = []
    for name in path:
        if draw(st.booleans()) and len(parts) < len(path) - 1:
            parts.append("**")
            continue
        parts.append("".join(draw(st.sampled_from([c, c, "*", "?"])) for c in name))
    return "/".join(parts)


def _make_tree(root: str, tree: list[list[str]], form: Callable[[str], str]) -> None:
    for path in tree:
        target = Path(root, *(form(name) for name in path))
        try:  # a name that is a file in one path and a folder in another: the first made wins
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.write_bytes(b"")
        except (FileExistsError, NotADirectoryError):
            continue


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_glob_matches_in_either_form_what_the_standard_glob_matches_in_one(data: st.DataObject) -> None:
    """Against Python's own glob: on a tree whose names are all NFC, a pattern typed in either form matches what
    glob.glob matches with it in NFC; on the same tree in NFD, the same files, spelled as they are there (a ``?``
    is a letter as seen, accent and all, where glob.glob's NFD ``?`` is the letter or the accent)."""
    tree = data.draw(_TREE)
    pattern = data.draw(_glob_over(tree))
    with tempfile.TemporaryDirectory() as root:
        _make_tree(root, tree, nfc)
        matched = glob.glob(os.path.join(root, nfc(pattern)), recursive=True)
        # Python's glob gives "aé/" for "aé/**" where aé is a file: a folder name of no folder, which is left out
        expected = sorted(os.path.relpath(p, root) for p in matched if not (p.endswith(os.sep) and not os.path.isdir(p)))
        for typed in (nfc(pattern), nfd(pattern)):
            got = sorted(os.path.relpath(p, root) for p in glob_any_form(os.path.join(root, typed)))
            assert got == expected, ("NFC tree", typed, tree)
    with tempfile.TemporaryDirectory() as root:
        _make_tree(root, tree, nfd)
        for typed in (nfc(pattern), nfd(pattern)):
            found = glob_any_form(os.path.join(root, typed))
            assert sorted(nfc(os.path.relpath(p, root)) for p in found) == expected, ("NFD tree", typed, tree)
