"""Session files: which stems, where they sit on the timeline, which chains, what to render.

A session file is TOML, paths relative to it::

    format = 1
    sample_rate = 48000                 # the session rate; stems at others are resampled
    tail_s = 2.0                        # seconds rendered after the last stem ends, for the chains' tails
                                        #   (a reverb's); default 0: the timeline ends with the last stem
    head_track = "head.csv"             # optional: a recorded head trajectory (time_s, yaw_deg[, x_m, y_m])
                                        #   moving every listener parameter of every chain
    hrtf = "me.sofa"                    # optional: the listener's own head (SOFA; several: a list) for the
                                        #   render chains (device, binaural, reference, A/B): designed and
                                        #   previewed on it

    [[stems]]
    path = "stems/vocal.wav"            # start from its BWF bext TimeReference (a FLAC's TIME_REFERENCE) ...
    name = "vocal"                      # default: the file name
    gain_db = -1.5
    pan = 0.0                           # -1 hard left .. +1 hard right, after the stem's chain
    chain = "chains/vocal.toml"         # a chain file, or a preset name in chains/
    bus = "music"

    [[stems]]
    path = "stems/bass.flac"
    offset_s = 0.25                     # ... or from an explicit offset
    mute = false                        # true: left out of the mix (solo = true: only soloed stems play;
                                        #   a muted stem stays muted); the timeline keeps its length

    [[buses]]
    name = "music"
    chain = "glue"
    mute = false                        # as a stem's, for every stem sent to it (solo = true: they play, and
                                        #   stems elsewhere only when soloed); a bus none of whose stems
                                        #   plays is left out of the mix

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

import shlex
import warnings
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from soundstage.errors import OutputError, SoundstageError
from soundstage.fileio import MAX_TAIL_S, audio_files, daw_project
from soundstage.files import on_disk, output_name, referenced_path
from soundstage.host.chainfile import find_chain
from soundstage.schema import Table, unused_key, validate
from soundstage.tomlfile import read_toml

__all__ = [
    "Bus",
    "MidiSettings",
    "Render",
    "Session",
    "SessionError",
    "Stem",
    "daw_project_words",
    "load_session",
    "session_file",
    "RENDER_KINDS",
    "Tail",
]

RENDER_KINDS = ("mixdown", "device", "binaural", "reference", "ab")
FORMATS = ("wav", "flac", "aiff")
#: The latest a stem may start (24 h), and the most stems (and buses) a session may have.
MAX_OFFSET_S = 86_400.0
MAX_STEMS = 10_000
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
    pan: float = 0.0
    mute: bool = False
    solo: bool = False

    @property
    def pan_gains(self) -> tuple[float, float]:
        """The left and right gains of ``pan`` (-1 hard left .. +1 hard right), by the balance law: the side panned
        towards stays at unity, the other falls linearly to silence. 0 is both at unity, as a stem with no pan
        (mono on both sides), and a split stereo pair's halves at -1 and +1 give back the stereo file."""
        return min(1.0, 1.0 - self.pan), min(1.0, 1.0 + self.pan)


@dataclass(frozen=True)
class Bus:
    """A group of stems summed and run through a chain."""

    name: str
    chain: str | None = None
    mute: bool = False
    solo: bool = False


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
    head_track: str | None = None
    hrtf: tuple[str, ...] = ()
    #: Seconds rendered after the last stem ends, for the chains' tails.
    tail_s: float = 0.0

    @property
    def folder(self) -> Path:
        """The folder paths in the session are relative to."""
        return self.file.resolve().parent

    def resolve(self, relative: str) -> Path:
        """A path from the session file, made absolute (:func:`~soundstage.files.referenced_path`: one written on
        Windows, ``stems\\kick.wav``, is found too)."""
        return referenced_path(relative, self.folder)


def _fail(file: Path, key: str, message: str) -> SessionError:
    return SessionError(f"{file}: {key}: {message}")


