"""``CrosstalkCanceller``: deliver each input to one ear only, from a compact device.

Design (:func:`design_crosstalk_canceller`, a pure function): per frequency, the
driver -> ear plant ``C`` (2 ears x M midrange drivers, from the device profile,
the listener position and a head model) is inverted with Tikhonov
regularization (Kirkeby et al. 1998), least-norm when there are more drivers
than ears (null-steering: each input's feeds cancel at the other ear with the
least total drive):

    H(beta) = C^H (C C^H + beta I)^-1

Each input's column is then normalized so that its own ear receives it flat
(unit response, a modeling delay later), so the regularization only trades
cancellation for effort, never level. ``beta`` is chosen per frequency so that
the achieved cancellation *follows a target curve* (ipsi/contra ear power ratio
vs frequency) instead of reaching the maximum the model allows — the design is
not fitted to one exact head — and so that no filter gain exceeds
``max_effort_db``.

Bands come from the profile: the canceller works on the midrange drivers in
their band; below the woofer crossover the woofer plays the mono sum, above the
midrange band the tweeter does. Crossovers are zero-phase (the whole filter is
linear-phase outside the cancelling band).

By default the design is robust (:class:`RobustInverse`, :func:`robust_regularization`): the
filters give the least crosstalk averaged over a population of plants (every seat of a listening
region, +-5 deg yaw and +-5 cm each way, and the model head's variants, a torso's among them), not the exact inverse at
one seat, which no real listener sits at with a head like the model's.

The filters are also given in relative-transfer-function (RTF) form: per input
one filter ``g`` (its reference driver's) and the ratios ``r = H_i / H_ref`` of
the other drivers' responses to it; the processor runs either form.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from soundstage.acoustics.feeds import DriverFilters, assemble_band_feeds, midrange_band_hz, midrange_weights
from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S
from soundstage.acoustics.head import HeadAndTorso, HeadModel, HybridSphereHead
from soundstage.acoustics.hrtf import HeadChoice
from soundstage.acoustics.profiles import DeviceProfile, Listener, ListeningRegion, device_setting, load_profile
from soundstage.acoustics.timbre import head_response
from soundstage.acoustics.transfer import transfer_matrices, transfer_matrix
from soundstage.designstore import one_blas_thread
from soundstage.dsp.fir import CrossfadingFir
from soundstage.dsp.realize import relative_responses, to_fir
from soundstage.dsp.search import crossing_per_bin
from soundstage.dsp.spans import span
from soundstage.errors import ParameterError
from soundstage.host.parameters import ParameterSpec
from soundstage.host.processor import Processor
from soundstage.memo import LruCache, hashable_key
from soundstage.stages.drivers import LISTENER_PARAMETERS, FilterForms, design_listener

__all__ = [
    "CrosstalkCanceller",
    "Regularization",
    "RegularizedInverse",
    "RobustInverse",
    "TargetCurve",
    "achieved_separation_db",
    "canceling_filters",
    "choose_regularization",
    "crossover_limit_db",
    "crosstalk_plant",
    "design_crosstalk_canceller",
    "give_share",
    "head_variants",
    "plant_step",
    "population",
    "realize_crosstalk",
    "REGION_EXTENTS",
    "region_extents",
    "region_setting",
    "robust_regularization",
    "robust_share",
    "robust_step",
    "smooth_regularization",
    "soft_extreme",
]

#: The filters' length at 48 kHz (:func:`~soundstage.dsp.spans.span` gives it at other rates).
TAPS = 2048
#: The range of the regularization searches, relative to the plant's mean power.
SEARCH_LOW, SEARCH_HIGH = 1e-9, 1e4
#: How the regularization eases where its three limits meet, so that a design moves smoothly with the
#: request (a design grid over width interpolates it with a cubic, ``benchmarks/automation.py``): the
#: request's cap at what the effort allows (a soft minimum, dB: never above either), the larger of the
#: separation's and the effort's ``beta`` (a soft maximum, decades: never below either), and the pole of
#: ``beta`` where the request meets the plant's own separation (:meth:`RegularizedInverse.beta_for_separation`).
CAP_SOFTNESS_DB, MAX_SOFTNESS_DECADES, POLE_SOFTNESS = 3.0, 0.3, 0.1
#: How the effort search and the level given ease, so that a design moves smoothly with the listener's yaw
#: (a design grid over yaw interpolates it with a cubic): the pole of the effort threshold where the
#: most regularized filter's level meets the limit (:meth:`RegularizedInverse._effort_thresholds`, a share
#: of its power terms), and the ramp of the level given with the shortfall (:func:`choose_regularization`,
#: a share of the ramp). Measured on the model head at 2 m, yaw -12..12 deg, filter domain: cubic at 2 deg
#: -44.8 dB before, -68.8 dB with both and the give kept below :data:`GIVE_FADE_HZ`.
EFFORT_POLE_SOFTNESS, GIVE_RAMP_SOFTNESS = 0.1, 0.3
#: The level is given for cancellation at low frequencies only: in full below the first frequency, faded
#: out (raised cosine in log frequency) by the second. Above, the request eases off where the midranges
#: hand over to the tweeter, and the effort limit binds only where the drivers' matched filter is too loud
#: (no giving of level makes them cancel there); a give there followed those bins as the head turned.
GIVE_FADE_HZ = (2000.0, 4000.0)
#: The listening region of a robust design (the default; a stage's ``region = "region"``).
DEFAULT_REGION = ListeningRegion()
#: A stage's ``region`` setting: the design's seat alone (exact there) or the listening region (robust).
REGIONS: dict[str, ListeningRegion | None] = {"seat": None, "region": DEFAULT_REGION}


#: A stage's listening-region extents (configuration keys) -> (the :class:`ListeningRegion` field, least, most, unit).
REGION_EXTENTS: dict[str, tuple[str, float, float, str]] = {
    "region_yaw_deg": ("yaw_deg", 0.0, 45.0, "deg"),
    "region_lateral_m": ("lateral_m", 0.0, 0.5, "m"),
    "region_fore_aft_m": ("fore_aft_m", 0.0, 0.5, "m"),
}


def region_setting(stage: str, value: str, extents: Mapping[str, float] | None = None) -> ListeningRegion | None:
    """The :class:`ListeningRegion` a stage's ``region`` setting names (:data:`REGIONS`), its extents overridden by
    the ``region_*`` keys given (:data:`REGION_EXTENTS`, :func:`region_extents`); a one-line error otherwise."""
    if value not in REGIONS:
        raise ParameterError(
            f"{stage}: region={value!r} is not a region; use 'seat' (exact at the design's seat) or "
            f"'region' (robust over {DEFAULT_REGION.describe()})"
        )
    given = dict(extents or {})
    for key, extent in given.items():
        _, least, most, unit = REGION_EXTENTS[key]
        if isinstance(extent, bool) or not isinstance(extent, (int, float)) or not least <= extent <= most:
            raise ParameterError(f"{stage}: {key}={extent!r} is out of range; give {least:g}..{most:g} {unit} (+- the seat)")
    region = REGIONS[value]
    if region is None:
        if given:
            raise ParameterError(
                f"{stage}: {', '.join(given)} shape the listening region, but region='seat' designs for the seat alone; "
                "use region='region' or drop them"
            )
        return None
    return dataclasses.replace(region, **{REGION_EXTENTS[key][0]: float(extent) for key, extent in given.items()})


def region_extents(stage: object) -> dict[str, float]:
    """The ``region_*`` keys (:data:`REGION_EXTENTS`) a stage was given, by name (None on the stage: the default's)."""
    return {key: value for key in REGION_EXTENTS if (value := getattr(stage, key, None)) is not None}


#: The effort a robust design keeps for its FIR realization (dB): its filters change faster with frequency
#: than the nominal design's (0.1 dB), so the response between the design's bins can rise further (0.19 dB
#: measured at 390 Hz for a flat 30 dB request at 1 m).
ROBUST_REALIZATION_DB = 0.3
#: How far above the most regularized robust filters' peak gain the effort search keeps, and the softness
#: of that floor (dB; :attr:`RobustInverse._matched_peak`).
ROBUST_POLE_DB = 1.0


@dataclass(frozen=True)
class TargetCurve:
    """A target cancellation-gain curve: (frequency Hz, separation dB) points, linear in log-frequency."""

    points: tuple[tuple[float, float], ...]

    def db(self, frequencies_hz: np.ndarray) -> np.ndarray:
        """Target separation in dB at each frequency (0 outside the points)."""
        f = np.maximum(np.asarray(frequencies_hz, float), 1e-3)
        xs = np.log10([p[0] for p in self.points])
        ys = np.array([p[1] for p in self.points])
        return np.interp(np.log10(f), xs, ys, left=0.0, right=0.0)

    @classmethod
    def flat(cls, separation_db: float, low_hz: float = 20.0, high_hz: float = 20000.0) -> TargetCurve:
        """A flat target."""
        return cls(((low_hz, separation_db), (high_hz, separation_db)))

    @classmethod
    def default(cls, plateau_db: float = 25.0) -> TargetCurve:
        """soundstage's default request: ``plateau_db`` from 250 Hz to 5 kHz, easing off above.

        The designer caps a default request at what the effort limit allows at
        each frequency (see :func:`design_crosstalk_canceller`), so at low
        frequencies, where a compact device cannot cancel much, it asks for as
        much as the limit allows and no more.
        """
        shape = ((100.0, 0.0), (160.0, plateau_db), (5000.0, plateau_db), (7000.0, 0.7 * plateau_db), (10000.0, 0.0))
        return cls(shape)


class RegularizedInverse:
    """Regularized least-norm inverses of one plant (F, 2, M) for any ``beta`` (the searches call this often).

    .. math:: H(\\beta) = C^H (C C^H + \\beta I)^{-1}

    each input's column normalized to reach its own ear at ``level``. With the
    Gram matrix :math:`G = C C^H` (Hermitian, determinant :math:`D`) computed once,
    everything the searches ask is a closed form in ``beta``:
    :math:`G (G + \\beta I)^{-1} = (D I + \\beta G) / \\det(G + \\beta I)`, so input
    ``j`` reaches its own ear with :math:`(D + \\beta g_{jj})/\\det` and the other
    with :math:`\\beta g_{ij}/\\det`, and its normalized filters are
    :math:`(P_j + \\beta Q_j) / (D + \\beta g_{jj})` with :math:`P_j = C^H \\operatorname{adj}(G)_{:j}`,
    :math:`Q_j = C^H e_j`. A search step costs a few real operations per bin and
    driver, and the separation a request asks for gives ``beta`` directly
    (:meth:`beta_for_separation`).

    References
    ----------
    Kirkeby, O., Nelson, P. A., Hamada, H., & Orduna-Bustamante, F. (1998). Fast
    deconvolution of multichannel systems using regularization. IEEE Trans. Speech
    and Audio Processing, 6(2), 189-194.
    """

    def __init__(self, plant: np.ndarray) -> None:
        self.plant = plant
        self.adjoint = np.conj(np.swapaxes(plant, 1, 2))  # (F, M, 2)
        self.gram = plant @ self.adjoint  # (F, 2, 2)
        g = self.gram
        self.own = np.real(np.stack([g[:, 0, 0], g[:, 1, 1]], axis=1))  # (F, 2): g_jj
        self.cross = np.abs(np.stack([g[:, 1, 0], g[:, 0, 1]], axis=1))  # (F, 2): |g_ij|, i != j
        self.det = np.maximum(np.real(g[:, 0, 0] * g[:, 1, 1] - g[:, 0, 1] * g[:, 1, 0]), 0.0)  # (F,) D >= 0
        a, d = self.adjoint[:, :, 0], self.adjoint[:, :, 1]
        self.p = np.stack([a * g[:, None, 1, 1] - d * g[:, None, 1, 0], d * g[:, None, 0, 0] - a * g[:, None, 0, 1]], axis=2)
        self.q = self.adjoint
        # |P + beta Q|^2 = pp + beta (2 pq + beta qq): the searches' effort without complex arithmetic
        self._pp = np.abs(self.p) ** 2
        self._pq = np.real(self.p * np.conj(self.q))
        self._qq = np.abs(self.q) ** 2
        #: The plant's mean power per bin: ``beta`` is searched relative to it.
        self.scale = np.real(np.trace(self.gram, axis1=1, axis2=2)) / 2
        #: Effort searches by (limit, level given): the one without level and the Spatializer's (one per plant).
        self._effort: LruCache[tuple[np.ndarray, np.ndarray]] = LruCache(max_entries=4)

    def _own_ear(self, beta: np.ndarray) -> np.ndarray:
        """``D + beta g_jj`` per bin and input (F, 2): the own ear's response times ``det(G + beta I)``."""
        return np.maximum(self.det[:, None] + beta[:, None] * self.own, 1e-300)

    def filters(self, beta: np.ndarray, level: np.ndarray | None = None) -> np.ndarray:
        """The normalized inverse, shape (F, M, 2)."""
        gain = 1.0 / self._own_ear(beta)
        if level is not None:
            gain = gain * level[:, None]
        return np.asarray((self.p + beta[:, None, None] * self.q) * gain[:, None, :])

    def peak_gain(self, beta: np.ndarray, level: np.ndarray | None = None) -> np.ndarray:
        """The largest magnitude of :meth:`filters` per bin, shape (F,) (the effort searches' measure)."""
        peak = _peak_gain(self._efforts, beta)
        return peak if level is None else peak * level

    @property
    def _efforts(self) -> tuple[np.ndarray, ...]:
        """What :func:`_peak_gain` needs of this plant: |P|^2, Re(P Q*), |Q|^2 (F, M, 2), D (F,), g_jj (F, 2)."""
        return self._pp, self._pq, self._qq, self.det, self.own

    def effort_search(self, max_effort_db: float, level: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per bin the least ``beta`` (relative to :attr:`scale`) whose filters stay within ``max_effort_db``
        (less 0.1 dB kept for the FIR realization), and the separation there (dB); memoised.

        Found in closed form (:meth:`_effort_thresholds`): each filter's power is a ratio of
        quadratics in ``beta``, so its limit is a root; within the search range
        (``SEARCH_LOW`` .. ``SEARCH_HIGH``), eased where no ``beta`` would do.
        """
        key = (float(max_effort_db), None if level is None else level.tobytes())
        return self._effort.get_or_compute(key, lambda: self._search_effort(max_effort_db, level))

    def _search_effort(self, max_effort_db: float, level: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        limit = 10 ** ((max_effort_db - 0.1) / 20)
        bound = np.full(len(self.scale), limit) if level is None else limit / level
        b_limit = 10 ** self._effort_thresholds(bound)
        return b_limit, self.separation_db(b_limit * self.scale)

    def _effort_thresholds(self, bound: np.ndarray) -> np.ndarray:
        """The effort search's result per bin: log10 ``beta`` relative to :attr:`scale`, within the search range.

        Filter ``m`` of input ``j`` stays within ``bound`` while
        ``f(b) = a b**2 + 2 h b + c <= 0`` with ``a = qq - B own**2``, ``h = pq - B D own``,
        ``c = pp - B D**2`` (``B = bound**2``, ``beta = b * scale``). Its threshold is the
        least ``b`` from which ``f`` stays <= 0: the larger root where ``f`` falls through 0
        (``c > 0``: too loud unregularized; or past a bump between two positive roots), none
        (the least of the range) where ``f`` never exceeds, and the largest over drivers and inputs.

        ``a`` is the filter's power at ``b -> inf`` (the matched filter, the most regularized) less the
        bound's: where it nears 0 the root runs off to infinity (a pole, in ``b`` and in yaw: the
        matched filter's level crosses the bound as the head turns), and past it (``a > 0``) no
        ``beta`` keeps that filter within the bound. ``a`` is eased to
        ``-s softplus(-a / s)`` (``s`` = :data:`EFFORT_POLE_SOFTNESS` of its two terms' sum): exact
        where the matched filter is well within the bound, finite and smooth in the plant through
        the pole, where :func:`canceling_filters` limits the level instead, as it always did where
        even full regularization is too loud. So the design moves smoothly with the listener's yaw
        (a design grid over yaw interpolates it with a cubic, ``benchmarks/automation.py``).
        """
        lo_x, hi_x = np.log10(SEARCH_LOW), np.log10(SEARCH_HIGH)
        s = self.scale[:, None, None]
        bound2 = (bound**2)[:, None, None]
        own = self.own[:, None, :]
        det = self.det[:, None, None]
        ease = EFFORT_POLE_SOFTNESS * np.maximum((self._qq + bound2 * own**2) * s * s, 1e-300)
        a = -ease * np.logaddexp(0.0, -(self._qq - bound2 * own**2) * s * s / ease)  # < 0: holds as b -> inf
        h = (self._pq - bound2 * det * own) * s
        c = self._pp - bound2 * det**2
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            discriminant = h * h - a * c
            root = np.sqrt(np.maximum(discriminant, 0.0))
            q = -(h + np.where(h >= 0, root, -root))  # the roots q / a and c / q, without cancellation
            larger = np.fmax(q / a, c / q)  # the larger root of a b^2 + 2 h b + c
            falls_through = (c > 0) | ((discriminant >= 0) & (h > 0))  # too loud at 0, or a bump above it
            x = np.where(falls_through & (larger > 0), np.log10(np.where(larger > 0, larger, 1.0)), -np.inf)
        return np.asarray(np.clip(x.max(axis=(1, 2)), lo_x, hi_x))

    def separation_db(self, beta: np.ndarray) -> np.ndarray:
        """The smaller over the two inputs of ipsi/contra ear power (dB) per frequency, shape (F,)."""
        ratio = self._own_ear(beta) / np.maximum(beta[:, None] * self.cross, 1e-300)
        return np.asarray(20 * np.log10(np.maximum(ratio, 1e-15)).min(axis=1))

    def beta_for_separation(self, wanted_db: np.ndarray) -> np.ndarray:
        """Per bin the ``beta`` at which the separation is ``wanted_db``, eased where that nears the plant's own.

        Input ``j``'s separation ``(D + beta g_jj) / (beta |g_ij|)`` falls with ``beta``
        toward ``g_jj / |g_ij|``, the plant's own separation; it equals ``r = 10**(wanted/20)``
        at ``beta = D / (r |g_ij| - g_jj)``, which has a pole where the request meets the
        plant's own separation (no ``beta`` gives less). The room ``r |g_ij| / g_jj - 1`` is
        eased through a softplus of width :data:`POLE_SOFTNESS` (exact above a few times it,
        finite at the pole, falling toward 0 below it), so ``beta`` and the filters move
        smoothly with the request (a design grid over width interpolates them). The smaller
        separation of the two inputs is the one asked for, so the smaller of the two ``beta``.
        """
        r = 10 ** (np.asarray(wanted_db, float)[:, None] / 20)
        own = np.maximum(self.own, 1e-300)
        excess = r * self.cross / own - 1.0
        room = own * POLE_SOFTNESS * np.logaddexp(0.0, excess / POLE_SOFTNESS)
        with np.errstate(divide="ignore"):
            beta = np.where(room > 0, self.det[:, None] / np.where(room > 0, room, 1.0), np.inf)
        return np.asarray(beta.min(axis=1))


class RobustInverse:
    r"""Least expected crosstalk over a population of plants (K, F, 2, M), for any ``beta``: the robust design.

    Per input ``j`` the filters minimize the crosstalk power averaged over the
    population, at unit mean response at the own ear (a linearly constrained
    minimum-variance beamformer whose interference is the other ear, Frost 1972):

    .. math:: h_j(\beta) \propto (R_j + \beta I)^{-1} \bar o_j^H,
              \quad R_j = E_k[c_{kj}^H c_{kj}]

    with :math:`c_{kj}` the row of plant ``k`` to the other ear and :math:`\bar o_j` the
    mean row to the own ear, scaled so that the own ear's power averaged over the
    population is 1 (and its mean response in phase). :math:`R_j` is the mean
    crosstalk path plus its spread over the population, so the regularization follows
    how uncertain the plant is at each frequency; ``beta`` adds to it what the request
    and the effort limit ask (:func:`robust_regularization`). With one plant and no
    ``beta`` it is the filter of least norm that nulls the other ear.

    One eigendecomposition of each :math:`R_j` per bin makes every ``beta``
    cheap: :math:`h \propto U (\Lambda + \beta)^{-1} U^H \bar o^H`. The effort
    search (:meth:`effort_search`) brackets ``log beta`` per bin by bisection and closes the
    bracket by the Illinois rule (:func:`~soundstage.dsp.search.crossing_per_bin`), to far below
    any audible difference.

    References
    ----------
    Frost, O. L. (1972). An algorithm for linearly constrained adaptive array
    processing. Proc. IEEE, 60(8), 926-935.
    """

    def __init__(self, plants: np.ndarray) -> None:
        plants = np.asarray(plants, complex)  # (K, F, 2, M)
        own_rows = np.stack([plants[:, :, 0, :], plants[:, :, 1, :]], axis=2)  # (K, F, 2 inputs, M)
        contra_rows = np.stack([plants[:, :, 1, :], plants[:, :, 0, :]], axis=2)
        count = len(plants)

        def moment(rows: np.ndarray) -> np.ndarray:  # E_k[r^H r] per bin and input, (F, 2, M, M): batched matmuls
            stacked = rows.transpose(1, 2, 0, 3)  # (F, 2, K, M)
            return np.asarray(np.swapaxes(stacked.conj(), -1, -2) @ stacked) / count

        self._own_moment, self._contra_moment = moment(own_rows), moment(contra_rows)
        eigenvalues, vectors = np.linalg.eigh(self._contra_moment)
        self._eigenvalues = np.maximum(eigenvalues, 0.0)  # (F, 2, M)
        self._vectors = vectors  # (F, 2, M, M)
        mean_own = own_rows.mean(axis=0).conj()[..., None]  # (F, 2, M, 1)
        self._projected = (np.swapaxes(vectors.conj(), -1, -2) @ mean_own)[..., 0]  # U^H o^H
        #: The plants' mean power per ear and bin: ``beta`` is searched relative to it.
        self.scale = (plants.real**2 + plants.imag**2).sum(axis=(0, 2, 3)) / (2 * count)
        self._effort: LruCache[tuple[np.ndarray, np.ndarray]] = LruCache(max_entries=4)

    def _unscaled(self, beta: np.ndarray) -> np.ndarray:
        """``(R_j + beta I)^{-1} o_j^H`` per bin and input, shape (..., F, 2, M), for ``beta`` (..., F) (absolute)."""
        weights = self._projected / np.maximum(self._eigenvalues + beta[..., :, None, None], 1e-300)
        return np.asarray((self._vectors @ weights[..., None])[..., 0])

    @staticmethod
    def _quadratic(moment: np.ndarray, x: np.ndarray) -> np.ndarray:
        """``x^H moment x`` per bin and input, shape (..., F, 2)."""
        product = (moment @ x[..., None])[..., 0]
        return np.maximum(np.real(np.sum(x.conj() * product, axis=-1)), 1e-300)

    def _normalized(self, beta: np.ndarray) -> np.ndarray:
        """The filters (..., F, 2 inputs, M), the own ear's mean power 1."""
        x = self._unscaled(beta)
        return np.asarray(x / np.sqrt(self._quadratic(self._own_moment, x))[..., None])

    def filters(self, beta: np.ndarray, level: np.ndarray | None = None) -> np.ndarray:
        """The robust filters, shape (F, M, 2)."""
        h = np.swapaxes(self._normalized(np.asarray(beta, float)), 1, 2)
        return np.asarray(h if level is None else h * level[:, None, None])

    def peak_gain(self, beta: np.ndarray, level: np.ndarray | None = None) -> np.ndarray:
        """The largest magnitude of :meth:`filters` per bin, shape (..., F) for ``beta`` (..., F)."""
        peak = np.abs(self._normalized(np.asarray(beta, float))).max(axis=(-2, -1))
        return np.asarray(peak if level is None else peak * level)

    def separation_db(self, beta: np.ndarray) -> np.ndarray:
        """The smaller over the two inputs of the expected ipsi/contra power (dB) per frequency, shape (..., F)."""
        x = self._unscaled(np.asarray(beta, float))
        own, other = self._quadratic(self._own_moment, x), self._quadratic(self._contra_moment, x)
        tiny = np.finfo(float).tiny  # a perfect null (one plant, no regularization): very high, not a division by 0
        return np.asarray((10 * (np.log10(np.maximum(own, tiny)) - np.log10(np.maximum(other, tiny)))).min(axis=-1))

    def effort_search(self, max_effort_db: float, level: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per bin the least ``beta`` (relative to :attr:`scale`) whose filters stay within ``max_effort_db``
        (less :data:`ROBUST_REALIZATION_DB` kept for the FIR realization), and the separation there (dB); memoised."""
        key = (float(max_effort_db), None if level is None else level.tobytes())

        def search() -> tuple[np.ndarray, np.ndarray]:
            limit = 10 ** ((max_effort_db - ROBUST_REALIZATION_DB) / 20)
            bound = np.full(len(self.scale), limit) if level is None else limit / level
            # the pole where the most regularized filter's level nears the bound, eased (see _matched_peak)
            matched_db = 20 * np.log10(self._matched_peak) + ROBUST_POLE_DB
            bound = 10 ** (soft_extreme(20 * np.log10(bound), matched_db, ROBUST_POLE_DB) / 20)
            # the least beta within the bound (dsp.search.crossing_per_bin: halvings, then the Illinois rule). Where
            # the peak gain is not monotonic in beta, nearby plants can find different crossings: the bound keeps
            # clear of the pole (_matched_peak), where that happened as the listener's yaw moved
            b_limit = 10 ** crossing_per_bin(
                lambda beta: self.peak_gain(beta * self.scale), bound, np.log10(SEARCH_LOW), np.log10(SEARCH_HIGH)
            )
            return b_limit, self.separation_db(b_limit * self.scale)

        return self._effort.get_or_compute(key, search)

    @functools.cached_property
    def _matched_peak(self) -> np.ndarray:
        """The most regularized filters' peak gain per bin (``beta`` 1e3 beyond the range).

        The effort search has a pole where the bound nears it: the peak gain falls toward it as ``beta``
        grows, so a bound just above it is met only at ``beta`` beyond any range, and one just below never
        (the design jumped between the two as the listener's yaw moved). The search therefore seeks no less
        than :data:`ROBUST_POLE_DB` above it (a soft maximum), where :func:`canceling_filters` limits the
        level instead, as the exact design does.
        """
        return self.peak_gain(np.full(len(self.scale), SEARCH_HIGH * 1e3) * self.scale)


def _peak_gain(efforts: tuple[np.ndarray, ...], beta: np.ndarray) -> np.ndarray:
    """The largest filter magnitude per bin at ``beta``: ``|P + beta Q| / (D + beta g_jj)`` over drivers and inputs."""
    pp, pq, qq, det, own = efforts
    b = beta[:, None, None]
    own_ear = np.maximum(det[:, None] + beta[:, None] * own, 1e-300)  # as RegularizedInverse._own_ear
    power = (pp + b * (2 * pq + b * qq)) / own_ear[:, None, :] ** 2
    return np.asarray(np.sqrt(np.maximum(power, 0.0).max(axis=(1, 2))))


def achieved_separation_db(plant: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """Ipsi/contra ear power ratio (dB) per frequency and input, shape (F, 2), for ``plant @ filters``."""
    ears = plant @ filters  # (F, 2 ears, 2 inputs)
    ipsi = np.abs(np.stack([ears[:, 0, 0], ears[:, 1, 1]], axis=1)) ** 2
    contra = np.abs(np.stack([ears[:, 1, 0], ears[:, 0, 1]], axis=1)) ** 2
    return 10 * np.log10(ipsi / np.maximum(contra, 1e-30))


def smooth_regularization(frequencies: np.ndarray, b: np.ndarray, low_hz: float, high_hz: float) -> np.ndarray:
    """Hold beta constant outside the band (+-1/3 octave) and smooth log(beta) over 1/6 octave.

    Jumps of beta across frequency make long filters; the filters only need to
    follow the target in the band, so beta is continued flat outside it.
    """
    f = np.maximum(frequencies, frequencies[1] if len(frequencies) > 1 else 1.0)
    inside = (f >= low_hz * 2 ** (-1 / 3)) & (f <= high_hz * 2 ** (1 / 3))
    log_b = np.log10(b)
    if inside.any():
        first, last = np.flatnonzero(inside)[[0, -1]]
        log_b[:first] = log_b[first]
        log_b[last + 1 :] = log_b[last]
    octave = np.log2(f)  # nondecreasing: each bin's 1/6 octave is a run of bins, averaged by a cumulative sum
    low = np.searchsorted(octave, octave - 1 / 12, side="left")
    high = np.searchsorted(octave, octave + 1 / 12, side="right")
    cumulative = np.concatenate([[0.0], np.cumsum(log_b)])
    return np.asarray(10 ** ((cumulative[high] - cumulative[low]) / (high - low)))


def crossover_limit_db(band_ears: np.ndarray, mid_share: np.ndarray, level: np.ndarray) -> np.ndarray:
    """The most separation the total can reach where the mono woofer/tweeter feeds fade in (dB, per frequency).

    ``band_ears`` (F, 2 ears, 2 inputs) is what the band feeds alone put at the ears,
    ``mid_share`` the share of each input on the canceling midranges and ``level`` their
    level at the own ear: even a perfect canceller leaves the band drivers' crosstalk.
    """
    own = np.abs(mid_share * level + band_ears[:, 0, 0])
    contra = np.abs(band_ears[:, 1, 0])
    return np.asarray(20 * np.log10(own / np.maximum(contra, 1e-12 * np.maximum(own, 1e-30))))


# -- the design, in four steps: plant -> regularization search -> band assembly -> realization ----------


def crosstalk_plant(
    profile: DeviceProfile, frequencies: np.ndarray, head: HeadModel, listener: Listener, drivers: list[int]
) -> tuple[np.ndarray, float]:
    """Step 1: the driver -> ear plant (F, 2 ears, drivers), timed to the nearest of ``drivers``; and that distance (m).

    The 0 Hz bin is replaced by the next one, so the inverse is not singular there.
    """
    plant = transfer_matrix(profile, frequencies, head, listener=listener, drivers=drivers)  # (F, 2, M)
    return _timed(plant, profile, frequencies, listener, drivers)


def _timed(
    plant: np.ndarray, profile: DeviceProfile, frequencies: np.ndarray, listener: Listener, drivers: list[int]
) -> tuple[np.ndarray, float]:
    """:func:`crosstalk_plant`'s timing and 0 Hz bin, for a plant made already."""
    distances = np.linalg.norm(profile.world_positions()[drivers] - np.asarray(listener.position_m), axis=1)
    plant = plant * np.exp(2j * np.pi * frequencies * distances.min() / SPEED_OF_SOUND_M_S)[:, None, None]
    plant[0] = plant[1] if len(frequencies) > 1 else plant[0]  # DC: avoid a singular 0 Hz bin
    return plant, float(distances.min())


@dataclass(frozen=True)
class Regularization:
    """Step 2's result: per frequency the regularization, the level at the own ear and the separations.

    Attributes
    ----------
    beta : ndarray, shape (F,)
        Regularization relative to the plant's mean power (``RegularizedInverse.scale``), smoothed.
    level : ndarray, shape (F,)
        Linear level at which each input reaches its own ear (1 except where low
        frequencies give level for cancellation).
    feasible_db : ndarray, shape (F,)
        The separation the effort limit allows.
    wanted_db : ndarray, shape (F,)
        The separation asked for (capped at ``feasible_db`` for a default request).
    """

    beta: np.ndarray
    level: np.ndarray
    feasible_db: np.ndarray
    wanted_db: np.ndarray


def choose_regularization(
    inverses: RegularizedInverse,
    frequencies: np.ndarray,
    wanted_db: np.ndarray,
    band_hz: tuple[float, float],
    *,
    capped: bool,
    max_effort_db: float,
    low_frequency_give_db: float,
    give_reference_db: np.ndarray | None = None,
    own_ear_level: np.ndarray | None = None,
) -> Regularization:
    """Step 2: per frequency the least regularization that keeps the effort under the limit and the separation at the target.

    The effort search comes first: the largest ``beta`` that still needs more than
    ``max_effort_db`` (less 0.1 dB kept for the FIR realization) bounds ``beta``
    from below. Where that leaves the cancellation short of ``give_reference_db``
    (default: the request), each input may reach its own ear up to
    ``low_frequency_give_db`` quieter, which buys as much more cancellation at the
    same effort (:func:`give_share`: on an eased ramp over 6 dB of shortfall, below
    :data:`GIVE_FADE_HZ`). Then ``beta`` grows until the separation is no more than asked
    for, and is smoothed over frequency (:func:`smooth_regularization`).

    The cap of the request and the larger of the two ``beta`` are soft
    (:data:`CAP_SOFTNESS_DB`, :data:`MAX_SOFTNESS_DECADES`): the request stays
    below what the effort allows and ``beta`` above the effort's, so the limit
    holds, and the design moves smoothly with the request. A fixed
    ``give_reference_db`` keeps the level given, and so the effort search, the
    same for every request (the Spatializer's width).
    """
    scale = inverses.scale
    base = None if own_ear_level is None else np.asarray(own_ear_level, float)
    level = np.ones(len(frequencies)) if base is None else base
    b_effort, feasible = inverses.effort_search(max_effort_db, base)  # memoised: it does not depend on the request
    if low_frequency_give_db > 0:
        reference = wanted_db if give_reference_db is None else give_reference_db
        give = 10 ** (-low_frequency_give_db * give_share(frequencies, reference - feasible) / 20)
        if np.any(give < 1.0):  # else the search with this level is the one just made
            level = give if base is None else give * base
            b_effort, feasible = inverses.effort_search(max_effort_db, level)
    wanted = soft_extreme(wanted_db, feasible, -CAP_SOFTNESS_DB) if capped else wanted_db

    b_separation = np.clip(inverses.beta_for_separation(wanted) / np.maximum(scale, 1e-300), SEARCH_LOW, SEARCH_HIGH)
    b = 10 ** soft_extreme(np.log10(b_separation), np.log10(b_effort), MAX_SOFTNESS_DECADES)
    return Regularization(smooth_regularization(frequencies, b, *band_hz), level, feasible, wanted)


def give_share(frequencies: np.ndarray, shortfall_db: np.ndarray) -> np.ndarray:
    """The share (0..1) of ``low_frequency_give_db`` given per bin for a shortfall of cancellation (dB).

    A ramp over 0..6 dB of shortfall, its two corners eased (softplus of width
    :data:`GIVE_RAMP_SOFTNESS` of the ramp, clipped to 0..1: about 0.2 at no shortfall and 0.8 at
    6 dB, 0.04 and 0.95 another 3 dB beyond), faded out over :data:`GIVE_FADE_HZ`.
    """
    k = GIVE_RAMP_SOFTNESS
    ramp = k * np.logaddexp(0.0, np.asarray(shortfall_db, float) / 6.0 / k)
    ramp = np.clip(ramp - k * np.logaddexp(0.0, (ramp - 1.0) / k), 0.0, 1.0)
    low, high = GIVE_FADE_HZ
    u = np.clip(np.log2(np.maximum(np.asarray(frequencies, float), 1e-3) / low) / np.log2(high / low), 0.0, 1.0)
    return np.asarray(ramp * 0.5 * (1.0 + np.cos(np.pi * u)))


def soft_extreme(x: np.ndarray, y: np.ndarray, softness: float) -> np.ndarray:
    """A smooth maximum of ``x`` and ``y`` (``softness`` > 0, never below either) or minimum (< 0, never above).

    ``softness * log10(10**(x / softness) + 10**(y / softness))``: within ``|softness| * log10(2)``
    of the true extreme where the two meet, and equal to it where they are a few ``softness`` apart.
    """
    top = np.maximum(x, y) if softness > 0 else np.minimum(x, y)
    return np.asarray(top + softness * np.log10(10 ** ((x - top) / softness) + 10 ** ((y - top) / softness)))


def canceling_filters(
    inverses: RegularizedInverse | RobustInverse, regularization: Regularization, max_effort_db: float
) -> np.ndarray:
    """Step 2's filters (F, M, 2): the regularized inverse, limited in level where even full regularization needs more effort."""
    ctc = inverses.filters(regularization.beta * inverses.scale, regularization.level)  # (F, M, 2)
    limit = 10 ** ((max_effort_db - 0.1) / 20)
    # where even full regularization needs more than the limit (a driver null), give up level instead
    peak = np.abs(ctc).max(axis=1, keepdims=True)  # (F, 1, 2)
    return np.asarray(ctc * np.minimum(1.0, limit / np.maximum(peak, 1e-30)))


def realize_crosstalk(
    profile: DeviceProfile,
    frequencies: np.ndarray,
    ctc: np.ndarray,
    response: np.ndarray,
    *,
    sample_rate: float,
    taps: int,
    regularization: np.ndarray,
    info: dict[str, Any],
) -> DriverFilters:
    """Step 4: FIR filters of the assembled responses, and the RTF form.

    RTF form: per input the reference is its strongest midrange driver in the
    band; the first stage is the reference's filter, the second the ratio of each
    midrange driver's canceling response to the reference's, taken before the band
    weighting (the canceling responses have no zeros; the band-weighted ones do).
    """
    mids = profile.indices("mid")
    low, high = midrange_band_hz(profile)
    delay = taps // 2
    impulse = to_fir(response.transpose(1, 2, 0), delay, taps)
    band = (frequencies >= low) & (frequencies <= high)
    reference = tuple(int(mids[int(np.argmax(np.abs(ctc[band, :, j]).mean(axis=0)))]) for j in range(2))
    rtf_gain = np.zeros((2, 2, taps))
    for j in range(2):
        rtf_gain[j, j] = impulse[reference[j], j]
    ratios = np.zeros((len(profile.drivers), 2, len(frequencies)), complex)
    for j in range(2):
        denominator = ctc[:, mids.index(reference[j]), j]
        for column, index in enumerate(mids):
            ratios[index, j] = relative_responses(ctc[:, column, j], denominator)
    return DriverFilters(
        sample_rate=float(sample_rate),
        frequencies=frequencies,
        response=response,
        impulse=impulse,
        delay_samples=delay,
        weights=ctc,
        active_indices=tuple(mids),
        mid_indices=tuple(mids),
        driver_names=tuple(profile.driver_names),
        rtf_reference=reference,
        rtf_gain=rtf_gain,
        rtf_ratio=to_fir(ratios, taps // 2, taps),
        rtf_delay=taps // 2,
        regularization=regularization,
        info=info,
    )


#: Plant steps by (profile, head, listener, rate, taps), least recently used dropped first: the designs
#: of one listener at other requests (a width ride, a design grid's nodes) share the plant and the effort search.
_PLANTS: LruCache[tuple[np.ndarray, np.ndarray, float, RegularizedInverse, np.ndarray | None]] = LruCache(max_entries=16)
#: Robust inverses by (profile, head, listener, rate, taps, region), as :data:`_PLANTS`.
_ROBUST: LruCache[RobustInverse] = LruCache(max_entries=16)

#: The head variants a model head's robust design holds for: head radius and ear angle about one standard
#: deviation of measured heads either way (radius 8.7 +- 0.6 cm, Algazi et al. 2001; the ears sit several
#: degrees behind the interaural axis, by an amount that varies), each varied alone.
RADIUS_SPREAD, EAR_SPREAD_DEG = 0.07, 6.0
#: The share of the nominal design's ``beta`` (the target curve's, on the nominal plant) a robust design keeps at
#: the full request (:func:`robust_share`): the population's spread is the regularization that matters; the
#: nominal's keeps the target's shape (nothing asked outside the band, less where the request eases off). Chosen
#: on model heads the design did not assume (Brown & Duda, the rigid sphere, a smaller head model: region means
#: 17.1 / 18.3 / 17.7 dB at 0.1, 16.5 / 17.0 / 16.0 at 0.3, 15.0 / 15.5 / 14.2 with no population, studio-5 at
#: 1 m), not on a measured head.
ROBUST_FLOOR = 0.1
#: The request's plateau (dB) at which a robust design keeps :data:`ROBUST_FLOOR` (:func:`robust_share`): the
#: default request, a Spatializer's at full width.
ROBUST_FULL_REQUEST_DB = 25.0


def head_variants(head: HeadModel) -> list[HeadModel]:
    """``head`` and its variants for a robust design: radius and ear angle each varied alone (a model with
    ``radius_m`` and ``ear_azimuth_deg``), and the design head with a torso (:func:`torso_variant`); a measured
    head is the listener's own and is not varied."""
    if not dataclasses.is_dataclass(head) or not hasattr(head, "ear_azimuth_deg"):
        return [head]
    radius, ear = float(head.radius_m), float(head.ear_azimuth_deg)
    torso = torso_variant(head)
    return [
        head,
        *(dataclasses.replace(head, radius_m=radius * (1 + d)) for d in (-RADIUS_SPREAD, RADIUS_SPREAD)),
        *(dataclasses.replace(head, ear_azimuth_deg=ear + d) for d in (-EAR_SPREAD_DEG, EAR_SPREAD_DEG)),
        *([torso] if torso is not None else []),
    ]


def torso_variant(head: HeadModel) -> HeadModel | None:
    """The design head with a torso, or the head-and-torso model without it: every listener has a torso, whose
    reflection (:class:`~soundstage.acoustics.head.HeadAndTorso`, 0.37 ms and about -11 dB for a source in the
    horizontal plane) ripples the plant by +-2 dB from 1.4 kHz up, and a design should hold with it and without.
    None for the other models (Brown & Duda's, the exact sphere's: alternatives to compare, kept as they are).

    Chosen on model heads it was not made on (studio-5 at 1 m, the default design, mean / region mean / worst
    seat, dB; without the variant -> with it): Brown & Duda's 26.7 / 17.0 / 12.0 -> 27.0 / 16.9 / 11.8, the exact
    sphere 28.8 / 17.7 / 12.4 -> 29.1 / 17.6 / 12.2, a smaller head (8 cm) 25.3 / 16.1 / 10.8 -> 25.4 / 16.1 /
    10.7, a smaller torso (14 cm, 15 cm below the ears) 18.1 / 12.6 / 9.8 -> 18.7 / 13.0 / 9.9.
    """
    if isinstance(head, HeadAndTorso):
        return HybridSphereHead(head.radius_m, head.ear_azimuth_deg)
    if isinstance(head, HybridSphereHead):
        return HeadAndTorso(head.radius_m, head.ear_azimuth_deg)
    return None


def population(
    head: HeadModel, listener: Listener, region: ListeningRegion, others: Sequence[HeadModel] = ()
) -> list[tuple[HeadModel, Listener]]:
    """The (head, seat) pairs a robust design holds for, the nominal pair first: the nominal head at every seat
    of the region (27 by default), each of its variants (:func:`head_variants`) at the nominal seat, and each
    of ``others`` (further measured heads: a stage's several SOFA sets) at every seat of the region."""
    seats = region.positions(listener)
    return (
        [(head, seat) for seat in seats]
        + [(variant, listener) for variant in head_variants(head)[1:]]
        + [(other, seat) for other in others for seat in seats]
    )


def plant_step(
    profile: DeviceProfile, head: HeadModel, listener: Listener, sample_rate: float, taps: int
) -> tuple[np.ndarray, np.ndarray, float, RegularizedInverse, np.ndarray | None]:
    """Step 1 and what does not depend on the request: the frequencies, the midrange plant and its timing
    reference (m), its :class:`RegularizedInverse` (which memoises the effort search), and the plant of the
    woofers and tweeters (None without them). Memoised for hashable heads (the models; a measured set is not)."""

    def compute() -> tuple[np.ndarray, np.ndarray, float, RegularizedInverse, np.ndarray | None]:
        frequencies = np.fft.rfftfreq(taps, 1 / sample_rate)
        plant, reference_m = crosstalk_plant(profile, frequencies, head, listener, profile.indices("mid"))
        band_drivers = profile.indices("woofer") + profile.indices("tweeter")
        band_plant = None
        if band_drivers:
            band_plant = transfer_matrix(profile, frequencies, head, listener=listener, drivers=band_drivers)
            band_plant = band_plant * np.exp(2j * np.pi * frequencies * reference_m / SPEED_OF_SOUND_M_S)[:, None, None]
        for shared in (frequencies, plant, band_plant):  # every design of this listener holds them: read-only
            if shared is not None:
                shared.flags.writeable = False
        return frequencies, plant, reference_m, RegularizedInverse(plant), band_plant

    return _PLANTS.get_or_compute(hashable_key(profile, head, listener, float(sample_rate), int(taps)), compute)


def robust_step(
    profile: DeviceProfile,
    head: HeadModel,
    listener: Listener,
    sample_rate: float,
    taps: int,
    region: ListeningRegion,
    others: Sequence[HeadModel] = (),
) -> RobustInverse:
    """The :class:`RobustInverse` over the :func:`population` of ``region`` (memoised as :func:`plant_step`).

    Each member's plant is timed to its own nearest midrange: a delay common to both ears is no crosstalk. A
    further measured head's (``others``) is brought to the nominal head's level (:func:`head_response`, per
    frequency): sets measured with other loudspeakers and microphones differ by their chains in every direction,
    which is no uncertainty of the listener's plant.
    """

    def compute() -> RobustInverse:
        frequencies, plant = plant_step(profile, head, listener, sample_rate, taps)[:2]
        mids = profile.indices("mid")
        plants = [plant]
        members = population(head, listener, region, others)[1:]
        nominal_level = np.abs(head_response(profile, frequencies, head, listener)[:, 0]) if others else None
        for _, group in itertools.groupby(members, key=lambda member: id(member[0])):  # by identity: sets hold arrays
            pairs = list(group)
            seats = [seat for _, seat in pairs]  # one head model call for all of a head's seats
            member = pairs[0][0]
            made = transfer_matrices(profile, frequencies, member, seats, drivers=mids)
            scale = np.ones(len(frequencies))
            if nominal_level is not None and any(member is other for other in others):
                # another set's measurement chain is no uncertainty of the head: its level brought to the nominal's
                scale = nominal_level / np.maximum(np.abs(head_response(profile, frequencies, member, listener)[:, 0]), 1e-20)
            plants += [_timed(one, profile, frequencies, seat, mids)[0] * scale[:, None, None] for one, seat in zip(made, seats)]
        return RobustInverse(np.stack(plants))

    key = hashable_key(profile, head, listener, float(sample_rate), int(taps), region, tuple(others))
    return _ROBUST.get_or_compute(key, compute)


def robust_regularization(
    robust: RobustInverse,
    nominal: RegularizedInverse,
    regularization: Regularization,
    frequencies: np.ndarray,
    band_hz: tuple[float, float],
    max_effort_db: float,
    plateau_db: float,
) -> Regularization:
    """Step 2 of a robust design: the nominal design's regularization (the target curve's, on the nominal plant),
    scaled by :func:`robust_share` of the request, never below what keeps the robust filters within
    ``max_effort_db`` at the level given (a soft maximum, as :func:`choose_regularization`'s), smoothed over frequency.

    The request is read through the nominal design, whose regularization moves smoothly with it: a search of
    the population's own separation for the request moved steeply (it has a plateau of about 15 dB at 1 kHz
    over a decade and a half of ``beta``) or jumped (where it is not monotonic), and a width ride's cubic grid
    then came within only -37 to -50 dB of the exact designs; this one within -65 dB (``tests/test_robust_design.py``).
    """
    share = robust_share(plateau_db)
    scaled = share * regularization.beta * nominal.scale / np.maximum(robust.scale, 1e-300)
    b_effort, feasible = robust.effort_search(max_effort_db, regularization.level)
    log_scaled = np.log10(np.clip(scaled, SEARCH_LOW, SEARCH_HIGH))
    b = 10 ** soft_extreme(log_scaled, np.log10(b_effort), MAX_SOFTNESS_DECADES)
    return dataclasses.replace(regularization, beta=smooth_regularization(frequencies, b, *band_hz), feasible_db=feasible)


def robust_share(plateau_db: float) -> float:
    """The share of the nominal design's ``beta`` a robust design keeps for a request's plateau (dB):
    :data:`ROBUST_FLOOR` at the full request (:data:`ROBUST_FULL_REQUEST_DB`), 1 for none, geometric between.

    At the full request the population's spread is the regularization that matters; as the request falls,
    the design returns to the nominal design's regularization, so that width still sets the separation
    (on the model at 2 m over the region, widths 0.2 / 0.4 / 0.6 / 0.8 / 1: 5.3 / 11.0 / 14.8 / 16.5 / 17.5 dB,
    the exact design 3.9 / 7.8 / 11.0 / 13.6 / 15.5 dB).
    """
    return float(ROBUST_FLOOR ** (max(plateau_db, 0.0) / ROBUST_FULL_REQUEST_DB))


@one_blas_thread()  # the same bits as a stage's design, whatever BLAS's threads (designstore.one_blas_thread)
def design_crosstalk_canceller(
    profile: DeviceProfile,
    *,
    sample_rate: float = 48000.0,
    head: HeadModel | None = None,
    listener: Listener | None = None,
    target: TargetCurve | None = None,
    plateau_db: float = 25.0,
    max_effort_db: float = 10.0,
    low_frequency_give_db: float = 4.5,
    give_plateau_db: float | None = None,
    taps: int | None = None,
    region: ListeningRegion | None = DEFAULT_REGION,
    others: Sequence[HeadModel] = (),
    own_ear: str = "flat",
) -> DriverFilters:
    """Design a crosstalk canceller for a device at a listener position (pure function).

    Four steps: the plant (:func:`crosstalk_plant`), the regularization search
    (:func:`choose_regularization`, :func:`canceling_filters`), the band assembly
    (:func:`~soundstage.acoustics.feeds.assemble_band_feeds`) and the realization
    (:func:`realize_crosstalk`).

    Parameters
    ----------
    profile : DeviceProfile
        The device, at its listener distance.
    sample_rate : float
        Hz.
    head : HeadModel, optional
        The model designed on (default: the head model, :class:`~soundstage.acoustics.head.HybridSphereHead`).
    listener : Listener, optional
        The design position (default: centered, facing the device).
    target : TargetCurve, optional
        Separation to achieve per frequency, followed as given. Without one, the
        default request :meth:`TargetCurve.default` (``plateau_db``) is used,
        capped at what the effort limit allows at each frequency.
    plateau_db : float
        Plateau of the default request.
    max_effort_db : float
        Upper limit of any filter's gain.
    low_frequency_give_db : float
        Where the effort limit keeps the cancellation short of the request (low
        frequencies, where the drivers are close together as seen by the head),
        each input may reach its own ear up to this much quieter, which buys the
        same amount of extra cancellation at the same effort (below 2 kHz, faded out by 4 kHz).
    give_plateau_db : float, optional
        The plateau of the default request whose shortfall decides where level is
        given (default: ``plateau_db``). A fixed one keeps the level, and so the
        effort search, the same for every ``plateau_db``: the Spatializer passes its
        full-width plateau, so its designs move smoothly with width.
    taps : int, optional
        FIR length; the modeling delay is ``taps // 2``. Default: :data:`TAPS` at 48 kHz, the same time at
        other rates (:func:`~soundstage.dsp.spans.span`).
    region : ListeningRegion or None
        The listening region the design holds for (robust design, :class:`RobustInverse`): every
        seat of the region around ``listener`` and, for a model head, the head's variants
        (:func:`population`), by default :data:`DEFAULT_REGION` (+-5 deg yaw, +-5 cm lateral and
        fore-aft): :func:`robust_regularization`. None: exact at ``listener`` on ``head`` alone
        (:class:`RegularizedInverse`), its request the separation there.
    others : sequence of HeadModel
        Further heads the design holds for, at every seat of ``region`` (a stage's several SOFA sets:
        :class:`~soundstage.acoustics.hrtf.HeadChoice`); ``head`` is the nominal one. With ``region``
        None the design is then robust over the heads at ``listener``'s seat alone.
    own_ear : {"flat", "head"}
        How each input reaches its own ear: flat (a binaural signal delivered as it is), or as ``head``
        hears a source at the device (:func:`~soundstage.acoustics.timbre.head_response`: the head's
        common response is not inverted, only what differs between drivers and ears; the effort limit
        then counts the drive a driver needs beyond playing the sound. The Spatializer's choice: its
        virtual speakers are to sound like real ones, which color the ear they face).

    Examples
    --------
    >>> from soundstage.acoustics.profiles import load_profile
    >>> design = design_crosstalk_canceller(load_profile("studio-5", distance_m=1.0))
    >>> design.impulse.shape, design.effort_db() <= 10.0
    ((5, 2, 2048), True)
    """
    head = head or HybridSphereHead()
    listener = listener or Listener()
    taps = taps if taps is not None else span(TAPS, sample_rate)
    mids = profile.indices("mid")
    if len(mids) < 2:
        raise ParameterError(
            f"{profile.name}: a crosstalk canceller needs at least two 'mid' drivers, the profile has {len(mids)}"
        )
    if own_ear not in ("flat", "head"):
        raise ParameterError(f'crosstalk canceller: own_ear must be "flat" or "head", not {own_ear!r}')
    frequencies, plant, reference_m, nominal, band_plant = plant_step(profile, head, listener, sample_rate, taps)
    own_ear_response = head_response(profile, frequencies, head, listener) if own_ear == "head" else None
    if own_ear_response is not None and len(frequencies) > 1:
        own_ear_response[0] = own_ear_response[1]  # as the plant's 0 Hz bin
    own_ear_level = None if own_ear_response is None else np.abs(own_ear_response[:, 0])  # the ears' common level
    band_hz = midrange_band_hz(profile)
    give_reference = None
    if target is None and give_plateau_db is not None:
        give_reference = TargetCurve.default(give_plateau_db).db(frequencies)
    regularization = choose_regularization(
        nominal,
        frequencies,
        (target or TargetCurve.default(plateau_db)).db(frequencies),
        band_hz,
        capped=target is None,
        max_effort_db=max_effort_db,
        low_frequency_give_db=low_frequency_give_db,
        give_reference_db=give_reference,
        own_ear_level=own_ear_level,
    )
    inverses: RegularizedInverse | RobustInverse = nominal
    if region is None and others:
        region = ListeningRegion(yaw_deg=0.0, lateral_m=0.0, fore_aft_m=0.0)  # the seat, over the heads
    if region is not None:
        inverses = robust_step(profile, head, listener, sample_rate, taps, region, others)
        request_db = plateau_db if target is None else float(np.max(target.db(frequencies)))
        regularization = robust_regularization(inverses, nominal, regularization, frequencies, band_hz, max_effort_db, request_db)
    ctc = canceling_filters(inverses, regularization, max_effort_db)
    if own_ear_response is not None:  # its level is in the regularization (the effort counts it); here each ear's phase
        ctc = ctc * (own_ear_response / np.abs(own_ear_response))[:, None, :]  # input j: ear j
    # the mono woofer and tweeter feeds arrive when the nearest midrange does (the filters' timing
    # reference), so the crossovers sum in phase: a front tweeter closer to the listener is delayed
    positions, center = profile.world_positions(), np.asarray(listener.position_m, float)

    def timing(index: int) -> np.ndarray:
        lead_m = reference_m - float(np.linalg.norm(positions[index] - center))
        return np.asarray(np.exp(-2j * np.pi * frequencies * lead_m / SPEED_OF_SOUND_M_S))

    response = assemble_band_feeds(profile, frequencies, ctc, mids, timing, band_share=0.5)
    followed = regularization.wanted_db  # what the total separation (midranges + mono band feeds) is to follow
    band_drivers = profile.indices("woofer") + profile.indices("tweeter")
    if target is None and band_drivers:
        # where the mono tweeter/woofer fades in, no more than its crosstalk leaves; the midranges still
        # cancel as asked there, so that the band drivers' crosstalk is what limits the total
        assert band_plant is not None
        band_ears = band_plant @ response[:, band_drivers, :]
        w_mid = midrange_weights(profile, frequencies)
        followed = np.minimum(followed, crossover_limit_db(band_ears, w_mid, regularization.level))
    info = {
        "profile": profile.name,
        "distance_m": profile.distance_m,
        "plant": plant,
        "target_db": followed,
        "feasible_db": regularization.feasible_db,
    }
    return realize_crosstalk(
        profile, frequencies, ctc, response, sample_rate=sample_rate, taps=taps, regularization=regularization.beta, info=info
    )


class CrosstalkCanceller(FilterForms, Processor):  # type: ignore[misc]  # output_channels: a property here, an int there
    """Crosstalk cancellation for a device: 2 inputs (ear signals) -> one feed per driver.

    Parameters
    ----------
    device : str
        A device profile name or file (configuration, not automatable).
    form : {"direct", "rtf"}
        Run the direct filters or the relative-transfer-function form.
    hrtf : str or list of str
        ``"model"`` (the head model, the default), another model's name or the path of a SOFA file:
        design on a measured head, e.g. the listener's own; several SOFA files: designed on the
        first, robust over all of them (configuration).
    region : {"region", "seat"}
        Design robust (the default): least mean crosstalk over the listening region (+-5 deg yaw,
        +-5 cm lateral and fore-aft) and, on a model, the head's variants; or exact at the
        listener's seat (:func:`design_crosstalk_canceller`; configuration).
    region_yaw_deg, region_lateral_m, region_fore_aft_m : float, optional
        The listening region's extents, +- about the seat (0..45 deg, 0..0.5 m, 0..0.5 m; default
        5 deg, 5 cm, 5 cm; 0 drops that dimension), e.g. wider for a couch, 0 yaw for a fixed chair
        (``region = "region"`` only; configuration).
    distance_m : float, 0.5..5 m
        Listener distance the filters are designed for.
    head_radius_m : float, 0.05..0.12 m
        Head radius of the design model (``hrtf = "model"`` only).
    separation_db : float, 0..30 dB
        Plateau of the target cancellation curve (the default curve's shape).
    listener_x_m, listener_y_m, listener_yaw_deg : float
        Where the design's listener sits relative to the nominal seat: toward the
        device (-0.5..0.5 m), to the left (-1..1 m), head yaw (-90..90 deg, + left).

    Examples
    --------
    >>> import numpy as np
    >>> ctc = CrosstalkCanceller(device="compact-pair", distance_m=1.0)
    >>> ctc(np.zeros((2, 4800)), 48000).shape
    (2, 4800)
    """

    type_name = "CrosstalkCanceller"
    #: The FIR engine's partition at 48 kHz, its latency (the same time at other rates: :func:`~soundstage.dsp.spans.span`).
    PARTITION = 512
    config_keys = ("device", "form", "hrtf", "region", *REGION_EXTENTS)
    input_channels = 2
    parameter_specs = (
        ParameterSpec("distance_m", 2.0, 0.5, 5.0, unit="m", description="Listener distance of the design"),
        ParameterSpec("head_radius_m", 0.0875, 0.05, 0.12, unit="m", description="Head radius of the design model"),
        ParameterSpec("separation_db", 25.0, 0.0, 30.0, unit="dB", description="Plateau of the target cancellation curve"),
        *LISTENER_PARAMETERS,
    )
    design_parameters = ("distance_m", "head_radius_m", "separation_db", *(spec.name for spec in LISTENER_PARAMETERS))

    def __init__(
        self,
        *,
        device: str = "studio-5",
        form: str = "direct",
        hrtf: str | Sequence[str] = "model",
        region: str = "region",
        region_yaw_deg: float | None = None,
        region_lateral_m: float | None = None,
        region_fore_aft_m: float | None = None,
        distance_m: float = 2.0,
        head_radius_m: float = 0.0875,
        separation_db: float = 25.0,
        listener_x_m: float = 0.0,
        listener_y_m: float = 0.0,
        listener_yaw_deg: float = 0.0,
    ) -> None:
        if form not in ("direct", "rtf"):
            raise ParameterError(f"CrosstalkCanceller: form={form!r} must be 'direct' or 'rtf'")
        self.device = device_setting(device)
        self.form = form
        self.region = region
        self.region_yaw_deg, self.region_lateral_m, self.region_fore_aft_m = region_yaw_deg, region_lateral_m, region_fore_aft_m
        self._region = region_setting("CrosstalkCanceller", region, region_extents(self))
        self._heads = HeadChoice(hrtf)  # a bad SOFA file fails here, not mid-stream
        self.hrtf = self._heads.hrtf  # a model or file name, or several files (a tuple)
        self._profile = load_profile(device)
        super().__init__(
            distance_m=distance_m,
            head_radius_m=head_radius_m,
            separation_db=separation_db,
            listener_x_m=listener_x_m,
            listener_y_m=listener_y_m,
            listener_yaw_deg=listener_yaw_deg,
        )
        self.partition_size = self.PARTITION  # at 48 kHz until a stream opens at another rate
        self._engines: list[CrossfadingFir] = []

    def design(self, sample_rate: float) -> DriverFilters:
        """The design for the current parameters (memoised: a reset does not redesign)."""
        return self._memoised(sample_rate, self._design)

    def _design(self, sample_rate: float) -> DriverFilters:
        """The design for the current parameters at a sample rate."""
        return design_crosstalk_canceller(
            self._profile.at_distance(self.float_value("distance_m")),
            sample_rate=sample_rate,
            head=self._heads.head(sample_rate, self.float_value("head_radius_m")),
            listener=design_listener(self),
            plateau_db=self.float_value("separation_db"),
            region=self._region,
            others=self._heads.others(sample_rate),
        )

    @property
    def latency_samples(self) -> int:
        direct = self._band_delay_samples()
        return direct + (direct if self.form == "rtf" else 0)

    def _band_delay_samples(self) -> int:  # the ratio stage's latency: the modeling delay, the partition
        return span(TAPS, self._sample_rate or 48000.0) // 2 + self.partition_size

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.device != "studio-5":
            config["device"] = self.device
        if self.form != "direct":
            config["form"] = self.form
        if self.hrtf != "model":
            config["hrtf"] = self.hrtf
        if self.region != "region":
            config["region"] = self.region
        config.update(region_extents(self))
        return config
