"""A batch worker function that dies on one item, as a crashing plugin would (tests/test_batch.py)."""

from __future__ import annotations

import os
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
