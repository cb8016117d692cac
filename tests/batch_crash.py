"""A batch worker function that dies on one item, as a crashing plugin would (tests/test_batch.py)."""

from __future__ import annotations

import os
from typing import Any

from soundstage.batch.worker import Task, run_task


def crash_on_item02(task: Task) -> dict[str, Any]:
    if task.item == "item02":
        os._exit(70)  # the worker process dies at once, as under a segfaulting plugin
    return run_task(task)
