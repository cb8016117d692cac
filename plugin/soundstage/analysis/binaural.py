"""Binaural measures: fractional-octave bands, ITD by cross-correlation, ILD per band.

Bands follow IEC 61260 base-10 nominal centers (1/3 octave: 10^(k/10) kHz);
band values are power averages over the band's bins.
"""

from __future__ import annotations

import numpy as np

__all__ = ["band_power", "fractional_octave_bands", "iacc", "ild_db", "itd_s", "nominal_hz"]

#: IEC 61260 nominal mantissas of the 1/3-octave centers (the R10 preferred numbers).
_NOMINAL = (1.0, 1.25, 1.6, 2.0, 2.5, 3.15, 4.0, 5.0, 6.3, 8.0)


def fractional_octave_bands(low_hz: float, high_hz: float, fraction: int = 3) -> np.ndarray:
    """Center frequencies (Hz) of 1/``fraction``-octave bands with centers in [low, high]."""
    step = 3.0 / fraction  # base-10: an octave is 10^(3/10)
    first = int(np.ceil(10 * np.log10(low_hz / 1000) / step - 0.05))
    last = int(np.floor(10 * np.log10(high_hz / 1000) / step + 0.05))  # nominal 6300 includes 6310
    return np.array([1000 * 10 ** (k * step / 10) for k in range(first, last + 1)])


def nominal_hz(center_hz: float) -> float:
    """The nominal name of an exact band center: 1995.3 -> 2000, 6309.6 -> 6300.

    >>> [nominal_hz(c) for c in fractional_octave_bands(100, 1000, fraction=1)]
    [125.0, 250.0, 500.0, 1000.0]
    """
    k = round(10 * np.log10(center_hz))
    return round(_NOMINAL[k % 10] * 10.0 ** (k // 10), 6)


def band_power(spectrum: np.ndarray, frequencies_hz: np.ndarray, center_hz: float, fraction: int = 3) -> float:
    """Mean power of ``spectrum`` (complex or magnitude) over one band."""
    edge = 10 ** (3.0 / fraction / 20)  # half a band in base-10 octaves
    mask = (frequencies_hz >= center_hz / edge) & (frequencies_hz < center_hz * edge)
    if not mask.any():
        raise ValueError(f"no frequency bins inside the band at {center_hz:g} Hz; use a longer FFT")
    return float(np.mean(np.abs(spectrum[..., mask]) ** 2))


def band_powers(spectrum: np.ndarray, frequencies_hz: np.ndarray, centers_hz: np.ndarray, fraction: int = 3) -> np.ndarray:
    """Mean power of ``spectrum`` (..., F) over each band: shape (..., bands); :func:`band_power` for many at once."""
    edge = 10 ** (3.0 / fraction / 20)
    centers = np.asarray(centers_hz, dtype=float)[:, None]
    masks = (frequencies_hz >= centers / edge) & (frequencies_hz < centers * edge)  # (bands, F)
    counts = masks.sum(axis=1)
    if not counts.all():
        raise ValueError(f"no frequency bins inside the band at {float(centers[counts.argmin(), 0]):g} Hz; use a longer FFT")
    return np.asarray((np.abs(spectrum) ** 2) @ masks.T.astype(float) / counts)


def ild_db(left: np.ndarray, right: np.ndarray, sample_rate: float, centers_hz: np.ndarray, fraction: int = 3) -> np.ndarray:
    """Interaural level difference (left over right, dB) per band of two ear signals."""
    n = max(len(left), int(sample_rate))
    frequencies = np.fft.rfftfreq(n, 1 / sample_rate)
    spectrum_left, spectrum_right = np.fft.rfft(left, n), np.fft.rfft(right, n)
    powers = band_powers(np.stack([spectrum_left, spectrum_right]), frequencies, centers_hz, fraction)
    return np.asarray(10 * np.log10(powers[0] / powers[1]))


def itd_s(
    left: np.ndarray,
    right: np.ndarray,
    sample_rate: float,
    *,
    max_lag_s: float = 0.001,
    band_hz: tuple[float, float] | None = (100.0, 1500.0),
) -> float:
    """Interaural time difference, seconds: positive when the right ear lags (source on the left).

    Cross-correlation of the two ear signals (band-limited, 100-1500 Hz by default,
    where ITD is the localization cue), peak refined by parabolic interpolation.
    """
    import scipy.signal  # noqa: PLC0415 (slow to load: on first use)

    a, b = np.asarray(left, float), np.asarray(right, float)
    if band_hz is not None:
        sos = scipy.signal.butter(4, band_hz, btype="bandpass", fs=sample_rate, output="sos")
        a, b = scipy.signal.sosfiltfilt(sos, a), scipy.signal.sosfiltfilt(sos, b)
    correlation = scipy.signal.correlate(b, a, mode="full", method="fft")
    lags = np.arange(-len(a) + 1, len(b))
    window = np.abs(lags) <= int(np.ceil(max_lag_s * sample_rate))
    index = np.flatnonzero(window)[np.argmax(correlation[window])]
    shift = 0.0
    if 0 < index < len(correlation) - 1:
        y0, y1, y2 = correlation[index - 1 : index + 2]
        denominator = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / denominator if denominator != 0 else 0.0
    return float((lags[index] + shift) / sample_rate)


def iacc(ears: np.ndarray, sample_rate: float, band_hz: tuple[float, float], *, max_lag_s: float = 0.001) -> float:
    """Interaural cross-correlation coefficient of two ear signals (2, N) in a band: the largest magnitude of their
    normalized cross-correlation over lags of +-``max_lag_s`` (1 ms), after a 4th-order Butterworth band-pass run
    forwards and backwards. 1: one signal at both ears (a source ahead, or one delayed copy); near 0: unrelated ones
    (a wide, diffuse image)."""
    import scipy.signal  # noqa: PLC0415 (slow to load: on first use)

    sos = scipy.signal.butter(4, band_hz, btype="bandpass", fs=sample_rate, output="sos")
    left, right = scipy.signal.sosfiltfilt(sos, np.asarray(ears, float), axis=-1)
    lag = int(max_lag_s * sample_rate)
    correlation = scipy.signal.correlate(left, right, mode="full", method="fft")
    middle = len(right) - 1
    window = correlation[max(middle - lag, 0) : middle + lag + 1]
    energy = np.sqrt(np.sum(left**2) * np.sum(right**2))
    return float(np.abs(window).max() / energy) if energy > 0 else 0.0
