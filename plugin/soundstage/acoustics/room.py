"""A shoebox room around the listener: image sources from ``pyroomacoustics``, heard through a head.

``pyroomacoustics`` (an optional extra: ``pip install 'soundstage[room]'``) finds
the image sources of each driver in a rectangular room (absorption from the
reverberation time by Sabine's formula). Each image arrives at the listener as a
plane wave from its own direction, so the head model or the HRTFs give it its
own interaural time and level difference — the receiver is directional, both
ears at the head center, and the HRIRs carry the ITD. An image keeps the
driver's directivity: it radiates in the mirrored direction of its source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S, rotation_z
from soundstage.acoustics.head import HeadModel
from soundstage.acoustics.profiles import DeviceProfile, Listener
from soundstage.acoustics.transfer import directivity
from soundstage.errors import SoundstageError

__all__ = ["ShoeboxRoom", "room_transfer_matrix"]


@dataclass(frozen=True)
class ShoeboxRoom:
    """A rectangular room and where the listener sits in it.

    Attributes
    ----------
    dimensions_m : (float, float, float)
        Length (along the listener's +x), width, height.
    rt60_s : float
        Reverberation time; wall absorption follows from Sabine's formula.
    listener_m : (float, float, float)
        The listener's head center in room coordinates (room +x = listener's forward).
    max_order : int
        Highest reflection order of the image-source model.
    """

    dimensions_m: tuple[float, float, float] = (5.0, 4.0, 2.7)
    rt60_s: float = 0.4
    listener_m: tuple[float, float, float] = (1.5, 2.0, 1.2)
    max_order: int = 12

    def check(self, points_m: np.ndarray) -> None:
        """Raise if any room-coordinate point is outside the room."""
        size = np.asarray(self.dimensions_m)
        for point in np.atleast_2d(points_m):
            if np.any(point <= 0) or np.any(point >= size):
                raise SoundstageError(
                    f"room {tuple(self.dimensions_m)} m: point {tuple(np.round(point, 3))} m is outside it; "
                    "move the listener (listener_m) or shorten the distance"
                )


def room_transfer_matrix(
    profile: DeviceProfile,
    frequencies_hz: np.ndarray,
    head: HeadModel,
    room: ShoeboxRoom,
    *,
    listener: Listener | None = None,
    sample_rate: float = 48000.0,
) -> np.ndarray:
    """Driver -> ear responses in the room, shape (F, 2, drivers), levels re the listener distance."""
    try:
        import pyroomacoustics as pra  # noqa: PLC0415 (the optional `room` extra)
    except ImportError:
        raise SoundstageError("room simulation needs pyroomacoustics: pip install 'soundstage[room]'") from None
    who = listener or Listener()
    f = np.asarray(frequencies_hz, float)
    origin = np.asarray(room.listener_m, float)  # world (listener-centered) -> room coordinates
    head_center = origin + np.asarray(who.position_m, float)
    positions = profile.world_positions() + origin
    aims = profile.world_directions()
    room.check(np.vstack([positions, head_center]))
    energy_absorption, _ = pra.inverse_sabine(room.rt60_s, list(room.dimensions_m))
    result = np.zeros((len(f), 2, len(profile.drivers)), complex)
    to_head = rotation_z(-who.yaw_deg)
    for column, (driver, position, aim) in enumerate(zip(profile.drivers, positions, aims)):
        shoebox = pra.ShoeBox(
            list(room.dimensions_m), fs=int(sample_rate), materials=pra.Material(energy_absorption), max_order=room.max_order
        )
        shoebox.add_source(list(position))
        shoebox.add_microphone(list(head_center))
        shoebox.image_source_model()
        source = shoebox.sources[0]
        images = np.asarray(source.images, float).T  # (K, 3)
        damping = np.asarray(source.damping, float)[0]  # pressure factor per image
        mirrored = np.where(np.asarray(source.orders_xyz).T % 2 == 1, -1.0, 1.0)  # (K, 3) axes flipped by odd reflections
        arrival = images - head_center
        distances = np.linalg.norm(arrival, axis=1)
        emitted = -arrival / distances[:, None] * mirrored  # direction leaving the real driver
        off_axis = np.arccos(np.clip(emitted @ aim, -1.0, 1.0))
        gains = damping * profile.distance_m / distances  # (K,)
        directions = (to_head @ (arrival / distances[:, None]).T).T
        for first in range(0, len(images), 128):  # chunks keep the (2, K, F) arrays small
            part = slice(first, first + 128)
            pattern = directivity(f, off_axis[part], driver.radius_m, driver.directivity)  # (F, k)
            ears = head.ear_responses(f, directions[part])  # (2, k, F)
            phase = np.exp(-2j * np.pi * f[None, :] * distances[part, None] / SPEED_OF_SOUND_M_S)  # (k, F)
            weights = gains[part, None] * pattern.T * phase
            result[:, :, column] += np.einsum("ekf,kf->fe", ears, weights)
    return result
