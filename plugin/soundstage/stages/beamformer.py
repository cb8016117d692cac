"""``Beamformer``: the center channel as a forward beam with nulls toward the side walls (1 -> N).

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
Outside the midrange band the center goes to the woofer and the tweeter through
the same zero-phase crossovers as the crosstalk canceller.

``design_matrix_mix`` is the simple alternative: all midranges fed equally.
Both are also given in relative-transfer-function form (the reference
midrange's filter, then each midrange's ratio to it; woofer and tweeter feeds
stay direct).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft

from soundstage.acoustics.array import constrained_minimum, diffuse_correlation, on_axis_timing, steering
from soundstage.acoustics.feeds import DriverFilters, assemble_band_feeds, midrange_band_hz
from soundstage.acoustics.profiles import DeviceProfile, device_setting, load_profile
from soundstage.designstore import one_blas_thread
from soundstage.dsp.crossover import band_weights
from soundstage.dsp.fir import CrossfadingFir
from soundstage.dsp.realize import relative_responses, to_fir
from soundstage.dsp.search import bisect_per_bin, crossing_per_bin, slope_limited
from soundstage.dsp.spans import span
from soundstage.errors import ParameterError
from soundstage.host.parameters import ParameterSpec
from soundstage.host.processor import Processor
from soundstage.stages.drivers import FilterForms

__all__ = [
    "BeamProblem",
    "Beamformer",
    "beam_pattern",
    "blend_beam",
    "design_beamformer",
    "design_matrix_mix",
    "realize_beam",
]

#: The filters' length at 48 kHz (:func:`~soundstage.dsp.spans.span` gives it at other rates).
TAPS = 1024
#: Strength of the side-null interferers re the diffuse field (60 dB: nulls of about that depth).
NULL_WEIGHT = 1e6
RTF_REGULARIZER = 1e-4
LOADING_SLOPE = 6.0


@one_blas_thread()  # the same bits as a stage's design, whatever BLAS's threads (designstore.one_blas_thread)
def design_beamformer(
    profile: DeviceProfile,
    *,
    sample_rate: float = 48000.0,
    null_deg: float = 90.0,
    min_wng_db: float = -10.0,
    lobe_deg: float = 45.0,
    lobe_floor_db: float = -6.5,
    depth: float = 1.0,
    taps: int | None = None,
) -> DriverFilters:
    """Design the center beam of a device (pure function).

    Per frequency, the weights of the drivers that can play it (``Driver.beam_band``:
    the midranges, and a woofer or tweeter where the profile says it can play the
    band) minimize the power radiated over the whole sphere — the reverberant
    energy a room gets back — with a unit on-axis response and nulls at
    +-``null_deg`` (interferers ``NULL_WEIGHT`` times the diffuse field: deep, giving
    way only where the WNG floor needs loading): a linearly constrained
    minimum-variance beam against a diffuse field, i.e. maximum directivity.

    Where that main lobe would dip below ``lobe_floor_db`` anywhere within
    +-``lobe_deg`` (the listening window), the weights are blended toward the beam
    with the same constraints whose response over the window is flattest (least
    squares against 1, as a point source at the device center would give), by the
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
    taps = taps if taps is not None else span(TAPS, sample_rate)
    beam = profile.beam_indices()
    if len(beam) < 2:
        raise ParameterError(
            f"{profile.name}: a beamformer needs at least two drivers that can play the midrange, the profile has {len(beam)}"
        )
    frequencies = np.fft.rfftfreq(taps, 1 / sample_rate)
    problem = BeamProblem.of(profile, frequencies, beam, null_deg=null_deg, lobe_deg=lobe_deg)
    wng_floor = 10 ** (min_wng_db / 10)
    log_loading = problem.least_loading(problem.directive, wng_floor)
    sharp = problem.directive(10**log_loading)
    # the beam that keeps the window flattest, with the same nulls; both have a unit on-axis response
    # and the nulls, so any blend of the two has them too
    wide = problem.flattest(10 ** problem.least_loading(problem.flattest, wng_floor))
    blend = problem.window_blend(sharp, wide, 10 ** (lobe_floor_db / 20))
    weights = (1.0 - blend[:, None]) * sharp + blend[:, None] * wide
    info = {"loading": 10**log_loading, "null_deg": null_deg, "depth": 1.0, "window_blend": blend}
    design = realize_beam(profile, frequencies, weights[:, :, None], beam, sample_rate, taps, info)
    if depth < 1.0:
        return blend_beam(design, design_matrix_mix(profile, sample_rate=sample_rate, taps=taps), depth, profile)
    return design


