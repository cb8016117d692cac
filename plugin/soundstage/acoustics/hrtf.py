"""Measured HRTFs from SOFA files (read with ``sofar``), interpolated between directions.

A :class:`HrtfSet` answers the same question as a head model
(:meth:`HrtfSet.ear_responses`: ear responses relative to the free field at the
head center), so every design and analysis can use either.

Interpolation is onset-aligned: each measured HRIR is split into its onset time
(fractional samples, from the first crossing of -20 dB re its peak) and the
onset-aligned response; for a direction between measurements the aligned
spectra and the onsets are interpolated separately and the delay re-applied,
so the interaural time difference moves smoothly instead of the two responses
comb-filtering.

Which measurements a direction is interpolated from depends on the grid. Sets
measured on rings of constant elevation, each going round the head in steps of
at most :data:`RING_GAP_DEG` (MIT KEMAR, ARI, SADIE II, a horizontal-plane set)
are interpolated bilinearly: along the two rings that bracket the elevation,
then between them. Any other grid (CIPIC's interaural-polar one, where almost
every measurement has an elevation of its own; Lebedev and other spherical
designs; scattered points) is interpolated on the spherical Delaunay
triangulation of its directions (the convex hull of their unit vectors,
``scipy.spatial``): the three measurements of the triangle the direction passes
through, with barycentric weights. Applying the ring rule to such a grid would
take a "ring" of two measurements at +-80 degrees for a frontal source one
degree up.

A set measured at several distances (a near-field set) is read at each direction's farthest
distance, the nearest to the far field the designs assume; the transfer model adds the device's own
distance. Mixing them would average a near-field ILD into a far-field one.

Reference: the frontal (0, 0) measurement defines time zero (mean of the two
ears' onsets) and 0 dB (mean magnitude of the two ears over 200-500 Hz), the
same convention as :class:`~soundstage.acoustics.head.SphericalHead`.

The MIT KEMAR set that Debian ships (libmysofa1) is Gardner & Martin (1994),
"HRTF measurements of a KEMAR dummy-head microphone", MIT Media Lab.

Reading the file and checking what it holds is :mod:`soundstage.acoustics.sofa`; here, the set
of directions, its interpolation, and a stage's ``hrtf`` setting (:class:`HeadChoice`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy.fft

from soundstage import stalls
from soundstage.acoustics.geometry import azimuth_elevation_deg, direction
from soundstage.acoustics.head import BlendedSphereHead, HeadAndTorso, HybridSphereHead, RigidSphereHead, SphericalHead
from soundstage.acoustics.sofa import (
    DEFAULT_SOFA,
    HrtfError,
    check_container,
    check_measurements,
    farthest_per_direction,
    read_sofa,
    receiver_sides,
    responses,
    source_directions,
    with_delays,
    without_silent_tail,
)
from soundstage.designstore import file_digest
from soundstage.files import missing_hint, on_disk

__all__ = [
    "DEFAULT_SOFA",
    "HEAD_MODELS",
    "HeadChoice",
    "HrtfError",
    "HrtfSet",
    "head_hint",
    "hrtf_setting",
    "RING_GAP_DEG",
    "SIDE_CHECK_DB",
]


#: A grid is a ring grid (interpolated bilinearly) when every ring of constant elevation goes round the head in
#: steps of at most this (degrees), a ring of one measurement being a pole (+-90 degrees elevation).
RING_GAP_DEG = 45.0


def _onsets(irs: np.ndarray, threshold_db: float = -20.0) -> np.ndarray:
    """Fractional sample of the first crossing of ``threshold_db`` re peak, per IR (last axis)."""
    magnitude = np.abs(irs)
    limit = magnitude.max(axis=-1, keepdims=True) * 10 ** (threshold_db / 20)
    first = np.argmax(magnitude >= limit, axis=-1)
    previous = np.take_along_axis(magnitude, np.maximum(first - 1, 0)[..., None], axis=-1)[..., 0]
    current = np.take_along_axis(magnitude, first[..., None], axis=-1)[..., 0]
    target = limit[..., 0]
    step = np.where(current > previous, (target - previous) / np.maximum(current - previous, 1e-30), 1.0)
    return first - 1 + np.clip(step, 0.0, 1.0)


@dataclass
class HrtfSet:
    """A set of measured head-related impulse responses.

    Attributes
    ----------
    irs : ndarray, shape (measurements, 2, taps)
        HRIRs, left ear then right ear.
    azimuth_deg, elevation_deg : ndarray, shape (measurements,)
        Measured directions (SOFA convention = soundstage's).
    sample_rate : float
        Hz.
    source : str
        Where the set came from, and any conversion applied (resampling).
    radius_m : float
        Half the distance between the receivers (the head radius, for checks).
    """

    irs: np.ndarray
    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    sample_rate: float
    source: str = "<array>"
    radius_m: float = 0.0875
    _aligned: np.ndarray = field(init=False, repr=False)
    _onsets: np.ndarray = field(init=False, repr=False)
    _gain: float = field(init=False, repr=False)
    _zero: float = field(init=False, repr=False)

    #: Samples kept before each onset in the aligned responses (pre-onset content stays causal).
    LEAD = 8

    def __post_init__(self) -> None:
        onsets = _onsets(self.irs)  # (M, 2)
        taps = self.irs.shape[-1]
        n = 2 * taps
        spectrum = scipy.fft.rfft(self.irs, n=n, axis=-1)
        k = np.arange(spectrum.shape[-1])
        # onset-aligned spectra: remove each IR's own onset delay, keeping LEAD samples before it
        self._aligned = spectrum * np.exp(2j * np.pi * k * (onsets[..., None] - self.LEAD) / n)
        self._aligned_ir = scipy.fft.irfft(self._aligned, n=n, axis=-1)
        self._onsets = onsets
        self._fft_size = n
        front = self._nearest(0.0, 0.0)
        self._zero = float(onsets[front].mean())
        freqs = k * self.sample_rate / n
        band = (freqs >= 200) & (freqs <= 500)
        self._gain = float(np.abs(spectrum[front][:, band]).mean()) if band.any() else 1.0
        self._rings = np.unique(np.round(self.elevation_deg, 6))
        self._triangles = None if _is_ring_grid(self.azimuth_deg, self.elevation_deg) else _Triangulation(self)

    # -- loading ----------------------------------------------------------------
    @classmethod
    def from_sofa(cls, path: str | os.PathLike[str] = DEFAULT_SOFA, *, sample_rate: float | None = None) -> HrtfSet:
        """Read a SimpleFreeFieldHRIR (or SimpleFreeFieldHRTF) SOFA file; resample to ``sample_rate`` if given and different.

        Raises
        ------
        HrtfError
            If the file is missing or unreadable, or holds no 2-ear impulse responses.
        """
        file = on_disk(Path(os.path.expanduser(path)))
        if file.is_dir():
            raise HrtfError(f"SOFA file {str(file)!r} is a folder; give the .sofa file in it")
        if not file.is_file():
            hint = missing_hint(file) or head_hint(str(path)) or " (Debian ships the MIT KEMAR set in libmysofa1)"
            raise HrtfError(f"SOFA file {str(file)!r} does not exist{hint}")
        check_container(file)
        with stalls.watched(file, "opening", limit_s=stalls.open_limit_s(file), library="the netCDF library"):
            sofa = read_sofa(file)
        irs, rate = responses(sofa, file)
        irs = with_delays(irs, getattr(sofa, "Data_Delay", None), file)
        angles, distances = source_directions(sofa, irs.shape[0], file)
        keep = farthest_per_direction(angles, distances)
        note = ""
        if not keep.all():
            note = f" (measured at {distances.min():g}-{distances.max():g} m: each direction read at its farthest)"
            irs, angles = irs[keep], angles[keep]
        sides = receiver_sides(sofa)  # the ears' y (left +), meters
        if sides is not None and sides[0] < 0.0 < sides[1]:  # the right ear listed first: soundstage's order is left, right
            irs = irs[:, ::-1]
        check_measurements(irs, angles, file)
        irs = without_silent_tail(irs)
        radius = float(np.abs(sides).max()) if sides is not None else 0.0875
        hrtf = cls(irs, angles[:, 0] % 360.0, angles[:, 1], rate, source=str(file) + note, radius_m=radius or 0.0875)
        _check_sides(hrtf, file)
        if sample_rate is not None and abs(sample_rate - rate) > 1e-6:
            hrtf = hrtf.resampled(sample_rate)
        return hrtf

    def resampled(self, sample_rate: float) -> HrtfSet:
        """The same set at another sample rate (polyphase resampling, scipy)."""
        import scipy.signal  # noqa: PLC0415 (slow to load: on first use)

        ratio = Fraction(int(round(sample_rate)), int(round(self.sample_rate))).limit_denominator(1000)
        irs = scipy.signal.resample_poly(self.irs, ratio.numerator, ratio.denominator, axis=-1)
        note = f"{self.source} (resampled {self.sample_rate:g} -> {sample_rate:g} Hz)"
        return HrtfSet(irs, self.azimuth_deg, self.elevation_deg, float(sample_rate), source=note, radius_m=self.radius_m)

    # -- interpolation ------------------------------------------------------------
    def _nearest(self, azimuth_deg: float, elevation_deg: float) -> int:
        difference = (self.azimuth_deg - azimuth_deg + 180.0) % 360.0 - 180.0
        return int(np.argmin(difference**2 + (self.elevation_deg - elevation_deg) ** 2))

    def _ring_weights(self, elevation: float, azimuth: float) -> list[tuple[int, float]]:
        members = np.flatnonzero(np.isclose(self.elevation_deg, elevation))
        azimuths = self.azimuth_deg[members]
        if len(members) == 1:
            return [(int(members[0]), 1.0)]
        order = np.argsort(azimuths)
        members, azimuths = members[order], azimuths[order]
        a = azimuth % 360.0
        upper = int(np.searchsorted(azimuths, a, side="right")) % len(members)
        lower = (upper - 1) % len(members)
        span = (azimuths[upper] - azimuths[lower]) % 360.0
        if span == 0:
            return [(int(members[lower]), 1.0)]
        t = ((a - azimuths[lower]) % 360.0) / span
        return [(int(members[lower]), 1.0 - t), (int(members[upper]), t)]

    def weights(self, azimuth_deg: float, elevation_deg: float) -> list[tuple[int, float]]:
        """Measurements and weights used for a direction (bilinear on a ring grid, else barycentric on the
        triangulation of the directions: module notes)."""
        if self._triangles is not None:
            return self._triangles.weights(azimuth_deg, elevation_deg)
        rings = self._rings
        elevation = float(np.clip(elevation_deg, rings[0], rings[-1]))
        upper = int(np.searchsorted(rings, elevation, side="left"))
        if upper < len(rings) and np.isclose(rings[upper], elevation):
            return self._ring_weights(rings[upper], azimuth_deg)
        lower = upper - 1
        t = (elevation - rings[lower]) / (rings[upper] - rings[lower])
        combined = [(i, w * (1 - t)) for i, w in self._ring_weights(rings[lower], azimuth_deg)]
        combined += [(i, w * t) for i, w in self._ring_weights(rings[upper], azimuth_deg)]
        return combined

    def ear_responses(self, frequencies_hz: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Complex ear responses, shape (2, D, F), relative to the free field at the head center.

        Exact at any frequency: the interpolated, onset-aligned impulse responses
        are evaluated by their DTFT (:func:`_dtft`), then the interpolated onset delay applied.
        """
        frequencies = np.asarray(frequencies_hz, dtype=float)
        units = np.atleast_2d(directions)
        aligned = np.zeros((len(units), 2, self._aligned_ir.shape[-1]))
        onsets = np.empty((len(units), 2))
        for d, vector in enumerate(units):
            weights = self.weights(*azimuth_elevation_deg(vector))
            for index, weight in weights:
                aligned[d] += weight * self._aligned_ir[index]
            onsets[d] = self._onset(weights)
        delay_s = (onsets - self.LEAD - self._zero)[..., None] / self.sample_rate  # (D, 2, 1)
        result = _dtft(aligned, frequencies, self.sample_rate) / self._gain * np.exp(-2j * np.pi * frequencies * delay_s)
        return np.swapaxes(result, 0, 1)

    def _onset(self, weights: list[tuple[int, float]]) -> np.ndarray:
        """Interpolated onset of each ear (left, right) for a direction's :meth:`weights`, samples."""
        onset = np.zeros(2)
        for index, weight in weights:
            onset += weight * self._onsets[index]
        return onset

    def arrival_s(self, azimuth_deg: float, elevation_deg: float = 0.0) -> np.ndarray:
        """Onset time of each ear (left, right) for a direction, seconds re the frontal measurement."""
        return np.asarray((self._onset(self.weights(azimuth_deg, elevation_deg)) - self._zero) / self.sample_rate)

    def hrir(self, azimuth_deg: float, elevation_deg: float = 0.0, *, lead_samples: int = 0) -> np.ndarray:
        """Interpolated HRIRs (2, taps + lead), time zero at ``lead_samples`` (unnormalized delay reference).

        The onset-aligned interpolation of :meth:`ear_responses`, returned in the
        time domain with the set's own timing (each ear's onset where the
        measurement would put it) and its own scale.
        """
        n = self._fft_size
        aligned = np.zeros((2, self._aligned.shape[-1]), complex)
        weights = self.weights(azimuth_deg, elevation_deg)
        for index, weight in weights:
            aligned += weight * self._aligned[index]
        onset = self._onset(weights)
        k = np.arange(aligned.shape[-1])
        spectrum = aligned * np.exp(-2j * np.pi * k * (onset[:, None] - self.LEAD + lead_samples) / n)
        return scipy.fft.irfft(spectrum, n=n, axis=-1)[:, : self.irs.shape[-1] + lead_samples]

    def measured(self, azimuth_deg: float, elevation_deg: float = 0.0) -> np.ndarray:
        """The measured HRIR pair nearest to a direction, shape (2, taps)."""
        return np.asarray(self.irs[self._nearest(azimuth_deg, elevation_deg)])

    def without(self, azimuth_deg: float, elevation_deg: float = 0.0) -> HrtfSet:
        """The set minus the measurement at a direction (for leave-one-out checks)."""
        keep = np.ones(len(self.azimuth_deg), bool)
        keep[self._nearest(azimuth_deg, elevation_deg)] = False
        return HrtfSet(
            self.irs[keep], self.azimuth_deg[keep], self.elevation_deg[keep], self.sample_rate, self.source, self.radius_m
        )


#: A set is refused when, for a source at +-90 degrees (or the measurement nearest), the ear on the far side
#: is louder than the near one by more than this over 2-8 kHz (dB): no head shadows its own side.
SIDE_CHECK_DB = 6.0


def _check_sides(hrtf: HrtfSet, file: Path) -> None:
    """Refuse a set whose left-side sources are loudest at the right ear (and the other way round): azimuths
    that run clockwise, or ears swapped, against SOFA's convention. Either would mirror every design."""
    frequencies = np.fft.rfftfreq(hrtf._fft_size, 1 / hrtf.sample_rate)  # the grid of the set's own spectra
    band = (frequencies >= 2000.0) & (frequencies <= 8000.0)
    if not band.any():
        return
    for azimuth, near, far in ((90.0, 0, 1), (270.0, 1, 0)):
        index = hrtf._nearest(azimuth, 0.0)
        off = abs((hrtf.azimuth_deg[index] - azimuth + 180.0) % 360.0 - 180.0)
        if off > 30.0 or abs(hrtf.elevation_deg[index]) > 30.0:
            continue  # nothing measured near that side
        power = np.sum(np.abs(hrtf._aligned[index][:, band]) ** 2, axis=-1)  # aligning moves phase only
        louder_db = 10 * np.log10(max(power[far], 1e-30) / max(power[near], 1e-30))
        if louder_db > SIDE_CHECK_DB:
            side = "left" if azimuth == 90.0 else "right"
            raise HrtfError(
                f"SOFA file {str(file)!r}: the source at azimuth {hrtf.azimuth_deg[index]:g} deg (SOFA's {side}) is "
                f"{louder_db:.0f} dB louder at the other ear (2-8 kHz): its azimuths run clockwise or its ears are "
                "swapped; SOFA counts azimuth counter-clockwise from the front, and ReceiverPosition gives each "
                "ear's side (fix the file)"
            )


def _is_ring_grid(azimuth_deg: np.ndarray, elevation_deg: np.ndarray) -> bool:
    """Whether every ring of constant elevation goes round in steps of at most :data:`RING_GAP_DEG` (one
    measurement only at a pole)."""
    elevations = np.round(elevation_deg, 6)
    for ring in np.unique(elevations):
        azimuths = np.sort(np.mod(azimuth_deg[elevations == ring], 360.0))
        if len(azimuths) == 1:
            if abs(ring) < 89.0:
                return False
            continue
        if np.diff(np.append(azimuths, azimuths[0] + 360.0)).max() > RING_GAP_DEG:
            return False
    return True


class _Triangulation:
    """The spherical Delaunay triangulation of a set's directions, for barycentric interpolation."""

    def __init__(self, hrtf: HrtfSet) -> None:
        import scipy.spatial  # noqa: PLC0415 (slow to load: on first use)

        units = np.stack([direction(a, e) for a, e in zip(hrtf.azimuth_deg, hrtf.elevation_deg)])
        _, first = np.unique(np.round(units, 9), axis=0, return_index=True)  # one measurement per direction
        self._index = np.sort(first)
        points = units[self._index]
        try:
            hull = scipy.spatial.ConvexHull(points)
            # the faces the origin lies inside of: a grid that leaves a cap out (no measurement below some
            # elevation) closes its hull with faces between the origin and the measured surface, not on it
            faces = hull.simplices[hull.equations[:, 3] < -1e-9]
        except (scipy.spatial.QhullError, ValueError):  # fewer than four directions, or all on one great circle
            faces = np.zeros((0, 3), int)
        corners = points[faces].transpose(0, 2, 1)  # (T, 3 xyz, 3 corners)
        solid = np.abs(np.linalg.det(corners)) > 1e-12 if len(faces) else np.zeros(0, bool)
        self._faces = faces[solid]
        self._inverse = np.linalg.inv(corners[solid]) if solid.any() else np.zeros((0, 3, 3))
        self._points = points

    def weights(self, azimuth_deg: float, elevation_deg: float) -> list[tuple[int, float]]:
        """The corners of the triangle the direction passes through and their barycentric weights (the nearest
        measurement alone where no triangle holds the direction: outside the grid's coverage)."""
        target = direction(azimuth_deg, elevation_deg)
        if len(self._faces):
            coordinates = self._inverse @ target  # (T, 3): the direction in each face's corners
            face = int(np.argmax(coordinates.min(axis=1)))
            share = coordinates[face]
            if share.min() >= -1e-9 and share.sum() > 0:
                share = np.maximum(share, 0.0) / np.maximum(share, 0.0).sum()
                return [(int(self._index[c]), float(w)) for c, w in zip(self._faces[face], share) if w > 1e-12]
        return [(int(self._index[np.argmax(self._points @ target)]), 1.0)]


#: The head models a stage's ``hrtf`` setting can name instead of a SOFA file.
HEAD_MODELS: dict[str, type[HybridSphereHead | SphericalHead | RigidSphereHead | BlendedSphereHead | HeadAndTorso]] = {
    "model": HybridSphereHead,
    "brown-duda": SphericalHead,
    "rigid-sphere": RigidSphereHead,
    "blended-sphere": BlendedSphereHead,
    "head-and-torso": HeadAndTorso,
}
_MODEL_NAMES = {
    "model": "head model (the exact sphere's timing, Brown & Duda's level above 2 kHz)",
    "brown-duda": "Brown & Duda's spherical head model",
    "rigid-sphere": "rigid-sphere head model (exact)",
    "blended-sphere": "blended-sphere head model (exact below 1 kHz, Brown & Duda above 2 kHz)",
    "head-and-torso": "head-and-torso model (the head model above a spherical torso, its reflection ray-traced)",
}


class HeadChoice:
    """A stage's ``hrtf`` setting: a head model, a SOFA file, or several SOFA files.

    The models (:data:`HEAD_MODELS`): ``"model"``, the default, the exact sphere's timing with its
    level below 1 kHz and Brown & Duda's above 2 kHz (:class:`~soundstage.acoustics.head.HybridSphereHead`);
    ``"brown-duda"``, Brown & Duda's spherical head (the default until 2026-12); ``"rigid-sphere"``, the
    exact sphere; ``"blended-sphere"``, the exact sphere's level below 1 kHz, Brown & Duda's above 2 kHz
    and Brown & Duda's (Woodworth's) timing (:class:`~soundstage.acoustics.head.BlendedSphereHead`);
    ``"head-and-torso"``, the head model above a spherical torso whose reflection is ray-traced
    (:class:`~soundstage.acoustics.head.HeadAndTorso`).

    Several files (a list): the first is the head a stage designs on and previews through (the
    listener's own); a robust crosstalk design holds for all of them (:meth:`others`), e.g. the
    people who will listen to a master, or one listener measured several times.

    Each file is read once, when the stage is made (a bad file fails there, not
    mid-stream), and resampled once per sample rate the stage runs at.
    """

    #: At most this many SOFA files in one setting (each is read and kept in memory).
    MAX_FILES = 16

    def __init__(self, hrtf: str | Sequence[str]) -> None:
        self.hrtf = hrtf_setting(hrtf)
        files = (self.hrtf,) if isinstance(self.hrtf, str) else self.hrtf
        self._sets: dict[tuple[int, float], HrtfSet] = {}
        if files[0] not in HEAD_MODELS:
            self._files = [HrtfSet.from_sofa(file) for file in files]

    @property
    def is_model(self) -> bool:
        """Whether the setting names a head model (not a measured set)."""
        return isinstance(self.hrtf, str) and self.hrtf in HEAD_MODELS

    def head(
        self, sample_rate: float, radius_m: float = 0.0875
    ) -> HybridSphereHead | SphericalHead | RigidSphereHead | BlendedSphereHead | HeadAndTorso | HrtfSet:
        """The head at a sample rate: the model with ``radius_m``, or the (first) set, resampled if needed."""
        if self.is_model:
            return HEAD_MODELS[str(self.hrtf)](radius_m=radius_m)
        return self._set(0, sample_rate)

    def others(self, sample_rate: float) -> list[HrtfSet]:
        """The sets after the first (none for a model or one file), resampled if needed."""
        return [] if self.is_model else [self._set(index, sample_rate) for index in range(1, len(self._files))]

    def identity(self) -> tuple[str, ...]:
        """What designs on this head depend on: the model's name, or the files' contents (digests, not names)."""
        if self.is_model:
            return ("model", str(self.hrtf))
        files = (self.hrtf,) if isinstance(self.hrtf, str) else self.hrtf
        return ("sofa", *(file_digest(file) for file in files))

    def _set(self, index: int, sample_rate: float) -> HrtfSet:
        if (index, sample_rate) not in self._sets:
            measured = self._files[index]
            same = abs(measured.sample_rate - sample_rate) < 1e-6
            self._sets[index, sample_rate] = measured if same else measured.resampled(sample_rate)
        return self._sets[index, sample_rate]

    def source(self, sample_rate: float | None, radius_m: float = 0.0875) -> str:
        """Where the ears come from, with any conversion (resampling) applied."""
        if self.is_model:
            return f"{_MODEL_NAMES[str(self.hrtf)]}, radius {radius_m} m"
        first = self._files[0].source if sample_rate is None else self._set(0, sample_rate).source
        return first if len(self._files) == 1 else f"{first} (and {len(self._files) - 1} more set(s) for the design)"


def head_hint(head: str) -> str:
    """``"; ..."``: what a head given by a name that is neither a model nor a file may have meant (a model in another
    case, or the MIT KEMAR set, which Debian's libmysofa1 ships), else ``""``."""
    model = next((name for name in HEAD_MODELS if name.casefold() == head.casefold()), None)
    if model:
        return f"; did you mean {model!r}?"
    if "kemar" in head.casefold() and Path(DEFAULT_SOFA).is_file():
        return f"; the MIT KEMAR set is {str(DEFAULT_SOFA)!r}"
    return ""


def hrtf_setting(value: object) -> str | tuple[str, ...]:
    """A stage's ``hrtf`` value checked: a model name or a file (str), or several files (a tuple; one: its str).

    Raises :class:`HrtfError` (one line) for anything else: an empty list, a model in a list, too many files.
    A path may be given as a :class:`pathlib.Path` (any ``os.PathLike``): it is kept as its text.
    """
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    elif isinstance(value, (list, tuple)):
        value = [os.fspath(item) if isinstance(item, os.PathLike) else item for item in value]
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(item, str) and item for item in value):
        if len(value) == 1:
            return str(value[0])
        models = [item for item in value if item in HEAD_MODELS]
        if models:
            raise HrtfError(f"hrtf={list(value)!r}: several heads must be SOFA files; {models[0]!r} is a head model")
        if len(value) > HeadChoice.MAX_FILES:
            raise HrtfError(f"hrtf: {len(value)} SOFA files given; at most {HeadChoice.MAX_FILES}")
        return tuple(value)
    raise HrtfError(f"hrtf={value!r} must be a head model's name, a SOFA file, or a list of SOFA files")


