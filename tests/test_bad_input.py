"""Every kind of bad input the host bridge must refuse, in one list.

Each case gets an error of the soundstage hierarchy whose message names the
problem, and leaves no output file behind; input files are byte-identical after.
Cases go through the `soundstage` command (the way users meet them) or the
Python API where there is no file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pedalboard.io import AudioFile

from soundstage import AudioInputError, Chain, ChainFileError, Gain, PluginError, SoundstageError
from soundstage.cli import main

SR = 48000


def write_wav(path: Path, audio: np.ndarray, bit_depth: int = 32) -> Path:
    with AudioFile(str(path), "w", SR, audio.shape[0], bit_depth=bit_depth) as writer:
        writer.write(audio)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_wav(tmp_path / "in.wav", (0.1 * np.random.default_rng(0).standard_normal((2, 4800))).astype(np.float32))
    (tmp_path / "gain.toml").write_text('[[stages]]\ntype = "Gain"\nparameters = { gain_db = -3.0 }\n')
    return tmp_path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(args)
    return status, capsys.readouterr().err


# (name, setup(workspace) -> cli args, expected message regex)
#: A name longer than any drive takes (255 bytes on most).
LONG = "n" * 300
TOO_LONG = r"a name in it is %d bytes, more than the drive takes \(255 on most\): give a shorter one"


CLI_CASES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "nan_in_input_file": (
        lambda w: [
            "process",
            str(write_wav(w / "nan.wav", np.where(np.arange(4800) == 1234, np.nan, 0.0)[None].repeat(2, 0).astype(np.float32))),
            str(w / "out.wav"),
            "--chain",
            str(w / "gain.toml"),
        ],
        r"nan.wav' contains nan at channel 0, sample 1234",
    ),
    "inf_in_input_file": (
        lambda w: [
            "process",
            str(write_wav(w / "inf.wav", np.where(np.arange(9000) == 8500, np.inf, 0.0)[None].repeat(2, 0).astype(np.float32))),
            str(w / "out.wav"),
            "--chain",
            str(w / "gain.toml"),
            "--buffer-size",
            "4096",
        ],
        r"inf.wav' contains inf at channel 0, sample 8500",
    ),
    "zero_length_input_file": (
        lambda w: [
            "process",
            str(write_wav(w / "empty.wav", np.zeros((2, 0), np.float32))),
            str(w / "out.wav"),
            "--chain",
            str(w / "gain.toml"),
        ],
        r"empty.wav' has no samples \(zero-length input\)",
    ),
    "unknown_stage_type": (
        lambda w: [
            "process",
            str(w / "in.wav"),
            str(w / "out.wav"),
            "--chain",
            str(_write(w / "c.toml", '[[stages]]\ntype = "Upmixx"\n')),
        ],
        r"c.toml: stages\[0\]\.type: unknown stage type 'Upmixx'",
    ),
    "unknown_parameter": (
        lambda w: [
            "process",
            str(w / "in.wav"),
            str(w / "out.wav"),
            "--chain",
            str(_write(w / "c.toml", '[[stages]]\ntype = "Gain"\nparameters = { volume = 1.0 }\n')),
        ],
        r"c.toml: stages\[0\]\.parameters\.volume: Gain has no parameter 'volume'",
    ),
    "out_of_range_value": (
        lambda w: [
            "process",
            str(w / "in.wav"),
            str(w / "out.wav"),
            "--chain",
            str(
                _write(
                    w / "c.toml", '[[stages]]\ntype = "pedalboard.HighpassFilter"\nparameters = { cutoff_frequency_hz = -5.0 }\n'
                )
            ),
        ],
        r"c.toml: stages\[0\]\.parameters\.cutoff_frequency_hz: .*=-5\.0 is outside 10\.\.24000 Hz",
    ),
    "missing_plugin_path": (
        lambda w: [
            "process",
            str(w / "in.wav"),
            str(w / "out.wav"),
            "--chain",
            str(_write(w / "c.toml", '[[stages]]\ntype = "plugin"\npath = "gone/Missing.vst3"\n')),
        ],
        r"c.toml: stages\[0\]\.path: plugin file 'gone/Missing\.vst3' does not exist",
    ),
    "corrupt_input_file": (
        lambda w: [
            "process",
            str(_write_bytes(w / "corrupt.wav", b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00garbage")),
            str(w / "out.wav"),
            "--chain",
            str(w / "gain.toml"),
        ],
        r"corrupt.wav' is cut short: it ends after 27 bytes, inside its header",
    ),
    "non_audio_input_file": (
        lambda w: [
            "process",
            str(_write(w / "notes.txt", "these are not samples\n" * 100)),
            str(w / "out.wav"),
            "--chain",
            str(w / "gain.toml"),
        ],
        r"notes.txt' is a text file, not audio; give the audio file",
    ),
    "missing_input_file": (
        lambda w: ["process", str(w / "nothing.wav"), str(w / "out.wav"), "--chain", str(w / "gain.toml")],
        r"nothing.wav' does not exist",
    ),
    "output_equals_input": (
        lambda w: ["process", str(w / "in.wav"), str(w / "." / "in.wav"), "--chain", str(w / "gain.toml"), "--overwrite"],
        r"is the input file; choose another output path",
    ),
    "unwritable_output_folder": (
        lambda w: ["process", str(w / "in.wav"), "/proc/soundstage-out.wav", "--chain", str(w / "gain.toml")],
        r"output folder '/proc' is not writable",
    ),
    "output_exists_without_overwrite": (
        lambda w: ["process", str(w / "in.wav"), str(_write(w / "out.wav", "keep me")), "--chain", str(w / "gain.toml")],
        r"out.wav' already exists; pass --overwrite",
    ),
    # a key that takes text or a list of text (a union): named by its key, never by pydantic's member tags
    "head_of_the_wrong_type": (
        lambda w: ["session", "check", str(_write(w / "s.toml", 'hrtf = 3\n[[stems]]\npath = "in.wav"\n'))],
        r"s\.toml: hrtf: hrtf = 3 is not allowed: must be a valid string or a valid list$",
    ),
    "empty_list_of_heads": (
        lambda w: ["session", "check", str(_write(w / "s.toml", 'hrtf = []\n[[stems]]\npath = "in.wav"\n'))],
        r"s\.toml: hrtf: hrtf = \[\] is not allowed: must be a list of at least 1 item$",
    ),
    "empty_head_in_a_list": (
        lambda w: ["session", "check", str(_write(w / "s.toml", 'hrtf = ["me.sofa", ""]\n[[stems]]\npath = "in.wav"\n'))],
        r"s\.toml: hrtf\[1\]: '' is not allowed: must be text of at least 1 character$",
    ),
    "batch_head_on_a_chain_that_takes_none": (
        lambda w: ["batch", str(w / "in.wav").replace("in.wav", "*.wav"), "--chain", str(w / "gain.toml"), "--hrtf", "model"],
        r"batch: item 'in': .*gain\.toml: no stage takes a head \(hrtf = 'model'\)",
    ),
    "unknown_chain_preset": (
        lambda w: ["process", str(w / "in.wav"), str(w / "out.wav"), "--chain", "no-such-preset"],
        r"no chain file 'no-such-preset' and no preset of that name \(presets: .*mastering",
    ),
    # a name longer than a drive takes (a generated name, a pasted path) was a traceback where a path is only looked at
    "output name too long": (
        lambda w: ["process", str(w / "in.wav"), str(w / f"{LONG}.wav"), "--chain", str(w / "gain.toml")],
        rf"^soundstage: error: '[^']*/{LONG}\.wav': File name too long; {TOO_LONG % 304}\n$",
    ),
    "input name too long": (
        lambda w: ["process", str(w / f"{LONG}.wav"), str(w / "out.wav"), "--chain", str(w / "gain.toml")],
        rf"^soundstage: error: '[^']*/{LONG}\.wav': File name too long; {TOO_LONG % 304}\n$",
    ),
    "chain name too long": (
        lambda w: ["process", str(w / "in.wav"), str(w / "out.wav"), "--chain", f"{LONG}.toml"],
        rf"^soundstage: error: '{LONG}\.toml': File name too long; {TOO_LONG % 305}\n$",
    ),
    "session name too long": (
        lambda w: ["render", str(w / f"{LONG}.toml")],
        rf"^soundstage: error: '[^']*/{LONG}\.toml': File name too long; {TOO_LONG % 305}\n$",
    ),
    "stems folder name too long": (
        lambda w: ["session", "new", str(w / LONG)],
        rf"^soundstage: error: '[^']*/{LONG}': File name too long; {TOO_LONG % 300}\n$",
    ),
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_bad_input_through_the_command(case: str, workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_args, message = CLI_CASES[case]
    args = make_args(workspace)
    before = {p.name: digest(p) for p in workspace.iterdir() if p.is_file()}
    status, err = run_cli(args, capsys)
    assert status == 2
    assert err.startswith("soundstage: error: ") and "Traceback" not in err
    assert re.search(message, err), err
    after = {p.name: digest(p) for p in workspace.iterdir() if p.is_file()}
    assert after == before, "an input was modified or an output/partial file appeared"


def test_instrument_plugin_where_an_effect_is_expected(
    tmp_path: Path, synth_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # one test for both paths: pedalboard takes ~11 s to load any instrument
    write_wav(tmp_path / "in.wav", np.zeros((2, 1000), np.float32))
    chain = _write(tmp_path / "c.toml", f'[[stages]]\ntype = "plugin"\npath = "{synth_path}"\n')
    status, err = run_cli(["process", str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--chain", str(chain)], capsys)
    assert status == 2
    assert re.search(
        r"c.toml: stages\[0\]: plugin '.*SSSynth.vst3' \(SS Test Synth\) is an instrument, but an effect is expected", err
    ), err
    assert not (tmp_path / "out.wav").exists()
    assert issubclass(ChainFileError, SoundstageError) and issubclass(PluginError, SoundstageError)


@pytest.mark.parametrize(
    ("audio", "error", "message"),
    [
        (np.full((2, 100), np.nan, np.float32), AudioInputError, r"nan at channel 0, sample 0"),
        (np.zeros((2, 2), np.float32), AudioInputError, r"shape \(2, 2\) is ambiguous"),
        (np.zeros((2, 0), np.float32), AudioInputError, r"is empty \(zero-length input\)"),
        (np.zeros((0,), np.float32), AudioInputError, r"is empty"),
        (np.zeros((2, 3, 4), np.float32), AudioInputError, r"has 3 dimensions"),
    ],
)
def test_bad_arrays_through_the_api(audio: np.ndarray, error: type[SoundstageError], message: str) -> None:
    with pytest.raises(error, match=message):
        Chain([Gain()])(audio, SR)


def test_all_errors_share_the_hierarchy() -> None:
    for cls in (AudioInputError, ChainFileError, PluginError):
        assert issubclass(cls, SoundstageError) and issubclass(cls, ValueError)


def test_the_name_in_another_case_is_found_only_where_one_is(tmp_path: Path) -> None:
    """missing_hint walks the path part by part: each missing part is looked up case-blind in the folder found so far."""
    from soundstage.files import missing_hint

    (tmp_path / "Stems" / "Drums").mkdir(parents=True)
    (tmp_path / "Stems" / "Drums" / "Kick.WAV").write_bytes(b"")
    assert missing_hint(tmp_path / "stems" / "drums" / "kick.wav").endswith(
        f"{str(tmp_path / 'Stems' / 'Drums' / 'Kick.WAV')!r} is there, named in another case "
        "(macOS and Windows ignore case, this system does not): use that name"
    )
    assert missing_hint(tmp_path / "stems" / "drums" / "snare.wav") == ""  # no such file in any case
    assert missing_hint(tmp_path / "Stems" / "Drums" / "Kick.WAV") == ""  # it is there as named
    assert missing_hint(tmp_path / "Stems" / "Drums" / "Kick.WAV" / "x") == ""  # a file is no folder
    (tmp_path / "usb").symlink_to(tmp_path / "unmounted")
    assert missing_hint(tmp_path / "usb" / "Stems" / "kick.wav") == (
        f"; {str(tmp_path / 'usb')!r} is a link to {str(tmp_path / 'unmounted')!r}, which is not there (a drive not mounted?)"
    )
    # a loop of links (a link made in the folder it points into, twice) was said to be "a drive not mounted?"
    (tmp_path / "a.wav").symlink_to("b.wav")
    (tmp_path / "b.wav").symlink_to("a.wav")
    assert missing_hint(tmp_path / "a.wav") == (
        f"; {str(tmp_path / 'a.wav')!r} is a link to 'b.wav', which leads back to it (a loop of links): link the file"
    )


@pytest.fixture
def held_to_permissions(tmp_path: Path) -> tuple[Path, Callable[..., subprocess.CompletedProcess[str]]]:
    """A folder, and a function running ``soundstage`` there as root without the capabilities that let root pass
    file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH): a folder another user owns and keeps to itself is closed
    to it, as to any user (the suite runs as root; its own folders stay open to it, their owner). Skipped, with the
    reason, where the suite is not root or setpriv (util-linux) is not installed."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root, to run the command without the capabilities that pass file permissions")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    held = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*held, sys.executable, "-m", "soundstage.cli", *args], capture_output=True, text=True, cwd=tmp_path, timeout=120
        )

    return tmp_path, run


