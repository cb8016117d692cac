"""Live MIDI control: a port read on its own thread, changes applied between audio blocks, feedback.

Ports are opened with mido: a port name (through python-rtmidi, an optional
extra; with JACK's API on Linux), ``virtual:NAME`` for a virtual port, or
``tcp:HOST:PORT`` for mido's socket ports (``tcp-listen:HOST:PORT`` waits for a
sender to connect).

The MIDI thread never blocks the audio loop: it decodes messages into
``(target, value)`` and puts them in a queue; the audio loop drains the queue
before each block (the last value per parameter wins) and sends the new
positions of bound controls back on the output port, so LED rings and motor
faders follow. Bad messages are counted and logged; nothing raises into the
audio loop.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from soundstage.errors import SoundstageError
from soundstage.midi.decode import Decoder
from soundstage.midi.maps import Binding, MidiMap, ParameterSource

__all__ = ["LiveControl", "feedback_messages", "open_port"]

LOG = logging.getLogger("soundstage.midi")


def open_port(spec: str, *, output: bool = False) -> Any:
    """Open a MIDI port from a spec (see the module docstring)."""
    import mido

    try:
        if spec.startswith("tcp-listen:"):
            from mido.sockets import PortServer

            host, port = spec.removeprefix("tcp-listen:").rsplit(":", 1)
            return PortServer(host, int(port)).accept()
        if spec.startswith("tcp:"):
            from mido.sockets import connect

            host, port = spec.removeprefix("tcp:").rsplit(":", 1)
            return connect(host, int(port))
        if spec.startswith("virtual:"):
            name = spec.removeprefix("virtual:")
            return mido.open_output(name, virtual=True) if output else mido.open_input(name, virtual=True)
        return mido.open_output(spec) if output else mido.open_input(spec)
    except (OSError, ValueError, ImportError) as error:
        raise SoundstageError(f"MIDI port {spec!r} cannot be opened: {error}") from None


def feedback_messages(binding: Binding, position: float) -> list[Any]:
    """Messages that put a control at ``position`` (0..1): what a motor fader or LED ring needs."""
    import mido

    channel = binding.channel or 0
    if binding.kind in ("cc", "relative"):
        return [mido.Message("control_change", channel=channel, control=binding.number, value=round(position * 127))]
    if binding.kind == "cc14":
        value = round(position * 16383)
        return [
            mido.Message("control_change", channel=channel, control=binding.number, value=value >> 7),
            mido.Message("control_change", channel=channel, control=binding.number + 32, value=value & 127),
        ]
    if binding.kind in ("nrpn", "rpn"):
        value = round(position * 16383)
        select = (101, 100) if binding.kind == "rpn" else (99, 98)
        return [
            mido.Message("control_change", channel=channel, control=select[0], value=binding.number >> 7),
            mido.Message("control_change", channel=channel, control=select[1], value=binding.number & 127),
            mido.Message("control_change", channel=channel, control=6, value=value >> 7),
            mido.Message("control_change", channel=channel, control=38, value=value & 127),
        ]
    if binding.kind == "note":
        return [
            mido.Message(
                "note_on" if position >= 0.5 else "note_off",
                channel=channel,
                note=binding.number,
                velocity=127 if position >= 0.5 else 0,
            )
        ]
    if binding.kind == "pitchbend":
        return [mido.Message("pitchwheel", channel=channel, pitch=round(position * 16383) - 8192)]
    return []


class LiveControl:
    """Drive a chain's parameters from a live MIDI input (see the module docstring)."""

    def __init__(self, chain: ParameterSource, midi_map: MidiMap, input_port: Any, output_port: Any = None) -> None:
        self.chain = chain
        self.map = midi_map
        self.input = input_port
        self.output = output_port
        self.decoder = Decoder(midi_map, chain)
        self.parameters = chain.parameters
        self.changes: queue.SimpleQueue[tuple[Binding, Any]] = queue.SimpleQueue()
        self.received = 0
        self.errors = 0
        self.applied = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="soundstage-midi", daemon=True)

    def start(self) -> LiveControl:
        """Start reading the input port on the MIDI thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the MIDI thread (the ports stay open)."""
        self._stop.set()
        self._thread.join(timeout=2.0)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                message = self.input.receive(block=False) if hasattr(self.input, "receive") else None
                if message is None:
                    self._stop.wait(0.001)
                    continue
                self.received += 1
                for binding, value in self.decoder.feed(message):
                    self.changes.put((binding, value))
            except Exception as error:  # a broken message or port: count, log, carry on
                self.errors += 1
                LOG.warning("MIDI input: %s", error)
                self._stop.wait(0.001)

    def apply_pending(self) -> dict[str, Any]:
        """Apply what arrived since the last call (last value wins); send feedback. Audio-thread side."""
        latest: dict[str, tuple[Binding, Any]] = {}
        while True:
            try:
                binding, value = self.changes.get_nowait()
            except queue.Empty:
                break
            latest[binding.target] = (binding, value)
        applied = {}
        for target, (_, value) in latest.items():
            try:
                self.parameters[target].value = value
            except Exception as error:  # out of range after a curve, a plugin refusing: log, keep running
                self.errors += 1
                LOG.warning("MIDI -> %s: %s", target, error)
                continue
            applied[target] = value
            self.applied += 1
            self.send_feedback(target)
        return applied

    def send_feedback(self, target: str) -> None:
        """Send the current position of every binding on ``target`` to the output port."""
        if self.output is None:
            return
        parameter = self.parameters[target]
        for binding in self.map.bindings:
            if binding.target != target:
                continue
            try:
                for message in feedback_messages(binding, binding.position(parameter.value, parameter)):  # type: ignore[arg-type]
                    self.output.send(message)
            except Exception as error:
                self.errors += 1
                LOG.warning("MIDI feedback: %s", error)
