"""Behaviour fingerprints of soundstage: what a refactor must leave unchanged.

    python3 tests/behavior/reference.py            # print the fingerprints as JSON
    python3 tests/behavior/reference.py --write    # regenerate tests/behavior/reference.json
    python3 tests/behavior/reference.py --against REV   # every array against git revision REV, max |difference|

A fingerprint is the sha256 of an array's float32 bytes (bit-identical), beside
numbers that let a changed hash be judged: the array's peak, RMS and
``PROJECTIONS`` random projections. Another CPU (its SIMD: AVX-512 sums in
another order than AVX2) moves the last bits of a design, about 1e-8 of it, and
with it the hash; tests/test_behavior.py then holds the RMS and the projections
within ``TOLERANCE`` of the array's RMS: any change above about -120 dB re the
array fails, as does any change of shape.
What is fingerprinted:

- every preset in chains/ on a fixed 10 s stereo test mix (48 kHz) in one call,
  and the studio-5 preset streamed in 4096-sample blocks with parameter automation
  (width, center level, distance) applied at fixed samples;
- every stage's filters, as its impulse response per input channel, over the
  parameter and device settings the presets and tests use;
- every ``soundstage analyze`` report on the head model (text).

It uses the public API only (``soundstage``, ``soundstage.analysis.report``), so
the same script runs on the commit a refactor starts from and on its result.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference.json"
RATE = 48000
PRESETS = ("compact-pair", "headphones", "mastering", "stereo-reference", "studio-5", "studio-5-binaural")


def test_mix(seconds: float = 10.0) -> np.ndarray:
    """A fixed stereo mix: a centered tone with harmonics, a hard-left and a hard-right part, decorrelated noise."""
    t = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(20261130)
    voice = sum(np.sin(2 * np.pi * 220.0 * k * t + k) / k for k in range(1, 9))
    left = 0.3 * np.sin(2 * np.pi * 523.25 * t) * (np.sin(2 * np.pi * 0.5 * t) > 0)
    right = 0.3 * np.sin(2 * np.pi * 1318.5 * t) * (np.sin(2 * np.pi * 0.5 * t) <= 0)
    noise = 0.05 * rng.standard_normal((2, t.size))
    mix = np.stack([0.3 * voice + left, 0.3 * voice + right]) + noise
    return (0.5 * mix / np.abs(mix).max()).astype(np.float32)


ARRAYS: dict[str, np.ndarray] = {}  # name -> array, kept for --dump


#: Random projections per array, and how far they and the RMS may move re the array's RMS where the hash moved.
PROJECTIONS = 8
TOLERANCE = 1e-6


def projections(data: np.ndarray) -> list[float]:
    """``PROJECTIONS`` projections of the array on seeded standard-normal vectors, over sqrt(size): each about its RMS."""
    flat = data.reshape(-1).astype(np.float64)
    scale = np.sqrt(max(flat.size, 1))
    return [float(flat @ np.random.default_rng(k).standard_normal(flat.size) / scale) for k in range(PROJECTIONS)]


def fingerprint(audio: np.ndarray, name: str = "") -> dict[str, object]:
    data = np.ascontiguousarray(np.asarray(audio, dtype=np.float32))
    ARRAYS[name] = data
    return {
        "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
        "shape": list(data.shape),
        "peak": float(np.abs(data).max()) if data.size else 0.0,
        "sum_abs": float(np.abs(data.astype(np.float64)).sum()),
        "rms": float(np.sqrt(np.mean(data.astype(np.float64) ** 2))) if data.size else 0.0,
        "projections": projections(data),
    }


def presets(mix: np.ndarray) -> dict[str, object]:
    from soundstage import load_chain

    folder = Path(os.environ.get("SOUNDSTAGE_REFERENCE_CHAINS", HERE.parents[1] / "chains"))
    return {name: fingerprint(load_chain(folder / f"{name}.toml").process(mix, RATE), name) for name in PRESETS}


def automated(mix: np.ndarray) -> dict[str, object]:
    """studio-5 streamed in 4096-sample blocks with parameter changes at fixed samples."""
    from soundstage import load_chain

    chain = load_chain(Path(os.environ.get("SOUNDSTAGE_REFERENCE_CHAINS", HERE.parents[1] / "chains")) / "studio-5.toml")
    events = {
        4096 * 10: {"device.width": 0.5},
        4096 * 20: {"device.center_level_db": -6.0},
        4096 * 30: {"device.distance_m": 1.5, "device.width": 0.8},
        4096 * 50: {"device.depth": 0.4},
    }
    blocks = []
    for start in range(0, mix.shape[1], 4096):
        for path, value in events.get(start, {}).items():
            chain.parameters[path].value = value
        blocks.append(chain.process(mix[:, start : start + 4096], RATE, reset=start == 0))
    return {"studio-5 automated": fingerprint(np.concatenate(blocks, axis=1), "studio-5 automated")}


def impulse_responses(processor: object, inputs: int, length: int = 16384) -> np.ndarray:
    """The processor's response to a unit impulse on each input channel in turn, stacked."""
    responses = []
    for channel in range(inputs):
        impulse = np.zeros((inputs, length), np.float32)
        impulse[channel, 0] = 1.0
        responses.append(processor.process(impulse, RATE))  # type: ignore[attr-defined]
    return np.stack(responses)