Name = Annotated[str, Field(min_length=1, max_length=200)]
#: Seconds rendered after the audio's end for the chains' tails (a session's, a job list's, an item's).
Tail = Annotated[float, Field(ge=0.0, le=MAX_TAIL_S)]
Reference = Annotated[str, Field(min_length=1, max_length=4096)]  # a file path or a preset name


class StemTable(Table):
    """``[[stems]]``: one exported stem."""

    path: Reference
    name: Name | None = None
    gain_db: Annotated[float, Field(ge=-120.0, le=48.0)] = 0.0
    pan: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.0
    offset_s: Annotated[float, Field(le=MAX_OFFSET_S)] | None = None
    chain: Reference | None = None
    bus: Name | None = None
    mute: bool = False
    solo: bool = False


class BusTable(Table):
    """``[[buses]]``: a group of stems through a chain."""

    name: Name
    chain: Reference | None = None
    mute: bool = False
    solo: bool = False


class MasterTable(Table):
    """``[master]``."""

    chain: Reference | None = None


class MidiTable(Table):
    """``[midi]``: a map and the MIDI file that automates the render."""

    map: Reference
    automation: Reference
    channels: Annotated[list[Annotated[int, Field(ge=1, le=16)]], Field(max_length=16)] | None = None
    tracks: Annotated[list[Annotated[int, Field(ge=0, le=65535)]], Field(max_length=1024)] | None = None


class RenderTable(Table):
    """``[[renders]]``: one output of the session."""

    name: Name | None = None
    kind: Literal["mixdown", "device", "binaural", "reference", "ab"] = "mixdown"
    chain: Reference | None = None
    a: Reference | None = None
    b: Reference | None = None
    format: Literal["wav", "flac", "aiff"] = "wav"
    bit_depth: Literal[16, 24, 32] = 24  # what each format holds is the output layer's check, per render
    per_driver: bool = False
    ceiling_dbtp: Annotated[float, Field(ge=-60.0, le=0.0)] | None = None


def _whole_hz(rate: float) -> float:
    if rate != int(rate):  # 48000.5: no file holds it, and the render would say so only at its end
        raise ValueError("a whole number of Hz, as audio files hold (e.g. 48000)")
    return rate


#: The keys of a ``[[renders]]`` table that only some kinds use, and those kinds (a key another kind would ignore).
_RENDER_KEYS_BY_KIND = {
    "chain": ("device", "binaural", "reference"),
    "a": ("ab",),
    "b": ("ab",),
    "per_driver": ("device",),
    "ceiling_dbtp": ("ab",),
}


def _check_render_keys(render: RenderTable, file: Path, where: str) -> None:
    """A key the render's kind does not use is refused (a mixdown's chain was ignored, in silence)."""
    unused = unused_key(render, render.kind, _RENDER_KEYS_BY_KIND)
    if unused:
        key, kinds = unused
        allowed = " or ".join(repr(kind) for kind in kinds)
        where_else = "; a chain on the mix goes in [master]" if key == "chain" and render.kind == "mixdown" else ""
        raise _fail(file, f"{where}.{key}", f"{key} applies to kind = {allowed} renders only, not {render.kind!r}{where_else}")


class SessionFile(Table):
    """A whole session file."""

    format: Literal[1] = 1
    description: Annotated[str, Field(max_length=10_000)] | None = None
    sample_rate: Annotated[float, Field(ge=8000.0, le=384000.0), AfterValidator(_whole_hz)] | None = None
    tail_s: Tail = 0.0
    stems: Annotated[list[StemTable], Field(min_length=1, max_length=MAX_STEMS)]
    buses: Annotated[list[BusTable], Field(max_length=MAX_STEMS)] = []
    master: MasterTable = MasterTable()
    midi: MidiTable | None = None
    head_track: Reference | None = None
    hrtf: Reference | Annotated[list[Reference], Field(min_length=1, max_length=100)] | None = None
    renders: Annotated[list[RenderTable], Field(max_length=1000)] = []


#: The session file a folder given for a session stands for (what ``soundstage demo`` writes).
SESSION_FILE_NAME = "session.toml"


