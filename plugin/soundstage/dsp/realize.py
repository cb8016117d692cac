"""FIR realization of frequency-domain designs, and their relative-transfer-function (RTF) form.

Designs of driver feeds are made per frequency bin of an ``rfft`` grid. To run
them they become causal FIR filters: a modeling delay moves the (two-sided)
impulse response into the causal window, and short raised-sine tapers at both
ends keep the truncation from ringing (:func:`to_fir`).

The RTF form runs a multi-driver filter as two stages: one filter per input
(the reference driver's), then each driver's response *relative* to the
reference (:func:`relative_responses`). The ratios carry what differs between
drivers (the spatial part); the reference carries what they share.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

__all__ = ["delayed", "relative_responses", "to_fir", "trim_support"]


def to_fir(responses: np.ndarray, delay: int, taps: int) -> np.ndarray:
    """Frequency responses on the ``rfft`` grid of ``taps`` -> causal FIR filters with a modeling delay.

    Parameters
    ----------
    responses : ndarray, shape (..., taps // 2 + 1), complex
        Responses per ``rfft`` bin, without delay.
    delay : int
        Modeling delay in samples (``taps // 2`` centers a two-sided response).
    taps : int
        FIR length.

    Returns
    -------
    ndarray, shape (..., taps), float64
        ``irfft`` of the delayed responses, tapered over a quarter of the shorter
        side of the delay at each end.

    Examples
    --------
    >>> import numpy as np
    >>> h = to_fir(np.ones(5), delay=4, taps=8)
    >>> int(np.argmax(h)), round(float(h.sum()), 6)
    (4, 1.0)
    """
    frequencies = np.arange(responses.shape[-1])
    shifted = responses * np.exp(-2j * np.pi * frequencies * delay / taps)
    impulse = scipy.fft.irfft(shifted, n=taps, axis=-1)
    window = np.ones(taps)
    fade = min(delay, taps - delay) // 4
    if fade > 0:
        window[:fade] = np.sin(np.linspace(0, np.pi / 2, fade)) ** 2
        window[taps - fade :] = np.cos(np.linspace(0, np.pi / 2, fade)) ** 2
    return impulse * window


def delayed(filters: np.ndarray, samples: float) -> np.ndarray:
    """``filters`` (..., taps) delayed by ``samples`` (>= 0, any fraction), ``ceil(samples)`` taps longer.

    Whole samples are placed; a fraction is a band-limited shift (a linear phase on an ``rfft`` grid twice as
    long, so its tails before the first tap and after the last fall where they are cut off): the magnitude as
    it was, the delay exact below the Nyquist frequency.

    Examples
    --------
    >>> import numpy as np
    >>> h = delayed(np.hanning(64), 2.5)
    >>> h.shape, round(float(np.sum(np.arange(67) * h) / np.sum(h)), 3)  # the centroid, 31.5 -> 34.0
    ((67,), 34.0)
    """
    if not samples >= 0:
        raise ValueError(f"delayed: samples={samples} must be >= 0")
    whole = int(np.floor(samples))
    fraction = float(samples) - whole
    taps = filters.shape[-1]
    out = np.zeros((*filters.shape[:-1], taps + int(np.ceil(samples))))
    if fraction == 0.0:
        out[..., whole : whole + taps] = filters
        return out
    n = scipy.fft.next_fast_len(2 * taps + 2, real=True)
    ramp = np.exp(-2j * np.pi * np.arange(n // 2 + 1) * fraction / n)
    out[..., whole:] = scipy.fft.irfft(scipy.fft.rfft(filters, n=n, axis=-1) * ramp, n=n, axis=-1)[..., : taps + 1]
    return out


def trim_support(filters: np.ndarray, floor_db: float) -> np.ndarray:
    """A filter matrix ``(outputs, inputs, taps)`` with the leading and trailing taps that carry almost none of its energy
    set to zero; the same length (the latency is kept).

    Per output, the longest leading run of taps whose energy (over the inputs) is at most half of
    ``10^(floor_db / 10)`` of the output's, and the trailing one likewise, are negligible; the
    taps outside the widest support of all outputs are zeroed. So each output's error energy is
    at most ``floor_db`` re its own (for white input, its output's). A design's taps before its modeling delay
    and after its decay are such runs: an engine that skips zero partitions (:class:`~soundstage.dsp.fir.MimoFir`)
    then skips their multiply-adds.

    >>> h = np.zeros((1, 1, 8)); h[0, 0, 2:5] = [1.0, 0.5, 0.25]; h[0, 0, 7] = 1e-9
    >>> trim_support(h, -120.0)[0, 0]
    array([0.  , 0.  , 1.  , 0.5 , 0.25, 0.  , 0.  , 0.  ])
    """
    energy = np.sum(np.square(filters, dtype=np.float64), axis=1)  # (outputs, taps)
    allowed = 0.5 * 10.0 ** (floor_db / 10.0) * energy.sum(axis=1)
    # per output, the taps in each run: the running sums from that end that stay within the allowance
    leading, trailing = (np.sum(np.cumsum(e, axis=1) <= allowed[:, None], axis=1) for e in (energy, energy[:, ::-1]))
    start, stop = int(leading.min()), filters.shape[-1] - int(trailing.min())
    trimmed = np.zeros_like(filters)
    trimmed[..., start:stop] = filters[..., start:stop]
    return trimmed


def relative_responses(responses: np.ndarray, reference: np.ndarray, *, regularizer: float | None = None) -> np.ndarray:
    """Each response relative to a reference, per bin: ``H / H_ref`` (the RTF form's second stage).

    .. math:: R = \\frac{H}{H_{ref}} \\quad\\text{or, regularized,}\\quad
       R = \\frac{H\\, \\overline{H_{ref}}}{|H_{ref}|^2 + \\epsilon}

    Parameters
    ----------
    responses : ndarray, shape (..., F), complex
    reference : ndarray, shape (F,), complex
    regularizer : float, optional
        ``epsilon`` (same units as ``|H_ref|^2``): bounds the ratio where the
        reference is near zero. None divides exactly (for references without zeros).

    Returns
    -------
    ndarray, shape (..., F), complex
    """
    if regularizer is None:
        return np.asarray(responses / reference)
    return np.asarray(responses * np.conj(reference) / (np.abs(reference) ** 2 + regularizer))
