"""Head tracking: the listener's yaw and position drive the chain, live over OSC or offline from a CSV file.

A pose sets every listener parameter of a chain: ``listener_yaw_deg`` (the
canceller's and the Spatializer's design, the binaural monitors' head),
``listener_x_m`` and ``listener_y_m`` (the design's seat) and ``listener_offset_m``
(a monitor's sideways offset, from ``y``). Values are held inside each
parameter's range. Yaw is in degrees, positive turning left (counter-clockwise
seen from above, the SOFA convention soundstage uses); ``yaw_sign = -1`` turns a
tracker that counts clockwise around.

**Live** (:class:`HeadTracker`): OSC over UDP on a thread of its own; the audio
loop applies the latest pose before a block (the last value wins). The OSC
messages understood, by the end of their address, so a prefix is free:

- ``.../ypr yaw pitch roll`` (degrees; IEM SceneRotator's ``/SceneRotator/ypr``,
  and the yaw/pitch/roll output of common head-tracker apps),
- ``.../yaw yaw``,
- ``.../quaternion w x y z`` or ``.../quaternions`` or ``.../quat`` (IEM
  SceneRotator's ``/SceneRotator/quaternions``; the yaw about +z is taken),
- ``.../xyz x y z`` or ``.../position x y [z]`` (meters, +x toward the device, +y left).

A packet that is not OSC, or a known message with wrong arguments, is counted
(``malformed``) and dropped; other addresses are counted (``ignored``); nothing
raises into the audio loop. A pose that redesigns filters is applied at most once
per ``COST_SPACING`` times its cost, like a MIDI knob.

**Offline** (:func:`read_head_track`): a CSV file with a header naming
``time_s`` (or ``time_ms``) and ``yaw_deg`` and, if wanted, ``x_m`` and ``y_m``; each row becomes
automation of the chain's listener parameters at its sample. Commas, semicolons
or tabs separate the columns (the header says which); between semicolons or
tabs a decimal comma is read too, as spreadsheets in many locales export.
"""

from __future__ import annotations

import csv
import logging
import math
import socket
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pythonosc.osc_packet import OscPacket, ParseError

from soundstage.errors import SoundstageError
from soundstage.files import missing_hint, on_disk
from soundstage.host.automation import AutomationEvent
from soundstage.host.parameters import Parameter
from soundstage.host.prefetch import DesignWorker
from soundstage.midi.live import COST_SPACING, COSTLY_S
from soundstage.signatures import HEAD_BYTES, file_kind
from soundstage.tomlfile import not_text

__all__ = [
    "POSE_PARAMETERS",
    "HeadTrackError",
    "HeadTracker",
    "pose_from_osc",
    "pose_targets",
    "read_head_track",
]

LOG = logging.getLogger("soundstage.headtrack")

#: Listener parameter name -> the pose field that sets it.
POSE_PARAMETERS = {"listener_yaw_deg": "yaw_deg", "listener_x_m": "x_m", "listener_y_m": "y_m", "listener_offset_m": "y_m"}


class HeadTrackError(SoundstageError):
    """A head-track file or tracker setting that cannot be used."""


def pose_targets(parameters: Mapping[str, Parameter]) -> dict[str, str]:
    """Parameter path -> pose field, for every listener parameter in a chain's parameter tree."""
    return {path: POSE_PARAMETERS[path.rsplit(".", 1)[-1]] for path in parameters if path.rsplit(".", 1)[-1] in POSE_PARAMETERS}


def _numbers(arguments: list[Any], count: int) -> list[float] | None:
    if len(arguments) < count:
        return None
    values = arguments[:count]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        return None
    return [float(v) for v in values]


def pose_from_osc(address: str, arguments: list[Any]) -> dict[str, float] | None:
    """The pose fields an OSC message sets; ``{}`` for an address it does not know, ``None`` for bad arguments."""
    name = address.rstrip("/").rsplit("/", 1)[-1].lower()
    if name in ("ypr", "yaw"):
        values = _numbers(arguments, 3 if name == "ypr" else 1)
        return None if values is None else {"yaw_deg": values[0]}
    if name in ("quaternion", "quaternions", "quat"):
        values = _numbers(arguments, 4)
        if values is None:
            return None
        w, x, y, z = values
        norm = math.sqrt(w * w + x * x + y * y + z * z)
        if norm < 1e-9:
            return None
        w, x, y, z = (v / norm for v in values)
        return {"yaw_deg": math.degrees(math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))}
    if name in ("xyz", "position"):
        values = _numbers(arguments, 2)
        return None if values is None else {"x_m": values[0], "y_m": values[1]}
    return {}


def _messages(packet: OscPacket) -> list[tuple[str, list[Any]]]:
    return [(timed.message.address, list(timed.message.params)) for timed in packet.messages]


