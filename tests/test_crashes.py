"""A plugin that crashes the process, hangs or puts out NaN: one line naming it, and no unfinished output left.

A third-party plugin that writes through a null pointer or fails an assertion takes soundstage's process down with
it. The shell said "Segmentation fault" and nothing else, and the hidden temporary of the output being written
stayed beside it (half a GB for a 15-minute file, under a name starting with a dot, never seen and never removed).
The test plugin (tests/vst3/sscrash) passes audio through and crashes after ``crash_after_s`` seconds of it, by a
null pointer (SIGSEGV) or by abort (SIGABRT), or, with SSCRASH_ON_LOAD set, as it is made; or then hangs, or puts out
NaN.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stalling  # noqa: E402  (tests/stalling.py: importable in spawned batch workers too)

SR = 48000


@pytest.fixture
def session(tmp_path: Path, vst3_dir: Path) -> tuple[Path, Path]:
    """20 s of stereo noise, and a chain file template with the crashing plugin after a built-in."""
    source = tmp_path / "in" / "mix.wav"
    source.parent.mkdir()
    noise = np.random.default_rng(3).normal(0.0, 0.1, (20 * SR, 2))
    soundfile.write(source, noise, SR, subtype="PCM_24")
    (tmp_path / "out").mkdir()
    return source, vst3_dir / "SSCrash.vst3"


def _chain(tmp_path: Path, plugin: Path, parameters: str) -> Path:
    chain = tmp_path / "in" / "chain.toml"
    chain.write_text(
        'format = 1\n[[stages]]\ntype = "pedalboard.HighpassFilter"\nparameters = { cutoff_frequency_hz = 25.0 }\n'
        f'[[stages]]\ntype = "plugin"\npath = "{plugin}"\nparameters = {{ {parameters} }}\n'
    )
    return chain


def _chain_keeping(tmp_path: Path, plugin: Path, kept: str) -> tuple[Path, Path]:
    """A chain file of the plugin alone, its "Crash after" at 1234.5 (what it crashes or hangs on, with
    SSCRASH_ON_STATE set) in its saved ``state`` or in a ``preset`` beside it; and the preset."""
    from soundstage.host.external import external_parameters, load_plugin, save_vstpreset, saved_state

    loaded = load_plugin(plugin)
    external_parameters(loaded)["crash_after_s"].value = 1234.5
    preset = tmp_path / "in" / "kept.vstpreset"
    save_vstpreset(loaded, preset)
    chain = tmp_path / "in" / "chain.toml"
    stored = f'state = "{saved_state(loaded)}"' if kept == "state" else f'preset = "{preset}"'
    chain.write_text(f'format = 1\n[[stages]]\ntype = "plugin"\npath = "{plugin}"\n{stored}\n')
    return chain, preset


def _process(chain: Path, source: Path, output: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "soundstage.cli",
            "process",
            str(source),
            str(output),
            "--chain",
            str(chain),
            "--buffer-size",
            "4096",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def _left(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.mark.parametrize(
    ("parameters", "signum", "how"),
    [
        ("crash_after_s = 8.0", signal.SIGSEGV, "segmentation fault"),
        ("crash_after_s = 8.0, abort = true", signal.SIGABRT, "aborted"),
    ],
)
def test_a_plugin_that_crashes_while_processing_is_named_and_its_unfinished_output_removed(
    tmp_path: Path, session: tuple[Path, Path], parameters: str, signum: int, how: str
) -> None:
    source, plugin = session
    chain = _chain(tmp_path, plugin, parameters)
    run = _process(chain, source, tmp_path / "out" / "mix.wav")
    _, error = run.communicate(timeout=300)
    assert run.returncode == -signum, error
    assert error.count("\n") == 1, error
    assert error.startswith(f"soundstage: error: the process crashed ({how}) while plugin 'SS Test Crash' ({str(plugin)!r})"), (
        error
    )
    assert "was processing: the plugin's fault" in error and "its unfinished output" in error and "mix.wav' was removed" in error
    assert _left(tmp_path / "out") == [], "the crash left the output's temporary (8 s of 20 had been written)"
    assert _left(tmp_path / "in") == ["chain.toml", "mix.wav"]


def test_a_plugin_that_crashes_as_it_loads_is_named(tmp_path: Path, session: tuple[Path, Path]) -> None:
    source, plugin = session
    chain = _chain(tmp_path, plugin, "crash_after_s = -1.0")
    run = _process(chain, source, tmp_path / "out" / "mix.wav", SSCRASH_ON_LOAD="1")
    _, error = run.communicate(timeout=300)
    assert run.returncode == -signal.SIGSEGV, error
    assert error == (
        f"soundstage: error: the process crashed (segmentation fault) while plugin {str(plugin)!r} was loading: the "
        "plugin's fault, not soundstage's nor the input's; leave it out of the chain, or report it to its maker\n"
    )
    assert _left(tmp_path / "out") == []


@pytest.mark.parametrize("kept", ["state", "preset"])
def test_a_plugin_that_crashes_as_its_saved_state_is_restored_is_named(
    tmp_path: Path, session: tuple[Path, Path], kept: str
) -> None:
    """A chain file's saved state or .vstpreset a plugin cannot take (as one saved by another version of it): the
    crash was put on soundstage's own frame, and the line asked for a report to soundstage."""
    source, plugin = session
    chain, preset = _chain_keeping(tmp_path, plugin, kept)
    run = _process(chain, source, tmp_path / "out" / "mix.wav", SSCRASH_ON_STATE="1")
    _, error = run.communicate(timeout=300)
    assert run.returncode == -signal.SIGSEGV, error
    doing = "was restoring its saved state" if kept == "state" else f"was loading the preset {str(preset)!r}"
    assert error == (
        f"soundstage: error: the process crashed (segmentation fault) while plugin 'SS Test Crash' ({str(plugin)!r}) "
        f"{doing}: the plugin's fault, not soundstage's nor the input's; leave it out of the chain, or report it to "
        "its maker\n"
    )
    assert _left(tmp_path / "out") == []


