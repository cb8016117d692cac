"""Measuring crosstalk cancellation: realised filter responses and separation per band."""

from __future__ import annotations

import numpy as np
import scipy.fft

from soundstage.acoustics.head import HeadModel
from soundstage.acoustics.profiles import DeviceProfile, Listener
from soundstage.acoustics.transfer import transfer_matrix
from soundstage.analysis.binaural import fractional_octave_bands

__all__ = ["band_separation_db", "plain_stereo_separation_db", "realised_response", "separation_db"]


def realised_response(
    impulse: np.ndarray, delay_samples: int, sample_rate: float, n: int = 8192
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and responses (F, drivers, inputs) of FIR filters (drivers, inputs, taps), delay removed."""
    spectrum = scipy.fft.rfft(impulse, n=n, axis=-1)
    k = np.arange(spectrum.shape[-1])
    spectrum = spectrum * np.exp(2j * np.pi * k * delay_samples / n)
    return np.fft.rfftfreq(n, 1 / sample_rate), np.moveaxis(spectrum, -1, 0)


def band_separation_db(frequencies: np.ndarray, ears: np.ndarray, centres_hz: np.ndarray) -> np.ndarray:
    """Per 1/3-octave band, the smaller over the two inputs of ipsi/contra ear power (dB).

    ``ears`` is (F, 2 ears, 2 inputs): input 0 belongs at ear 0, input 1 at ear 1.
    """
    values = []
    for centre in centres_hz:
        mask = (frequencies >= centre / 10**0.05) & (frequencies < centre * 10**0.05)
        per_input = [
            10 * np.log10(np.mean(np.abs(ears[mask, j, j]) ** 2) / np.mean(np.abs(ears[mask, 1 - j, j]) ** 2)) for j in range(2)
        ]
        values.append(min(per_input))
    return np.array(values)


def separation_db(
    impulse: np.ndarray,
    delay_samples: int,
    sample_rate: float,
    profile: DeviceProfile,
    head: HeadModel,
    *,
    listener: Listener | None = None,
    low_hz: float = 250.0,
    high_hz: float = 6300.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Band centres and separation (dB) of canceller FIRs (drivers, 2, taps) through a head at a position."""
    frequencies, response = realised_response(impulse, delay_samples, sample_rate)
    plant = transfer_matrix(profile, frequencies, head, listener=listener)
    centres = fractional_octave_bands(low_hz, high_hz)
    return centres, band_separation_db(frequencies, plant @ response, centres)


def plain_stereo_separation_db(
    profile: DeviceProfile,
    head: HeadModel,
    left: int,
    right: int,
    *,
    sample_rate: float = 48000.0,
    low_hz: float = 250.0,
    high_hz: float = 6300.0,
) -> np.ndarray:
    """Separation with no canceller: left input to driver ``left``, right input to driver ``right``."""
    frequencies = np.fft.rfftfreq(8192, 1 / sample_rate)
    plant = transfer_matrix(profile, frequencies, head)
    feeds = np.zeros((len(frequencies), len(profile.drivers), 2))
    feeds[:, left, 0] = feeds[:, right, 1] = 1.0
    return band_separation_db(frequencies, plant @ feeds, fractional_octave_bands(low_hz, high_hz))
