"""Load an exported plugin with pedalboard, in a process of its own, and null it against the chain.

    python tests/export/host.py BUNDLE CHAIN.toml [--seconds S] [--rate HZ] [--settings JSON] [--ride JSON]

Prints one JSON object: the plugin's reported latency and the chain's, the null
(error energy re signal, dB) at several knob settings, under automation moved
between host buffers, and at several host buffer sizes, and the chain file read
back out of the plugin's saved state. Used by tests/test_export_plugin.py and
benchmarks/plugin.py; the test mix is made here (no file needed).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np
import pedalboard

from soundstage.export.state import chain_from_state
from soundstage.host.chainfile import load_chain

#: Knob settings besides the defaults, for the device presets (width on its design grid's nodes, every 0.1: a chain
#: set off them designs exactly, the plugin interpolates the grid; the ride below compares the interpolations).
SETTINGS: list[dict[str, float]] = [
    {"device.width": 0.5, "device.center_level_db": -6.0},
    {"device.width": 0.2, "device.center_amount": 0.5},
    {"device.width": 0.7, "device.center_level_db": 3.0, "device.center_amount": 0.8},
]
#: A ride: width off the grid's nodes (interpolated, as the Python stage does while streaming).
RIDE: list[tuple[float, dict[str, float]]] = [
    (0.3, {"device.width": 0.6125}),
    (0.5, {"device.center_level_db": -9.0, "device.center_amount": 0.6}),
    (0.7, {"device.width": 0.9}),
]
BUFFER_SIZES = (32, 64, 256, 1000, 8192)


def test_mix(seconds: float, rate: int) -> np.ndarray:
    """A stereo mix: a centred voice-like tone, a panned harmonic part, decorrelated ambience and a bass."""
    rng = np.random.default_rng(7)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    voice = 0.25 * np.sin(2 * np.pi * 220 * t + 3 * np.sin(2 * np.pi * 5 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))
    part = 0.15 * np.sign(np.sin(2 * np.pi * 330 * t)) * (0.5 + 0.5 * np.sin(2 * np.pi * 1.3 * t))
    bass = 0.2 * np.sin(2 * np.pi * 55 * t)
    left = voice + 0.8 * part + bass + 0.05 * rng.standard_normal(n)
    right = voice + 0.3 * part + bass + 0.05 * rng.standard_normal(n)
    return np.stack([left, right]).astype(np.float32)


def null_db(got: np.ndarray, want: np.ndarray) -> float:
    """Error energy re signal, dB (over the common length)."""
    m = min(got.shape[1], want.shape[1])
    error = float(np.sum((got[:, :m].astype(np.float64) - want[:, :m]) ** 2))
    return 10 * np.log10(max(error, 1e-30) / float(np.sum(want[:, :m].astype(np.float64) ** 2)))


def plugin_parameter(plugin: Any, key: str) -> Any:
    """pedalboard's parameter for a chain knob ``stage.knob``: pedalboard names it ``stage_knob``."""
    name = key.replace(".", "_")
    if name not in plugin.parameters:
        raise KeyError(f"the plugin has no parameter {name!r} (it has {sorted(plugin.parameters)})")
    return plugin.parameters[name]


def knob_number(chain: Any, path: str, value: float | str) -> float:
    """The number the plugin holds for the chain's knob ``path`` at ``value``: a choice's index, else the value."""
    return float(chain.parameters[path].spec.choices.index(value)) if isinstance(value, str) else float(value)


def set_knob(plugin: Any, chain: Any, path: str, value: float | str) -> None:
    """Set one knob ``stage.knob`` on the plugin (its raw, normalized value: no snapping) and on the chain (a choice,
    LadderFilter's mode, by its name)."""
    parameter = plugin_parameter(plugin, path)
    if isinstance(value, str):
        choices = chain.parameters[path].spec.choices
        parameter.raw_value = choices.index(value) / (len(choices) - 1)
    else:
        parameter.raw_value = (value - parameter.min_value) / (parameter.max_value - parameter.min_value)
    chain.parameters[path].value = value  # a path into a routing node too: "blend.0.virtual.crossfeed"


