"""Measuring a center beam: pattern, null depth, directivity index, front-to-side ratio, WNG."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundstage.acoustics.array import diffuse_correlation, steering
from soundstage.acoustics.feeds import DriverFilters
from soundstage.acoustics.profiles import DeviceProfile
from soundstage.analysis.crosstalk import realized_response

__all__ = ["BeamFigures", "beam_figures", "realized_beam_pattern"]


def realized_beam_pattern(
    design: DriverFilters, profile: DeviceProfile, azimuth_deg: np.ndarray, *, elevation_deg: float = 0.0, n: int = 8192
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and far-field response (F, azimuths) of the realized midrange FIR filters."""
    f, response = realized_response(design.impulse, design.delay_samples, design.sample_rate, n=n)
    drivers = list(design.active_indices)
    a = steering(profile, np.maximum(f, f[1]), azimuth_deg, drivers=drivers, elevation_deg=elevation_deg)
    return f, np.einsum("fam,fm->fa", a, response[:, drivers, 0])


@dataclass(frozen=True)
class BeamFigures:
    """Per frequency: null depth (dB), level at +-45 deg (dB re on axis), DI (dB), front-to-side (dB), WNG (dB)."""

    frequencies: np.ndarray
    null_depth_db: np.ndarray
    level_45_db: np.ndarray
    directivity_index_db: np.ndarray
    front_to_side_db: np.ndarray
    wng_db: np.ndarray


def beam_figures(design: DriverFilters, profile: DeviceProfile, frequencies_hz: np.ndarray) -> BeamFigures:
    """Figures of a beam design at chosen frequencies (design grid, nearest bins)."""
    grid = design.frequencies
    rows = [int(np.argmin(np.abs(grid - f))) for f in frequencies_hz]
    f = np.maximum(grid[rows], grid[1])
    drivers = list(design.active_indices)
    weights = design.weights[rows, :, 0]  # (F, M): the beam's one input

    def response(azimuths: np.ndarray, elevation: float = 0.0) -> np.ndarray:
        return np.einsum("fam,fm->fa", steering(profile, f, azimuths, drivers=drivers, elevation_deg=elevation), weights)

    horizontal = np.arange(-180.0, 180.0, 1.0)
    pattern = np.abs(response(horizontal)) ** 2
    on = pattern[:, horizontal == 0.0][:, 0]
    sides = np.maximum(pattern[:, horizontal == 90.0][:, 0], pattern[:, horizontal == -90.0][:, 0])
    level_45 = np.minimum(pattern[:, horizontal == 45.0][:, 0], pattern[:, horizontal == -45.0][:, 0])
    front, side = np.abs(horizontal) <= 45, np.abs(np.abs(horizontal) - 90) <= 10
    # directivity index: on-axis power over the power radiated on average over the sphere
    mean_power = np.real(np.einsum("fm,fmn,fn->f", np.conj(weights), diffuse_correlation(profile, f, drivers), weights))
    return BeamFigures(
        frequencies=grid[rows],
        null_depth_db=10 * np.log10(on / np.maximum(sides, 1e-30)),
        level_45_db=10 * np.log10(level_45 / on),
        directivity_index_db=10 * np.log10(on / mean_power),
        front_to_side_db=10 * np.log10(pattern[:, front].mean(axis=1) / pattern[:, side].mean(axis=1)),
        wng_db=10 * np.log10(1.0 / np.sum(np.abs(weights) ** 2, axis=1)),
    )
