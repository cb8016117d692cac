"""Driver -> ear transfer matrices at a listener position.

For each driver: the path to the listener's head center (delay ``r / c`` and
spreading ``r_ref / r``, with ``r_ref`` the listener distance of the profile, so a
driver at the device center arrives at 0 dB), the driver's directivity toward the
listener, then the head (model or measured HRTFs) for the direction the sound
comes from in the listener's head coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.special

from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S, rotation_z
from soundstage.acoustics.head import HeadModel
from soundstage.acoustics.profiles import DeviceProfile, Listener

__all__ = ["directivity", "transfer_matrices", "transfer_matrix"]


#: Share of a piston driver's output radiated omnidirectionally (box edges, diffraction):
#: a real enclosure has no perfect nulls, so the model keeps a -20 dB floor.
PISTON_FLOOR = 0.1


def directivity(frequencies_hz: np.ndarray, off_axis_rad: np.ndarray, radius_m: float, kind: str) -> np.ndarray:
    """Far-field directivity of a driver, shape (F, D): 1 for omni, a baffled piston otherwise.

    Piston: ``(1 - PISTON_FLOOR) * 2 J1(x)/x + PISTON_FLOOR`` with ``x = k a sin(phi)``;
    angles beyond 90 degrees (behind the baffle) are taken at 90 degrees, a box
    radiating around its edges rather than an infinite baffle.
    """
    if kind == "omni" or radius_m <= 0:
        return np.ones((len(np.atleast_1d(frequencies_hz)), len(np.atleast_1d(off_axis_rad))))
    k = 2 * np.pi * np.asarray(frequencies_hz, float)[:, None] / SPEED_OF_SOUND_M_S
    angle = np.minimum(np.asarray(off_axis_rad, float), np.pi / 2)[None, :]
    x = k * radius_m * np.sin(angle)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(x < 1e-8, 1.0, 2 * scipy.special.j1(x) / np.where(x < 1e-8, 1.0, x))
    return np.asarray((1 - PISTON_FLOOR) * value + PISTON_FLOOR)


def transfer_matrix(
    profile: DeviceProfile,
    frequencies_hz: np.ndarray,
    head: HeadModel,
    *,
    listener: Listener | None = None,
    drivers: list[int] | None = None,
    include_delay: bool = True,
) -> np.ndarray:
    """Complex driver -> ear responses, shape (F, 2 ears [left, right], drivers).

    Parameters
    ----------
    profile : DeviceProfile
        The device, at its listener distance.
    frequencies_hz : ndarray
        Frequencies, Hz.
    head : HeadModel
        :class:`~soundstage.acoustics.head.SphericalHead` or a
        :class:`~soundstage.acoustics.hrtf.HrtfSet`.
    listener : Listener, optional
        Head position and yaw (default: at the origin, facing +x).
    drivers : list of int, optional
        Which drivers (default all).
    include_delay : bool
        Include the propagation delay ``r / c`` (else only the spreading loss).
    """
    who = [listener or Listener()]
    return transfer_matrices(profile, frequencies_hz, head, who, drivers=drivers, include_delay=include_delay)[0]


def transfer_matrices(
    profile: DeviceProfile,
    frequencies_hz: np.ndarray,
    head: HeadModel,
    listeners: Sequence[Listener],
    *,
    drivers: list[int] | None = None,
    include_delay: bool = True,
) -> np.ndarray:
    """:func:`transfer_matrix` at several listener positions, shape (listeners, F, 2, drivers).

    The head's ear responses for every position's directions come from one call (a head model's
    cost is mostly per call: a robust design's 27 seats cost about a third of 27 calls).
    """
    f = np.asarray(frequencies_hz, float)
    chosen = list(range(len(profile.drivers))) if drivers is None else list(drivers)
    positions = profile.world_positions()[chosen]
    aims = profile.world_directions()[chosen]
    frames, geometry = [], []
    for who in listeners:
        profile.check_listener(who, getattr(head, "radius_m", 0.0875))
        vectors = positions - np.asarray(who.position_m, float)  # head center -> driver
        distances = np.linalg.norm(vectors, axis=1)
        off_axis = np.arccos(np.clip(np.sum(aims * (-vectors / distances[:, None]), axis=1), -1.0, 1.0))
        frames.append((rotation_z(-who.yaw_deg) @ (vectors / distances[:, None]).T).T)  # directions in head coordinates
        geometry.append((distances, off_axis))
    ears = head.ear_responses(f, np.concatenate(frames))  # (2, listeners * D, F)
    result = np.empty((len(listeners), len(f), 2, len(chosen)), complex)
    reference = profile.distance_m
    for number, (distances, off_axis) in enumerate(geometry):
        for column, index in enumerate(chosen):
            driver = profile.drivers[index]
            gain = (
                reference
                / distances[column]
                * directivity(f, off_axis[column : column + 1], driver.radius_m, driver.directivity)[:, 0]
            )
            path = gain * (np.exp(-2j * np.pi * f * distances[column] / SPEED_OF_SOUND_M_S) if include_delay else 1.0)
            result[number, :, :, column] = (ears[:, number * len(chosen) + column, :] * path).T
    return result
