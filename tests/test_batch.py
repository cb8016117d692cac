"""soundstage batch: local workers and a Dask cluster give the bytes serial `soundstage process` gives; failures stay
with their item; a batch stopped by SIGINT resumes without re-rendering; a killed worker is replaced and its item retried."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundstage.cli import main

SR = 48000


def _write_items(folder: Path, count: int, seconds: float) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index in range(count):
        noise = np.random.default_rng(index).standard_normal((int(SR * seconds), 2)) * 0.05
        path = folder / f"item{index:02d}.wav"
        soundfile.write(path, noise, SR, subtype="PCM_24")
        files.append(path)
    return files


def _batch(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "soundstage.cli", "batch", *args], capture_output=True, text=True, timeout=timeout
    )


def _manifest(out: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (out / "batch-manifest.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, vst3_dir: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """19 short items and a corrupt one, a chain holding a DPF test plugin, and each item's serial `process` output."""
    root = tmp_path_factory.mktemp("batch")
    files = _write_items(root / "in", 19, 0.4)
    (root / "in" / "item19.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(200))  # corrupt
    chain = root / "chain.toml"
    chain.write_text(
        "format = 1\n"
        f'[[stages]]\ntype = "plugin"\npath = "{vst3_dir / "SSGain.vst3"}"\nparameters = {{ gain_db = -3.0 }}\n'
        '[[stages]]\ntype = "Gain"\nparameters = { gain_db = 1.5 }\n'
    )
    serial = {}
    for file in files:
        target = root / "serial" / file.name
        target.parent.mkdir(exist_ok=True)
        assert main(["process", str(file), str(target), "--chain", str(chain)]) == 0
        serial[file.name] = target.read_bytes()
    return root, chain, serial


def _check(out: Path, serial: dict[str, bytes]) -> None:
    entries = {e["item"]: e for e in _manifest(out)}
    assert len(entries) == 20
    assert entries["item19"]["status"] == "failed" and "cannot be read" in entries["item19"]["reason"]
    for name, data in serial.items():
        assert (out / name).read_bytes() == data, name
        entry = entries[Path(name).stem]
        assert entry["status"] == "done" and entry["outputs"][0]["sha256"] == __import__("hashlib").sha256(data).hexdigest()
        assert entry["plugins"][0]["sha256"] and entry["versions"]["plugins"]  # the DPF plugin, hashed and versioned
        assert entry["outputs"][0]["true_peak_dbtp"] < 0.0 and entry["outputs"][0]["integrated_lufs"] < 0.0
    assert not list(out.glob(".*.partial"))


def test_local_workers_match_serial_process(job: tuple[Path, Path, dict[str, bytes]]) -> None:
    root, chain, serial = job
    out = root / "local"
    done = _batch(str(root / "in"), "--chain", str(chain), "-o", str(out), "--workers", "2")
    assert done.returncode == 3, done.stderr  # 2 + one failed item
    assert "19 done, 0 already done, 1 failed of 20" in done.stdout
    assert "item 'item19' failed: input file" in done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr  # the plugin's lines as the workers let go of it: not shown
    _check(out, serial)
    workers = {e["worker"] for e in _manifest(out)}
    print(f"local: {len(workers)} worker process(es) used")
    again = _batch(str(root / "in"), "--chain", str(chain), "-o", str(out), "--resume")
    assert "0 done, 19 already done, 1 failed" in again.stdout  # the corrupt item is tried again, the rest skipped
    chain.write_text(chain.read_text().replace("gain_db = 1.5", "gain_db = 1.0"))
    try:
        changed = _batch(str(root / "in"), "--chain", str(chain), "-o", str(out), "--resume")
        assert "19 done, 0 already done" in changed.stdout  # a changed chain renders again (over its own outputs)
    finally:
        chain.write_text(chain.read_text().replace("gain_db = 1.0", "gain_db = 1.5"))


def test_a_dask_cluster_matches_serial_process(job: tuple[Path, Path, dict[str, bytes]]) -> None:
    distributed = pytest.importorskip("distributed", reason="the cluster extra: pip install 'soundstage[cluster]'")
    root, chain, serial = job
    out = root / "dask"
    # two threads in each worker, as `dask worker` runs one per core: two items at once in one process
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True, dashboard_address=":0") as cluster:
        done = _batch(str(root / "in"), "--chain", str(chain), "-o", str(out), "--scheduler", cluster.scheduler_address)
    assert done.returncode == 3, done.stderr
    _check(out, serial)


def test_items_on_two_threads_of_one_dask_worker_give_the_bytes_of_process(tmp_path: Path) -> None:
    """A Dask worker runs an item in each of its threads at once (``dask worker`` starts one per core). The worker
    built a chain once per process and gave it to every item: two items ran through one chain at once, its filters'
    state shared (an item failed with "could not broadcast input array from shape (2,14400) into shape (2,14274)",
    or wrote another's audio). Each thread now has chains of its own: eight items through ``mastering`` (built-ins
    only, so they run on both threads) give the bytes ``soundstage process`` writes for each."""
    distributed = pytest.importorskip("distributed", reason="the cluster extra: pip install 'soundstage[cluster]'")
    files = _write_items(tmp_path / "in", 8, 1.5)
    (tmp_path / "serial").mkdir()
    for file in files:
        assert main(["process", str(file), str(tmp_path / "serial" / file.name), "--chain", "mastering"]) == 0
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0") as cluster:
        done = _batch(str(tmp_path / "in"), "--chain", "mastering", "-o", str(out), "--scheduler", cluster.scheduler_address)
    assert done.returncode == 0, done.stderr
    workers = {e["worker"] for e in _manifest(out)}
    assert len(workers) == 1  # one process ran them all, on its two threads
    for file in files:
        assert (out / file.name).read_bytes() == (tmp_path / "serial" / file.name).read_bytes(), file.name