class HeadTracker:
    """Listen for OSC head-tracker messages on UDP and apply the latest pose to a chain (see the module docstring).

    Parameters
    ----------
    parameters : mapping of path -> Parameter
        The chain's parameter tree (``chain.parameters``).
    port : int
        UDP port (0: any free one; see :attr:`address`).
    host : str
        Address to listen on (default the loopback).
    yaw_sign : float
        ``-1`` for a tracker whose yaw counts clockwise.
    worker : DesignWorker, optional
        Designs costly changes off the audio thread (:mod:`soundstage.host.prefetch`).
    """

    def __init__(
        self,
        parameters: Mapping[str, Parameter],
        port: int,
        *,
        host: str = "127.0.0.1",
        yaw_sign: float = 1.0,
        worker: DesignWorker | None = None,
    ) -> None:
        self.parameters = parameters
        #: Designs the changes that redesign filters off the audio thread (optional).
        self.worker = worker
        self._pending: dict[str, float] = {}
        self.targets = pose_targets(parameters)
        if not self.targets:
            raise HeadTrackError(
                "the chain has no listener parameters (listener_yaw_deg, listener_x_m, listener_y_m, listener_offset_m) "
                "for a head tracker to move; use a chain with a Spatializer, CrosstalkCanceller or BinauralMonitor"
            )
        self.yaw_sign = yaw_sign
        self.received = 0
        self.malformed = 0
        self.ignored = 0
        self.errors = 0
        self.applied = 0
        self._latest: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._socket.bind((host, port))
        except OSError as error:
            self._socket.close()
            raise HeadTrackError(
                f"head tracker: cannot listen on udp {host}:{port} ({error.strerror}); choose another port"
            ) from None
        self._socket.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="soundstage-headtrack", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) the tracker listens on."""
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> HeadTracker:
        """Start listening on the tracker's thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close the socket (also for a tracker never started)."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=2.0)
        self._socket.close()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self._socket.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.received += 1
            try:
                self.feed(data)
            except Exception as error:  # never let a packet stop the thread
                self.malformed += 1
                LOG.warning("head tracker: %s", error)

    def feed(self, data: bytes) -> None:
        """Take one UDP packet (what the thread does with each; public for tests and other transports)."""
        try:
            messages = _messages(OscPacket(data))
        except (ParseError, ValueError, IndexError, TypeError) as error:
            self.malformed += 1
            LOG.debug("head tracker: not OSC (%s)", error)
            return
        for address, arguments in messages:
            pose = pose_from_osc(address, arguments)
            if pose is None:
                self.malformed += 1
            elif not pose:
                self.ignored += 1
            else:
                if "yaw_deg" in pose:
                    pose["yaw_deg"] *= self.yaw_sign
                with self._lock:
                    self._latest.update(pose)

    def apply_pending(self, *, everything: bool = False) -> dict[str, Any]:
        """Set the listener parameters from the latest pose (audio-loop side); the values set, by path.

        With a :attr:`worker`, a change that redesigns filters waits until the worker
        has designed it (a newer pose replaces it); ``everything`` applies all that waits.
        """
        with self._lock:
            pose, self._latest = self._latest, {}
        for path, field in self.targets.items():
            if field in pose:
                spec = self.parameters[path].spec
                self._pending[path] = min(max(pose[field], float(spec.minimum)), float(spec.maximum))
        if not everything and time.perf_counter() < self._next_slot:
            return {}
        applied: dict[str, Any] = {}
        began = time.perf_counter()
        for path, wanted in list(self._pending.items()):
            value: Any = wanted
            if self.worker is not None and self.worker.costly(path) and not everything:
                value = self.worker.offer(path, wanted)  # the newest value whose design is ready, or None
                if value is None:
                    continue  # being designed off the audio thread
            if value == wanted:
                del self._pending[path]
            try:
                self.parameters[path].value = value
            except Exception as error:  # a parameter refusing: count, keep running
                self.errors += 1
                LOG.warning("head tracker -> %s: %s", path, error)
                continue
            applied[path] = value
        cost = time.perf_counter() - began
        if cost > COSTLY_S:
            self._next_slot = began + COST_SPACING * cost
        self.applied += len(applied)
        return applied


#: Samples a head track's times may reach (a year at 192 kHz is 6e12): beyond, a time is a mistake, not a pose.
_LAST_SAMPLE = 2.0**53
#: A head track's time columns: their units per second and the word for them (seconds, or the milliseconds trackers log).
_CLOCKS = {"time_s": (1.0, "seconds"), "time_ms": (1000.0, "milliseconds")}


def _delimiter(header: str) -> str:
    """The separator a head track's header is written with: the first of comma, semicolon and tab that gives both
    a time (``time_s`` or ``time_ms``) and ``yaw_deg`` as column names (a comma when none does: the error then shows
    the header as read)."""
    for candidate in (",", ";", "\t"):
        names = {name.strip().strip('"').lower() for name in header.split(candidate)}
        if "yaw_deg" in names and names & _CLOCKS.keys():
            return candidate
    return ","


