"""Device profiles: where a device stands and where its drivers are, from data files.

Profiles are TOML files shipped in ``soundstage/acoustics/profiles/`` (see
``studio-5.toml`` for the schema, with comments); users can load their own by
path. Loading validates every key and names the file, key and value on error.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.acoustics.geometry import direction, rotation_z
from soundstage.errors import SoundstageError
from soundstage.tomlfile import read_toml, unknown_key

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover
    pass

__all__ = ["DeviceProfile", "Driver", "Listener", "ProfileError", "known_profiles", "load_profile"]

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
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
        Where the driver can take part in the centre beam, Hz. Midranges take part
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
        """The band in which the driver joins the centre beam (None: it does not)."""
        if self.beam_band_hz is not None:
            return self.beam_band_hz
        return self.band_hz if self.role == "mid" else None


@dataclass(frozen=True)
class Listener:
    """Where the listener's head is and where it faces (world coordinates).

    ``position_m`` is the centre of the head; ``yaw_deg`` turns the head
    counter-clockwise (positive: towards the left).
    """

    position_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    yaw_deg: float = 0.0


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
        """The same device at another listener distance (metres)."""
        if not distance_m > 0:
            raise ProfileError(f"{self.name}: distance_m={distance_m!r} must be > 0")
        return dataclasses.replace(self, distance_m=float(distance_m))

    @property
    def centre_m(self) -> np.ndarray:
        """World position of the device centre."""
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
                rows.append(self.centre_m + turn @ driver.position_m)
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
        """Indices of the drivers that take part in the centre beam (see ``Driver.beam_band``)."""
        return [i for i, driver in enumerate(self.drivers) if driver.beam_band is not None]

    def check_listener(self, listener: Listener, head_radius_m: float) -> None:
        """Raise ProfileError if the listener's head would overlap the device."""
        centre = np.asarray(listener.position_m, dtype=float)
        if self.radius_m > 0:
            gap = float(np.linalg.norm(self.centre_m - centre))
            if gap < self.radius_m + head_radius_m:
                raise ProfileError(
                    f"{self.name}: the listener at {tuple(listener.position_m)} m is inside the device "
                    f"(centres {gap:.3f} m apart, device radius {self.radius_m} m + head radius {head_radius_m} m); "
                    "move the listener further away"
                )
        for name, position in zip(self.driver_names, self.world_positions()):
            if float(np.linalg.norm(position - centre)) < head_radius_m * 1.5:
                raise ProfileError(f"{self.name}: driver {name!r} is inside or touching the listener's head; move the listener")


def known_profiles() -> list[str]:
    """Names of the profiles shipped with soundstage."""
    return sorted(path.stem for path in PROFILE_DIR.glob("*.toml"))


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
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        file = candidate
        if not file.is_file():
            raise ProfileError(f"device profile file {str(file)!r} does not exist")
    else:
        file = PROFILE_DIR / f"{name_or_path}.toml"
        if not file.is_file():
            close = difflib.get_close_matches(str(name_or_path), known_profiles(), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ProfileError(f"unknown device {str(name_or_path)!r}{hint} (known devices: {', '.join(known_profiles())})")
    profile = _parse(read_toml(file, ProfileError, "device profile file"), str(file))
    return profile.at_distance(distance_m) if distance_m is not None else profile


def _fail(file: str, key: str, message: str) -> ProfileError:
    return ProfileError(f"{file}: {key}: {message}")


def _number(
    table: dict[str, Any], key: str, where: str, file: str, *, default: float | None = None, positive: bool = False
) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(file, f"{where}.{key}", f"{key} = {value!r} must be a number")
    if positive and not value > 0:
        raise _fail(file, f"{where}.{key}", f"{key} = {value!r} must be > 0")
    return float(value)


def _vector(table: dict[str, Any], key: str, where: str, file: str, *, unit: bool) -> np.ndarray:
    value = table.get(key)
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        raise _fail(file, f"{where}.{key}", f"{key} = {value!r} must be three numbers [x, y, z]")
    vector = np.array(value, dtype=float)
    if unit:
        norm = float(np.linalg.norm(vector))
        if norm == 0:
            raise _fail(file, f"{where}.{key}", f"{key} = {value!r} has no direction")
        vector = vector / norm
    return vector


def _band(table: dict[str, Any], key: str, where: str, file: str, *, default: Any) -> Any:
    band = table.get(key, default)
    if band is None:
        return None
    if not (
        isinstance(band, (list, tuple))
        and len(band) == 2
        and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in band)
        and 0 < band[0] < band[1]
    ):
        raise _fail(file, f"{where}.{key}", f"{key} = {band!r} must be [low, high] in Hz with 0 < low < high")
    return (float(band[0]), float(band[1]))