@dataclass(frozen=True)
class BeamProblem:
    """The center beam's design problem on a frequency grid: constraints, costs, and the beams solving it.

    Attributes (F bins, M beam drivers, K window directions)
    ----------
    f : ndarray, shape (F,)
        Frequencies, Hz (0 Hz replaced by the first bin).
    constraints : ndarray, shape (F, 3, M)
        Steering toward 0 deg and the two null directions.
    window : ndarray, shape (F, K, M)
        Steering toward the listening window (every 5 deg to +-``lobe_deg``).
    power : ndarray, shape (F, M, M)
        The diffuse-field correlation: power radiated over the sphere.
    scale : ndarray, shape (F,)
        Its mean diagonal: the unit of loading and penalties.
    usable : ndarray, shape (F, M), bool
        Where each driver may play (its beam band).
    penalty : ndarray, shape (F, M)
        Extra cost of a driver near the edge of its beam band.
    interference : ndarray, shape (F, M, M)
        The side nulls as interferers ``NULL_WEIGHT`` times the diffuse field.
    """

    f: np.ndarray
    constraints: np.ndarray
    window: np.ndarray
    power: np.ndarray
    scale: np.ndarray
    usable: np.ndarray
    penalty: np.ndarray
    interference: np.ndarray

    @classmethod
    def of(
        cls, profile: DeviceProfile, frequencies: np.ndarray, beam: list[int], *, null_deg: float, lobe_deg: float
    ) -> BeamProblem:
        """Set up the problem for the drivers ``beam`` of ``profile``."""
        f = np.maximum(frequencies, frequencies[1])
        constraints = steering(profile, f, np.array([0.0, null_deg, -null_deg]), drivers=beam)  # (F, 3, M)
        angles = np.arange(5.0, lobe_deg + 1e-9, 5.0)
        window = steering(profile, f, np.concatenate([angles, -angles]), drivers=beam)  # (F, K, M): the listening window
        power = diffuse_correlation(profile, f, beam)
        scale = np.real(np.trace(power, axis1=1, axis2=2)) / len(beam)
        availability = np.stack([band_weights(f, *profile.drivers[i].beam_band) for i in beam], axis=1)  # type: ignore[misc]
        usable = availability > 1e-3
        penalty = np.where(usable, 1.0 / np.maximum(availability, 1e-3) ** 2 - 1.0, 1e6) * scale[:, None]
        nulls = constraints[:, 1:]
        # the side nulls as interferers NULL_WEIGHT times stronger than the diffuse field: deep where the
        # drivers allow, and giving way smoothly where the WNG floor needs loading (low frequencies)
        interference = NULL_WEIGHT * scale[:, None, None] * np.einsum("fkm,fkn->fmn", np.conj(nulls), nulls)
        return cls(f, constraints, window, power, scale, usable, penalty, interference)

    def _loaded(self, q: np.ndarray, loading: np.ndarray) -> np.ndarray:
        eye = np.eye(q.shape[1])[None]
        return np.asarray(q + self.interference + (loading * self.scale)[:, None, None] * eye + self.penalty[:, :, None] * eye)

    def _normalized(self, w: np.ndarray) -> np.ndarray:
        on_axis = np.einsum("fm,fm->f", self.constraints[:, 0], w)
        return np.asarray(w / np.where(np.abs(on_axis) < 1e-12, 1e-12, on_axis)[:, None])

    def directive(self, loading: np.ndarray) -> np.ndarray:
        """The most directive beam (least power over the sphere; LCMV, unit on axis) at a diagonal loading, (F, M)."""
        unit = np.ones((len(self.f), 1), complex)
        return self._normalized(
            constrained_minimum(self._loaded(self.power, loading), self.constraints[:, :1], unit) * self.usable
        )

    def flattest(self, loading: np.ndarray) -> np.ndarray:
        """The beam that fits the window: ``|B - 1|^2`` least over it (a point source at the center gives 1), (F, M)."""
        window = self.window
        fit = np.einsum("fkm,fkn->fmn", np.conj(window), window) / window.shape[1]
        flat = np.conj(window).sum(axis=1) / window.shape[1]  # (F, M): W^H 1 / K
        q = self._loaded(fit, loading)
        qi_b = np.linalg.solve(q, flat[:, :, None])[:, :, 0]
        qi_c = np.linalg.solve(q, np.conj(self.constraints[:, 0])[:, :, None])[:, :, 0]
        c0 = self.constraints[:, 0]
        lagrange = (1.0 - np.einsum("fm,fm->f", c0, qi_b)) / np.einsum("fm,fm->f", c0, qi_c)
        return self._normalized((qi_b + lagrange[:, None] * qi_c) * self.usable)

    def least_loading(self, beam_for: Callable[[np.ndarray], np.ndarray], wng_floor: float) -> np.ndarray:
        """Per frequency the least diagonal loading (log10) meeting the WNG floor, slope-limited over frequency.

        The least loading jumps where a regime ends (e.g. the exact-null solution's WNG crossing the
        floor); an upper envelope falling at most LOADING_SLOPE decades per octave spreads that over
        frequency, so the weights and the filters stay smooth.
        """

        def wng(loading: np.ndarray) -> np.ndarray:
            return np.asarray(1.0 / np.maximum(np.sum(np.abs(beam_for(loading)) ** 2, axis=1), 1e-30))

        bins = len(self.f)
        need = wng(np.full(bins, 1e-12)) < wng_floor
        # the least loading whose WNG reaches the floor: 1/WNG within 1/floor (halvings, then the Illinois rule)
        least = crossing_per_bin(lambda loading: 1.0 / wng(loading), np.full(bins, 1.0 / wng_floor), -12.0, 9.0)
        return slope_limited(np.where(need, least, -12.0), np.log2(self.f), LOADING_SLOPE)

    def window_blend(self, sharp: np.ndarray, wide: np.ndarray, floor: float) -> np.ndarray:
        """Per frequency the least blend (0..1) of ``sharp`` toward ``wide`` that keeps ``|B| >= floor`` over the window.

        Spread over frequency like the loading (at most 2 per octave), so the weights stay smooth.
        """

        def window_ok(blend: np.ndarray) -> np.ndarray:
            w = (1.0 - blend[:, None]) * sharp + blend[:, None] * wide
            return np.asarray(np.abs(np.einsum("fkm,fm->fk", self.window, w)).min(axis=1) >= floor)

        bins = len(self.f)
        needs_blend = ~window_ok(np.zeros(bins))
        least_blend = bisect_per_bin(bins, window_ok, 0.0, 1.0, steps=20, log=False)
        return np.clip(slope_limited(np.where(needs_blend, least_blend, 0.0), np.log2(self.f), 2.0), 0.0, 1.0)


