"""A minimal LV2 host (ctypes): run an exported LV2 plugin offline on the test mix and null it against the chain.

    python tests/export/lv2host.py BUNDLE.lv2 URI CHAIN.toml [--seconds S] [--settings JSON] [--blocks 32,256,...]
    python tests/export/lv2host.py BUNDLE.lv2 URI --render IN.f32 CHANNELS OUT.f32 --block N [--midi EVENTS.txt]

Why here: lilv-utils' ``lv2apply`` cannot run DPF plugins (it gives no
``options`` feature, which DPF requires for the block length), so this host
gives the features DPF needs (urid:map, options with the block lengths and the
sample rate, boundedBlockLength), reads the port layout from ``lv2info`` (lilv
parses the bundle's Turtle), connects every port and runs the plugin. Prints one
JSON object: latency, and the null (dB) per setting and per block size. With ``--render``, it plays raw float32
audio (channel after channel) in blocks of N and writes the output, latency removed; a plugin with a MIDI input (an
export with a MIDI map) gets the messages of EVENTS.txt ("FRAME BYTE BYTE [BYTE]" a line, the frame counted from the
input's start) as an atom sequence of midi:MidiEvent, each at its frame in the block that holds it.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from host import knob_number, null_db, test_mix  # noqa: E402  (tests/export/host.py)

from soundstage.host.chainfile import load_chain  # noqa: E402

HANDLE = ctypes.c_void_p
INSTANTIATE = ctypes.CFUNCTYPE(HANDLE, ctypes.c_void_p, ctypes.c_double, ctypes.c_char_p, ctypes.c_void_p)
CONNECT = ctypes.CFUNCTYPE(None, HANDLE, ctypes.c_uint32, ctypes.c_void_p)
SIMPLE = ctypes.CFUNCTYPE(None, HANDLE)
RUN = ctypes.CFUNCTYPE(None, HANDLE, ctypes.c_uint32)
MAP = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_char_p)


class Descriptor(ctypes.Structure):
    _fields_ = [
        ("URI", ctypes.c_char_p),
        ("instantiate", INSTANTIATE),
        ("connect_port", CONNECT),
        ("activate", SIMPLE),
        ("run", RUN),
        ("deactivate", SIMPLE),
        ("cleanup", SIMPLE),
        ("extension_data", ctypes.c_void_p),
    ]


class Feature(ctypes.Structure):
    _fields_ = [("URI", ctypes.c_char_p), ("data", ctypes.c_void_p)]


class UridMap(ctypes.Structure):
    _fields_ = [("handle", ctypes.c_void_p), ("map", MAP)]


class Option(ctypes.Structure):
    _fields_ = [
        ("context", ctypes.c_uint32),
        ("subject", ctypes.c_uint32),
        ("key", ctypes.c_uint32),
        ("size", ctypes.c_uint32),
        ("type", ctypes.c_uint32),
        ("value", ctypes.c_void_p),
    ]


def ports(uri: str, bundle: Path) -> list[dict[str, Any]]:
    """The plugin's ports from ``lv2info``: index, symbol, audio or control, input or output."""
    text = subprocess.run(
        ["lv2info", uri], capture_output=True, text=True, check=True, env={**os.environ, "LV2_PATH": str(bundle.parent)}
    ).stdout
    found = re.split(r"\n\tPort (\d+):\n", text)[1:]  # index, body, index, body ...
    result = []
    for index, body in zip(found[0::2], found[1::2], strict=True):
        result.append(
            {
                "index": int(index),
                "symbol": re.search(r"Symbol:\s+(\S+)", body).group(1),  # type: ignore[union-attr]
                "audio": "#AudioPort" in body,
                "atom": "#AtomPort" in body,
                "input": "#InputPort" in body,
                "default": float(m.group(1)) if (m := re.search(r"Default:\s+(\S+)", body)) else 0.0,
            }
        )
    return result


