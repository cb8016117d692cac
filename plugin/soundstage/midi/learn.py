"""MIDI learn: move a control, and its binding to a parameter is written into the map file.

:func:`detect` looks at the burst of messages one control sent and tells its
kind: an NRPN/RPN (99/98 or 101/100 + data entry), a 14-bit pair (an MSB 0..31
followed by its LSB 32..63), a note, pitch bend, a relative encoder (the same
value repeated, in the ranges the three encodings use), or a plain 7-bit CC.
Absolute controllers only send when their value changes, so a value sent twice
in a row means a relative encoder; turned clockwise, two's complement and
signed-bit encoders send 1..15 and binary-offset ones 65..79 (signed-bit is
told from two's complement when the encoder is also turned back: 65..79
against 113..127).

:func:`add_binding` writes the binding into a map with ``tomlkit``, so the
rest of the file — other bindings, comments, layout — is kept as it was; the
new map is checked against the chain first and replaces the old file atomically.
Learning a parameter again replaces its earlier bindings unless ``keep=True``.
A control learned for a parameter on a log or dB scale (a cutoff, a release time, a
gain) gets that scale as its curve, so it travels as the parameter's own knob does
(its 0..1 position, as a DAW's learn maps it): a linear curve would put 20 Hz..1 kHz
of a 10 Hz..24 kHz cutoff in the knob's first 4 %.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tomlkit

from soundstage.files import write_text
from soundstage.midi.decode import Assembler, ControlEvent
from soundstage.midi.maps import MidiMapError, ParameterSource, load_map, map_from_dict

__all__ = ["add_binding", "collect", "detect", "learn", "relative_encoding"]

#: CCs that belong to NRPN/RPN selection and data entry, not to a control of their own.
PARAMETER_NUMBER_CCS = frozenset({6, 38, 96, 97, 98, 99, 100, 101})


def relative_encoding(values: list[int]) -> str | None:
    """The relative-encoder encoding a run of CC values fits, or None for an absolute control."""
    repeated = any(a == b for a, b in zip(values, values[1:]))
    if not repeated or not values:
        return None
    small = [v for v in values if 1 <= v <= 15]
    high = [v for v in values if 113 <= v <= 127]
    middle_up = [v for v in values if 65 <= v <= 79]
    middle_down = [v for v in values if 49 <= v <= 63]
    if len(small) + len(high) == len(values) and small:
        return "twos_complement"
    if len(small) + len(middle_up) == len(values) and small and middle_up:
        return "signed_bit"
    if len(middle_up) + len(middle_down) == len(values):
        return "binary_offset"
    return None


def detect(messages: Iterable[Any]) -> dict[str, Any]:
    """The binding (a map table without ``target``) for a burst of messages from one control.

    Raises
    ------
    MidiMapError
        If the burst holds no control message.
    """
    events: list[ControlEvent] = []
    assembler = Assembler()
    for message in messages:
        events += assembler.feed(message)

    def table(kind: str, event: ControlEvent, **extra: Any) -> dict[str, Any]:
        head: dict[str, Any] = {"kind": kind}
        if event.channel is not None:
            head["channel"] = event.channel + 1
        return head | ({"number": event.number} if kind not in ("pitchbend",) else {}) | extra

    for kind in ("nrpn", "rpn"):
        found = [e for e in events if e.kind == kind]
        if found:
            return table(kind, found[-1], pickup=True)
    pairs = [e for e in events if e.kind == "cc14"]
    if pairs:
        return table("cc14", pairs[-1], pickup=True)
    notes = [e for e in events if e.kind == "note_on"]
    if notes:
        return table("note", notes[0], mode="toggle")
    bends = [e for e in events if e.kind == "pitchbend"]
    if bends:
        return table("pitchbend", bends[0])
    controls = [e for e in events if e.kind == "cc" and e.number not in PARAMETER_NUMBER_CCS]
    if controls:
        number, _ = Counter((e.channel, e.number) for e in controls).most_common(1)[0]
        values = [e.value for e in controls if (e.channel, e.number) == number]
        first = next(e for e in controls if (e.channel, e.number) == number)
        encoding = relative_encoding(values)
        if encoding is not None:
            return table("relative", first, encoding=encoding)
        return table("cc", first, pickup=True)
    programs = [e for e in events if e.kind == "program"]
    if programs:
        return table("program", programs[0])
    raise MidiMapError("no controller message arrived to learn from (move a knob, fader, encoder or press a pad)")


def collect(port: Any, *, timeout_s: float = 30.0, quiet_s: float = 0.4, longest_s: float = 3.0) -> list[Any]:
    """Messages from one gesture on ``port``: wait for the first, then until ``quiet_s`` pass without one.

    Raises
    ------
    MidiMapError
        If nothing arrives within ``timeout_s``.
    """
    messages: list[Any] = []
    deadline = time.monotonic() + timeout_s
    last = first = 0.0
    while True:
        now = time.monotonic()
        if not messages and now > deadline:
            raise MidiMapError(f"no MIDI message arrived within {timeout_s:g} s; move the control you want to bind")
        if messages and (now - last > quiet_s or now - first > longest_s):
            return messages
        message = port.receive(block=False)
        if message is None:
            time.sleep(0.002)
            continue
        if message.type in ("clock", "active_sensing", "start", "stop", "continue", "songpos", "sysex"):
            continue
        if not messages:
            first = now
        messages.append(message)
        last = now


def add_binding(
    map_path: str | os.PathLike[str], chain: ParameterSource, target: str, binding: dict[str, Any], *, keep: bool = False
) -> dict[str, Any]:
    """Write ``binding`` for ``target`` into the map file (created if missing), atomically.

    The new map is checked against ``chain`` before anything is written; other
    bindings, comments and layout stay as they were. Earlier bindings of
    ``target`` are replaced unless ``keep``. Returns the table written.
    """

    file = Path(map_path)
    if file.exists():
        try:
            document = tomlkit.parse(file.read_text(encoding="utf-8"))
        except (tomlkit.exceptions.TOMLKitError, UnicodeDecodeError) as error:
            raise MidiMapError(f"{file}: not valid TOML ({error}); fix it before learning into it") from None
    else:
        document = tomlkit.document()
        document.add("format", 1)
    entry = {"target": target} | binding
    candidate = map_from_dict({"bindings": [entry]}, chain, source=str(file))  # the target and values fit the chain
    entry["target"] = candidate.bindings[0].target
    spec = chain.parameters[entry["target"]].spec
    if spec.kind == "float" and spec.scale != "linear" and entry["kind"] not in ("note", "program") and "curve" not in entry:
        entry["curve"] = spec.scale  # the control travels as the parameter's own knob does (a DAW's learn: its 0..1)
    bindings = document.get("bindings")
    if bindings is None:
        bindings = tomlkit.aot()
        document.append("bindings", bindings)
    if not keep:
        for index in reversed(range(len(bindings))):
            if bindings[index].get("target") in (target, entry["target"]):
                del bindings[index]
    new = tomlkit.table()
    for key, value in entry.items():
        new.add(key, value)
    bindings.append(new)
    text = tomlkit.dumps(document)
    map_from_dict(tomlkit.parse(text).unwrap(), chain, source=str(file))  # the whole map still loads
    write_text(file, text)  # atomic; a replaced map keeps its mode
    return entry


def learn(
    chain: ParameterSource,
    map_path: str | os.PathLike[str],
    target: str,
    port: Any,
    *,
    timeout_s: float = 30.0,
    keep: bool = False,
) -> dict[str, Any]:
    """Wait for a control on ``port``, detect its kind and bind it to ``target`` in the map file."""
    if target not in chain.parameters:  # fail before waiting for the user
        map_from_dict({"bindings": [{"target": target}]}, chain, source=str(map_path))
    if Path(map_path).exists():  # a broken map is reported before the user moves a control, not after
        load_map(Path(map_path), chain)
    return add_binding(map_path, chain, target, detect(collect(port, timeout_s=timeout_s)), keep=keep)
