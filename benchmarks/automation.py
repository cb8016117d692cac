"""Automation that redesigns filters: width and head-yaw rides through the studio-5 device chain, offline.

60 s of 48 kHz stereo (a centered part and decorrelated sides) through
``Chain([Spatializer()])`` with 1 000 width changes (a slow ride between 0.3
and 1) and 1 000 listener-yaw changes (a head moving within +-20 deg), spread
over the minute, applied sample-accurately (``process_with_automation``, the
path of ``soundstage process`` and sessions). Printed beside the targets
(issue 14):

  speed:   the automated render, real-time factor (target >= 20x)
  cost:    (automated - the same render without changes) / changes (target <= 1 ms)
  error:   the design-grid render against the same render with an exact design
           at every change, error energy re signal (target <= -60 dB)
  node:    the time to design one grid node (what a cold render pays per node visited)
  swaps:   the warm render's grid interpolations (changes inside one engine partition are one)
  yaw only: the yaw changes alone (a head tracker's case), warm: each reads the four partial
           sums of its cubic instead of sixteen nodes (no target of its own; for comparison)

The design grid's nodes are designed once per device, head and rate; the first
render designs the nodes the ride visits ("cold"), a second one finds them
("warm"). Both are printed, and between them a render that finds the nodes in
the design store on disk (soundstage.designstore: what a new process, the next
run of the same render, gets; nothing kept in memory), with the store in a
temporary folder. Threads are limited to one before numpy loads.

    python benchmarks/automation.py [--seconds 60] [--changes 1000] [--width-step 0.1] [--yaw-step 2]
                                    [--width-order 3] [--yaw-order 3]

The steps and orders override the Spatializer's grid (``GRID_STEPS``, ``GRID_ORDERS``) to measure the
trade between the error and the nodes a ride visits.
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from soundstage import Chain, Spatializer  # noqa: E402
from soundstage.dsp.grid import DesignGrid, clear_grid_cache, grid_cache_info  # noqa: E402
from soundstage.host.automation import AutomationEvent, process_with_automation  # noqa: E402
from soundstage.stages import device  # noqa: E402
from soundstage.stages.device import GRID_ORDERS, GRID_STEPS  # noqa: E402

SR = 48000


def program(seconds: float) -> np.ndarray:
    """A centered part and decorrelated sides, band-limited noise at about -20 dBFS RMS."""
    rng = np.random.default_rng(14)
    n = int(seconds * SR)
    center, left, right = (np.cumsum(rng.standard_normal(n)) for _ in range(3))  # brown: program-like tilt
    parts = [x - np.convolve(x, np.ones(480) / 480, mode="same") for x in (center, left, right)]  # no drift
    center, left, right = (x / np.std(x) for x in parts)
    mix = np.stack([center + 0.7 * left, center + 0.7 * right])
    return (0.1 * mix / np.std(mix)).astype(np.float32)


def rides(seconds: float, changes: int) -> list[AutomationEvent]:
    """``changes`` width and ``changes`` yaw changes, interleaved, at irregular samples."""
    rng = np.random.default_rng(15)
    n = int(seconds * SR)
    events = []
    for name, shape in (
        ("spatializer.width", lambda t: 0.65 + 0.35 * np.sin(2 * np.pi * t / 23.0)),
        ("spatializer.listener_yaw_deg", lambda t: 14.0 * np.sin(2 * np.pi * t / 9.0) + 6.0 * np.sin(2 * np.pi * t / 2.3)),
    ):
        samples = np.sort(rng.integers(SR // 10, n - SR // 10, changes))
        events += [AutomationEvent(int(s), name, float(shape(s / SR))) for s in samples]
    return sorted(events, key=lambda e: e.sample)


def render(audio: np.ndarray, events: list[AutomationEvent], *, exact: bool) -> tuple[np.ndarray, float]:
    stage = Spatializer()
    stage.interpolate_designs = not exact
    chain = Chain([stage], names=["spatializer"])
    chain(audio[:, :SR], SR)  # the starting design, memoised: time the changes and the audio
    start = time.perf_counter()
    out = process_with_automation(chain, audio, SR, events)
    return out, time.perf_counter() - start


def counting_interpolations() -> list[int]:
    """Count the design grid's interpolations from now on (a list of one count, updated in place)."""
    count = [0]
    interpolate = DesignGrid.filters_and_still

    def counted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        count[0] += 1
        return interpolate(self, *args, **kwargs)

    DesignGrid.filters_and_still = counted  # type: ignore[method-assign]
    return count


def node_design_ms(count: int = 20) -> float:
    """Median time to design one grid node (an exact design at a new width and yaw), ms."""
    stage = Spatializer()
    stage(np.zeros((2, 4800), np.float32), SR)  # the designs that depend on no knob, made once
    grid = stage.design_grid(float(SR))
    clear_grid_cache()
    times = []
    width, yaw = grid.axes
    for k in range(count):  # a new node each time, at widths 0.3 .. 1 and yaws from -20 degrees up
        indices = (round(0.3 / width.step) + k % 8) % width.count, (round(70 / yaw.step) + k) % yaw.count
        start = time.perf_counter()
        grid.node(indices)
        times.append(time.perf_counter() - start)
    clear_grid_cache()
    return float(np.median(times) * 1000)


