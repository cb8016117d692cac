"""Calls into a decoder that never return (soundstage.stalls): seen by the CPU time they spend, not the time they
wait, and ended in one line, with nothing half-written left, by `process`, and as one failed item by `batch`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
import soundfile

from soundstage import stalls
from soundstage.sinks import AudioSink, audio_target

T = TypeVar("T")
TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
import stalling  # noqa: E402  (tests/stalling.py: importable in spawned batch workers too)

CPU_CLOCKS = pytest.mark.skipif(not hasattr(time, "pthread_getcpuclockid"), reason="this platform has no CPU clock per thread")


def _within(seconds: float, work: Callable[[], T]) -> T:
    """``work()``, run on a thread: a hang (what the watch is there to end) fails the test instead of holding it."""
    results: list[T] = []
    thread = threading.Thread(target=lambda: results.append(work()), daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    if thread.is_alive() or not results:
        pytest.fail(f"still running after {seconds:g} s (or raised): a call that never returns was not ended")
    return results[0]


def _seen(work: Callable[[], None]) -> list[stalls.Stall]:
    """The stalls the watch sees while ``work`` runs."""
    seen: list[stalls.Stall] = []
    previous = stalls.on_stall(seen.append)
    try:
        work()
    finally:
        stalls.on_stall(previous)
    return seen


@CPU_CLOCKS
def test_a_call_that_spends_its_cpu_is_one_stall_and_one_that_waits_is_none(tmp_path: Path) -> None:
    """A call spinning past 0.3 CPU seconds is seen once (within a poll, 0.5 s, of its limit), naming the file, what
    it did, the CPU spent and its thread; a call that waits 1.5 s (a disk that does not answer) spends no CPU and is
    no stall."""
    path = tmp_path / "mix.wav"

    def spin() -> None:
        with stalls.watched(path, "reading", limit_s=0.3):
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                pass

    started = time.monotonic()
    seen = _seen(spin)
    assert len(seen) == 1, seen
    assert seen[0].path == path and seen[0].doing == "reading" and seen[0].thread == threading.get_ident()
    assert 0.3 <= seen[0].cpu_s <= 1.5
    assert time.monotonic() - started < 3.0

    def wait() -> None:
        with stalls.watched(path, "reading", limit_s=0.3):
            time.sleep(1.5)

    assert _seen(wait) == []


def test_the_default_is_a_warning_and_a_writer_lists_its_temporary(tmp_path: Path) -> None:
    """Without an action (a library's use) a stall warns once; an output being written (AudioSink) lists its
    temporary for the action to remove, and takes it off the list when it is published."""
    path = tmp_path / "mix.wav"
    with pytest.warns(RuntimeWarning, match=r"'.*mix\.wav': reading it has run \d+ s of CPU in one call") as record:
        with stalls.watched(path, "reading", limit_s=0.2):
            end = time.monotonic() + 1.5  # CPU spent past the limit, and on for two polls more
            while time.monotonic() < end:
                pass
    assert len(record) == 1
    target = audio_target(tmp_path / "out.wav", channels=2, sample_rate=48000, bit_depth=24, frames=100)
    sink = AudioSink(target, commit=False).open()
    sink.write(np.zeros((2, 100), np.float32))
    partial = list(tmp_path.glob(".out.wav.*.partial"))
    assert len(partial) == 1
    assert stalls.remove_temporaries() == 1 and not partial[0].exists()
    sink.discard()
    with AudioSink(target) as published:
        published.write(np.zeros((2, 100), np.float32))
    assert (tmp_path / "out.wav").exists() and stalls.remove_temporaries() == 0 and (tmp_path / "out.wav").exists()


def _looping_process(folder: Path, *, limit_s: float, loop_in: str = "reads") -> tuple[list[str], Path, Path]:
    """The command of a `soundstage process` (a child Python) whose every read loops in libsndfile (``loop_in``
    "reads"; "opens": libsndfile's first look at its input, made while soundstage holds what C libraries print), the
    watch's limit ``limit_s``; its input (1 s of noise) and its output (in a folder of its own, ``out``)."""
    source = folder / "mix.wav"
    soundfile.write(source, np.random.default_rng(0).standard_normal((48000, 2)) * 0.05, 48000, subtype="PCM_24")
    looping = stalling.looping_wav(folder / "looping.wav")
    output = folder / "out" / "device.wav"
    output.parent.mkdir()
    script = (
        "import sys; from pathlib import Path\n"
        f"sys.path.insert(0, {str(TESTS)!r})\n"
        "import stalling\n"
        "from soundstage.cli import main\n"
        f"stalling.loop_in_{loop_in}(Path(sys.argv[1]), limit_s=float(sys.argv[4]))\n"
        "sys.exit(main(['process', sys.argv[2], sys.argv[3], '--chain', 'stereo-reference']))\n"
    )
    return [sys.executable, "-c", script, str(looping), str(source), str(output), str(limit_s)], source, output


@pytest.mark.parametrize(("loop_in", "doing"), [("reads", "reading"), ("opens", "opening")])
def test_process_ends_a_call_that_never_returns_in_one_line_and_leaves_nothing(tmp_path: Path, loop_in: str, doing: str) -> None:
    """`soundstage process` on an input whose decoder loops in C (libsndfile's walk of a damaged tag, at 100% of a
    core) while the output is being written: Ctrl-C and SIGTERM could not stop it; it ends by itself once the read
    has spent its limit (2 s here, 60 s as shipped) with one line naming the input, status 2, and neither the output
    nor a temporary of it. The same for libsndfile's first look at the input, which runs while soundstage holds what
    C libraries print on stderr (its mpg123 prints its search for a frame in what is no MP3): the line went to the
    held messages, which the ended process never wrote (status 2, nothing said); it is said now."""
    command, source, output = _looping_process(tmp_path, limit_s=2.0, loop_in=loop_in)
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"process hung on {doing} that never returns")
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("soundstage: error: input file "), done.stderr
    assert repr(str(source)) in lines[0] and f"{doing} it has run" in lines[0] and "without returning" in lines[0]
    assert list(output.parent.iterdir()) == []
    assert time.monotonic() - started < 60


def test_sigterm_while_library_messages_are_held_is_said(tmp_path: Path) -> None:
    """SIGTERM while an open loops with the libraries' messages held (the limit far off): the process ends with its
    one line, not in silence (before: status 143 and nothing said)."""
    command, _, output = _looping_process(tmp_path, limit_s=600.0, loop_in="opens")
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "looping\n"
        time.sleep(0.5)  # inside the looping open
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 143, (child.returncode, err)
    assert err == "soundstage: terminated by SIGTERM; no output was written\n", err
    assert list(output.parent.iterdir()) == []


def test_a_batch_item_whose_read_never_returns_fails_alone_with_the_reason(tmp_path: Path) -> None:
    """A batch of three items, item01's reads looping in C: its worker ends itself (nothing else can end the call),
    leaving the reason; the item is recorded failed with it, at its first attempt (a retry would only loop again),
    with no output or temporary; the other two are done."""
    from soundstage.batch import load_jobs
    from soundstage.batch.run import run_batch

    folder = tmp_path / "in"
    folder.mkdir()
    for index in range(3):
        noise = np.random.default_rng(index).standard_normal((24000, 2)) * 0.05
        soundfile.write(folder / f"item{index:02d}.wav", noise, 48000, subtype="PCM_24")
    (tmp_path / "damaged").mkdir()
    stalling.looping_wav(tmp_path / "damaged" / "looping.wav")
    out = tmp_path / "out"
    items = load_jobs(folder, chain="mastering")
    result = _within(240, lambda: run_batch(items, out, workers=2, work=stalling.loop_in_item01))
    assert sorted(result.done) == ["item00", "item02"]
    assert list(result.failed) == ["item01"]
    reason = result.failed["item01"]
    assert "item01.wav" in reason and "reading it has run" in reason and "\n" not in reason, reason
    entries = [json.loads(line) for line in (out / "batch-manifest.jsonl").read_text().splitlines()]
    assert [e["attempt"] for e in entries if e["item"] == "item01"] == [1]
    assert sorted(p.name for p in out.iterdir()) == ["batch-manifest.jsonl", "item00.wav", "item02.wav"]


def test_a_stall_names_what_it_called_and_the_fix_for_that_file() -> None:
    """An audio file's stall names its decoder and the conversion; a SOFA set's (read under the watch too) names the
    netCDF library and says to copy the file again."""
    audio = str(stalls.Stall(Path("/m/mix.wav"), "reading", 61.2, 1))
    assert audio.startswith("input file '/m/mix.wav': reading it has run 61 s of CPU in one call into its decoder")
    assert audio.endswith("(e.g. ffmpeg -i mix.wav -c:a pcm_s24le mix-pcm.wav)")
    head = str(stalls.Stall(Path("/h/me.sofa"), "opening", 75.0, 1, "the netCDF library"))
    assert "opening it has run 75 s of CPU in one call into the netCDF library" in head
    assert head.endswith("copy it again from where it came from") and "ffmpeg" not in head


@pytest.mark.parametrize(("signum", "status", "said"), [(2, 130, "interrupted"), (15, 143, "terminated by SIGTERM")])
def test_ctrl_c_and_sigterm_reach_a_read_that_never_returns(tmp_path: Path, signum: int, status: int, said: str) -> None:
    """Ctrl-C (SIGINT) or SIGTERM while `soundstage process` waits on a read looping in C (the limit set far off, 600
    s): Python runs its handlers only between bytecodes, so before they did nothing at all (only SIGKILL ended it,
    leaving a temporary behind). Within about a second it ends as Ctrl-C ends it anywhere else: one line, status 130
    (143), neither the output nor a temporary of it."""
    command, _, output = _looping_process(tmp_path, limit_s=600.0)
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal, whatever pytest's is
    )
    try:
        deadline = time.monotonic() + 60
        while not list(output.parent.glob(".device.wav.*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(output.parent.glob(".device.wav.*")), "the output was never begun"
        time.sleep(1.0)  # well inside the looping read
        sent = time.monotonic()
        child.send_signal(signum)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert time.monotonic() - sent < 10
    assert child.returncode == status, (child.returncode, err)
    assert err == f"soundstage: {said}; no output was written\n", err
    assert list(output.parent.iterdir()) == []


def test_a_dask_item_whose_read_never_returns_fails_with_the_reason(tmp_path: Path) -> None:
    """The same on a Dask cluster (two worker processes): the stalled item's worker ends itself each time the cluster
    tries it, until the cluster gives it up; the item is recorded failed with the stall's reason, not the cluster's
    ("KilledWorker"), with no output or temporary, and the other items are done."""
    distributed = pytest.importorskip("distributed")
    from soundstage.batch import load_jobs
    from soundstage.batch.run import run_batch

    folder = tmp_path / "in"
    folder.mkdir()
    for index in range(3):
        noise = np.random.default_rng(index).standard_normal((24000, 2)) * 0.05
        soundfile.write(folder / f"item{index:02d}.wav", noise, 48000, subtype="PCM_24")
    (tmp_path / "damaged").mkdir()
    stalling.looping_wav(tmp_path / "damaged" / "looping.wav")
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        items, address = load_jobs(folder, chain="mastering"), cluster.scheduler_address
        result = _within(240, lambda: run_batch(items, out, scheduler=address, work=stalling.loop_in_item01))
    assert sorted(result.done) == ["item00", "item02"]
    assert list(result.failed) == ["item01"]
    assert "item01.wav" in result.failed["item01"] and "reading it has run" in result.failed["item01"], result.failed
    assert sorted(p.name for p in out.iterdir()) == ["batch-manifest.jsonl", "item00.wav", "item02.wav"]
