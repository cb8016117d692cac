"""Running a batch: tasks to workers, results into the manifest, failures isolated, resumable.

Executors:

- **local** (default): worker processes started with ``spawn`` (never ``fork``: a
  forked copy of a process holding a VST3 can crash), each building a chain once
  from its file and reusing it, recycled after ``recycle_after`` items (long
  loops over external plugins leak). At most one item per worker is in flight.
  A worker that dies (a plugin that crashes it, SIGKILL) is replaced: each item
  in flight then is retried once, alone on a fresh worker, so a second death is
  that item's own; it then fails with that reason and the batch goes on. Workers ignore SIGINT: Ctrl-C stops the
  batch handing out items, the items in flight finish whole, and the batch ends.
- **Dask** (``scheduler="tcp://HOST:PORT"``, the ``cluster`` extra): the same
  tasks submitted to an existing ``dask.distributed`` cluster, which retries an
  item whose worker died; when it gives up, the workers' crash reports name the
  plugin, and an item that died only beside the one that crashed is tried once
  more. Workers need soundstage, and every plugin a chain names at the same path;
  chain files travel as text, never plugin objects.

Either way an item's outputs are the bytes ``soundstage process`` (or ``render``)
writes for it, and each finished item's entry is appended to the manifest at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from soundstage.acoustics.hrtf import HEAD_MODELS, HeadChoice, HrtfError
from soundstage.batch.cluster import check_workers_see, run_on_cluster
from soundstage.batch.failures import crash_lines, crash_reason, died, not_tried
from soundstage.batch.jobs import BatchError, BatchItem
from soundstage.batch.manifest import Manifest, sha256_path
from soundstage.batch.worker import Stalled, Task, chain_plugins, crash_reports_in, report_crashes, run_task, stalled
from soundstage.errors import warnings_as_lines
from soundstage.files import remove_temporaries, why_not_made
from soundstage.host.chainfile import NoHeadStageError, with_head
from soundstage.tomlfile import parse_toml

__all__ = ["BatchResult", "run_batch"]

#: Items a local worker renders before it is replaced by a fresh process.
RECYCLE_AFTER = 50


@dataclass
class BatchResult:
    """What a batch did: items done, skipped as already done (``--resume``), failed (with reasons)."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False
    seconds_of_audio: float = 0.0


def run_batch(
    items: list[BatchItem],
    output_dir: str | Path,
    *,
    workers: int = 2,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    recycle_after: int = RECYCLE_AFTER,
    on_entry: Callable[[dict[str, Any]], None] | None = None,
    work: Callable[[Task], dict[str, Any]] = run_task,
) -> BatchResult:
    """Render every item into ``output_dir`` (see the module docstring); the manifest records each one.

    ``on_entry`` sees every manifest entry as it is written (progress). ``work`` is
    what a worker runs per task (:func:`~soundstage.batch.worker.run_task`; a
    module-level function, since it is pickled to the workers).
    ``KeyboardInterrupt`` stops handing out items; the items in flight finish and
    are recorded, then the result says ``interrupted``.
    """
    folder = Path(output_dir)
    if folder.exists() and not folder.is_dir():
        raise BatchError(f"batch: output folder {str(folder)!r} is a file; choose another -o")
    with contextlib.ExitStack() as held:
        if folder.is_dir():  # held before the manifest is read: what is done is decided with no other batch writing
            held.enter_context(_only_batch_in(folder))
        result, tasks = _plan(items, folder, resume=resume, overwrite=overwrite)
        made = [path for path in (folder, *folder.parents) if not path.exists()]  # the deepest first
        if made:
            try:  # once every item is checked: a refused batch makes no folder
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:  # a file where a folder of the path should be; a place that is not writable
                _remove_if_empty(made)
                why = why_not_made(folder, error, "choose another -o")
                raise BatchError(f"batch: output folder {str(folder)!r} cannot be created{why}") from None
            held.enter_context(_only_batch_in(folder))
        try:
            _run(tasks, result, Manifest(folder), scheduler, on_entry, workers=workers, recycle_after=recycle_after, work=work)
        except BaseException:
            _remove_if_empty(made)  # a batch that could not start (no scheduler): nor does its folder
            raise
    return result


def _remove_if_empty(folders: list[Path]) -> None:
    """Remove the folders this batch made (the deepest first) where nothing was written into them."""
    for path in folders:
        try:
            path.rmdir()
        except OSError:  # something is in it: it stays, and so do the folders above it
            return


