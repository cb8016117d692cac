"""Batch worker functions for tests/test_batch.py: one that dies on an item, as a crashing plugin would; one that holds
its item until told."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from soundstage.batch.worker import Task, run_task


def crash_on_item02(task: Task) -> dict[str, Any]:
    if task.item == "item02":
        os._exit(70)  # the worker process dies at once, as under a segfaulting plugin
    return run_task(task)


def die_after_writing_item01(task: Task) -> dict[str, Any]:
    """Item 1's first attempt writes its output, then its worker dies before the result comes back."""
    entry = run_task(task)
    if task.item == "item01" and task.attempt == 1:
        os._exit(70)
    return entry


def wait_for_go(task: Task) -> dict[str, Any]:
    """Say the item started (``.ITEM.started`` beside the input), then hold it until a file ``.go`` is there too (both
    hidden: a batch of the folder says what else it holds)."""
    folder = Path(task.input).parent
    (folder / f".{task.item}.started").touch()
    deadline = time.monotonic() + 120
    while not (folder / ".go").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return run_task(task)
