"""Memory and speed of a session render: 16 stems x 10 minutes (issue 5 targets).

Generates the stems (48 kHz mono 24-bit WAV, BWF-stamped) into a temporary
folder, then renders the session in a child process twice — the plain stereo
mixdown, and the binaural preview of the studio-5 — each stem through a
pedalboard built-in chain and the mix through a master chain. Peak RSS is the
render process's own (VmHWM inside it), throughput is session length /
wall time (including the child's start-up).

Baseline, in the same run: a plain pedalboard script doing the same mix in a
child process (read each stem, its pedalboard chain, place it at its BWF
offset, sum, the master chain, write a 24-bit file): what a mastering engineer
would write by hand. Its loudness is printed beside the mixdown's (the same mix
within 0.1 LU, else the comparison is void).

Targets (issue 14): peak RSS <= 600 MB; throughput >= 20x real time; the
mixdown >= 0.7x the plain script's speed.

The three run in turn, ``--rounds`` times: each speed printed is the best of
its rounds, the ratio the median of each round's own (the speed of this
machine drifts by up to half within minutes: one round of each has printed
0.50x and 0.76x for the same code).

    python benchmarks/session_render.py [--stems 16] [--minutes 10] [--rounds 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from soundstage.session.bwf import add_bext

# Designs are made, not read from the design store (soundstage.designstore): the figures of a first
# run, whatever an earlier run left on this machine (the render processes inherit it).
os.environ["SOUNDSTAGE_DESIGN_CACHE"] = "off"

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


PLAIN_SCRIPT = """
import sys
import numpy as np
import pedalboard as pb
from pedalboard.io import AudioFile
from wavinfo import WavInfoReader

folder, stems, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
paths = [f"{folder}/stem{i:02d}.wav" for i in range(stems)]
offsets = [int(WavInfoReader(p).bext.time_reference) for p in paths]
first = min(offsets)
stem_chain = pb.Pedalboard([pb.HighpassFilter(40.0), pb.Compressor(threshold_db=-20.0, ratio=2.0), pb.Gain(-6.0)])
master = pb.Pedalboard([
    pb.HighpassFilter(25.0), pb.Compressor(threshold_db=-18.0, ratio=2.0, attack_ms=10.0, release_ms=150.0),
    pb.Gain(4.0), pb.Limiter(threshold_db=-1.0, release_ms=100.0),
])
lengths = []
for p in paths:
    with AudioFile(p) as f:
        lengths.append(f.frames)
mix = np.zeros((2, max(o - first + n for o, n in zip(offsets, lengths))), np.float32)
for p, o in zip(paths, offsets):
    with AudioFile(p) as f:
        audio = f.read(f.frames)
    processed = stem_chain(audio, 48000)
    mix[:, o - first : o - first + processed.shape[1]] += processed
with AudioFile(out, "w", 48000, 2, bit_depth=24) as w:
    w.write(master(mix, 48000))
print([l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")][0])
"""


def plain_pedalboard(folder: Path, stems: int) -> tuple[float, float, Path]:
    """Wall seconds and peak RSS (MB) of the plain pedalboard script, and the file it wrote."""
    out = folder / "plain-mix.wav"
    start = time.perf_counter()
    command = [sys.executable, "-c", PLAIN_SCRIPT, str(folder), str(stems), str(out)]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    return wall, int(result.stdout.strip().splitlines()[-1]) / 1024, out


def integrated_lufs(path: Path) -> float:
    import pyloudnorm
    import soundfile

    audio, rate = soundfile.read(str(path), dtype="float32")
    return float(pyloudnorm.Meter(rate).integrated_loudness(audio))


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
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the three renders, interleaved")
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
        # rounds of mixdown, binaural, plain script in turn: each figure is the best of its rounds, the ratio the
        # median of each round's own (this machine's speed drifts by half within minutes)
        walls: dict[str, list[float]] = {"mix": [], "binaural": [], "plain": []}
        peaks: dict[str, float] = {}
        lufs: dict[str, float] = {}
        for _ in range(max(1, args.rounds)):
            for only in ("mix", "binaural"):
                wall, rss = render(folder, only)
                walls[only].append(wall)
                peaks[only] = max(peaks.get(only, 0.0), rss)
                report = json.loads((folder / "out" / "render-report.json").read_text())
                lufs[only] = report["outputs"][0]["integrated_lufs"]
                if only == "mix":
                    lufs["mix-read-back"] = integrated_lufs(folder / "out" / report["outputs"][0]["file"])
            plain, plain_rss, plain_file = plain_pedalboard(folder, args.stems)
            walls["plain"].append(plain)
            peaks["plain"] = max(peaks.get("plain", 0.0), plain_rss)
            lufs["plain"] = integrated_lufs(plain_file)
        rounds = len(walls["plain"])
        for only in ("mix", "binaural"):
            wall = min(walls[only])
            print(
                f"{only:>9}: {wall:6.1f} s = {seconds / wall:5.1f}x real time (target >= 20x; best of {rounds}); "
                f"peak RSS of the render process {peaks[only]:6.0f} MB (target <= 600 MB); {lufs[only]} LUFS"
            )
        plain = min(walls["plain"])
        mix_lufs = lufs["mix-read-back"]
        print(
            f"    plain: {plain:6.1f} s = {seconds / plain:5.1f}x real time, peak RSS {peaks['plain']:6.0f} MB, "
            f"{lufs['plain']:.2f} LUFS (the mixdown: {mix_lufs:.2f} LUFS, the same mix: {abs(lufs['plain'] - mix_lufs) <= 0.1})"
        )
        ratios = [p / m for p, m in zip(walls["plain"], walls["mix"], strict=True)]
        print(
            f"mixdown speed / plain pedalboard script speed: {float(np.median(ratios)):.2f}x (target >= 0.7x; "
            f"median of the rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
