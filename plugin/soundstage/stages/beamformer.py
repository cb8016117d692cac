"""``Beamformer``: the centre channel as a forward beam with nulls toward the side walls (1 -> N).

Design (:func:`design_beamformer`, pure): per frequency, weights ``w`` for the
drivers that can play it — the midranges, and a woofer or tweeter where the
profile gives it a ``beam_band_hz`` — such that the far-field response
``B(theta) = a(theta) . w`` (``a``: each driver's directivity and position phase
toward a direction, 0 deg = the device's front) is 1 on axis and 0 at
+-``null_deg``, and among those the one radiating the least power over the whole
sphere (maximum directivity: the most direct sound for the least room
reverberation). Where that beam is narrower than the listening window
(``|B| >= lobe_floor_db`` everywhere within +-``lobe_deg``), it is blended toward
the beam with the same nulls whose response over the window is flattest, just
enough to hold the window; diagonal
loading keeps the white-noise gain (WNG, ``|B(0)|^2 / |w|^2``, re one driver) at
or above ``min_wng_db``.
Outside the midrange band the centre goes to the woofer and the tweeter through
the same zero-phase crossovers as the crosstalk canceller.

``design_matrix_mix`` is the simple alternative: all midranges fed equally.
Both are also given in relative-transfer-function form (the reference
midrange's filter, then each midrange's ratio to it; woofer and tweeter feeds
stay direct).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.fft

from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S, direction
from soundstage.acoustics.profiles import DeviceProfile, load_profile
from soundstage.acoustics.transfer import directivity
from soundstage.dsp.fir import CrossfadingFir
from soundstage.errors import ParameterError
from soundstage.host.parameters import ParameterSpec
from soundstage.host.processor import Processor
from soundstage.stages.crosstalk import _bisect, _to_fir, band_weights
from soundstage.stages.drivers import FilterForms

__all__ = [
    "BeamFilters",
    "Beamformer",
    "beam_pattern",
    "blend_beam",
    "design_beamformer",
    "design_matrix_mix",
    "diffuse_correlation",
    "sphere_directions",
    "steering",
    "steering_toward",
]

TAPS = 1024
#: Directions sampling the sphere for diffuse-field (directivity) averages.
SPHERE_POINTS = 800
#: Strength of the side-null interferers re the diffuse field (60 dB: nulls of about that depth).
NULL_WEIGHT = 1e6
RTF_REGULARISER = 1e-4
LOADING_SLOPE = 6.0


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
    return np.einsum("fdm,fdn->fmn", np.conj(a), a) / a.shape[1]


@dataclass(frozen=True)
class BeamFilters:
    """A centre-beam design: weights on a frequency grid and FIR filters per driver."""

    sample_rate: float
    frequencies: np.ndarray
    response: np.ndarray  # (F, drivers): full-band feeds (crossovers included)
    weights: np.ndarray  # (F, beam drivers): the beam weights (before the band weighting)
    impulse: np.ndarray  # (drivers, 1, taps)
    delay_samples: int
    beam_indices: tuple[int, ...]  # the drivers (columns of weights) that form the beam
    mid_indices: tuple[int, ...]  # the midranges: the ratio stage of the RTF form
    driver_names: tuple[str, ...]
    rtf_reference: int
    rtf_gain: np.ndarray  # (1, 1, taps)
    rtf_ratio: np.ndarray  # (drivers, 1, 8 * taps)
    rtf_delay: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    def wng_db(self) -> np.ndarray:
        """White-noise gain per frequency (dB re one driver)."""
        return np.asarray(10 * np.log10(1.0 / np.maximum(np.sum(np.abs(self.weights) ** 2, axis=1), 1e-30)))


def _constrained_minimum(q: np.ndarray, c: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Per frequency, the ``w`` minimising ``w^H q w`` with ``c w = g`` (LCMV; least squares where it has no solution).

    q: (F, M, M) Hermitian positive definite; c: (F, K, M); g: (F, K). Returns (F, M).
    """
    qi_ch = np.linalg.solve(q, np.conj(np.swapaxes(c, 1, 2)))  # (F, M, K)
    x = np.linalg.pinv(c @ qi_ch, rcond=1e-10) @ g[:, :, None]
    return np.asarray((qi_ch @ x)[:, :, 0])


