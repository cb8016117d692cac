"""Live MIDI over real ports on this machine (mido's TCP socket ports, loopback only)."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time

import mido
import pytest
from mido.sockets import PortServer

from soundstage import Chain, Gain
from soundstage.midi.live import LiveControl, open_port
from soundstage.midi.maps import map_from_dict

SR = 48000


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


def live_setup(body: str, *, feedback: bool = False) -> tuple[Chain, LiveControl, subprocess.Popen[str], PortServer | None]:
    chain = Chain([Gain(gain_db=-30.0)], names=["level"])
    midi_map = map_from_dict(
        {"bindings": [{"target": "level.gain_db", "kind": "cc", "number": 7, "min": -40.0, "max": 0.0}]}, chain
    )
    port = free_port()
    listener = PortServer("127.0.0.1", port)
    process = sender(port, "time.sleep(0.3)\n" + body)
    input_port = listener.accept()
    feedback_server = None
    output = None
    if feedback:
        feedback_port = free_port()
        feedback_server = PortServer("127.0.0.1", feedback_port)
        output = open_port(f"tcp:127.0.0.1:{feedback_port}", output=True)
    control = LiveControl(chain, midi_map, input_port, output).start()
    return chain, control, process, feedback_server


def test_messages_from_another_process_move_parameters_and_come_back_as_feedback() -> None:
    chain, control, process, feedback_server = live_setup(
        "out.send(mido.Message('control_change', control=7, value=64))\ntime.sleep(0.3)\n"
        "out.send(mido.Message('control_change', control=7, value=127))\ntime.sleep(0.5)\n",
        feedback=True,
    )
    assert feedback_server is not None
    client = feedback_server.accept()
    seen = []
    deadline = time.time() + 5
    while time.time() < deadline and chain.parameter("level.gain_db").value != 0.0:
        applied = control.apply_pending()
        if applied:
            seen.append(applied["level.gain_db"])
        time.sleep(0.005)
    process.wait(timeout=10)
    control.stop()
    assert seen[0] == pytest.approx(-40 + 40 * 64 / 127) and seen[-1] == pytest.approx(0.0)
    echoed = [m.value for m in client.iter_pending() if m.type == "control_change"]
    time.sleep(0.2)
    echoed += [m.value for m in client.iter_pending() if m.type == "control_change"]
    assert echoed[:1] == [64] and echoed[-1] == 127  # motor faders follow


def test_bad_port_spec_is_a_clear_error() -> None:
    from soundstage import SoundstageError

    with pytest.raises(SoundstageError, match=r"MIDI port 'tcp:127.0.0.1:1' cannot be opened"):
        open_port("tcp:127.0.0.1:1", output=True)


def test_feedback_messages_for_each_kind() -> None:
    from soundstage.midi.live import feedback_messages
    from soundstage.midi.maps import Binding

    assert [m.value for m in feedback_messages(Binding("x", "cc14", number=7), 1.0)] == [127, 127]
    nrpn = feedback_messages(Binding("x", "nrpn", number=1000), 0.5)
    assert [m.control for m in nrpn] == [99, 98, 6, 38] and nrpn[0].value == 1000 >> 7
    assert feedback_messages(Binding("x", "pitchbend"), 0.0)[0].pitch == -8192
    assert isinstance(feedback_messages(Binding("x", "note", number=60), 1.0)[0], mido.Message)
