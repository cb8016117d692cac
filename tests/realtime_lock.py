"""A pytest hook (tests/conftest.py imports it): under pytest-xdist, a test marked ``realtime`` runs alone."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """With pytest-xdist (the README's ``-n auto``), a test marked ``realtime`` (it asserts real-time pace) runs with
    no other test beside it: it holds a lock across the workers that every other test shares, through its fixtures'
    setup and teardown too. Run alone, tests take no lock. ``SOUNDSTAGE_TEST_LOCK`` names another lock file (a run
    inside a run: tests/test_parallel_runs.py)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    default = Path(tempfile.gettempdir()) / f"soundstage-tests-{os.getuid()}.lock"
    with open(os.environ.get("SOUNDSTAGE_TEST_LOCK", default), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if item.get_closest_marker("realtime") else fcntl.LOCK_SH)
        yield
