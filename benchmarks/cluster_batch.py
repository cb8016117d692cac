"""Batch on a Dask cluster: what each item costs beyond its own render.

Items go to a cluster as its worker threads come free (so that Ctrl-C lets the ones
running finish and starts no other); each costs the cluster's round trip. On a
LocalCluster of 2 one-thread workers, after a warm-up batch that loads the chain,
the same items through `mastering`: the wall time, the items' own times (the
manifest's in-worker seconds) and the time per item outside them, on each worker.

Target: at most 50 ms per item outside its render (a song's item renders for
seconds to minutes).

    python benchmarks/cluster_batch.py [--items 40] [--seconds 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from batch import write_items  # benchmarks/batch.py, beside this file

from soundstage.batch import load_jobs, run_batch
from soundstage.batch.manifest import Manifest

WORKERS = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    import distributed  # the cluster extra: pip install 'soundstage[cluster]'

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        write_items(root / "in", args.items, args.seconds, "PCM_24")
        items = load_jobs(root / "in", chain="mastering")
        cluster_options = {"n_workers": WORKERS, "threads_per_worker": 1, "processes": True, "dashboard_address": None}
        with distributed.LocalCluster(**cluster_options) as cluster:
            run_batch(items[:WORKERS], root / "warm", scheduler=cluster.scheduler_address)
            start = time.perf_counter()
            result = run_batch(items, root / "out", scheduler=cluster.scheduler_address)
            wall = time.perf_counter() - start
        assert len(result.done) == args.items, result.failed
        inside = sum(float(entry["seconds"]) for entry in Manifest(root / "out").entries().values())
    outside_ms = 1000 * (wall * WORKERS - inside) / args.items
    print(
        f"cluster of {WORKERS} workers: {wall:.2f} s for {args.items} x {args.seconds:g} s; the items' own renders {inside:.2f} s"
    )
    print(f"per item outside its render: {outside_ms:.0f} ms (target <= 50 ms)")


if __name__ == "__main__":
    main()