def _plan(items: list[BatchItem], folder: Path, *, resume: bool, overwrite: bool) -> tuple[BatchResult, list[Task]]:
    """Every item checked, and a task for each one not skipped as already done; nothing written."""
    manifest = Manifest(folder)
    previous = manifest.entries() if resume or not overwrite else {}
    result = BatchResult()
    tasks: list[Task] = []
    chains: dict[Path, tuple[str, str, tuple[tuple[str, str], ...], Any]] = {}
    heads: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}
    on_head: set[tuple[Path, tuple[str, ...]]] = set()
    for item in items:
        task = _task(item, folder, chains, heads, on_head, overwrite)
        entry = previous.get(item.name)
        made_here = False
        if entry is not None:  # only an item the manifest knows needs its input hashed here (the worker hashes it anyway)
            wanted = {
                "input_sha256": sha256_path(item.input) if item.input.is_file() else None,
                "chain_sha256": task.chain_sha256,
                "plugins": [{"path": p, "sha256": d} for p, d in task.plugins],
                "hrtf": [{"path": p, "sha256": d} for p, d in task.hrtf],
                "tail_s": task.tail_s,
            }
            if resume and manifest.is_current(entry, wanted, folder):
                result.skipped.append(item.name)
                continue
            made_here = manifest.is_current({**entry, **wanted, "status": "done"}, wanted, folder)
        existed = (folder / task.output).exists()
        tasks.append(dataclasses.replace(task, overwrite=overwrite or made_here, output_existed=existed))
    return result, tasks


@contextlib.contextmanager
def _only_batch_in(folder: Path) -> Iterator[None]:
    """The output folder held for one batch while it runs (an advisory lock on the folder, released when the batch
    process ends, however it ends). A second batch into it is refused: it would render the same items again, and
    take the first one's temporaries for a killed worker's leftovers and remove them."""
    if fcntl is None:  # Windows: no advisory lock on a folder; a second batch there is not detected
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(
                f"output folder {str(folder)!r}: another batch is writing into it; wait for that batch to end (or stop it), "
                "then run this one with --resume, or give this one another -o folder"
            ) from None
        except OSError:  # a file system without locks (some network mounts): a second batch there is not detected
            pass
        yield
    finally:
        os.close(descriptor)


def _run(
    tasks: list[Task],
    result: BatchResult,
    manifest: Manifest,
    scheduler: str | None,
    on_entry: Callable[[dict[str, Any]], None] | None,
    **options: Any,
) -> None:
    """Run the tasks, each finished item's entry into the manifest and ``result`` at once."""

    def record(entry: dict[str, Any]) -> None:
        manifest.append(entry)
        if entry["status"] == "done":
            result.done.append(entry["item"])
            result.seconds_of_audio += sum(float(o.get("seconds_of_audio", 0.0)) for o in entry.get("outputs", []))
        else:
            result.failed[entry["item"]] = str(entry.get("reason", "failed"))
        if on_entry is not None:
            on_entry(entry)

    runner = _run_dask if scheduler else _run_local
    try:
        runner(tasks, record, scheduler=scheduler, **options)
    except KeyboardInterrupt:
        result.interrupted = True


def _task(
    item: BatchItem,
    folder: Path,
    chains: dict[Path, Any],
    heads: dict[tuple[str, ...], tuple[tuple[str, str], ...]],
    on_head: set[tuple[Path, tuple[str, ...]]],
    overwrite: bool,
) -> Task:
    """The plain-data task of an item: its chain file's text and hash, its plugins' and head's hashes (each chain
    and head read once: ``chains``, ``heads``). A head that cannot be read, or a chain with no stage that takes one,
    stops the batch here (each (chain, head) pair checked once: ``on_head``)."""
    head = _head_hashes(item, heads)
    if item.kind == "render" or item.chain is None:
        return Task(item.name, item.kind, str(item.input), str(folder), item.output, overwrite=overwrite, hrtf=head)
    if item.chain not in chains:
        try:
            text = item.chain.read_text(encoding="utf-8")
        except OSError as error:
            raise BatchError(f"batch: chain file {str(item.chain)!r} cannot be read: {error}") from None
        data = parse_toml(text, item.chain, BatchError)
        plugins = chain_plugins(data, item.chain.resolve().parent)
        hashes = tuple((str(p), sha256_path(p) if p.exists() else "missing") for p in plugins)
        chains[item.chain] = (text, sha256_path(item.chain), hashes, data)
    text, digest, hashes, data = chains[item.chain]
    if head and (item.chain, item.hrtf) not in on_head:
        try:
            with_head(data, list(item.hrtf), source=str(item.chain))
        except NoHeadStageError as error:
            raise BatchError(f"batch: item {item.name!r}: {error}") from None
        on_head.add((item.chain, item.hrtf))
    return Task(
        item.name,
        "process",
        str(item.input),
        str(folder),
        item.output,
        chain=str(item.chain),
        chain_text=text,
        chain_sha256=digest,
        plugins=hashes,
        hrtf=head,
        tail_s=item.tail_s,
        overwrite=overwrite,
    )