def _text(file: Path) -> str:
    try:
        data = file.read_bytes()
        kind = file_kind(data[:HEAD_BYTES])
        if kind is not None:  # an audio or MIDI file given for the head track
            raise HeadTrackError(
                f"{file}: {kind.name}, not a head track; a head track is a CSV with a header of time_s, yaw_deg "
                "(and x_m, y_m), as a spreadsheet exports it"
            )
        return data.decode("utf-8-sig")  # whole: a position in the error is the file's
    except UnicodeDecodeError as error:
        raise HeadTrackError(
            f"{file}: not a text file ({not_text(error)}); a head track is a CSV with a header of time_s, yaw_deg "
            "(and x_m, y_m), as a spreadsheet exports it"
        ) from None
    except OSError as error:
        hint = missing_hint(file) if isinstance(error, FileNotFoundError) else ""
        raise HeadTrackError(f"{file}: cannot read the head track ({error.strerror or error}){hint}") from None


def _row_numbers(row: Mapping[str, str | None], columns: list[str], delimiter: str, where: str) -> dict[str, float]:
    """A head track row's values of ``columns``, each a finite number; a decimal comma is read between semicolons or
    tabs (a spreadsheet's export in many locales)."""
    values: dict[str, float] = {}
    for column in columns:
        raw = (row.get(column) or "").strip()
        try:
            value = float(raw.replace(",", ".", 1) if delimiter != "," and raw.count(",") == 1 else raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise HeadTrackError(f"{where}: {column} = {raw!r} is not a number; write it in decimal (e.g. 12.5)")
        values[column] = value
    return values


def read_head_track(path: str | Path, parameters: Mapping[str, Parameter], sample_rate: float) -> list[AutomationEvent]:
    """A recorded head trajectory (CSV: ``time_s`` or ``time_ms``, ``yaw_deg``, optional ``x_m``, ``y_m``) as
    automation events.

    Raises
    ------
    HeadTrackError
        One line naming the file, the line, the column and the value, and the fix.
    """
    file = on_disk(Path(path))
    targets = pose_targets(parameters)
    if not targets:
        raise HeadTrackError(
            f"{file}: the chain has no listener parameters for a head track to move; "
            "use a chain with a Spatializer, CrosstalkCanceller or BinauralMonitor"
        )
    lines = _text(file).splitlines()
    delimiter = _delimiter(lines[0] if lines else "")
    rows = csv.DictReader(lines, delimiter=delimiter)
    columns = [c.strip().lower() for c in rows.fieldnames or []]  # "Time_s", as a spreadsheet capitalizes it
    clock = next((c for c in _CLOCKS if c in columns), None)  # seconds, or a tracker's milliseconds
    if clock is None or "yaw_deg" not in columns:
        raise HeadTrackError(
            f"{file}: line 1: a head track needs a header with time_s (or time_ms) and yaw_deg (and x_m, y_m if "
            f"wanted), separated by commas, semicolons or tabs; got {columns}"
        )
    per_second, unit = _CLOCKS[clock]
    fields = [c for c in ("yaw_deg", "x_m", "y_m") if c in columns]
    unused = [c for c in columns if c and c not in (clock, *fields)]
    if unused:  # a tracker's pitch_deg and roll_deg, a frame counter: said, as a key a file gives and nothing reads
        warnings.warn(
            f"{file}: column(s) {', '.join(unused)} not used: a head track moves the listener by {clock}, yaw_deg, "
            "x_m and y_m (the designs keep the head level)",
            stacklevel=2,
        )
    events: list[AutomationEvent] = []
    held: dict[str, dict[int, None]] = {}  # per column, the lines whose value is beyond the chain's range (in order)
    last = -math.inf
    for raw_row in rows:
        number = rows.line_num  # the file's line: blank lines are skipped by the reader, and counted here
        row = {(key or "").strip().lower(): value for key, value in raw_row.items()}  # "time_s, yaw_deg": as stripped
        if not any(isinstance(value, str) and value.strip() for value in row.values()):
            continue  # ",,": a row a spreadsheet exports for cells formatted but left empty
        values = _row_numbers(row, [clock, *fields], delimiter, f"{file}: line {number}")
        if values[clock] < 0 or values[clock] < last:
            raise HeadTrackError(
                f"{file}: line {number}: {clock} = {values[clock]:g} goes back in time; sort the rows by time, from 0"
            )
        if not values[clock] / per_second * sample_rate < _LAST_SAMPLE:
            raise HeadTrackError(
                f"{file}: line {number}: {clock} = {values[clock]:g} is past the end of any session; "
                f"times are {unit} from the start (e.g. 12.5)"
            )
        last = values[clock]
        sample = round(values[clock] / per_second * sample_rate)
        for target, field in targets.items():
            if field in values:
                spec = parameters[target].spec
                value = min(max(values[field], float(spec.minimum)), float(spec.maximum))
                if value != values[field]:  # a line counted once however many stages its column moves
                    held.setdefault(field, {})[number] = None
                events.append(AutomationEvent(sample, target, value))
    for field, numbers in held.items():
        spec = next(parameters[t].spec for t, f in targets.items() if f == field)
        warnings.warn(
            f"{file}: {field} beyond the chain's {spec.minimum:g}..{spec.maximum:g} {spec.unit} on {len(numbers)} line(s) "
            f"(first: line {next(iter(numbers))}); held at the limit",
            stacklevel=2,
        )
    return events
