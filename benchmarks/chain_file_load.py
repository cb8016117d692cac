"""Loading grows linearly with a chain file's size: `soundstage chain show` of 300 and 3 000 Gain stages.

Both are timed in the same run (whole process, best of --rounds), so their
difference — the cost of 2 700 more stages — does not include the command's
fixed start-up (imports: about 2 s here). Linear loading makes it a few ms per
stage at most; the n^2.3 growth this replaced took 105 s for 3 000 stages.

Target: the 3 000-stage file answers within 5 s; at most 1 ms per extra stage.

    python benchmarks/chain_file_load.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 5.0
TARGET_MS_PER_STAGE = 1.0


def write_chain(path: Path, stages: int) -> Path:
    path.write_text("".join('[[stages]]\ntype = "Gain"\nparameters = { gain_db = -1.0 }\n' for _ in range(stages)))
    return path


def best_time(path: Path, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "soundstage.cli", "chain", "show", str(path)], check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        small = best_time(write_chain(Path(folder) / "small.toml", 300), args.rounds)
        large = best_time(write_chain(Path(folder) / "large.toml", 3000), args.rounds)
    per_stage_ms = 1000 * (large - small) / 2700
    print(f"chain show, 300 stages: {small:.2f} s; 3000 stages: {large:.2f} s (target <= {TARGET_S:.0f} s)")
    print(f"per extra stage: {per_stage_ms:.2f} ms (target <= {TARGET_MS_PER_STAGE:.0f} ms)")
    return 0 if large <= TARGET_S and per_stage_ms <= TARGET_MS_PER_STAGE else 1


if __name__ == "__main__":
    sys.exit(main())