def _head_hashes(item: BatchItem, heads: dict[tuple[str, ...], tuple[tuple[str, str], ...]]) -> tuple[tuple[str, str], ...]:
    """(setting, sha256) of each file of an item's head (a model's: ``"model"``), the files read and checked once."""
    if item.hrtf and item.hrtf not in heads:
        try:
            HeadChoice(list(item.hrtf))
        except HrtfError as error:
            raise BatchError(f"batch: item {item.name!r}: hrtf: {error}") from None
        heads[item.hrtf] = tuple((h, "model" if h in HEAD_MODELS else sha256_path(Path(h))) for h in item.hrtf)
    return heads.get(item.hrtf, ())


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is the batch's to handle (the item in flight finishes whole); warnings print as
    the command line's do; a plugin that crashes the worker is named to the batch (:func:`_crash_reason`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings_as_lines()
    report_crashes()


def _run_local(
    tasks: list[Task],
    record: Callable[[dict[str, Any]], None],
    *,
    workers: int,
    recycle_after: int,
    work: Callable[[Task], dict[str, Any]],
    **_: Any,
) -> None:
    with _ctrl_c_at_safe_points() as asked:
        _run_pools(deque(tasks), record, asked, workers=workers, recycle_after=recycle_after, work=work)


#: How often the pool's loop looks for a Ctrl-C taken while it waits (seconds).
_CTRL_C_POLL_S = 0.2


@contextlib.contextmanager
def _ctrl_c_at_safe_points() -> Iterator[threading.Event]:
    """Ctrl-C while the pools run is taken where no item is half handed out or half recorded: the first one sets
    the event yielded, which the loop raises as ``KeyboardInterrupt`` at its top (:func:`_stop_if_asked`); a second
    one interrupts at once, as before. Raised anywhere, it could fall between handing an item to a worker and noting
    it in flight: the worker wrote its output, the manifest never said so, and a resumed batch met that output as
    "already exists". Off the main thread, where Ctrl-C never arrives, nothing is changed."""
    asked = threading.Event()

    def first(_signum: int, _frame: object) -> None:
        asked.set()
        signal.signal(signal.SIGINT, previous)

    try:
        previous = signal.signal(signal.SIGINT, first)
    except ValueError:
        yield asked
        return
    try:
        yield asked
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop_if_asked(asked: threading.Event) -> None:
    if asked.is_set():
        raise KeyboardInterrupt


def _run_pools(
    pending: deque[Task],
    record: Callable[[dict[str, Any]], None],
    asked: threading.Event,
    *,
    workers: int,
    recycle_after: int,
    work: Callable[[Task], dict[str, Any]],
) -> None:
    context = multiprocessing.get_context("spawn")
    options: dict[str, Any] = {"max_tasks_per_child": recycle_after} if sys.version_info >= (3, 11) else {}
    folders = {Path(task.output_dir) for task in pending}
    try:
        _rounds(pending, record, asked, workers, context, options, work)
    finally:  # what the workers a broken pool took down reported (no item's own: those are taken as they come)
        for folder in folders:
            crash_lines(folder, wait_s=0.5 if crash_reports_in(folder) else 0.0)