def blend_beam(beam: DriverFilters, matrix: DriverFilters, depth: float, profile: DeviceProfile) -> DriverFilters:
    """The beam (``depth`` 1) blended with the matrix mix (0), weight by weight (pure function).

    Cheap next to a beam design: a depth knob moves without designing the beam again.
    """
    columns = list(beam.active_indices)
    spread = np.zeros_like(beam.weights)
    for column, index in enumerate(matrix.active_indices):
        spread[:, columns.index(index)] = matrix.weights[:, column]
    weights = depth * beam.weights + (1.0 - depth) * spread
    info = {**beam.info, "depth": depth}
    taps = beam.impulse.shape[-1]
    return realize_beam(profile, beam.frequencies, weights, columns, beam.sample_rate, taps, info)


@one_blas_thread()  # the same bits as a stage's design, whatever BLAS's threads (designstore.one_blas_thread)
def design_matrix_mix(profile: DeviceProfile, *, sample_rate: float = 48000.0, taps: int | None = None) -> DriverFilters:
    """The simple alternative to the beam: all midranges fed equally (normalized on axis)."""
    taps = taps if taps is not None else span(TAPS, sample_rate)
    mids = profile.indices("mid")
    frequencies = np.fft.rfftfreq(taps, 1 / sample_rate)
    f = np.maximum(frequencies, frequencies[1])
    on_axis = steering(profile, f, np.array([0.0]), drivers=mids)[:, 0, :]  # (F, M)
    total = on_axis.sum(axis=1)
    # equal feeds; one common equalizer makes the on-axis response flat, as for the beam
    weights = np.ones((len(f), len(mids))) / np.where(np.abs(total) < 1e-12, 1e-12, total)[:, None]
    return realize_beam(profile, frequencies, weights[:, :, None], mids, sample_rate, taps, {"matrix": True})


