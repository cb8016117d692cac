"""Behaviour unchanged: presets, designs and reports against committed fingerprints.

The reference (tests/behavior/reference.json) was made on the commit the
architecture work started from, by ``python3 tests/behavior/reference.py --write``.
A refactor keeps every hash. When a change is meant to reorder a float sum,
``python3 tests/behavior/reference.py --against REV`` compares every array with
revision REV's (limit 1e-6); only then is the reference written again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "behavior"))
import reference  # noqa: E402  (tests/behavior/reference.py)

EXPECTED = json.loads(reference.REFERENCE.read_text())
#: The one intended change of the reports since the reference was made: American spelling in every message.
SPELLING = {
    "centre": "center",
    "Centre": "Center",
    "realised": "realized",
    "regularis": "regulariz",
    "normalis": "normaliz",
    "modelling": "modeling",
}


def american(text: str) -> str:
    for british, us in SPELLING.items():
        text = text.replace(british, us)
    return text


@pytest.fixture(scope="module")
def measured() -> dict[str, dict[str, object]]:
    return reference.measure()


@pytest.mark.parametrize(("group", "name"), [(group, name) for group, items in EXPECTED.items() for name in items])
def test_fingerprint_unchanged(measured: dict[str, dict[str, dict[str, object]]], group: str, name: str) -> None:
    expected, got = EXPECTED[group][name], measured[group][name]
    if group == "reports":
        assert got["text"] == american(expected["text"])
        return
    assert got["shape"] == expected["shape"]
    assert got["sha256"] == expected["sha256"], (
        f"{group} {name!r} changed (peak {got['peak']!r} vs {expected['peak']!r}); "
        "run tests/behavior/reference.py --against <start commit> to see by how much"
    )
