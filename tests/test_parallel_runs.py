"""The suite on several workers (the README's ``pytest -n auto``): a test that asserts real-time pace runs alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

REALTIME = """
import os, time, pytest
pytestmark = pytest.mark.realtime
def test_pace():
    start = time.monotonic(); time.sleep(1.5)
    with open("log.txt", "a") as log: log.write(f"realtime {os.environ['PYTEST_XDIST_WORKER']} {start} {time.monotonic()}\\n")
"""
OTHER = """
import os, time, pytest
def interval(what, start):
    with open("log.txt", "a") as log: log.write(f"{what} {os.environ['PYTEST_XDIST_WORKER']} {start} {time.monotonic()}\\n")
@pytest.fixture(scope="module")
def made():
    start = time.monotonic(); time.sleep(0.5); interval("fixture", start); yield
@pytest.mark.parametrize("number", range(6))
def test_other(made, number):
    start = time.monotonic(); time.sleep(0.3); interval("other", start)
"""


def test_a_realtime_test_has_no_other_test_beside_it_on_another_worker(tmp_path: Path) -> None:
    """The live MIDI tests assert real-time pace (tests/test_midi_live.py); on two workers, one of them failed its
    100 ms lag bound while the other worker rendered. A test marked realtime now holds a lock every other test shares,
    through its module fixtures too: its run and theirs never overlap in time."""
    (tmp_path / "conftest.py").write_text("from realtime_lock import pytest_runtest_protocol  # noqa: F401\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    realtime: asserts real-time pace\n")
    (tmp_path / "test_a_realtime.py").write_text(REALTIME)
    (tmp_path / "test_b_other.py").write_text(OTHER)
    env = {**os.environ, "PYTHONPATH": str(TESTS), "SOUNDSTAGE_TEST_LOCK": str(tmp_path / "lock")}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadscope"]
    run = subprocess.run([*command, str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    rows = [line.split() for line in (tmp_path / "log.txt").read_text().splitlines()]
    assert len(rows) == 8  # the realtime test, the other module's fixture and its 6 tests
    (realtime,) = [row for row in rows if row[0] == "realtime"]
    others = [row for row in rows if row[0] != "realtime"]
    assert realtime[1] not in {row[1] for row in others}, "one worker ran both modules: nothing ran beside it"
    start, end = float(realtime[2]), float(realtime[3])
    for row in others:
        assert float(row[3]) <= start or float(row[2]) >= end, (row, realtime)


SHARED = """
import os, time, pytest
def log(what):
    with open("log.txt", "a") as log: log.write(f"{what} {os.environ['PYTEST_XDIST_WORKER']}\\n")
@pytest.fixture(scope="module")
def made():
    time.sleep(0.5); log("fixture-made"); yield
@pytest.fixture(scope="module")
def beside():
    log("fixture-beside"); yield
@pytest.mark.parametrize("number", range(4))
def test_made(made, number):
    time.sleep(0.2); log("made")
def test_both(made, beside):
    log("made")
def test_beside(beside):
    log("beside")
@pytest.mark.parametrize("number", range(12))
def test_plain(number):
    time.sleep(0.3); log("plain")
"""


def test_tests_sharing_a_module_fixture_share_a_worker_and_the_rest_are_spread(tmp_path: Path) -> None:
    """On two workers (``--dist loadgroup``, pyproject's addopts) the tests that use a module-scoped fixture, or use
    one together with another's users, run on one worker, which makes each fixture once (tests/worker_groups.py; with
    xdist's own loadgroup under pytest 9.2 each worker made it); the module's other tests are spread over both
    workers, not kept on one while the other waits (as ``--dist loadscope`` kept them)."""
    hooks = "pytest_collection_modifyitems, pytest_configure, pytest_xdist_make_scheduler"
    (tmp_path / "conftest.py").write_text(f"from worker_groups import {hooks}  # noqa: F401\n")
    (tmp_path / "test_shared.py").write_text(SHARED)
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup"]
    run = subprocess.run([*command, str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    rows = [line.split() for line in (tmp_path / "log.txt").read_text().splitlines()]
    workers = {what: [worker for name, worker in rows if name == what] for what, _ in rows}
    assert len(workers["fixture-made"]) == len(workers["fixture-beside"]) == 1, rows  # each made once
    assert set(workers["made"]) == set(workers["beside"]) == set(workers["fixture-made"]), rows  # on its worker
    assert len(workers["made"]) == 5 and len(workers["plain"]) == 12
    assert len(set(workers["plain"])) == 2, rows  # the module's other tests on both workers