def daw_project_words(file: Path, *, folder: bool = True) -> str | None:
    """The end of an error for a DAW's project given for a session file or a folder of stems (``" is a REAPER
    project, which ..."``), or, with ``folder``, for a folder holding one at its top and no session file (the
    project's folder); None for anything else. soundstage reads no DAW's project: the DAW renders its tracks (with
    their edits, fades, plugins and automation) as stems, and ``session new`` writes a session for them."""
    project, inside = daw_project(file), ""
    if project is None and folder and file.is_dir() and not any(file.glob("*.toml")):
        found = next((entry for entry in sorted(file.iterdir()) if daw_project(entry) is not None), None)
        if found is None:
            return None
        project, inside = daw_project(found), f" the folder of {found.name!r},"
    if project is None:
        return None
    what, export = project
    return (
        f" is{inside} {what}, which soundstage does not read; export its tracks as stems ({export}), "
        "then write a session for them: soundstage session new STEMS/"
    )


def session_file(path: str | Path) -> Path:
    """The session file ``path`` names: itself, or for a folder holding a :data:`SESSION_FILE_NAME`, that file."""
    file = on_disk(Path(path))
    return file / SESSION_FILE_NAME if file.is_dir() and (file / SESSION_FILE_NAME).is_file() else file


def _has_audio(folder: Path) -> bool:
    try:
        return bool(audio_files(folder)[0])
    except OSError:  # unreadable: read_toml says so
        return False


def _warn_of_empty_buses(file: Path, buses: list[Bus], stems: list[Stem]) -> None:
    """A warning for each bus no stem is sent to: kept, as a DAW keeps an empty bus, but its chain runs on nothing."""
    for index, bus in enumerate(buses):
        if not any(stem.bus == bus.name for stem in stems):
            warnings.warn(
                f"{file}: buses[{index}] ({bus.name!r}): no stem is sent to it, so it is silent"
                + (f" and its chain {bus.chain!r} does nothing" if bus.chain else "")
                + f'; send stems with bus = "{bus.name}" in their [[stems]] table',
                stacklevel=3,
            )


def chain_path(folder: Path, name: str) -> Path:
    """The chain file a session's ``chain``, ``a`` or ``b`` names: a file from the session's ``folder`` (a name
    with a ``/``, a ``.toml`` suffix, or that is there), else the preset of that name.

    Raises
    ------
    ChainFileError
        For a name that is neither (:func:`~soundstage.host.chainfile.find_chain`'s message).
    """
    candidate = referenced_path(name, folder)
    if candidate.exists() or name.endswith(".toml") or "/" in name:
        return candidate
    return find_chain(name)