def test_a_process_killed_midway_says_so_and_leaves_no_unfinished_output(tmp_path: Path, session: tuple[Path, Path]) -> None:
    """SIGKILL (``kill -9``, the system's out-of-memory killer): no Python code runs, as in a crash."""
    source, plugin = session
    chain = _chain(tmp_path, plugin, "crash_after_s = -1.0")
    run = _process(chain, source, tmp_path / "out" / "mix.wav")
    deadline = time.monotonic() + 120
    while not any(name.endswith(".partial") for name in _left(tmp_path / "out")):  # killed while writing its output
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.005)
    run.kill()
    _, error = run.communicate(timeout=60)
    assert run.returncode == -signal.SIGKILL
    assert error == (
        "soundstage: error: the process ended before it finished, saying nothing (killed: kill -9, the system out of "
        f"memory; or a plugin ended it); its unfinished output {str(tmp_path / 'out' / 'mix.wav')!r} was removed\n"
    )
    assert _left(tmp_path / "out") == []


KILLED_AS_THE_TEMPORARY_IS_MADE = """
import os, signal, sys
from pathlib import Path
import numpy as np
from soundstage import crashes
from soundstage.files import atomic_path
from soundstage.sinks import AudioSink, audio_target
crashes.report_in_this_process()
crashes.doing("plugin 'X' was processing")  # the watcher starts as the first plugin runs
target, how = Path(sys.argv[1]), sys.argv[2]
real_open = os.open
def open_then_die(path, flags, *args, **kwargs):  # the system kills the process the moment the file is there
    handle = real_open(path, flags, *args, **kwargs)
    if str(path).endswith(".partial"):
        os.kill(os.getpid(), signal.SIGKILL)
    return handle
os.open = open_then_die
if how == "sink":
    AudioSink(audio_target(target, channels=2, sample_rate=48000, bit_depth=24, frames=480)).open()
else:
    with atomic_path(target) as path:
        path.write_bytes(b"x")
"""


