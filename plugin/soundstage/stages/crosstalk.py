"""``CrosstalkCanceller``: deliver each input to one ear only, from a compact device.

Design (:func:`design_crosstalk_canceller`, a pure function): per frequency, the
driver -> ear plant ``C`` (2 ears x M midrange drivers, from the device profile,
the listener position and a head model) is inverted with Tikhonov
regularization (Kirkeby et al. 1998), least-norm when there are more drivers
than ears (null-steering: each input's feeds cancel at the other ear with the
least total drive):

    H(beta) = C^H (C C^H + beta I)^-1

Each input's column is then normalized so that its own ear receives it flat
(unit response, a modeling delay later), so the regularization only trades
cancellation for effort, never level. ``beta`` is chosen per frequency so that
the achieved cancellation *follows a target curve* (ipsi/contra ear power ratio
vs frequency) instead of reaching the maximum the model allows — the design is
not fitted to one exact head — and so that no filter gain exceeds
``max_effort_db``.

Bands come from the profile: the canceller works on the midrange drivers in
their band; below the woofer crossover the woofer plays the mono sum, above the
midrange band the tweeter does. Crossovers are zero-phase (the whole filter is
linear-phase outside the canceling band).

By default the design is robust (:class:`RobustInverse`, :func:`robust_regularization`): the
filters give the least crosstalk averaged over a population of plants (every seat of a listening
region, +-5 deg yaw and +-5 cm each way, and the model head's variants, a torso's among them), not the exact inverse at
one seat, which no real listener sits at with a head like the model's.

The filters are also given in relative-transfer-function (RTF) form: per input
one filter ``g`` (its reference driver's) and the ratios ``r = H_i / H_ref`` of
the other drivers' responses to it; the processor runs either form.

Here: the plant, the design steps and the stage. The inverses and their searches are
:mod:`soundstage.dsp.inverse`, the choice of regularization per frequency
:mod:`soundstage.dsp.regularization`, the population of a robust design and a stage's
``region`` settings :mod:`soundstage.acoustics.population`; their names are offered here too.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from soundstage.acoustics.feeds import DriverFilters, assemble_band_feeds, midrange_band_hz, midrange_weights, realize_crosstalk
from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S
from soundstage.acoustics.head import HeadModel, HybridSphereHead
from soundstage.acoustics.hrtf import HeadChoice
from soundstage.acoustics.population import (
    DEFAULT_REGION,
    REGION_EXTENTS,
    REGIONS,
    head_variants,
    population,
    region_extents,
    region_setting,
)
from soundstage.acoustics.profiles import DeviceProfile, Listener, ListeningRegion, device_setting, load_profile
from soundstage.acoustics.timbre import head_response
from soundstage.acoustics.transfer import transfer_matrices, transfer_matrix
from soundstage.designstore import one_blas_thread
from soundstage.dsp.fir import CrossfadingFir
from soundstage.dsp.inverse import RegularizedInverse, RobustInverse, achieved_separation_db, soft_extreme
from soundstage.dsp.regularization import (
    Regularization,
    TargetCurve,
    canceling_filters,
    choose_regularization,
    give_share,
    robust_regularization,
    robust_share,
    smooth_regularization,
)
from soundstage.dsp.spans import span
from soundstage.errors import ParameterError
from soundstage.host.parameters import ParameterSpec
from soundstage.host.processor import Processor
from soundstage.memo import LruCache, hashable_key
from soundstage.stages.drivers import LISTENER_PARAMETERS, FilterForms, design_listener

__all__ = [
    "Request",
    "assembly_step",
    "regularization_step",
    "CrosstalkCanceller",
    "REGION_EXTENTS",
    "Regularization",
    "RegularizedInverse",
    "RobustInverse",
    "TargetCurve",
    "achieved_separation_db",
    "canceling_filters",
    "choose_regularization",
    "crossover_limit_db",
    "crosstalk_plant",
    "design_crosstalk_canceller",
    "give_share",
    "head_variants",
    "plant_step",
    "population",
    "realize_crosstalk",
    "region_extents",
    "region_setting",
    "robust_regularization",
    "robust_share",
    "robust_step",
    "smooth_regularization",
    "soft_extreme",
    "DEFAULT_REGION",
    "REGIONS",
    "TAPS",
]


#: The filters' length at 48 kHz (:func:`~soundstage.dsp.spans.span` gives it at other rates).
TAPS = 2048


def crossover_limit_db(band_ears: np.ndarray, mid_share: np.ndarray, level: np.ndarray) -> np.ndarray:
    """The most separation the total can reach where the mono woofer/tweeter feeds fade in (dB, per frequency).

    ``band_ears`` (F, 2 ears, 2 inputs) is what the band feeds alone put at the ears,
    ``mid_share`` the share of each input on the canceling midranges and ``level`` their
    level at the own ear: even a perfect canceller leaves the band drivers' crosstalk.
    """
    own = np.abs(mid_share * level + band_ears[:, 0, 0])
    contra = np.abs(band_ears[:, 1, 0])
    return np.asarray(20 * np.log10(own / np.maximum(contra, 1e-12 * np.maximum(own, 1e-30))))


# -- the design, in four steps: plant -> regularization -> band assembly -> realization ----------


def crosstalk_plant(
    profile: DeviceProfile, frequencies: np.ndarray, head: HeadModel, listener: Listener, drivers: list[int]
) -> tuple[np.ndarray, float]:
    """Step 1: the driver -> ear plant (F, 2 ears, drivers), timed to the nearest of ``drivers``; and that distance (m).

    The 0 Hz bin is replaced by the next one, so the inverse is not singular there.
    """
    plant = transfer_matrix(profile, frequencies, head, listener=listener, drivers=drivers)  # (F, 2, M)
    return _timed(plant, profile, frequencies, listener, drivers)


def _timed(
    plant: np.ndarray, profile: DeviceProfile, frequencies: np.ndarray, listener: Listener, drivers: list[int]
) -> tuple[np.ndarray, float]:
    """:func:`crosstalk_plant`'s timing and 0 Hz bin, for a plant made already."""
    distances = np.linalg.norm(profile.world_positions()[drivers] - np.asarray(listener.position_m), axis=1)
    plant = plant * np.exp(2j * np.pi * frequencies * distances.min() / SPEED_OF_SOUND_M_S)[:, None, None]
    plant[0] = plant[1] if len(frequencies) > 1 else plant[0]  # DC: avoid a singular 0 Hz bin
    return plant, float(distances.min())