def arguments() -> argparse.Namespace:
    """The command line's grid settings, put into GRID_STEPS and GRID_ORDERS."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--changes", type=int, default=1000, help="changes of each knob")
    parser.add_argument("--width-step", type=float, default=GRID_STEPS["width"], help="the width grid's step")
    parser.add_argument("--yaw-step", type=float, default=GRID_STEPS["listener_yaw_deg"], help="the yaw grid's step, deg")
    parser.add_argument("--width-order", type=int, default=GRID_ORDERS["width"], help="1: linear, 3: cubic")
    parser.add_argument("--yaw-order", type=int, default=GRID_ORDERS["listener_yaw_deg"], help="1: linear, 3: cubic")
    args = parser.parse_args()
    GRID_STEPS.update(width=args.width_step, listener_yaw_deg=args.yaw_step)
    GRID_ORDERS.update(width=args.width_order, listener_yaw_deg=args.yaw_order)
    return args


def main() -> None:
    args = arguments()
    audio = program(args.seconds)
    events = rides(args.seconds, args.changes)
    count = len(events)

    store = tempfile.mkdtemp(prefix="soundstage-bench-designs-")
    os.environ["SOUNDSTAGE_DESIGN_CACHE"] = "off"  # exact designs and node timings: designed, not read
    _, still = render(audio, [], exact=True)
    clear_grid_cache()
    os.environ["SOUNDSTAGE_DESIGN_CACHE"] = store  # the grid renders: the first writes the nodes it designs
    grid_out, cold = render(audio, events, exact=False)
    cold_info = grid_cache_info()
    clear_grid_cache()  # nothing in memory, as in a new process
    device._SHARED.clear()
    stored_out, stored = render(audio, events, exact=False)
    stored_info = grid_cache_info()
    assert np.array_equal(stored_out, grid_out), "the design store changed the output"
    interpolations = counting_interpolations()
    _, warm = render(audio, events, exact=False)
    swaps = interpolations[0]
    os.environ["SOUNDSTAGE_DESIGN_CACHE"] = "off"
    shutil.rmtree(store, ignore_errors=True)
    warm_designed = grid_cache_info()["designed"] - stored_info["designed"]
    _, still_again = render(audio, [], exact=True)
    still = min(still, still_again)
    yaw_events = [e for e in events if e.target.endswith("listener_yaw_deg")]
    _, yaw_only = render(audio, yaw_events, exact=False)  # warm: its nodes are the ride's
    exact_out, exact = render(audio, events, exact=True)
    error = float(np.sum((grid_out - exact_out) ** 2.0) / np.sum(exact_out**2.0))

    seconds = audio.shape[1] / SR
    print(f"studio-5 device chain, {seconds:.0f} s of 48 kHz stereo, {count} changes (width and listener yaw), one thread")
    orders = {1: "linear", 3: "cubic"}
    print(
        f"design grid steps: width {GRID_STEPS['width']} ({orders[GRID_ORDERS['width']]}), "
        f"listener yaw {GRID_STEPS['listener_yaw_deg']} deg ({orders[GRID_ORDERS['listener_yaw_deg']]})"
    )
    print(f"no changes:             {still:6.2f} s = {seconds / still:5.1f}x real time")
    for label, taken in (
        ("design grid, warm", warm),
        ("design grid, from store", stored),
        ("design grid, cold", cold),
        ("exact at every change", exact),
    ):
        per_change = (taken - still) / count * 1000
        print(f"{label + ':':23s} {taken:6.2f} s = {seconds / taken:5.1f}x real time, {per_change:6.2f} ms per change")
    warm_cost = (warm - still) / count * 1000
    print(f"target: >= 20x real time and <= 1 ms per change (warm: {seconds / warm:.1f}x, {warm_cost:.2f} ms)")
    print(
        f"design grid: the cold render designed {cold_info['designed']} nodes, kept {cold_info['kept']} "
        f"({cold_info['bytes'] / 2**20:.0f} MB of {cold_info['limit'] / 2**20:.0f} MB); the warm one designed "
        f"{warm_designed} again (evicted)"
    )
    print(
        f"filter swaps (warm): {swaps} grid interpolations for {count} changes "
        "(changes coalesce until the engine next computes a partition, and while a fade runs until it ends)"
    )
    print(f"design grid vs exact designs: error {10 * np.log10(max(error, 1e-30)):.1f} dB re signal (target <= -60 dB)")
    print(
        f"yaw changes alone (warm): {yaw_only:6.2f} s = {seconds / yaw_only:5.1f}x real time, "
        f"{(yaw_only - still) / len(yaw_events) * 1000:6.2f} ms per change ({len(yaw_events)} changes)"
    )
    print(f"one grid node's exact design: {node_design_ms():.1f} ms (median of 20)")


if __name__ == "__main__":
    main()
