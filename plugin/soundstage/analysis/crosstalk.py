"""Measuring crosstalk cancellation: realized filter responses and separation per band."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S, rotation_z
from soundstage.acoustics.head import HeadModel
from soundstage.acoustics.hrtf import HrtfSet
from soundstage.acoustics.profiles import DeviceProfile, Listener, ListeningRegion
from soundstage.acoustics.transfer import transfer_matrices, transfer_matrix
from soundstage.analysis.binaural import band_power, band_powers, fractional_octave_bands, ild_db, itd_s

__all__ = [
    "EAR_PLACEMENTS_DEG",
    "SIZE_SCALES",
    "MovedEars",
    "RegionSeparation",
    "band_separation_db",
    "band_target_db",
    "center_image_error",
    "first_lowest",
    "plain_stereo_separation_db",
    "other_listeners",
    "realized_response",
    "region_separation_db",
    "scaled_head",
    "seats_separation_db",
    "separation_db",
]


def realized_response(
    impulse: np.ndarray, delay_samples: int, sample_rate: float, n: int = 8192
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and responses (F, drivers, inputs) of FIR filters (drivers, inputs, taps), delay removed."""
    spectrum = scipy.fft.rfft(impulse, n=n, axis=-1)
    k = np.arange(spectrum.shape[-1])
    spectrum = spectrum * np.exp(2j * np.pi * k * delay_samples / n)
    return np.fft.rfftfreq(n, 1 / sample_rate), np.moveaxis(spectrum, -1, 0)


def band_separation_db(frequencies: np.ndarray, ears: np.ndarray, centers_hz: np.ndarray) -> np.ndarray:
    """Per 1/3-octave band, the smaller over the two inputs of ipsi/contra ear power (dB).

    ``ears`` is (F, 2 ears, 2 inputs): input 0 belongs at ear 0, input 1 at ear 1.
    """
    powers = band_powers(np.moveaxis(ears, 0, -1), frequencies, centers_hz)  # (ear, input, band)
    ipsi_over_contra = [10 * np.log10(powers[j, j] / powers[1 - j, j]) for j in range(2)]
    return np.asarray(np.minimum(*ipsi_over_contra))


def band_target_db(frequencies: np.ndarray, target_db: np.ndarray, centers_hz: np.ndarray) -> np.ndarray:
    """Per 1/3-octave band, a target separation curve's band value, taken the way separation is measured.

    Separation per band is a ratio of band powers, so the target's band value is
    the power average of its crosstalk ratio (``10^(-target/10)``), not the mean of
    its dB values, which over-states a target that falls steeply inside a band.
    """
    crosstalk = 10 ** (-np.asarray(target_db) / 20)  # amplitude of the crosstalk ratio
    return np.array([-10 * np.log10(band_power(crosstalk, frequencies, center)) for center in centers_hz])


