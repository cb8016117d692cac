"""Session files: which stems, where they sit on the timeline, which chains, what to render.

A session file is TOML, paths relative to it::

    format = 1
    sample_rate = 48000                 # the session rate; stems at others are resampled

    [[stems]]
    path = "stems/vocal.wav"            # start from its BWF bext TimeReference ...
    name = "vocal"                      # default: the file name
    gain_db = -1.5
    chain = "chains/vocal.toml"         # a chain file, or a preset name in chains/
    bus = "music"

    [[stems]]
    path = "stems/bass.flac"
    offset_s = 0.25                     # ... or from an explicit offset

    [[buses]]
    name = "music"
    chain = "glue"

    [master]
    chain = "mastering"

    [midi]                              # automation applied during the render
    map = "map.toml"                    # targets: stems.NAME.PATH, buses.NAME.PATH, master.PATH,
    automation = "automation.mid"       #   renders.NAME.PATH (ab renders: renders.NAME.a.PATH / .b.PATH)
    channels = [1]                      # optional filters: MIDI channels 1..16, tracks (0-based)
    tracks = [1, 2]

    [[renders]]
    name = "device"
    kind = "device"                     # mixdown | device | binaural | reference | ab
    chain = "studio-5"
    per_driver = true                   # one file per driver, named by driver
    bit_depth = 24

Loading validates every key and names the file, the key and the value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soundstage.errors import OutputError, SoundstageError
from soundstage.files import output_name
from soundstage.tomlfile import read_toml, unknown_key

__all__ = ["Bus", "MidiSettings", "Render", "Session", "SessionError", "Stem", "load_session", "RENDER_KINDS"]

RENDER_KINDS = ("mixdown", "device", "binaural", "reference", "ab")
FORMATS = ("wav", "flac", "aiff")
MAX_OFFSET_S = 86_400.0
DEFAULT_CHAINS = {"device": "studio-5", "binaural": "studio-5-binaural", "reference": "stereo-reference"}


class SessionError(SoundstageError, ValueError):
    """A session file is malformed or names something that does not exist."""


@dataclass(frozen=True)
class Stem:
    """One exported stem and how it enters the mix."""

    path: Path
    name: str
    gain_db: float = 0.0
    offset_s: float | None = None
    chain: str | None = None
    bus: str | None = None


@dataclass(frozen=True)
class Bus:
    """A group of stems summed and run through a chain."""

    name: str
    chain: str | None = None


@dataclass(frozen=True)
class Render:
    """One output of the session."""

    name: str
    kind: str
    chain: str | None = None
    a: str | None = None
    b: str | None = None
    file_format: str = "wav"
    bit_depth: int = 24
    per_driver: bool = False
    ceiling_dbtp: float = -1.0


@dataclass(frozen=True)
class MidiSettings:
    """A session's ``[midi]`` table: a map and the MIDI file that automates the render."""

    map: str
    automation: str
    channels: tuple[int, ...] | None = None
    tracks: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Session:
    """A parsed session file."""

    file: Path
    sample_rate: float | None
    stems: tuple[Stem, ...]
    buses: tuple[Bus, ...] = ()
    master_chain: str | None = None
    renders: tuple[Render, ...] = ()
    midi: MidiSettings | None = None

    @property
    def folder(self) -> Path:
        """The folder paths in the session are relative to."""
        return self.file.resolve().parent

    def resolve(self, relative: str) -> Path:
        """A path from the session file, made absolute."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.folder / path


def _fail(file: Path, key: str, message: str) -> SessionError:
    return SessionError(f"{file}: {key}: {message}")


def _check_keys(table: dict[str, Any], allowed: set[str], where: str, file: Path) -> None:
    unknown = unknown_key(table, allowed)
    if unknown:
        raise _fail(file, f"{where}.{unknown[0]}" if where else unknown[0], unknown[1])


def _string(table: dict[str, Any], key: str, where: str, file: Path, *, required: bool = False) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise _fail(file, f"{where}.{key}", f"{key} is required")
        return None
    if not isinstance(value, str) or not value:
        raise _fail(file, f"{where}.{key}", f"{key} = {value!r} must be a non-empty string")
    return value


def _number(table: dict[str, Any], key: str, where: str, file: Path, default: float | None) -> float | None:
    value = table.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(file, f"{where}.{key}", f"{key} = {value!r} must be a number")
    return float(value)


def load_session(path: str | Path) -> Session:
    """Read and validate a session file.

    Raises
    ------
    SessionError
        Naming the file, the key (``stems[2].offset_s``) and the value: unknown
        keys, missing or duplicate names, negative offsets, unknown buses, render
        kinds or formats.
    """
    file = Path(path)
    data = read_toml(file, SessionError, "session file")
    _check_keys(data, {"format", "description", "sample_rate", "stems", "buses", "master", "midi", "renders"}, "", file)
    if data.get("format", 1) != 1:
        raise _fail(file, "format", f"format = {data['format']!r} is not supported; this soundstage reads format 1")
    rate = _number(data, "sample_rate", "", file, None)
    if rate is not None and not 8000 <= rate <= 384000:
        raise _fail(file, "sample_rate", f"sample_rate = {rate:g} is outside 8000..384000 Hz")
    stems_data = data.get("stems")
    if not isinstance(stems_data, list) or not stems_data:
        raise _fail(file, "stems", "a session needs at least one [[stems]] table")
    buses_data = data.get("buses", [])
    if not isinstance(buses_data, list):
        raise _fail(file, "buses", "buses must be an array of tables ([[buses]])")
    buses: list[Bus] = []
    for index, table in enumerate(buses_data):
        where = f"buses[{index}]"
        _check_keys(table, {"name", "chain"}, where, file)
        name = _string(table, "name", where, file, required=True)
        assert name is not None
        if name in [b.name for b in buses]:
            raise _fail(file, f"{where}.name", f"bus name {name!r} is used twice")
        buses.append(Bus(name, _string(table, "chain", where, file)))
    bus_names = [b.name for b in buses]
    stems: list[Stem] = []
    for index, table in enumerate(stems_data):
        where = f"stems[{index}]"
        if not isinstance(table, dict):
            raise _fail(file, where, 'each stem is a table with path = "..."')
        _check_keys(table, {"path", "name", "gain_db", "offset_s", "chain", "bus"}, where, file)
        relative = _string(table, "path", where, file, required=True)
        assert relative is not None
        name = _string(table, "name", where, file) or Path(relative).stem
        if name in [s.name for s in stems]:
            raise _fail(file, f"{where}.name", f'stem name {name!r} is used twice; give each stem a unique name = "..."')
        offset = _number(table, "offset_s", where, file, None)
        if offset is not None and offset < 0:
            raise _fail(file, f"{where}.offset_s", f"offset_s = {offset:g} is negative; a stem cannot start before the timeline")
        if offset is not None and offset > MAX_OFFSET_S:
            raise _fail(
                file, f"{where}.offset_s", f"offset_s = {offset:g} is past {MAX_OFFSET_S:g} s (24 h); give the offset in seconds"
            )
        bus = _string(table, "bus", where, file)
        if bus is not None and bus not in bus_names:
            raise _fail(file, f"{where}.bus", f"bus = {bus!r} is not defined (buses: {', '.join(bus_names) or 'none'})")
        gain = _number(table, "gain_db", where, file, 0.0)
        if gain is not None and not -120.0 <= gain <= 48.0:
            raise _fail(file, f"{where}.gain_db", f"gain_db = {gain:g} is outside -120..48 dB")
        stems.append(
            Stem(Path(relative), name, gain if gain is not None else 0.0, offset, _string(table, "chain", where, file), bus)
        )
    master = data.get("master", {})
    if not isinstance(master, dict):
        raise _fail(file, "master", "master must be a table")
    _check_keys(master, {"chain"}, "master", file)
    midi = data.get("midi", {})
    if not isinstance(midi, dict):
        raise _fail(file, "midi", "midi must be a table")
    _check_keys(midi, {"map", "automation", "channels", "tracks"}, "midi", file)
    settings = None
    if midi:
        if not isinstance(midi.get("map"), str) or not isinstance(midi.get("automation"), str):
            raise _fail(file, "midi", 'automation needs both map = "MAP.toml" and automation = "FILE.mid"')
        filters: dict[str, tuple[int, ...] | None] = {}
        for key, low, high in (("channels", 1, 16), ("tracks", 0, 65535)):
            value = midi.get(key)
            if value is not None and (
                not isinstance(value, list)
                or not all(isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in value)
            ):
                raise _fail(file, f"midi.{key}", f"{key} = {value!r} must be a list of integers {low}..{high}")
            filters[key] = None if value is None else tuple(value)
        settings = MidiSettings(midi["map"], midi["automation"], filters["channels"], filters["tracks"])
    renders: list[Render] = []
    for index, table in enumerate(data.get("renders", []) or [{"name": "mixdown", "kind": "mixdown"}]):
        where = f"renders[{index}]"
        _check_keys(table, {"name", "kind", "chain", "a", "b", "format", "bit_depth", "per_driver", "ceiling_dbtp"}, where, file)
        kind = table.get("kind", "mixdown")
        if kind not in RENDER_KINDS:
            raise _fail(file, f"{where}.kind", f"kind = {kind!r} must be one of {', '.join(RENDER_KINDS)}")
        name = _string(table, "name", where, file) or kind
        try:
            output_name(Path("."), name, what="render")
        except OutputError as error:
            raise _fail(file, f"{where}.name", str(error)) from None
        if name in [r.name for r in renders]:
            raise _fail(file, f"{where}.name", f"render name {name!r} is used twice")
        file_format = table.get("format", "wav")
        if file_format not in FORMATS:
            raise _fail(file, f"{where}.format", f"format = {file_format!r} must be one of {', '.join(FORMATS)}")
        depth = table.get("bit_depth", 24)
        if isinstance(depth, bool) or depth not in (16, 24, 32):  # what each format holds is the output layer's check
            raise _fail(file, f"{where}.bit_depth", f"bit_depth = {depth!r} must be 16, 24 or 32 (32 = float; not for flac)")
        chain = _string(table, "chain", where, file) or DEFAULT_CHAINS.get(kind)
        a = _string(table, "a", where, file) or ("stereo-reference" if kind == "ab" else None)
        b = _string(table, "b", where, file) or ("studio-5-binaural" if kind == "ab" else None)
        per_driver = table.get("per_driver", False)
        if not isinstance(per_driver, bool):
            raise _fail(file, f"{where}.per_driver", f"per_driver = {per_driver!r} must be true or false")
        ceiling = _number(table, "ceiling_dbtp", where, file, -1.0)
        if ceiling is None or not -60.0 <= ceiling <= 0.0:
            raise _fail(file, f"{where}.ceiling_dbtp", f"ceiling_dbtp = {ceiling!r} is outside -60.0..0.0 dBTP")
        if "ceiling_dbtp" in table and kind != "ab":
            raise _fail(file, f"{where}.ceiling_dbtp", f"ceiling_dbtp applies to kind = 'ab' renders only, not {kind!r}")
        renders.append(Render(name, kind, chain, a, b, file_format, int(depth), per_driver, ceiling))
    return Session(
        file=file,
        sample_rate=rate,
        stems=tuple(stems),
        buses=tuple(buses),
        master_chain=_string(master, "chain", "master", file),
        renders=tuple(renders),
        midi=settings,
    )
