"""Coordinates: listener-centered, right-handed, meters; azimuth counter-clockwise from +x.

+x is forward from the listener, +y to the listener's left, +z up. Azimuth is
measured in degrees counter-clockwise from +x (so +30 is front-left, +90 the left
ear's side), elevation up from the horizontal plane: the SOFA convention.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SPEED_OF_SOUND_M_S", "azimuth_elevation_deg", "direction", "rotation_z"]

#: Speed of sound at about 20 °C, m/s.
SPEED_OF_SOUND_M_S = 343.0


def direction(azimuth_deg: float, elevation_deg: float = 0.0) -> np.ndarray:
    """Unit vector for an azimuth and elevation in degrees."""
    az, el = np.deg2rad(azimuth_deg), np.deg2rad(elevation_deg)
    return np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def azimuth_elevation_deg(vector: np.ndarray) -> tuple[float, float]:
    """Azimuth (-180..180) and elevation (-90..90) in degrees of a vector."""
    x, y, z = (float(v) for v in vector)
    return float(np.rad2deg(np.arctan2(y, x))), float(np.rad2deg(np.arctan2(z, np.hypot(x, y))))


def rotation_z(yaw_deg: float) -> np.ndarray:
    """3x3 rotation by ``yaw_deg`` counter-clockwise about +z."""
    c, s = np.cos(np.deg2rad(yaw_deg)), np.sin(np.deg2rad(yaw_deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
