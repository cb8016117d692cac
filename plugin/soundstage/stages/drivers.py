"""``DriverFeeds``: what every stage whose outputs are a device's driver feeds shares."""

from __future__ import annotations

import numpy as np

from soundstage.acoustics.feeds import DriverFilters
from soundstage.acoustics.profiles import DeviceProfile, Listener
from soundstage.dsp.delay import DelayLine
from soundstage.dsp.fir import CrossfadingFir
from soundstage.dsp.spans import span
from soundstage.host.parameters import ParameterSpec
from soundstage.host.processor import Processor

__all__ = ["LISTENER_PARAMETERS", "DriverFeeds", "FilterForms", "design_listener"]

#: Where the listener the design is made for sits, relative to the nominal seat (the origin,
#: facing the device): fore-aft (+ toward the device), lateral (+ to the listener's left), and
#: head yaw (+ turning left). Automatable like any knob: a head tracker or a fader moves the design.
LISTENER_PARAMETERS = (
    ParameterSpec("listener_x_m", 0.0, -0.5, 0.5, unit="m", description="Listener offset toward the device (design)"),
    ParameterSpec("listener_y_m", 0.0, -1.0, 1.0, unit="m", description="Listener offset to the left (design)"),
    ParameterSpec("listener_yaw_deg", 0.0, -90.0, 90.0, unit="deg", description="Listener head yaw, + to the left (design)"),
)


def design_listener(stage: Processor) -> Listener:
    """The :class:`~soundstage.acoustics.profiles.Listener` a stage's listener parameters describe."""
    return Listener(
        position_m=(stage.float_value("listener_x_m"), stage.float_value("listener_y_m"), 0.0),
        yaw_deg=stage.float_value("listener_yaw_deg"),
    )


class DriverFeeds:
    """Mixin (before :class:`~soundstage.host.processor.Processor`): one output per driver of ``self._profile``."""

    _profile: DeviceProfile

    @property
    def output_channels(self) -> int:
        """One channel per driver of the device profile."""
        return len(self._profile.drivers)

    def output_channels_for(self, num_input_channels: int) -> int:
        """Checks the input count (the processor's rule), then one channel per driver."""
        super().output_channels_for(num_input_channels)  # type: ignore[misc]
        return len(self._profile.drivers)

    @property
    def driver_names(self) -> list[str]:
        """Output channel names: the device's drivers."""
        return list(self._profile.driver_names)


class FilterForms(DriverFeeds):
    """Driver feeds from FIR filters in direct or RTF form (the crosstalk canceller, the beamformer).

    Subclasses give ``form`` (``"direct"`` or ``"rtf"``), ``PARTITION`` (at 48 kHz; ``partition_size`` is it at
    the stream's rate) and ``design(rate)`` (a :class:`~soundstage.acoustics.feeds.DriverFilters`); the engines
    run ``[direct]``, or ``[reference, ratio, band feeds]`` for the RTF form, where the
    band feeds (woofer, tweeter) skip the ratio stage and are delayed by
    ``_band_delay_samples()`` to stay aligned.
    """

    form: str
    PARTITION: int  # the FIR engines' partition at 48 kHz
    partition_size: int  # ... at the stream's rate
    _sample_rate: float | None

    def design(self, sample_rate: float) -> DriverFilters:  # pragma: no cover - provided by the stage
        raise NotImplementedError

    def _filters(self, design: DriverFilters) -> list[np.ndarray]:
        """Filter matrices of the engines: ``[direct]``, or ``[reference (diagonal), ratios, band feeds]`` (RTF form)."""
        if self.form == "direct":
            return [design.impulse]
        others = [i for i in range(len(design.driver_names)) if i not in design.mid_indices]
        return [design.rtf_gain, design.rtf_ratio, design.impulse[others] if others else np.zeros((0, design.inputs, 1))]

    def _band_delay_samples(self) -> int:  # pragma: no cover - provided by the stage
        raise NotImplementedError

    # the Processor hooks: open the engines for a stream, crossfade on a parameter change, run them
    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        self.partition_size = span(self.PARTITION, sample_rate)
        self._open_engines(sample_rate)

    def _parameter_changed(self, name: str) -> None:
        self._retune_engines()

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        return self._run_engines(block)

    def _open_engines(self, sample_rate: float) -> None:
        fade = int(0.05 * sample_rate)
        filters = [f for f in self._filters(self.design(sample_rate)) if f.shape[0]]
        self._engines = [CrossfadingFir(f, partition_size=self.partition_size, fade_samples=fade) for f in filters]
        self._others = [i for i in range(len(self._profile.drivers)) if i not in self._profile.indices("mid")]
        self._band_delay = DelayLine(len(self._others), self._band_delay_samples())

    def _retune_engines(self) -> None:
        """Crossfade every engine to the current design (after a parameter change)."""
        if getattr(self, "_engines", None) and self._sample_rate is not None:
            filters = [f for f in self._filters(self.design(self._sample_rate)) if f.shape[0]]
            for engine, f in zip(self._engines, filters):
                engine.set_filters(f)

    def _run_engines(self, block: np.ndarray) -> np.ndarray:
        if self.form == "direct":
            return self._engines[0].process(block)
        feeds = self._engines[1].process(self._engines[0].process(block))  # reference filters, then the ratios
        if len(self._engines) > 2:
            feeds[self._others] = self._band_delay.process(self._engines[2].process(block))
        return feeds
