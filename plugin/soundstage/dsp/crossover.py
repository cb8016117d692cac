"""Zero-phase crossovers on a frequency grid: the band split of every driver-feed design.

A band is a pair of raised-sine (``sin^2``) edges on a log-frequency axis, each
``width_octaves`` wide and centered on its corner frequency. The low-pass and
high-pass sides of one corner are complementary (``w + (1 - w) = 1``), so a
midrange band and the woofer/tweeter bands beside it sum to a flat response
when they arrive in phase. The weights are real: the filters built from them
are linear-phase outside the bands they shape.
"""

from __future__ import annotations

import numpy as np

__all__ = ["band_weights"]


def band_weights(frequencies_hz: np.ndarray, low_hz: float, high_hz: float, width_octaves: float = 2 / 3) -> np.ndarray:
    """Weights (0..1) of a band-pass from ``low_hz`` to ``high_hz`` on ``frequencies_hz``.

    .. math:: w(f) = \\sin^2\\!\\big(\\tfrac{\\pi}{2}\\, x_{low}\\big)\\,\\big(1 - \\sin^2(\\tfrac{\\pi}{2}\\, x_{high})\\big),
       \\quad x_{edge} = \\operatorname{clip}\\!\\big(\\log_2(f / edge) / width + \\tfrac12,\\ 0,\\ 1\\big)

    Parameters
    ----------
    frequencies_hz : ndarray, shape (F,)
        Hz; 0 Hz is treated as the lowest positive frequency's neighbor (weight of the low edge: 0).
    low_hz, high_hz : float
        Corner frequencies in Hz (-6 dB points). A ``high_hz`` of 1e9 or more means no upper edge.
    width_octaves : float
        Width of each edge in octaves.

    Returns
    -------
    ndarray, shape (F,)

    Examples
    --------
    >>> import numpy as np
    >>> w = band_weights(np.array([100.0, 1000.0, 10000.0]), 500.0, 4000.0)
    >>> [round(float(v), 3) for v in w]
    [0.0, 1.0, 0.0]
    """
    f = np.maximum(np.asarray(frequencies_hz, float), 1e-6)

    def rise(edge: float) -> np.ndarray:
        position = np.log2(f / edge) / width_octaves + 0.5
        return np.sin(np.clip(position, 0.0, 1.0) * np.pi / 2) ** 2

    return rise(low_hz) * (1.0 - rise(high_hz)) if high_hz < 1e9 else rise(low_hz)
