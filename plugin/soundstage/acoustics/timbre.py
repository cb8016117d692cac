"""Tonal match: the device chain's paths equalized so that, at the ears, they sound like a real stereo pair.

A mastering engineer's A/B should compare space, not EQ. The spatial designs do
not see to that by themselves: the canceller delivers the virtualizer's ear
signals with a flat ipsilateral path (a real loudspeaker at 30 degrees colors
its own ear), the center beam is flat on axis (a phantom center is the sum of two
speakers at +-30 degrees, with its comb), and the woofer and tweeter play mono
sums at the ends of the band.

:func:`tonal_match` measures, on the design head at the design seat, what each
input path of the device (L', R', C: drivers' filters through the driver -> ear
plant) puts at both ears, and what the reference puts there (L' and R': one
speaker of a +-30 degree pair at the same distance; C: both), as power summed
over the ears, smoothed over 1/3 octave (an octave below 200 Hz). Each path gets
the gain that makes its level the reference's, zero phase, its mean over the
L'/R' paths removed (the chain keeps its level), held within
``+-MAX_CORRECTION_DB``, and realized by a Hann-windowed linear-phase FIR of
``2 * EQ_HALF_TAPS`` taps at 48 kHz (the same time at other rates, :func:`eq_half_taps`), which adds
half that latency to every path alike (the paths stay aligned).

It is a design on a model of the listener like the others: on the design head it
makes the preview's octave balance the reference's; on another head it corrects
what the device itself does (bands, beam, virtualizer), not the head difference.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from soundstage.acoustics.geometry import rotation_z
from soundstage.acoustics.head import HeadModel
from soundstage.acoustics.profiles import DeviceProfile, Listener, load_profile
from soundstage.acoustics.transfer import transfer_matrix
from soundstage.dsp.spans import span
from soundstage.memo import LruCache, hashable_key

__all__ = [
    "EQ_HALF_TAPS",
    "MAX_CORRECTION_DB",
    "eq_half_taps",
    "head_response",
    "smooth_power",
    "tonal_match",
    "tonal_match_gains",
]

#: Half the length of each path's EQ at 48 kHz: its added latency (:func:`eq_half_taps` at other rates).
EQ_HALF_TAPS = 1024
#: The largest correction of any path at any frequency (dB).
MAX_CORRECTION_DB = 10.0
#: The band over which the L'/R' paths' mean gain is removed (Hz).
LEVEL_BAND_HZ = (100.0, 10000.0)


def smooth_power(
    frequencies: np.ndarray, power: np.ndarray, fraction: float = 3.0, low_fraction_below_hz: float = 200.0
) -> np.ndarray:
    """Power spectra (..., F) averaged over 1/``fraction`` octave around each bin (an octave below ``low_fraction_below_hz``)."""
    f = np.maximum(np.asarray(frequencies, float), frequencies[1] if len(frequencies) > 1 else 1.0)
    width = np.where(f < low_fraction_below_hz, 1.0, 1.0 / fraction)
    low = np.searchsorted(frequencies, f * 2 ** (-width / 2), side="left")
    high = np.searchsorted(frequencies, f * 2 ** (width / 2), side="right")
    high = np.maximum(high, low + 1)
    cumulative = np.concatenate([np.zeros(power.shape[:-1] + (1,)), np.cumsum(power, axis=-1)], axis=-1)
    return np.asarray((cumulative[..., high] - cumulative[..., low]) / (high - low))


def head_response(profile: DeviceProfile, frequencies: np.ndarray, head: HeadModel, listener: Listener) -> np.ndarray:
    """How the head hears a source at the device: per frequency and ear (F, 2 [left, right]), complex, the level
    of both ears together (RMS, smoothed as :func:`smooth_power`) with each ear's own phase.

    What every driver's sound has in common at the ears: on a model the head's frontal shadow (0 dB at low
    frequencies), on a measured set also what its measurement left in every direction (loudspeaker,
    microphone, ear canal). A canceller that delivers each input to its own ear with this response instead
    of flat inverts only what differs between drivers and ears, and its band then arrives in phase with what
    plays through the head as it is (the woofer's and tweeter's bands, the center beam).
    """
    f = np.asarray(frequencies, float)
    toward = np.asarray(profile.center_m, float) - np.asarray(listener.position_m, float)
    toward = rotation_z(-listener.yaw_deg) @ (toward / np.linalg.norm(toward))
    ears = head.ear_responses(f, toward[None, :])[:, 0, :]  # (2, F)
    level = np.sqrt(np.maximum(smooth_power(f, np.mean(np.abs(ears) ** 2, axis=0)), 1e-20))
    phase = ears / np.maximum(np.abs(ears), 1e-300)
    return np.asarray((level * phase).T)


def tonal_match_gains(device_ears: np.ndarray, reference_ears: np.ndarray, frequencies: np.ndarray) -> np.ndarray:
    """Per path the zero-phase gain (F, paths) that brings the device's ear power to the reference's.

    ``device_ears`` and ``reference_ears``: (F, 2 ears, paths). Paths 0 and 1 are the
    L'/R' paths whose mean gain over :data:`LEVEL_BAND_HZ` is removed from all.
    """
    device = smooth_power(frequencies, np.moveaxis(np.sum(np.abs(device_ears) ** 2, axis=1), 0, -1))  # (paths, F)
    reference = smooth_power(frequencies, np.moveaxis(np.sum(np.abs(reference_ears) ** 2, axis=1), 0, -1))
    gain_db = 10 * np.log10(np.maximum(reference, 1e-20) / np.maximum(device, 1e-20))
    band = (frequencies >= LEVEL_BAND_HZ[0]) & (frequencies <= LEVEL_BAND_HZ[1])
    gain_db -= gain_db[:2, band].mean()
    return np.asarray(10 ** (np.clip(gain_db, -MAX_CORRECTION_DB, MAX_CORRECTION_DB) / 20)).T


_PLANTS: LruCache[tuple[np.ndarray, np.ndarray, tuple[int, int]]] = LruCache(max_entries=8)


def _plants(
    profile: DeviceProfile, head: HeadModel, listener: Listener, n: int, sample_rate: float
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """The device's driver -> ear plant and a +-30 degree pair's at the same distance, on the ``rfft`` grid of ``n``
    (memoised for hashable heads: a width ride or a design grid's nodes share one listener's plants)."""

    def compute() -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        frequencies = np.fft.rfftfreq(n, 1 / sample_rate)
        plant = transfer_matrix(profile, frequencies, head, listener=listener)  # (F, 2, drivers): with their delays
        pair = load_profile("stereo-pair", distance_m=profile.distance_m)
        speakers = transfer_matrix(pair, frequencies, head, listener=listener)  # (F, 2, 2 speakers)
        plant.flags.writeable = speakers.flags.writeable = False  # shared by every design of this listener
        return plant, speakers, (pair.driver_names.index("left"), pair.driver_names.index("right"))

    return _PLANTS.get_or_compute(hashable_key(profile, head, listener, n, sample_rate), compute)


def eq_half_taps(sample_rate: float) -> int:
    """Half the length of each path's EQ at ``sample_rate``, the latency :func:`tonal_match` adds."""
    return span(EQ_HALF_TAPS, sample_rate)


