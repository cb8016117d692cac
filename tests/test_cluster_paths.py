"""A catalog batch on a Dask cluster whose workers are other machines: what they see of the files.

A worker is another machine, with its own disks and its own working folder. A batch given ``-o out`` on a folder
the workers did not share had every output written to each worker's own disk, and said them all done (exit 0,
nothing in ``out``); inputs and ``-o`` given relative to this machine's working folder named other files, or
none, on a worker started elsewhere. Here a worker is made "another machine" by starting it in a mount namespace
of its own, where a fresh tmpfs lies over a folder: there, that folder is another one of the same name.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundstage.cli import main

SR = 48000

distributed = pytest.importorskip("distributed", reason="the cluster extra: pip install 'soundstage[cluster]'")


def _own_namespace_reason() -> str | None:
    """Why a worker cannot be given folders of its own here, or None."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"no mount namespaces here (unshare -m: {probe.stderr.strip()})"


@pytest.fixture
def worker_over(tmp_path: Path) -> Iterator[tuple[Callable[..., None], str]]:
    """A scheduler, and a function starting its one worker in ``tmp_path / "worker-cwd"`` with a tmpfs over each
    folder given (its own disk there), and ``read_only`` mounted so there."""
    reason = _own_namespace_reason()
    if reason:
        pytest.skip(reason)
    started: list[subprocess.Popen[bytes]] = []
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0") as cluster, distributed.Client(cluster) as client:

        def start(*shadowed: Path, read_only: Path | None = None) -> None:
            mounts = "".join(f"mount -t tmpfs tmpfs '{folder}' && " for folder in shadowed)
            if read_only is not None:  # the same folder, which this worker may not write into
                mounts += f"mount --bind '{read_only}' '{read_only}' && mount -o remount,ro,bind '{read_only}' && "
            command = f"{mounts}exec '{sys.executable}' -m distributed.cli.dask_worker {cluster.scheduler_address} --nthreads 1 --no-dashboard"
            (tmp_path / "worker-cwd").mkdir(exist_ok=True)
            started.append(
                subprocess.Popen(["unshare", "-m", "sh", "-c", command], cwd=tmp_path / "worker-cwd", stderr=subprocess.DEVNULL)
            )
            client.wait_for_workers(1, timeout=120)

        try:
            yield start, cluster.scheduler_address
        finally:
            for process in started:
                process.terminate()
                process.wait(timeout=60)


def _items(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index in range(count):
        file = folder / f"song{index}.wav"
        soundfile.write(file, np.random.default_rng(index).normal(0, 0.1, (SR // 2, 2)), SR, subtype="PCM_24")
        files.append(file)
    return files


def _batch(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # an output not found is looked for 90 s by default (a network drive's client may be that late): 2 s here
    env = {**os.environ, "SOUNDSTAGE_CLUSTER_PATIENCE_S": "2"}
    return subprocess.run(
        [sys.executable, "-m", "soundstage.cli", "batch", *args], capture_output=True, text=True, timeout=600, cwd=cwd, env=env
    )


@pytest.mark.parametrize(
    ("own", "said"),
    [
        (
            "disk",
            "does not see the output folder {out!r} as this machine does (a folder of that name there is another, "
            "or none): give -o a folder on a drive the workers share, at the same path",
        ),
        ("read-only", "cannot write into the output folder {out!r}"),
    ],
)
def test_an_output_folder_a_worker_does_not_share_is_refused_before_any_item(
    tmp_path: Path, worker_over: tuple[Callable[..., None], str], own: str, said: str
) -> None:
    """The worker's ``out`` is its own disk's, or the same folder but read-only there: one line naming the worker, and
    nothing written (the check's own files removed)."""
    start, address = worker_over
    _items(tmp_path / "in", 2)
    out = tmp_path / "out"
    out.mkdir()
    start(*([out] if own == "disk" else []), read_only=out if own == "read-only" else None)
    done = _batch(tmp_path, "in", "--chain", "mastering", "-o", "out", "--scheduler", address)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("soundstage: error: batch: worker tcp://"), done.stderr
    assert said.format(out=str(out)) in done.stderr, done.stderr
    assert list(out.iterdir()) == []


def test_inputs_and_output_given_relative_to_this_machines_folder_reach_a_worker_started_elsewhere(
    tmp_path: Path, worker_over: tuple[Callable[..., None], str]
) -> None:
    """The worker runs in ``worker-cwd``; ``in`` and ``-o out`` are relative to ``tmp_path``: each output is the
    bytes ``soundstage process`` writes, where this machine sees it; the manifest names the input as given."""
    start, address = worker_over
    files = _items(tmp_path / "in", 2)
    start()
    done = _batch(tmp_path, "in", "--chain", "mastering", "-o", "out", "--scheduler", address)
    assert done.returncode == 0, done.stderr
    for file in files:
        alone = tmp_path / "alone.wav"
        assert main(["process", str(file), str(alone), "--chain", "mastering", "--overwrite"]) == 0
        assert (tmp_path / "out" / file.name).read_bytes() == alone.read_bytes()
    assert not (tmp_path / "worker-cwd" / "out").exists()
    lines = (tmp_path / "out" / "batch-manifest.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["input"] for line in lines) == ["in/song0.wav", "in/song1.wav"]


def test_an_output_a_worker_wrote_where_this_machine_does_not_see_it_is_not_said_done(
    tmp_path: Path, worker_over: tuple[Callable[..., None], str]
) -> None:
    """The output folder is shared, but an album's folder in it is the worker's own (the check before the items sees
    only the output folder itself): that album's items fail, naming the worker and the file; the others are done."""
    start, address = worker_over
    catalog = tmp_path / "catalog"
    _items(catalog / "shared-album", 1)
    _items(catalog / "own-album", 1)
    out = tmp_path / "out"
    (out / "own-album").mkdir(parents=True)
    start(out / "own-album")
    done = _batch(tmp_path, str(catalog / "**" / "*.wav"), "--chain", "mastering", "-o", str(out), "--scheduler", address)
    assert done.returncode != 0, done.stdout
    entries = {e["item"]: e for e in map(json.loads, (out / "batch-manifest.jsonl").read_text().splitlines())}
    assert entries["shared-album/song0"]["status"] == "done"
    failed = entries["own-album/song0"]
    assert failed["status"] == "failed", failed
    assert "which this machine does not find as written (the worker's own disk)" in failed["reason"], failed
    assert list((out / "own-album").iterdir()) == []
    assert (out / "shared-album" / "song0.wav").is_file()
