"""How long a third-party plugin takes to load, through soundstage and through pedalboard alone, in one run.

pedalboard learns each parameter's texts as it makes a plugin; where a parameter's texts say nothing (a DPF plugin's
"Current Program" with one program, ZamVerb's), it sets it to 1001 values and back, and a plugin that does work on a
program change does it 2002 times. soundstage reads such a parameter at as many values as fit in 2 s
(``soundstage.host.external``). The figure: the wall time of each load (a fresh process each, the best of
``--rounds``), and their ratio; target: soundstage's load at most a tenth of pedalboard's where pedalboard's takes over
20 s (on a plugin without such a parameter the two are alike: no target). Default plugin: ZamVerb (Debian
zam-plugins).

    python benchmarks/plugin_load.py [--plugin /usr/lib/vst3/ZamVerb.vst3] [--rounds 1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

TARGET_RATIO = 0.1
SLOW_SECONDS = 20.0
LOADS = {
    "soundstage": "from soundstage import load_plugin; load_plugin({path!r})",
    "pedalboard": "import pedalboard; pedalboard.load_plugin({path!r})",
}


def load_seconds(how: str, path: str) -> float:
    """Wall time of a fresh interpreter that imports the loader and loads ``path`` with it, less the import alone."""
    seconds = []
    for code in (LOADS[how].format(path=path), LOADS[how].split(";")[0]):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        seconds.append(time.perf_counter() - start)
    return max(seconds[0] - seconds[1], 0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plugin", default="/usr/lib/vst3/ZamVerb.vst3", help="a VST3 bundle")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if not Path(args.plugin).exists():
        print(f"{args.plugin} is not here (Debian: apt-get install zam-plugins); give --plugin")
        return 2
    best = {how: min(load_seconds(how, args.plugin) for _ in range(args.rounds)) for how in LOADS}
    ratio = best["soundstage"] / max(best["pedalboard"], 1e-9)
    print(
        f"{Path(args.plugin).name}: soundstage loads it in {best['soundstage']:.2f} s, pedalboard alone in "
        f"{best['pedalboard']:.2f} s: ratio {ratio:.3f}"
        + f" (target <= {TARGET_RATIO:g} where pedalboard takes over {SLOW_SECONDS:g} s)"
    )
    return 1 if best["pedalboard"] > SLOW_SECONDS and ratio > TARGET_RATIO else 0


if __name__ == "__main__":
    sys.exit(main())
