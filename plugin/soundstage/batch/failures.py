"""A batch item that did not run to its end: its worker died (a plugin crashed it, it was killed) or ended itself on
a call that never returns; its manifest entry, and the reason its workers' crash watchers give
(:mod:`soundstage.crashes`, :func:`~soundstage.batch.worker.crash_report`)."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from soundstage.batch.worker import Stalled, Task, crash_reports_in, stalled, task_entry
from soundstage.files import remove_temporaries

__all__ = ["cluster_death", "crash_lines", "crash_reason", "died", "names_output", "not_tried"]


def not_tried(task: Task, hung: list[tuple[Task, Stalled]], record: Callable[[dict[str, Any]], None]) -> bool:
    """Record ``task`` as failed, not tried, where it would wait as long as an item whose plugin hung (``hung``: see
    :meth:`~soundstage.batch.worker.Stalled.holds`); whether it did."""
    first = next(((other, note) for other, note in hung if note.holds(task)), None)
    if first is None:
        return False
    record({**died(task), "reason": f"not tried: for item {first[0].item!r}, {first[1].reason}"})
    return True


def crash_reason(task: Task) -> str:
    """Why an item's worker died on its second try, alone: what the worker's crash watcher reported (the plugin and
    how it crashed the process; one naming the item's output first, as a report of a worker of the first try that
    was killed with the pool may come late), else that it died."""
    seen: list[str] = []
    reports = _naming_output(task, seen, wait_s=3.0) or seen
    if not reports:
        return str(died(task)["reason"])
    return f"its worker process died twice; the second time {reports[-1]}; the item was not written"


def cluster_death(task: Task, error: Exception, seen: list[str]) -> tuple[Stalled | None, str | None]:
    """An item the cluster gave up on (its workers died each time it ran: ``error``): what its worker left where it
    ended itself (:func:`~soundstage.batch.worker.stalled`), and the item's reason; None for a first try that died
    only beside the item that crashed the workers (their watchers name another's output), to be tried once more.
    ``seen``: the workers' crash reports read so far, extended with those come since."""
    note = stalled(task)
    remove_temporaries(Path(task.output_dir) / task.output)  # where a worker died with no watcher
    if note is not None:
        return note, note.reason
    own = _naming_output(task, seen, wait_s=3.0)
    if own:
        return None, f"the cluster's workers died running it, each time; the last time {own[-1]}; the item was not written"
    return None, None if task.attempt == 1 else f"the cluster could not run it: {' '.join(str(error).split())}"


def _naming_output(task: Task, seen: list[str], *, wait_s: float) -> list[str]:
    """The crash reports among ``seen`` that name ``task``'s output (:func:`names_output`), those in its output folder
    read into ``seen`` until one does, for up to ``wait_s`` (a worker's watcher writes as the worker ends, a moment
    after the pool or the cluster has seen it go)."""
    deadline = time.monotonic() + wait_s
    while True:
        seen.extend(crash_lines(Path(task.output_dir)))
        own = [report for report in seen if names_output(report, task)]
        if own or time.monotonic() >= deadline:
            return own
        time.sleep(0.05)


def names_output(report: str, task: Task) -> bool:
    """Whether a crash report names ``task``'s output among the unfinished ones its watcher removed (as a path from
    the worker's folder, or whole; a file in it, where the output is a session's render folder): the item whose
    plugin crashed the worker, not one beside it."""
    end = "/" if task.kind == "render" else "'"
    return re.search(rf"['/]{re.escape(task.output)}{end}", report) is not None


def crash_lines(folder: Path, *, wait_s: float = 0.0) -> list[str]:
    """The lines crashed workers reported into ``folder`` (:func:`~soundstage.batch.worker.crash_report`),
    taken away; looked for up to ``wait_s`` (a worker's watcher writes as the worker ends, a moment after the pool has
    seen it go)."""
    deadline = time.monotonic() + wait_s
    while True:
        files = crash_reports_in(folder)
        if files or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    lines = []
    for path in sorted(files, key=lambda p: p.stat().st_mtime if p.exists() else 0.0):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            lines.append(path.read_text(encoding="utf-8").strip())
        path.unlink(missing_ok=True)
    return [line for line in lines if line]


def died(task: Task) -> dict[str, Any]:
    """The manifest entry of an item whose worker died on it (the reason the caller's, where it knows better)."""
    return {
        **task_entry(task),
        "status": "failed",
        "attempt": task.attempt,
        "reason": "its worker process died twice (a plugin crashed it, or it was killed); the item was not written",
    }
