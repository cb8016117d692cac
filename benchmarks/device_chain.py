"""Speed of the studio-5 device chain (Spatializer), and the extra cost of a BinauralMonitor.

3 minutes of 48 kHz stereo (issue 4 targets):
  offline, one call (65536-sample blocks, as `soundstage process`): target >= 200x real time (one core)
  streaming, 256-sample blocks:   target >= 20x real time
  with a BinauralMonitor appended: the extra cost is reported.
Each figure is the best of ``--rounds`` runs, the three kinds interleaved (this machine is noisy).
Threads are limited to one (OMP/OpenBLAS/MKL) before numpy loads.

    python benchmarks/device_chain.py [--seconds 180]
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from soundstage import BinauralMonitor, Chain, Spatializer  # noqa: E402

SR = 48000
OFFLINE_BLOCK = 65536  # what `soundstage process` uses by default


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--stream-seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((2, int(args.seconds * SR)))).astype(np.float32)
    seconds = audio.shape[1] / SR

    device = Spatializer()
    device(audio[:, :SR], SR)  # designs are memoised: time the audio, not the filter design
    binaural = Chain([Spatializer(), BinauralMonitor()])
    binaural(audio[:, :SR], SR)
    streamed = audio[:, : int(args.stream_seconds * SR)]
    offline = with_monitor = streaming = float("inf")
    for _ in range(args.rounds):  # best of several, interleaved: this machine is noisy
        start = time.perf_counter()
        feeds = device(audio, SR, buffer_size=OFFLINE_BLOCK)
        offline = min(offline, time.perf_counter() - start)
        start = time.perf_counter()
        binaural(audio, SR, buffer_size=OFFLINE_BLOCK)
        with_monitor = min(with_monitor, time.perf_counter() - start)
        device.reset()
        start = time.perf_counter()
        for offset in range(0, streamed.shape[1], 256):
            device.process(streamed[:, offset : offset + 256], SR, buffer_size=256, reset=False)
        streaming = min(streaming, time.perf_counter() - start)

    print(f"studio-5 device chain, {seconds:.0f} s of 48 kHz stereo -> {feeds.shape[0]} driver feeds, one thread")
    print(f"offline:           {offline:6.2f} s = {seconds / offline:6.0f}x real time (target >= 200x)")
    rate = streamed.shape[1] / SR / streaming
    print(f"streaming, 256:    {streaming:6.2f} s for {streamed.shape[1] / SR:.0f} s = {rate:6.0f}x real time (target >= 20x)")
    extra = with_monitor - offline
    print(
        f"with BinauralMonitor: {with_monitor:6.2f} s = {seconds / with_monitor:6.0f}x real time; the monitor adds {extra:.2f} s"
    )


if __name__ == "__main__":
    main()
