"""Decoding MIDI messages the way a map sees them: 14-bit pairs, NRPN/RPN, relative encoders, pickup.

A :class:`Decoder` keeps the state controllers spread over several messages
(the MSB of a 14-bit pair, the NRPN/RPN parameter number, relative positions,
toggles, pickup) and turns each ``mido.Message`` into ``(binding, value)`` pairs,
the value in the parameter's unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from soundstage.midi.maps import Binding, MidiMap, ParameterSource

__all__ = ["Assembler", "ControlEvent", "Decoder", "parameter_number_update", "relative_delta"]

ABSOLUTE = ("cc", "cc14", "nrpn", "rpn", "pitchbend")


def relative_delta(value: int, encoding: str) -> int:
    """Steps encoded in a relative-encoder CC value (0..127)."""
    if encoding == "twos_complement":
        return value if value < 64 else value - 128
    if encoding == "signed_bit":
        return -(value & 63) if value & 64 else value & 63
    return value - 64  # binary offset


@dataclass
class _ChannelState:
    cc14_msb: dict[int, int] = field(default_factory=dict)
    parameter_msb: int | None = None
    parameter_lsb: int | None = None
    registered: bool = False  # RPN (101/100) rather than NRPN (99/98)
    data: dict[tuple[bool, int], int] = field(default_factory=dict)  # 14-bit data per (registered, number)


class Decoder:
    """Stateful translation of MIDI messages into parameter values for a map and a chain.

    Pickup and a relative encoder's first turn start from what the parameter holds. Live, that is the chain's value
    (the changes are made as they come). With ``follow`` (a MIDI file decoded before the render that makes its changes),
    it is the value this decoder last gave the parameter, else the chain's: a fader with pickup after a program change
    that moved its parameter waits for the preset's value, as it does live and in an exported plugin.
    """

    def __init__(self, midi_map: MidiMap, chain: ParameterSource, *, follow: bool = False) -> None:
        self.map = midi_map
        self.chain = chain
        self._follow = follow
        self._given: dict[str, Any] = {}  # with follow: the value each parameter was last given here
        self.parameters = {b.target: chain.parameters[b.target] for b in midi_map.bindings}
        self._channels: dict[int, _ChannelState] = {}
        self._positions: dict[int, float] = {}  # relative encoders and toggles, per binding
        self._picked: dict[int, bool] = {}
        self._last: dict[int, float] = {}
        self.ignored = 0

    def _state(self, channel: int) -> _ChannelState:
        return self._channels.setdefault(channel, _ChannelState())

    def _matching(self, kind: str, channel: int, number: int | None = None) -> list[tuple[int, Binding]]:
        return [
            (index, b)
            for index, b in enumerate(self.map.bindings)
            if b.kind == kind and (b.channel is None or b.channel == channel) and (number is None or b.number == number)
        ]

    def _holds(self, target: str) -> Any:
        """What parameter ``target`` holds now, as pickup and relative encoders read it (see the class docstring)."""
        return self._given[target] if target in self._given else self.chain.parameters[target].value

    def _absolute(self, index: int, binding: Binding, position: float) -> list[tuple[Binding, Any]]:
        parameter = self.parameters[binding.target]
        if binding.pickup and not self._picked.get(index, False):
            current = binding.position(self._holds(binding.target), parameter)
            last = self._last.get(index)
            self._last[index] = position
            crossed = last is not None and (last - current) * (position - current) <= 0
            if abs(position - current) <= 1.0 / 127 or crossed:
                self._picked[index] = True
            else:
                return []
        return [(binding, binding.value(position, parameter))]

    def feed(self, message: Any) -> list[tuple[Binding, Any]]:
        """The parameter changes one message asks for (possibly none)."""
        changes = self._changes(message)
        if self._follow:
            self._given.update((binding.target, value) for binding, value in changes)
        return changes

    def _changes(self, message: Any) -> list[tuple[Binding, Any]]:
        kind = message.type
        channel = getattr(message, "channel", 0)
        if kind == "control_change":
            return self._control_change(channel, message.control, message.value)
        if kind in ("note_on", "note_off"):
            return self._note(channel, message.note, pressed=kind == "note_on" and message.velocity > 0)
        if kind == "pitchwheel":
            return [
                change
                for index, binding in self._matching("pitchbend", channel)
                for change in self._absolute(index, binding, (message.pitch + 8192) / 16383)
            ]
        if kind == "program_change":
            return self._program(channel, message.program)
        self.ignored += 1
        return []

    def _control_change(self, channel: int, control: int, value: int) -> list[tuple[Binding, Any]]:
        """A CC: plain (7-bit), relative encoder, 14-bit MSB/LSB pair, or part of an NRPN/RPN."""
        state = self._state(channel)
        out: list[tuple[Binding, Any]] = []
        for index, binding in self._matching("cc", channel, control):
            out += self._absolute(index, binding, value / 127)
        for index, binding in self._matching("relative", channel, control):
            parameter = self.parameters[binding.target]
            start = self._positions.get(index, binding.position(self._holds(binding.target), parameter))
            position = min(max(start + relative_delta(value, binding.encoding) / 127, 0.0), 1.0)
            self._positions[index] = position
            out.append((binding, binding.value(position, parameter)))
        if control < 32:  # 14-bit MSB; the LSB resets
            state.cc14_msb[control] = value
            for index, binding in self._matching("cc14", channel, control):
                out += self._absolute(index, binding, (value << 7) / 16383)
        elif control < 64 and (control - 32) in state.cc14_msb:  # 14-bit LSB update
            msb = state.cc14_msb[control - 32]
            for index, binding in self._matching("cc14", channel, control - 32):
                out += self._absolute(index, binding, ((msb << 7) | value) / 16383)
        return out + self._parameter_number(state, channel, control, value)

    def _note(self, channel: int, note: int, *, pressed: bool) -> list[tuple[Binding, Any]]:
        """A note: momentary (held = 1) or toggle (each press flips)."""
        out: list[tuple[Binding, Any]] = []
        for index, binding in self._matching("note", channel, note):
            parameter = self.parameters[binding.target]
            if binding.mode == "momentary":
                out.append((binding, binding.value(1.0 if pressed else 0.0, parameter)))
            elif pressed:
                position = 0.0 if self._positions.get(index, 0.0) >= 0.5 else 1.0
                self._positions[index] = position
                out.append((binding, binding.value(position, parameter)))
        return out

    def _program(self, channel: int, program: int) -> list[tuple[Binding, Any]]:
        """A program change: bound parameters, and the chain presets recalled by it."""
        out = [
            (binding, binding.value(program / 127, self.parameters[binding.target]))
            for _, binding in self._matching("program", channel)
        ]
        for preset in self.map.programs:  # recall a chain preset
            if preset.program == program and (preset.channel is None or preset.channel == channel):
                out += [(Binding(path, "program", preset.channel, preset.program), value) for path, value in preset.values]
        return out

    def _parameter_number(self, state: _ChannelState, channel: int, control: int, value: int) -> list[tuple[Binding, Any]]:
        update = parameter_number_update(state, control, value)
        if update is None:
            return []
        registered, number, current = update
        out: list[tuple[Binding, Any]] = []
        for index, binding in self._matching("rpn" if registered else "nrpn", channel, number):
            out += self._absolute(index, binding, current / 16383)
        return out


def parameter_number_update(state: _ChannelState, control: int, value: int) -> tuple[bool, int, int] | None:
    """NRPN (99/98) and RPN (101/100) selection, data entry (6/38), increment/decrement (96/97).

    Returns ``(registered, number, 14-bit value)`` when a data message changes the
    selected parameter's value, else None (a selection, or data with nothing selected).
    """
    if control in (99, 101):
        state.parameter_msb, state.registered = value, control == 101
        return None
    if control in (98, 100):
        state.parameter_lsb, state.registered = value, control == 100
        return None
    if control not in (6, 38, 96, 97) or state.parameter_msb is None or state.parameter_lsb is None:
        return None
    number = (state.parameter_msb << 7) | state.parameter_lsb
    key = (state.registered, number)
    current = state.data.get(key, 0)
    if control == 6:
        current = value << 7
    elif control == 38:
        current = (current & ~127) | value
    elif control == 96:
        current = min(current + 1, 16383)
    else:
        current = max(current - 1, 0)
    state.data[key] = current
    return state.registered, number, current


@dataclass(frozen=True)
class ControlEvent:
    """A control as a map sees it: one message, or several joined (14-bit pair, NRPN/RPN)."""

    kind: str  # cc | cc14 | nrpn | rpn | note_on | note_off | pitchbend | program | other
    channel: int | None  # 0..15; None for system messages
    number: int = 0
    value: int = 0

    def __str__(self) -> str:
        where = f"ch{self.channel + 1:<2} " if self.channel is not None else "     "
        label = {
            "cc": f"CC {self.number} = {self.value}",
            "cc14": f"CC14 {self.number}/{self.number + 32} = {self.value} ({self.value / 16383:.4f})",
            "nrpn": f"NRPN {self.number} = {self.value} ({self.value / 16383:.4f})",
            "rpn": f"RPN {self.number} = {self.value} ({self.value / 16383:.4f})",
            "note_on": f"note {self.number} on, velocity {self.value}",
            "note_off": f"note {self.number} off",
            "pitchbend": f"pitch bend {self.value - 8192:+d}",
            "program": f"program {self.number}",
        }.get(self.kind, f"{self.kind}")
        return where + label


class Assembler:
    """Joins what controllers spread over several messages: 14-bit pairs and NRPN/RPN (for monitor and learn).

    Every CC is reported as itself; an LSB (32..63) after its MSB is reported
    again as the joined 14-bit value; NRPN/RPN data messages are reported as the
    assembled parameter value.
    """

    def __init__(self) -> None:
        self._channels: dict[int, _ChannelState] = {}

    def feed(self, message: Any) -> list[ControlEvent]:
        """The control events one ``mido.Message`` completes."""
        channel = getattr(message, "channel", None)
        if message.type == "control_change":
            state = self._channels.setdefault(int(message.channel), _ChannelState())
            control, value = message.control, message.value
            out = [ControlEvent("cc", channel, control, value)]
            if control < 32:
                state.cc14_msb[control] = value
            elif control < 64 and (control - 32) in state.cc14_msb:
                out.append(ControlEvent("cc14", channel, control - 32, (state.cc14_msb[control - 32] << 7) | value))
            update = parameter_number_update(state, control, value)
            if update is not None:
                registered, number, current = update
                out.append(ControlEvent("rpn" if registered else "nrpn", channel, number, current))
            return out
        if message.type in ("note_on", "note_off"):
            on = message.type == "note_on" and message.velocity > 0
            return [ControlEvent("note_on" if on else "note_off", channel, message.note, message.velocity)]
        if message.type == "pitchwheel":
            return [ControlEvent("pitchbend", channel, 0, message.pitch + 8192)]
        if message.type == "program_change":
            return [ControlEvent("program", channel, message.program)]
        return [ControlEvent(message.type, channel)]