def _dtft(signals: np.ndarray, frequencies_hz: np.ndarray, sample_rate: float) -> np.ndarray:
    """The discrete-time Fourier transform of ``signals`` (..., n) at ``frequencies_hz`` (F,): shape (..., F).

    Where the frequencies are a DFT's bins, ``k * sample_rate / N`` for k = 0, 1, ... (``np.fft.rfftfreq``, as
    designs and analyses ask), an FFT of the signals folded to N samples gives the same sums, exactly up to
    rounding, at a fraction of the direct sum's cost; any other frequencies are summed directly.
    """
    n = signals.shape[-1]
    size = _bin_spacing(frequencies_hz, sample_rate)
    if size is None:
        kernel = np.exp(-2j * np.pi * np.outer(frequencies_hz, np.arange(n)) / sample_rate)  # (F, n)
        flat = signals.reshape(-1, n).astype(complex)  # one complex matrix product for every signal (BLAS)
        return (flat @ kernel.T).reshape(*signals.shape[:-1], len(frequencies_hz))
    folds = -(-n // size)
    folded = np.zeros((*signals.shape[:-1], folds * size))
    folded[..., :n] = signals
    folded = folded.reshape(*signals.shape[:-1], folds, size).sum(axis=-2)  # e^(-2 pi i k m / N) repeats every N
    return scipy.fft.rfft(folded, axis=-1)[..., : len(frequencies_hz)]


def _bin_spacing(frequencies_hz: np.ndarray, sample_rate: float) -> int | None:
    """N where ``frequencies_hz`` are the first bins of an N-point DFT at ``sample_rate`` (0, fs/N, 2 fs/N, ...),
    to within 1e-12 of the sample rate (a phase error below 1e-8 rad over 1000 taps); else None."""
    f = np.asarray(frequencies_hz, float)
    if f.ndim != 1 or len(f) < 2 or f[0] != 0.0 or not f[1] > 0.0:
        return None
    size = int(round(sample_rate / f[1]))
    if size < 2 or len(f) > size // 2 + 1:
        return None
    exact = np.arange(len(f)) * (sample_rate / size)
    return size if np.max(np.abs(f - exact)) <= 1e-12 * sample_rate else None
