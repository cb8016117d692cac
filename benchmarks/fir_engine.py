"""Speed of the MIMO FIR engine against pedalboard.Convolution, measured in the same run.

Case (issue 3): 2 inputs x 5 outputs, 2048-tap filters, 3 minutes of 48 kHz audio.
  offline:    the whole signal at once           target >= 300x real time
  vs pedalboard.Convolution, one per path (10), same signal    target >= 3x faster
  streaming:  256-sample blocks                  target >= 20x real time
Also checks that the engine's output equals scipy's direct convolution.

    python benchmarks/fir_engine.py [--seconds 180] [--partition 512]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pedalboard
import scipy.signal

from soundstage.dsp.fir import MimoFir

SR = 48000
INPUTS, OUTPUTS, TAPS = 2, 5, 2048


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--partition", type=int, default=512)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    filters = (rng.standard_normal((OUTPUTS, INPUTS, TAPS)) * np.exp(-np.arange(TAPS) / 400) * 0.1).astype(np.float32)
    samples = int(args.seconds * SR)
    audio = (0.1 * rng.standard_normal((INPUTS, samples))).astype(np.float32)

    # correctness on the first second against scipy
    head = audio[:, :SR]
    reference = np.stack(
        [sum(scipy.signal.oaconvolve(head[i], filters[o, i])[:SR] for i in range(INPUTS)) for o in range(OUTPUTS)]
    )
    engine = MimoFir(filters, partition_size=args.partition)
    check = np.concatenate([engine.process(head), engine.process(np.zeros((INPUTS, args.partition), np.float32))], axis=1)
    error = float(np.abs(check[:, args.partition :] - reference).max() / np.abs(reference).max())

    engine = MimoFir(filters, partition_size=args.partition)
    start = time.perf_counter()
    engine.process(audio)
    offline = time.perf_counter() - start

    paths = [
        [pedalboard.Convolution(filters[o, i][:, None].copy(), mix=1.0, sample_rate=SR) for i in range(INPUTS)]
        for o in range(OUTPUTS)
    ]
    start = time.perf_counter()
    for o in range(OUTPUTS):
        sum(paths[o][i](audio[i : i + 1], SR) for i in range(INPUTS))
    convolution = time.perf_counter() - start

    engine = MimoFir(filters, partition_size=args.partition)
    block = 256
    stream_samples = min(samples, 60 * SR)
    start = time.perf_counter()
    for offset in range(0, stream_samples, block):
        engine.process(audio[:, offset : offset + block])
    streaming = time.perf_counter() - start

    seconds = samples / SR
    speedup = convolution / offline
    streamed = stream_samples / SR
    print(f"{INPUTS} in x {OUTPUTS} out, {TAPS} taps, {seconds:.0f} s at {SR} Hz, partition {args.partition} samples")
    print(f"max error vs scipy direct convolution: {error:.2e} of peak")
    print(f"offline:                {offline:7.2f} s  = {seconds / offline:7.0f}x real time (target >= 300x)")
    print(f"pedalboard.Convolution: {convolution:7.2f} s  = {seconds / convolution:7.0f}x real time")
    print(f"engine vs pedalboard.Convolution: {speedup:.1f}x faster (target >= 3x)")
    rate = streamed / streaming
    print(f"streaming, 256 blocks:  {streaming:7.2f} s for {streamed:.0f} s = {rate:7.0f}x real time (target >= 20x)")


if __name__ == "__main__":
    main()
