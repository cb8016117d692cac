"""Device profiles: where a device stands and where its drivers are, from data files.

Profiles are TOML files shipped in ``soundstage/acoustics/devices/`` (see
``studio-5.toml`` for the schema, with comments); users can load their own by
path. Loading validates every key and names the file, key and value on error.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from soundstage.acoustics.geometry import direction, rotation_z
from soundstage.errors import SoundstageError
from soundstage.files import missing_hint, on_disk
from soundstage.schema import Table, validate
from soundstage.tomlfile import read_toml

__all__ = ["DeviceProfile", "Driver", "Listener", "ProfileError", "device_setting", "known_profiles", "load_profile"]

PROFILE_DIR = Path(__file__).resolve().parent / "devices"
ROLES = ("woofer", "mid", "tweeter")
DIRECTIVITIES = ("omni", "piston")


class ProfileError(SoundstageError, ValueError):
    """A device profile is unknown or malformed, or a listener position is impossible."""


@dataclass(frozen=True)
class Driver:
    """One driver of a device.

    Attributes
    ----------
    name : str
        Listener's-view name ('mid_left' is on the listener's left).
    role : {"woofer", "mid", "tweeter"}
        Which band it plays.
    band_hz : (float, float)
        Crossover points, Hz.
    directivity : {"omni", "piston"}
        Radiation model: omnidirectional, or a rigid piston in an infinite baffle.
    radius_m : float
        Piston radius.
    position_m, direction : ndarray or None
        Device-local position and firing direction (unit), or None for a driver
        placed by ``azimuth_deg`` on the listener circle, aimed at the listener.
    azimuth_deg : float or None
        Listener-anchored placement.
    beam_band_hz : (float, float) or None
        Where the driver can take part in the center beam, Hz. Midranges take part
        in their whole band unless this says otherwise; a woofer or tweeter takes
        part only where this is given (the band it can play beyond its crossover).
    """

    name: str
    role: str
    band_hz: tuple[float, float]
    directivity: str = "omni"
    radius_m: float = 0.0
    position_m: np.ndarray | None = field(default=None, compare=False)
    direction: np.ndarray | None = field(default=None, compare=False)
    azimuth_deg: float | None = None
    beam_band_hz: tuple[float, float] | None = None

    @property
    def beam_band(self) -> tuple[float, float] | None:
        """The band in which the driver joins the center beam (None: it does not)."""
        if self.beam_band_hz is not None:
            return self.beam_band_hz
        return self.band_hz if self.role == "mid" else None


@dataclass(frozen=True)
class Listener:
    """Where the listener's head is and where it faces (world coordinates).

    ``position_m`` is the center of the head; ``yaw_deg`` turns the head
    counter-clockwise (positive: towards the left).
    """

    position_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    yaw_deg: float = 0.0


@dataclass(frozen=True)
class ListeningRegion:
    """The seats around the nominal one a design should hold for: head yaw and position offsets.

    ``positions()`` is the grid of every combination of ``-x, 0, +x`` per
    dimension (27 seats by default; a zero extent collapses its dimension), the
    nominal seat first.
    """

    yaw_deg: float = 5.0
    lateral_m: float = 0.05
    fore_aft_m: float = 0.05

    def positions(self, center: Listener | None = None) -> list[Listener]:
        """Every seat of the region around ``center`` (default: the nominal seat), the center first."""
        seat = center or Listener()
        x0, y0, z0 = seat.position_m

        def steps(extent: float) -> tuple[float, ...]:
            return (0.0, -extent, extent) if extent > 0 else (0.0,)

        return [
            Listener(position_m=(x0 + dx, y0 + dy, z0), yaw_deg=seat.yaw_deg + dyaw)
            for dyaw in steps(self.yaw_deg)
            for dy in steps(self.lateral_m)
            for dx in steps(self.fore_aft_m)
        ]

    def describe(self) -> str:
        """The region as a phrase, e.g. ``+-5 deg yaw, +-5 cm lateral, +-5 cm fore-aft``."""
        parts = [f"+-{self.yaw_deg:g} deg yaw"] if self.yaw_deg > 0 else []
        parts += [f"+-{100 * self.lateral_m:g} cm lateral"] if self.lateral_m > 0 else []
        parts += [f"+-{100 * self.fore_aft_m:g} cm fore-aft"] if self.fore_aft_m > 0 else []
        return ", ".join(parts) or "the nominal seat only"


@dataclass(frozen=True)
class DeviceProfile:
    """A device: its placement relative to the listener and its drivers."""

    name: str
    description: str
    drivers: tuple[Driver, ...]
    distance_m: float = 2.0
    height_m: float = 0.0
    yaw_deg: float = 180.0
    radius_m: float = 0.0
    source: str = "<built-in>"

    @property
    def driver_names(self) -> list[str]:
        """Names of the drivers, in feed order."""
        return [driver.name for driver in self.drivers]

    def at_distance(self, distance_m: float) -> DeviceProfile:
        """The same device at another listener distance (meters)."""
        if not distance_m > 0:
            raise ProfileError(f"{self.name}: distance_m={distance_m!r} must be > 0")
        return dataclasses.replace(self, distance_m=float(distance_m))

    @property
    def center_m(self) -> np.ndarray:
        """World position of the device center."""
        return np.array([self.distance_m, 0.0, self.height_m])

    def world_positions(self) -> np.ndarray:
        """World positions of the drivers, shape (drivers, 3)."""
        turn = rotation_z(self.yaw_deg)
        rows = []
        for driver in self.drivers:
            if driver.azimuth_deg is not None:
                rows.append(self.distance_m * direction(driver.azimuth_deg) + np.array([0.0, 0.0, self.height_m]))
            else:
                assert driver.position_m is not None
                rows.append(self.center_m + turn @ driver.position_m)
        return np.array(rows)

    def world_directions(self) -> np.ndarray:
        """World firing directions of the drivers (unit), shape (drivers, 3)."""
        turn = rotation_z(self.yaw_deg)
        rows = []
        for driver, position in zip(self.drivers, self.world_positions()):
            if driver.azimuth_deg is not None:
                rows.append(-position / np.linalg.norm(position))
            else:
                assert driver.direction is not None
                rows.append(turn @ driver.direction)
        return np.array(rows)

    def indices(self, role: str) -> list[int]:
        """Indices of the drivers with a role ('woofer', 'mid', 'tweeter')."""
        return [i for i, driver in enumerate(self.drivers) if driver.role == role]

    def beam_indices(self) -> list[int]:
        """Indices of the drivers that take part in the center beam (see ``Driver.beam_band``)."""
        return [i for i, driver in enumerate(self.drivers) if driver.beam_band is not None]

    def check_listener(self, listener: Listener, head_radius_m: float) -> None:
        """Raise ProfileError if the listener's head would overlap the device."""
        center = np.asarray(listener.position_m, dtype=float)
        if self.radius_m > 0:
            gap = float(np.linalg.norm(self.center_m - center))
            if gap < self.radius_m + head_radius_m:
                raise ProfileError(
                    f"{self.name}: the listener at {tuple(listener.position_m)} m is inside the device "
                    f"(centers {gap:.3f} m apart, device radius {self.radius_m} m + head radius {head_radius_m} m); "
                    "move the listener further away"
                )
        for name, position in zip(self.driver_names, self.world_positions()):
            if float(np.linalg.norm(position - center)) < head_radius_m * 1.5:
                raise ProfileError(f"{self.name}: driver {name!r} is inside or touching the listener's head; move the listener")


