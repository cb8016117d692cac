"""What a plugin made by ``soundstage export-plugin`` holds in its binary: the program it runs.

``export/bake.py`` writes the program (its header: the chain file's text, the channel counts, the parameters, and
a table of the sample rates it was baked for), and the build embeds it in the plugin's binary (a ``.clap`` file,
the shared library inside a ``.vst3`` bundle). :func:`read_program` finds that header among any bytes and never
raises: the bytes may be any plugin's. :func:`exported_program` reads it from a file or bundle on disk. The chain
that hosts an exported plugin uses the rate table: at a rate the plugin neither was baked for nor resamples to
(2 or 4 times a baked rate, a half, third, quarter or sixth of one, or two or four thirds), it plays silence.

A CLAP or LV2 exported with ``--map`` also holds the MIDI map it takes, as text (:func:`map_bytes`, written into the
plugin's source by ``export/midi.py``): :func:`read_map` and :func:`exported_map` find it (``soundstage plugin map``).
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

__all__ = [
    "ANY_RATE",
    "MAGIC",
    "MAP_MAGIC",
    "MAX_CHANNELS",
    "EmbeddedKnob",
    "EmbeddedProgram",
    "KNOB_KINDS",
    "exported_map",
    "exported_program",
    "map_bytes",
    "read_map",
    "read_program",
    "resampled_rates",
]

_T = TypeVar("_T")

#: The first bytes of a program (bake.py writes it, native/engine.hpp reads it).
MAGIC = b"SSPLUG02"
#: The first bytes of the MIDI map text a plugin exported with ``--map`` holds (export/midi.py writes it; then the
#: text's length, u32 little-endian, and the text, UTF-8).
MAP_MAGIC = b"SSMIDMAP"
#: The longest map text read back (a map of 10 000 bindings is about 1 MB).
MAX_MAP_BYTES = 16 << 20
#: The rate a program made for every sample rate is filed under (bake.py writes it; engine.hpp builds that program at
#: the session's rate).
ANY_RATE = 0.0
#: The most channels between two stages (engine_core.hpp's kMaxChannels).
MAX_CHANNELS = 64
#: A session at one of these multiples of a baked rate runs that rate's chain resampled (resampling.hpp's RateBridge).
RESAMPLED_FACTORS = (2, 4)
#: A session at a baked rate divided by one of these runs that rate's chain resampled (resampling.hpp's RateRaiser).
RAISED_FACTORS = (2, 3, 4, 6)
#: A session at a baked rate times one of these runs it through both: bridged up to the common multiple, that
#: raised down to the session's rate (64 kHz on the 48 kHz designs: 192 kHz, then a third of it).
BRIDGED_AND_RAISED = ((2, 3), (4, 3))
#: The files of a plugin bundle that can be its binary (Linux, Windows, macOS); others (resources) are not read.
_BINARY_SUFFIXES = (".so", ".dll", ".vst3", ".clap", ".dylib")


#: A knob's kind in a program header (bake.py writes its index).
KNOB_KINDS = ("number", "on/off", "choice", "log number")


@dataclass(frozen=True)
class EmbeddedKnob:
    """One of an exported plugin's knobs as its program header holds it: its name in a DAW, its symbol (the LV2 port's,
    pedalboard's parameter name), unit, range and default, kind (:data:`KNOB_KINDS`) and a choice's names."""

    label: str
    symbol: str
    unit: str
    minimum: float
    maximum: float
    default: float
    kind: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class EmbeddedProgram:
    """An exported plugin's program header: the chain file it was made from, its channels, its baked rates, its knobs
    and its latency at each baked rate (samples)."""

    chain: str
    inputs: int
    outputs: int
    rates: tuple[float, ...]
    knobs: tuple[EmbeddedKnob, ...] = ()
    latencies: tuple[int, ...] = ()

    @property
    def any_rate(self) -> bool:
        """Baked once for every sample rate (its chain holds no design made for one: bake.py's ``rate_free``)."""
        return self.rates == (ANY_RATE,)

    def plays_at(self, rate: float) -> bool:
        """True where the plugin makes sound: a baked rate, 2 or 4 times one, a half, third, quarter or sixth, or two
        or four thirds; any rate for a program made for every rate."""
        return self.any_rate or any(abs(baked - rate) <= 0.5 for baked in (*self.rates, *resampled_rates(self.rates)))


def resampled_rates(baked: Sequence[float]) -> list[float]:
    """The sample rates a plugin baked for ``baked`` also plays at, through its decimator and interpolator: 2 and 4
    times a baked rate, a baked rate divided by 2, 3, 4 or 6, and 2 or 4 thirds of one (engine.hpp)."""
    higher = {rate * factor for rate in baked for factor in RESAMPLED_FACTORS}
    lower = {rate / factor for rate in baked for factor in RAISED_FACTORS}
    both = {rate * up / down for rate in baked for up, down in BRIDGED_AND_RAISED}
    return sorted((higher | lower | both) - set(baked))


class _Cursor:
    """Reads the little-endian fields of a program header (bake.py's ``_Writer``); any read past the end is None."""

    def __init__(self, data: bytes | mmap.mmap, at: int) -> None:
        self.data, self.at = data, at

    def take(self, size: int) -> bytes | None:
        if size < 0 or self.at + size > len(self.data):
            return None
        self.at += size
        return bytes(self.data[self.at - size : self.at])

    def u32(self) -> int | None:
        field = self.take(4)
        return None if field is None else int(struct.unpack("<I", field)[0])

    def text(self) -> str | None:
        size = self.u32()
        field = None if size is None else self.take(size)
        try:
            return None if field is None else field.decode("utf-8")
        except UnicodeDecodeError:
            return None


def _knob(cursor: _Cursor) -> EmbeddedKnob | None:
    """One knob of a program header: name, symbol, unit, minimum, maximum, default, its kind (0 a number, 1 on/off, 2 a
    choice, 3 a number on a logarithmic scale) and a choice's names; None if it does not read as one."""
    label, symbol, unit = cursor.text(), cursor.text(), cursor.text()
    numbers, kind = cursor.take(12), cursor.take(1)
    if label is None or symbol is None or unit is None or numbers is None or kind is None or kind[0] > 3:
        return None
    minimum, maximum, default = struct.unpack("<3f", numbers)
    choices: list[str] = []
    if kind[0] == 2:
        names = cursor.u32()
        if names is None or not 1 <= names <= 64:
            return None
        for _ in range(names):
            name = cursor.text()
            if name is None:
                return None
            choices.append(name)
    return EmbeddedKnob(label, symbol, unit, minimum, maximum, default, KNOB_KINDS[kind[0]], tuple(choices))


def _header(data: bytes | mmap.mmap, at: int) -> EmbeddedProgram | None:
    """The program header at ``at`` (just past the magic), if all of it reads as one: channel counts, knobs, and a
    table of sample rates whose parts lie inside ``data`` (each begins with the latency at its rate)."""
    cursor = _Cursor(data, at)
    chain = cursor.text()
    inputs, outputs, count = cursor.u32(), cursor.u32(), cursor.u32()
    if chain is None or inputs is None or outputs is None or count is None:
        return None
    if not (1 <= inputs <= MAX_CHANNELS and 1 <= outputs <= MAX_CHANNELS) or count > 10_000:
        return None
    knobs = []
    for _ in range(count):
        knob = _knob(cursor)
        if knob is None:
            return None
        knobs.append(knob)
    table = cursor.u32()
    if table is None or not 1 <= table <= 64:
        return None
    rates, latencies = [], []
    for _ in range(table):
        field = cursor.take(16)
        if field is None:
            return None
        rate, size = struct.unpack("<dQ", field)
        if not (1000.0 <= rate <= 1_000_000.0 or (rate == ANY_RATE and table == 1)) or not 4 <= size <= len(data) - cursor.at:
            return None
        latency = cursor.u32()
        cursor.at += size - 4
        rates.append(float(rate))
        latencies.append(int(latency or 0))
    return EmbeddedProgram(chain, inputs, outputs, tuple(rates), tuple(knobs), tuple(latencies))


def read_program(data: bytes | mmap.mmap) -> EmbeddedProgram | None:
    """The program an exported plugin's binary embeds, or None if ``data`` holds none (never an exception). Every
    place the magic appears is tried: the engine's own code may hold it too."""
    at = data.find(MAGIC)
    while at >= 0:
        program = _header(data, at + len(MAGIC))
        if program is not None:
            return program
        at = data.find(MAGIC, at + 1)
    return None


def map_bytes(text: str) -> bytes:
    """A MIDI map's text as an exported plugin holds it (what :func:`read_map` finds): :data:`MAP_MAGIC`, the length of
    the text in UTF-8 (u32, little-endian) and the text."""
    data = text.encode("utf-8")
    return MAP_MAGIC + struct.pack("<I", len(data)) + data


def read_map(data: bytes | mmap.mmap) -> str | None:
    """The MIDI map text an exported plugin's binary holds (``export-plugin --map``), or None (never an exception)."""
    at = data.find(MAP_MAGIC)
    while at >= 0:
        cursor = _Cursor(data, at + len(MAP_MAGIC))
        size = cursor.u32()
        field = None if size is None or size > MAX_MAP_BYTES else cursor.take(size)
        if field is not None:
            try:
                return field.decode("utf-8")
            except UnicodeDecodeError:
                pass
        at = data.find(MAP_MAGIC, at + 1)
    return None


def _read_file(path: Path, read: Callable[[bytes | mmap.mmap], _T | None]) -> _T | None:
    with path.open("rb") as file:
        if path.stat().st_size == 0:
            return None
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return read(data)


def _read_plugin(path: str | Path, read: Callable[[bytes | mmap.mmap], _T | None]) -> _T | None:
    """``read`` of an exported plugin's binary: the file itself (a ``.clap``, a bundle's library), or the first of a
    bundle's binaries below ``Contents`` (a ``.vst3``; a macOS ``.clap``) or in it (an ``.lv2``) it finds something in."""
    source = Path(path)
    if source.is_file():
        return _read_file(source, read)
    if (source / "Contents").is_dir():
        binaries = (
            file
            for file in (source / "Contents").rglob("*")
            if file.is_file() and (file.suffix.lower() in _BINARY_SUFFIXES or file.parent.name == "MacOS")
        )
    elif source.is_dir() and source.suffix.lower() == ".lv2":
        binaries = (file for file in source.iterdir() if file.is_file() and file.suffix.lower() in _BINARY_SUFFIXES)
    else:
        return None
    for file in sorted(binaries)[:64]:
        found = _read_file(file, read)
        if found is not None:
            return found
    return None


def exported_program(path: str | Path) -> EmbeddedProgram | None:
    """The program in an exported plugin on disk: a binary file (a ``.clap``, a bundle's library), or a bundle that
    holds one (a ``.vst3``, an ``.lv2``; a macOS ``.clap``). None for any other plugin or file. Raises OSError where
    a file cannot be read."""
    return _read_plugin(path, read_program)


def exported_map(path: str | Path) -> str | None:
    """The MIDI map text an exported plugin on disk takes (made with ``export-plugin --map``; a CLAP or an LV2, or
    their binaries), as :func:`exported_program` finds the program; None if it holds none."""
    return _read_plugin(path, read_map)
