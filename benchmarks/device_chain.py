"""Speed of the studio-5 device chain (Spatializer), and the extra cost of a BinauralMonitor.

3 minutes of 48 kHz stereo (issue 4 targets):
  offline, one call (65536-sample blocks, as `soundstage process`): target >= 200x real time (one core)
  streaming, 256-sample blocks:   target >= 20x real time
  with a BinauralMonitor appended: the extra cost is reported.
With ``--rates 96000,192000``, the offline chain at those rates too (its designs span the same time, in more samples):
  a second of audio at a rate R costs at most 1.5 * R / 48 kHz times a second at 48 kHz (its samples' share, with
  room for the longer FFTs), measured against the 48 kHz run of the same round.
Each figure is the best of ``--rounds`` runs, the kinds interleaved (this machine is noisy).
Threads are limited to one (OMP/OpenBLAS/MKL) before numpy loads.

    python benchmarks/device_chain.py [--seconds 180] [--rates 96000,192000]
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
    parser.add_argument("--rates", default="", help="further rates for the offline chain, e.g. 96000,192000")
    args = parser.parse_args()
    rates = [int(rate) for rate in args.rates.split(",") if rate]
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((2, int(args.seconds * SR)))).astype(np.float32)
    seconds = audio.shape[1] / SR

    device = Spatializer()
    device(audio[:, :SR], SR)  # designs are memoised: time the audio, not the filter design
    binaural = Chain([Spatializer(), BinauralMonitor()])
    binaural(audio[:, :SR], SR)
    streamed = audio[:, : int(args.stream_seconds * SR)]
    at_rate = {rate: (0.1 * rng.standard_normal((2, int(args.seconds * rate)))).astype(np.float32) for rate in rates}
    devices = {rate: Spatializer() for rate in rates}
    for rate, device_at in devices.items():
        device_at(at_rate[rate][:, :rate], rate)  # designed before the timing, as at 48 kHz
    offline_at = dict.fromkeys(rates, float("inf"))
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
        for rate, device_at in devices.items():
            start = time.perf_counter()
            device_at(at_rate[rate], rate, buffer_size=OFFLINE_BLOCK * (rate // SR or 1))
            offline_at[rate] = min(offline_at[rate], time.perf_counter() - start)

    print(f"studio-5 device chain, {seconds:.0f} s of 48 kHz stereo -> {feeds.shape[0]} driver feeds, one thread")
    print(f"offline:           {offline:6.2f} s = {seconds / offline:6.0f}x real time (target >= 200x)")
    rate = streamed.shape[1] / SR / streaming
    print(f"streaming, 256:    {streaming:6.2f} s for {streamed.shape[1] / SR:.0f} s = {rate:6.0f}x real time (target >= 20x)")
    extra = with_monitor - offline
    print(
        f"with BinauralMonitor: {with_monitor:6.2f} s = {seconds / with_monitor:6.0f}x real time; the monitor adds {extra:.2f} s"
    )
    for rate, taken in offline_at.items():
        cost, target = taken / offline, 1.5 * rate / SR
        print(
            f"offline at {rate} Hz: {taken:6.2f} s = {seconds / taken:6.0f}x real time; a second of audio costs "
            f"{cost:.1f} times a second at 48 kHz (target <= {target:.1f})"
        )


if __name__ == "__main__":
    main()