def design_beamformer(
    profile: DeviceProfile,
    *,
    sample_rate: float = 48000.0,
    null_deg: float = 90.0,
    min_wng_db: float = -10.0,
    lobe_deg: float = 45.0,
    lobe_floor_db: float = -6.5,
    depth: float = 1.0,
    taps: int = TAPS,
) -> BeamFilters:
    """Design the centre beam of a device (pure function).

    Per frequency, the weights of the drivers that can play it (``Driver.beam_band``:
    the midranges, and a woofer or tweeter where the profile says it can play the
    band) minimise the power radiated over the whole sphere — the reverberant
    energy a room gets back — with a unit on-axis response and nulls at
    +-``null_deg`` (interferers ``NULL_WEIGHT`` times the diffuse field: deep, giving
    way only where the WNG floor needs loading): a linearly constrained
    minimum-variance beam against a diffuse field, i.e. maximum directivity.

    Where that main lobe would dip below ``lobe_floor_db`` anywhere within
    +-``lobe_deg`` (the listening window), the weights are blended toward the beam
    with the same constraints whose response over the window is flattest (least
    squares against 1, as a point source at the device centre would give), by the
    least amount that holds the window; a blend keeps the unit on-axis response and
    the nulls. Diagonal loading keeps the white-noise gain at or above
    ``min_wng_db``; a driver near the edge of its beam band is made costlier so its
    weight fades in and out smoothly. ``depth`` blends the beam (1) with the matrix
    mix (0), weight by weight (:func:`blend_beam`).

    Examples
    --------
    >>> from soundstage.acoustics.profiles import load_profile
    >>> design = design_beamformer(load_profile("studio-5"))
    >>> design.impulse.shape, bool(design.wng_db().min() >= -10.01)
    ((5, 1, 1024), True)
    """
    beam = profile.beam_indices()
    if len(beam) < 2:
        raise ParameterError(
            f"{profile.name}: a beamformer needs at least two drivers that can play the midrange, the profile has {len(beam)}"
        )
    frequencies = np.fft.rfftfreq(taps, 1 / sample_rate)
    f = np.maximum(frequencies, frequencies[1])
    constraints = steering(profile, f, np.array([0.0, null_deg, -null_deg]), drivers=beam)  # (F, 3, M)
    angles = np.arange(5.0, lobe_deg + 1e-9, 5.0)
    window = steering(profile, f, np.concatenate([angles, -angles]), drivers=beam)  # (F, K, M): the listening window
    power = diffuse_correlation(profile, f, beam)
    scale = np.real(np.trace(power, axis1=1, axis2=2)) / len(beam)
    availability = np.stack([band_weights(f, *profile.drivers[i].beam_band) for i in beam], axis=1)  # type: ignore[misc]
    usable = availability > 1e-3
    penalty = np.where(usable, 1.0 / np.maximum(availability, 1e-3) ** 2 - 1.0, 1e6) * scale[:, None]
    eye = np.eye(len(beam))[None]
    nulls = constraints[:, 1:]
    # the side nulls as interferers NULL_WEIGHT times stronger than the diffuse field: deep where the
    # drivers allow, and giving way smoothly where the WNG floor needs loading (low frequencies)
    interference = NULL_WEIGHT * scale[:, None, None] * np.einsum("fkm,fkn->fmn", np.conj(nulls), nulls)
    floor = 10 ** (lobe_floor_db / 20)
    on_axis_only = constraints[:, :1]
    unit = np.ones((len(f), 1), complex)

    def solve(q: np.ndarray) -> np.ndarray:
        """The LCMV beam for a cost matrix q: unit on axis, normalised, zero outside the drivers' bands."""
        w = _constrained_minimum(q, on_axis_only, unit) * usable
        on_axis = np.einsum("fm,fm->f", constraints[:, 0], w)
        return np.asarray(w / np.where(np.abs(on_axis) < 1e-12, 1e-12, on_axis)[:, None])

    def directive(loading: np.ndarray) -> np.ndarray:  # the most directive beam (least power over the sphere)
        return solve(power + interference + (loading * scale)[:, None, None] * eye + penalty[:, :, None] * eye)

    # a beam that fits the window: |B - 1|^2 least over +-lobe_deg (a point source at the centre would give 1)
    fit = np.einsum("fkm,fkn->fmn", np.conj(window), window) / window.shape[1]
    flat = np.conj(window).sum(axis=1) / window.shape[1]  # (F, M): W^H 1 / K

    def fitted(loading: np.ndarray) -> np.ndarray:
        q = fit + interference + (loading * scale)[:, None, None] * eye + penalty[:, :, None] * eye
        qi_b = np.linalg.solve(q, flat[:, :, None])[:, :, 0]
        qi_c = np.linalg.solve(q, np.conj(constraints[:, 0])[:, :, None])[:, :, 0]
        c0 = constraints[:, 0]
        lagrange = (1.0 - np.einsum("fm,fm->f", c0, qi_b)) / np.einsum("fm,fm->f", c0, qi_c)
        w = (qi_b + lagrange[:, None] * qi_c) * usable
        on_axis = np.einsum("fm,fm->f", c0, w)
        return np.asarray(w / np.where(np.abs(on_axis) < 1e-12, 1e-12, on_axis)[:, None])

    octave = np.log2(f)
    wng_floor = 10 ** (min_wng_db / 10)

    def least_loading(beam_for: Any) -> np.ndarray:
        """Per frequency the least diagonal loading (log10) meeting the WNG floor, slope-limited over frequency.

        The least loading jumps where a regime ends (e.g. the exact-null solution's WNG crossing the
        floor); an upper envelope falling at most LOADING_SLOPE decades per octave spreads that over
        frequency, so the weights and the filters stay smooth.
        """

        def wng(loading: np.ndarray) -> np.ndarray:
            return np.asarray(1.0 / np.maximum(np.sum(np.abs(beam_for(loading)) ** 2, axis=1), 1e-30))

        need = wng(np.full(len(f), 1e-12)) < wng_floor
        least = _bisect(len(f), lambda loading: wng(loading) >= wng_floor, -12.0, 9.0, steps=40)
        return _slope_limited(np.where(need, least, -12.0), octave, LOADING_SLOPE)

    log_loading = least_loading(directive)
    sharp = directive(10**log_loading)
    # the beam that keeps the window flattest, with the same nulls; both have a unit on-axis response
    # and the nulls, so any blend of the two has them too
    wide = fitted(10 ** least_loading(fitted))

    def window_ok(blend: np.ndarray) -> np.ndarray:
        w = (1.0 - blend[:, None]) * sharp + blend[:, None] * wide
        return np.asarray(np.abs(np.einsum("fkm,fm->fk", window, w)).min(axis=1) >= floor)

    # per frequency the least blend toward the wide beam that holds the listening window (|B| >= floor
    # within +-lobe_deg), spread over frequency like the loading (at most 2 per octave) to stay smooth
    needs_blend = ~window_ok(np.zeros(len(f)))
    least_blend = _bisect(len(f), window_ok, 0.0, 1.0, steps=20, log=False)
    blend = np.clip(_slope_limited(np.where(needs_blend, least_blend, 0.0), octave, 2.0), 0.0, 1.0)
    weights = (1.0 - blend[:, None]) * sharp + blend[:, None] * wide
    info = {"loading": 10**log_loading, "null_deg": null_deg, "depth": 1.0, "window_blend": blend}
    design = _finish(profile, frequencies, weights, beam, sample_rate, taps, info)
    if depth < 1.0:
        return blend_beam(design, design_matrix_mix(profile, sample_rate=sample_rate, taps=taps), depth, profile)
    return design