class Lv2Plugin:
    def __init__(self, bundle: Path, uri: str, rate: float, max_block: int) -> None:
        binary = next(bundle.glob("*.so"))
        self.lib = ctypes.CDLL(str(binary))
        self.lib.lv2_descriptor.restype = ctypes.POINTER(Descriptor)
        self.lib.lv2_descriptor.argtypes = [ctypes.c_uint32]
        self.descriptor = self.lib.lv2_descriptor(0).contents
        assert self.descriptor.URI.decode() == uri
        self.urids: dict[bytes, int] = {}

        def map_uri(_handle: Any, uri_bytes: bytes) -> int:
            return self.urids.setdefault(uri_bytes, len(self.urids) + 1)

        self._map_fn = MAP(map_uri)
        self._map = UridMap(None, self._map_fn)
        self._max = ctypes.c_int32(max_block)
        self._rate = ctypes.c_float(rate)
        int_type = map_uri(None, b"http://lv2plug.in/ns/ext/atom#Int")
        float_type = map_uri(None, b"http://lv2plug.in/ns/ext/atom#Float")
        self._options = (Option * 4)(
            Option(
                0, 0, map_uri(None, b"http://lv2plug.in/ns/ext/buf-size#maxBlockLength"), 4, int_type, ctypes.addressof(self._max)
            ),
            Option(
                0,
                0,
                map_uri(None, b"http://lv2plug.in/ns/ext/buf-size#nominalBlockLength"),
                4,
                int_type,
                ctypes.addressof(self._max),
            ),
            Option(
                0,
                0,
                map_uri(None, b"http://lv2plug.in/ns/ext/parameters#sampleRate"),
                4,
                float_type,
                ctypes.addressof(self._rate),
            ),
            Option(0, 0, 0, 0, 0, None),
        )
        self._features = [
            Feature(b"http://lv2plug.in/ns/ext/urid#map", ctypes.addressof(self._map)),
            Feature(b"http://lv2plug.in/ns/ext/options#options", ctypes.addressof(self._options)),
            Feature(b"http://lv2plug.in/ns/ext/buf-size#boundedBlockLength", None),
        ]
        pointers = (ctypes.POINTER(Feature) * (len(self._features) + 1))(*[ctypes.pointer(f) for f in self._features], None)
        self._pointers = pointers
        self.handle = self.descriptor.instantiate(
            ctypes.byref(self.descriptor), rate, (str(bundle) + "/").encode(), ctypes.addressof(pointers)
        )
        assert self.handle, "the plugin refused to instantiate"
        self.ports = ports(uri, bundle)
        self.controls = {p["symbol"]: ctypes.c_float(p["default"]) for p in self.ports if not p["audio"] and not p["atom"]}
        self._sequence = (ctypes.c_uint8 * 65536)()  # a MIDI input's events, refilled every block
        self._sequence_type = map_uri(None, b"http://lv2plug.in/ns/ext/atom#Sequence")
        self._midi_type = map_uri(None, b"http://lv2plug.in/ns/ext/midi#MidiEvent")
        self.midi_input = any(p["atom"] and p["input"] for p in self.ports)
        self.inputs = [p["index"] for p in self.ports if p["audio"] and p["input"]]
        self.outputs = [p["index"] for p in self.ports if p["audio"] and not p["input"]]
        self.buffers = {i: np.zeros(max_block, np.float32) for i in self.inputs + self.outputs}
        for port in self.ports:
            if port["audio"]:
                address = self.buffers[port["index"]].ctypes.data
            elif port["atom"]:
                address = ctypes.addressof(self._sequence)
            else:
                address = ctypes.addressof(self.controls[port["symbol"]])
            self.descriptor.connect_port(self.handle, port["index"], address)

    def _events(self, messages: list[tuple[int, bytes]]) -> None:
        """The MIDI input's sequence for one block: ``messages`` as (frame in the block, bytes)."""
        body = b"".join(
            struct.pack("<qII", frame, len(data), self._midi_type) + data + bytes(-len(data) % 8) for frame, data in messages
        )
        sequence = struct.pack("<IIII", 8 + len(body), self._sequence_type, 0, 0) + body
        ctypes.memmove(self._sequence, sequence, len(sequence))

    def process(self, audio: np.ndarray, block: int, midi: list[tuple[int, bytes]] | None = None) -> tuple[np.ndarray, int]:
        """A fresh stream over ``audio`` and enough silence for the latency; returns the compensated output and latency.
        ``midi``: (frame, bytes) messages, in order, for a plugin with a MIDI input."""
        midi = midi or []
        self.descriptor.activate(self.handle)
        n = audio.shape[1]
        out_chunks = []
        latency = None
        position = 0
        total = n
        while position < total:
            count = min(block, total - position)
            for channel, index in enumerate(self.inputs):
                chunk = audio[channel, position : position + count] if position < n else np.zeros(0, np.float32)
                self.buffers[index][:count] = 0.0
                self.buffers[index][: len(chunk)] = chunk
            self._events([(frame - position, data) for frame, data in midi if position <= frame < position + count])
            self.descriptor.run(self.handle, count)
            if latency is None:
                latency = int(self.controls["lv2_latency"].value)
                total = n + latency
            out_chunks.append(np.stack([self.buffers[i][:count].copy() for i in self.outputs]))
            position += count
        self.descriptor.deactivate(self.handle)
        out = np.concatenate(out_chunks, axis=1)
        return out[:, latency : latency + n], int(latency or 0)


