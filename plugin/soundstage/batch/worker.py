"""One batch item, run where a worker runs it (a local process or a Dask worker).

What travels to a worker is plain data (:class:`Task`): paths, the chain file's
text and its hash. pedalboard plugins cannot be pickled, and a chain file
round-trips exactly, so each worker builds the chain from its file once and
reuses it for every item with the same chain (plugins load once per worker
thread). That cache (``_CHAINS``) is the worker's own state; it never travels.

The result (:func:`run_task`) is the item's manifest entry: ``done`` with its
outputs, or ``failed`` with a one-line reason. Nothing raises out of a task
except a crash of the process itself, which the executor handles.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pedalboard

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

from soundstage import crashes, stalls
from soundstage.batch.manifest import sha256_path
from soundstage.errors import AudioFileError, ChainFileError, SoundstageError, os_error_line
from soundstage.fileio import RING_CAP_S, process_file
from soundstage.files import missing_hint, on_disk, referenced_path
from soundstage.host.chain import Chain
from soundstage.host.chainfile import chain_from_dict, with_head
from soundstage.host.routing import external_plugins
from soundstage.native import release_order_dropped, released_at_end
from soundstage.session.render import render_session
from soundstage.tomlfile import parse_toml

__all__ = [
    "Task",
    "chain_plugins",
    "crash_report",
    "crash_reports_in",
    "report_crashes",
    "run_task",
    "Stalled",
    "stall_note",
    "stalled",
    "task_entry",
    "what_it_sees",
]

#: Chains built in this worker, per thread (a Dask worker runs an item in each of its threads at once, and a chain
#: holds the state of its filters and plugins), by chain-file sha256 and head: plugins load once per worker thread.
_CHAINS = threading.local()
#: Held while a chain is built: one at a time in a process, as before threads ran items (it reads its files and
#: fills the design caches the threads share).
_BUILDING = threading.Lock()
#: The one thread of a worker process that loads plugins and runs the items holding them (see :func:`run_task`).
_PLUGIN_THREAD: list[ThreadPoolExecutor] = []
_PLUGIN_THREAD_LOCK = threading.Lock()
#: Holds True in a batch's local worker process (:func:`report_crashes`).
_CRASH_REPORTS: list[bool] = []
#: How many items of this worker run reporting crashes now (:func:`_crashes_reported`).
_REPORTING = [0]
#: Block size of a batch item: the same as `soundstage process`, so the outputs are the same bytes.
BUFFER_SIZE = 65536


@dataclass(frozen=True)
class Task:
    """What a worker needs for one item: plain data only (it is pickled to the worker)."""

    item: str
    kind: str
    input: str
    output_dir: str
    output: str
    chain: str | None = None
    chain_text: str | None = None
    chain_sha256: str | None = None
    plugins: tuple[tuple[str, str], ...] = ()  # (path, sha256) of every plugin the chain loads
    hrtf: tuple[tuple[str, str], ...] = ()  # (setting, sha256) of the listener's head, if one is given
    tail_s: float = 0.0  # a process item's seconds after its input's end, for the chain's tail
    overwrite: bool = False
    attempt: int = 1
    #: The output was there before the batch started (a retry may replace only what this batch wrote).
    output_existed: bool = True
    #: Run by a cluster's worker (:func:`soundstage.batch.cluster.on_cluster`), which runs one batch's items after
    #: another's: a crash is reported into this item's output folder while it runs, into the worker's log between.
    cluster: bool = False


def chain_plugins(data: Any, base: Path) -> list[Path]:
    """The plugin files a parsed chain file loads (``type = "plugin"`` tables at any depth), resolved against ``base``."""
    found: list[Path] = []
    if isinstance(data, dict):
        if data.get("type") == "plugin" and isinstance(data.get("path"), str):
            found.append(referenced_path(data["path"], base))
        for value in data.values():
            found += chain_plugins(value, base)
    elif isinstance(data, list):
        for value in data:
            found += chain_plugins(value, base)
    return found


def run_task(task: Task) -> dict[str, Any]:
    """Render one item; its manifest entry (never raises for a failure of the item itself).

    On a thread other than the process's main one (a Dask worker runs an item in each of its threads), an item that
    loads plugins (its chain holds one, or it renders a session) runs on one thread of the process kept for them:
    JUCE, pedalboard's plugin host, makes (and remakes, at a reset) a plugin only on the thread that made the first,
    and refused the others ("must be reloaded on the main thread"). Other items run where they are called, each
    thread with chains of its own."""
    with _crashes_reported(task):
        if (task.kind == "render" or task.plugins) and threading.current_thread() is not threading.main_thread():
            return _plugin_thread().submit(_run_task, task).result()
        return _run_task(task)


@contextlib.contextmanager
def _crashes_reported(task: Task) -> Iterator[None]:
    """In a batch's worker, a plugin that crashes it is named to the batch (:mod:`soundstage.crashes`): in a local
    worker (one batch's) for good, in a cluster's worker while one of its items runs."""
    if not (_CRASH_REPORTS or task.cluster):
        yield
        return
    with _TASKS_LOCK:
        _REPORTING[0] += 1
        crashes.report_into(crash_report(Path(task.output_dir)))
    try:
        yield
    finally:
        with _TASKS_LOCK:
            _REPORTING[0] -= 1
            if task.cluster and not _REPORTING[0]:
                crashes.report_into(None)


def report_crashes() -> None:
    """In a local worker process (its pool's initializer): a crash of it is reported into :func:`crash_report`, and
    its chains are let go of at its exit as a command lets go of its plugins (:func:`_let_go_of_chains`)."""
    _CRASH_REPORTS.append(True)
    atexit.register(_let_go_of_chains)


def _let_go_of_chains() -> None:
    """The chains a local worker built (on its main thread, where it runs its items) let go of with DPF's
    release-order lines dropped from what their plugins print (:mod:`soundstage.native`): freed as the interpreter
    ends, they printed them on the batch's terminal, two lines for each plugin of each worker."""
    built = _CHAINS.__dict__.pop("built", None)
    if built:
        with release_order_dropped():
            built.clear()
            gc.collect()


#: The start of a crash report's name; the worker's process id ends it.
_CRASH_REPORT_PREFIX = ".soundstage-crash-"


def crash_report(folder: Path) -> Path:
    """Where this worker's crash is reported (a local worker's; a cluster worker's while an item runs): in the
    output folder, hidden, by its process id."""
    return folder / f"{_CRASH_REPORT_PREFIX}{os.getpid()}"


def crash_reports_in(folder: Path) -> list[Path]:
    """The crash reports workers left in ``folder`` (:func:`crash_report`)."""
    return [path for path in folder.glob(f"{_CRASH_REPORT_PREFIX}*") if path.name.removeprefix(_CRASH_REPORT_PREFIX).isdigit()]


def _plugin_thread() -> ThreadPoolExecutor:
    with _PLUGIN_THREAD_LOCK:
        if not _PLUGIN_THREAD:
            _PLUGIN_THREAD.append(ThreadPoolExecutor(1, thread_name_prefix="soundstage-plugins"))
        return _PLUGIN_THREAD[0]


def task_entry(task: Task) -> dict[str, Any]:
    """What an item's manifest entry says of the task, however it ended: the item, its input, chain, plugins, head."""
    return {
        "item": task.item,
        "kind": task.kind,
        "input": task.input,
        "chain": task.chain,
        "chain_sha256": task.chain_sha256,
        "plugins": [{"path": path, "sha256": digest} for path, digest in task.plugins],
        "hrtf": [{"path": path, "sha256": digest} for path, digest in task.hrtf],
    }


def _run_task(task: Task) -> dict[str, Any]:
    started = time.perf_counter()
    entry: dict[str, Any] = {
        **task_entry(task),
        "tail_s": task.tail_s,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "attempt": task.attempt,
        "versions": {"soundstage": _version(), "pedalboard": pedalboard.__version__, "python": sys.version.split()[0]},
    }
    with released_at_end():  # the plugins the item loaded and holds no more let go of quietly (the error's too)
        try:
            with _stall_ends_worker(task):
                _check_input(task)
                entry["input_sha256"] = sha256_path(Path(task.input))
                entry["outputs"], plugin_versions = _render(task)
            entry["versions"]["plugins"] = plugin_versions
            entry["status"] = "done"
        except (SoundstageError, OSError, ValueError, RuntimeError, TypeError) as error:
            entry["status"] = "failed"
            entry["reason"] = _reason(error)
    entry["seconds"] = round(time.perf_counter() - started, 3)
    entry["peak_rss_mb"] = _peak_rss_mb()
    entry["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return entry


#: The task each thread of this worker runs (a Dask worker runs several at once), for a stall's note.
_TASKS: dict[int, Task] = {}
#: What runs around a call holding the interpreter lock (:func:`soundstage.stalls.on_holding`).
_Around = Callable[[stalls.Stall], contextlib.AbstractContextManager[None]]
#: What a stall did in this process, and what ran around a call holding the interpreter lock, before its first task
#: began (restored when no task runs).
_OUTSIDE: list[tuple[Callable[[stalls.Stall], None] | None, _Around | None]] = []
_TASKS_LOCK = threading.Lock()


def stall_note(task: Task) -> Path:
    """Where a worker leaves the reason it ended itself on ``task`` (a decoder that never returns: see
    :mod:`soundstage.stalls`), for the batch to record; beside the item's output, hidden."""
    return Path(task.output_dir) / f".{task.output}.stalled"


#: Begins the note's line where the call that never returned was a plugin loading; the plugin's file ends it.
_LOADING = "plugin loading: "
#: Begins the note's line where it was a plugin restoring a state or a preset of the chain; the chain's sha256 ends it.
_CHAIN = "chain: "
#: Begins the line of a note left before a call holding the interpreter lock: it holds only where the worker ended
#: after the time that ends it (before, it was killed beside another item, and the call may not have hung).
_PAST = "hung if ended past: "


@dataclass(frozen=True)
class Stalled:
    """What a worker that ended itself on an item left (:func:`stall_note`): the item's reason, and where every item of
    a plugin or of a chain would wait as long, which: the file of a plugin that hung as it loaded (a license check
    waiting for a window), the sha256 of a chain whose plugin hung restoring the state or the preset it gives."""

    reason: str
    loading: Path | None = None
    chain: str | None = None

    @property
    def every_item_waits(self) -> bool:
        """Whether other items would wait as long (:meth:`holds`)."""
        return self.loading is not None or self.chain is not None

    def holds(self, task: Task) -> bool:
        """Whether ``task`` would wait as long: its chain holds the plugin that hung as it loaded, or is the chain."""
        if self.chain is not None:
            return task.chain_sha256 == self.chain
        return self.loading is not None and any(Path(path).resolve() == self.loading for path, _ in task.plugins)


def stalled(task: Task) -> Stalled | None:
    """What a worker left when it ended itself on ``task`` (:func:`stall_note`), taken away; None where it left none."""
    note = stall_note(task)
    try:
        lines = note.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    note.unlink(missing_ok=True)
    if not lines or not lines[0].strip():
        return None
    fields = {
        prefix: line.removeprefix(prefix) for line in lines[1:] for prefix in (_LOADING, _CHAIN, _PAST) if line.startswith(prefix)
    }
    with contextlib.suppress(ValueError):
        if _PAST in fields and time.time() < float(fields[_PAST]):
            return None
    loading = Path(fields[_LOADING]).resolve() if _LOADING in fields else None
    return Stalled(lines[0].strip(), loading, fields.get(_CHAIN))


def _leave_note(task: Task, stall: stalls.Stall, *lines: str) -> None:
    with contextlib.suppress(OSError):
        stall_note(task).write_text("".join(f"{line}\n" for line in (str(stall), *lines)), encoding="utf-8")


def _end_worker(stall: stalls.Stall) -> None:
    """A stall's action in a worker: the call cannot end, so neither can the worker; the item's reason is left for
    the batch (:func:`stall_note`), the temporaries removed, and the process ended (its executor replaces it)."""
    task = _TASKS.get(stall.thread)
    if task is not None:
        _leave_note(task, stall, *([f"{_LOADING}{stall.path}"] if stall.plugin and stall.doing == "loading" else []))
    stalls.remove_temporaries()
    print(f"soundstage: batch: error: {stall}", file=sys.stderr, flush=True)
    crashes.ended()  # an end it means: no crash report
    os._exit(70)  # EX_SOFTWARE


@contextlib.contextmanager
def _noted_while_held(stall: stalls.Stall) -> Iterator[None]:
    """Around a call into a plugin holding the interpreter lock (restoring a chain's state or preset): past its limit
    the process ends with no Python code run (:func:`soundstage.stalls.watched_holding`), so the item's reason is
    left before, as :func:`_end_worker` leaves it, and taken away as the call returns."""
    task = _TASKS.get(stall.thread)
    if task is None:
        yield
        return
    limit_s = stall.cpu_s  # the stall it would be: the limit
    _leave_note(task, stall, f"{_PAST}{time.time() + limit_s}", *([f"{_CHAIN}{task.chain_sha256}"] if task.chain_sha256 else []))
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            stall_note(task).unlink(missing_ok=True)


@contextlib.contextmanager
def _stall_ends_worker(task: Task) -> Iterator[None]:
    """Run an item with a stall ending this worker process (see :func:`_end_worker`)."""
    with _TASKS_LOCK:
        if not _TASKS:
            _OUTSIDE[:] = [(stalls.on_stall(_end_worker), stalls.on_holding(_noted_while_held))]
        _TASKS[threading.get_ident()] = task
    with contextlib.suppress(OSError):  # a note a killed batch left is not this run's
        stall_note(task).unlink(missing_ok=True)
    try:
        yield
    finally:
        with _TASKS_LOCK:
            _TASKS.pop(threading.get_ident(), None)
            if not _TASKS and _OUTSIDE:
                action, holding = _OUTSIDE.pop()
                stalls.on_stall(action)
                stalls.on_holding(holding)


def _render(task: Task) -> tuple[list[dict[str, Any]], dict[str, str]]:
    folder = Path(task.output_dir)
    if task.kind == "render":
        head = [setting for setting, _ in task.hrtf] or None
        result = render_session(task.input, folder / task.output, overwrite=task.overwrite, hrtf=head)
        if result.failures:
            raise SoundstageError("; ".join(f"render {name!r}: {reason}" for name, reason in result.failures.items()))
        rings = {render["name"]: render.get("ringing_s", 0.0) for render in result.report["renders"]}
        renders = {output["file"]: output["render"] for output in result.report["outputs"]}
        outputs = [_output(folder, path) for path in result.outputs]
        for output, path in zip(outputs, result.outputs, strict=True):
            output["ringing_s"] = rings.get(renders.get(path.name, ""), 0.0)  # its render's chains, cut where it ends
        return outputs, {}
    chain = _chain(task)
    target = folder / task.output
    target.parent.mkdir(parents=True, exist_ok=True)  # an item of a recursive glob mirrors its folders (batch.jobs)
    info = process_file(chain, task.input, target, buffer_size=BUFFER_SIZE, overwrite=task.overwrite, tail_s=task.tail_s)
    output = _output(folder, target)
    output["integrated_lufs"] = _finite(info["integrated_lufs"])
    output["true_peak_dbtp"] = _finite(info["true_peak_dbtp"])
    output["clipped_samples"] = int(info["clipped_samples"])
    output["ringing_s"] = round(min(info["ringing_s"], RING_CAP_S), 3)  # its tail, cut where it ends (30: 30 or more)
    output["seconds_of_audio"] = info["frames"] / info["sample_rate"]
    return [output], _plugin_versions(chain)


def _chain(task: Task) -> Chain:
    """The item's chain, built from its file's text (on the item's head) once per worker thread, chain and head."""
    assert task.chain is not None and task.chain_text is not None and task.chain_sha256 is not None
    key = (task.chain_sha256, task.hrtf)
    built: dict[tuple[str, tuple[tuple[str, str], ...]], Chain] = _CHAINS.__dict__.setdefault("built", {})
    chain = built.get(key)
    if chain is None:
        file = Path(task.chain)
        data = parse_toml(task.chain_text, file, ChainFileError)
        if task.hrtf:
            data = with_head(data, [setting for setting, _ in task.hrtf], source=str(file))
        with _BUILDING:
            chain = chain_from_dict(data, source=str(file), base=file.resolve().parent)
        built[key] = chain
    return chain


def _output(folder: Path, path: Path) -> dict[str, Any]:
    file = Path(path)
    return {"path": str(file.relative_to(folder)), "sha256": sha256_path(file), "bytes": file.stat().st_size}


def what_it_sees(marker: str, token: str, paths: list[str]) -> dict[str, Any]:
    """A cluster worker's view of the batch's files (run on each by ``Client.run`` before any item): its host;
    whether ``marker`` (written into the output folder by the batch) holds ``token`` here, and the name of a file this
    worker wrote beside it for the batch to find (None where it cannot write there, or does not see it); which of
    ``paths`` (an input, the chain files, the plugins) it does not find."""
    try:
        sees_folder = Path(marker).read_text(encoding="utf-8") == token
    except (OSError, UnicodeDecodeError):
        sees_folder = False
    answer = Path(f"{marker}-{socket.gethostname()}-{os.getpid()}")
    wrote: str | None = None
    if sees_folder:  # else the answer would stay on a disk of the worker's own, where the batch cannot remove it
        with contextlib.suppress(OSError):
            answer.write_text(token, encoding="utf-8")
            wrote = answer.name
    missing = [path for path in paths if not os.path.exists(path)]
    return {"host": socket.gethostname(), "output_folder": sees_folder, "wrote": wrote, "missing": missing}


def _plugin_versions(node: Any) -> dict[str, str]:
    """``name: version`` of every external plugin in a chain (at any depth)."""
    return {
        str(getattr(plugin, "name", "plugin")): str(getattr(plugin, "version", "unknown")) for plugin in external_plugins(node)
    }


def _peak_rss_mb() -> float | None:
    """The worker process's peak resident memory so far, MB (None where the platform does not say)."""
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS
    return round(peak / (1 << 20) if sys.platform == "darwin" else peak / 1024, 1)


def _finite(value: float) -> float | None:
    return float(value) if value == value and abs(value) != float("inf") else None


def _check_input(task: Task) -> None:
    """An item whose input is not there fails in the words ``process`` and ``render`` use (the batch goes on: on a
    cluster, only the workers see the files)."""
    source = on_disk(Path(task.input))
    if not source.exists():
        what = "session file" if task.kind == "render" else "input file"
        raise AudioFileError(f"{what} {task.input!r} does not exist{missing_hint(source)}")


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError):
        return os_error_line(error)
    text = " ".join(str(error).split())
    return text if isinstance(error, SoundstageError) else f"{type(error).__name__}: {text}"


def _version() -> str:
    try:
        return version("soundstage")
    except PackageNotFoundError:  # a source checkout on sys.path
        return "unknown"