def realize_beam(
    profile: DeviceProfile,
    frequencies: np.ndarray,
    weights: np.ndarray,
    beam: list[int],
    sample_rate: float,
    taps: int,
    info: dict[str, Any],
) -> DriverFilters:
    """Band assembly and realization of beam weights (F, len(beam), 1): FIR filters and the RTF form.

    The plain woofer and tweeter feeds are timed like the beam (to the device
    center on axis), so the crossovers sum in phase: a front tweeter 8 cm ahead of
    the center is delayed by those 8 cm. In the RTF form the reference is the
    midrange whose weight never gets small in the band (the ratios stay bounded);
    the ratios are taken from the realized filters on a fine grid, regularized
    where the reference is silent.
    """
    mids = profile.indices("mid")
    low, high = midrange_band_hz(profile)
    f = np.maximum(frequencies, frequencies[1])
    response = assemble_band_feeds(profile, frequencies, weights, beam, lambda index: on_axis_timing(profile, f, index))
    delay = taps // 2
    impulse = to_fir(response.transpose(1, 2, 0), delay, taps)
    band = (frequencies >= low) & (frequencies <= high)
    mid_columns = [beam.index(i) for i in mids]
    reference = int(mids[int(np.argmax(np.abs(weights[band][:, mid_columns, 0]).min(axis=0)))])
    fine, ratio_delay = 16 * taps, 2 * taps
    realized = scipy.fft.rfft(impulse[:, 0], n=fine, axis=-1)
    denominator = realized[reference]
    regularizer = (RTF_REGULARIZER * np.abs(denominator).max()) ** 2
    ratios = np.zeros((len(profile.drivers), 1, realized.shape[-1]), complex)
    for index in mids:
        ratios[index, 0] = relative_responses(realized[index], denominator, regularizer=regularizer)
    rtf_ratio = to_fir(ratios, ratio_delay, fine)[..., : 8 * taps]
    rtf_ratio[reference, 0] = 0.0
    rtf_ratio[reference, 0, ratio_delay] = 1.0
    return DriverFilters(
        sample_rate=float(sample_rate),
        frequencies=frequencies,
        response=response,
        impulse=impulse,
        delay_samples=delay,
        weights=weights,
        active_indices=tuple(beam),
        mid_indices=tuple(mids),
        driver_names=tuple(profile.driver_names),
        rtf_reference=(reference,),
        rtf_gain=impulse[reference][None],  # (1, 1, taps)
        rtf_ratio=rtf_ratio,
        rtf_delay=ratio_delay,
        info=info,
    )


def beam_pattern(
    design: DriverFilters,
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
        drivers=list(design.active_indices),
        gains=gains,
        aims=aims,
    )
    return np.einsum("fam,fm->fa", a, design.weights[:, :, 0])


class Beamformer(FilterForms, Processor):  # type: ignore[misc]  # output_channels: a property here, an int there
    """The center channel as a beam from a device: 1 input -> one feed per driver.

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
    #: The FIR engine's partition at 48 kHz, its latency (the same time at other rates: :func:`~soundstage.dsp.spans.span`).
    PARTITION = 256
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
        self.device, self.mode, self.form = device_setting(device), mode, form
        self._profile = load_profile(device)
        super().__init__(min_wng_db=min_wng_db, depth=depth)
        self.partition_size = self.PARTITION  # at 48 kHz until a stream opens at another rate
        self._engines: list[CrossfadingFir] = []

    def design(self, sample_rate: float) -> DriverFilters:
        """The design for the current settings (memoised: a reset does not redesign)."""
        return self._memoised(sample_rate, self._design)

    def _design(self, sample_rate: float) -> DriverFilters:
        if self.mode == "matrix":
            return self._matrix(sample_rate)
        beam = self._memoised(sample_rate, self._full_beam, depends_on=("min_wng_db",))
        depth = self.float_value("depth")
        return beam if depth >= 1.0 else blend_beam(beam, self._matrix(sample_rate), depth, self._profile)

    def _full_beam(self, sample_rate: float) -> DriverFilters:
        """The beam at depth 1, kept across depth changes (a depth move only blends it with the matrix mix)."""
        return design_beamformer(self._profile, sample_rate=sample_rate, min_wng_db=self.float_value("min_wng_db"))

    def _matrix(self, sample_rate: float) -> DriverFilters:
        """The matrix mix: it depends on no parameter."""
        return self._memoised(sample_rate, self._matrix_mix, depends_on=())

    def _matrix_mix(self, sample_rate: float) -> DriverFilters:
        return design_matrix_mix(self._profile, sample_rate=sample_rate)

    @property
    def latency_samples(self) -> int:
        direct = span(TAPS, self._sample_rate or 48000.0) // 2 + self.partition_size
        return direct + (self._band_delay_samples() if self.form == "rtf" else 0)

    def _band_delay_samples(self) -> int:  # the ratio stage's latency
        return 2 * span(TAPS, self._sample_rate or 48000.0) + self.partition_size

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.device != "studio-5":
            config["device"] = self.device
        if self.mode != "beam":
            config["mode"] = self.mode
        if self.form != "direct":
            config["form"] = self.form
        return config