def render(args: argparse.Namespace) -> None:
    """--render: IN (raw float32, channel after channel) through the plugin in blocks, MIDI and all; OUT the output."""
    source, channels, target = args.render
    audio = np.fromfile(source, "<f4").reshape(int(channels), -1)
    messages = []
    for line in Path(args.midi).read_text().splitlines() if args.midi else []:
        frame, *data = (int(item) for item in line.split())
        messages.append((frame, bytes(data)))
    plugin = Lv2Plugin(args.bundle, args.uri, 48000.0, args.block)
    got, latency = plugin.process(audio, args.block, messages)
    got.astype("<f4").tofile(target)
    json.dump({"latency": latency, "midi_input": plugin.midi_input}, sys.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("bundle", type=Path)
    parser.add_argument("uri")
    parser.add_argument("chain", nargs="?")
    parser.add_argument("--render", nargs=3, metavar=("IN", "CHANNELS", "OUT"))
    parser.add_argument("--block", type=int, default=256)
    parser.add_argument("--midi")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--settings", type=json.loads, default=[])
    parser.add_argument("--blocks", default="32,64,256,1000,8192")
    args = parser.parse_args()
    if args.render:
        render(args)
        return
    rate = 48000
    mix = test_mix(args.seconds, rate)
    blocks = [int(b) for b in args.blocks.split(",")]
    plugin = Lv2Plugin(args.bundle, args.uri, float(rate), max([*blocks, 4096]))  # the settings run in 4096s
    report: dict[str, Any] = {"settings": [], "blocks": {}}
    reference = None
    for setting in [{}, *args.settings]:
        chain = load_chain(args.chain)
        for path, value in setting.items():
            chain.parameters[path].value = value  # a path into a routing node too: "motion.1.chorus.rate_hz"
            plugin.controls[re.sub(r"\W", "_", path)].value = knob_number(chain, path, value)
        want = chain(mix, rate)
        reference = want if reference is None else reference
        got, latency = plugin.process(mix, 4096)
        report["settings"].append({"setting": setting, "null_db": null_db(got, want)})
        report["latency"] = {"plugin": latency, "chain": int(chain.latency_samples)}
        for path in setting:
            plugin.controls[re.sub(r"\W", "_", path)].value = next(
                p["default"] for p in plugin.ports if p["symbol"] == re.sub(r"\W", "_", path)
            )
    assert reference is not None
    if "lv2_enabled" in plugin.controls:  # the DAW's bypass (DPF's designation): lv2:enabled off plays the input in time
        plugin.controls["lv2_enabled"].value = 0.0
        got, _ = plugin.process(mix, 4096)
        plugin.controls["lv2_enabled"].value = 1.0
        shared = min(got.shape[0], mix.shape[0])  # input channel c on output c
        report["bypassed_max_abs"] = float(np.abs(got[:shared] - mix[:shared]).max())
    first = None
    for block in blocks:
        got, _ = plugin.process(mix, block)
        first = got if first is None else first
        report["blocks"][str(block)] = {"null_db": null_db(got, reference), "max_abs_vs_first": float(np.abs(got - first).max())}
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
