"""``Beamformer``: the centre channel as a forward beam with nulls toward the side walls (1 -> N).

Design (:func:`design_beamformer`, pure): per frequency, weights ``w`` for the
midrange drivers such that the far-field response ``B(theta) = a(theta) . w``
(``a``: each driver's directivity and position phase toward azimuth ``theta`` in
the device's horizontal plane, 0 = the device's front) is 1 on axis and 0 at
+-``null_deg`` — the least-norm solution of those constraints — with diagonal
loading added where needed to keep the white-noise gain (WNG, ``|B(0)|^2 /
|w|^2``, re one driver) at or above ``min_wng_db``. With three midranges and three
constraints the main lobe is as wide as the drivers allow. Outside the
midrange band the centre goes to the woofer and the tweeter through the same
zero-phase crossovers as the crosstalk canceller.

``design_matrix_mix`` is the simple alternative: all midranges fed equally.
Both are also given in relative-transfer-function form (one filter, then each
driver's ratio to the reference driver).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.fft

from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S, direction
from soundstage.acoustics.profiles import DeviceProfile, load_profile
from soundstage.acoustics.transfer import directivity
from soundstage.dsp.fir import CrossfadingFir
from soundstage.errors import ParameterError
from soundstage.host.parameters import ParameterSpec
from soundstage.host.processor import Processor
from soundstage.stages.crosstalk import _to_fir, band_weights
from soundstage.stages.drivers import FilterForms

__all__ = ["BeamFilters", "Beamformer", "beam_pattern", "design_beamformer", "design_matrix_mix", "steering"]

TAPS = 1024


def steering(
    profile: DeviceProfile,
    frequencies_hz: np.ndarray,
    azimuth_deg: np.ndarray,
    *,
    drivers: list[int] | None = None,
    elevation_deg: float = 0.0,
    gains: np.ndarray | None = None,
    aims: np.ndarray | None = None,
) -> np.ndarray:
    """Far-field responses of drivers toward directions in the device frame, shape (F, A, drivers).

    ``gains`` (linear, per driver) and ``aims`` (unit vectors, per driver) replace
    the profile's for tolerance studies.
    """
    chosen = list(range(len(profile.drivers))) if drivers is None else list(drivers)
    f = np.asarray(frequencies_hz, float)
    units = np.array([direction(a, elevation_deg) for a in np.atleast_1d(azimuth_deg)])  # (A, 3)
    result = np.empty((len(f), len(units), len(chosen)), complex)
    for column, index in enumerate(chosen):
        driver = profile.drivers[index]
        position = driver.position_m if driver.position_m is not None else np.zeros(3)
        aim = aims[column] if aims is not None else (driver.direction if driver.direction is not None else np.array([1.0, 0, 0]))
        off_axis = np.arccos(np.clip(units @ aim, -1.0, 1.0))
        pattern = directivity(f, off_axis, driver.radius_m, driver.directivity)  # (F, A)
        phase = np.exp(2j * np.pi * f[:, None] * (units @ position)[None, :] / SPEED_OF_SOUND_M_S)
        result[:, :, column] = pattern * phase * (1.0 if gains is None else gains[column])
    return result


@dataclass(frozen=True)
class BeamFilters:
    """A centre-beam design: weights on a frequency grid and FIR filters per driver."""

    sample_rate: float
    frequencies: np.ndarray
    response: np.ndarray  # (F, drivers): full-band feeds (crossovers included)
    weights: np.ndarray  # (F, mids): the beam weights (before the band weighting)
    impulse: np.ndarray  # (drivers, 1, taps)
    delay_samples: int
    mid_indices: tuple[int, ...]
    driver_names: tuple[str, ...]
    rtf_reference: int
    rtf_gain: np.ndarray  # (1, 1, taps)
    rtf_ratio: np.ndarray  # (drivers, 1, 8 * taps)
    rtf_delay: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    def wng_db(self) -> np.ndarray:
        """White-noise gain per frequency (dB re one driver)."""
        return np.asarray(10 * np.log10(1.0 / np.maximum(np.sum(np.abs(self.weights) ** 2, axis=1), 1e-30)))


def _least_norm(a: np.ndarray, targets: np.ndarray, loading: np.ndarray) -> np.ndarray:
    """Per frequency, w = A^H (A A^H + l I)^-1 t, normalised to B(0) = 1. a: (F, K, M)."""
    gram = a @ np.conj(np.swapaxes(a, 1, 2))
    eye = np.eye(a.shape[1])[None]
    w = (np.conj(np.swapaxes(a, 1, 2)) @ np.linalg.solve(gram + loading[:, None, None] * eye, targets[None, :, None]))[:, :, 0]
    on_axis = np.einsum("fm,fm->f", a[:, 0, :], w)
    return w / np.where(np.abs(on_axis) < 1e-12, 1e-12, on_axis)[:, None]


def design_beamformer(
    profile: DeviceProfile,
    *,
    sample_rate: float = 48000.0,
    null_deg: float = 90.0,
    min_wng_db: float = -10.0,
    depth: float = 1.0,
    taps: int = TAPS,
) -> BeamFilters:
    """Design the centre beam of a device (pure function).

    ``depth`` blends the beam (1) with the matrix mix (0), weight by weight.

    Examples
    --------
    >>> from soundstage.acoustics.profiles import load_profile
    >>> design = design_beamformer(load_profile("studio-5"))
    >>> design.impulse.shape, bool(design.wng_db().min() >= -10.01)
    ((5, 1, 1024), True)
    """
    mids = profile.indices("mid")
    if len(mids) < 2:
        raise ParameterError(f"{profile.name}: a beamformer needs at least two 'mid' drivers, the profile has {len(mids)}")
    frequencies = np.fft.rfftfreq(taps, 1 / sample_rate)
    f = np.maximum(frequencies, frequencies[1])
    a = steering(profile, f, np.array([0.0, null_deg, -null_deg]), drivers=mids)  # (F, 3, M)
    targets = np.array([1.0, 0.0, 0.0])
    scale = np.real(np.einsum("fkm,fkm->f", a, np.conj(a))) / a.shape[1]
    floor = 10 ** (min_wng_db / 10)

    def wng(loading: np.ndarray) -> np.ndarray:
        w = _least_norm(a, targets, loading * scale)
        return np.asarray(1.0 / np.sum(np.abs(w) ** 2, axis=1))

    log_loading = np.full(len(f), -12.0)
    need = wng(10**log_loading) < floor
    lo, hi = np.full(len(f), -12.0), np.full(len(f), 3.0)
    for _ in range(50):  # smallest loading meeting the WNG floor, where the exact nulls do not
        mid = 0.5 * (lo + hi)
        ok = wng(10**mid) >= floor
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
    required = np.where(need, hi, -12.0)
    # smooth across frequency (1/6 octave) so the filters stay short, never below what the floor needs
    octave = np.log2(f)
    near = np.abs(octave[:, None] - octave[None, :]) <= 1 / 12
    log_loading = np.maximum((near @ required) / near.sum(axis=1), required)
    weights = _least_norm(a, targets, 10**log_loading * scale)
    if depth < 1.0:
        matrix = design_matrix_mix(profile, sample_rate=sample_rate, taps=taps).weights
        weights = depth * weights + (1.0 - depth) * matrix
    return _finish(
        profile, frequencies, weights, sample_rate, taps, {"loading": 10**log_loading, "null_deg": null_deg, "depth": depth}
    )


def design_matrix_mix(profile: DeviceProfile, *, sample_rate: float = 48000.0, taps: int = TAPS) -> BeamFilters:
    """The simple alternative to the beam: all midranges fed equally (normalised on axis)."""
    mids = profile.indices("mid")
    frequencies = np.fft.rfftfreq(taps, 1 / sample_rate)
    f = np.maximum(frequencies, frequencies[1])
    on_axis = steering(profile, f, np.array([0.0]), drivers=mids)[:, 0, :]  # (F, M)
    total = on_axis.sum(axis=1)
    # equal feeds; one common equaliser makes the on-axis response flat, as for the beam
    weights = np.ones((len(f), len(mids))) / np.where(np.abs(total) < 1e-12, 1e-12, total)[:, None]
    return _finish(profile, frequencies, weights, sample_rate, taps, {"matrix": True})


def _finish(
    profile: DeviceProfile, frequencies: np.ndarray, weights: np.ndarray, sample_rate: float, taps: int, info: dict[str, Any]
) -> BeamFilters:
    mids = profile.indices("mid")
    low = min(profile.drivers[i].band_hz[0] for i in mids)
    high = max(profile.drivers[i].band_hz[1] for i in mids)
    woofers, tweeters = profile.indices("woofer"), profile.indices("tweeter")
    w_mid = band_weights(frequencies, low if woofers else 1e-6, high if tweeters else 1e12)
    response = np.zeros((len(frequencies), len(profile.drivers)), complex)
    for column, index in enumerate(mids):
        response[:, index] = weights[:, column] * w_mid
    for index in woofers:
        response[:, index] = (1.0 - band_weights(frequencies, low, 1e12)) / len(woofers)
    for index in tweeters:
        response[:, index] = band_weights(frequencies, high, 1e12) / len(tweeters)
    delay = taps // 2
    impulse = _to_fir(response.T[:, None, :], delay, taps)
    band = (frequencies >= low) & (frequencies <= high)
    # the reference is the driver whose weight never gets small in the band (ratios stay bounded)
    reference = int(mids[int(np.argmax(np.abs(weights[band]).min(axis=0)))])
    # RTF form: the reference driver's own filter, then each midrange driver's ratio to it,
    # taken from the realised filters on a fine grid (regularised where the reference is silent)
    rtf_gain = impulse[reference][None]  # (1, 1, taps)
    fine, ratio_delay = 16 * taps, 2 * taps
    realised = scipy.fft.rfft(impulse[:, 0], n=fine, axis=-1)
    denominator = realised[reference]
    regulariser = (1e-4 * np.abs(denominator).max()) ** 2
    ratios = np.zeros((len(profile.drivers), 1, realised.shape[-1]), complex)
    for index in mids:
        ratios[index, 0] = realised[index] * np.conj(denominator) / (np.abs(denominator) ** 2 + regulariser)
    rtf_ratio = _to_fir(ratios, ratio_delay, fine)[..., : 8 * taps]
    rtf_ratio[reference, 0] = 0.0
    rtf_ratio[reference, 0, ratio_delay] = 1.0
    return BeamFilters(
        sample_rate=float(sample_rate),
        frequencies=frequencies,
        response=response,
        weights=weights,
        impulse=impulse,
        delay_samples=delay,
        mid_indices=tuple(mids),
        driver_names=tuple(profile.driver_names),
        rtf_reference=reference,
        rtf_gain=rtf_gain,
        rtf_ratio=rtf_ratio,
        rtf_delay=ratio_delay,
        info=info,
    )


def beam_pattern(
    design: BeamFilters,
    profile: DeviceProfile,
    azimuth_deg: np.ndarray,
    *,
    gains: np.ndarray | None = None,
    aims: np.ndarray | None = None,
) -> np.ndarray:
    """Far-field response of the beam's midranges (F, azimuths), complex, on the design's grid."""
    a = steering(
        profile,
        np.maximum(design.frequencies, design.frequencies[1]),
        azimuth_deg,
        drivers=list(design.mid_indices),
        gains=gains,
        aims=aims,
    )
    return np.einsum("fam,fm->fa", a, design.weights)


class Beamformer(FilterForms, Processor):  # type: ignore[misc]  # output_channels: a property here, an int there
    """The centre channel as a beam from a device: 1 input -> one feed per driver.

    Parameters
    ----------
    device : str
        Device profile (configuration).
    mode : {"beam", "matrix"}
        The null-steering beam, or all midranges fed equally (configuration).
    form : {"direct", "rtf"}
        Run the direct filters or the relative-transfer-function form.
    min_wng_db : float, -20..0 dB
        White-noise-gain floor of the beam design.
    depth : float, 0..1
        Blend of the beam (1) with the matrix mix (0); changes crossfade.
    """

    type_name = "Beamformer"
    config_keys = ("device", "mode", "form")
    input_channels = 1
    parameter_specs = (
        ParameterSpec("min_wng_db", -10.0, -20.0, 0.0, unit="dB", description="White-noise-gain floor"),
        ParameterSpec("depth", 1.0, 0.0, 1.0, description="Beam (1) or matrix mix (0)"),
    )

    def __init__(
        self, *, device: str = "studio-5", mode: str = "beam", form: str = "direct", min_wng_db: float = -10.0, depth: float = 1.0
    ) -> None:
        if mode not in ("beam", "matrix"):
            raise ParameterError(f"Beamformer: mode={mode!r} must be 'beam' or 'matrix'")
        if form not in ("direct", "rtf"):
            raise ParameterError(f"Beamformer: form={form!r} must be 'direct' or 'rtf'")
        self.device, self.mode, self.form = device, mode, form
        self._profile = load_profile(device)
        super().__init__(min_wng_db=min_wng_db, depth=depth)
        self.partition_size = 256
        self._engines: list[CrossfadingFir] = []

    def design(self, sample_rate: float) -> BeamFilters:
        """The design for the current settings (memoised: a reset does not redesign)."""
        return self._memoised(sample_rate, self._design)  # type: ignore[no-any-return]

    def _design(self, sample_rate: float) -> BeamFilters:
        if self.mode == "matrix":
            return design_matrix_mix(self._profile, sample_rate=sample_rate)
        return design_beamformer(
            self._profile,
            sample_rate=sample_rate,
            min_wng_db=float(self._values["min_wng_db"]),
            depth=float(self._values["depth"]),
        )

    @property
    def latency_samples(self) -> int:
        return TAPS // 2 + self.partition_size + (2 * TAPS + self.partition_size if self.form == "rtf" else 0)

    def _filters(self, design: BeamFilters) -> list[np.ndarray]:
        if self.form == "direct":
            return [design.impulse]
        others = [i for i in range(len(design.driver_names)) if i not in design.mid_indices]
        return [design.rtf_gain, design.rtf_ratio, design.impulse[others]]

    def _band_delay_samples(self) -> int:  # the ratio stage's latency
        return 2 * TAPS + self.partition_size

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        self._open_engines(sample_rate)

    def _parameter_changed(self, name: str) -> None:
        self._retune_engines()

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        return self._run_engines(block)

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.device != "studio-5":
            config["device"] = self.device
        if self.mode != "beam":
            config["mode"] = self.mode
        if self.form != "direct":
            config["form"] = self.form
        return config