def blend_beam(beam: BeamFilters, matrix: BeamFilters, depth: float, profile: DeviceProfile) -> BeamFilters:
    """The beam (``depth`` 1) blended with the matrix mix (0), weight by weight (pure function).

    Cheap next to a beam design: a depth knob moves without designing the beam again.
    """
    columns = list(beam.beam_indices)
    spread = np.zeros_like(beam.weights)
    for column, index in enumerate(matrix.beam_indices):
        spread[:, columns.index(index)] = matrix.weights[:, column]
    weights = depth * beam.weights + (1.0 - depth) * spread
    info = {**beam.info, "depth": depth}
    taps = beam.impulse.shape[-1]
    return _finish(profile, beam.frequencies, weights, columns, beam.sample_rate, taps, info)


def design_matrix_mix(profile: DeviceProfile, *, sample_rate: float = 48000.0, taps: int = TAPS) -> BeamFilters:
    """The simple alternative to the beam: all midranges fed equally (normalised on axis)."""
    mids = profile.indices("mid")
    frequencies = np.fft.rfftfreq(taps, 1 / sample_rate)
    f = np.maximum(frequencies, frequencies[1])
    on_axis = steering(profile, f, np.array([0.0]), drivers=mids)[:, 0, :]  # (F, M)
    total = on_axis.sum(axis=1)
    # equal feeds; one common equaliser makes the on-axis response flat, as for the beam
    weights = np.ones((len(f), len(mids))) / np.where(np.abs(total) < 1e-12, 1e-12, total)[:, None]
    return _finish(profile, frequencies, weights, mids, sample_rate, taps, {"matrix": True})