def separation_db(
    impulse: np.ndarray,
    delay_samples: int,
    sample_rate: float,
    profile: DeviceProfile,
    head: HeadModel,
    *,
    listener: Listener | None = None,
    low_hz: float = 250.0,
    high_hz: float = 6300.0,
    plant: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Band centers and separation (dB) of canceller FIRs (drivers, 2, taps) through a head at a position.

    ``plant``: the driver -> ear responses at that position on the grid of
    :func:`realized_response` (8192 points), when the caller already has them.
    """
    frequencies, response = realized_response(impulse, delay_samples, sample_rate)
    plant = transfer_matrix(profile, frequencies, head, listener=listener) if plant is None else plant
    centers = fractional_octave_bands(low_hz, high_hz)
    return centers, band_separation_db(frequencies, plant @ response, centers)


@dataclass(frozen=True)
class RegionSeparation:
    """Separation of a design over a listening region, on one head.

    Attributes
    ----------
    centers_hz : ndarray, shape (B,)
        Band centers.
    per_seat_db : ndarray, shape (seats, B)
        Separation per seat (the region's positions, nominal seat first) and band.
    seats : list of Listener
    """

    centers_hz: np.ndarray
    per_seat_db: np.ndarray
    seats: list[Listener]

    @property
    def seat_means_db(self) -> np.ndarray:
        """Mean over the bands, per seat (dB)."""
        return np.asarray(self.per_seat_db.mean(axis=1))

    @property
    def mean_db(self) -> float:
        """Mean over seats of the per-seat means (dB)."""
        return float(self.seat_means_db.mean())

    def worst_index(self, in_band: np.ndarray | None = None) -> int:
        """The seat with the lowest mean over the bands (``in_band``: a mask of them; all by default), the first in
        the region's order where mirror seats tie (:func:`first_lowest`)."""
        means = self.per_seat_db if in_band is None else self.per_seat_db[:, in_band]
        return first_lowest(means.mean(axis=1))

    @property
    def worst_seat(self) -> tuple[float, Listener]:
        """The lowest per-seat mean (dB) and its seat."""
        index = self.worst_index()
        return float(self.seat_means_db[index]), self.seats[index]


#: Figures closer than this are one figure: mirror seats on a symmetric head differ only by rounding, by
#: different amounts on different machines, and the seat a report names must not depend on the machine.
TIE_TOLERANCE = 1e-6


def first_lowest(values: np.ndarray, tolerance: float = TIE_TOLERANCE) -> int:
    """The index of the lowest of ``values``, the first of those within ``tolerance`` of it (a tie-break that does
    not depend on rounding, as ``argmin`` does)."""
    values = np.asarray(values, dtype=float)
    return int(np.flatnonzero(values <= values.min() + tolerance)[0])


def region_separation_db(
    impulse: np.ndarray,
    delay_samples: int,
    sample_rate: float,
    profile: DeviceProfile,
    head: HeadModel,
    region: ListeningRegion,
    *,
    center: Listener | None = None,
    low_hz: float = 250.0,
    high_hz: float = 6300.0,
) -> RegionSeparation:
    """Separation (dB) of canceller FIRs at every seat of a listening region around ``center`` (default: the nominal seat)."""
    seats = region.positions(center)
    centers, per_seat = seats_separation_db(
        impulse, delay_samples, sample_rate, profile, head, seats, low_hz=low_hz, high_hz=high_hz
    )
    return RegionSeparation(centers, per_seat, seats)


def seats_separation_db(
    impulse: np.ndarray,
    delay_samples: int,
    sample_rate: float,
    profile: DeviceProfile,
    head: HeadModel,
    seats: list[Listener],
    *,
    low_hz: float = 250.0,
    high_hz: float = 6300.0,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`separation_db` at many seats, shape (seats, B): the filters' response once, the plants from one
    head-model call (:func:`~soundstage.acoustics.transfer.transfer_matrices`)."""
    frequencies, response = realized_response(impulse, delay_samples, sample_rate)
    plants = transfer_matrices(profile, frequencies, head, seats)
    centers = fractional_octave_bands(low_hz, high_hz)
    return centers, np.array([band_separation_db(frequencies, plant @ response, centers) for plant in plants])


def plain_stereo_separation_db(
    profile: DeviceProfile,
    head: HeadModel,
    left: int,
    right: int,
    *,
    sample_rate: float = 48000.0,
    low_hz: float = 250.0,
    high_hz: float = 6300.0,
) -> np.ndarray:
    """Separation with no canceller: left input to driver ``left``, right input to driver ``right``."""
    frequencies = np.fft.rfftfreq(8192, 1 / sample_rate)
    plant = transfer_matrix(profile, frequencies, head)
    feeds = np.zeros((len(frequencies), len(profile.drivers), 2))
    feeds[:, left, 0] = feeds[:, right, 1] = 1.0
    return band_separation_db(frequencies, plant @ feeds, fractional_octave_bands(low_hz, high_hz))


def center_image_error(
    impulse: np.ndarray,
    delay_samples: int,
    sample_rate: float,
    profile: DeviceProfile,
    head: HeadModel,
    *,
    listener: Listener | None = None,
    plant: np.ndarray | None = None,
) -> tuple[float, float]:
    """How far the center image is from the device: (ITD error in us, ILD error in dB, 1-4 kHz mean).

    ``impulse`` is the center path's FIRs (drivers, 1, taps), e.g. a beam design's.
    The errors are the ear cues of the center through the drivers minus those of a
    point source at the device center, heard from the same position: 0 means the
    center is where the device is, for a listener anywhere on the grid. ``plant`` as
    for :func:`separation_db`.
    """
    n = 8192
    frequencies, response = realized_response(impulse, delay_samples, sample_rate, n=n)
    who = listener or Listener()
    plant = transfer_matrix(profile, frequencies, head, listener=who) if plant is None else plant
    ears = (plant @ response)[:, :, 0]  # (F, 2)
    toward = rotation_z(-who.yaw_deg) @ (profile.center_m - np.asarray(who.position_m, float))
    distance = float(np.linalg.norm(toward))
    # a point source at the device center, its delay and spreading as a driver there would have
    point = head.ear_responses(frequencies, (toward / distance)[None])[:, 0, :].T  # (F, 2)
    point = point * profile.distance_m / distance * np.exp(-2j * np.pi * frequencies * distance / SPEED_OF_SOUND_M_S)[:, None]
    bands = fractional_octave_bands(1000, 4000)

    def cues(spectrum: np.ndarray) -> tuple[float, float]:
        irs = np.fft.irfft(spectrum, n=n, axis=0).T
        return itd_s(irs[0], irs[1], sample_rate) * 1e6, float(np.mean(ild_db(irs[0], irs[1], sample_rate, bands)))

    (itd_center, ild_center), (itd_point, ild_point) = cues(ears), cues(point)
    return itd_center - itd_point, ild_center - ild_point


#: Head sizes relative to a measured head's, for the sizes of other listeners: the frequency scale factors that
#: best match one listener's ear responses to another's range over about +-10 % (Middlebrooks 1999, JASA 106(3)).
SIZE_SCALES = (0.9, 0.95, 1.05, 1.1)
#: Ear placements of asymmetric listeners (:class:`MovedEars`): (left, right) degrees each ear sits further back
#: on the head than the measured one's (negative: forward). Real heads are not symmetric, and where the ears sit
#: varies by several degrees between people; one ear moved, or the two moved opposite ways, neither of which a
#: head turn (the listening region's yaw) covers.
EAR_PLACEMENTS_DEG = ((0.0, 5.0), (0.0, -5.0), (5.0, 0.0), (-5.0, 0.0), (5.0, -5.0), (-5.0, 5.0))


def scaled_head(head: HrtfSet, scale: float) -> HrtfSet:
    """``head`` ``scale`` times as large: every response stretched in time by ``scale`` (its spectrum compressed in
    frequency; delays and ITDs grow with it), by reading its samples at ``1/scale`` the rate, resampled back."""
    rate, source = head.sample_rate / scale, f"{head.source} x{scale:g}"
    bigger = HrtfSet(head.irs, head.azimuth_deg, head.elevation_deg, rate, source, head.radius_m * scale)
    return bigger.resampled(head.sample_rate)


@dataclass(frozen=True)
class MovedEars:
    """``head`` with its ears moved along the horizontal circle: the left ear ``left_back_deg`` further back (toward
    the rear, negative: forward), the right ear ``right_back_deg``; each ear hears a direction as ``head``'s ear
    hears it turned by that angle. An asymmetric listener made from a measured (or model) head."""

    head: HeadModel
    left_back_deg: float
    right_back_deg: float

    @property
    def radius_m(self) -> float:
        return float(self.head.radius_m)

    def heard_as(self, ear: int, directions: np.ndarray) -> np.ndarray:
        """The directions (rows of unit vectors) in which ``head``'s ``ear`` (0 left, 1 right) hears what this
        head's hears from ``directions``. The left ear (at +90 deg) moved back turns counter-clockwise, so it hears
        a direction as the unmoved ear hears it turned clockwise (rows: v @ R(a) turns v by -a); the right the other way."""
        turn = self.left_back_deg if ear == 0 else -self.right_back_deg
        return np.atleast_2d(np.asarray(directions, float)) @ rotation_z(turn)

    def ear_responses(self, frequencies_hz: np.ndarray, directions: np.ndarray) -> np.ndarray:
        return np.stack([self.head.ear_responses(frequencies_hz, self.heard_as(ear, directions))[ear] for ear in (0, 1)])


def other_listeners(head: HeadModel) -> list[tuple[str, HeadModel]]:
    """Listeners unlike ``head`` made from it, each with its label: ``head`` scaled in size (:data:`SIZE_SCALES`,
    a measured set only) and with its ears moved asymmetrically (:data:`EAR_PLACEMENTS_DEG`). What a design made
    elsewhere should hold on, short of measured heads of other people."""
    heads: list[tuple[str, HeadModel]] = []
    if isinstance(head, HrtfSet):
        heads += [(f"size x{scale:g}", scaled_head(head, scale)) for scale in SIZE_SCALES]
    for left, right in EAR_PLACEMENTS_DEG:
        heads.append((f"ears {left:+g} / {right:+g} deg back", MovedEars(head, left, right)))
    return heads
