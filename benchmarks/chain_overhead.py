"""Per-block overhead of soundstage's Chain against a bare pedalboard.Pedalboard.

Streams white noise in 256-sample blocks (reset=False, as a live host would)
through
  A. pedalboard.Pedalboard([5 built-ins])                       -- the baseline
  B. soundstage Chain([10 pass-through Python processors, the same 5 built-ins])
and reports the extra time per block, per Python processor. Both are measured
in the same run, interleaved, best of several rounds (this machine is noisy).

Target: Chain adds <= 30 µs per block per Python processor.

    python benchmarks/chain_overhead.py [--blocks 4000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pedalboard

from soundstage import Chain, Processor

TARGET_US = 30.0
BLOCK = 256
SR = 48000


class PassThrough(Processor):
    """A Python stage that does nothing: what is left is the host's overhead."""

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        return block


def builtins() -> list[pedalboard.Plugin]:
    return [
        pedalboard.HighpassFilter(cutoff_frequency_hz=30.0),
        pedalboard.LowShelfFilter(cutoff_frequency_hz=120.0, gain_db=1.0),
        pedalboard.Compressor(threshold_db=-18.0, ratio=2.0),
        pedalboard.Gain(gain_db=-1.0),
        pedalboard.Limiter(threshold_db=-1.0),
    ]


def stream(process, blocks: list[np.ndarray]) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for block in blocks:
        process(block, SR, buffer_size=BLOCK, reset=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    blocks = [(0.1 * rng.standard_normal((2, BLOCK))).astype(np.float32) for _ in range(args.blocks)]
    board = pedalboard.Pedalboard(builtins())
    chain = Chain([*(PassThrough() for _ in range(10)), *builtins()])
    python_stages = 10
    best_board = best_chain = float("inf")
    for _ in range(args.rounds):
        board.reset()
        best_board = min(best_board, stream(board.process, blocks))
        chain.reset()
        best_chain = min(best_chain, stream(chain.process, blocks))
    # the two did the same work: the streamed chain output equals the one-shot board output
    chain.reset()
    streamed = np.concatenate(
        [*(chain.process(b, SR, buffer_size=BLOCK, reset=False) for b in blocks[:200]), chain.flush()], axis=1
    )
    one_shot = pedalboard.Pedalboard(builtins())(np.concatenate(blocks[:200], axis=1), SR, buffer_size=BLOCK)
    difference = float(np.abs(streamed - one_shot).max())
    if difference > 1e-6:
        raise SystemExit(f"chain output differs from the bare board by {difference}: the measurement is void")
    per_block_board = 1e6 * best_board / args.blocks
    per_block_chain = 1e6 * best_chain / args.blocks
    overhead = (per_block_chain - per_block_board) / python_stages
    print(f"blocks of {BLOCK} samples, stereo, {args.blocks} blocks, best of {args.rounds} rounds")
    print(f"bare pedalboard.Pedalboard (5 built-ins):          {per_block_board:8.1f} µs/block")
    ratio = per_block_chain / per_block_board
    verdict = "met" if overhead <= TARGET_US else "NOT met"
    print(f"soundstage Chain (10 Python stages + 5 built-ins): {per_block_chain:8.1f} µs/block  ({ratio:.2f}x)")
    print(f"overhead per Python processor per block:           {overhead:8.1f} µs  (target <= {TARGET_US:.0f} µs: {verdict})")
    print(f"real-time budget of one block at {SR} Hz:           {1e6 * BLOCK / SR:8.1f} µs")


if __name__ == "__main__":
    main()