def _slope_limited(values: np.ndarray, octave: np.ndarray, slope: float) -> np.ndarray:
    """The least upper envelope of ``values`` that falls at most ``slope`` per octave (``octave``: log2 f)."""
    return np.asarray((values[None, :] - slope * np.abs(octave[:, None] - octave[None, :])).max(axis=1))


def _centre_timing(profile: DeviceProfile, frequencies: np.ndarray, index: int) -> np.ndarray:
    """Phase that moves a driver's on-axis arrival to the device centre's: exp(-j k x), x its lead toward the front."""
    on_axis = steering(profile, frequencies, np.array([0.0]), drivers=[index])[:, 0, 0]
    return np.asarray(np.conj(on_axis) / np.maximum(np.abs(on_axis), 1e-12))


def _finish(
    profile: DeviceProfile,
    frequencies: np.ndarray,
    weights: np.ndarray,
    beam: list[int],
    sample_rate: float,
    taps: int,
    info: dict[str, Any],
) -> BeamFilters:
    mids = profile.indices("mid")
    low = min(profile.drivers[i].band_hz[0] for i in mids)
    high = max(profile.drivers[i].band_hz[1] for i in mids)
    woofers, tweeters = profile.indices("woofer"), profile.indices("tweeter")
    w_mid = band_weights(frequencies, low if woofers else 1e-6, high if tweeters else 1e12)
    response = np.zeros((len(frequencies), len(profile.drivers)), complex)
    for column, index in enumerate(beam):
        response[:, index] = weights[:, column] * w_mid
    # the plain woofer and tweeter feeds, timed like the beam (to the device centre on axis), so the
    # crossovers sum in phase: a front tweeter 8 cm ahead of the centre is delayed by those 8 cm
    f = np.maximum(frequencies, frequencies[1])
    for index in woofers:
        response[:, index] += (1.0 - band_weights(frequencies, low, 1e12)) / len(woofers) * _centre_timing(profile, f, index)
    for index in tweeters:
        response[:, index] += band_weights(frequencies, high, 1e12) / len(tweeters) * _centre_timing(profile, f, index)
    delay = taps // 2
    impulse = _to_fir(response.T[:, None, :], delay, taps)
    band = (frequencies >= low) & (frequencies <= high)
    # the reference is the midrange whose weight never gets small in the band (ratios stay bounded)
    mid_columns = [beam.index(i) for i in mids]
    reference = int(mids[int(np.argmax(np.abs(weights[band][:, mid_columns]).min(axis=0)))])
    # RTF form: the reference driver's own filter, then each midrange driver's ratio to it,
    # taken from the realised filters on a fine grid (regularised where the reference is silent)
    rtf_gain = impulse[reference][None]  # (1, 1, taps)
    fine, ratio_delay = 16 * taps, 2 * taps
    realised = scipy.fft.rfft(impulse[:, 0], n=fine, axis=-1)
    denominator = realised[reference]
    regulariser = (RTF_REGULARISER * np.abs(denominator).max()) ** 2
    ratios = np.zeros((len(profile.drivers), 1, realised.shape[-1]), complex)
    for index in mids:
        ratios[index, 0] = realised[index] * np.conj(denominator) / (np.abs(denominator) ** 2 + regulariser)
    rtf_ratio = _to_fir(ratios, ratio_delay, fine)[..., : 8 * taps]
    rtf_ratio[reference, 0] = 0.0
    rtf_ratio[reference, 0, ratio_delay] = 1.0
    return BeamFilters(
        sample_rate=float(sample_rate),
        frequencies=frequencies,
        response=response,
        weights=weights,
        impulse=impulse,
        delay_samples=delay,
        beam_indices=tuple(beam),
        mid_indices=tuple(mids),
        driver_names=tuple(profile.driver_names),
        rtf_reference=reference,
        rtf_gain=rtf_gain,
        rtf_ratio=rtf_ratio,
        rtf_delay=ratio_delay,
        info=info,
    )


