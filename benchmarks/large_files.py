"""Files past 4 GiB: an 8-channel float WAV of ``--gib`` GiB written through soundstage's output layer, its length
known (a render) and not known (a live recording), read back with soundfile and ffprobe.

A RIFF WAV's sizes are 32-bit; past 4 GiB soundstage writes RF64. The figure is the samples each reader finds
against those written (target: all of them), and the write rate beside a plain soundfile WAV write of the same
audio in the same run (the output layer meters every sample as it writes). Needs about 2 x ``--gib`` of free disk
in ``--folder``.

    python benchmarks/large_files.py [--gib 4.06] [--folder DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

from soundstage.sinks import AudioSink, audio_target

CHANNELS, RATE, BLOCK = 8, 48000, 1 << 18


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gib", type=float, default=4.06, help="size of each file in GiB (default 4.06: past 4 GiB)")
    parser.add_argument("--folder", default=".", help="where to write the files (removed after)")
    args = parser.parse_args()
    blocks = max(1, round(args.gib * 2**30 / (BLOCK * CHANNELS * 4)))
    frames = blocks * BLOCK
    audio = np.random.default_rng(1).uniform(-0.5, 0.5, (CHANNELS, BLOCK)).astype(np.float32)
    print(
        f"{frames * CHANNELS * 4 / 2**30:.2f} GiB each: {CHANNELS} channels of 32-bit float at {RATE} Hz, {frames / RATE:.1f} s"
    )
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        baseline = Path(folder) / "baseline.w64"
        start = time.perf_counter()
        with soundfile.SoundFile(str(baseline), "w", RATE, CHANNELS, "FLOAT", format="W64") as plain:
            for _ in range(blocks):
                plain.write(audio.T)
        plain_s = time.perf_counter() - start
        baseline.unlink()
        for label, known in (("length known (a render)", frames), ("length not known (a live recording)", None)):
            path = Path(folder) / "out.wav"
            start = time.perf_counter()
            with AudioSink(audio_target(path, channels=CHANNELS, sample_rate=RATE, frames=known)) as sink:
                for _ in range(blocks):
                    sink.write(audio)
            seconds = time.perf_counter() - start
            info = soundfile.info(str(path))
            probe = "(no ffprobe)"
            if shutil.which("ffprobe"):
                duration = subprocess.run(
                    ["ffprobe", "-v", "error", "-show_entries", "stream=duration", "-of", "csv=p=0", str(path)],
                    capture_output=True,
                    text=True,
                ).stdout.strip()
                probe = f"ffprobe {float(duration) * RATE:.0f} samples"
            print(
                f"{label}: {path.read_bytes()[:4].decode()} ({info.format}); soundfile {info.frames} samples, {probe}, "
                f"of {frames} written (target: all); write {seconds / plain_s:.2f}x the time of a plain soundfile write"
            )
            path.unlink()


if __name__ == "__main__":
    main()
