"""Wall time of ``soundstage export-plugin`` (a preset, as VST3, LV2 and CLAP unless asked), two ways in the same run:

  - every compile made (ccache off, ``CCACHE_DISABLE=1``): the baseline, what an export costs on a machine without
    ccache or with a chain of a new name;
  - a re-export after a knob's change, through ccache, the earlier exports' objects in it: only the program compiles
    (the engine, each format's part and DPF's are found), then the links and LV2's description. Target: at most 0.35 of
    the baseline.

Each round changes the chain's center level (a new program each time, as a user's tweak makes). The figure is the median
of ``--rounds``; the first export through ccache (which fills it) is not counted. Needs g++, dpf-source and ccache.

    python benchmarks/export_build.py [--preset studio-5-binaural] [--rounds 3] [--format vst3,lv2,clap]
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from soundstage.export import missing_tools
from soundstage.host.chainfile import find_chain

TARGET_RATIO = 0.35


def export_seconds(chain: Path, out: Path, formats: str, env: dict[str, str]) -> float:
    """One export of ``chain`` into ``out`` (a process of its own, as a user runs it); its wall time."""
    command = [sys.executable, "-m", "soundstage.cli", "export-plugin", str(chain), "-o", str(out), "--overwrite"]
    command += ["--format", formats]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="studio-5-binaural")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--format", default="vst3,lv2,clap", help="the formats exported (default: %(default)s)")
    args = parser.parse_args()
    missing = missing_tools() or (None if shutil.which("ccache") else "ccache is not installed (apt-get install ccache)")
    if missing:
        sys.exit(f"export_build: cannot build plugins here: {missing}")
    text = Path(find_chain(args.preset)).read_text()
    if "center_level_db = 0.0" not in text:
        sys.exit(f"export_build: {args.preset} has no center level to change; choose a device preset")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        cached = {**os.environ, "CCACHE_DIR": str(folder / "ccache")}
        cached.pop("CCACHE_DISABLE", None)
        plain = {**cached, "CCACHE_DISABLE": "1"}
        chain = folder / f"{args.preset}.toml"
        chain.write_text(text)
        export_seconds(chain, folder / "out", args.format, cached)  # fills the cache (and warms the disk): not counted
        baseline: list[float] = []
        again: list[float] = []
        levels = itertools.count(1)
        for _ in range(args.rounds):
            for times, env in ((baseline, plain), (again, cached)):  # every export a new program
                chain.write_text(text.replace("center_level_db = 0.0", f"center_level_db = {-0.25 * next(levels)}"))
                times.append(export_seconds(chain, folder / "out", args.format, env))
    every, cached_median = statistics.median(baseline), statistics.median(again)
    ratio = cached_median / every
    print(f"export-plugin {args.preset} ({args.format}), median of {args.rounds}, on {os.cpu_count()} cores:")
    print(f"  every compile made (ccache off):        {every:6.2f} s")
    print(f"  re-export after a knob's change, ccache: {cached_median:6.2f} s   ratio {ratio:.2f} (target <= {TARGET_RATIO})")


if __name__ == "__main__":
    main()
