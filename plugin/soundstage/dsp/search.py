"""Searches per frequency bin: the parameter searches of the driver-feed designs.

Designs choose a scalar per bin (a regularization, a loading, a blend) as the
least value meeting a condition that is monotone in it; :func:`bisect_per_bin`
finds it for every bin at once. :func:`slope_limited` then smooths such a choice
over frequency so the filters made from it stay short.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["bisect_per_bin", "slope_limited"]


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
