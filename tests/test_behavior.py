"""Behaviour unchanged: presets, designs and reports against committed fingerprints.

The reference (tests/behavior/reference.json) was made on the commit the
architecture work started from, by ``python3 tests/behavior/reference.py --write``.
A refactor keeps every hash. When a change is meant to reorder a float sum,
``python3 tests/behavior/reference.py --against REV`` compares every array with
revision REV's (limit 1e-6); only then is the reference written again. On another
CPU, whose SIMD moves the last bits of some designs (about 1e-8 of them), a hash
that moved passes where the array's RMS and random projections are within
``reference.TOLERANCE`` of its RMS (a change above about -120 dB fails).

One array was written again since, for an intended change: "studio-5 automated", when the device chain
began to swap its filters once for all changes until its engine next computes (its width and distance
changes at one sample had been two swaps, the first heard for one sample of its fade: 5.7e-5 at most).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
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
    moved = change(expected, got)
    assert moved <= reference.TOLERANCE, (
        f"{group} {name!r} changed by {moved:.3g} of its RMS (peak {got['peak']!r} vs {expected['peak']!r}); "
        "run tests/behavior/reference.py --against <start commit> to see by how much"
    )


def change(expected: dict[str, Any], got: dict[str, Any]) -> float:
    """0 where the hash is kept, else how far the RMS and projections moved, re the expected RMS."""
    if got["sha256"] == expected["sha256"]:
        return 0.0
    figures = [got["rms"], *got["projections"]]
    reference_figures = [expected["rms"], *expected["projections"]]
    return max(abs(a - b) for a, b in zip(figures, reference_figures, strict=True)) / max(float(expected["rms"]), 1e-30)


def test_a_last_bit_change_passes_and_a_change_at_minus_100_db_fails() -> None:
    """The tolerance path: another CPU's rounding (1e-8 of the signal) passes; a -100 dB change of it does not."""
    rng = np.random.default_rng(1)
    signal = rng.standard_normal((2, 48000)).astype(np.float32)
    expected = reference.fingerprint(signal)
    for size, passes in ((1e-8, True), (1e-5, False)):
        moved = reference.fingerprint(signal * (1 + np.float32(size) * rng.standard_normal(signal.shape).astype(np.float32)))
        assert moved["sha256"] != expected["sha256"]
        assert (change(expected, moved) <= reference.TOLERANCE) is passes, (size, change(expected, moved))