#: Plant steps by (profile, head, listener, rate, taps), least recently used dropped first: the designs
#: of one listener at other requests (a width ride, a design grid's nodes) share the plant and the effort search.
_PLANTS: LruCache[tuple[np.ndarray, np.ndarray, float, RegularizedInverse, np.ndarray | None]] = LruCache(max_entries=16)
#: Robust inverses by (profile, head, listener, rate, taps, region), as :data:`_PLANTS`.
_ROBUST: LruCache[RobustInverse] = LruCache(max_entries=16)


def plant_step(
    profile: DeviceProfile, head: HeadModel, listener: Listener, sample_rate: float, taps: int
) -> tuple[np.ndarray, np.ndarray, float, RegularizedInverse, np.ndarray | None]:
    """Step 1 and what does not depend on the request: the frequencies, the midrange plant and its timing
    reference (m), its :class:`RegularizedInverse` (which memoises the effort search), and the plant of the
    woofers and tweeters (None without them). Memoised for hashable heads (the models; a measured set is not)."""

    def compute() -> tuple[np.ndarray, np.ndarray, float, RegularizedInverse, np.ndarray | None]:
        frequencies = np.fft.rfftfreq(taps, 1 / sample_rate)
        plant, reference_m = crosstalk_plant(profile, frequencies, head, listener, profile.indices("mid"))
        band_drivers = profile.indices("woofer") + profile.indices("tweeter")
        band_plant = None
        if band_drivers:
            band_plant = transfer_matrix(profile, frequencies, head, listener=listener, drivers=band_drivers)
            band_plant = band_plant * np.exp(2j * np.pi * frequencies * reference_m / SPEED_OF_SOUND_M_S)[:, None, None]
        for shared in (frequencies, plant, band_plant):  # every design of this listener holds them: read-only
            if shared is not None:
                shared.flags.writeable = False
        return frequencies, plant, reference_m, RegularizedInverse(plant), band_plant

    return _PLANTS.get_or_compute(hashable_key(profile, head, listener, float(sample_rate), int(taps)), compute)