def _check_keys(table: dict[str, Any], allowed: set[str], where: str, file: str) -> None:
    unknown = unknown_key(table, allowed)
    if unknown:
        raise _fail(file, f"{where}.{unknown[0]}" if where else unknown[0], unknown[1])


def _parse(data: dict[str, Any], file: str) -> DeviceProfile:
    _check_keys(data, {"name", "description", "device", "drivers"}, "", file)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise _fail(file, "name", f"name = {name!r} must be a non-empty string")
    device = data.get("device", {})
    if not isinstance(device, dict):
        raise _fail(file, "device", "must be a table")
    _check_keys(device, {"distance_m", "height_m", "yaw_deg", "radius_m"}, "device", file)
    drivers_data = data.get("drivers")
    if not isinstance(drivers_data, list) or not drivers_data:
        raise _fail(file, "drivers", "a profile needs at least one [[drivers]] table")
    drivers: list[Driver] = []
    for index, table in enumerate(drivers_data):
        where = f"drivers[{index}]"
        if not isinstance(table, dict):
            raise _fail(file, where, "must be a table")
        _check_keys(
            table,
            {"name", "role", "position_m", "direction", "azimuth_deg", "band_hz", "beam_band_hz", "directivity", "radius_m"},
            where,
            file,
        )
        driver_name = table.get("name")
        if not isinstance(driver_name, str) or not driver_name:
            raise _fail(file, f"{where}.name", f"name = {driver_name!r} must be a non-empty string")
        if driver_name in [d.name for d in drivers]:
            raise _fail(file, f"{where}.name", f"driver name {driver_name!r} is used twice")
        role = table.get("role", "mid")
        if role not in ROLES:
            raise _fail(file, f"{where}.role", f"role = {role!r} must be one of {', '.join(ROLES)}")
        band = _band(table, "band_hz", where, file, default=(20.0, 20000.0))
        beam_band = _band(table, "beam_band_hz", where, file, default=None)
        directivity = table.get("directivity", "omni")
        if directivity not in DIRECTIVITIES:
            raise _fail(file, f"{where}.directivity", f"directivity = {directivity!r} must be one of {', '.join(DIRECTIVITIES)}")
        radius = _number(table, "radius_m", where, file, default=0.0)
        if directivity == "piston" and not radius > 0:
            raise _fail(file, f"{where}.radius_m", f"a piston needs radius_m > 0, got {radius!r}")
        if "azimuth_deg" in table:
            if "position_m" in table or "direction" in table:
                raise _fail(file, where, "give either azimuth_deg or position_m + direction, not both")
            drivers.append(
                Driver(
                    driver_name,
                    role,
                    band,
                    directivity,
                    radius,
                    azimuth_deg=_number(table, "azimuth_deg", where, file),
                    beam_band_hz=beam_band,
                )
            )
        else:
            position = _vector(table, "position_m", where, file, unit=False)
            aim = _vector(table, "direction", where, file, unit=True)
            drivers.append(Driver(driver_name, role, band, directivity, radius, position, aim, beam_band_hz=beam_band))
    description = data.get("description", "")
    return DeviceProfile(
        name=name,
        description=str(description),
        drivers=tuple(drivers),
        distance_m=_number(device, "distance_m", "device", file, default=2.0, positive=True),
        height_m=_number(device, "height_m", "device", file, default=0.0),
        yaw_deg=_number(device, "yaw_deg", "device", file, default=180.0),
        radius_m=_number(device, "radius_m", "device", file, default=0.0),
        source=file,
    )
