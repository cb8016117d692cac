"""pytest hooks (tests/conftest.py imports them): under pytest-xdist, the tests that share a module's fixture share a
worker, and every other test goes to whichever worker is free.

With ``--dist loadscope`` a module ran on one worker: tests/test_export_plugin.py's 9 minutes kept one worker busy while
the other waited at the end of the run. Test by test (``--dist load``), a module's fixtures (an exported plugin, a
browser, a design) would be made on both workers. Here each worker, as it collects, writes which of its tests share
a module-scoped fixture (directly, or through a test that uses two), and the run's scheduler sends each such group
to one worker as a unit, the largest groups first, and the other tests one at a time. xdist's own ``loadgroup`` does
not serve: it reads ``xdist_group`` marks into the tests' ids, which pytest 9.2 no longer lets a plugin change
(pytest-xdist issue 1386), so the tests run as if unmarked.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

#: The variable naming the folder the workers write their groups into.
FOLDER = "SOUNDSTAGE_TESTS_GROUPS"


def shared_fixture_groups(items: list[pytest.Item]) -> dict[str, str]:
    """Each test that uses a module-scoped fixture, by id, with its group's name: the tests of a module that use one
    such fixture, or one that a test uses together with another (an exported plugin and a host built for it), are
    one group, named by the first of its fixtures (``tests/test_daw.py::exported``), the same on every worker."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    shared: dict[str, list[str]] = {}
    for item in items:
        # pytest keeps the fixtures a test asks for, with their scopes, in _fixtureinfo (as --fixtures-per-test reads)
        info = getattr(item, "_fixtureinfo", None)
        definitions = info.name2fixturedefs if info is not None else {}
        module = item.nodeid.split("::")[0]
        keys = [f"{module}::{name}" for name, defs in sorted(definitions.items()) if defs and defs[-1].scope == "module"]
        if keys:
            shared[item.nodeid] = keys
            for key in keys:
                parent[root(key)] = root(keys[0])
    first: dict[str, str] = {}
    for key in sorted(parent):
        first.setdefault(root(key), key)
    return {nodeid: first[root(keys[0])] for nodeid, keys in shared.items()}


def pytest_configure(config: pytest.Config) -> None:
    """The process that starts the run (not a worker) makes the folder its workers write their groups into, before
    it starts them (they inherit it); a run started inside a test makes its own."""
    if not hasattr(config, "workerinput"):
        folder = tempfile.mkdtemp(prefix="soundstage-tests-groups-")
        os.environ[FOLDER] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A worker writes its tests' groups (after the other hooks have chosen the tests) for the scheduler."""
    worker, folder = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get(FOLDER)
    if worker is None or folder is None:
        return
    target = Path(folder) / f"{worker}.json"
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(shared_fixture_groups(items)))
    partial.replace(target)


class SharedFixtureScheduling(LoadScopeScheduling):
    """xdist's scheduling by scope (a unit of tests goes to one worker; the units with the most tests first), with a
    test's scope its group of shared fixtures, or the test alone."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        self._groups: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:  # the one method xdist's own schedulers by scope override
        if self._groups is None:  # read once the workers have collected, as the scheduler first splits
            written = sorted(Path(os.environ.get(FOLDER, "")).glob("*.json"))
            self._groups = json.loads(written[0].read_text()) if written else {}
        return self._groups.get(nodeid, nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling | None:
    """The scheduler above for ``--dist loadgroup`` (pyproject's addopts); any other ``--dist`` as xdist makes it."""
    return SharedFixtureScheduling(config, log) if config.getvalue("dist") == "loadgroup" else None
