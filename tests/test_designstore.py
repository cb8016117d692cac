"""The design store: designs kept on disk between runs (soundstage.designstore).

What must hold: a design read back is the design, bit for bit, and nothing is
designed for it; it is found only for the same inputs (content, not names); a
damaged file is made again; a folder that cannot be written never fails a render
and leaves no temporary file; the folder stays within its bound; ``off`` writes nothing.
"""

from __future__ import annotations

import copy
import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from soundstage import Spatializer, designstore
from soundstage.acoustics.hrtf import DEFAULT_SOFA, HeadChoice
from soundstage.acoustics.profiles import PROFILE_DIR
from soundstage.stages import device

SR = 48000
CLI = "import sys; from soundstage.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "designs"
    monkeypatch.setenv("SOUNDSTAGE_DESIGN_CACHE", str(folder))
    designstore.clear_store_info()
    yield folder
    designstore.clear_store_info()


def _no_design(*args: object, **kwargs: object) -> None:
    raise AssertionError("designed, though the store holds the design")


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.npz")) if folder.exists() else []


def test_a_design_read_back_is_the_design_bit_for_bit_and_nothing_is_designed(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made, delay = Spatializer(width=0.7, listener_yaw_deg=4.0).filters(SR)
    assert designstore.store_info()["misses"] == 1 and designstore.store_info()["writes"] == 1
    assert len(_files(store)) == 1
    monkeypatch.setattr(device, "design_crosstalk_canceller", _no_design)
    monkeypatch.setattr(device, "design_beamformer", _no_design)
    device._SHARED.clear()  # a new process: nothing designed in memory
    found, found_delay = Spatializer(width=0.7, listener_yaw_deg=4.0).filters(SR)
    assert designstore.store_info()["hits"] == 1
    assert found_delay == delay and found.dtype == made.dtype and np.array_equal(found, made)


def test_a_design_is_found_only_for_its_own_inputs(store: Path, tmp_path: Path) -> None:
    Spatializer(width=0.7).filters(SR)
    Spatializer(width=0.8).filters(SR)  # another knob value
    Spatializer(width=0.7, region="seat").filters(SR)  # another region
    assert designstore.store_info()["misses"] == 3 and designstore.store_info()["hits"] == 0
    # the same profile under another file name is the same design; a driver moved 1 mm is another
    text = (PROFILE_DIR / "studio-5.toml").read_text()
    renamed = tmp_path / "renamed.toml"
    renamed.write_text(text)
    Spatializer(device=str(renamed), width=0.7).filters(SR)
    assert designstore.store_info()["hits"] == 1
    moved = tmp_path / "moved.toml"
    moved.write_text(text.replace("position_m = [0.0, 0.0, -0.085]", "position_m = [0.0, 0.0, -0.086]", 1))
    assert moved.read_text() != text
    Spatializer(device=str(moved), width=0.7).filters(SR)
    assert designstore.store_info()["misses"] == 4 and designstore.store_info()["hits"] == 1


def test_a_heads_identity_is_its_files_content_not_their_names(tmp_path: Path) -> None:
    first, second = tmp_path / "a.sofa", tmp_path / "b.sofa"
    shutil.copy(DEFAULT_SOFA, first)
    shutil.copy(DEFAULT_SOFA, second)
    assert HeadChoice(str(first)).identity() == HeadChoice(str(second)).identity()
    assert HeadChoice("model").identity() != HeadChoice("rigid-sphere").identity()
    data = bytearray(second.read_bytes())
    data[-1] ^= 0xFF
    second.write_bytes(bytes(data))
    assert designstore.file_digest(first) != designstore.file_digest(second)


@pytest.mark.parametrize("damage", ["cut in half", "empty", "not a zip"])
def test_a_damaged_file_is_made_again(damage: str, store: Path) -> None:
    made, _ = Spatializer(width=0.6).filters(SR)
    (stored,) = _files(store)
    whole = stored.read_bytes()
    stored.write_bytes({"cut in half": whole[: len(whole) // 2], "empty": b"", "not a zip": b"garbage" * 100}[damage])
    device._SHARED.clear()
    again, _ = Spatializer(width=0.6).filters(SR)
    info = designstore.store_info()
    assert info["unreadable"] == 1 and info["misses"] == 2 and info["writes"] == 2
    assert np.array_equal(again, made)
    with np.load(stored, allow_pickle=False) as rewritten:  # whole again
        assert np.array_equal(rewritten["filters"], made)


def test_a_folder_that_cannot_be_written_never_fails_a_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    audio = (0.1 * np.random.default_rng(3).standard_normal((2, 9600))).astype(np.float32)
    monkeypatch.setenv("SOUNDSTAGE_DESIGN_CACHE", "off")
    expected = Spatializer(width=0.5)(audio, SR)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SOUNDSTAGE_DESIGN_CACHE", str(blocker / "designs"))
    designstore.clear_store_info()
    assert np.array_equal(Spatializer(width=0.5)(audio, SR), expected)
    assert designstore.store_info()["write_errors"] == 1 and designstore.store_info()["writes"] == 0
    designstore.clear_store_info()


def test_a_full_disk_leaves_no_temporary_file_and_stops_writing(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(file: object, **arrays: np.ndarray) -> None:
        file.write(b"\0" * 1000)  # type: ignore[attr-defined]  # part written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(designstore.np, "savez", full)
    made, _ = Spatializer(width=0.4).filters(SR)
    Spatializer(width=0.45).filters(SR)
    info = designstore.store_info()
    assert info["write_errors"] == 1 and info["writes"] == 0  # tried once, then off for the process
    assert [p for p in store.rglob("*") if p.is_file()] == []
    monkeypatch.undo()
    monkeypatch.setenv("SOUNDSTAGE_DESIGN_CACHE", "off")
    assert np.array_equal(Spatializer(width=0.4).filters(SR)[0], made)


def test_the_store_keeps_within_its_bound_dropping_the_least_recently_used(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOUNDSTAGE_DESIGN_CACHE_MB", "1.2")  # two designs of about 0.52 MB
    for width in (0.2, 0.3, 0.4, 0.5):
        Spatializer(width=width).filters(SR)
    files = _files(store)
    assert sum(p.stat().st_size for p in files) <= 1.2 * 2**20
    assert len(files) == 2
    old_temporary = store / "spatializer" / ".killed-while-writing.tmp"
    old_temporary.write_bytes(b"\0" * 100)
    os.utime(old_temporary, (0, 0))  # from long ago: its writer is gone
    new_temporary = store / "spatializer" / ".being-written.tmp"
    new_temporary.write_bytes(b"\0" * 100)
    Spatializer(width=0.45).filters(SR)
    assert not old_temporary.exists() and new_temporary.exists()
    new_temporary.unlink()
    Spatializer(width=0.5).filters(SR)
    files = _files(store)
    assert len(files) == 2
    device._SHARED.clear()
    Spatializer(width=0.5).filters(SR)  # the newest is kept
    Spatializer(width=0.2).filters(SR)  # the oldest was dropped
    info = designstore.store_info()
    assert info["hits"] == 2 and info["misses"] == 6


def test_off_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("SOUNDSTAGE_DESIGN_CACHE", "off")
    designstore.clear_store_info()
    Spatializer(width=0.3).filters(SR)
    assert list(tmp_path.iterdir()) == [] and designstore.store_info()["misses"] == 0
    monkeypatch.delenv("SOUNDSTAGE_DESIGN_CACHE")
    assert designstore.store_dir() == tmp_path / "soundstage" / "designs"


def test_two_runs_of_the_cli_give_the_same_file_the_second_from_the_store(tmp_path: Path) -> None:
    source = tmp_path / "in.wav"
    sf.write(source, (0.1 * np.random.default_rng(5).standard_normal((9600, 2))).astype(np.float32), SR, subtype="FLOAT")
    chain = tmp_path / "chain.toml"
    chain.write_text('[[stages]]\ntype = "Spatializer"\nparameters = { width = 0.55 }\n')
    env = {**os.environ, "SOUNDSTAGE_DESIGN_CACHE": str(tmp_path / "designs")}
    outputs = []
    for run in range(2):
        target = tmp_path / f"out{run}.wav"
        done = subprocess.run(
            [sys.executable, "-c", CLI, "process", str(source), str(target), "--chain", str(chain)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(sf.read(target, dtype="float32")[0])
        assert len(_files(tmp_path / "designs")) == 1  # written by the first run, found by the second
    assert np.array_equal(outputs[0], outputs[1])


def test_device_figures_read_back_are_the_figures(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from soundstage.analysis import device as analysis

    stage = Spatializer(width=0.8)
    made = analysis.stages_device_figures(stage, None, SR)
    analysis._FIGURES.clear()  # a new process
    monkeypatch.setattr(analysis, "device_figures", _no_design)
    assert analysis.stages_device_figures(Spatializer(width=0.8), None, SR) == made
    assert designstore.store_info()["hits"] >= 1
    with pytest.raises(AssertionError, match="designed"):  # other settings: other figures, made again
        analysis.stages_device_figures(Spatializer(width=0.9), None, SR)


_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.lists(st.floats(allow_nan=False, width=32), max_size=4).map(lambda v: np.array(v, np.float32)),
)
_values = st.recursive(_leaves, lambda inner: st.tuples(inner, inner) | st.lists(inner, max_size=3), max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(_values, _values)
def test_canonical_text_names_a_value_exactly(a: object, b: object) -> None:
    """Equal values give one text in every call; values that differ (a float's last bit, an array's dtype or
    a type: 1 against 1.0 against True) give different texts, so a key never finds another input's design."""
    assert designstore.canonical(a) == designstore.canonical(copy.deepcopy(a))
    if designstore.canonical(a) == designstore.canonical(b):
        assert _same(a, b)


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and (a == b or (a != a and b != b))


def test_canonical_refuses_what_it_cannot_name() -> None:
    with pytest.raises(TypeError):
        designstore.canonical(object())
    assert designstore.canonical(0.1) != designstore.canonical(0.1 + 2**-55)


def test_processes_sharing_a_store_at_once_each_get_the_design(tmp_path: Path) -> None:
    """Batch workers on one machine, or a cluster's on a shared folder, designing the same thing at once."""
    code = (
        "import hashlib, sys; from soundstage import Spatializer; "
        "f, d = Spatializer(width=0.35, listener_x_m=0.02).filters(48000.0); "
        "print(hashlib.sha256(f.tobytes()).hexdigest(), d)"
    )
    env = {**os.environ, "SOUNDSTAGE_DESIGN_CACHE": str(tmp_path / "designs")}
    runs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(3)
    ]
    results = [run.communicate(timeout=300) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err for _, err in results]
    assert len({out for out, _ in results}) == 1  # the same design in every process, bit for bit
    assert len(_files(tmp_path / "designs")) == 1
    assert [p.name for p in (tmp_path / "designs").rglob(".*")] == []  # no temporary file left
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert again.stdout == results[0][0]


def test_the_designs_command_shows_and_clears_the_store(
    store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from soundstage.cli import main

    Spatializer(width=0.65).filters(SR)
    (store / "spatializer" / ".left-by-a-crash.tmp").write_bytes(b"\0" * 10)
    assert main(["designs"]) == 0
    shown = capsys.readouterr().out
    assert str(store) in shown and "1 design(s)" in shown and "of 1024 MB" in shown
    assert main(["designs", "--clear"]) == 0
    assert "removed 2 file(s)" in capsys.readouterr().out
    assert [p for p in store.rglob("*") if p.is_file()] == []
    monkeypatch.setenv("SOUNDSTAGE_DESIGN_CACHE", "off")
    assert main(["designs"]) == 0 and "off" in capsys.readouterr().out


def test_a_store_folder_designs_cannot_be_kept_in_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SOUNDSTAGE_DESIGN_CACHE naming a file (or a folder under one), or given relative, kept nothing, and `designs`
    showed it as an empty store: '0 design(s)'. It now says why designs are not kept there."""
    from soundstage.cli import main

    (tmp_path / "mix.wav").write_bytes(b"RIFF")
    for setting, said in [
        (str(tmp_path / "mix.wav"), f"{str(tmp_path / 'mix.wav')!r} is a file, not a folder: designs are not kept"),
        (str(tmp_path / "mix.wav" / "designs"), f"{str(tmp_path / 'mix.wav')!r} is a file, not a folder"),
        ("designs", "SOUNDSTAGE_DESIGN_CACHE='designs' is relative: each working folder gets its own store"),
    ]:
        monkeypatch.setenv("SOUNDSTAGE_DESIGN_CACHE", setting)
        assert main(["designs"]) == 0
        assert said in capsys.readouterr().err
    monkeypatch.setenv("SOUNDSTAGE_DESIGN_CACHE", str(tmp_path / "new" / "designs"))  # made when first written
    assert main(["designs"]) == 0 and capsys.readouterr().err == ""


def test_what_cannot_be_stored_as_plain_arrays_is_returned_and_not_stored(store: Path) -> None:
    def not_json(value: object) -> dict[str, np.ndarray]:
        raise TypeError("Object of type set is not JSON serializable")

    assert designstore.get_or_make("test", ("a",), lambda: {1, 2}, pack=not_json, unpack=lambda s: set()) == {1, 2}
    pickled = designstore.get_or_make(
        "test", ("b",), lambda: [object()], pack=lambda v: {"x": np.array(v, dtype=object)}, unpack=lambda s: s["x"]
    )
    assert len(pickled) == 1
    assert [p for p in store.rglob("*") if p.is_file()] == []  # neither stored, no temporary left
    assert designstore.store_info()["write_errors"] == 0  # and writing stays on
    value = designstore.get_or_make("test", ("c",), lambda: 3, pack=lambda v: {"v": np.array(v)}, unpack=lambda s: int(s["v"]))
    assert value == 3 and len(_files(store)) == 1


@pytest.mark.parametrize("setting", ["abc", "-5", "nan", "inf", ""])
def test_a_bad_size_bound_is_named_and_the_default_used(
    setting: str, store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from soundstage.cli import main

    monkeypatch.setenv("SOUNDSTAGE_DESIGN_CACHE_MB", setting)
    assert main(["designs"]) == 0
    captured = capsys.readouterr()
    assert f"SOUNDSTAGE_DESIGN_CACHE_MB={setting!r} is not a size in MB" in captured.err
    assert "of 1024 MB" in captured.out


def test_a_design_is_the_same_bits_whatever_the_blas_threads(kemar_path: str) -> None:
    """A design on a measured head was summed in another order when BLAS ran several threads (the Python API in a
    notebook) than with one (the command line, batch workers, sessions): outputs 1 LSB apart at 24 bits, so a
    batch item's bytes differed from the same chain run from Python. Designs are now made with one BLAS thread."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from soundstage import CrosstalkCanceller, load_chain

    music = (0.1 * np.random.default_rng(0).standard_normal((2, 24000))).astype(np.float32)
    for make in (lambda: load_chain("studio-5", hrtf=kemar_path), lambda: CrosstalkCanceller(hrtf=kemar_path)):
        outputs = []
        for threads in (1, 2):
            with threadpool_limits(limits=threads, user_api="blas"):
                outputs.append(make()(music, 48000))
                assert {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"} == {threads}
        assert np.array_equal(outputs[0], outputs[1])
