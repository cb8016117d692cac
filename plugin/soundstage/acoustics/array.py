"""Array math of a device's drivers: far-field steering, diffuse-field correlation, beam constraints.

Directions are in the device frame (+x its front, +y its own left, +z up; see
ARCHITECTURE "Coordinates and units"). A driver's far-field response toward a
unit vector ``u`` is its directivity at the off-axis angle times the phase of its
position's projection on ``u``:

.. math:: a_m(f, u) = D_m(f, \\angle(u, aim_m))\\, e^{\\, j 2\\pi f\\, (u \\cdot p_m) / c}

so a weight vector ``w`` gives the beam ``B(f, u) = a(f, u) . w``. The beamformer
and the analysis of beams both use these; nothing here knows a stage.

References
----------
Van Trees, H. L. (2002). *Optimum Array Processing*, ch. 2 (array manifold) and 6 (LCMV).
"""

from __future__ import annotations

import numpy as np

from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S, direction
from soundstage.acoustics.profiles import DeviceProfile
from soundstage.acoustics.transfer import directivity

__all__ = [
    "SPHERE_POINTS",
    "constrained_minimum",
    "diffuse_correlation",
    "on_axis_timing",
    "sphere_directions",
    "steering",
    "steering_toward",
]

#: Directions sampling the sphere for diffuse-field (directivity) averages.
SPHERE_POINTS = 800


def steering(
    profile: DeviceProfile,
    frequencies_hz: np.ndarray,
    azimuth_deg: np.ndarray,
    *,
    drivers: list[int] | None = None,
    elevation_deg: float = 0.0,
    gains: np.ndarray | None = None,
    aims: np.ndarray | None = None,
) -> np.ndarray:
    """Far-field responses of drivers toward directions in the device frame, shape (F, A, drivers).

    ``gains`` (linear, per driver) and ``aims`` (unit vectors, per driver) replace
    the profile's for tolerance studies.
    """
    units = np.array([direction(a, elevation_deg) for a in np.atleast_1d(azimuth_deg)])  # (A, 3)
    return steering_toward(profile, frequencies_hz, units, drivers=drivers, gains=gains, aims=aims)


def steering_toward(
    profile: DeviceProfile,
    frequencies_hz: np.ndarray,
    units: np.ndarray,
    *,
    drivers: list[int] | None = None,
    gains: np.ndarray | None = None,
    aims: np.ndarray | None = None,
) -> np.ndarray:
    """Far-field responses toward unit vectors ``units`` (A, 3) of the device frame, shape (F, A, drivers)."""
    chosen = list(range(len(profile.drivers))) if drivers is None else list(drivers)
    f = np.asarray(frequencies_hz, float)
    result = np.empty((len(f), len(units), len(chosen)), complex)
    for column, index in enumerate(chosen):
        driver = profile.drivers[index]
        position = driver.position_m if driver.position_m is not None else np.zeros(3)
        aim = aims[column] if aims is not None else (driver.direction if driver.direction is not None else np.array([1.0, 0, 0]))
        off_axis = np.arccos(np.clip(units @ aim, -1.0, 1.0))
        pattern = directivity(f, off_axis, driver.radius_m, driver.directivity)  # (F, A)
        phase = np.exp(2j * np.pi * f[:, None] * (units @ position)[None, :] / SPEED_OF_SOUND_M_S)
        result[:, :, column] = pattern * phase * (1.0 if gains is None else gains[column])
    return result


def sphere_directions(count: int = SPHERE_POINTS) -> np.ndarray:
    """``count`` unit vectors spread evenly over the sphere (a Fibonacci lattice), shape (count, 3)."""
    k = np.arange(count) + 0.5
    z = 1.0 - 2.0 * k / count
    azimuth = np.pi * (1.0 + 5**0.5) * k
    ring = np.sqrt(1.0 - z**2)
    return np.stack([ring * np.cos(azimuth), ring * np.sin(azimuth), z], axis=1)


def diffuse_correlation(profile: DeviceProfile, frequencies_hz: np.ndarray, drivers: list[int]) -> np.ndarray:
    """The drivers' far-field correlation averaged over the sphere, shape (F, M, M).

    ``w^H R w`` is the power a weight vector ``w`` radiates in all directions (mean
    over the sphere, re one on-axis omni driver): what feeds the reverberant field
    of a room, against ``|B(0)|^2``, the direct sound on axis.
    """
    a = steering_toward(profile, frequencies_hz, sphere_directions(), drivers=drivers)  # (F, D, M)
    return np.asarray(np.conj(np.swapaxes(a, 1, 2)) @ a) / a.shape[1]  # a batched matmul: 4x faster than einsum


def constrained_minimum(q: np.ndarray, c: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Per frequency, the ``w`` minimizing ``w^H q w`` with ``c w = g`` (LCMV; least squares where it has no solution).

    q: (F, M, M) Hermitian positive definite; c: (F, K, M); g: (F, K). Returns (F, M).
    """
    qi_ch = np.linalg.solve(q, np.conj(np.swapaxes(c, 1, 2)))  # (F, M, K)
    x = np.linalg.pinv(c @ qi_ch, rcond=1e-10) @ g[:, :, None]
    return np.asarray((qi_ch @ x)[:, :, 0])


def on_axis_timing(profile: DeviceProfile, frequencies: np.ndarray, index: int) -> np.ndarray:
    """Phase (F,) that moves a driver's on-axis arrival to the device center's: exp(-j k x), x its lead toward the front."""
    on_axis = steering(profile, frequencies, np.array([0.0]), drivers=[index])[:, 0, 0]
    return np.asarray(np.conj(on_axis) / np.maximum(np.abs(on_axis), 1e-12))