def beam_pattern(
    design: BeamFilters,
    profile: DeviceProfile,
    azimuth_deg: np.ndarray,
    *,
    gains: np.ndarray | None = None,
    aims: np.ndarray | None = None,
) -> np.ndarray:
    """Far-field response of the beam's midranges (F, azimuths), complex, on the design's grid."""
    a = steering(
        profile,
        np.maximum(design.frequencies, design.frequencies[1]),
        azimuth_deg,
        drivers=list(design.beam_indices),
        gains=gains,
        aims=aims,
    )
    return np.einsum("fam,fm->fa", a, design.weights)


class Beamformer(FilterForms, Processor):  # type: ignore[misc]  # output_channels: a property here, an int there
    """The centre channel as a beam from a device: 1 input -> one feed per driver.

    Parameters
    ----------
    device : str
        Device profile (configuration).
    mode : {"beam", "matrix"}
        The null-steering beam, or all midranges fed equally (configuration).
    form : {"direct", "rtf"}
        Run the direct filters or the relative-transfer-function form.
    min_wng_db : float, -20..0 dB
        White-noise-gain floor of the beam design.
    depth : float, 0..1
        Blend of the beam (1) with the matrix mix (0); changes crossfade.
    """

    type_name = "Beamformer"
    config_keys = ("device", "mode", "form")
    input_channels = 1
    parameter_specs = (
        ParameterSpec("min_wng_db", -10.0, -20.0, 0.0, unit="dB", description="White-noise-gain floor"),
        ParameterSpec("depth", 1.0, 0.0, 1.0, description="Beam (1) or matrix mix (0)"),
    )

    def __init__(
        self, *, device: str = "studio-5", mode: str = "beam", form: str = "direct", min_wng_db: float = -10.0, depth: float = 1.0
    ) -> None:
        if mode not in ("beam", "matrix"):
            raise ParameterError(f"Beamformer: mode={mode!r} must be 'beam' or 'matrix'")
        if form not in ("direct", "rtf"):
            raise ParameterError(f"Beamformer: form={form!r} must be 'direct' or 'rtf'")
        self.device, self.mode, self.form = device, mode, form
        self._profile = load_profile(device)
        super().__init__(min_wng_db=min_wng_db, depth=depth)
        self.partition_size = 256
        self._engines: list[CrossfadingFir] = []

    def design(self, sample_rate: float) -> BeamFilters:
        """The design for the current settings (memoised: a reset does not redesign)."""
        return self._memoised(sample_rate, self._design)  # type: ignore[no-any-return]

    def _design(self, sample_rate: float) -> BeamFilters:
        if self.mode == "matrix":
            return self._matrix(sample_rate)
        beam = self._memoised(sample_rate, self._full_beam, depends_on=("min_wng_db",))
        depth = float(self._values["depth"])
        return beam if depth >= 1.0 else blend_beam(beam, self._matrix(sample_rate), depth, self._profile)

    def _full_beam(self, sample_rate: float) -> BeamFilters:
        """The beam at depth 1, kept across depth changes (a depth move only blends it with the matrix mix)."""
        return design_beamformer(self._profile, sample_rate=sample_rate, min_wng_db=float(self._values["min_wng_db"]))

    def _matrix(self, sample_rate: float) -> BeamFilters:
        """The matrix mix: it depends on no parameter."""
        return self._memoised(sample_rate, self._matrix_mix, depends_on=())  # type: ignore[no-any-return]

    def _matrix_mix(self, sample_rate: float) -> BeamFilters:
        return design_matrix_mix(self._profile, sample_rate=sample_rate)

    @property
    def latency_samples(self) -> int:
        return TAPS // 2 + self.partition_size + (2 * TAPS + self.partition_size if self.form == "rtf" else 0)

    def _filters(self, design: BeamFilters) -> list[np.ndarray]:
        if self.form == "direct":
            return [design.impulse]
        others = [i for i in range(len(design.driver_names)) if i not in design.mid_indices]
        return [design.rtf_gain, design.rtf_ratio, design.impulse[others]]

    def _band_delay_samples(self) -> int:  # the ratio stage's latency
        return 2 * TAPS + self.partition_size

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.device != "studio-5":
            config["device"] = self.device
        if self.mode != "beam":
            config["mode"] = self.mode
        if self.form != "direct":
            config["form"] = self.form
        return config