def _one_chain(folder: Path, a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` name one chain: one file, or files of the same text (a preset and its copy). A name
    that reads as no file is not judged here: the render says it."""
    try:
        return chain_path(folder, a).read_bytes() == chain_path(folder, b).read_bytes()
    except (SoundstageError, OSError):
        return False


def _warn_of_ab_against_itself(file: Path, renders: list[Render], *, automated: bool) -> None:
    """A warning for an A/B whose two sides are one chain, with no automation that could set them apart."""
    if automated:  # renders.NAME.a.PATH / .b.PATH may move the sides apart
        return
    for index, render in enumerate(renders):
        if render.kind == "ab" and render.a and render.b and _one_chain(file.resolve().parent, render.a, render.b):
            same = repr(render.a) if render.a == render.b else f"{render.a!r} and {render.b!r}"
            warnings.warn(
                f"{file}: renders[{index}] ({render.name!r}): a and b are the same chain ({same}), so the A/B "
                "compares the render with itself; give b the chain to compare a with (by default a = "
                '"stereo-reference", b = "studio-5-binaural")',
                stacklevel=3,
            )


def _check_is_a_session(file: Path) -> None:
    """Refuse what people give for a session file that is none, before it is read as TOML: a DAW's project, or a
    folder of stems with no session file yet."""
    if (project := daw_project_words(file)) is not None:
        raise SessionError(f"session file {str(file)!r}{project}")
    if file.is_dir() and not any(file.glob("*.toml")) and _has_audio(file):  # a folder of stems, no session yet
        raise SessionError(
            f"session file {str(file)!r} is a folder of stems with no {SESSION_FILE_NAME}; write one first: "
            f"soundstage session new {shlex.quote(str(file))}"
        )


def load_session(path: str | Path) -> Session:
    """Read and validate a session file (or the :data:`SESSION_FILE_NAME` in a folder given for it).

    Types, ranges and bounds of every key come from :class:`SessionFile` (the
    schema layer); what refers across tables (names used twice, a bus that is
    not defined, a ceiling on a render that is not an A/B) is checked here.

    Raises
    ------
    SessionError
        Naming the file, the key (``stems[2].offset_s``) and the value.
    """
    file = session_file(path)
    _check_is_a_session(file)
    data = validate(SessionFile, read_toml(file, SessionError, "session file"), file=str(file), error=SessionError)
    buses: list[Bus] = []
    for index, bus in enumerate(data.buses):
        if bus.name in [b.name for b in buses]:
            raise _fail(file, f"buses[{index}].name", f"bus name {bus.name!r} is used twice")
        buses.append(Bus(bus.name, bus.chain, bus.mute, bus.solo))
    bus_names = [b.name for b in buses]
    stems: list[Stem] = []
    for index, table in enumerate(data.stems):
        where = f"stems[{index}]"
        name = table.name or PureWindowsPath(table.path).stem  # the file's name whichever separators it was written with
        if name in [s.name for s in stems]:
            raise _fail(file, f"{where}.name", f'stem name {name!r} is used twice; give each stem a unique name = "..."')
        if table.offset_s is not None and table.offset_s < 0:
            raise _fail(
                file, f"{where}.offset_s", f"offset_s = {table.offset_s:g} is negative; a stem cannot start before the timeline"
            )
        if table.bus is not None and table.bus not in bus_names:
            raise _fail(file, f"{where}.bus", f"bus = {table.bus!r} is not defined (buses: {', '.join(bus_names) or 'none'})")
        stems.append(
            Stem(Path(table.path), name, table.gain_db, table.offset_s, table.chain, table.bus, table.pan, table.mute, table.solo)
        )
    _warn_of_empty_buses(file, buses, stems)
    settings = None
    if data.midi is not None:
        midi = data.midi
        channels = None if midi.channels is None else tuple(midi.channels)
        settings = MidiSettings(midi.map, midi.automation, channels, None if midi.tracks is None else tuple(midi.tracks))
    renders: list[Render] = []
    for index, render in enumerate(data.renders or [RenderTable(name="mixdown")]):
        where = f"renders[{index}]"
        name = render.name or render.kind
        try:
            output_name(Path("."), name, what="render")
        except OutputError as error:
            raise _fail(file, f"{where}.name", str(error)) from None
        if name in [r.name for r in renders]:
            raise _fail(file, f"{where}.name", f"render name {name!r} is used twice")
        _check_render_keys(render, file, where)
        ab = render.kind == "ab"
        renders.append(
            Render(
                name,
                render.kind,
                render.chain or DEFAULT_CHAINS.get(render.kind),
                render.a or ("stereo-reference" if ab else None),
                render.b or ("studio-5-binaural" if ab else None),
                render.format,
                render.bit_depth,
                render.per_driver,
                -1.0 if render.ceiling_dbtp is None else render.ceiling_dbtp,
            )
        )
    _warn_of_ab_against_itself(file, renders, automated=settings is not None or data.head_track is not None)
    return Session(
        file=file,
        sample_rate=data.sample_rate,
        stems=tuple(stems),
        buses=tuple(buses),
        master_chain=data.master.chain,
        renders=tuple(renders),
        midi=settings,
        head_track=data.head_track,
        hrtf=() if data.hrtf is None else ((data.hrtf,) if isinstance(data.hrtf, str) else tuple(data.hrtf)),
        tail_s=data.tail_s,
    )
