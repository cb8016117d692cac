"""MIDI maps: bindings from controls to parameters, with range, curve, pickup.

A map is TOML::

    [[bindings]]
    target = "device.width"          # a parameter path in the chain
    kind = "cc"                      # cc | cc14 | nrpn | rpn | relative | note | pitchbend | program
    channel = 1                      # 1..16, or omit for any channel
    number = 74                      # CC (cc14: the MSB 0..31), NRPN/RPN number, note
    min = 0.0                        # in the parameter's unit (default: its range)
    max = 1.0
    curve = "linear"                 # linear | log | db | exponent
    exponent = 2.0                   # with curve = "exponent"
    invert = false
    pickup = true                    # soft takeover for absolute controls
    encoding = "twos_complement"     # relative: twos_complement | signed_bit | binary_offset
    mode = "toggle"                  # note: toggle | momentary

    [[programs]]                     # a program change recalls a chain preset
    program = 0                      # 0..127
    preset = "wide.toml"             # a chain file of the same chain (relative to the map), or a preset name
    channel = 1                      # optional

Loading checks every binding against the chain it drives: an unknown target
lists the close matches, a range outside the parameter's is refused, and so is a
parameter its plugin does not allow to be automated. Two bindings on the same
control give a warning.
"""

from __future__ import annotations

import difflib
import math
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from soundstage.errors import SoundstageError
from soundstage.host.parameters import Parameter
from soundstage.tomlfile import read_toml, unknown_key

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover
    pass

__all__ = ["Binding", "MidiMap", "MidiMapError", "ParameterSource", "ProgramPreset", "load_map", "KINDS"]

KINDS = ("cc", "cc14", "nrpn", "rpn", "relative", "note", "pitchbend", "program")
CURVES = ("linear", "log", "db", "exponent")
ENCODINGS = ("twos_complement", "signed_bit", "binary_offset")


class MidiMapError(SoundstageError, ValueError):
    """A MIDI map is malformed or does not fit the chain."""


class ParameterSource(Protocol):
    """What a map drives: a :class:`~soundstage.host.chain.Chain`, or a session's chains together."""

    @property
    def parameters(self) -> Mapping[str, Parameter]:
        """Every parameter by path."""
        ...


@dataclass(frozen=True)
class Binding:
    """One control bound to one parameter."""

    target: str
    kind: str
    channel: int | None = None  # 0..15 (mido's numbering); None = any
    number: int = 0
    minimum: float | None = None
    maximum: float | None = None
    curve: str = "linear"
    exponent: float = 1.0
    invert: bool = False
    pickup: bool = False
    encoding: str = "twos_complement"
    mode: str = "toggle"

    @property
    def control(self) -> tuple[str, int | None, int]:
        """What physical control this listens to (for duplicate checks)."""
        return (self.kind, self.channel, self.number)

    def value(self, position: float, parameter: Parameter) -> Any:
        """The parameter value for a control position 0..1 (curve, invert, range)."""
        x = min(max(position, 0.0), 1.0)
        if self.invert:
            x = 1.0 - x
        spec = parameter.spec
        if spec.kind != "float":
            return parameter.from_normalized(x)
        low = spec.minimum if self.minimum is None else self.minimum
        high = spec.maximum if self.maximum is None else self.maximum
        if self.curve == "log":
            return low * (high / low) ** x
        if self.curve == "db":  # fader taper: amplitude follows x^4 between the two levels
            a_low, a_high = 10 ** (low / 20), 10 ** (high / 20)
            return 20 * math.log10(max(a_low + x**4 * (a_high - a_low), 1e-12))
        if self.curve == "exponent":
            return low + x**self.exponent * (high - low)
        return low + x * (high - low)

    def position(self, value: float, parameter: Parameter) -> float:
        """The control position 0..1 that gives ``value`` (inverse of :meth:`value`)."""
        spec = parameter.spec
        if spec.kind != "float":
            x = parameter.to_normalized(value)
        else:
            low = spec.minimum if self.minimum is None else self.minimum
            high = spec.maximum if self.maximum is None else self.maximum
            v = float(value)
            if self.curve == "log":
                x = math.log(max(v, 1e-30) / low) / math.log(high / low)
            elif self.curve == "db":
                a_low, a_high = 10 ** (low / 20), 10 ** (high / 20)
                x = max((10 ** (v / 20) - a_low) / (a_high - a_low), 0.0) ** 0.25
            elif self.curve == "exponent":
                x = max((v - low) / (high - low), 0.0) ** (1 / self.exponent)
            else:
                x = (v - low) / (high - low) if high != low else 0.0
        x = min(max(x, 0.0), 1.0)
        return 1.0 - x if self.invert else x