def default(chain_file: str, path: str) -> float | str:
    value = load_chain(chain_file).parameters[path].value
    return value if isinstance(value, str) else float(value)


def widen(audio: np.ndarray, channels: int) -> np.ndarray:
    """The stereo mix on the first two of ``channels`` (a VST3 that widens runs on one bus width)."""
    if channels == audio.shape[0]:
        return audio
    wide = np.zeros((channels, audio.shape[1]), np.float32)
    wide[: audio.shape[0]] = audio
    return wide


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("bundle")
    parser.add_argument("chain")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=48000)
    parser.add_argument("--settings", type=json.loads, default=SETTINGS, help="a JSON list of {stage.knob: value}")
    parser.add_argument("--ride", type=json.loads, default=RIDE, help="a JSON list of [share of the mix, {stage.knob: value}]")
    args = parser.parse_args()
    rate = args.rate
    mix = test_mix(args.seconds, rate)
    plugin = pedalboard.load_plugin(args.bundle)
    report: dict[str, Any] = {}

    first = getattr(load_chain(args.chain)[0], "input_channels", None)  # a pedalboard built-in takes any count
    if first == 1:  # a chain that starts mono (a Beamformer) gets the mix's mid
        mix = mix.mean(axis=0, keepdims=True)
    reference = load_chain(args.chain)(mix, rate)
    channels = reference.shape[0]
    x = widen(mix, max(channels, mix.shape[0]))
    report["channels"] = channels

    # defaults, then other settings (each from a clean state, as a bounce would be)
    report["settings"] = []
    for setting in [{}, *args.settings]:
        chain = load_chain(args.chain)
        for path, value in setting.items():
            set_knob(plugin, chain, path, value)
        want = chain(mix, rate)
        got = plugin(x, rate)
        report["settings"].append({"setting": setting, "null_db": null_db(got, want)})
        report["latency"] = {"plugin": int(plugin.reported_latency_samples), "chain": int(chain.latency_samples)}
        for path in setting:  # back to the defaults
            set_knob(plugin, chain, path, default(args.chain, path))

    # automation: knobs moved between host buffers, on both, in one stream each
    chain = load_chain(args.chain)
    n = mix.shape[1]
    ride = args.ride
    cuts = [0, *(int(at * n) for at, _ in ride), n]
    plugin.reset()
    got_parts, want_parts = [], []
    for index, (start, stop) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        if index:
            for path, value in ride[index - 1][1].items():
                set_knob(plugin, chain, path, value)
        got_parts.append(plugin(x[:, start:stop], rate, reset=False))  # both latency-compensated: the first
        want_parts.append(chain(mix[:, start:stop], rate, reset=False))  # call returns `latency` samples fewer
    got = np.concatenate(got_parts, axis=1)
    want = np.concatenate(want_parts, axis=1)
    report["automation_null_db"] = null_db(got, want)
    # how far the ride moves the output (so a null that ignored the knobs would show)
    still = load_chain(args.chain)(mix, rate)
    report["automation_moves_db"] = null_db(still[:, : want.shape[1]], want)
    plugin.reset()  # a new stream: the defaults again, at once
    for path in {path for _, changes in ride for path in changes}:
        set_knob(plugin, chain, path, default(args.chain, path))

    # host buffer sizes
    outputs = {size: plugin(x, rate, buffer_size=size) for size in BUFFER_SIZES}
    first = outputs[BUFFER_SIZES[0]]
    report["buffer_sizes"] = {
        str(size): {"null_db": null_db(out, reference), "max_abs_vs_32": float(np.abs(out - first).max())}
        for size, out in outputs.items()
    }
    report["state_chain"] = chain_from_state(plugin.raw_state)
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
