"""Searches per frequency bin: the parameter searches of the driver-feed designs.

Designs choose a scalar per bin (a regularization, a loading, a blend) as the
least value meeting a condition that is monotone in it; :func:`bisect_per_bin`
finds it for every bin at once, and :func:`crossing_per_bin`, where the condition
is a continuous measure within a bound, in about half the evaluations.
:func:`slope_limited` then smooths such a choice over frequency so the filters
made from it stay short.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["bisect_per_bin", "crossing_per_bin", "slope_limited"]


def bisect_per_bin(
    bins: int,
    predicate: Callable[[np.ndarray], np.ndarray],
    low: float = -9.0,
    high: float = 4.0,
    steps: int = 26,
    *,
    log: bool = True,
) -> np.ndarray:
    """Per bin, the smallest x in [low, high] for which ``predicate`` holds (monotone in x), shape (bins,).

    With ``log`` the predicate is given ``10**x`` (x is a log10 value): 26 halvings
    of the default 13 decades find the value to within 4.5e-7 (relative). Bins
    where the predicate never holds return ``high``.

    Examples
    --------
    >>> import numpy as np
    >>> x = bisect_per_bin(2, lambda v: v >= np.array([0.5, 2.0]), 0.0, 4.0, steps=30, log=False)
    >>> [round(float(v), 6) for v in x]
    [0.5, 2.0]
    """
    lo = np.full(bins, low)
    hi = np.full(bins, high)
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        ok = predicate(10**mid if log else mid)
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return hi


def crossing_per_bin(
    measure: Callable[[np.ndarray], np.ndarray],
    bound: np.ndarray,
    low: float,
    high: float,
    *,
    coarse: int = 12,
    steps: int = 16,
    tolerance: float = 2e-10,
) -> np.ndarray:
    """Per bin the least log10 ``x`` in [low, high] where ``measure(10**x) <= bound`` (falling through the bound
    once), shape ``bound.shape``: ``low`` where it holds throughout, ``high`` where nowhere.

    ``coarse`` halvings bracket the crossing, then the Illinois rule (regula falsi on ``log(measure / bound)``,
    superlinear; Dowell & Jarratt 1971) closes the bracket until that is within ``tolerance`` of 0 or the
    bracket that narrow, in at most ``steps``. It finds what 40 halvings of :func:`bisect_per_bin` find, to
    about 1e-8 decades, in about half the evaluations (the searches of the robust canceller and the beam).

    Examples
    --------
    >>> import numpy as np
    >>> x = crossing_per_bin(lambda v: 1.0 / v, np.array([0.5, 0.01]), -3.0, 3.0)  # 1/v <= b: v >= 1/b
    >>> [round(float(10**v), 6) for v in x]
    [2.0, 100.0]
    """

    def excess(x: np.ndarray) -> np.ndarray:  # <= 0: holds
        return np.asarray(np.log(np.maximum(measure(10**x), 1e-300) / bound))

    lo, hi = np.full(bound.shape, float(low)), np.full(bound.shape, float(high))
    f_lo, f_hi = excess(lo), excess(hi)
    at_low = f_lo <= 0
    for _ in range(coarse):
        middle = 0.5 * (lo + hi)
        f_middle = excess(middle)
        inside = f_middle <= 0
        hi, lo = np.where(inside, middle, hi), np.where(inside, lo, middle)
        f_hi, f_lo = np.where(inside, f_middle, f_hi), np.where(inside, f_lo, f_middle)
    kept = np.zeros(bound.shape, int)  # the end the last step kept: +1 low, -1 high (Illinois: halve it if kept again)
    for _ in range(steps):
        # open: a crossing inside, not yet within the tolerance, and not met at the holding end already
        # (there ``log(measure / bound)`` is 0 to rounding, and regula falsi would keep landing on it)
        open_ = (f_lo > 0) & (f_hi < -tolerance) & (hi - lo > tolerance)
        if not open_.any():
            break
        x = np.clip(np.where(open_, hi - f_hi * (hi - lo) / np.where(open_, f_hi - f_lo, 1.0), lo), lo, hi)
        f_x = excess(x)
        inside, outside = open_ & (f_x <= 0), open_ & (f_x > 0)
        f_lo = np.where(inside & (kept == 1), 0.5 * f_lo, f_lo)
        f_hi = np.where(outside & (kept == -1), 0.5 * f_hi, f_hi)
        hi, f_hi = np.where(inside, x, hi), np.where(inside, f_x, f_hi)
        lo, f_lo = np.where(outside, x, lo), np.where(outside, f_x, f_lo)
        kept = np.where(inside, 1, np.where(outside, -1, kept))
    return np.asarray(np.where(at_low, lo, hi))


def slope_limited(values: np.ndarray, octave: np.ndarray, slope: float) -> np.ndarray:
    """The least upper envelope of ``values`` that falls at most ``slope`` per octave.

    Parameters
    ----------
    values : ndarray, shape (F,)
    octave : ndarray, shape (F,)
        log2 of each bin's frequency.
    slope : float
        Largest fall per octave, in the units of ``values``.
    """
    return np.asarray((values[None, :] - slope * np.abs(octave[:, None] - octave[None, :])).max(axis=1))
