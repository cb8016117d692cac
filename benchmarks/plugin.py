"""Speed of an exported plugin in pedalboard against the Python chain of the same file, in the same run.

For each preset (studio-5-binaural: stereo -> stereo; studio-5: stereo -> 5 feeds):
  - offline (pedalboard's default 8192-sample buffers vs ``Chain`` in one call): real-time factors and their ratio
    (expect the native plugin faster);
  - streaming at 256-sample buffers: real-time factors, and the plugin's CPU per 256-sample block beside
    the block's real-time budget (5.3 ms at 48 kHz);
  - in a 96 kHz session (twice the baked rate: the plugin decimates, runs the 48 kHz designs, interpolates): its CPU
    per second of audio against the same plugin's at 48 kHz (expect < 3: the filters cost less than twice the chain).
Each figure is the best of ``--rounds`` runs. Threads are limited to one before numpy loads.
Needs g++ and dpf-source (the plugins are exported first, into a temporary folder).

    python benchmarks/plugin.py [--seconds 30] [--rounds 3]
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pedalboard  # noqa: E402

from soundstage.export import export_plugin, missing_tools  # noqa: E402
from soundstage.host.chainfile import find_chain, load_chain  # noqa: E402

SR = 48000
PRESETS = ("studio-5-binaural", "studio-5")


def best_of(rounds: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def stream(processor: Callable[..., np.ndarray], audio: np.ndarray, block: int) -> None:
    for start in range(0, audio.shape[1], block):
        processor(audio[:, start : start + block], SR, reset=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--stream-seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        raise SystemExit(f"plugin benchmark: cannot build plugins: {missing}")
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((2, int(args.seconds * SR)))).astype(np.float32)
    short = audio[:, : int(args.stream_seconds * SR)]
    print(f"{args.seconds:g} s offline, {args.stream_seconds:g} s streamed at 256, 48 kHz; best of {args.rounds}")
    with tempfile.TemporaryDirectory() as folder:
        for preset in PRESETS:
            measure(preset, Path(folder), audio, short, args.rounds)


def widen(x: np.ndarray, outputs: int) -> np.ndarray:
    """The stereo signal on the first two of ``outputs`` channels (a VST3 that widens runs on one bus width)."""
    if outputs <= 2:
        return x
    wide = np.zeros((outputs, x.shape[1]), np.float32)
    wide[:2] = x
    return wide


def measure(preset: str, folder: Path, audio: np.ndarray, short: np.ndarray, rounds: int) -> None:
    path = find_chain(preset)
    bundle = export_plugin(path, folder, formats=["vst3"], rates=[float(SR)]).bundles["vst3"]
    plugin = pedalboard.load_plugin(str(bundle))
    chain = load_chain(path)
    outputs = chain(audio[:, :SR], SR).shape[0]
    wide, wide_short = widen(audio, outputs), widen(short, outputs)
    seconds, stream_seconds = audio.shape[1] / SR, short.shape[1] / SR
    python_offline = best_of(rounds, lambda: chain(audio, SR))
    native_offline = best_of(rounds, lambda: plugin(wide, SR))

    def python_stream() -> None:
        chain.reset()
        stream(chain, short, 256)

    def native_stream() -> None:
        plugin.reset()
        stream(plugin, wide_short, 256)

    python_streaming = best_of(rounds, python_stream)
    native_streaming = best_of(rounds, native_stream)
    blocks = -(-short.shape[1] // 256)
    per_block_us = native_streaming / blocks * 1e6
    print(f"{preset} ({outputs} out):")
    print(
        f"  offline:   native {seconds / native_offline:7.1f}x real time, "
        f"Python chain {seconds / python_offline:6.1f}x; native / Python = {python_offline / native_offline:5.2f} (expect > 1)"
    )
    print(
        f"  streaming: native {stream_seconds / native_streaming:7.1f}x real time, "
        f"Python chain {stream_seconds / python_streaming:6.1f}x; native / Python = {python_streaming / native_streaming:5.2f}"
    )
    print(f"  CPU per 256-sample block: {per_block_us:6.0f} us (the block's real-time budget: {256 / SR * 1e6:.0f} us)")
    twice = np.repeat(wide, 2, axis=1)  # the same seconds at 96 kHz
    resampled = best_of(rounds, lambda: plugin(twice, 2 * SR))
    print(
        f"  at {2 * SR} Hz (resampled): native {seconds / resampled:7.1f}x real time; CPU per second of audio / "
        f"at {SR} Hz = {resampled / native_offline:4.2f} (expect < 3)"
    )


if __name__ == "__main__":
    main()
