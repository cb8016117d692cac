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

    [[programs]]                     # ... or the values it sets, in the map itself
    program = 1
    values = { "device.width" = 0.8, "device.center_level_db" = -3.0 }

Loading checks every binding against the chain it drives: an unknown target
lists the close matches, a range outside the parameter's is refused, and so is a
parameter its plugin does not allow to be automated. Two bindings on the same
control give a warning.
"""

from __future__ import annotations

import difflib
import math
import numbers
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

import tomlkit
from pydantic import AfterValidator, Field

from soundstage.errors import SoundstageError
from soundstage.host.chainfile import find_chain, load_chain
from soundstage.host.parameters import DB_TAPER_EXPONENT, Parameter, ParameterSpec
from soundstage.schema import Table, unused_key, validate
from soundstage.tomlfile import read_toml, read_toml_text

__all__ = ["Binding", "MidiMap", "MidiMapError", "ParameterSource", "ProgramPreset", "load_map", "map_text_with_values", "KINDS"]

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
        if self.curve == "db":  # fader taper: amplitude follows x^4 between the two levels (a dB parameter's own)
            a_low, a_high = 10 ** (low / 20), 10 ** (high / 20)
            return 20 * math.log10(max(a_low + x**DB_TAPER_EXPONENT * (a_high - a_low), 1e-12))
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
                x = max((10 ** (v / 20) - a_low) / (a_high - a_low), 0.0) ** (1 / DB_TAPER_EXPONENT)
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


def map_text_with_values(path: str | Path, midi_map: MidiMap) -> str:
    """The text of the map file at ``path`` (``midi_map``, as :func:`load_map` read it) with each program's preset
    file written in as the values it sets (``values = {...}``), its comments and layout otherwise kept: a map that
    needs no other file, which an exported plugin holds (``soundstage plugin map``)."""
    document = tomlkit.parse(read_toml_text(path, MidiMapError, "MIDI map").removeprefix("\ufeff"))
    tables = document.get("programs", [])
    for table, preset in zip(tables, midi_map.programs):
        if "preset" not in table:
            continue
        inline = isinstance(table, tomlkit.items.InlineTable)  # programs = [{...}]: its values on its line too
        values = tomlkit.inline_table() if inline else tomlkit.table()
        if not inline:
            values.add(tomlkit.comment(f"what the preset {Path(preset.preset).name} sets"))
        for parameter, value in preset.values:
            values[parameter] = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else value
        del table["preset"]
        table["values"] = values
    return tomlkit.dumps(document)


Target = Annotated[str, Field(min_length=1, max_length=1000)]


def _channel(value: int) -> int:
    if not 1 <= value <= 16:
        raise ValueError("1..16, as controllers and DAWs number them (MIDI bytes and mido count 0..15: add 1)")
    return value


Channel = Annotated[int, AfterValidator(_channel)]


class BindingTable(Table):
    """``[[bindings]]``: one control bound to one parameter."""

    target: Target
    kind: Literal["cc", "cc14", "nrpn", "rpn", "relative", "note", "pitchbend", "program"] = "cc"
    channel: Channel | None = None
    number: Annotated[int, Field(ge=0, le=16383)] = 0  # the limit per kind is checked against the kind
    min: Annotated[float, Field(ge=-1e9, le=1e9)] | None = None
    max: Annotated[float, Field(ge=-1e9, le=1e9)] | None = None
    curve: Literal["linear", "log", "db", "exponent"] = "linear"
    exponent: Annotated[float, Field(gt=0.0, le=100.0)] = 1.0
    invert: bool = False
    pickup: bool = False
    encoding: Literal["twos_complement", "signed_bit", "binary_offset"] = "twos_complement"
    mode: Literal["toggle", "momentary"] = "toggle"


class ProgramTable(Table):
    """``[[programs]]``: a program change that recalls a chain preset (a file) or the values given with it."""

    program: Annotated[int, Field(ge=0, le=127)]
    preset: Target | None = None
    values: Annotated[dict[Target, bool | float | str], Field(max_length=10_000)] | None = None
    channel: Channel | None = None


class MapFile(Table):
    """A whole MIDI map file."""

    format: Literal[1] = 1
    description: Annotated[str, Field(max_length=10_000)] | None = None
    bindings: Annotated[list[BindingTable], Field(max_length=10_000)] = []
    programs: Annotated[list[ProgramTable], Field(max_length=2048)] = []


def _binding(table: BindingTable, chain: ParameterSource, source: str, where: str) -> Binding:
    """One ``[[bindings]]`` table checked against the chain: the target exists and can move, the number fits the kind."""
    paths = list(chain.parameters)
    target = table.target if table.target in paths else _canonical(chain, table.target)
    if target not in paths:
        leaf = table.target.rsplit(".", 1)[-1].lower()  # "width" for "device.width", as the knob is labeled
        close = [path for path in paths if path.rsplit(".", 1)[-1].lower() == leaf]
        close = sorted(close, key=lambda path: path.lower() != table.target.lower())[:3]  # "Level.Gain_dB": its own first
        close = close or difflib.get_close_matches(table.target, paths, n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise _fail(source, f"{where}.target", f"no parameter {table.target!r} in the chain{hint}")
    parameter = chain.parameters[target]
    if not parameter.spec.automatable:
        raise _fail(source, f"{where}.target", f"{target!r} cannot be automated (its plugin reports it read-only)")
    kind, number = table.kind, table.number
    _check_keys_of_kind(table, source, where)
    limit = {"cc": 127, "cc14": 31, "relative": 127, "note": 127, "nrpn": 16383, "rpn": 16383}.get(kind, 16383)
    if number > limit:
        raise _fail(source, f"{where}.number", f"number = {number!r} is not allowed: 0..{limit} for kind {kind!r}")
    _check_range(table, parameter.spec, target, source, where)
    return Binding(
        target=target,
        kind=kind,
        channel=None if table.channel is None else table.channel - 1,
        number=number,
        minimum=table.min,
        maximum=table.max,
        curve=table.curve,
        exponent=table.exponent,
        invert=table.invert,
        pickup=table.pickup,
        encoding=table.encoding,
        mode=table.mode,
    )


#: Keys a binding's kind alone uses, and those kinds (a program binding's number is kept: learn writes it).
_KEYS_BY_KIND = {
    "number": ("cc", "cc14", "nrpn", "rpn", "relative", "note", "program"),
    "pickup": ("cc", "cc14", "nrpn", "rpn", "pitchbend"),
    "encoding": ("relative",),
    "mode": ("note",),
}


def _check_keys_of_kind(table: BindingTable, source: str, where: str) -> None:
    """A key written for a kind that does not use it (``encoding`` on a plain CC, ``exponent`` without its curve) is
    refused: it would be dropped in silence, and the control would not do what the map says."""
    unused = unused_key(table, table.kind, _KEYS_BY_KIND)
    if unused:
        key, kinds = unused
        message = f"{key} is for kind {', '.join(kinds)}, not {table.kind!r}: remove it, or change kind"
        raise _fail(source, f"{where}.{key}", message)
    if "exponent" in table.model_fields_set and table.curve != "exponent":
        raise _fail(source, f"{where}.exponent", 'exponent shapes curve = "exponent": add that curve, or remove exponent')


def _check_range(table: BindingTable, spec: ParameterSpec, target: str, source: str, where: str) -> None:
    """A binding's min/max lie within the target's range (numbers only); a log curve starts above 0."""
    for key, value in (("min", table.min), ("max", table.max)):
        if value is None:
            continue
        if spec.kind != "float":
            raise _fail(source, f"{where}.{key}", f"{target!r} is a {spec.kind} parameter; min/max apply to numbers")
        if not spec.minimum <= value <= spec.maximum:
            raise _fail(source, f"{where}.{key}", f"{key} = {value!r} is outside {target!r}'s range {spec.range_text()}")
    if table.curve == "log" and (table.min if table.min is not None else spec.minimum) <= 0:
        raise _fail(source, f"{where}.curve", "a log curve needs min > 0")


def map_from_dict(data: dict[str, Any], chain: ParameterSource, *, source: str = "<map>") -> MidiMap:
    """Build a map from parsed TOML (see :func:`load_map`).

    Types and ranges come from :class:`MapFile` (the schema layer); what depends
    on the chain (the target exists and can be automated, min/max within its
    range) and on the kind (the control number's limit) is checked here.
    """
    checked = validate(MapFile, data, file=source, error=MidiMapError)
    bindings: list[Binding] = []
    for index, table in enumerate(checked.bindings):
        binding = _binding(table, chain, source, f"bindings[{index}]")
        for other in bindings:
            if other.control == binding.control:
                warnings.warn(
                    f"{source}: bindings[{index}]: the same control as another binding ({binding.kind} {binding.number}); "
                    "both will move",
                    stacklevel=2,
                )
        bindings.append(binding)
    return MidiMap(tuple(bindings), source, _programs(checked.programs, chain, source))


def _programs(tables: list[ProgramTable], chain: ParameterSource, source: str) -> tuple[ProgramPreset, ...]:
    """``[[programs]]``: ``program = N`` (0..127), ``preset = "chain file or preset name"`` or ``values = {path =
    value}``, optional ``channel``.

    A preset is a chain file of the same chain (typically saved from it): every
    automatable parameter it holds must exist in the chain; a program change
    sets them all. Relative paths are relative to the map file. ``values`` names
    the parameters it sets in the map itself, each checked as a chain file's is.
    """

    programs: list[ProgramPreset] = []
    for index, table in enumerate(tables):
        where = f"programs[{index}]"
        if (table.preset is None) == (table.values is None):
            raise _fail(
                source,
                where,
                "give either preset = (a chain file of the same chain, or a preset's name) or values = {path = value}"
                if table.preset is None
                else "give preset or values, not both",
            )
        if table.values == {}:
            raise _fail(source, f"{where}.values", "values = {} sets nothing: name the parameters, {path = value, ...}")
        if table.values is not None:
            named, values = "values in the map", _program_values(table.values, chain, source, f"{where}.values")
        else:
            named, values = _preset_values(str(table.preset), chain, source, f"{where}.preset")
        channel = None if table.channel is None else table.channel - 1
        programs.append(ProgramPreset(table.program, channel, named, values))
        if any(p.program == table.program and p.channel == channel for p in programs[:-1]):
            warnings.warn(f"{source}: {where}: program {table.program} is listed twice; the last one wins", stacklevel=2)
    return tuple(programs)


def _preset_values(preset: str, chain: ParameterSource, source: str, where: str) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """A program's preset file (relative to the map) or preset name, and the automatable values it holds."""
    paths = chain.parameters
    folder = Path(source).parent if source != "<map>" else Path.cwd()
    file = folder / preset
    if not file.exists() and not preset.endswith(".toml") and "/" not in preset:
        try:
            file = find_chain(preset)
        except SoundstageError as error:
            raise _fail(source, where, str(error)) from None
    try:
        preset_chain = load_chain(file)
    except SoundstageError as error:
        raise _fail(source, where, str(error)) from None
    values = []
    for path, parameter in preset_chain.parameters.items():
        if not parameter.spec.automatable:
            continue
        if path not in paths:
            close = difflib.get_close_matches(path, list(paths), n=3)
            hint = f" (close: {', '.join(close)})" if close else ""
            raise _fail(
                source,
                where,
                f"{str(file)!r} has parameter {path!r}, which the chain does not{hint}; a program preset must be "
                "a chain file of the same chain (save one with save_chain)",
            )
        values.append((path, parameter.value))
    return str(file), tuple(values)


def _program_values(
    given: dict[str, bool | float | str], chain: ParameterSource, source: str, where: str
) -> tuple[tuple[str, Any], ...]:
    """A program's ``values`` table: each path a parameter of the chain that can move, each value one it takes."""
    paths = list(chain.parameters)
    values = []
    for written, value in given.items():
        path = written if written in paths else _canonical(chain, written)
        if path not in paths:
            close = difflib.get_close_matches(written, paths, n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise _fail(source, f"{where}.{written}", f"no parameter {written!r} in the chain{hint}")
        parameter = chain.parameters[path]
        if not parameter.spec.automatable:
            raise _fail(source, f"{where}.{written}", f"{path!r} cannot be automated (its plugin reports it read-only)")
        try:
            values.append((path, parameter.spec.validate(value, owner=path.rsplit(".", 1)[0])))
        except (SoundstageError, ValueError, TypeError) as error:
            raise _fail(source, f"{where}.{written}", str(error)) from None
    return tuple(values)
