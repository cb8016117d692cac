"""Command-line start-up: ``soundstage --help``, median of 5 runs, beside a bare Python start in the same run.

Target (issue 14): <= 0.5 s. ``import soundstage`` loads only the error types; the
stages, pedalboard, scipy and sofar load on first use, and each subcommand imports
its own layers when it runs.

    python benchmarks/cli_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def _seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    script = shutil.which("soundstage")
    command = [script, "--help"] if script else [sys.executable, "-m", "soundstage.cli", "--help"]
    bare, helped = [], []
    for _ in range(args.runs):  # interleaved, so both see the same machine
        bare.append(_seconds([sys.executable, "-c", "pass"]))
        helped.append(_seconds(command))
    median, baseline = statistics.median(helped), statistics.median(bare)
    print(f"bare python start: {baseline:.3f} s (median of {args.runs})")
    print(f"soundstage --help: {median:.3f} s (median of {args.runs}; {median / baseline:.1f}x a bare start; target <= 0.5 s)")


if __name__ == "__main__":
    main()
