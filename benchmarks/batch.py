"""Batch throughput: the same items through the studio-5 preset on 1 and on 2 local workers, in one run.

Target (issue 16): 40 items x 30 s, 2 workers >= 1.8x the speed of 1 worker (this
machine has 2 cores). Printed as well: the per-item overhead (worker start and
chain load, from the manifest's in-worker times) and each worker's peak RSS.

    python benchmarks/batch.py [--items 40] [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

from soundstage.batch import load_jobs, run_batch
from soundstage.batch.manifest import Manifest

# Designs are made, not read from the design store (soundstage.designstore): the figures of a first
# run, whatever an earlier run left on this machine (the render processes inherit it).
os.environ["SOUNDSTAGE_DESIGN_CACHE"] = "off"

SR = 48000


def write_items(folder: Path, count: int, seconds: float, subtype: str) -> None:
    """`count` stereo files of `seconds` of noise at -20 dBFS RMS in `folder` (made here), the same every run."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(count):
        audio = (0.1 * rng.standard_normal((int(seconds * SR), 2))).astype(np.float32)
        soundfile.write(folder / f"item{index:03d}.wav", audio, SR, subtype=subtype)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--chain", default="studio-5")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        write_items(root / "in", args.items, args.seconds, "FLOAT")
        items = load_jobs(root / "in", chain=args.chain)
        walls = {}
        for workers in (1, 2):
            out = root / f"out{workers}"
            start = time.perf_counter()
            result = run_batch(items, out, workers=workers)
            walls[workers] = time.perf_counter() - start
            assert len(result.done) == args.items, result.failed
            entries = list(Manifest(out).entries().values())
            inside = [float(e["seconds"]) for e in entries]
            by_worker: dict[str, list[dict]] = {}  # type: ignore[type-arg]
            for entry in entries:
                by_worker.setdefault(entry["worker"], []).append(entry)
            firsts = [min(group, key=lambda e: e["finished_at"])["seconds"] for group in by_worker.values()]
            overhead = (walls[workers] * workers - sum(inside)) / args.items
            rss = ", ".join(f"{max(e['peak_rss_mb'] or 0 for e in group):.0f}" for group in by_worker.values())
            print(
                f"{workers} worker(s): {walls[workers]:.1f} s for {args.items} x {args.seconds:g} s "
                f"({args.items * args.seconds / walls[workers]:.0f}x real time); median item {statistics.median(inside):.2f} s, "
                f"first item per worker (chain load) {max(firsts) - statistics.median(inside):+.2f} s; "
                f"per-item overhead outside the items {overhead:.2f} s; peak RSS per worker (MB): {rss}"
            )
    print(f"2 workers vs 1: {walls[1] / walls[2]:.2f}x (target >= 1.8x)")


if __name__ == "__main__":
    main()