def tonal_match(
    filters: np.ndarray,
    profile: DeviceProfile,
    head: HeadModel,
    listener: Listener,
    sample_rate: float,
    *,
    center_path: int | None = 2,
) -> np.ndarray:
    """``filters`` (drivers, paths, taps) equalized per path; every path delayed by :func:`eq_half_taps`.

    Paths 0 and 1 are the left and right inputs; ``center_path`` (default 2) is
    referenced to both speakers of the pair, any other path to none (left as it is).
    """
    drivers, paths, taps = filters.shape
    half = eq_half_taps(sample_rate)
    n = scipy.fft.next_fast_len(taps + 4 * half)
    frequencies = np.fft.rfftfreq(n, 1 / sample_rate)
    response = scipy.fft.rfft(filters, n=n, axis=-1)  # (drivers, paths, F)
    plant, speakers, (left, right) = _plants(profile, head, listener, n, float(sample_rate))
    device_ears = plant @ np.moveaxis(response, -1, 0)  # (F, 2, paths)
    reference = device_ears.copy()
    reference[:, :, 0] = speakers[:, :, left]
    reference[:, :, 1] = speakers[:, :, right]
    if center_path is not None:
        reference[:, :, center_path] = speakers[:, :, left] + speakers[:, :, right]
    gains = tonal_match_gains(device_ears, reference, frequencies)  # (F, paths)
    impulse = np.fft.irfft(gains, n=n, axis=0)  # zero phase: centered on sample 0
    kernel = np.roll(impulse, half, axis=0)[: 2 * half] * np.hanning(2 * half)[:, None]
    # n >= taps + 4 half: the product of the spectra is the linear convolution
    out = scipy.fft.irfft(response * scipy.fft.rfft(kernel, n=n, axis=0).T[None], n=n, axis=-1)
    return np.asarray(out[:, :, : taps + 2 * half - 1])