def designs() -> dict[str, object]:
    import soundstage as ss

    cases: dict[str, tuple[object, int]] = {}
    for device in ("studio-5", "compact-pair"):
        for distance in (1.0, 2.0):
            for form in ("direct", "rtf"):
                cases[f"CrosstalkCanceller {device} {distance} m {form}"] = (
                    ss.CrosstalkCanceller(device=device, distance_m=distance, form=form),
                    2,
                )
        cases[f"CrosstalkCanceller {device} 2 m 12.5 dB"] = (ss.CrosstalkCanceller(device=device, separation_db=12.5), 2)
    for mode in ("beam", "matrix"):
        for form in ("direct", "rtf"):
            cases[f"Beamformer studio-5 {mode} {form}"] = (ss.Beamformer(device="studio-5", mode=mode, form=form), 1)
    cases["Beamformer studio-5 depth 0.5"] = (ss.Beamformer(device="studio-5", depth=0.5), 1)
    for azimuth in (30.0, 45.0):
        cases[f"Virtualizer {azimuth} deg"] = (ss.Virtualizer(azimuth_deg=azimuth), 2)
    cases["Virtualizer crossfeed 0.5"] = (ss.Virtualizer(crossfeed=0.5), 2)
    cases["Align"] = (ss.Align(delays_ms=[0.0, 1.5, 0.25]), 3)
    cases["Gain"] = (ss.Gain(gain_db=-3.0), 2)
    for device in ("studio-5", "compact-pair"):
        cases[f"BinauralMonitor {device} model"] = (ss.BinauralMonitor(device=device), 5 if device == "studio-5" else 2)
    cases["BinauralMonitor studio-5 offset yaw"] = (
        ss.BinauralMonitor(device="studio-5", listener_offset_m=0.05, listener_yaw_deg=10.0, distance_m=1.0),
        5,
    )
    cases["StereoReference"] = (ss.StereoReference(), 2)
    for width in (1.0, 0.5):
        cases[f"Spatializer studio-5 width {width} center 0"] = (ss.Spatializer(width=width, center_amount=0.0), 2)
    return {name: fingerprint(impulse_responses(processor, inputs), name) for name, (processor, inputs) in cases.items()}


def reports() -> dict[str, object]:
    from soundstage.analysis import report

    texts = {
        "analyze crosstalk studio-5 1 m": report.crosstalk_report("studio-5", 1.0, "model"),
        "analyze crosstalk compact-pair 2 m": report.crosstalk_report("compact-pair", 2.0, "model"),
        "analyze beam studio-5": report.beam_report("studio-5"),
        "analyze zones studio-5": report.zones_report("studio-5", hrtf="model"),
        "analyze device studio-5": report.device_report("studio-5", hrtf="model", distance_m=2.0),
        "analyze virtualizer": report.virtualizer_report(azimuth_deg=30.0, head_radius_m=0.0875, hrtf="model", against=None),
    }
    return {name: {"sha256": hashlib.sha256(text.encode()).hexdigest(), "text": text} for name, text in texts.items()}


def measure() -> dict[str, dict[str, object]]:
    mix = test_mix()
    return {"presets": presets(mix) | automated(mix), "designs": designs(), "reports": reports()}


def against(revision: str) -> int:
    """Compare every array with the same arrays made by git revision ``revision`` (printed; 1 if any differs by > 1e-6)."""
    root = Path(
        subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True).stdout.strip()
    )
    with tempfile.TemporaryDirectory() as scratch:
        tree, theirs, ours = Path(scratch) / "tree", Path(scratch) / "theirs", Path(scratch) / "ours"
        subprocess.run(
            ["git", "-C", str(root), "worktree", "add", "--detach", str(tree), revision], check=True, capture_output=True
        )
        try:
            for package, folder in ((tree / "plugin", theirs), (root / "plugin", ours)):
                env = os.environ | {"PYTHONPATH": str(package), "SOUNDSTAGE_REFERENCE_CHAINS": str(package.parent / "chains")}
                subprocess.run([sys.executable, __file__, "--dump", str(folder)], check=True, env=env)
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)], check=True)
        worst = 0.0
        for path in sorted(theirs.glob("*.npy")):
            a, b = np.load(path), np.load(ours / path.name)
            difference = float(np.abs(a.astype(np.float64) - b).max()) if a.shape == b.shape else float("inf")
            worst = max(worst, difference)
            print(f"{path.stem:<48} max |difference| {difference:.3g}")
    print(f"worst {worst:.3g} (limit 1e-6)")
    return 0 if worst <= 1e-6 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {REFERENCE.name} (the reference the test compares to)")
    parser.add_argument("--against", metavar="REV", help="compare every array with git revision REV's")
    parser.add_argument("--dump", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.against:
        return against(args.against)
    figures = measure()
    if args.dump:
        Path(args.dump).mkdir(parents=True)
        for index, (name, array) in enumerate(sorted(ARRAYS.items())):
            np.save(Path(args.dump) / f"{index:02d} {name}.npy", array)
        return 0
    text = json.dumps(figures, indent=1, sort_keys=True) + "\n"
    if args.write:
        REFERENCE.write_text(text)
        print(f"wrote {REFERENCE}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