@pytest.mark.parametrize("how", ["sink", "atomic"])
def test_a_process_killed_the_moment_its_temporary_is_made_leaves_it_not(tmp_path: Path, how: str) -> None:
    """The temporary is listed for the watcher before it is made: a kill between the two (a moment, which a busy
    machine stretches) left it, unnamed, beside the output (CI saw it once)."""
    target = tmp_path / "mix.wav"
    run = subprocess.run(
        [sys.executable, "-c", KILLED_AS_THE_TEMPORARY_IS_MADE, str(target), how], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == -signal.SIGKILL, run.stderr
    assert run.stderr.endswith(f"; its unfinished output {str(target)!r} was removed\n"), run.stderr
    assert _left(tmp_path) == []


def test_a_plugin_that_does_not_crash_says_nothing_more(tmp_path: Path, session: tuple[Path, Path]) -> None:
    source, plugin = session
    chain = _chain(tmp_path, plugin, "crash_after_s = -1.0")
    run = _process(chain, source, tmp_path / "out" / "mix.wav")
    out, error = run.communicate(timeout=300)
    assert run.returncode == 0 and error == "", error
    assert _left(tmp_path / "out") == ["mix.wav"]
    alone = tmp_path / "in" / "alone.toml"  # the chain without the plugin, which passes audio through as it is
    alone.write_text(chain.read_text().split('[[stages]]\ntype = "plugin"')[0])
    assert "plugin" not in alone.read_text()
    _process(alone, source, tmp_path / "alone.wav").communicate(timeout=300)
    written, rate = soundfile.read(tmp_path / "out" / "mix.wav")
    expected, _ = soundfile.read(tmp_path / "alone.wav")
    assert rate == SR and written.shape == expected.shape == (20 * SR, 2)
    assert np.max(np.abs(written - expected)) < 2**-23, "the samples are the built-in's alone, to the last bit"


def test_a_render_a_plugin_crashes_leaves_none_of_its_outputs_unfinished(tmp_path: Path, session: tuple[Path, Path]) -> None:
    """Every render of the session was being written (the A/B pair as hidden W64 first passes): all are removed, and
    the folder the render made for them (it was left empty)."""
    source, plugin = session
    chain = _chain(tmp_path, plugin, "crash_after_s = 8.0")
    made = subprocess.run(
        [sys.executable, "-m", "soundstage.cli", "session", "new", str(source.parent), "-o", str(tmp_path / "out" / "s.toml")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert made.returncode == 0
    text = (tmp_path / "out" / "s.toml").read_text()
    assert 'chain = "studio-5"\n' in text
    (tmp_path / "out" / "s.toml").write_text(text.replace('chain = "studio-5"\n', f'chain = "{chain}"\n'))
    run = subprocess.run(
        [sys.executable, "-m", "soundstage.cli", "render", str(tmp_path / "out" / "s.toml")], capture_output=True, text=True
    )
    assert run.returncode == -signal.SIGSEGV, run.stderr
    assert run.stderr.count("\n") == 1 and "while plugin 'SS Test Crash'" in run.stderr, run.stderr
    assert re.search(r"; its unfinished outputs '[^']+', '[^']+', '[^']+' and \d+ more were removed\n$", run.stderr), run.stderr
    assert not (tmp_path / "out" / "renders").exists()  # made for the renders: none is left, nor is it


def test_a_batch_item_whose_plugin_crashes_its_worker_names_the_plugin(tmp_path: Path, session: tuple[Path, Path]) -> None:
    """A batch's worker crashed by a plugin was "its worker process died twice (a plugin crashed it, or it was
    killed)": now the item's reason says which plugin and how, from the worker's crash watcher; the other item is done
    and nothing is left in the output folder but the outputs and the manifest."""
    source, plugin = session
    chain = _chain(tmp_path, plugin, "crash_after_s = 8.0")  # the 20 s item crashes; a 1 s one does not
    soundfile.write(source.parent / "short.wav", np.zeros((SR, 2)), SR, subtype="PCM_24")
    out = tmp_path / "out" / "batch"
    done = subprocess.run(
        [sys.executable, "-m", "soundstage.cli", "batch", str(source.parent), "--chain", str(chain), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 3, done.stderr
    entries = {entry["item"]: entry for entry in map(json.loads, (out / "batch-manifest.jsonl").read_text().splitlines())}
    assert entries["short"]["status"] == "done"
    reason = entries["mix"]["reason"]
    assert reason.startswith("its worker process died twice; the second time the process crashed (segmentation fault) ")
    # "while plugin ..." from its frame; "in a thread of no soundstage code, as plugin ..." where the trace showed the
    # crash on a thread with no soundstage frame (seen once, on a machine running two suites at once)
    assert f"plugin 'SS Test Crash' ({str(plugin)!r}) was processing" in reason and reason.endswith("the item was not written")
    assert sorted(path.name for path in out.iterdir()) == ["batch-manifest.jsonl", "short.wav"]


@pytest.mark.parametrize("kind", ["process", "render"])
def test_a_cluster_item_whose_plugin_crashes_its_workers_is_named_and_the_one_beside_it_done(
    tmp_path: Path, session: tuple[Path, Path], kind: str
) -> None:
    """On a Dask cluster the item's reason was Dask's "Attempted to run task ... on 4 different workers, but all those
    workers died" (inspect the worker logs), four of its unfinished temporaries stayed in the output folder, and an
    item that ran in the same worker process died with it each time and failed too. A session's render item, whose
    outputs are files in its own folder, is named as well, and its folder not left."""
    distributed = pytest.importorskip("distributed", reason="the cluster extra: pip install 'soundstage[cluster]'")
    source, plugin = session
    chain = _chain(tmp_path, plugin, "crash_after_s = 5.0")
    soundfile.write(tmp_path / "in" / "short.wav", np.zeros((SR // 10, 2)), SR, subtype="PCM_24")
    given, crashing = [str(source.parent), "--chain", str(chain)], "mix"
    if kind == "render":
        session_file = tmp_path / "in" / "album.toml"
        session_file.write_text(
            f'format = 1\n[[stems]]\npath = "{source}"\n[master]\nchain = "{chain}"\n'
            '[[renders]]\nname = "mixdown"\nkind = "mixdown"\n[[renders]]\nname = "reference"\nkind = "reference"\n'
        )
        jobs = tmp_path / "in" / "jobs.toml"
        jobs.write_text(
            f'format = 1\n[[items]]\nsession = "{session_file}"\noutput = "album"\n'
            f'[[items]]\ninput = "{tmp_path / "in" / "short.wav"}"\nchain = "{chain}"\n'
        )
        given, crashing = [str(jobs)], "album"
    out = tmp_path / "out" / "batch"
    # one worker process of two threads: the short item runs beside the one that crashes it
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0") as cluster:
        done = subprocess.run(
            [sys.executable, "-m", "soundstage.cli", "batch", *given, "-o", str(out), "--scheduler", cluster.scheduler_address],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    assert done.returncode == 3, done.stderr
    entries = {entry["item"]: entry for entry in map(json.loads, (out / "batch-manifest.jsonl").read_text().splitlines())}
    assert entries["short"]["status"] == "done"
    assert entries[crashing]["reason"].startswith(
        "the cluster's workers died running it, each time; the last time the process crashed (segmentation fault) "
        f"while plugin 'SS Test Crash' ({str(plugin)!r}) was processing: the plugin's fault"
    ), entries[crashing]["reason"]
    assert sorted(path.name for path in out.iterdir()) == ["batch-manifest.jsonl", "short.wav"]


#: ``soundstage`` with 3 s for a call into plugins (stalls.PLUGIN_LIMIT_S, 5 minutes): a hung plugin seen soon.
CLI_3_S = "import sys; from soundstage import stalls; stalls.PLUGIN_LIMIT_S = 3.0; from soundstage.cli import main; sys.exit(main(sys.argv[1:]))"


def _process_3_s(chain: Path, source: Path, output: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``soundstage process`` with 3 s for a call into plugins."""
    return subprocess.run(
        [sys.executable, "-c", CLI_3_S, "process", str(source), str(output), "--chain", str(chain)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def test_a_plugin_that_hangs_is_named_in_one_line_and_leaves_nothing(tmp_path: Path, session: tuple[Path, Path]) -> None:
    """A plugin that never returns from processing a block (waiting for what never comes: no CPU spent) hung the
    command for ever, Ctrl-C the only way out. Past the limit for one call into plugins: one line naming it, exit 2,
    no unfinished output left."""
    source, plugin = session
    chain = _chain(tmp_path, plugin, "crash_after_s = 5.0, hang = true")
    output = tmp_path / "out" / "mix.wav"
    run = _process_3_s(chain, source, output)
    assert run.returncode == 2, run.stderr
    assert run.stderr == (
        f"soundstage: error: plugin 'SS Test Crash' ({str(plugin)!r}) has run 3 s processing one block without "
        "returning: it hangs (in a loop, or waiting for what never comes); leave it out of the chain, or report it to "
        "its maker\n"
    )
    assert _left(tmp_path / "out") == []


def test_a_plugin_that_hangs_as_it_loads_is_named_with_what_to_do(tmp_path: Path, session: tuple[Path, Path]) -> None:
    """A commercial plugin whose license check waits for a window (or a license server) a command line never shows
    hung the command for ever as the chain was made, saying nothing."""
    source, plugin = session
    chain = _chain(tmp_path, plugin, "crash_after_s = -1.0")
    run = _process_3_s(chain, source, tmp_path / "out" / "mix.wav", SSCRASH_ON_LOAD="hang")
    assert run.returncode == 2, run.stderr
    assert run.stderr == (
        f"soundstage: error: plugin {str(plugin)!r} has run 3 s loading without returning: it hangs (waiting for what "
        "never comes: an authorization or license window a command line cannot show, a license server out of reach; "
        "or in a loop); open it once in a DAW on this machine to authorize it, or leave it out of the chain, or report "
        "it to its maker\n"
    )
    assert _left(tmp_path / "out") == []


def test_a_plugin_that_hangs_as_its_saved_state_is_restored_is_named(tmp_path: Path, session: tuple[Path, Path]) -> None:
    """pedalboard sets a plugin's state holding Python's interpreter lock, so no thread of the process can time the
    call: faulthandler's timer (a thread of C) ends the process, and the crash watcher says why."""
    source, plugin = session
    chain, _ = _chain_keeping(tmp_path, plugin, "state")
    run = _process_3_s(chain, source, tmp_path / "out" / "mix.wav", SSCRASH_ON_STATE="hang")
    assert run.returncode == 1, run.stderr
    assert run.stderr == (
        f"soundstage: error: plugin 'SS Test Crash' ({str(plugin)!r}) has run 3 s restoring its saved state without "
        "returning: it hangs (in a loop, or waiting for what never comes); leave it out of the chain, or report it to "
        "its maker\n"
    )


def test_a_batch_item_whose_plugin_hangs_fails_with_its_name_and_the_others_are_done(
    tmp_path: Path, session: tuple[Path, Path]
) -> None:
    from soundstage.batch import load_jobs
    from soundstage.batch.run import run_batch

    source, plugin = session
    chain = _chain(tmp_path, plugin, "crash_after_s = 5.0, hang = true")  # the 20 s item hangs; a 1 s one does not
    soundfile.write(source.parent / "short.wav", np.zeros((SR, 2)), SR, subtype="PCM_24")
    out = tmp_path / "out" / "batch"
    result = run_batch(load_jobs(str(source.parent), chain=str(chain)), out, workers=2, work=stalling.hang_limit_3_s)
    assert result.done == ["short"] and list(result.failed) == ["mix"], result
    assert result.failed["mix"].startswith(f"plugin 'SS Test Crash' ({str(plugin)!r}) has run 3 s processing one block")
    assert sorted(path.name for path in out.iterdir()) == ["batch-manifest.jsonl", "short.wav"]


@pytest.mark.parametrize("when", ["loading", "restoring its saved state"])
def test_a_batch_whose_plugin_hangs_as_it_loads_does_not_wait_for_it_on_every_item(
    tmp_path: Path, session: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """A catalog through a plugin whose license check waits for a window, or which hangs on the state the chain gives
    it: every item would wait the limit (5 minutes each, days for a catalog). The items in flight when it is seen fail
    with it; the others of its chain are not tried, and say why; an item of another chain is done."""
    from soundstage.batch import load_jobs
    from soundstage.batch.run import run_batch

    source, plugin = session
    if when == "loading":
        chain, hangs = _chain(tmp_path, plugin, "crash_after_s = -1.0"), f"plugin {str(plugin)!r} has run 3 s loading"
        monkeypatch.setenv("SSCRASH_ON_LOAD", "hang")  # in the spawned workers
    else:
        chain, _ = _chain_keeping(tmp_path, plugin, "state")
        hangs = f"plugin 'SS Test Crash' ({str(plugin)!r}) has run 3 s restoring its saved state"
        monkeypatch.setenv("SSCRASH_ON_STATE", "hang")
    for name in "bcdef":
        soundfile.write(source.parent / f"{name}.wav", np.zeros((SR // 10, 2)), SR, subtype="PCM_24")
    jobs = tmp_path / "in" / "jobs.toml"
    items = "".join(f'[[items]]\ninput = "{name}.wav"\n' for name in ("mix", "b", "c", "d", "e"))
    jobs.write_text(f'format = 1\nchain = "{chain}"\n{items}[[items]]\ninput = "f.wav"\nchain = "stereo-reference"\n')
    out = tmp_path / "out" / "batch"
    result = run_batch(load_jobs(str(jobs)), out, workers=2, work=stalling.hang_limit_3_s)
    assert result.done == ["f"], result
    hangs += " without returning: it hangs"
    own = [item for item, reason in result.failed.items() if reason.startswith(hangs)]
    assert 1 <= len(own) <= 2, result.failed  # the items in flight on the two workers
    for item, reason in result.failed.items():
        assert item in own or re.fullmatch(rf"not tried: for item '({'|'.join(own)})', {re.escape(hangs)}.*", reason), reason
    assert sorted(result.failed) == ["b", "c", "d", "e", "mix"]
    assert sorted(path.name for path in out.iterdir()) == ["batch-manifest.jsonl", "f.wav"]


def test_a_plugin_that_puts_out_nan_is_named_with_where(tmp_path: Path, session: tuple[Path, Path]) -> None:
    """A plugin whose output turns to NaN after 5 s (an unstable setting, a bug) was refused at the output as "a stage
    ran unstable or a plugin misbehaved there": in a chain of several, which one? Now the plugin is named, with the
    time in its input, and nothing is written (in `live`, the take so far is kept, as it says)."""
    source, plugin = session
    chain = _chain(tmp_path, plugin, "crash_after_s = 5.0, nan = true")
    run = _process(chain, source, tmp_path / "out" / "mix.wav")
    _, error = run.communicate(timeout=300)
    assert run.returncode == 2, error
    assert error == (
        f"soundstage: error: plugin 'SS Test Crash' ({str(plugin)!r}) put nan into the audio, channel 0, near 5.000 s "
        "of its input: the plugin misbehaved (an unstable setting, a bug); change its settings, leave it out of the "
        "chain, or report it to its maker\n"
    )
    assert _left(tmp_path / "out") == []


def test_a_plugin_whose_latency_moves_mid_stream_is_said_once_with_where(tmp_path: Path, stereo_gain_path: Path) -> None:
    """A lookahead or an oversampling automated changes a plugin's latency mid-stream; the stream compensates the one
    it had at its start, so what follows comes that much later, which nothing said (clicks every 0.1 s came 100
    samples late from 1 s on). Now a warning says which plugin, by how much and where; the shift itself stays (a
    stream cannot take back what it has given)."""
    from soundstage import load_chain

    chain_file = tmp_path / "chain.toml"
    chain_file.write_text(f'format = 1\n[[stages]]\ntype = "plugin"\nname = "g"\npath = "{stereo_gain_path}"\n')
    chain = load_chain(chain_file)
    clicks = np.zeros((2, 2 * SR), np.float32)
    clicks[:, :: SR // 10] = 1.0
    block = SR // 10
    with pytest.warns(UserWarning) as caught:
        out = []
        for start in range(0, clicks.shape[1], block):
            if start == SR:
                chain.parameters["g.delay_samples"].value = 100
            out.append(chain.process(clicks[:, start : start + block], SR, reset=False))
    said = [str(w.message) for w in caught if "changed its latency" in str(w.message)]
    assert said == [
        f"plugin 'SS Test Gain' ({str(stereo_gain_path)!r}) changed its latency from 0 to 100 samples near 1.000 s of its "
        "input: what follows is 100 samples later than what came before (the latency is compensated as the stream "
        "begins); set what moves it in the chain file, not by automation"
    ]
    heard = np.flatnonzero(np.abs(np.concatenate(out, axis=1)[0]) > 0.5)
    late = heard - np.arange(heard.size) * block  # the stream is compensated for the latency it began with
    assert set(late[:9]) == {0} and set(late[10:]) == {100}  # the shift the warning names
