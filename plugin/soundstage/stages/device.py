"""``Spatializer``: the whole device chain for one device profile (2 -> N driver feeds).

    stereo -> Upmix -> L', R' -> Virtualizer -> CrosstalkCanceller -> N feeds -+
                    -> C ------------------------> Beamformer ------> N feeds -+-> Align -> sum per driver

Align: the two paths have different processing latencies (the canceller's
modeling delay is longer than the beam's) and reach the listener from different
acoustic reference points (the canceller's timing is referenced to its nearest
midrange driver, the beam's to the device center). Each path is delayed so that
center content and left/right content arrive at the ears together; the delays
come from the stages' reported latencies and the profile's geometry.

After the upmix the chain is linear, so it runs as one MIMO FIR (L', R', C ->
drivers): the virtualizer convolved with the canceller, and the beam, each with
its alignment delay built in. The Spatializer composes the stages' design
functions (:func:`design_virtualizer`, :func:`design_crosstalk_canceller`,
:func:`design_beamformer`, :func:`alignment_samples`), each memoised on the knobs it
depends on, and streams the upmix (an :class:`Upmix` driven through its raw stream).
A few knobs map onto the designs: ``width`` (virtualizer crossfeed, and canceller
separation ``SEPARATION_PER_WIDTH_DB * width``, 30 dB on a measured head), ``center_level_db``, ``depth`` (beam
vs matrix mix), ``center_amount`` (upmix) and ``distance_m`` (the canceller's design
distance).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from soundstage import designstore
from soundstage.acoustics.feeds import DriverFilters
from soundstage.acoustics.hrtf import HeadChoice
from soundstage.acoustics.profiles import device_setting, load_profile
from soundstage.acoustics.timbre import eq_half_taps, tonal_match
from soundstage.dsp.fir import CrossfadingFir, partition_spectra
from soundstage.dsp.grid import DesignGrid, GridAxis
from soundstage.dsp.realize import delayed, trim_support
from soundstage.dsp.spans import span
from soundstage.host.parameters import ParameterSpec
from soundstage.host.processor import Processor
from soundstage.memo import LruCache
from soundstage.stages.align import alignment_samples
from soundstage.stages.beamformer import blend_beam, design_beamformer, design_matrix_mix
from soundstage.stages.crosstalk import REGION_EXTENTS, design_crosstalk_canceller, region_extents, region_setting
from soundstage.stages.drivers import LISTENER_PARAMETERS, DriverFeeds, design_listener
from soundstage.stages.upmix import Upmix
from soundstage.stages.virtualizer import VirtualizerDesign, design_virtualizer

__all__ = ["PERSONAL_SEPARATION_PER_WIDTH_DB", "SEPARATION_PER_WIDTH_DB", "Spatializer"]

#: The canceller's separation plateau at ``width = 1`` (dB) designed on a head model; it scales with width.
SEPARATION_PER_WIDTH_DB = 25.0
#: The same designed on the listener's own measured head (``hrtf`` a SOFA file): the plant is then known but
#: for the listener's movement, so the request is the top of the canceller's range. On MIT KEMAR, designed on
#: KEMAR at 1 m: 28.5 dB mean and 15.5 dB over the listening region, against 23.9 and 14.2 dB at 25 dB, within
#: the same effort limit (``benchmarks/fidelity.py``). On a model, the model's mismatch to a real head bounds
#: what a higher request buys.
PERSONAL_SEPARATION_PER_WIDTH_DB = 30.0
#: The knobs that redesign filters: the canceller (width, distance), the beam (depth), the listener.
DESIGN_KNOBS = ("width", "distance_m", "depth")
LISTENER_KNOBS = tuple(spec.name for spec in LISTENER_PARAMETERS)
#: The knobs a change of which, while streaming, takes its filters from a design grid
#: (:mod:`soundstage.dsp.grid`), and the grid steps: the interpolation error of a whole
#: automated render is below -60 dB re the signal with these (``benchmarks/automation.py``; ``tests/test_design_grid.py``).
#: Both cubic, on designs eased to be smooth in both knobs (:data:`~soundstage.stages.crosstalk.CAP_SOFTNESS_DB`
#: for width, :data:`~soundstage.stages.crosstalk.EFFORT_POLE_SOFTNESS` for yaw): filter-domain error of
#: width at 0.1 -68 dB, of yaw at 2 degrees -67 dB (linear yaw needed 0.5). Width is 0.05: where both knobs move at
#: once the errors add (a fast ride of both, each change held whole from one fade to the next: -59.8 and -62.7 dB with
#: two seeds at 0.1, -64.3 and -66.8 at 0.05; 1.5-degree yaw gained 1.3 dB); a width node costs the warm ride nothing
#: more (it reads 16 nodes whatever the step), only a cold render designs more of them; and a width set to a multiple
#: of 0.05 (as people type it) is a node: an exact design, which an exported plug-in then nulls to.
GRID_STEPS = {"width": 0.05, "listener_yaw_deg": 2.0}
#: How each gridded knob interpolates between nodes (:class:`~soundstage.dsp.grid.GridAxis`): 1 linear, 3 cubic.
GRID_ORDERS = {"width": 3, "listener_yaw_deg": 3}
#: A grid cell's spectra columns that move less than this (re the filters) are not blended
#: (:class:`~soundstage.dsp.grid.DesignGrid`'s ``still_db``): those of the partitions before and after the
#: designs' modeling delays and the first and last partitions that carry the change (12 of 27 columns move). It adds
#: at most -76 dB re the filters to the error, under the interpolation's own (-65 dB over a whole ride,
#: ``benchmarks/automation.py``); -110 dB moved 15 columns: a fifth more to blend and to fade at every change.
GRID_STILL_DB = -80.0
#: The grid keeps its nodes column first (drivers and columns swapped); this transposition gives the engine's layout.
_ENGINE_LAYOUT = (1, 0, 2)
#: The center the upmix extracts reaches up to here: above it, center content would stay in L'/R' and
#: play from both of their paths at once, louder than a phantom center (the tweeter plays their sum).
UPMIX_HIGH_HZ = 24000.0
#: The combined filters' leading and trailing taps that carry less than this of each driver's energy are zeroed
#: (:func:`~soundstage.dsp.realize.trim_support`): the partitions before the designs' modeling delays and after their
#: decay: a fifth of the FIR's multiply-adds, which the engine then skips. Far below the designs' own accuracy (-60 dB),
#: and below what the behavior fingerprints call a change (tests/behavior: -120 dB re each array).
SUPPORT_FLOOR_DB = -130.0
#: How long a change of the filters crossfades while audio runs, s. A change during a fade waits for its end
#: (:meth:`Spatializer._parameter_changed`), so this is also the shortest time between two swaps: a change is
#: heard at most this much later, and a ride of 2 000 changes a minute swaps about 1 000 times
#: (``benchmarks/automation.py``).
FADE_SECONDS = 0.05
#: The virtual speakers' angle and the model head's radius the Spatializer designs for.
VIRTUAL_AZIMUTH_DEG = 30.0
HEAD_RADIUS_M = 0.0875

#: The designs that depend on no knob (the beam, the matrix mix, the virtualizer), shared by every
#: Spatializer of the same device, head and rate: a session's renders design them once.
_SHARED: LruCache[Any] = LruCache(max_entries=16)


class Spatializer(DriverFeeds, Processor):  # type: ignore[misc]  # output_channels: a property here, an int there
    """The device chain: stereo in, one feed per driver of ``device`` out.

    Parameters
    ----------
    device : str
        Device profile (configuration).
    width : float, 0..1
        Virtualizer crossfeed and crosstalk-cancellation plateau (x 25 dB; x 30 dB designed on a measured head).
    center_level_db : float, -24..12 dB
        Level of the center beam.
    depth : float, 0..1
        Center as a beam (1) or a matrix mix of the midranges (0).
    center_amount : float, 0..1
        How much center the upmix extracts.
    distance_m : float, 0.5..5 m
        Listener distance the crosstalk canceller is designed for.
    hrtf : str or list of str
        ``"model"`` (the head model), another model's name or a SOFA file: the head the virtualizer
        and the canceller are designed on, e.g. the listener's own; several SOFA files: designed on
        the first, the canceller robust over all of them (configuration).
    region : {"region", "seat"}
        The canceller robust over the listening region (the default) or exact at the listener's seat
        (see :class:`~soundstage.stages.crosstalk.CrosstalkCanceller`; configuration).
    region_yaw_deg, region_lateral_m, region_fore_aft_m : float, optional
        The listening region's extents (default +-5 deg, +-5 cm, +-5 cm; as the canceller's; configuration).
    listener_x_m, listener_y_m, listener_yaw_deg : float
        Where the design's listener sits relative to the nominal seat (see
        :class:`~soundstage.stages.crosstalk.CrosstalkCanceller`).

    Examples
    --------
    >>> import numpy as np
    >>> Spatializer()(np.zeros((2, 4800)), 48000).shape
    (5, 4800)
    """

    type_name = "Spatializer"
    #: The FIR engine's partition at 48 kHz, its latency (the same time at other rates: :func:`~soundstage.dsp.spans.span`).
    PARTITION = 512
    config_keys = ("device", "hrtf", "region", *REGION_EXTENTS)
    input_channels = 2
    parameter_specs = (
        ParameterSpec("width", 1.0, 0.0, 1.0, description="Virtualizer crossfeed and cancellation amount"),
        ParameterSpec("center_level_db", 0.0, -24.0, 12.0, unit="dB", smoothing_ms=20.0, description="Level of the center"),
        ParameterSpec("depth", 1.0, 0.0, 1.0, description="Center as a beam (1) or a matrix mix (0)"),
        ParameterSpec("center_amount", 1.0, 0.0, 1.0, description="Center the upmix extracts"),
        ParameterSpec("distance_m", 2.0, 0.5, 5.0, unit="m", description="Listener distance of the canceller design"),
        *LISTENER_PARAMETERS,
    )
    design_parameters = DESIGN_KNOBS + LISTENER_KNOBS
    interpolate_designs = True

    def __init__(
        self,
        *,
        device: str = "studio-5",
        width: float = 1.0,
        center_level_db: float = 0.0,
        depth: float = 1.0,
        center_amount: float = 1.0,
        distance_m: float = 2.0,
        hrtf: str | Sequence[str] = "model",
        region: str = "region",
        region_yaw_deg: float | None = None,
        region_lateral_m: float | None = None,
        region_fore_aft_m: float | None = None,
        listener_x_m: float = 0.0,
        listener_y_m: float = 0.0,
        listener_yaw_deg: float = 0.0,
    ) -> None:
        self.device = device_setting(device)
        self.region = region
        self.region_yaw_deg, self.region_lateral_m, self.region_fore_aft_m = region_yaw_deg, region_lateral_m, region_fore_aft_m
        self._region = region_setting("Spatializer", region, region_extents(self))
        self._heads = HeadChoice(hrtf)  # a bad SOFA file fails here, not mid-stream
        self.hrtf = self._heads.hrtf  # a model or file name, or several files (a tuple)
        self._profile = load_profile(device)
        self.upmix = Upmix(center_amount=center_amount, high_hz=UPMIX_HIGH_HZ)
        self.partition_size = self.PARTITION  # at 48 kHz until a stream opens at another rate
        self._fir: CrossfadingFir | None = None
        super().__init__(
            width=width,
            center_level_db=center_level_db,
            depth=depth,
            center_amount=center_amount,
            distance_m=distance_m,
            listener_x_m=listener_x_m,
            listener_y_m=listener_y_m,
            listener_yaw_deg=listener_yaw_deg,
        )

    # -- the designs, each memoised on the knobs it depends on -----------------------
    def virtualizer_design(self, sample_rate: float) -> VirtualizerDesign:
        """The virtual +-30 degree pair on the design head (depends on no knob; ``width`` scales its crossfeed)."""
        return self._memoised(sample_rate, self._virtualizer_design, depends_on=())

    def _virtualizer_design(self, sample_rate: float) -> VirtualizerDesign:
        head = self._heads.head(sample_rate, HEAD_RADIUS_M)
        key = ("virtualizer", self.hrtf, float(sample_rate))
        return _SHARED.get_or_compute(key, lambda: design_virtualizer(sample_rate, azimuth_deg=VIRTUAL_AZIMUTH_DEG, head=head))

    @property
    def separation_per_width_db(self) -> float:
        """The canceller's plateau at ``width = 1``: 25 dB on a head model, 30 dB on a measured head."""
        return SEPARATION_PER_WIDTH_DB if self._heads.is_model else PERSONAL_SEPARATION_PER_WIDTH_DB

    def canceller_design(self, sample_rate: float) -> DriverFilters:
        """The crosstalk canceller for ``distance_m``, its separation plateau :attr:`separation_per_width_db` ``* width``."""
        return self._memoised(sample_rate, self._canceller_design, depends_on=DESIGN_KNOBS[:2] + LISTENER_KNOBS)

    def _canceller_design(self, sample_rate: float) -> DriverFilters:
        """On a measured head each input reaches its own ear as the head hears the device (``own_ear="head"``):
        a set's common response carries its measurement (MIT KEMAR's spans over 20 dB: the loudspeaker's
        roll-off, the ear canal), which a flat delivery inverts, spending the effort limit on it and leaving
        the tonal match more than it may correct (designed and heard on KEMAR: worst band at 1 m 10.2 -> 17.4
        dB, the preview's octave spreads 3.8-4.0 -> 0.5-1.1 dB). A model's responses are relative to the free
        field; its common response is the frontal shadow (0 to -2.4 dB), and flat delivery held 0.1-0.3 dB more
        over the region on the other models (Brown & Duda's, the exact sphere, the head and torso), so models
        keep it."""
        return design_crosstalk_canceller(
            self._profile.at_distance(self.float_value("distance_m")),
            sample_rate=sample_rate,
            head=self._heads.head(sample_rate, HEAD_RADIUS_M),
            listener=design_listener(self),
            plateau_db=self.separation_per_width_db * self.float_value("width"),
            give_plateau_db=self.separation_per_width_db,  # the level given does not move with width
            region=self._region,
            others=self._heads.others(sample_rate),
            own_ear="flat" if self._heads.is_model else "head",
        )

    def beam_design(self, sample_rate: float) -> DriverFilters:
        """The center beam blended with the matrix mix by ``depth`` (the full beam is designed once)."""
        beam = self._memoised(sample_rate, self._full_beam, depends_on=())
        depth = self.float_value("depth")
        if depth >= 1.0:
            return beam
        matrix = self._memoised(sample_rate, self._matrix_mix, depends_on=())
        return blend_beam(beam, matrix, depth, self._profile)

    def _full_beam(self, sample_rate: float) -> DriverFilters:
        key = ("beam", self._profile, float(sample_rate))
        return _SHARED.get_or_compute(key, lambda: design_beamformer(self._profile, sample_rate=sample_rate))

    def _matrix_mix(self, sample_rate: float) -> DriverFilters:
        key = ("matrix", self._profile, float(sample_rate))
        return _SHARED.get_or_compute(key, lambda: design_matrix_mix(self._profile, sample_rate=sample_rate))

    def filters(self, sample_rate: float) -> tuple[np.ndarray, int]:
        """The combined filter matrix and L/R delay (memoised; see :meth:`_combine`)."""
        return self._memoised(sample_rate, self._combine, depends_on=DESIGN_KNOBS + LISTENER_KNOBS)

    def _combine(self, sample_rate: float) -> tuple[np.ndarray, int]:
        """:meth:`_combine_now`, kept in the design store (:mod:`soundstage.designstore`) under everything it
        depends on: the device profile's values, the heads' contents, the region, the rate and the design knobs."""
        parts = (
            *self.design_identity(),
            float(sample_rate),
            tuple((name, self.float_value(name)) for name in DESIGN_KNOBS + LISTENER_KNOBS),
        )
        return designstore.get_or_make(
            "spatializer",
            parts,
            lambda: self._combine_now(sample_rate),
            pack=lambda design: {"filters": design[0], "delay": np.asarray(design[1], np.int64)},
            unpack=lambda stored: (stored["filters"], int(stored["delay"])),
        )

    def design_identity(self) -> tuple[Any, ...]:
        """What this stage's designs depend on besides its knobs, by content: the device profile's
        values (not its file's name), the heads' (:meth:`HeadChoice.identity`) and the listening region."""
        return (dataclasses.replace(self._profile, source=""), self._heads.identity(), self._region)

    def _combine_now(self, sample_rate: float) -> tuple[np.ndarray, int]:
        """The linear part of the chain as one filter matrix (drivers, 3 [L', R', C], taps) and its L/R delay.

        Virtualizer and canceller are convolved into one L'/R' -> drivers filter; the
        beam is the C -> drivers filter; each path is delayed so both reach the
        listener together (processing delays from the designs, acoustic offsets
        from the geometry). Returns the matrix and the L/R path's total delay.
        """
        virtual = self.virtualizer_design(sample_rate)
        ears = virtual.ear_filters(self.float_value("width"))  # (2 ears, 2 inputs, taps)
        canceller = self.canceller_design(sample_rate)
        beam = self.beam_design(sample_rate)
        from scipy.signal import fftconvolve  # noqa: PLC0415 (slow to load: on first use)

        lr = fftconvolve(canceller.impulse[:, :, None, :], ears[None, :, :, :], axes=-1).sum(axis=1)  # (N, 2, T)
        profile = self._profile.at_distance(self.float_value("distance_m"))
        mids = profile.indices("mid")
        seat = np.asarray(design_listener(self).position_m)
        nearest_mid = float(np.linalg.norm(profile.world_positions()[mids] - seat, axis=1).min())
        center = float(np.linalg.norm(profile.center_m - seat))
        lr_latency = virtual.delay_samples + canceller.delay_samples
        lr_exact, center_exact = alignment_samples([lr_latency, beam.delay_samples], [nearest_mid, center], sample_rate)
        lr_delay = int(np.ceil(lr_exact))  # whole, the stage's latency; the beam path takes the fraction
        lr_path, center_path = delayed(lr, lr_delay), delayed(beam.impulse[:, 0], center_exact + lr_delay - lr_exact)
        combined = np.zeros((len(profile.drivers), 3, max(lr_path.shape[-1], center_path.shape[-1])))
        combined[:, :2, : lr_path.shape[-1]] = lr_path
        combined[:, 2, : center_path.shape[-1]] = center_path
        head = self._heads.head(sample_rate, HEAD_RADIUS_M)
        matched = tonal_match(combined, profile, head, design_listener(self), sample_rate)
        return trim_support(matched, SUPPORT_FLOOR_DB), lr_latency + lr_delay + eq_half_taps(sample_rate)

    @property
    def latency_samples(self) -> int:
        rate = self._sample_rate or 48000.0
        return self.upmix.latency_samples + self.partition_size + self.filters(rate)[1]

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        self.partition_size = span(self.PARTITION, sample_rate)
        self.upmix.open_stream(sample_rate, 2)
        combined, _ = self.filters(sample_rate)
        self._fir = CrossfadingFir(combined, partition_size=self.partition_size, fade_samples=int(FADE_SECONDS * sample_rate))
        self.__dict__["_still"] = None  # the filters set are an exact design
        self.__dict__["_unswapped"] = set()  # ... at the knobs' current values

    def _parameter_changed(self, name: str) -> None:
        """A knob that redesigns: the filters are swapped when the engine next computes output (:meth:`_swap`).

        Changes until then coalesce: the engine computes whole partitions, so of two changes within one
        partition only the second would be heard, bar the first sample of the first's fade. A change
        while a fade runs waits for it to end (one fade at a time, as a convolution plug-in swaps an
        impulse response): the changes meanwhile coalesce too, the last value wins, and it is heard at
        most :data:`FADE_SECONDS` later. Otherwise a ride (a change every few tens of ms) would blend
        fades into fades, each swap paying for the blend heard so far and most of them heard for
        only part of their fade. Both rules count samples, so the output is the same whatever the
        block sizes. An exact design is made here (a design worker's shadow designs on the change);
        a grid's filters when swapped.
        """
        if name == "center_amount":
            self.upmix.center_amount = self.float_value(name)
        elif name in DESIGN_KNOBS + LISTENER_KNOBS and self._fir is not None and self._sample_rate is not None:
            unswapped = self.__dict__.setdefault("_unswapped", set())
            unswapped.add(name)
            if not self._from_grid(unswapped):
                self.filters(self._sample_rate)  # memoised: the swap finds it

    def _from_grid(self, names: set[str]) -> bool:
        return self.interpolate_designs and names <= GRID_STEPS.keys()

    def _swap(self) -> None:
        """Set the filters at the knobs' current values (crossfading): a grid's where only gridded knobs moved."""
        assert self._fir is not None and self._sample_rate is not None
        names, self.__dict__["_unswapped"] = self.__dict__["_unswapped"], set()
        if self._from_grid(names):
            grid = self.design_grid(self._sample_rate)
            spectra, still = grid.filters_and_still(self._grid_values(), axes=_ENGINE_LAYOUT)
            # the same still columns as the filters set last (same cell): the fade runs the moving ones only
            changed = still[1:] if still is not None and still == self.__dict__.get("_still") else None
            self.__dict__["_still"] = still
            self._fir.set_spectra(spectra, 3, changed=changed)
        else:
            self.__dict__["_still"] = None
            self._fir.set_filters(self.filters(self._sample_rate)[0])

    # -- a change of width or yaw while streaming: the design grid ------------------------
    def _grid_values(self) -> dict[str, float]:
        return {name: self.float_value(name) for name in GRID_STEPS}

    def grid_filters(self, sample_rate: float, values: dict[str, float]) -> np.ndarray:
        """The design grid's filters at ``values`` of the gridded knobs, as the FIR engine runs them
        (:func:`~soundstage.dsp.fir.partition_spectra`; the grid keeps them column first, see :meth:`design_grid`)."""
        return self.design_grid(sample_rate).filters_and_still(values, axes=_ENGINE_LAYOUT)[0]

    def design_grid(self, sample_rate: float) -> DesignGrid:
        """The design grid over :data:`GRID_STEPS`' knobs at the other knobs' current values.

        Its nodes are exact designs (:meth:`filters`), kept in the form the FIR
        engine runs (:func:`~soundstage.dsp.fir.partition_spectra`) with the columns
        (partition and input) first, so the columns that do not move with the knobs
        are one run at each end and are not blended (:data:`GRID_STILL_DB`), and are shared
        by every Spatializer of the same device, head, rate and other knob values.
        Every node has this stage's latency: the gridded knobs move no delay.
        """
        others = tuple((name, self.float_value(name)) for name in self.design_parameters if name not in GRID_STEPS)
        key = (self.type_name, self.device, self.hrtf, self._region, float(sample_rate), self.partition_size, others)
        made_from = (key, tuple(GRID_STEPS.items()), tuple(GRID_ORDERS.items()), GRID_STILL_DB)
        made = self.__dict__.get("_grid")
        if made is not None and made[0] == made_from:
            return made[1]  # the same grid as at the last change
        axes = []
        for name, step in GRID_STEPS.items():
            spec = next(spec for spec in self.parameter_specs if spec.name == name)
            axes.append(GridAxis(name, step, float(spec.minimum), float(spec.maximum), GRID_ORDERS.get(name, 1)))
        grid = DesignGrid(key, axes, partial(self._design_at, sample_rate), still_db=GRID_STILL_DB)
        self.__dict__["_grid"] = (made_from, grid)  # kept for the next change
        return grid

    def _design_at(self, sample_rate: float, values: dict[str, float]) -> tuple[np.ndarray, int]:
        """The exact design at ``values`` of the gridded knobs, made on a twin of this stage (its own memo)."""
        twin = self.__dict__.get("_twin")
        if twin is None:
            twin = Spatializer(device=self.device, hrtf=self.hrtf, region=self.region, **region_extents(self))
            twin.adopt_designs(self.memoised_designs())  # the virtualizer and the beam, designed once
            self.__dict__["_twin"] = twin
        for name, value in {**self.parameter_values(), **values}.items():
            setattr(twin, name, value)
        combined, delay = twin.filters(sample_rate)
        spectra = partition_spectra(combined, self.partition_size)  # (drivers, columns, bins)
        return np.ascontiguousarray(spectra.transpose(_ENGINE_LAYOUT)), delay  # its own inverse: column first

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        assert self._fir is not None
        three = self.upmix.process_block(block)
        level_db = self._smoothed("center_level_db", block.shape[1])
        if level_db[0] == level_db[-1]:  # settled (a ramp is monotonic): one gain for the block
            three[2] *= np.float32(10.0 ** (float(level_db[0]) / 20.0))
        else:
            three[2] *= np.power(10.0, level_db / 20.0).astype(np.float32)
        if not self.__dict__.get("_unswapped") or not self._fir.computes(block.shape[1]):
            return self._fir.process(three)
        wait = self._fir.fading_for()  # a change waits for the running fade to end (see _parameter_changed)
        if wait == 0:
            self._swap()
            return self._fir.process(three)
        if block.shape[1] - wait < self.partition_size:  # the fade runs on past this block's partitions
            return self._fir.process(three)
        before = self._fir.process(three[:, :wait])
        self._swap()
        return np.concatenate([before, self._fir.process(three[:, wait:])], axis=1)

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"device": self.device} if self.device != "studio-5" else {}
        if self.hrtf != "model":
            config["hrtf"] = self.hrtf
        if self.region != "region":
            config["region"] = self.region
        config.update(region_extents(self))
        return config
