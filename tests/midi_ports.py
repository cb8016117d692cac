"""MIDI in tests: mido's TCP socket ports on loopback, a sender in another process, and the gestures of real controls
(what a knob, a 14-bit fader, an NRPN, an encoder, a pad and a pitch wheel send) with the binding learn makes of each."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from typing import Any

import mido


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sender(port: int, body: str) -> subprocess.Popen[str]:
    """Another process that connects to ``port`` and runs ``body`` with ``out`` (a mido port)."""
    connect = (
        "import time, mido\nfrom mido.sockets import connect\n"
        "for attempt in range(200):\n"
        "    try:\n"
        f"        out = connect('127.0.0.1', {port})\n"
        "        break\n"
        "    except OSError:\n"
        "        time.sleep(0.05)\n"
    )
    code = connect + textwrap.dedent(body)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def cc(control: int, value: int, channel: int = 0) -> mido.Message:
    return mido.Message("control_change", channel=channel, control=control, value=value)


GESTURES: dict[str, tuple[list[mido.Message], dict[str, Any]]] = {
    "7-bit cc": ([cc(74, v, 2) for v in range(40, 70, 3)], {"kind": "cc", "channel": 3, "number": 74, "pickup": True}),
    "14-bit pair": (
        [m for v in range(2000, 3000, 100) for m in (cc(7, v >> 7), cc(39, v & 127))],
        {"kind": "cc14", "channel": 1, "number": 7, "pickup": True},
    ),
    "nrpn": (
        [cc(99, 1000 >> 7), cc(98, 1000 & 127)] + [m for v in (5000, 5100, 5200) for m in (cc(6, v >> 7), cc(38, v & 127))],
        {"kind": "nrpn", "channel": 1, "number": 1000, "pickup": True},
    ),
    "relative two's complement": (
        [cc(20, v) for v in (1, 1, 2, 1, 1, 127, 127)],
        {"kind": "relative", "channel": 1, "number": 20, "encoding": "twos_complement"},
    ),
    "relative signed bit": (
        [cc(20, v) for v in (1, 1, 2, 65, 65)],
        {"kind": "relative", "channel": 1, "number": 20, "encoding": "signed_bit"},
    ),
    "relative binary offset": (
        [cc(20, v) for v in (65, 65, 66, 63)],
        {"kind": "relative", "channel": 1, "number": 20, "encoding": "binary_offset"},
    ),
    "note": (
        [mido.Message("note_on", note=36, velocity=100), mido.Message("note_off", note=36)],
        {"kind": "note", "channel": 1, "number": 36, "mode": "toggle"},
    ),
    "pitch bend": ([mido.Message("pitchwheel", pitch=p) for p in (0, 500, 1000)], {"kind": "pitchbend", "channel": 1}),
}
