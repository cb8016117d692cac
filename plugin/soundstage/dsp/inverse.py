r"""Regularized inverses of a MIMO plant, per frequency: Tikhonov's (Kirkeby et al. 1998), least-norm where there
are more drivers than ears, each input's column normalized to reach its own ear flat, and the robust inverse
that minimizes the crosstalk averaged over a population of plants; the searches for the regularization that
meets a separation or an effort.

.. math::

    H(\beta) = C^H (C C^H + \beta I)^{-1}

References
----------
O. Kirkeby, P. A. Nelson, H. Hamada, F. Orduna-Bustamante, "Fast deconvolution of multichannel systems using
regularization", IEEE Trans. Speech Audio Process. 6(2), 1998."""

from __future__ import annotations

import functools

import numpy as np

from soundstage.dsp.search import crossing_per_bin
from soundstage.memo import LruCache

__all__ = [
    "SEARCH_LOW",
    "SEARCH_HIGH",
    "CAP_SOFTNESS_DB",
    "MAX_SOFTNESS_DECADES",
    "POLE_SOFTNESS",
    "EFFORT_POLE_SOFTNESS",
    "GIVE_RAMP_SOFTNESS",
    "ROBUST_REALIZATION_DB",
    "ROBUST_POLE_DB",
    "RegularizedInverse",
    "RobustInverse",
    "achieved_separation_db",
    "soft_extreme",
]


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


#: The effort a robust design keeps for its FIR realization (dB): its filters change faster with frequency
#: than the nominal design's (0.1 dB), so the response between the design's bins can rise further (0.19 dB
#: measured at 390 Hz for a flat 30 dB request at 1 m).
ROBUST_REALIZATION_DB = 0.3
#: How far above the most regularized robust filters' peak gain the effort search keeps, and the softness
#: of that floor (dB; :attr:`RobustInverse._matched_peak`).
ROBUST_POLE_DB = 1.0


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


def soft_extreme(x: np.ndarray, y: np.ndarray, softness: float) -> np.ndarray:
    """A smooth maximum of ``x`` and ``y`` (``softness`` > 0, never below either) or minimum (< 0, never above).

    ``softness * log10(10**(x / softness) + 10**(y / softness))``: within ``|softness| * log10(2)``
    of the true extreme where the two meet, and equal to it where they are a few ``softness`` apart.
    """
    top = np.maximum(x, y) if softness > 0 else np.minimum(x, y)
    return np.asarray(top + softness * np.log10(10 ** ((x - top) / softness) + 10 ** ((y - top) / softness)))
