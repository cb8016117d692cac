"""Memory and speed of a session render: 16 stems x 10 minutes (issue 5 targets).

Generates the stems (48 kHz mono 24-bit WAV, BWF-stamped) into a temporary
folder, then renders the session in a child process twice — the plain stereo
mixdown, and the binaural preview of the studio-5 — each stem through a
pedalboard built-in chain and the mix through a master chain. Peak RSS is the
render process's own (resource.getrusage inside it), throughput is session length /
wall time (including the child's start-up).

Targets: peak RSS <= 600 MB; throughput >= 20x real time.

    python benchmarks/session_render.py [--stems 16] [--minutes 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from soundstage.session.bwf import add_bext

SR = 48000
STEM_CHAIN = """format = 1
[[stages]]
type = "pedalboard.HighpassFilter"
parameters = { cutoff_frequency_hz = 40.0 }
[[stages]]
type = "pedalboard.Compressor"
parameters = { threshold_db = -20.0, ratio = 2.0 }
[[stages]]
type = "Gain"
parameters = { gain_db = -6.0 }
"""


def write_stems(folder: Path, stems: int, minutes: float) -> None:
    from pedalboard.io import AudioFile

    rng = np.random.default_rng(0)
    frames = int(minutes * 60 * SR)
    for index in range(stems):
        path = folder / f"stem{index:02d}.wav"
        with AudioFile(str(path), "w", SR, 1, bit_depth=24) as writer:
            for start in range(0, frames, SR * 10):  # 10 s at a time: generation is memory-bounded too
                n = min(SR * 10, frames - start)
                t = (start + np.arange(n)) / SR
                tone = 0.05 * np.sin(2 * np.pi * (110 * (index + 1)) * t) + 0.02 * rng.standard_normal(n)
                writer.write(tone[None].astype(np.float32))
        add_bext(path, 3600 * SR + index * SR // 10)  # staggered starts, like a DAW export


def render(folder: Path, only: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one render, measured inside the render process.

    The child reports VmHWM from /proc/self/status: the peak of its own address
    space since exec (getrusage's maxrss would carry the forked parent's pages).
    """
    start = time.perf_counter()
    code = (
        "from soundstage.session import render_session; "
        f"render_session({str(folder / 'session.toml')!r}, {str(folder / 'out')!r}, only=[{only!r}], overwrite=True); "
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    )
    result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    return wall, int(result.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stems", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--keep", default=None, help="generate into this folder and keep it")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="soundstage-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        start = time.perf_counter()
        write_stems(folder, args.stems, args.minutes)
        (folder / "stem.toml").write_text(STEM_CHAIN)
        session = "format = 1\nsample_rate = 48000\n"
        session += "".join(f'[[stems]]\npath = "stem{i:02d}.wav"\nchain = "stem.toml"\n' for i in range(args.stems))
        session += '[master]\nchain = "mastering"\n'
        session += '[[renders]]\nname = "mix"\nkind = "mixdown"\n[[renders]]\nname = "binaural"\nkind = "binaural"\n'
        (folder / "session.toml").write_text(session)
        print(f"{args.stems} stems x {args.minutes:g} min generated in {time.perf_counter() - start:.1f} s ({folder})")
        seconds = args.minutes * 60
        for only in ("mix", "binaural"):
            wall, rss = render(folder, only)
            report = json.loads((folder / "out" / "render-report.json").read_text())
            print(
                f"{only:>9}: {wall:6.1f} s = {seconds / wall:5.1f}x real time (target >= 20x); "
                f"peak RSS of the render process {rss:6.0f} MB (target <= 600 MB); "
                f"{report['outputs'][0]['integrated_lufs']} LUFS"
            )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
