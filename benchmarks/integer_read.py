"""Reading integer PCM on the ``2**(bits-1)`` scale: what rounding pedalboard's samples back to their step costs.

soundstage reads 8, 16 and 24-bit WAV, AIFF and FLAC files through pedalboard and rounds each sample to its step
(:class:`soundstage.fileio.FullScaleReader`), so -32768 in a 16-bit file is -1.0 as libsndfile, FFmpeg and SoX read
it. The figure is the time ``open_audio`` takes to read a 24-bit stereo WAV of ``--minutes`` in 65536-sample blocks,
as a ratio to pedalboard's own reader (JUCE's scale, no rounding) and to soundfile's (libsndfile's scale) on the same
file in the same run, best of ``--runs``. Target: within 2x pedalboard's read and no slower than soundfile's.

    python benchmarks/integer_read.py [--minutes 10] [--runs 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
from pedalboard.io import AudioFile

from soundstage.fileio import open_audio

RATE, BLOCK = 48000, 65536


def _read_all(opener: Callable[[str], Any], path: str) -> float:
    """Seconds to read ``path`` to its end in blocks."""
    start = time.perf_counter()
    with opener(path) as reader:
        while reader.read(BLOCK).shape[1]:
            pass
    return time.perf_counter() - start


def _soundfile_all(path: str) -> float:
    start = time.perf_counter()
    for _ in soundfile.blocks(path, blocksize=BLOCK, dtype="float32", always_2d=True):
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the test file (default 10)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each reader, best taken (default 5)")
    args = parser.parse_args()
    frames = int(args.minutes * 60 * RATE)
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "master.wav")
        steps = np.random.default_rng(1).integers(-(2**23), 2**23, (frames, 2), dtype=np.int32)
        soundfile.write(path, steps << 8, RATE, subtype="PCM_24")
        del steps
        times: dict[str, list[float]] = {"open_audio": [], "pedalboard": [], "soundfile": []}
        for _ in range(args.runs):  # interleaved, so the machine's load falls on each alike
            times["pedalboard"].append(_read_all(AudioFile, path))
            times["open_audio"].append(_read_all(open_audio, path))
            times["soundfile"].append(_soundfile_all(path))
    best = {name: min(values) for name, values in times.items()}
    samples = 2 * frames
    for name, seconds in best.items():
        print(f"{name:<11} {seconds:7.3f} s  {seconds / samples * 1e9:5.2f} ns/sample  {frames / RATE / seconds:7.0f}x real time")
    to_pedalboard, to_soundfile = best["open_audio"] / best["pedalboard"], best["open_audio"] / best["soundfile"]
    print(f"open_audio / pedalboard: {to_pedalboard:.2f} (target <= 2); open_audio / soundfile: {to_soundfile:.2f} (target <= 1)")


if __name__ == "__main__":
    main()