def robust_step(
    profile: DeviceProfile,
    head: HeadModel,
    listener: Listener,
    sample_rate: float,
    taps: int,
    region: ListeningRegion,
    others: Sequence[HeadModel] = (),
) -> RobustInverse:
    """The :class:`RobustInverse` over the :func:`population` of ``region`` (memoised as :func:`plant_step`).

    Each member's plant is timed to its own nearest midrange: a delay common to both ears is no crosstalk. A
    further measured head's (``others``) is brought to the nominal head's level (:func:`head_response`, per
    frequency): sets measured with other loudspeakers and microphones differ by their chains in every direction,
    which is no uncertainty of the listener's plant.
    """

    def compute() -> RobustInverse:
        frequencies, plant = plant_step(profile, head, listener, sample_rate, taps)[:2]
        mids = profile.indices("mid")
        plants = [plant]
        members = population(head, listener, region, others)[1:]
        nominal_level = np.abs(head_response(profile, frequencies, head, listener)[:, 0]) if others else None
        for _, group in itertools.groupby(members, key=lambda member: id(member[0])):  # by identity: sets hold arrays
            pairs = list(group)
            seats = [seat for _, seat in pairs]  # one head model call for all of a head's seats
            member = pairs[0][0]
            made = transfer_matrices(profile, frequencies, member, seats, drivers=mids)
            scale = np.ones(len(frequencies))
            if nominal_level is not None and any(member is other for other in others):
                # another set's measurement chain is no uncertainty of the head: its level brought to the nominal's
                scale = nominal_level / np.maximum(np.abs(head_response(profile, frequencies, member, listener)[:, 0]), 1e-20)
            plants += [_timed(one, profile, frequencies, seat, mids)[0] * scale[:, None, None] for one, seat in zip(made, seats)]
        return RobustInverse(np.stack(plants))

    key = hashable_key(profile, head, listener, float(sample_rate), int(taps), region, tuple(others))
    return _ROBUST.get_or_compute(key, compute)


