"""MIDI over real ports in tests: mido's TCP socket ports on loopback, a sender in another process."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap


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