@dataclass(frozen=True)
class ProgramPreset:
    """A program change that recalls a chain preset: the preset's parameter values, by path."""

    program: int  # 0..127
    channel: int | None  # 0..15; None = any
    preset: str
    values: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class MidiMap:
    """Bindings and program presets, checked against a chain."""

    bindings: tuple[Binding, ...]
    source: str = "<map>"
    programs: tuple[ProgramPreset, ...] = ()


def _fail(file: str, key: str, message: str) -> MidiMapError:
    return MidiMapError(f"{file}: {key}: {message}")


def _canonical(chain: Any, target: str) -> str:
    """A path by node index (``"3.gain_db"``) as the name path the chain lists; unchanged if unknown."""
    try:
        return str(chain.canonical_path(target))
    except (SoundstageError, AttributeError, ValueError, IndexError):
        return target


def load_map(path: str | Path, chain: ParameterSource) -> MidiMap:
    """Read a MIDI map file and check every binding against ``chain``."""
    file = Path(path)
    return map_from_dict(read_toml(file, MidiMapError, "MIDI map"), chain, source=str(file))


def map_from_dict(data: dict[str, Any], chain: ParameterSource, *, source: str = "<map>") -> MidiMap:
    """Build a map from parsed TOML (see :func:`load_map`)."""
    unknown = unknown_key(data, {"format", "description", "bindings", "programs"})
    if unknown:
        raise _fail(source, *unknown)
    tables = data.get("bindings", [])
    if not isinstance(tables, list):
        raise _fail(source, "bindings", "bindings must be an array of tables ([[bindings]])")
    paths = list(chain.parameters)
    bindings: list[Binding] = []
    allowed = {"target", "kind", "channel", "number", "min", "max", "curve", "exponent", "invert", "pickup", "encoding", "mode"}
    for index, table in enumerate(tables):
        where = f"bindings[{index}]"
        unknown = unknown_key(table, allowed)
        if unknown:
            raise _fail(source, f"{where}.{unknown[0]}", unknown[1])
        target = table.get("target")
        if not isinstance(target, str):
            raise _fail(source, f"{where}.target", f"target = {target!r} must be a parameter path like 'device.width'")
        if target not in paths:
            target = _canonical(chain, target)
        if target not in paths:
            close = difflib.get_close_matches(str(table["target"]), paths, n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise _fail(source, f"{where}.target", f"no parameter {table['target']!r} in the chain{hint}")
        parameter = chain.parameters[target]
        if not parameter.spec.automatable:
            raise _fail(source, f"{where}.target", f"{target!r} cannot be automated (its plugin reports it read-only)")
        kind = table.get("kind", "cc")
        if kind not in KINDS:
            raise _fail(source, f"{where}.kind", f"kind = {kind!r} must be one of {', '.join(KINDS)}")
        channel = table.get("channel")
        if channel is not None and (isinstance(channel, bool) or not isinstance(channel, int) or not 1 <= channel <= 16):
            raise _fail(source, f"{where}.channel", f"channel = {channel!r} must be 1..16 (omit it for any channel)")
        number = table.get("number", 0)
        limit = {"cc": 127, "cc14": 31, "relative": 127, "note": 127, "nrpn": 16383, "rpn": 16383}.get(kind, 16383)
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= limit:
            raise _fail(source, f"{where}.number", f"number = {number!r} must be 0..{limit} for kind {kind!r}")
        spec = parameter.spec
        low, high = table.get("min"), table.get("max")
        for key, value in (("min", low), ("max", high)):
            if value is None:
                continue
            if spec.kind != "float":
                raise _fail(source, f"{where}.{key}", f"{target!r} is a {spec.kind} parameter; min/max apply to numbers")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not spec.minimum <= value <= spec.maximum:
                raise _fail(source, f"{where}.{key}", f"{key} = {value!r} is outside {target!r}'s range {spec.range_text()}")
        curve = table.get("curve", "linear")
        if curve not in CURVES:
            raise _fail(source, f"{where}.curve", f"curve = {curve!r} must be one of {', '.join(CURVES)}")
        if curve == "log" and (low if low is not None else spec.minimum) <= 0:
            raise _fail(source, f"{where}.curve", "a log curve needs min > 0")
        encoding = table.get("encoding", "twos_complement")
        if encoding not in ENCODINGS:
            raise _fail(source, f"{where}.encoding", f"encoding = {encoding!r} must be one of {', '.join(ENCODINGS)}")
        mode = table.get("mode", "toggle")
        if mode not in ("toggle", "momentary"):
            raise _fail(source, f"{where}.mode", f"mode = {mode!r} must be 'toggle' or 'momentary'")
        binding = Binding(
            target=target,
            kind=kind,
            channel=None if channel is None else channel - 1,
            number=int(number),
            minimum=None if low is None else float(low),
            maximum=None if high is None else float(high),
            curve=curve,
            exponent=float(table.get("exponent", 1.0)),
            invert=bool(table.get("invert", False)),
            pickup=bool(table.get("pickup", False)),
            encoding=encoding,
            mode=mode,
        )
        for other in bindings:
            if other.control == binding.control:
                warnings.warn(
                    f"{source}: {where}: the same control as another binding ({kind} {number}); both will move", stacklevel=2
                )
        bindings.append(binding)
    return MidiMap(tuple(bindings), source, _programs(data.get("programs", []), chain, source))


def _programs(tables: Any, chain: ParameterSource, source: str) -> tuple[ProgramPreset, ...]:
    """``[[programs]]``: ``program = N`` (0..127), ``preset = "chain file or preset name"``, optional ``channel``.

    A preset is a chain file of the same chain (typically saved from it): every
    automatable parameter it holds must exist in the chain; a program change
    sets them all. Relative paths are relative to the map file.
    """
    from soundstage.host.chainfile import find_chain, load_chain

    if not isinstance(tables, list):
        raise _fail(source, "programs", "programs must be an array of tables ([[programs]])")
    paths = chain.parameters
    folder = Path(source).parent if source != "<map>" else Path.cwd()
    programs: list[ProgramPreset] = []
    for index, table in enumerate(tables):
        where = f"programs[{index}]"
        if not isinstance(table, dict):
            raise _fail(source, where, "each program must be a table with program = N and preset = 'FILE.toml'")
        unknown = unknown_key(table, {"program", "preset", "channel"})
        if unknown:
            raise _fail(source, f"{where}.{unknown[0]}", unknown[1])
        program, preset, channel = table.get("program"), table.get("preset"), table.get("channel")
        if isinstance(program, bool) or not isinstance(program, int) or not 0 <= program <= 127:
            raise _fail(source, f"{where}.program", f"program = {program!r} must be 0..127")
        if channel is not None and (isinstance(channel, bool) or not isinstance(channel, int) or not 1 <= channel <= 16):
            raise _fail(source, f"{where}.channel", f"channel = {channel!r} must be 1..16 (omit it for any channel)")
        if not isinstance(preset, str):
            raise _fail(source, f"{where}.preset", f"preset = {preset!r} must be a chain file or a preset name")
        file = folder / preset
        if not file.exists() and not preset.endswith(".toml") and "/" not in preset:
            try:
                file = find_chain(preset)
            except SoundstageError as error:
                raise _fail(source, f"{where}.preset", str(error)) from None
        try:
            preset_chain = load_chain(file)
        except SoundstageError as error:
            raise _fail(source, f"{where}.preset", str(error)) from None
        values = []
        for path, parameter in preset_chain.parameters.items():
            if not parameter.spec.automatable:
                continue
            if path not in paths:
                close = difflib.get_close_matches(path, list(paths), n=3)
                hint = f" (close: {', '.join(close)})" if close else ""
                raise _fail(
                    source,
                    f"{where}.preset",
                    f"{str(file)!r} has parameter {path!r}, which the chain does not{hint}; a program preset must be "
                    "a chain file of the same chain (save one with save_chain)",
                )
            values.append((path, parameter.value))
        programs.append(ProgramPreset(program, None if channel is None else channel - 1, str(file), tuple(values)))
        if any(p.program == program and p.channel == programs[-1].channel for p in programs[:-1]):
            warnings.warn(f"{source}: {where}: program {program} is listed twice; the last one wins", stacklevel=2)
    return tuple(programs)