@one_blas_thread()  # the same bits as a stage's design, whatever BLAS's threads (designstore.one_blas_thread)
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
    give_plateau_db: float | None = None,
    taps: int | None = None,
    region: ListeningRegion | None = DEFAULT_REGION,
    others: Sequence[HeadModel] = (),
    own_ear: str = "flat",
) -> DriverFilters:
    """Design a crosstalk canceller for a device at a listener position (pure function).

    Four steps: the plant (:func:`plant_step`, :func:`robust_step`), the regularization
    (:func:`regularization_step`, applied by :func:`canceling_filters`), the band assembly
    (:func:`assembly_step`) and the realization (:func:`realize_crosstalk`).

    Parameters
    ----------
    profile : DeviceProfile
        The device, at its listener distance.
    sample_rate : float
        Hz.
    head : HeadModel, optional
        The model designed on (default: the head model, :class:`~soundstage.acoustics.head.HybridSphereHead`).
    listener : Listener, optional
        The design position (default: centered, facing the device).
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
        same amount of extra cancellation at the same effort (below 2 kHz, faded out by 4 kHz).
    give_plateau_db : float, optional
        The plateau of the default request whose shortfall decides where level is
        given (default: ``plateau_db``). A fixed one keeps the level, and so the
        effort search, the same for every ``plateau_db``: the Spatializer passes its
        full-width plateau, so its designs move smoothly with width.
    taps : int, optional
        FIR length; the modeling delay is ``taps // 2``. Default: :data:`TAPS` at 48 kHz, the same time at
        other rates (:func:`~soundstage.dsp.spans.span`).
    region : ListeningRegion or None
        The listening region the design holds for (robust design, :class:`RobustInverse`): every
        seat of the region around ``listener`` and, for a model head, the head's variants
        (:func:`population`), by default :data:`DEFAULT_REGION` (+-5 deg yaw, +-5 cm lateral and
        fore-aft): :func:`robust_regularization`. None: exact at ``listener`` on ``head`` alone
        (:class:`RegularizedInverse`), its request the separation there.
    others : sequence of HeadModel
        Further heads the design holds for, at every seat of ``region`` (a stage's several SOFA sets:
        :class:`~soundstage.acoustics.hrtf.HeadChoice`); ``head`` is the nominal one. With ``region``
        None the design is then robust over the heads at ``listener``'s seat alone.
    own_ear : {"flat", "head"}
        How each input reaches its own ear: flat (a binaural signal delivered as it is), or as ``head``
        hears a source at the device (:func:`~soundstage.acoustics.timbre.head_response`: the head's
        common response is not inverted, only what differs between drivers and ears; the effort limit
        then counts the drive a driver needs beyond playing the sound. The Spatializer's choice: its
        virtual speakers are to sound like real ones, which color the ear they face).

    Examples
    --------
    >>> from soundstage.acoustics.profiles import load_profile
    >>> design = design_crosstalk_canceller(load_profile("studio-5", distance_m=1.0))
    >>> design.impulse.shape, design.effort_db() <= 10.0
    ((5, 2, 2048), True)
    """
    head = head or HybridSphereHead()
    listener = listener or Listener()
    taps = taps if taps is not None else span(TAPS, sample_rate)
    mids = profile.indices("mid")
    if len(mids) < 2:
        raise ParameterError(
            f"{profile.name}: a crosstalk canceller needs at least two 'mid' drivers, the profile has {len(mids)}"
        )
    if own_ear not in ("flat", "head"):
        raise ParameterError(f'crosstalk canceller: own_ear must be "flat" or "head", not {own_ear!r}')
    frequencies, plant, reference_m, nominal, band_plant = plant_step(profile, head, listener, sample_rate, taps)
    own_ear_response = _own_ear_response(profile, frequencies, head, listener) if own_ear == "head" else None
    request = Request(target, plateau_db, max_effort_db, low_frequency_give_db, give_plateau_db)
    if region is None and others:
        region = ListeningRegion(yaw_deg=0.0, lateral_m=0.0, fore_aft_m=0.0)  # the seat, over the heads
    robust = None if region is None else robust_step(profile, head, listener, sample_rate, taps, region, others)
    inverses, regularization = regularization_step(profile, frequencies, nominal, robust, request, own_ear_response)
    ctc = canceling_filters(inverses, regularization, max_effort_db)
    if own_ear_response is not None:  # its level is in the regularization (the effort counts it); here each ear's phase
        ctc = ctc * (own_ear_response / np.abs(own_ear_response))[:, None, :]  # input j: ear j
    response = assembly_step(profile, frequencies, ctc, listener, reference_m)
    info = {
        "profile": profile.name,
        "distance_m": profile.distance_m,
        "plant": plant,
        "target_db": _followed_db(profile, frequencies, regularization, response, band_plant, target),
        "feasible_db": regularization.feasible_db,
    }
    return realize_crosstalk(
        profile, frequencies, ctc, response, sample_rate=sample_rate, taps=taps, regularization=regularization.beta, info=info
    )


@dataclass(frozen=True)
class Request:
    """What a design is asked for: ``target`` (a separation per frequency, followed as given) or the default request
    of ``plateau_db`` capped at what the effort allows; the effort limit; the level each input may give up for
    cancellation at low frequencies, and the plateau whose shortfall decides where (see
    :func:`design_crosstalk_canceller`)."""

    target: TargetCurve | None
    plateau_db: float
    max_effort_db: float
    low_frequency_give_db: float
    give_plateau_db: float | None


def _own_ear_response(profile: DeviceProfile, frequencies: np.ndarray, head: HeadModel, listener: Listener) -> np.ndarray:
    """How each input is to reach its own ear with ``own_ear = "head"``: as the head hears a source at the device
    (:func:`~soundstage.acoustics.timbre.head_response`), its 0 Hz bin the next one's (as the plant's)."""
    response = head_response(profile, frequencies, head, listener)
    if len(frequencies) > 1:
        response[0] = response[1]
    return response