def known_profiles() -> list[str]:
    """Names of the profiles shipped with soundstage."""
    return sorted(path.stem for path in PROFILE_DIR.glob("*.toml"))


def device_setting(value: str | os.PathLike[str]) -> str:
    """A stage's ``device`` as it keeps it: a path given as a :class:`pathlib.Path` (any ``os.PathLike``) as its
    text, so the stage saves into a chain file and compares as the same name would; anything else as given
    (:func:`load_profile` checks it)."""
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def load_profile(name_or_path: str | Path, *, distance_m: float | None = None) -> DeviceProfile:
    """Load a shipped profile by name (``"studio-5"``) or a profile file by path.

    Parameters
    ----------
    name_or_path : str or Path
        A name from :func:`known_profiles`, or a ``.toml`` file.
    distance_m : float, optional
        Listener distance overriding the profile's default.

    Raises
    ------
    ProfileError
        For an unknown name (listing the known ones) or a malformed file (naming
        the file, the key and the value).
    """
    candidate = on_disk(Path(os.path.expanduser(name_or_path)))
    if candidate.suffix == ".toml" or candidate.exists():
        file = candidate
        if not file.is_file():
            raise ProfileError(f"device profile file {str(file)!r} does not exist{missing_hint(file)}")
    else:
        file = PROFILE_DIR / f"{name_or_path}.toml"
        if not file.is_file():
            close = difflib.get_close_matches(str(name_or_path), known_profiles(), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ProfileError(f"unknown device {str(name_or_path)!r}{hint} (known devices: {', '.join(known_profiles())})")
        profile = _shipped(str(name_or_path))
        return profile.at_distance(distance_m) if distance_m is not None else profile
    profile = _parse(read_toml(file, ProfileError, "device profile file"), str(file))
    return profile.at_distance(distance_m) if distance_m is not None else profile


@functools.cache
def _shipped(name: str) -> DeviceProfile:
    """A profile shipped with soundstage, parsed once (a design per head position asks for the stereo pair's)."""
    file = PROFILE_DIR / f"{name}.toml"
    return _parse(read_toml(file, ProfileError, "device profile file"), str(file))


def _fail(file: str, key: str, message: str) -> ProfileError:
    return ProfileError(f"{file}: {key}: {message}")


Meters = Annotated[float, Field(ge=-100.0, le=100.0)]
Hz = Annotated[float, Field(gt=0.0, le=1e6)]
Vector = Annotated[list[Meters], Field(min_length=3, max_length=3)]
Band = Annotated[list[Hz], Field(min_length=2, max_length=2)]


class DeviceTable(Table):
    """``[device]``: where the device stands."""

    distance_m: Annotated[float, Field(gt=0.0, le=100.0)] = 2.0
    height_m: Meters = 0.0
    yaw_deg: Annotated[float, Field(ge=-360.0, le=360.0)] = 180.0
    radius_m: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0


#: A driver of one device is within this far of its center (a long soundbar's ends are 0.7 m out), and a piston
#: this large at most (an 18-inch woofer is 0.23 m): beyond, the profile is in millimeters, not meters.
MAX_DRIVER_OFFSET_M = 2.0
MAX_DRIVER_RADIUS_M = 0.5


class DriverTable(Table):
    """``[[drivers]]``: one driver, placed by position + direction or by azimuth."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Literal["woofer", "mid", "tweeter"] = "mid"
    position_m: Vector | None = None
    direction: Vector | None = None
    azimuth_deg: Annotated[float, Field(ge=-360.0, le=360.0)] | None = None
    band_hz: Band = [20.0, 20000.0]
    beam_band_hz: Band | None = None
    directivity: Literal["omni", "piston"] = "omni"
    radius_m: Annotated[float, Field(ge=0.0, le=1000.0)] = 0.0  # at most MAX_DRIVER_RADIUS_M: said with the units


class ProfileFile(Table):
    """A whole device profile file."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=10_000)] = ""
    device: DeviceTable = DeviceTable()
    drivers: Annotated[list[DriverTable], Field(min_length=1, max_length=256)]


def _band(band: list[float] | None, key: str, file: str) -> tuple[float, float] | None:
    if band is None:
        return None
    if not band[0] < band[1]:
        raise _fail(file, key, f"{key.rsplit('.', 1)[-1]} = {band!r} must be [low, high] in Hz with 0 < low < high")
    return (float(band[0]), float(band[1]))


def _parse(data: dict[str, Any], file: str) -> DeviceProfile:
    """A profile from parsed TOML: types and bounds from :class:`ProfileFile`, cross-checks here."""
    checked = validate(ProfileFile, data, file=file, error=ProfileError)
    drivers: list[Driver] = []
    for index, table in enumerate(checked.drivers):
        where = f"drivers[{index}]"
        if table.name in [d.name for d in drivers]:
            raise _fail(file, f"{where}.name", f"driver name {table.name!r} is used twice")
        band = _band(table.band_hz, f"{where}.band_hz", file)
        assert band is not None
        beam_band = _band(table.beam_band_hz, f"{where}.beam_band_hz", file)
        if table.directivity == "piston" and not table.radius_m > 0:
            raise _fail(file, f"{where}.radius_m", f"a piston needs radius_m > 0, got {table.radius_m!r}")
        if table.radius_m > MAX_DRIVER_RADIUS_M:
            raise _fail(
                file,
                f"{where}.radius_m",
                f"radius_m = {table.radius_m:g} is a driver {2 * table.radius_m:g} m across; sizes are in meters "
                f"(a 1-inch dome is 0.0127, a 12-inch woofer 0.15), at most {MAX_DRIVER_RADIUS_M:g}",
            )
        if table.azimuth_deg is not None:
            if table.position_m is not None or table.direction is not None:
                raise _fail(file, where, "give either azimuth_deg or position_m + direction, not both")
            drivers.append(
                Driver(
                    table.name,
                    table.role,
                    band,
                    table.directivity,
                    table.radius_m,
                    azimuth_deg=table.azimuth_deg,
                    beam_band_hz=beam_band,
                )
            )
            continue
        for key in ("position_m", "direction"):
            if getattr(table, key) is None:
                raise _fail(file, f"{where}.{key}", f"{key} is required (three numbers [x, y, z]), or give azimuth_deg")
        assert table.position_m is not None and table.direction is not None
        aim = np.array(table.direction, dtype=float)
        norm = float(np.linalg.norm(aim))
        if norm == 0:
            raise _fail(file, f"{where}.direction", f"direction = {table.direction!r} has no direction")
        position = np.array(table.position_m, dtype=float)
        if float(np.linalg.norm(position)) > MAX_DRIVER_OFFSET_M:
            raise _fail(
                file,
                f"{where}.position_m",
                f"position_m = {table.position_m!r} is {float(np.linalg.norm(position)):g} m from the device's center; "
                f"positions are in meters (87.5 mm is 0.0875), within {MAX_DRIVER_OFFSET_M:g} m of it",
            )
        drivers.append(
            Driver(table.name, table.role, band, table.directivity, table.radius_m, position, aim / norm, beam_band_hz=beam_band)
        )
    device = checked.device
    return DeviceProfile(
        name=checked.name,
        description=checked.description,
        drivers=tuple(drivers),
        distance_m=device.distance_m,
        height_m=device.height_m,
        yaw_deg=device.yaw_deg,
        radius_m=device.radius_m,
        source=file,
    )