def test_a_cluster_with_no_workers_is_said_while_the_items_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster whose workers all died and were not restarted (or none started yet) kept the batch waiting for ever,
    saying nothing. The items still wait, as an adaptive cluster starts workers as work comes, but the batch says
    so once a spell (60 s; 1 s here), with what to do; a worker that joins then renders them."""
    distributed = pytest.importorskip("distributed", reason="the cluster extra: pip install 'soundstage[cluster]'")
    import warnings

    from soundstage.batch import cluster as cluster_module
    from soundstage.batch import load_jobs
    from soundstage.batch.run import run_batch

    monkeypatch.setattr(cluster_module, "NO_WORKERS_NOTICE_S", 1.0)
    _write_items(tmp_path / "in", 2, 0.1)
    with (
        distributed.LocalCluster(n_workers=0, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        warnings.catch_warnings(record=True) as said,
        ThreadPoolExecutor(1) as thread,
    ):
        warnings.simplefilter("always")
        batch = thread.submit(
            run_batch, load_jobs(str(tmp_path / "in"), chain="mastering"), tmp_path / "out", scheduler=cluster.scheduler_address
        )
        deadline = time.monotonic() + 60
        while not said and time.monotonic() < deadline and not batch.done():
            time.sleep(0.2)
        notices = [str(warning.message) for warning in said]
        cluster.scale(1)
        result = batch.result(timeout=120)
    assert result.done == ["item00", "item01"], result
    assert len(notices) == 1 and re.fullmatch(
        rf"batch: the cluster has had no workers for \d+ s and 2 item\(s\) wait for one: start workers \(dask worker "
        rf"{re.escape(cluster.scheduler_address)}\), or stop with Ctrl-C \(--resume goes on from there\)",
        notices[0],
    ), notices


def test_a_scheduler_that_cannot_be_reached_leaves_no_folder(tmp_path: Path) -> None:
    """A batch whose Dask scheduler address is wrong fails in one line and makes no output folder (before: an empty
    folder, and its parents, were left behind)."""
    pytest.importorskip("distributed", reason="the cluster extra: pip install 'soundstage[cluster]'")
    _write_items(tmp_path / "in", 2, 0.1)
    out = tmp_path / "new" / "out"
    done = _batch(str(tmp_path / "in"), "--chain", "mastering", "-o", str(out), "--scheduler", "no-port-here")
    assert done.returncode == 2 and "cannot reach the Dask scheduler at 'no-port-here'" in done.stderr
    assert "give the address its 'dask scheduler' prints (tcp://HOST:8786)" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "new").exists()
    (tmp_path / "kept").mkdir()
    done = _batch(str(tmp_path / "in"), "--chain", "mastering", "-o", str(tmp_path / "kept"), "--scheduler", "no-port-here")
    assert done.returncode == 2 and (tmp_path / "kept").is_dir()  # the user's folder stays


def test_items_that_fail_for_one_reason_are_said_in_one_line(tmp_path: Path) -> None:
    """A catalog whose items all fail alike (a chain that does not take their channels; a plugin that hung, leaving
    the rest untried) printed the reason once per item: 10 000 lines. Now once, with the count and the first items;
    an item failing for a reason of its own keeps its line."""
    (tmp_path / "in").mkdir()
    for index in range(7):
        soundfile.write(tmp_path / "in" / f"t{index}.wav", np.zeros((SR // 10, 3)), SR, subtype="PCM_24")
    soundfile.write(tmp_path / "in" / "u.wav", np.zeros((SR // 10, 2)), SR, subtype="PCM_24")
    (tmp_path / "in" / "v.wav").write_bytes(b"RIFF")
    done = _batch(str(tmp_path / "in"), "--chain", "studio-5", "-o", str(tmp_path / "out"), "--workers", "1")
    assert done.returncode == 2 + 8, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(
        "soundstage: error: 7 items ('t0', 't1', 't2', 't3', 't4' and 2 more) failed: 'device' (chain[0]) takes 2 "
        "channel(s), but gets 3 from the chain input; "
    ), lines[0]
    assert 'in a chain file: type = "on_channels", channels = [0, 1]' in lines[0]  # the fix as a chain file writes it
    assert lines[1].startswith(f"soundstage: error: item 'v' failed: input file '{tmp_path / 'in' / 'v.wav'}'"), lines[1]
    assert len({entry["reason"] for entry in _manifest(tmp_path / "out") if entry["status"] == "failed"}) == 2


def test_a_session_item_that_fails_after_loading_a_plugin_says_only_why(tmp_path: Path, stereo_gain_path: Path) -> None:
    """A session whose master chain holds a plugin and whose render names a chain file that is not there failed in
    one line, but the plugin, let go of as the item failed, added DPF's two release-order lines to the batch's
    terminal (as every worker's plugins did as it ended); a command drops those (soundstage.native)."""
    _write_items(tmp_path / "in", 1, 0.1)
    master = tmp_path / "master.toml"
    master.write_text(f'format = 1\n[[stages]]\ntype = "plugin"\npath = "{stereo_gain_path}"\n')
    session = tmp_path / "album.toml"
    session.write_text(
        f'format = 1\n[[stems]]\npath = "in/item00.wav"\n[master]\nchain = "{master}"\n'
        '[[renders]]\nname = "mixdown"\nkind = "mixdown"\n[[renders]]\nname = "dev"\nkind = "device"\nchain = "gone.toml"\n'
    )
    jobs = tmp_path / "jobs.toml"
    jobs.write_text(f'format = 1\n[[items]]\nsession = "{session}"\noutput = "album"\n')
    done = _batch(str(jobs), "-o", str(tmp_path / "out"), "--workers", "1")
    assert done.returncode == 3, done.stderr
    assert done.stderr.splitlines() == [
        f"soundstage: error: item 'album' failed: {session}: renders[1].chain: chain file '{tmp_path / 'gone.toml'}' "
        "does not exist"
    ]


@pytest.mark.parametrize("pattern", ["", "*"])
def test_files_of_a_folder_that_are_no_items_are_said(tmp_path: Path, pattern: str) -> None:
    """A catalog folder's files of a format it does not take (Monkey's Audio, TAK; a rip's log and cue sheet) were
    left out in silence: a track missing from the delivery; so were a glob's. They are said in one warning; hidden
    files, what soundstage wrote and its own TOML files (a chain, a job list) are not."""
    _write_items(tmp_path / "in", 1, 0.1)
    for name in ("02 Song.ape", "rip.log", "album.cue", ".DS_Store", "batch-manifest.jsonl", "chain.toml"):
        (tmp_path / "in" / name).write_bytes(b"x")
    given = os.path.join(tmp_path / "in", pattern)
    done = _batch(given, "--chain", "mastering", "-o", str(tmp_path / "out"), "--workers", "1")
    assert done.returncode == 0, done.stderr
    where = f"glob {given!r}" if pattern else f"folder {given!r}"
    assert done.stderr.splitlines() == [
        f"soundstage: warning: batch: left out 3 file(s) of no audio format it takes in the {where} "
        "(02 Song.ape, album.cue, rip.log); one that is audio: convert it to WAV or FLAC, or give it as an item's input "
        "in a job list (FFmpeg may read it)"
    ]


def test_an_item_whose_input_is_not_there_fails_in_words(tmp_path: Path) -> None:
    """A job list's input or session that is not there failed as "FileNotFoundError: [Errno 2] No such file or
    directory: ..."; it fails as process and render say it, with a name in another case pointed out, and the other
    items are rendered."""
    _write_items(tmp_path / "in", 1, 0.1)
    jobs = tmp_path / "jobs.toml"
    jobs.write_text(
        'chain = "mastering"\n[[items]]\ninput = "in/item00.wav"\n[[items]]\ninput = "in/Item00.WAV"\noutput = "b.wav"\n'
        '[[items]]\ninput = "in/gone.wav"\n[[items]]\nsession = "album.toml"\n'
    )
    done = _batch(str(jobs), "-o", str(tmp_path / "out"), "--workers", "1")
    assert done.returncode == 2 + 3 and "1 done, 0 already done, 3 failed of 4" in done.stdout, done.stderr
    assert f"item 'b' failed: input file '{tmp_path / 'in' / 'Item00.WAV'}' does not exist; " in done.stderr
    assert f"'{tmp_path / 'in' / 'item00.wav'}' is there, named in another case" in done.stderr
    assert f"item 'gone' failed: input file '{tmp_path / 'in' / 'gone.wav'}' does not exist\n" in done.stderr
    assert f"item 'album' failed: session file '{tmp_path / 'album.toml'}' does not exist\n" in done.stderr
    assert "Error" not in done.stderr


def _slow_job(root: Path) -> Path:
    _write_items(root / "slow", 8, 6.0)
    return root / "slow"


def test_sigint_stops_handing_out_items_and_resume_renders_nothing_twice(tmp_path: Path) -> None:
    folder = _slow_job(tmp_path)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "soundstage.cli", "batch", str(folder), "--chain", "studio-5-binaural", "-o", str(out)]
    batch = subprocess.Popen([*command, "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not ((out / "batch-manifest.jsonl").exists() and len(_manifest(out)) >= 2):
        time.sleep(0.05)
    batch.send_signal(signal.SIGINT)
    stdout, stderr = batch.communicate(timeout=120)
    assert batch.returncode == 130, stderr
    finished = {e["item"] for e in _manifest(out) if e["status"] == "done"}
    print(f"SIGINT after {len(finished)} of 8 items")
    assert 2 <= len(finished) < 8
    assert not list(out.glob(".*.partial")) and len(list(out.glob("*.wav"))) == len(finished)
    lines_before = len(_manifest(out))
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    new = _manifest(out)[lines_before:]
    assert {e["item"] for e in new} == {f"item{i:02d}" for i in range(8)} - finished
    assert f"{len(finished)} already done" in resumed.stdout


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="needs pthread_sigmask to time the signal")
def test_ctrl_c_as_an_item_is_handed_out_leaves_no_output_the_manifest_does_not_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C arriving just as an item is handed to a worker (the moment after one is recorded, when a user sees the
    progress move): it was raised there, before the item was noted in flight, so the worker went on to write that
    item's output and the manifest never said so (a resumed batch then met it as "already exists"). Now the item in
    flight finishes and is recorded, the next one is not started, and every output in the folder is in the manifest.
    The signal is held until the worker has taken the item, so it lands in that moment every time."""
    from concurrent.futures import ProcessPoolExecutor

    import batch_crash  # tests/batch_crash.py: importable in the spawned workers too
    from soundstage.batch import load_jobs
    from soundstage.batch.run import run_batch

    _write_items(tmp_path / "in", 3, 0.3)
    (tmp_path / "in" / ".go").touch()  # batch_crash.wait_for_go: each item says it started, then runs
    out = tmp_path / "out"
    real_submit = ProcessPoolExecutor.submit
    handed: list[str] = []

    def submit(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        future = real_submit(self, fn, *args, **kwargs)
        handed.append(args[0].item)
        if len(handed) == 2:  # the second item handed out: Ctrl-C, once its worker has taken it
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            os.kill(os.getpid(), signal.SIGINT)
            deadline = time.monotonic() + 60
            while not (tmp_path / "in" / ".item01.started").exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        return future

    monkeypatch.setattr(ProcessPoolExecutor, "submit", submit)
    result = run_batch(load_jobs(tmp_path / "in", chain="mastering"), out, workers=1, work=batch_crash.wait_for_go)
    written = sorted(p.stem for p in out.glob("*.wav"))
    recorded = sorted(e["item"] for e in _manifest(out) if e["status"] == "done")
    print(f"handed out {handed}; written {written}; recorded {recorded}")
    assert result.interrupted and written == recorded == sorted(result.done) == ["item00", "item01"]


def test_ctrl_c_on_a_dask_cluster_leaves_no_output_the_manifest_does_not_hold(tmp_path: Path) -> None:
    """Ctrl-C in a batch on a Dask cluster, as an item is recorded while another runs on a worker: every item was
    handed to the cluster at once, and Ctrl-C cancelled those not done, but a task a worker has started cannot be
    stopped: it went on to write its output (and the freed thread started the next), which the manifest never held.
    Now items go out as the cluster's threads come free, and after Ctrl-C the ones in flight finish and are recorded:
    every output in the folder is in the manifest, the next item not started."""
    distributed = pytest.importorskip("distributed", reason="the cluster extra: pip install 'soundstage[cluster]'")
    import batch_crash  # tests/batch_crash.py: importable in the cluster's workers too
    from soundstage.batch import load_jobs
    from soundstage.batch.run import run_batch

    _write_items(tmp_path / "in", 3, 0.3)
    (tmp_path / "in" / ".go").touch()
    out = tmp_path / "out"

    def ctrl_c_at_the_first(entry: dict[str, object]) -> None:
        if not recorded_before:
            os.kill(os.getpid(), signal.SIGINT)
        recorded_before.append(entry["item"])

    recorded_before: list[object] = []

    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0") as cluster:
        items = load_jobs(tmp_path / "in", chain="mastering")
        result = run_batch(
            items, out, scheduler=cluster.scheduler_address, on_entry=ctrl_c_at_the_first, work=batch_crash.wait_for_go
        )
        started = sorted(p.name.split(".")[1] for p in (tmp_path / "in").glob(".*.started"))
        deadline = time.monotonic() + 60  # what the cluster still runs writes its output (the old code's leftovers)
        while time.monotonic() < deadline and any(not (out / f"{item}.wav").exists() for item in started):
            time.sleep(0.05)
    written = sorted(p.stem for p in out.glob("*.wav"))
    recorded = sorted(e["item"] for e in _manifest(out) if e["status"] == "done")
    print(f"started {started}; written {written}; recorded {recorded}")
    assert result.interrupted and written == recorded == sorted(result.done) == ["item00", "item01"]


def test_a_second_batch_into_a_folder_a_batch_is_writing_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    """Two batches into one folder rendered every item twice, and a worker death in one removed the other's
    temporaries as its own leftovers; the second is refused in one line while the first runs, and --resume after it
    finds every item done."""
    from soundstage.batch import load_jobs
    from soundstage.batch.run import run_batch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import batch_crash  # tests/batch_crash.py: importable in the spawned workers too

    _write_items(tmp_path / "in", 3, 0.3)
    out = tmp_path / "out"
    results: list[object] = []
    first = threading.Thread(
        target=lambda: results.append(
            run_batch(load_jobs(tmp_path / "in", chain="mastering"), out, workers=1, work=batch_crash.wait_for_go)
        )
    )
    first.start()
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "in" / ".item00.started").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (tmp_path / "in" / ".item00.started").exists(), "the first batch never started its first item"
        command = [sys.executable, "-m", "soundstage.cli", "batch", str(tmp_path / "in"), "--chain", "mastering", "-o", str(out)]
        for extra in ([], ["--resume"], ["--overwrite"]):
            second = subprocess.run([*command, *extra], capture_output=True, text=True, timeout=300)
            assert second.returncode == 2, (extra, second.stdout, second.stderr)
            assert second.stderr.count("\n") == 1 and "another batch is writing into it" in second.stderr, second.stderr
            assert str(out) in second.stderr and "batch:" not in second.stdout
            assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == []  # nothing of its own
    finally:
        (tmp_path / "in" / ".go").touch()
        first.join(timeout=300)
    assert [sorted(result.done) for result in results] == [["item00", "item01", "item02"]]  # type: ignore[attr-defined]
    assert sorted(e["item"] for e in _manifest(out)) == ["item00", "item01", "item02"]  # each rendered once
    again = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "3 already done" in again.stdout, again.stderr


def test_a_killed_worker_is_replaced_and_its_item_retried_once(tmp_path: Path) -> None:
    folder = _slow_job(tmp_path)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "soundstage.cli", "batch", str(folder), "--chain", "studio-5-binaural", "-o", str(out)]
    batch = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline and batch.poll() is None:
        children = Path(f"/proc/{batch.pid}/task/{batch.pid}/children").read_text().split()
        workers = [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        if workers and (out / "batch-manifest.jsonl").exists():
            victim = workers[0]
        time.sleep(0.02)
    assert victim is not None, "no worker to kill"
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = batch.communicate(timeout=300)
    assert batch.returncode == 0, stderr
    entries = {e["item"]: e for e in _manifest(out)}
    assert all(entries[f"item{i:02d}"]["status"] == "done" for i in range(8))
    retried = [name for name, e in entries.items() if e["attempt"] == 2]
    print(f"worker {victim} killed; retried: {retried}")
    assert retried and len({e["worker"] for e in entries.values()}) >= 2
    assert not list(out.glob(".*.partial"))


def test_a_job_list_with_its_own_chains_outputs_and_a_session(tmp_path: Path) -> None:
    """A TOML job list: items with their own chain and output name, and a session rendered into its folder."""
    _write_items(tmp_path / "songs", 2, 0.5)
    (tmp_path / "album").mkdir()
    soundfile.write(tmp_path / "album" / "stem.wav", np.zeros((SR // 2, 2)) + 0.01, SR, subtype="PCM_24")
    (tmp_path / "album" / "side-a.toml").write_text(
        'format = 1\nsample_rate = 48000\n[[stems]]\npath = "stem.wav"\n[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 24\n'
    )
    jobs = tmp_path / "jobs.toml"
    jobs.write_text(
        'format = 1\nchain = "mastering"\n'
        '[[items]]\ninput = "songs/item00.wav"\noutput = "first-master.flac"\n'
        '[[items]]\ninput = "songs/item01.wav"\nchain = "stereo-reference"\n'
        '[[items]]\nsession = "album/side-a.toml"\n'
    )
    out = tmp_path / "out"
    done = _batch(str(jobs), "-o", str(out), "--workers", "1")
    assert done.returncode == 0, done.stderr
    entries = {e["item"]: e for e in _manifest(out)}
    assert set(entries) == {"first-master", "item01", "side-a"}
    assert soundfile.info(out / "first-master.flac").format == "FLAC"
    assert entries["item01"]["chain"].endswith("stereo-reference.toml")
    assert [o["path"] for o in entries["side-a"]["outputs"]] == ["side-a/mix.wav"]
    jobs.write_text('format = 1\n[[items]]\ninput = "songs/item00.wav"\n')
    refused = _batch(str(jobs), "-o", str(out))
    assert refused.returncode == 2 and "items[0]: no chain" in refused.stderr


def test_an_item_that_kills_its_worker_twice_fails_alone(tmp_path: Path) -> None:
    """A worker that dies on an item (a crashing plugin) is replaced; the item is retried once, then failed; the rest go on."""
    from soundstage.batch import load_jobs
    from soundstage.batch.run import run_batch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import batch_crash  # tests/batch_crash.py: importable in the spawned workers too

    _write_items(tmp_path / "in", 4, 0.3)
    items = load_jobs(tmp_path / "in", chain="mastering")
    result = run_batch(items, tmp_path / "out", workers=2, work=batch_crash.crash_on_item02)
    assert sorted(result.done) == ["item00", "item01", "item03"]
    assert list(result.failed) == ["item02"] and "worker process died twice" in result.failed["item02"]
    entries = _manifest(tmp_path / "out")
    assert [e["attempt"] for e in entries if e["item"] == "item02"] == [2]
    assert not list((tmp_path / "out").glob(".*.partial"))


def test_a_retry_replaces_what_its_killed_attempt_wrote_but_never_what_was_there(tmp_path: Path) -> None:
    """A worker that dies after writing its output (or a bystander whose result was lost with the pool) is retried:
    the retry replaces the output this batch wrote, and still refuses one that was there before the batch."""
    from soundstage.batch import load_jobs
    from soundstage.batch.run import run_batch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import batch_crash

    _write_items(tmp_path / "in", 2, 0.3)
    items = load_jobs(tmp_path / "in", chain="mastering")
    result = run_batch(items, tmp_path / "out", workers=1, work=batch_crash.die_after_writing_item01)
    assert sorted(result.done) == ["item00", "item01"] and not result.failed
    assert [e["attempt"] for e in _manifest(tmp_path / "out") if e["item"] == "item01"] == [2]
    # the user's own file where item01 would go: the crashed attempt's retry must not replace it
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "item01.wav").write_bytes(b"the user's file")
    result = run_batch(items, mine, workers=1, work=batch_crash.die_after_writing_item01)
    assert (mine / "item01.wav").read_bytes() == b"the user's file"
    assert "item01" in result.failed and "already exists" in result.failed["item01"]


def test_a_full_disk_fails_only_the_item_that_does_not_fit(tmp_path: Path) -> None:
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip() or 'mount refused'}")
    try:
        _write_items(tmp_path / "in", 2, 0.3)  # 115 kB each as float WAV
        noise = np.random.default_rng(9).standard_normal((SR * 4, 2)) * 0.05  # 1.5 MB as float WAV: does not fit
        soundfile.write(tmp_path / "in" / "long.wav", noise, SR, subtype="PCM_24")
        done = _batch(str(tmp_path / "in"), "--chain", "mastering", "-o", str(folder), "--workers", "1")
        assert done.returncode == 3, done.stderr
        entries = {e["item"]: e for e in _manifest(folder)}
        assert entries["item00"]["status"] == entries["item01"]["status"] == "done"
        assert (
            entries["long"]["status"] == "failed"
            and "long.wav" in entries["long"]["reason"]
            and "would hold 1.5 MiB; the drive at" in entries["long"]["reason"]
            and "free: make room on it" in entries["long"]["reason"]
        )
        assert sorted(p.name for p in folder.iterdir()) == ["batch-manifest.jsonl", "item00.wav", "item01.wav"]
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_recursive_glob_mirrors_the_catalog_folders(tmp_path: Path) -> None:
    """``catalog/**/*.flac``: tracks of the same name on two albums (FLACs written by sox) land in their album's
    folder below the output, each the bytes ``soundstage process`` writes for it; a resume renders none again.
    (Was: ``**`` matched one level only, and two 01s collided into one output name.)"""
    for album, tone in (("album-1", 300), ("album two", 500)):
        (tmp_path / "catalog" / album).mkdir(parents=True)
        subprocess.run(
            [
                "sox",
                "-n",
                "-r",
                "44100",
                "-c",
                "2",
                "-b",
                "16",
                str(tmp_path / "catalog" / album / "01.flac"),
                "synth",
                "0.5",
                "sine",
                str(tone),
            ],
            check=True,
        )
    soundfile.write(tmp_path / "catalog" / "single.wav", np.full((SR // 2, 2), 0.01), SR, subtype="PCM_24")
    out = tmp_path / "out"
    done = _batch(str(tmp_path / "catalog" / "**" / "*.*"), "--chain", "stereo-reference", "-o", str(out), "--workers", "1")
    assert done.returncode == 0, done.stderr
    entries = {e["item"]: e for e in _manifest(out)}
    assert set(entries) == {"album-1/01", "album two/01", "single"}
    assert [o["path"] for o in entries["album two/01"]["outputs"]] == ["album two/01.wav"]
    for item in entries:
        source = next((tmp_path / "catalog").glob(f"{item}.*"))
        alone = tmp_path / "alone.wav"
        assert main(["process", str(source), str(alone), "--chain", "stereo-reference", "--overwrite"]) == 0
        assert (out / f"{item}.wav").read_bytes() == alone.read_bytes()
    again = _batch(str(tmp_path / "catalog" / "**" / "*.*"), "--chain", "stereo-reference", "-o", str(out), "--resume")
    assert again.returncode == 0 and "0 done, 3 already done" in again.stdout, again.stdout


def test_a_glob_run_again_leaves_out_the_outputs_it_wrote_below_it(tmp_path: Path) -> None:
    """``batch "catalog/**/*.wav" -o catalog/mastered``, run twice, as one re-runs a command: the second run takes
    the two tracks and not the first run's outputs (Was: it mastered them again as items ``mastered/01`` ...,
    into ``mastered/mastered/``, one folder deeper on every run); a warning line says what was left out. Given
    itself, the folder of outputs is taken."""
    _write_items(tmp_path / "catalog", 2, 0.3)
    out = tmp_path / "catalog" / "mastered"
    pattern = str(tmp_path / "catalog" / "**" / "*.wav")
    first = _batch(pattern, "--chain", "mastering", "-o", str(out), "--workers", "1")
    assert first.returncode == 0 and first.stderr == "", first.stderr
    written = {path.name: path.read_bytes() for path in out.glob("*.wav")}
    assert sorted(written) == ["item00.wav", "item01.wav"]
    again = _batch(pattern, "--chain", "mastering", "-o", str(out), "--workers", "1")
    assert again.returncode == 0, again.stderr
    assert again.stderr.splitlines() == [
        f"soundstage: warning: batch: left out what soundstage wrote in the glob {pattern!r} (mastered/): a render's or "
        "a batch's outputs, not items; to process them, give their folder itself"
    ]
    assert [e["item"] for e in _manifest(out)] == ["item00", "item01"] * 2
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "batch-manifest.jsonl",
        "item00.wav",
        "item01.wav",
    ]
    assert {path.name: path.read_bytes() for path in out.glob("*.wav")} == written  # the tracks mastered once, as before
    itself = _batch(str(out), "--chain", "mastering", "-o", str(tmp_path / "twice"), "--workers", "1")
    assert itself.returncode == 0 and itself.stderr == "", itself.stderr
    assert sorted(e["item"] for e in _manifest(tmp_path / "twice")) == ["item00", "item01"]


def test_a_job_lists_tail_renders_each_items_chain_tail(tmp_path: Path) -> None:
    """``tail_s`` at the top of a job list (0.5 s), an item's own (0), and ``--tail`` in place of the list's (0.25 s):
    each output is the bytes ``soundstage process --tail`` writes, and a resume with another tail renders those
    items again, not the one with its own. (Was: no tail; a reverb's was cut at each input's end.)"""
    sources = _write_items(tmp_path / "in", 2, 0.5)
    (tmp_path / "verb.toml").write_text('[[stages]]\ntype = "pedalboard.Reverb"\nparameters = { room_size = 0.8 }\n')
    (tmp_path / "jobs.toml").write_text(
        'chain = "verb.toml"\ntail_s = 0.5\n'
        '[[items]]\ninput = "in/item00.wav"\n'
        '[[items]]\ninput = "in/item01.wav"\ntail_s = 0.0\n'
    )
    out = tmp_path / "out"
    for tail, given in (("0.5", ()), ("0.25", ("--tail", "0.25"))):
        done = _batch(str(tmp_path / "jobs.toml"), "-o", str(out), "--workers", "1", "--resume", *given)
        assert done.returncode == 0, done.stderr
        assert ("1 done, 1 already done" if given else "2 done, 0 already done") in done.stdout, done.stdout
        for source, seconds in ((sources[0], tail), (sources[1], "0")):
            alone = tmp_path / "alone.wav"
            assert (
                main(
                    ["process", str(source), str(alone), "--chain", str(tmp_path / "verb.toml"), "--tail", seconds, "--overwrite"]
                )
                == 0
            )
            assert (out / source.name).read_bytes() == alone.read_bytes()
            assert soundfile.info(str(out / source.name)).frames == int(SR * 0.5) + round(float(seconds) * SR)
    assert [e["tail_s"] for e in _manifest(out)] == [0.5, 0.0, 0.25]


def test_a_catalog_folder_of_album_folders_names_the_glob_that_takes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``soundstage batch catalog`` where the tracks are in album folders: a folder's items are its own files, so this
    was "holds no audio files", and with one track beside the albums the albums were left out without a word. Now the
    error and the warning count them and give the glob that takes them, which, run, renders every track."""
    catalog = tmp_path / "catalog"
    for album in ("album-1", "album two"):
        (catalog / album).mkdir(parents=True)
        soundfile.write(catalog / album / "01.wav", np.full((SR // 10, 2), 0.01), SR, subtype="PCM_24")
    out = tmp_path / "out"
    assert main(["batch", str(catalog), "--chain", "stereo-reference", "-o", str(out)]) == 2
    error = capsys.readouterr().err
    glob_text = f"'{catalog}/**/*'"
    assert error.count("\n") == 1 and "holds no audio files itself, its folders hold 2 (the first 'album two/01.wav')" in error
    assert f"give the glob {glob_text} in place of" in error and not out.exists(), error

    soundfile.write(catalog / "single.wav", np.full((SR // 10, 2), 0.01), SR, subtype="PCM_24")
    assert main(["batch", str(catalog), "--chain", "stereo-reference", "-o", str(out)]) == 0
    warning = capsys.readouterr().err
    assert "left out 2 audio file(s) in the folders of" in warning and glob_text in warning, warning
    assert {e["item"] for e in _manifest(out)} == {"single"}

    assert main(["batch", glob_text.strip("'"), "--chain", "stereo-reference", "-o", str(out), "--resume"]) == 0
    assert {e["item"] for e in _manifest(out) if e["status"] == "done"} == {"single", "album-1/01", "album two/01"}
    assert "left out" not in capsys.readouterr().err


def test_a_folder_of_formats_other_programs_write_is_processed(tmp_path: Path) -> None:
    """CAF (Logic), Wave64 (Reaper) and MP3 files in a folder are items like WAVs (were skipped: "holds no audio files");
    macOS's ._ file beside one is left out and said (it stopped the batch: "item name '._logic' is not a plain file name");
    a mono AIFF plays as dual mono through the stereo chain (it failed: "takes 2 channel(s), but gets 1")."""
    folder = tmp_path / "masters"
    folder.mkdir()
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(SR // 2) / SR))[:, None].repeat(2, axis=1)
    soundfile.write(folder / "logic.caf", tone, SR, format="CAF", subtype="PCM_24")
    soundfile.write(folder / "reaper.w64", tone, SR, format="W64", subtype="FLOAT")
    soundfile.write(folder / "vocal.aif", tone[:, 0], SR, format="AIFF", subtype="PCM_24")
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=0.5",
            "-ac",
            "2",
            str(folder / "web.mp3"),
        ],
        check=True,
    )
    (folder / "._logic.caf").write_bytes(b"\x00\x05\x16\x07Mac OS X        ")  # macOS's AppleDouble metadata
    out = tmp_path / "out"
    done = _batch(str(folder), "--chain", "stereo-reference", "-o", str(out), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "left out 1 hidden file(s) (._logic.caf)" in done.stdout
    assert {e["item"]: e["status"] for e in _manifest(out)} == {"logic": "done", "reaper": "done", "web": "done", "vocal": "done"}
    assert all(soundfile.info(out / f"{name}.wav").frames >= SR // 2 for name in ("logic", "reaper"))
    vocal, logic = soundfile.read(out / "vocal.wav")[0], soundfile.read(out / "logic.wav")[0]
    assert vocal.shape == logic.shape == (SR // 2, 2) and np.abs(vocal - logic).max() < 1e-5  # 24-bit: the same audio


def test_a_head_goes_on_every_items_chain_and_a_changed_head_renders_again(tmp_path: Path, kemar_path: str) -> None:
    """A job list's ``hrtf`` (beside it) puts the listener's head on every item: each output is the bytes
    ``soundstage process --hrtf`` (or ``render --hrtf`` for a session) writes; an item's own ``hrtf`` wins; the
    manifest hashes the head; ``--resume`` renders again exactly the items whose head file changed."""
    import hashlib
    import shutil

    from helpers import colored_copy

    shutil.copy(kemar_path, tmp_path / "me.sofa")
    _write_items(tmp_path / "songs", 2, 0.4)
    (tmp_path / "album").mkdir()
    shutil.copy(tmp_path / "songs" / "item00.wav", tmp_path / "album" / "mix.wav")
    session = tmp_path / "album" / "side-a.toml"
    session.write_text('format = 1\n[[stems]]\npath = "mix.wav"\n[[renders]]\nname = "bin"\nkind = "binaural"\nbit_depth = 24\n')
    jobs = tmp_path / "jobs.toml"
    jobs.write_text(
        'format = 1\nchain = "studio-5-binaural"\nhrtf = "me.sofa"\n'
        '[[items]]\ninput = "songs/item00.wav"\n'
        '[[items]]\ninput = "songs/item01.wav"\nhrtf = "rigid-sphere"\n'
        '[[items]]\nsession = "album/side-a.toml"\n'
    )
    out = tmp_path / "out"
    done = _batch(str(jobs), "-o", str(out), "--workers", "1")
    assert done.returncode == 0, done.stderr

    def cli(*args: str) -> None:  # the command, as a user runs it
        assert subprocess.run([sys.executable, "-m", "soundstage.cli", *args], capture_output=True, timeout=300).returncode == 0

    def alone(item: str, head: str) -> bytes:
        target = tmp_path / "alone.wav"
        source = str(tmp_path / "songs" / f"{item}.wav")
        cli("process", source, str(target), "--chain", "studio-5-binaural", "--hrtf", head, "--overwrite")
        return target.read_bytes()

    assert (out / "item00.wav").read_bytes() == alone("item00", str(tmp_path / "me.sofa"))
    assert (out / "item01.wav").read_bytes() == alone("item01", "rigid-sphere")
    cli("render", str(session), "-o", str(tmp_path / "rendered"), "--hrtf", str(tmp_path / "me.sofa"))
    assert (out / "side-a" / "bin.wav").read_bytes() == (tmp_path / "rendered" / "bin.wav").read_bytes()
    entries = {e["item"]: e for e in _manifest(out)}
    digest = hashlib.sha256((tmp_path / "me.sofa").read_bytes()).hexdigest()
    assert entries["item00"]["hrtf"] == entries["side-a"]["hrtf"] == [{"path": str(tmp_path / "me.sofa"), "sha256": digest}]
    assert entries["item01"]["hrtf"] == [{"path": "rigid-sphere", "sha256": "model"}]

    again = _batch(str(jobs), "-o", str(out), "--resume")
    assert again.returncode == 0 and "0 done, 3 already done" in again.stdout, again.stdout
    before = (out / "item00.wav").read_bytes()
    colored_copy(kemar_path, str(tmp_path / "me.sofa"))  # the listener measured again, through another chain
    again = _batch(str(jobs), "-o", str(out), "--resume", "--workers", "1")
    assert again.returncode == 0 and "2 done, 1 already done" in again.stdout, again.stdout
    assert (out / "item00.wav").read_bytes() != before
    assert (out / "item00.wav").read_bytes() == alone("item00", str(tmp_path / "me.sofa"))


def test_a_head_no_chain_takes_or_a_missing_head_stops_the_batch_before_any_item(tmp_path: Path) -> None:
    """``--hrtf`` with a chain that has no stage taking a head, or a SOFA file that is not there, is refused in one
    line naming the item and the fix, before any item runs: exit 2, no output folder."""
    _write_items(tmp_path / "songs", 1, 0.2)
    out = tmp_path / "out"
    refused = _batch(str(tmp_path / "songs"), "--chain", "mastering", "--hrtf", "rigid-sphere", "-o", str(out))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "item 'item00'" in refused.stderr and "no stage takes a head" in refused.stderr
    missing = _batch(str(tmp_path / "songs"), "--chain", "studio-5", "--hrtf", "nobody.sofa", "-o", str(out))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1, missing.stderr
    assert "--hrtf 'nobody.sofa': the file does not exist; give the listener's SOFA file" in missing.stderr
    assert not out.exists()


def test_a_job_lists_head_is_found_beside_it_and_the_command_lines_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative head files: a job list's from its folder, ``--hrtf``'s from the working folder (which then replaces
    the job list's default, not an item's own); a head model's name stays a name."""
    from soundstage.batch import load_jobs

    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "a.wav").touch()
    jobs = tmp_path / "jobs" / "list.toml"
    jobs.write_text(
        'format = 1\nchain = "studio-5"\nhrtf = ["me.sofa", "you.sofa"]\n'
        '[[items]]\ninput = "a.wav"\n[[items]]\ninput = "a.wav"\noutput = "b.wav"\nhrtf = "head-and-torso"\n'
    )
    first, second = load_jobs(jobs)
    assert first.hrtf == (str(tmp_path / "jobs" / "me.sofa"), str(tmp_path / "jobs" / "you.sofa"))
    assert second.hrtf == ("head-and-torso",)
    monkeypatch.chdir(tmp_path)
    first, second = load_jobs(jobs, hrtf=["them.sofa"])
    assert first.hrtf == (str(tmp_path / "them.sofa"),) and second.hrtf == ("head-and-torso",)
    assert load_jobs(tmp_path / "jobs", chain="studio-5")[0].hrtf == ()


def test_a_pool_that_breaks_between_two_items_starts_afresh_and_loses_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that dies while the batch hands out the next item breaks the pool at ``submit`` (a race: the death is
    seen there before ``wait`` reports it). The item that was never started goes to a fresh pool; nothing is lost.
    (Was: BrokenProcessPool out of run_batch, the batch stopped mid-way; seen once in the full suite.)"""
    import contextlib
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from soundstage.batch import load_jobs
    from soundstage.batch import run as batch_run

    pools: list[int] = []

    class Pool:  # runs each task at once; the first pool is broken at its second submit
        def __init__(self) -> None:
            pools.append(0)
            self.broken = len(pools) == 1

        def submit(self, work, task):  # type: ignore[no-untyped-def]
            if self.broken and pools[-1] == 1:
                raise BrokenProcessPool("a child process terminated abruptly")
            pools[-1] += 1
            future: Future[dict] = Future()  # type: ignore[type-arg]
            future.set_result(work(task))
            return future

    monkeypatch.setattr(batch_run, "_pool", lambda *args: contextlib.nullcontext(Pool()))
    _write_items(tmp_path / "in", 3, 0.2)
    result = batch_run.run_batch(load_jobs(tmp_path / "in", chain="mastering"), tmp_path / "out", workers=1)
    assert sorted(result.done) == ["item00", "item01", "item02"] and not result.failed
    assert len(pools) == 2 and [e["attempt"] for e in _manifest(tmp_path / "out")] == [1, 1, 1]


def test_a_project_made_on_windows_runs_here(tmp_path: Path, vst3_dir: Path, kemar_path: str) -> None:
    """A job list, a session and a chain file written on Windows (UTF-8 with BOM, CRLF, backslashes: stems\\kick.wav,
    plugins\\SSGain.vst3, heads\\me.sofa) find their files here, and the outputs are those of the same project
    written with '/'. An absolute Windows path (D:\\Sessions\\kick.wav) is named as one, with the fix.
    (Were: 'input file .../songs\\one.wav does not exist', and an item named 'songs\\one' refused as an output name.)"""
    import shutil

    def windows(path: Path, text: str) -> None:
        path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))

    _write_items(tmp_path / "songs", 1, 0.3)
    (tmp_path / "plugins").mkdir()
    shutil.copytree(vst3_dir / "SSGain.vst3", tmp_path / "plugins" / "SSGain.vst3")
    (tmp_path / "heads").mkdir()
    shutil.copy(kemar_path, tmp_path / "heads" / "me.sofa")
    (tmp_path / "album").mkdir()
    shutil.copy(tmp_path / "songs" / "item00.wav", tmp_path / "album" / "kick.wav")
    chain = 'format = 1\n[[stages]]\ntype = "plugin"\npath = "..{0}plugins{0}SSGain.vst3"\nparameters = {{ gain_db = -3.0 }}\n'
    chain += '[[stages]]\ntype = "StereoReference"\nhrtf = "..{0}heads{0}me.sofa"\n'
    session = (
        'format = 1\n[[stems]]\npath = "..{0}album{0}kick.wav"\n[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 24\n'
    )
    jobs = 'format = 1\nchain = "chains{0}mine.toml"\n[[items]]\ninput = "songs{0}item00.wav"\n[[items]]\nsession = "sessions{0}a.toml"\n'
    for name, separator, write in (("win", "\\\\", windows), ("posix", "/", lambda path, text: path.write_text(text))):
        for folder in ("chains", "sessions"):
            (tmp_path / folder).mkdir(exist_ok=True)
        write(tmp_path / "chains" / "mine.toml", chain.format(separator))
        write(tmp_path / "sessions" / "a.toml", session.format(separator))
        write(tmp_path / f"{name}.toml", jobs.format(separator))
        done = _batch(str(tmp_path / f"{name}.toml"), "-o", str(tmp_path / name), "--workers", "1")
        assert done.returncode == 0, done.stderr
    for output in ("item00.wav", "a/mix.wav"):
        assert (tmp_path / "win" / output).read_bytes() == (tmp_path / "posix" / output).read_bytes(), output
    entries = {e["item"]: e for e in _manifest(tmp_path / "win")}
    assert entries["item00"]["plugins"][0]["path"] == str(tmp_path / "chains" / ".." / "plugins" / "SSGain.vst3")
    windows(tmp_path / "sessions" / "b.toml", 'format = 1\n[[stems]]\npath = "D:\\\\Sessions\\\\kick.wav"\n')
    refused = subprocess.run(
        [sys.executable, "-m", "soundstage.cli", "session", "check", str(tmp_path / "sessions" / "b.toml")],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "it is a Windows path (made on another machine)" in refused.stderr, refused.stderr


def test_a_folder_delivered_in_two_formats_names_each_output_by_its_source(tmp_path: Path) -> None:
    """song.wav and song.flac (a delivery in two formats) both wrote song.wav, and the batch was refused ("several
    items would write 'song.wav'"); each is now named with its suffix, and an item whose name is its own keeps it."""
    folder = tmp_path / "delivery"
    folder.mkdir()
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(SR // 2) / SR))[:, None].repeat(2, axis=1)
    soundfile.write(folder / "song.wav", tone, SR, subtype="PCM_24")
    soundfile.write(folder / "Song.flac", 0.5 * tone, SR, subtype="PCM_24")  # the same name on a case-blind disk
    soundfile.write(folder / "other.wav", tone, SR, subtype="PCM_24")
    out = tmp_path / "out"
    done = _batch(str(folder), "--chain", "mastering", "-o", str(out), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.glob("*.wav")) == ["Song.flac.wav", "other.wav", "song.wav.wav"]
    assert {e["item"] for e in _manifest(out)} == {"Song.flac", "other", "song.wav"}
    for source, output in (("song.wav", "song.wav.wav"), ("Song.flac", "Song.flac.wav")):
        assert main(["process", str(folder / source), str(tmp_path / "serial.wav"), "--chain", "mastering", "--overwrite"]) == 0
        assert (out / output).read_bytes() == (tmp_path / "serial.wav").read_bytes(), source


def test_a_batch_names_the_items_that_went_past_full_scale(tmp_path: Path) -> None:
    """A catalog rendered to 24-bit clipped its hot masters in silence; the summary names them, the manifest counts."""
    folder = tmp_path / "in"
    folder.mkdir()
    t = np.arange(24000) / 48000
    for name, level in (("quiet", 0.5), ("hot", 1.5)):
        tone = (level * np.sin(2 * np.pi * 997 * t)).astype(np.float32)
        soundfile.write(str(folder / f"{name}.wav"), np.stack([tone, tone]).T, 48000, subtype="FLOAT")
    chain = tmp_path / "unity.toml"
    chain.write_text('[[stages]]\ntype = "Gain"\n')
    done = _batch(str(folder), "--chain", str(chain), "-o", str(tmp_path / "out"), "--workers", "1")
    assert done.returncode == 0, done.stderr
    past = 2 * int(np.count_nonzero(np.abs(1.5 * np.sin(2 * np.pi * 997 * t).astype(np.float32)) > 1.0))
    assert "batch: 1 item(s) went past full scale" in done.stdout and "hot (" in done.stdout, done.stdout
    assert "quiet" not in done.stdout.split("went past full scale")[1]
    counted = {entry["item"]: entry["outputs"][0]["clipped_samples"] for entry in _manifest(tmp_path / "out")}
    assert counted["quiet"] == 0 and abs(counted["hot"] - past) <= 3, counted


def test_inputs_whose_outputs_differ_only_in_case_are_refused_naming_them(tmp_path: Path) -> None:
    """A folder made on Linux holding ``Take.wav`` and ``take.wav`` (and ``take.flac``): their outputs would be one file
    on a drive that ignores case (macOS, Windows, a USB stick), so the batch is refused, as before, but the error
    named outputs no one asked for ('Take.wav.wav', 'take.wav.wav': the suffix added to tell them apart, which tells
    nothing here) and not the inputs; now it names the inputs, the outputs and why. Without ``take.wav``, the two
    left get their suffixes (``Take.wav.wav``, ``take.flac.wav``), as a delivery in two formats does. A job list
    naming ``Mix.wav`` and ``mix.wav`` is refused likewise; nothing is written."""
    folder = tmp_path / "in"
    files = _write_items(folder, 3, 0.2)
    for file, name in zip(files, ("Take.wav", "take.wav", "take.flac")):
        data, rate = soundfile.read(file)
        file.unlink()
        soundfile.write(folder / name, data, rate)
    out = tmp_path / "out"
    done = _batch(str(folder), "--chain", "mastering", "-o", str(out))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    said = f"items '{folder / 'Take.wav'}', '{folder / 'take.wav'}' would write 'Take.wav', 'take.wav', names that differ only in case"
    assert said in done.stderr and "rename one of the inputs" in done.stderr, done.stderr
    assert not out.exists()
    (folder / "take.wav").unlink()
    done = _batch(str(folder), "--chain", "mastering", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.glob("*.wav")) == ["Take.wav.wav", "take.flac.wav"]
    jobs = tmp_path / "jobs.toml"
    jobs.write_text(
        f'[[items]]\ninput = "{folder / "Take.wav"}"\noutput = "Mix.wav"\nchain = "mastering"\n'
        f'[[items]]\ninput = "{folder / "take.flac"}"\noutput = "mix.wav"\nchain = "mastering"\n'
    )
    done = _batch(str(jobs), "-o", str(tmp_path / "out2"))
    assert done.returncode == 2 and "would write 'Mix.wav', 'mix.wav', names that differ only in case" in done.stderr, done.stderr
    assert not (tmp_path / "out2").exists()


def test_items_whose_tail_is_cut_where_they_end_are_said_once(tmp_path: Path) -> None:
    """A batch through a reverb cut every item's tail at its end, without a word. Each output's manifest entry says
    how long past its end the chain stays within 60 dB of its peak (``ringing_s``), and the batch says in one line
    which items ring and the ``--tail`` that renders them: with it, none rings and nothing is said."""
    folder = tmp_path / "in"
    folder.mkdir()
    for index, seconds in enumerate((0.1, 0.3)):
        note = np.zeros((int(SR * (seconds + 0.05)), 2))
        note[: int(SR * seconds)] = 0.3 * np.sin(2 * np.pi * 440 * np.arange(int(SR * seconds)) / SR)[:, None]
        soundfile.write(folder / f"note{index}.wav", note, SR, subtype="PCM_24")
    chain = tmp_path / "verb.toml"
    chain.write_text('[[stages]]\ntype = "pedalboard.Reverb"\nparameters = { room_size = 0.9 }\n')
    done = _batch(str(folder), "--chain", str(chain), "-o", str(tmp_path / "cut"), "--workers", "1")
    assert done.returncode == 0, done.stderr
    rings = {entry["item"]: entry["outputs"][0]["ringing_s"] for entry in _manifest(tmp_path / "cut")}
    assert all(1.0 < seconds < 10.0 for seconds in rings.values()), rings
    said = [line for line in done.stdout.splitlines() if "rings" in line]
    wanted = math.ceil(max(rings.values()) * 10) / 10
    assert said == [
        "batch: the chain still rings where 2 item(s) end (a reverb's or a delay's tail, cut), within 60 dB of the "
        f"output's peak for: note0 ({rings['note0']:.1f} s), note1 ({rings['note1']:.1f} s); pass --tail {wanted:g} to "
        "render it (a job list's items: a tail that much longer; a session's: its tail_s; see the manifest's ringing_s)"
    ]
    done = _batch(str(folder), "--chain", str(chain), "-o", str(tmp_path / "whole"), "--workers", "1", "--tail", f"{wanted:g}")
    assert done.returncode == 0 and "rings" not in done.stdout, done.stdout
    assert [entry["outputs"][0]["ringing_s"] for entry in _manifest(tmp_path / "whole")] == [0.0, 0.0]
    # a session item whose master chain rings: its output's entry says so, as the render's report does
    (folder / "album.toml").write_text(
        '[[stems]]\npath = "note1.wav"\n[master]\nchain = "../verb.toml"\n[[renders]]\nname = "mix"\nkind = "mixdown"\n'
    )
    (tmp_path / "jobs.toml").write_text('[[items]]\nsession = "in/album.toml"\n')
    done = _batch(str(tmp_path / "jobs.toml"), "-o", str(tmp_path / "album"), "--workers", "1")
    assert done.returncode == 0, done.stderr
    (entry,) = _manifest(tmp_path / "album")
    assert entry["outputs"][0]["ringing_s"] == pytest.approx(rings["note1"], abs=0.01)
    assert "1 item(s) end" in done.stdout