def regularization_step(
    profile: DeviceProfile,
    frequencies: np.ndarray,
    nominal: RegularizedInverse,
    robust: RobustInverse | None,
    request: Request,
    own_ear_response: np.ndarray | None,
) -> tuple[RegularizedInverse | RobustInverse, Regularization]:
    """The inverse the filters come from and its regularization per frequency: the nominal plant's search for the
    request (:func:`choose_regularization`), and for a robust design (``robust``, :func:`robust_step`) the share of it
    kept beside the population's spread (:func:`robust_regularization`)."""
    band_hz = midrange_band_hz(profile)
    target = request.target
    give_reference = None
    if target is None and request.give_plateau_db is not None:
        give_reference = TargetCurve.default(request.give_plateau_db).db(frequencies)
    regularization = choose_regularization(
        nominal,
        frequencies,
        (target or TargetCurve.default(request.plateau_db)).db(frequencies),
        band_hz,
        capped=target is None,
        max_effort_db=request.max_effort_db,
        low_frequency_give_db=request.low_frequency_give_db,
        give_reference_db=give_reference,
        own_ear_level=None if own_ear_response is None else np.abs(own_ear_response[:, 0]),  # the ears' common level
    )
    if robust is None:
        return nominal, regularization
    request_db = request.plateau_db if target is None else float(np.max(target.db(frequencies)))
    return robust, robust_regularization(robust, nominal, regularization, frequencies, band_hz, request.max_effort_db, request_db)


def assembly_step(
    profile: DeviceProfile, frequencies: np.ndarray, ctc: np.ndarray, listener: Listener, reference_m: float
) -> np.ndarray:
    """Every driver's response per input (:func:`~soundstage.acoustics.feeds.assemble_band_feeds`): the midranges'
    canceling filters in their band, the mono woofer and tweeter feeds at the ends, each timed to arrive when the
    nearest midrange does (the filters' timing reference, ``reference_m`` away), so the crossovers sum in phase:
    a front tweeter closer to the listener is delayed."""
    positions, center = profile.world_positions(), np.asarray(listener.position_m, float)

    def timing(index: int) -> np.ndarray:
        lead_m = reference_m - float(np.linalg.norm(positions[index] - center))
        return np.asarray(np.exp(-2j * np.pi * frequencies * lead_m / SPEED_OF_SOUND_M_S))

    return assemble_band_feeds(profile, frequencies, ctc, profile.indices("mid"), timing, band_share=0.5)


def _followed_db(
    profile: DeviceProfile,
    frequencies: np.ndarray,
    regularization: Regularization,
    response: np.ndarray,
    band_plant: np.ndarray | None,
    target: TargetCurve | None,
) -> np.ndarray:
    """The separation the whole device (midranges and mono band feeds) is to follow: the regularization's, and
    where the mono tweeter or woofer fades in, no more than its crosstalk leaves (the midranges still cancel as
    asked there, so the band drivers' crosstalk is what limits the total)."""
    followed = regularization.wanted_db
    band_drivers = profile.indices("woofer") + profile.indices("tweeter")
    if target is None and band_drivers:
        assert band_plant is not None
        band_ears = band_plant @ response[:, band_drivers, :]
        followed = np.minimum(
            followed, crossover_limit_db(band_ears, midrange_weights(profile, frequencies), regularization.level)
        )
    return np.asarray(followed)


