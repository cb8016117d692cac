"""Driver feeds: the one design type of every stage that feeds a device's drivers, and its band assembly.

A driver-feed design (the crosstalk canceller's, the center beam's) solves, per
frequency, for the filters of the drivers that do the spatial work (the
*active* drivers: the midranges, and a woofer or tweeter where its beam band
allows). :func:`assemble_band_feeds` then places them in the device's band: the
active drivers play the midrange band (:func:`~soundstage.dsp.crossover.band_weights`),
the woofers take the band below it and the tweeters the band above, as plain
feeds timed to arrive with the active drivers so the crossovers sum in phase.
The result is realized as FIR filters (:func:`~soundstage.dsp.realize.to_fir`) and
in relative-transfer-function form (:func:`realize_crosstalk` for the canceller); :class:`DriverFilters` holds
all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from soundstage.acoustics.profiles import DeviceProfile
from soundstage.dsp.crossover import band_weights
from soundstage.dsp.realize import relative_responses, to_fir

__all__ = ["DriverFilters", "assemble_band_feeds", "midrange_band_hz", "midrange_weights", "realize_crosstalk"]


@dataclass(frozen=True)
class DriverFilters:
    """A driver-feed design: inputs -> one filter per driver of a device, in direct and RTF form.

    Attributes
    ----------
    sample_rate : float
        Hz.
    frequencies : ndarray, shape (F,)
        The design grid (``rfftfreq`` of the FIR length), Hz.
    response : ndarray, shape (F, drivers, inputs), complex
        Full-band filter responses (crossovers included), without the modeling delay.
    impulse : ndarray, shape (drivers, inputs, taps)
        Direct-form FIR filters, with the modeling delay.
    delay_samples : int
        The modeling delay of ``impulse``.
    weights : ndarray, shape (F, active, inputs), complex
        The solved filters of the active drivers, before the band weighting.
    active_indices : tuple of int
        The drivers ``weights`` columns belong to.
    mid_indices : tuple of int
        The midrange drivers: those the RTF form's ratio stage feeds.
    driver_names : tuple of str
    rtf_reference : tuple of int
        Per input, the reference driver of the RTF form.
    rtf_gain : ndarray, shape (inputs, inputs, taps)
        RTF form, first stage: per input its reference driver's filter (a diagonal matrix).
    rtf_ratio : ndarray, shape (drivers, inputs, ratio taps)
        RTF form, second stage: per input each midrange driver's response relative
        to the reference's, delayed by ``rtf_delay``; zero for the other drivers,
        whose feeds stay direct.
    rtf_delay : int
    regularization : ndarray, shape (F,), or None
        The crosstalk canceller's regularization per frequency (relative to the
        plant's mean power); None for designs without one.
    info : dict
        Design figures for analysis (targets, plant, loading, ...).
    """

    sample_rate: float
    frequencies: np.ndarray
    response: np.ndarray
    impulse: np.ndarray
    delay_samples: int
    weights: np.ndarray
    active_indices: tuple[int, ...]
    mid_indices: tuple[int, ...]
    driver_names: tuple[str, ...]
    rtf_reference: tuple[int, ...]
    rtf_gain: np.ndarray
    rtf_ratio: np.ndarray
    rtf_delay: int
    regularization: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def inputs(self) -> int:
        """Number of inputs (2 for a crosstalk canceller, 1 for a center beam)."""
        return int(self.impulse.shape[1])

    def effort_db(self, low_hz: float = 100.0, high_hz: float = 8000.0) -> float:
        """Peak filter gain in dB over a band (0 dB = a plain feed)."""
        band = (self.frequencies >= low_hz) & (self.frequencies <= high_hz)
        return float(20 * np.log10(np.abs(self.response[band]).max()))

    def wng_db(self) -> np.ndarray:
        """White-noise gain of the active drivers per frequency and input, dB re one driver, shape (F, inputs)."""
        return np.asarray(10 * np.log10(1.0 / np.maximum(np.sum(np.abs(self.weights) ** 2, axis=1), 1e-30)))


def midrange_band_hz(profile: DeviceProfile) -> tuple[float, float]:
    """The band the midrange drivers cover together, (low, high) Hz: the crossovers to woofer and tweeter."""
    bands = [profile.drivers[i].band_hz for i in profile.indices("mid")]
    return min(band[0] for band in bands), max(band[1] for band in bands)


def midrange_weights(profile: DeviceProfile, frequencies: np.ndarray) -> np.ndarray:
    """The midrange band's crossover weights (F,): no lower edge without woofers, no upper edge without tweeters."""
    low, high = midrange_band_hz(profile)
    return band_weights(frequencies, low if profile.indices("woofer") else 1e-6, high if profile.indices("tweeter") else 1e12)


def assemble_band_feeds(
    profile: DeviceProfile,
    frequencies: np.ndarray,
    weights: np.ndarray,
    active: Sequence[int],
    timing: Callable[[int], np.ndarray],
    *,
    band_share: float = 1.0,
) -> np.ndarray:
    """The full-band responses of every driver: the active drivers in the midrange band, woofers and tweeters beside it.

    Parameters
    ----------
    profile : DeviceProfile
    frequencies : ndarray, shape (F,)
        Hz.
    weights : ndarray, shape (F, len(active), inputs), complex
        The solved filters of the active drivers.
    active : sequence of int
        The drivers of ``weights``' columns.
    timing : callable
        ``timing(driver index)`` -> (F,) complex phase that makes a woofer's or
        tweeter's plain feed arrive with the active drivers (their timing reference).
    band_share : float
        Each input's share of the plain woofer and tweeter feeds (0.5: a mono sum of two inputs).

    Returns
    -------
    ndarray, shape (F, drivers, inputs), complex
        The active drivers' weights times the midrange band; the woofers' the band below
        it and the tweeters' the band above, split equally among drivers of a kind.
        Without woofers (tweeters) the midrange band has no lower (upper) edge.
    """
    low, high = midrange_band_hz(profile)
    woofers, tweeters = profile.indices("woofer"), profile.indices("tweeter")
    w_mid = midrange_weights(profile, frequencies)
    response = np.zeros((len(frequencies), len(profile.drivers), weights.shape[2]), complex)
    for column, index in enumerate(active):
        response[:, index, :] = weights[:, column, :] * w_mid[:, None]
    for kind, band in (
        (woofers, 1.0 - band_weights(frequencies, low, 1e12)),
        (tweeters, band_weights(frequencies, high, 1e12)),
    ):
        for index in kind:
            response[:, index, :] += (band_share * (band * timing(index)) / len(kind))[:, None]
    return response


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
    """A crosstalk canceller's last step (:func:`~soundstage.stages.crosstalk.design_crosstalk_canceller`): FIR
    filters of the assembled responses, and the RTF form.

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