def _rounds(
    pending: deque[Task],
    record: Callable[[dict[str, Any]], None],
    asked: threading.Event,
    workers: int,
    context: Any,
    options: dict[str, Any],
    work: Callable[[Task], dict[str, Any]],
) -> None:
    """The pool's rounds: the items, then each one in flight when a worker died, alone (see :func:`_run_pools`)."""
    hung: list[tuple[Task, Stalled]] = []  # plugins, or chains, that hung: each item of theirs would wait as long
    while pending:
        _stop_if_asked(asked)
        crashed = _pool_round(pending, record, workers, context, options, work, asked)
        notes = [(task, stalled(task)) for task in crashed]  # all first: a bystander of a plugin that hung is not tried
        hung += [(task, note) for task, note in notes if note and note.every_item_waits]
        for task, note in notes:  # each alone on a fresh worker: a second death is that item's, not a bystander's
            remove_temporaries(Path(task.output_dir) / task.output)
            if note is not None:  # its worker ended itself on a call that never returns: once is enough
                record({**died(task), "reason": note.reason})
                continue
            if not_tried(task, hung, record):
                continue
            # a task in flight when the pool broke may have finished its output before its result came back:
            # the retry replaces that output, written by this batch, but never one that was there before it
            again = dataclasses.replace(task, attempt=task.attempt + 1, overwrite=task.overwrite or not task.output_existed)
            crash_lines(Path(task.output_dir), wait_s=0.5)  # the first round's (its bystanders killed too): not this one's
            if _pool_round(deque([again]), record, 1, context, options, work, asked):
                remove_temporaries(Path(task.output_dir) / task.output)
                note = stalled(again)
                record({**died(again), "reason": note.reason if note else crash_reason(again)})
                hung += [(again, note)] if note and note.every_item_waits else []
        for task in list(pending):
            if not_tried(task, hung, record):
                pending.remove(task)


def _pool_round(
    pending: deque[Task],
    record: Callable[[dict[str, Any]], None],
    workers: int,
    context: Any,
    options: dict[str, Any],
    work: Callable[[Task], dict[str, Any]],
    asked: threading.Event,
) -> list[Task]:
    """Run tasks from ``pending`` on one pool until it is empty or a worker dies; the tasks in flight at a death.
    A Ctrl-C (``asked``) is raised at the loop's top, and the tasks in flight then finish and are recorded."""
    crashed: list[Task] = []
    with _pool(workers, context, options) as pool:
        running: dict[Future[dict[str, Any]], Task] = {}
        try:
            while pending or running:
                _stop_if_asked(asked)
                while pending and len(running) < workers:
                    task = pending.popleft()
                    try:
                        running[pool.submit(work, task)] = task
                    except BrokenProcessPool:  # a worker died since the last wait: this task never ran
                        pending.appendleft(task)
                        break
                if not running:  # a broken pool with nothing in flight: the caller starts a fresh one
                    return crashed
                finished = wait(running, timeout=_CTRL_C_POLL_S, return_when=FIRST_COMPLETED).done
                for future in finished:
                    task = running.pop(future)
                    try:
                        record(future.result())
                    except BrokenProcessPool:
                        crashed.append(task)
                if crashed:
                    return crashed + list(running.values())
        except KeyboardInterrupt:
            pending.clear()
            for future in running:  # the items in flight finish whole, and are recorded
                with contextlib.suppress(BrokenProcessPool):
                    record(future.result())
            raise
    return crashed


#: Thread pools of the numerical libraries, held to one thread in each worker: the workers are the parallelism
#: (two workers on two cores each running several FFT/BLAS threads would fight over the cores).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _pool(workers: int, context: Any, options: dict[str, Any]) -> Iterator[ProcessPoolExecutor]:
    """A pool of spawned workers, one numerical thread each (set in the environment they inherit, unless set already)."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_ignore_sigint, **options)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_dask(
    tasks: list[Task],
    record: Callable[[dict[str, Any]], None],
    *,
    scheduler: str | None,
    work: Callable[[Task], dict[str, Any]],
    **_: Any,
) -> None:
    try:
        from distributed import Client, wait  # noqa: PLC0415 (the optional `cluster` extra)
        from distributed import TimeoutError as ClusterTimeout  # noqa: PLC0415 (asyncio's, before Python 3.11)
    except ImportError:
        raise BatchError("batch: --scheduler needs dask.distributed: pip install 'soundstage[cluster]'") from None
    try:
        client = Client(scheduler, timeout=30)
    except (OSError, TimeoutError, ValueError) as error:
        raise BatchError(
            f"batch: cannot reach the Dask scheduler at {scheduler!r}: {error}; give the address its 'dask scheduler' "
            "prints (tcp://HOST:8786), and check that it runs and that this machine can reach it"
        ) from None

    def first_done(futures: list[Any]) -> set[Any]:
        """The futures done once one is, or none after :data:`_CTRL_C_POLL_S` (a Ctrl-C is looked for between)."""
        try:
            return set(wait(futures, timeout=_CTRL_C_POLL_S, return_when="FIRST_COMPLETED").done)
        except (TimeoutError, ClusterTimeout):
            return set()

    with client, _ctrl_c_at_safe_points() as asked:
        check_workers_see(client, tasks)
        run_on_cluster(client, first_done, deque(tasks), record, work, asked)