class CrosstalkCanceller(FilterForms, Processor):  # type: ignore[misc]  # output_channels: a property here, an int there
    """Crosstalk cancellation for a device: 2 inputs (ear signals) -> one feed per driver.

    Parameters
    ----------
    device : str
        A device profile name or file (configuration, not automatable).
    form : {"direct", "rtf"}
        Run the direct filters or the relative-transfer-function form.
    hrtf : str or list of str
        ``"model"`` (the head model, the default), another model's name or the path of a SOFA file:
        design on a measured head, e.g. the listener's own; several SOFA files: designed on the
        first, robust over all of them (configuration).
    region : {"region", "seat"}
        Design robust (the default): least mean crosstalk over the listening region (+-5 deg yaw,
        +-5 cm lateral and fore-aft) and, on a model, the head's variants; or exact at the
        listener's seat (:func:`design_crosstalk_canceller`; configuration).
    region_yaw_deg, region_lateral_m, region_fore_aft_m : float, optional
        The listening region's extents, +- about the seat (0..45 deg, 0..0.5 m, 0..0.5 m; default
        5 deg, 5 cm, 5 cm; 0 drops that dimension), e.g. wider for a couch, 0 yaw for a fixed chair
        (``region = "region"`` only; configuration).
    distance_m : float, 0.5..5 m
        Listener distance the filters are designed for.
    head_radius_m : float, 0.05..0.12 m
        Head radius of the design model (``hrtf = "model"`` only).
    separation_db : float, 0..30 dB
        Plateau of the target cancellation curve (the default curve's shape).
    listener_x_m, listener_y_m, listener_yaw_deg : float
        Where the design's listener sits relative to the nominal seat: toward the
        device (-0.5..0.5 m), to the left (-1..1 m), head yaw (-90..90 deg, + left).

    Examples
    --------
    >>> import numpy as np
    >>> ctc = CrosstalkCanceller(device="compact-pair", distance_m=1.0)
    >>> ctc(np.zeros((2, 4800)), 48000).shape
    (2, 4800)
    """

    type_name = "CrosstalkCanceller"
    #: The FIR engine's partition at 48 kHz, its latency (the same time at other rates: :func:`~soundstage.dsp.spans.span`).
    PARTITION = 512
    config_keys = ("device", "form", "hrtf", "region", *REGION_EXTENTS)
    input_channels = 2
    parameter_specs = (
        ParameterSpec("distance_m", 2.0, 0.5, 5.0, unit="m", description="Listener distance of the design"),
        ParameterSpec("head_radius_m", 0.0875, 0.05, 0.12, unit="m", description="Head radius of the design model"),
        ParameterSpec("separation_db", 25.0, 0.0, 30.0, unit="dB", description="Plateau of the target cancellation curve"),
        *LISTENER_PARAMETERS,
    )
    design_parameters = ("distance_m", "head_radius_m", "separation_db", *(spec.name for spec in LISTENER_PARAMETERS))

    def __init__(
        self,
        *,
        device: str = "studio-5",
        form: str = "direct",
        hrtf: str | Sequence[str] = "model",
        region: str = "region",
        region_yaw_deg: float | None = None,
        region_lateral_m: float | None = None,
        region_fore_aft_m: float | None = None,
        distance_m: float = 2.0,
        head_radius_m: float = 0.0875,
        separation_db: float = 25.0,
        listener_x_m: float = 0.0,
        listener_y_m: float = 0.0,
        listener_yaw_deg: float = 0.0,
    ) -> None:
        if form not in ("direct", "rtf"):
            raise ParameterError(f"CrosstalkCanceller: form={form!r} must be 'direct' or 'rtf'")
        self.device = device_setting(device)
        self.form = form
        self.region = region
        self.region_yaw_deg, self.region_lateral_m, self.region_fore_aft_m = region_yaw_deg, region_lateral_m, region_fore_aft_m
        self._region = region_setting("CrosstalkCanceller", region, region_extents(self))
        self._heads = HeadChoice(hrtf)  # a bad SOFA file fails here, not mid-stream
        self.hrtf = self._heads.hrtf  # a model or file name, or several files (a tuple)
        self._profile = load_profile(device)
        super().__init__(
            distance_m=distance_m,
            head_radius_m=head_radius_m,
            separation_db=separation_db,
            listener_x_m=listener_x_m,
            listener_y_m=listener_y_m,
            listener_yaw_deg=listener_yaw_deg,
        )
        self.partition_size = self.PARTITION  # at 48 kHz until a stream opens at another rate
        self._engines: list[CrossfadingFir] = []

    def design(self, sample_rate: float) -> DriverFilters:
        """The design for the current parameters (memoised: a reset does not redesign)."""
        return self._memoised(sample_rate, self._design)

    def _design(self, sample_rate: float) -> DriverFilters:
        """The design for the current parameters at a sample rate."""
        return design_crosstalk_canceller(
            self._profile.at_distance(self.float_value("distance_m")),
            sample_rate=sample_rate,
            head=self._heads.head(sample_rate, self.float_value("head_radius_m")),
            listener=design_listener(self),
            plateau_db=self.float_value("separation_db"),
            region=self._region,
            others=self._heads.others(sample_rate),
        )

    @property
    def latency_samples(self) -> int:
        direct = self._band_delay_samples()
        return direct + (direct if self.form == "rtf" else 0)

    def _band_delay_samples(self) -> int:  # the ratio stage's latency: the modeling delay, the partition
        return span(TAPS, self._sample_rate or 48000.0) // 2 + self.partition_size

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.device != "studio-5":
            config["device"] = self.device
        if self.form != "direct":
            config["form"] = self.form
        if self.hrtf != "model":
            config["hrtf"] = self.hrtf
        if self.region != "region":
            config["region"] = self.region
        config.update(region_extents(self))
        return config
