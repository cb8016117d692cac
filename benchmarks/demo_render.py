"""The demo session's render speed: what ``soundstage demo`` reports as "rendered in".

Writes the demo session (10 s, four stems, MIDI width automation, ten output files)
into a temporary folder, then renders it in child processes, interleaved so that
every kind of run sees the same machine:

- **first run on a machine**: an empty design store, so every design is made;
- **designs from the store**: the store the first runs filled (the usual case);
- **without taps**: from the store, but a render whose chain another render's
  chain begins with runs it on its own stream (the driver feeds' device chain);
- **without sharing**: from the store, every render's chain on its own stream
  (no shared streams, no taps): the baseline of the renders' shared work.

Each figure is the median of ``--runs`` renders; the time is the render's own
(``render_seconds`` of its report), as the demo prints it.

Target (issue 14): the demo session renders at >= 10x real time.

    python benchmarks/demo_render.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from soundstage.demo import write_demo_session

# A child render: the session, the output folder and "share", "notap" (no chain found to tap) or "alone"
# (sharing off: every chain unshareable, as a chain that a chain file cannot hold is).
CHILD = """
import sys
import soundstage.session.render as render
import soundstage.session.streams as streams
if sys.argv[3] == "notap":
    streams._longest_beginning_with = lambda entries, entry: None
if sys.argv[3] == "alone":
    streams._stage_tables = lambda chain: None
render.render_session(sys.argv[1], sys.argv[2])
"""


def _render(session: Path, out: Path, mode: str, store: Path) -> tuple[float, float]:
    """One render in a child process: its ``render_seconds`` and the session's length in seconds."""
    environment = {**os.environ, "SOUNDSTAGE_DESIGN_CACHE": str(store)}
    subprocess.run([sys.executable, "-c", CHILD, str(session), str(out), mode], check=True, env=environment)
    report = json.loads((out / "render-report.json").read_text())
    return float(report["render_seconds"]), float(report["length_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        session = write_demo_session(folder / "demo")
        store = folder / "store"
        first: list[float] = []
        stored: list[float] = []
        untapped: list[float] = []
        alone: list[float] = []
        for run in range(args.runs):
            for times, out, mode, where in (
                (first, f"first-{run}", "share", folder / f"empty-store-{run}"),
                (stored, f"stored-{run}", "share", store),
                (untapped, f"untapped-{run}", "notap", store),
                (alone, f"alone-{run}", "alone", store),
            ):
                seconds, length = _render(session, folder / out, mode, where)
                times.append(seconds)
        for label, times in (
            ("first run on a machine (designs made)", first),
            ("designs from the store", stored),
            ("from the store, without taps", untapped),
            ("from the store, without sharing", alone),
        ):
            median = statistics.median(times)
            print(f"{label:40s} {median:5.2f} s = {length / median:5.1f}x real time (median of {args.runs})")
        for what, baseline in (("taps", untapped), ("sharing (shared streams and taps)", alone)):
            ratio = statistics.median(b / s for b, s in zip(baseline, stored))
            print(f"{what}: {ratio:.2f}x as fast as without (median of the {args.runs} pairs)")
        print(f"target: >= 10x real time; designs from the store: {length / statistics.median(stored):.1f}x")


if __name__ == "__main__":
    main()