def test_files_this_user_may_not_read_are_said_in_one_line(
    held_to_permissions: tuple[Path, Callable[..., subprocess.CompletedProcess[str]]],
) -> None:
    """A folder the user may not enter (another user's, a mount's root) made each command a PermissionError traceback:
    Python's look at whether a path is there raises it. Now one line names the path and what to check."""
    folder, run = held_to_permissions
    secret = folder / "secret"
    secret.mkdir()
    write_wav(secret / "x.wav", np.zeros((2, 480), np.float32))
    write_wav(folder / "in.wav", np.zeros((2, 480), np.float32))
    os.chown(secret / "x.wav", 65534, 65534)
    os.chown(secret, 65534, 65534)  # the user nobody's, kept to itself
    secret.chmod(0o700)
    said = "Permission denied; this user may not read or write there: check the permissions of the file and its folders"
    for args, path in (
        (["process", str(secret / "x.wav"), "out.wav", "--chain", "mastering"], secret / "x.wav"),
        (["process", "in.wav", "out.wav", "--chain", str(secret / "c.toml")], secret / "c.toml"),
        (["render", str(secret / "s.toml")], secret / "s.toml"),
        (["batch", str(secret), "-o", "out", "--chain", "mastering"], secret),
    ):
        done = run(*args)
        assert done.returncode == 2 and done.stderr == f"soundstage: error: '{path}': {said} (ls -ld)\n", (args, done.stderr)
    assert sorted(path.name for path in folder.iterdir()) == ["in.wav", "secret"]
