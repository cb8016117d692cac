"""``CrosstalkCanceller``: deliver each input to one ear only, from a compact device.

Design (:func:`design_crosstalk_canceller`, a pure function): per frequency, the
driver -> ear plant ``C`` (2 ears x M midrange drivers, from the device profile,
the listener position and a head model) is inverted with Tikhonov
regularisation (Kirkeby et al. 1998), least-norm when there are more drivers
than ears (null-steering: each input's feeds cancel at the other ear with the
least total drive):

    H(beta) = C^H (C C^H + beta I)^-1

Each input's column is then normalised so that its own ear receives it flat
(unit response, a modelling delay later), so the regularisation only trades
cancellation for effort, never level. ``beta`` is chosen per frequency so that
the achieved cancellation *follows a target curve* (ipsi/contra ear power ratio
vs frequency) instead of reaching the maximum the model allows — the design is
not fitted to one exact head — and so that no filter gain exceeds
``max_effort_db``.

Bands come from the profile: the canceller works on the midrange drivers in
their band; below the woofer crossover the woofer plays the mono sum, above the
midrange band the tweeter does. Crossovers are zero-phase (the whole filter is
linear-phase outside the cancelling band).

The filters are also given in relative-transfer-function (RTF) form: per input
one filter ``g`` (its reference driver's) and the ratios ``r = H_i / H_ref`` of
the other drivers' responses to it; the processor runs either form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.fft

from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S
from soundstage.acoustics.head import HeadModel, SphericalHead
from soundstage.acoustics.profiles import DeviceProfile, Listener, load_profile
from soundstage.acoustics.transfer import transfer_matrix
from soundstage.dsp.fir import CrossfadingFir
from soundstage.errors import ParameterError
from soundstage.host.parameters import ParameterSpec
from soundstage.host.processor import Processor
from soundstage.stages.drivers import FilterForms

__all__ = [
    "CrosstalkCanceller",
    "CtcFilters",
    "TargetCurve",
    "achieved_separation_db",
    "band_weights",
    "design_crosstalk_canceller",
]

TAPS = 2048


@dataclass(frozen=True)
class TargetCurve:
    """A target cancellation-gain curve: (frequency Hz, separation dB) points, linear in log-frequency."""

    points: tuple[tuple[float, float], ...]

    def db(self, frequencies_hz: np.ndarray) -> np.ndarray:
        """Target separation in dB at each frequency (0 outside the points)."""
        f = np.maximum(np.asarray(frequencies_hz, float), 1e-3)
        xs = np.log10([p[0] for p in self.points])
        ys = np.array([p[1] for p in self.points])
        return np.interp(np.log10(f), xs, ys, left=0.0, right=0.0)

    @classmethod
    def flat(cls, separation_db: float, low_hz: float = 20.0, high_hz: float = 20000.0) -> TargetCurve:
        """A flat target."""
        return cls(((low_hz, separation_db), (high_hz, separation_db)))

    @classmethod
    def default(cls, plateau_db: float = 25.0) -> TargetCurve:
        """soundstage's default request: ``plateau_db`` from 250 Hz to 5 kHz, easing off above.

        The designer caps a default request at what the effort limit allows at
        each frequency (see :func:`design_crosstalk_canceller`), so at low
        frequencies, where a compact device cannot cancel much, it asks for as
        much as the limit allows and no more.
        """
        shape = ((100.0, 0.0), (160.0, plateau_db), (5000.0, plateau_db), (7000.0, 0.7 * plateau_db), (10000.0, 0.0))
        return cls(shape)


def band_weights(frequencies_hz: np.ndarray, low_hz: float, high_hz: float, width_octaves: float = 2 / 3) -> np.ndarray:
    """Zero-phase weights (F,) that pass [low, high] with raised-cosine edges ``width_octaves`` wide.

    Weights of adjacent bands sharing a crossover add up to exactly 1.
    """
    f = np.maximum(np.asarray(frequencies_hz, float), 1e-6)

    def rise(edge: float) -> np.ndarray:
        position = (np.log2(f / edge) / width_octaves) + 0.5
        return np.sin(np.clip(position, 0.0, 1.0) * np.pi / 2) ** 2

    return rise(low_hz) * (1.0 - rise(high_hz)) if high_hz < 1e9 else rise(low_hz)


@dataclass(frozen=True)
class CtcFilters:
    """A crosstalk-canceller design.

    Attributes
    ----------
    response : ndarray, shape (F, drivers, 2)
        Filter frequency responses (without the modelling delay) on ``frequencies``.
    impulse : ndarray, shape (drivers, 2, taps)
        Direct-form FIR filters (with the modelling delay).
    rtf_reference : tuple of int
        Per input, the reference driver of the RTF form.
    rtf_gain : ndarray, shape (2, taps)
        Per input, the reference driver's filter (RTF form, first stage).
    rtf_ratio : ndarray, shape (drivers, 2, 2 * taps)
        Per input, the ratio of each midrange driver's response to the
        reference's (RTF form, second stage), delayed by ``rtf_delay``; zero for
        the woofer and tweeter, whose (non-cancelling) feeds stay direct.
    regularization : ndarray, shape (F,)
        The beta chosen per frequency (relative to the plant's mean power).
    """

    sample_rate: float
    frequencies: np.ndarray
    response: np.ndarray
    impulse: np.ndarray
    modelling_delay: int
    rtf_reference: tuple[int, int]
    rtf_gain: np.ndarray
    rtf_ratio: np.ndarray
    rtf_delay: int
    regularization: np.ndarray
    driver_names: tuple[str, ...]
    mid_indices: tuple[int, ...]
    info: dict[str, Any] = field(default_factory=dict)

    def effort_db(self, low_hz: float = 100.0, high_hz: float = 8000.0) -> float:
        """Peak filter gain in dB over a band (0 dB = a plain feed)."""
        band = (self.frequencies >= low_hz) & (self.frequencies <= high_hz)
        return float(20 * np.log10(np.abs(self.response[band]).max()))


class _Regularised:
    """Regularised least-norm inverses of one plant (F, 2, M) for any ``beta`` (the searches call this often).

    ``P^H (P P^H + beta I)^-1``, each input normalised to reach its own ear at ``level``.
    The Gram matrix ``P P^H`` is computed once; its 2x2 inverse is taken in closed form.
    """

    def __init__(self, plant: np.ndarray) -> None:
        self.plant = plant
        self.adjoint = np.conj(np.swapaxes(plant, 1, 2))  # (F, M, 2)
        self.gram = plant @ self.adjoint  # (F, 2, 2)

    def _inverse_gram(self, beta: np.ndarray) -> np.ndarray:
        g = self.gram
        a, b, c, d = g[:, 0, 0] + beta, g[:, 0, 1], g[:, 1, 0], g[:, 1, 1] + beta
        rows = [np.stack([d, -b], axis=1), np.stack([-c, a], axis=1)]
        return np.stack(rows, axis=1) / (a * d - b * c)[:, None, None]

    def filters(self, beta: np.ndarray, level: np.ndarray | None = None) -> np.ndarray:
        """The normalised inverse, shape (F, M, 2)."""
        inverse_gram = self._inverse_gram(beta)
        ears = self.gram @ inverse_gram  # = plant @ inverse, without the M dimension
        own = np.stack([ears[:, 0, 0], ears[:, 1, 1]], axis=1)  # (F, 2)
        own = np.where(np.abs(own) < 1e-12, 1e-12, own)
        gain = 1.0 / own if level is None else level[:, None] / own
        return np.asarray((self.adjoint @ inverse_gram) * gain[:, None, :])

    def separation_db(self, beta: np.ndarray) -> np.ndarray:
        """The smaller over the two inputs of ipsi/contra ear power (dB) per frequency, shape (F,)."""
        ears = self.gram @ self._inverse_gram(beta)  # normalisation does not change the ratios
        ipsi = np.abs(np.stack([ears[:, 0, 0], ears[:, 1, 1]], axis=1)) ** 2
        contra = np.abs(np.stack([ears[:, 1, 0], ears[:, 0, 1]], axis=1)) ** 2
        return np.asarray(10 * np.log10(ipsi / np.maximum(contra, 1e-30)).min(axis=1))


def achieved_separation_db(plant: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """Ipsi/contra ear power ratio (dB) per frequency and input, shape (F, 2), for ``plant @ filters``."""
    ears = plant @ filters  # (F, 2 ears, 2 inputs)
    ipsi = np.abs(np.stack([ears[:, 0, 0], ears[:, 1, 1]], axis=1)) ** 2
    contra = np.abs(np.stack([ears[:, 1, 0], ears[:, 0, 1]], axis=1)) ** 2
    return 10 * np.log10(ipsi / np.maximum(contra, 1e-30))


def _smooth_regularisation(frequencies: np.ndarray, b: np.ndarray, low_hz: float, high_hz: float) -> np.ndarray:
    """Hold beta constant outside the band (+-1/3 octave) and smooth log(beta) over 1/6 octave.

    Jumps of beta across frequency make long filters; the filters only need to
    follow the target in the band, so beta is continued flat outside it.
    """
    f = np.maximum(frequencies, frequencies[1] if len(frequencies) > 1 else 1.0)
    inside = (f >= low_hz * 2 ** (-1 / 3)) & (f <= high_hz * 2 ** (1 / 3))
    log_b = np.log10(b)
    if inside.any():
        first, last = np.flatnonzero(inside)[[0, -1]]
        log_b[:first] = log_b[first]
        log_b[last + 1 :] = log_b[last]
    octave = np.log2(f)
    near = np.abs(octave[:, None] - octave[None, :]) <= 1 / 12
    return np.asarray(10 ** ((near @ log_b) / near.sum(axis=1)))


def _crossover_limit_db(band_ears: np.ndarray, mid_share: np.ndarray, level: np.ndarray) -> np.ndarray:
    """The most separation the total can reach where the mono woofer/tweeter feeds fade in (dB, per frequency).

    ``band_ears`` (F, 2 ears, 2 inputs) is what the band feeds alone put at the ears,
    ``mid_share`` the share of each input on the cancelling midranges and ``level`` their
    level at the own ear: even a perfect canceller leaves the band drivers' crosstalk.
    """
    own = np.abs(mid_share * level + band_ears[:, 0, 0])
    contra = np.abs(band_ears[:, 1, 0])
    return np.asarray(20 * np.log10(own / np.maximum(contra, 1e-12 * np.maximum(own, 1e-30))))


def _bisect(
    frequencies: int, predicate: Any, low: float = -9.0, high: float = 4.0, steps: int = 26, *, log: bool = True
) -> np.ndarray:
    """Per frequency, the smallest x in [low, high] for which ``predicate`` holds (monotone in x).

    With ``log`` the predicate is given ``10**x`` (x is log10(b)): 26 halvings of the
    default 13 decades find b to within 4.5e-7 (relative), far below what changes the filters.
    """
    lo = np.full(frequencies, low)
    hi = np.full(frequencies, high)
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        ok = predicate(10**mid if log else mid)
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return hi


def design_crosstalk_canceller(
    profile: DeviceProfile,
    *,
    sample_rate: float = 48000.0,
    head: HeadModel | None = None,
    listener: Listener | None = None,
    target: TargetCurve | None = None,
    plateau_db: float = 25.0,
    max_effort_db: float = 10.0,
    low_frequency_give_db: float = 4.5,
    taps: int = TAPS,
) -> CtcFilters:
    """Design a crosstalk canceller for a device at a listener position (pure function).

    Parameters
    ----------
    profile : DeviceProfile
        The device, at its listener distance.
    sample_rate : float
        Hz.
    head : HeadModel, optional
        The model designed on (default: the spherical head).
    listener : Listener, optional
        The design position (default: centred, facing the device).
    target : TargetCurve, optional
        Separation to achieve per frequency, followed as given. Without one, the
        default request :meth:`TargetCurve.default` (``plateau_db``) is used,
        capped at what the effort limit allows at each frequency.
    plateau_db : float
        Plateau of the default request.
    max_effort_db : float
        Upper limit of any filter's gain.
    low_frequency_give_db : float
        Where the effort limit keeps the cancellation short of the request (low
        frequencies, where the drivers are close together as seen by the head),
        each input may reach its own ear up to this much quieter, which buys the
        same amount of extra cancellation at the same effort.
    taps : int
        FIR length; the modelling delay is ``taps // 2``.

    Examples
    --------
    >>> from soundstage.acoustics.profiles import load_profile
    >>> design = design_crosstalk_canceller(load_profile("studio-5", distance_m=1.0))
    >>> design.impulse.shape, design.effort_db() <= 10.0
    ((5, 2, 2048), True)
    """
    head = head or SphericalHead()
    capped = target is None
    target = target or TargetCurve.default(plateau_db)
    mids = profile.indices("mid")
    if len(mids) < 2:
        raise ParameterError(
            f"{profile.name}: a crosstalk canceller needs at least two 'mid' drivers, the profile has {len(mids)}"
        )
    frequencies = np.fft.rfftfreq(taps, 1 / sample_rate)
    plant = transfer_matrix(profile, frequencies, head, listener=listener, drivers=mids)  # (F, 2, M)
    distances = np.linalg.norm(profile.world_positions()[mids] - np.asarray((listener or Listener()).position_m), axis=1)
    plant = plant * np.exp(2j * np.pi * frequencies * distances.min() / SPEED_OF_SOUND_M_S)[:, None, None]
    plant[0] = plant[1] if len(frequencies) > 1 else plant[0]  # DC: avoid a singular 0 Hz bin
    scale = np.real(np.trace(plant @ np.conj(np.swapaxes(plant, 1, 2)), axis1=1, axis2=2)) / 2
    wanted = target.db(frequencies)
    limit = 10 ** ((max_effort_db - 0.1) / 20)  # 0.1 dB kept for the FIR realisation

    level = np.ones(len(frequencies))
    inverses = _Regularised(plant)

    def effort_ok(b: np.ndarray) -> np.ndarray:
        return np.abs(inverses.filters(b * scale, level)).max(axis=(1, 2)) <= limit

    def feasible_db() -> tuple[np.ndarray, np.ndarray]:
        b_limit = 10 ** _bisect(len(frequencies), effort_ok)
        return b_limit, inverses.separation_db(b_limit * scale)

    b_effort, feasible = feasible_db()
    if low_frequency_give_db > 0:
        # where the effort limit keeps cancellation short of the request, give up to
        # `low_frequency_give_db` of level at the own ear for more cancellation
        shortfall = np.clip((wanted - feasible) / 6.0, 0.0, 1.0)
        level = 10 ** (-low_frequency_give_db * shortfall / 20)
        b_effort, feasible = feasible_db()
    if capped:  # a default request asks for no more than the effort limit allows
        wanted = np.minimum(wanted, feasible)

    def separation_ok(b: np.ndarray) -> np.ndarray:
        return inverses.separation_db(b * scale) <= wanted

    b = np.maximum(10 ** _bisect(len(frequencies), separation_ok), b_effort)
    mid_band = [profile.drivers[i].band_hz for i in mids]
    b = _smooth_regularisation(frequencies, b, min(band[0] for band in mid_band), max(band[1] for band in mid_band))
    ctc = inverses.filters(b * scale, level)  # (F, M, 2)
    # where even full regularisation needs more than the limit (a driver null), give up level instead
    peak = np.abs(ctc).max(axis=1, keepdims=True)  # (F, 1, 2)
    ctc = ctc * np.minimum(1.0, limit / np.maximum(peak, 1e-30))

    mid_band = [profile.drivers[i].band_hz for i in mids]
    low, high = min(band[0] for band in mid_band), max(band[1] for band in mid_band)
    woofers, tweeters = profile.indices("woofer"), profile.indices("tweeter")
    w_mid = band_weights(frequencies, low if woofers else 1e-6, high if tweeters else 1e12)
    response = np.zeros((len(frequencies), len(profile.drivers), 2), complex)
    for column, index in enumerate(mids):
        response[:, index, :] = ctc[:, column, :] * w_mid[:, None]
    # the mono woofer and tweeter feeds arrive when the nearest midrange does (the filters' timing
    # reference), so the crossovers sum in phase: a front tweeter closer to the listener is delayed
    centre = np.asarray((listener or Listener()).position_m, float)
    reference_m = float(distances.min())

    def timed(index: int) -> np.ndarray:
        lead_m = reference_m - float(np.linalg.norm(profile.world_positions()[index] - centre))
        return np.asarray(np.exp(-2j * np.pi * frequencies * lead_m / SPEED_OF_SOUND_M_S))

    if woofers:
        w_low = 1.0 - band_weights(frequencies, low, 1e12)
        for index in woofers:
            response[:, index, :] = 0.5 * (w_low * timed(index))[:, None] / len(woofers)
    if tweeters:
        w_high = band_weights(frequencies, high, 1e12)
        for index in tweeters:
            response[:, index, :] = 0.5 * (w_high * timed(index))[:, None] / len(tweeters)

    followed = wanted  # what the total separation (midranges + mono band feeds) is to follow
    band_drivers = woofers + tweeters
    if capped and band_drivers:
        # where the mono tweeter/woofer fades in, no more than its crosstalk leaves; the midranges still
        # cancel as asked there, so that the band drivers' crosstalk is what limits the total
        band_plant = transfer_matrix(profile, frequencies, head, listener=listener, drivers=band_drivers)
        band_plant = band_plant * np.exp(2j * np.pi * frequencies * reference_m / SPEED_OF_SOUND_M_S)[:, None, None]
        band_ears = band_plant @ response[:, band_drivers, :]
        followed = np.minimum(wanted, _crossover_limit_db(band_ears, w_mid, level))

    delay = taps // 2
    impulse = _to_fir(response.transpose(1, 2, 0), delay, taps)
    # RTF form: per input, the reference is its strongest midrange driver in the band.
    # The first stage is the reference's filter; the second the ratio of each midrange
    # driver's cancelling response to the reference's, taken before the band weighting
    # (the cancelling responses have no zeros; the band-weighted ones do, outside the band).
    band = (frequencies >= low) & (frequencies <= high)
    reference = tuple(int(mids[int(np.argmax(np.abs(ctc[band, :, j]).mean(axis=0)))]) for j in range(2))
    rtf_gain = np.array([impulse[reference[j], j] for j in range(2)])
    ratio_delay = taps // 2
    ratios = np.zeros((len(profile.drivers), 2, len(frequencies)), complex)
    for j in range(2):
        denominator = ctc[:, mids.index(reference[j]), j]
        for column, index in enumerate(mids):
            ratios[index, j] = ctc[:, column, j] / denominator
    rtf_ratio = _to_fir(ratios, ratio_delay, taps)
    return CtcFilters(
        sample_rate=float(sample_rate),
        frequencies=frequencies,
        response=response,
        impulse=impulse,
        modelling_delay=delay,
        rtf_reference=(reference[0], reference[1]),
        rtf_gain=rtf_gain,
        rtf_ratio=rtf_ratio,
        rtf_delay=ratio_delay,
        regularization=b,
        driver_names=tuple(profile.driver_names),
        mid_indices=tuple(mids),
        info={
            "profile": profile.name,
            "distance_m": profile.distance_m,
            "plant": plant,
            "target_db": followed,
            "feasible_db": feasible,
        },
    )


def _to_fir(responses: np.ndarray, delay: int, taps: int) -> np.ndarray:
    """Frequency responses (..., F) -> causal FIRs (..., taps) with ``delay``, tapered at both ends."""
    frequencies = np.arange(responses.shape[-1])
    shifted = responses * np.exp(-2j * np.pi * frequencies * delay / taps)
    impulse = scipy.fft.irfft(shifted, n=taps, axis=-1)
    window = np.ones(taps)
    fade = min(delay, taps - delay) // 4
    if fade > 0:
        window[:fade] = np.sin(np.linspace(0, np.pi / 2, fade)) ** 2
        window[taps - fade :] = np.cos(np.linspace(0, np.pi / 2, fade)) ** 2
    return impulse * window


class CrosstalkCanceller(FilterForms, Processor):  # type: ignore[misc]  # output_channels: a property here, an int there
    """Crosstalk cancellation for a device: 2 inputs (ear signals) -> one feed per driver.

    Parameters
    ----------
    device : str
        A device profile name or file (configuration, not automatable).
    form : {"direct", "rtf"}
        Run the direct filters or the relative-transfer-function form.
    distance_m : float, 0.5..5 m
        Listener distance the filters are designed for.
    head_radius_m : float, 0.05..0.12 m
        Head radius of the design model.
    separation_db : float, 0..30 dB
        Plateau of the target cancellation curve (the default curve's shape).

    Examples
    --------
    >>> import numpy as np
    >>> ctc = CrosstalkCanceller(device="compact-pair", distance_m=1.0)
    >>> ctc(np.zeros((2, 4800)), 48000).shape
    (2, 4800)
    """

    type_name = "CrosstalkCanceller"
    config_keys = ("device", "form")
    input_channels = 2
    parameter_specs = (
        ParameterSpec("distance_m", 2.0, 0.5, 5.0, unit="m", description="Listener distance of the design"),
        ParameterSpec("head_radius_m", 0.0875, 0.05, 0.12, unit="m", description="Head radius of the design model"),
        ParameterSpec("separation_db", 25.0, 0.0, 30.0, unit="dB", description="Plateau of the target cancellation curve"),
    )

    def __init__(
        self,
        *,
        device: str = "studio-5",
        form: str = "direct",
        distance_m: float = 2.0,
        head_radius_m: float = 0.0875,
        separation_db: float = 25.0,
    ) -> None:
        if form not in ("direct", "rtf"):
            raise ParameterError(f"CrosstalkCanceller: form={form!r} must be 'direct' or 'rtf'")
        self.device = device
        self.form = form
        self._profile = load_profile(device)
        super().__init__(distance_m=distance_m, head_radius_m=head_radius_m, separation_db=separation_db)
        self.partition_size = 512
        self._engines: list[CrossfadingFir] = []

    def design(self, sample_rate: float) -> CtcFilters:
        """The design for the current parameters (memoised: a reset does not redesign)."""
        return self._memoised(sample_rate, self._design)  # type: ignore[no-any-return]

    def _design(self, sample_rate: float) -> CtcFilters:
        """The design for the current parameters at a sample rate."""
        return design_crosstalk_canceller(
            self._profile.at_distance(float(self._values["distance_m"])),
            sample_rate=sample_rate,
            head=SphericalHead(radius_m=float(self._values["head_radius_m"])),
            plateau_db=float(self._values["separation_db"]),
        )

    @property
    def latency_samples(self) -> int:
        direct = TAPS // 2 + self.partition_size
        return direct + (TAPS // 2 + self.partition_size if self.form == "rtf" else 0)

    def _filters(self, design: CtcFilters) -> list[np.ndarray]:
        """Filter matrices of the engines: [direct] or [gain (2x2 diagonal), ratio, band feeds]."""
        if self.form == "direct":
            return [design.impulse]
        gain = np.zeros((2, 2, design.rtf_gain.shape[-1]))
        gain[0, 0], gain[1, 1] = design.rtf_gain[0], design.rtf_gain[1]
        others = [i for i in range(len(design.driver_names)) if i not in design.mid_indices]
        return [gain, design.rtf_ratio, design.impulse[others] if others else np.zeros((0, 2, 1))]

    def _band_delay_samples(self) -> int:  # the ratio stage's latency
        return TAPS // 2 + self.partition_size

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.device != "studio-5":
            config["device"] = self.device
        if self.form != "direct":
            config["form"] = self.form
        return config
