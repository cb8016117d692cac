"""How much a crosstalk canceller's inverse is regularized at each frequency: enough that the separation follows a
target curve (:class:`TargetCurve`) and no filter exceeds the effort limit, eased where the limits meet so the
design moves smoothly with its parameters; for a robust design, the share of the nominal regularization kept
beside the population's spread. :func:`canceling_filters` applies it to an inverse."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from soundstage.dsp.inverse import (
    CAP_SOFTNESS_DB,
    GIVE_RAMP_SOFTNESS,
    MAX_SOFTNESS_DECADES,
    SEARCH_HIGH,
    SEARCH_LOW,
    RegularizedInverse,
    RobustInverse,
    soft_extreme,
)

__all__ = [
    "GIVE_FADE_HZ",
    "TargetCurve",
    "smooth_regularization",
    "Regularization",
    "choose_regularization",
    "give_share",
    "canceling_filters",
    "ROBUST_FLOOR",
    "ROBUST_FULL_REQUEST_DB",
    "robust_regularization",
    "robust_share",
]


#: The level is given for cancellation at low frequencies only: in full below the first frequency, faded
#: out (raised cosine in log frequency) by the second. Above, the request eases off where the midranges
#: hand over to the tweeter, and the effort limit binds only where the drivers' matched filter is too loud
#: (no giving of level makes them cancel there); a give there followed those bins as the head turned.
GIVE_FADE_HZ = (2000.0, 4000.0)


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


def canceling_filters(
    inverses: RegularizedInverse | RobustInverse, regularization: Regularization, max_effort_db: float
) -> np.ndarray:
    """Step 2's filters (F, M, 2): the regularized inverse, limited in level where even full regularization needs more effort."""
    ctc = inverses.filters(regularization.beta * inverses.scale, regularization.level)  # (F, M, 2)
    limit = 10 ** ((max_effort_db - 0.1) / 20)
    # where even full regularization needs more than the limit (a driver null), give up level instead
    peak = np.abs(ctc).max(axis=1, keepdims=True)  # (F, 1, 2)
    return np.asarray(ctc * np.minimum(1.0, limit / np.maximum(peak, 1e-30)))


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
