"""A batch on a Dask cluster whose workers are other machines: what they see of the batch's files.

A worker has its own disks and its own working folder. So a task goes to it with its paths absolute
(:func:`on_cluster`); before any item, each worker is asked what it sees (:func:`check_workers_see`: a file written
into the output folder here, read there, and one it writes there, found here; the first input, the chain files and
the plugins); and an item said done whose output this machine does not find as the worker wrote it is not done
(:func:`unseen_output`). A folder only a name alike on a worker's own disk took every output, and the batch said
them all done. The items go to the cluster as its threads come free (:func:`run_on_cluster`).
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from soundstage.batch.failures import cluster_death, crash_lines, died, not_tried
from soundstage.batch.jobs import BatchError
from soundstage.batch.worker import Stalled, Task, crash_reports_in, what_it_sees
from soundstage.errors import first_of

__all__ = ["NO_WORKERS_NOTICE_S", "check_workers_see", "on_cluster", "output_patience_s", "run_on_cluster", "unseen_output"]

#: How often the batch asks the cluster how many worker threads it has (seconds): workers join and leave.
_CLUSTER_RECOUNT_S = 2.0


def on_cluster(task: Task) -> Task:
    """``task`` as a worker on another machine reads it: its paths absolute (a worker's working folder is its own,
    where ``in/a.wav`` and ``-o out`` name other files, or none)."""
    chain = os.path.abspath(task.chain) if task.chain is not None else None
    return dataclasses.replace(
        task, input=os.path.abspath(task.input), output_dir=os.path.abspath(task.output_dir), chain=chain, cluster=True
    )


def check_workers_see(client: Any, tasks: list[Task]) -> None:
    """Before any item: every worker of the cluster sees the output folder as this machine does (a file written
    into it here, read there) and finds the first item's input, the chain files and the plugins at their paths; else
    BatchError naming the worker and what it does not see. A folder only a name alike on a worker's own disk took
    every output, and the batch said them done."""
    if not tasks:
        return
    folder = Path(on_cluster(tasks[0]).output_dir)
    token = os.urandom(8).hex()
    marker = folder / f".soundstage-batch-{token}"
    chains = {os.path.abspath(task.chain) for task in tasks if task.chain is not None}
    paths = sorted({on_cluster(tasks[0]).input, *chains, *(path for task in tasks for path, _ in task.plugins)})
    try:
        marker.write_text(token, encoding="utf-8")
        views = client.run(what_it_sees, str(marker), token, paths)
    except OSError as error:  # the output folder, which the batch made or found writable, refused the file
        raise BatchError(f"batch: cannot write into the output folder {str(folder)!r}: {error.strerror or error}") from None
    except Exception as error:  # a worker that cannot run soundstage (another version; none installed)
        raise BatchError(
            f"batch: the cluster's workers cannot run soundstage's check of what they see: {' '.join(str(error).split())}; "
            "install this soundstage on every worker (soundstage --version says which) and start them again"
        ) from None
    finally:
        marker.unlink(missing_ok=True)
    for address, view in sorted(views.items()):
        where = f"worker {address} (on {view['host']})"
        answer = folder / view["wrote"] if view["wrote"] else None
        seen = answer is not None and answer.is_file()  # what the worker wrote there, found here
        if answer is not None:
            answer.unlink(missing_ok=True)
        if view["output_folder"] and view["wrote"] is None:
            raise BatchError(
                f"batch: {where} cannot write into the output folder {str(folder)!r} (it sees it read-only, or "
                "not as its user may write): give -o a folder the workers may write into"
            )
        if not view["output_folder"] or not seen:
            raise BatchError(
                f"batch: {where} does not see the output folder {str(folder)!r} as this machine does (a folder of "
                "that name there is another, or none): give -o a folder on a drive the workers share, at the same path"
            )
        if view["missing"]:
            shown = first_of([repr(path) for path in view["missing"]], 3)
            raise BatchError(
                f"batch: {where} does not find {shown}: the workers need the inputs, chain files and plugins at the "
                "same paths as this machine (a drive they share)"
            )


#: Seconds a cluster item's output is looked for here before its item fails (once a batch: then at once). A network
#: drive's client may take a name it looked up before for absent until it reads the folder again (NFS: up to 60 s);
#: a slower drive's users set SOUNDSTAGE_CLUSTER_PATIENCE_S.
_OUTPUT_PATIENCE_S = 90.0


def output_patience_s() -> float:
    try:
        value = float(os.environ.get("SOUNDSTAGE_CLUSTER_PATIENCE_S", _OUTPUT_PATIENCE_S))
    except ValueError:
        value = _OUTPUT_PATIENCE_S
    return value if math.isfinite(value) and value >= 0 else _OUTPUT_PATIENCE_S


def unseen_output(entry: dict[str, Any], folder: Path, patience_s: float) -> str | None:
    """Why a cluster item recorded done is not: an output this machine does not find as its worker wrote it, looked
    for up to ``patience_s`` (a worker that joined after the check, writing to its own disk); else None."""
    deadline = time.monotonic() + patience_s
    for output in entry.get("outputs", []):
        file = folder / str(output.get("path", ""))
        while not _as_written(file, output) and time.monotonic() < deadline:
            time.sleep(0.5)
        if not _as_written(file, output):
            return (
                f"worker {entry.get('worker', '?')} wrote {str(file)!r}, which this machine does not find as written "
                "(the worker's own disk): give -o a folder on a drive the workers share, at the same path"
            )
    return None


def _as_written(file: Path, output: dict[str, Any]) -> bool:
    """Whether ``file`` is here as its manifest output says it was written (its size; its existence alone where an
    entry does not say)."""
    try:
        size = file.stat().st_size
    except OSError:
        return False
    return "bytes" not in output or size == output["bytes"]


def run_on_cluster(
    client: Any,
    first_done: Callable[[list[Any]], set[Any]],
    pending: deque[Task],
    record: Callable[[dict[str, Any]], None],
    work: Callable[[Task], dict[str, Any]],
    asked: threading.Event,
) -> None:
    """Hand the tasks to the cluster as its worker threads come free, each finished one recorded at once. Handed out
    all at once, a Ctrl-C canceled the ones not done, but a task a worker had started runs on to write its output
    (a running task cannot be stopped), which the manifest then never held. Now a Ctrl-C (``asked``) is raised at
    the loop's top: nothing more is handed out, and the tasks in flight finish and are recorded, as locally.

    An item the cluster gives up on (its workers died each time) is named by their crash reports; one that only
    died beside it is tried once more, alone, at the end (:func:`~soundstage.batch.failures.cluster_death`)."""
    run = _ClusterRun(client, record, work)
    threads = _Threads(client)
    try:
        while pending or run.running or run.alone:
            if asked.is_set():
                raise KeyboardInterrupt
            free = threads.count(len(pending) + len(run.running) + len(run.alone))
            while pending and len(run.running) < free:
                run.submit(pending.popleft())
            if run.alone and not pending and not run.running:
                run.submit(run.alone.popleft())
            for future in first_done(list(run.running)):
                run.finish(future)
    except KeyboardInterrupt:
        pending.clear()
        run.alone.clear()
        for future in list(run.running):  # the items in flight finish whole, and are recorded (result() waits)
            run.finish(future)
        raise
    finally:
        run.sweep()


#: How long the cluster may have no workers while items wait before the batch says so (seconds).
NO_WORKERS_NOTICE_S = 60.0


class _Threads:
    """The cluster's worker threads, counted every :data:`_CLUSTER_RECOUNT_S` (workers join and leave); a spell of
    :data:`NO_WORKERS_NOTICE_S` with none is said, once a spell. The items wait for workers as Dask does (an adaptive
    cluster starts some as work comes), but not in silence: a cluster whose workers all died and were not restarted
    kept the batch waiting for ever, saying nothing."""

    def __init__(self, client: Any):
        self.client = client
        self.threads, self.counted = 0, -math.inf
        self.none_since: float | None = None
        self.said = False

    def count(self, waiting: int) -> int:
        """How many items the cluster can run at once (at least one, which waits where no worker is)."""
        now = time.monotonic()
        if now - self.counted > _CLUSTER_RECOUNT_S:
            self.threads, self.counted = sum(self.client.nthreads().values()), now
            self.none_since = None if self.threads else (self.none_since or now)
            self.said = self.said and not self.threads
        if self.none_since is not None and not self.said and now - self.none_since >= NO_WORKERS_NOTICE_S:
            self.said = True
            address = getattr(self.client.scheduler, "address", None) or "the scheduler's address"
            warnings.warn(
                f"batch: the cluster has had no workers for {now - self.none_since:.0f} s and {waiting} item(s) wait for "
                f"one: start workers (dask worker {address}), or stop with Ctrl-C (--resume goes on from there)",
                stacklevel=1,
            )
        return max(1, self.threads)


class _ClusterRun:
    """The items in flight on a cluster, and what their deaths taught (see :func:`run_on_cluster`)."""

    def __init__(self, client: Any, record: Callable[[dict[str, Any]], None], work: Callable[[Task], dict[str, Any]]):
        self.client, self.record, self.work = client, record, work
        self.running: dict[Any, Task] = {}
        self.patience = output_patience_s()
        self.hung: list[tuple[Task, Stalled]] = []  # plugins, or chains, that hung: each item of theirs would wait as long
        self.crashes_seen: list[str] = []  # what the watchers of workers that died reported
        self.alone: deque[Task] = deque()  # items that died beside one that crashed their workers
        self.folders: set[Path] = set()

    def submit(self, task: Task) -> None:
        if not not_tried(task, self.hung, self.record):
            self.folders.add(Path(task.output_dir))
            key = f"soundstage-batch-{task.item}-{id(task)}"
            self.running[self.client.submit(self.work, on_cluster(task), key=key, pure=False, retries=1)] = task

    def finish(self, future: Any) -> None:
        task = self.running.pop(future)
        try:
            entry = {**future.result(), "input": task.input}  # the manifest's input as given, as a local run's
        except Exception as error:  # the cluster gave up on it (its workers died each time)
            note, reason = cluster_death(task, error, self.crashes_seen)
            self.hung.extend([(task, note)] if note and note.every_item_waits else [])
            if reason is None:  # it died beside the item that crashed the workers: once more, alone
                self.alone.append(dataclasses.replace(task, attempt=2, overwrite=task.overwrite or not task.output_existed))
                return
            entry = {**died(task), "reason": reason}
        unseen = unseen_output(entry, Path(task.output_dir), self.patience) if entry["status"] == "done" else None
        if unseen:
            self.patience = 0.0  # a worker writes elsewhere: its next items fail at once
            entry = {**entry, "status": "failed", "reason": unseen}
        self.record(entry)

    def sweep(self) -> None:
        """Take away what the watchers of workers that died reported beyond what the items took (those of items
        retried elsewhere; late ones too)."""
        if self.crashes_seen or any(crash_reports_in(folder) for folder in self.folders):
            time.sleep(1.0)
        for folder in self.folders:
            crash_lines(folder)
