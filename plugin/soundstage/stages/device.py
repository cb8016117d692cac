"""``Spatializer``: the whole device chain for one device profile (2 -> N driver feeds).

    stereo -> Upmix -> L', R' -> Virtualizer -> CrosstalkCanceller -> N feeds -+
                    -> C ------------------------> Beamformer ------> N feeds -+-> Align -> sum per driver

Align: the two paths have different processing latencies (the canceller's
modelling delay is longer than the beam's) and reach the listener from different
acoustic reference points (the canceller's timing is referenced to its nearest
midrange driver, the beam's to the device centre). Each path is delayed so that
centre content and left/right content arrive at the ears together; the delays
come from the stages' reported latencies and the profile's geometry.

A few knobs map onto the stages: ``width`` (virtualizer crossfeed and canceller
separation), ``center_level_db``, ``depth`` (beam vs matrix mix),
``center_amount`` (upmix) and ``distance_m`` (the canceller's design distance).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S
from soundstage.acoustics.profiles import load_profile
from soundstage.dsp.delay import DelayLine
from soundstage.host.parameters import ParameterSpec
from soundstage.host.processor import Processor
from soundstage.stages.beamformer import Beamformer
from soundstage.stages.crosstalk import CrosstalkCanceller
from soundstage.stages.upmix import Upmix
from soundstage.stages.virtualizer import Virtualizer

__all__ = ["Spatializer", "path_delays"]


def path_delays(
    lr_latency: int, centre_latency: int, *, lr_reference_m: float, centre_reference_m: float, sample_rate: float
) -> tuple[int, int]:
    """Extra delays (samples) for the L/R path and the centre path so both arrive together.

    ``*_latency`` are processing latencies (samples); ``*_reference_m`` the distance
    from the listener of the point each path's timing is referenced to.
    """
    lr_total = lr_latency + lr_reference_m / SPEED_OF_SOUND_M_S * sample_rate
    centre_total = centre_latency + centre_reference_m / SPEED_OF_SOUND_M_S * sample_rate
    target = max(lr_total, centre_total)
    return int(round(target - lr_total)), int(round(target - centre_total))


class Spatializer(Processor):
    """The device chain: stereo in, one feed per driver of ``device`` out.

    Parameters
    ----------
    device : str
        Device profile (configuration).
    width : float, 0..1
        Virtualizer crossfeed and crosstalk-cancellation plateau (x 25 dB).
    center_level_db : float, -24..12 dB
        Level of the centre beam.
    depth : float, 0..1
        Centre as a beam (1) or a matrix mix of the midranges (0).
    center_amount : float, 0..1
        How much centre the upmix extracts.
    distance_m : float, 0.5..5 m
        Listener distance the crosstalk canceller is designed for.

    Examples
    --------
    >>> import numpy as np
    >>> Spatializer()(np.zeros((2, 4800)), 48000).shape
    (5, 4800)
    """

    type_name = "Spatializer"
    config_keys = ("device",)
    input_channels = 2
    parameter_specs = (
        ParameterSpec("width", 1.0, 0.0, 1.0, description="Virtualizer crossfeed and cancellation amount"),
        ParameterSpec("center_level_db", 0.0, -24.0, 12.0, unit="dB", smoothing_ms=20.0, description="Level of the centre"),
        ParameterSpec("depth", 1.0, 0.0, 1.0, description="Centre as a beam (1) or a matrix mix (0)"),
        ParameterSpec("center_amount", 1.0, 0.0, 1.0, description="Centre the upmix extracts"),
        ParameterSpec("distance_m", 2.0, 0.5, 5.0, unit="m", description="Listener distance of the canceller design"),
    )

    def __init__(
        self,
        *,
        device: str = "studio-5",
        width: float = 1.0,
        center_level_db: float = 0.0,
        depth: float = 1.0,
        center_amount: float = 1.0,
        distance_m: float = 2.0,
    ) -> None:
        self.device = device
        self._profile = load_profile(device)
        self.upmix = Upmix(center_amount=center_amount)
        self.virtualizer = Virtualizer(crossfeed=width)
        self.canceller = CrosstalkCanceller(device=device, distance_m=distance_m, separation_db=25.0 * width)
        self.beamformer = Beamformer(device=device, depth=depth)
        super().__init__(
            width=width, center_level_db=center_level_db, depth=depth, center_amount=center_amount, distance_m=distance_m
        )

    @property
    def output_channels(self) -> int:  # type: ignore[override]
        return len(self._profile.drivers)

    def output_channels_for(self, num_input_channels: int) -> int:
        super().output_channels_for(num_input_channels)
        return len(self._profile.drivers)

    @property
    def driver_names(self) -> list[str]:
        """Output channel names."""
        return self._profile.driver_names

    def _delays(self, sample_rate: float) -> tuple[int, int]:
        profile = self._profile.at_distance(float(self._values["distance_m"]))
        mids = profile.indices("mid")
        nearest_mid = float(np.linalg.norm(profile.world_positions()[mids], axis=1).min())
        centre = float(np.linalg.norm(profile.centre_m))
        lr_latency = self.virtualizer.latency_samples + self.canceller.latency_samples
        return path_delays(
            lr_latency,
            self.beamformer.latency_samples,
            lr_reference_m=nearest_mid,
            centre_reference_m=centre,
            sample_rate=sample_rate,
        )

    @property
    def latency_samples(self) -> int:
        rate = self._sample_rate or 48000.0
        lr_delay, _ = self._delays(rate)
        return self.upmix.latency_samples + self.virtualizer.latency_samples + self.canceller.latency_samples + lr_delay

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        for stage, channels in ((self.upmix, 2), (self.virtualizer, 2), (self.canceller, 2), (self.beamformer, 1)):
            stage._open_stream(sample_rate, channels)
        lr_delay, centre_delay = self._delays(sample_rate)
        feeds = len(self._profile.drivers)
        self._align_lr = DelayLine(feeds, lr_delay)
        self._align_centre = DelayLine(feeds, centre_delay)

    def _parameter_changed(self, name: str) -> None:
        value = self._values[name]
        if name == "width":
            self.virtualizer.crossfeed = float(value)  # type: ignore[arg-type]
            self.canceller.separation_db = 25.0 * float(value)  # type: ignore[arg-type]
        elif name == "depth":
            self.beamformer.depth = float(value)  # type: ignore[arg-type]
        elif name == "center_amount":
            self.upmix.center_amount = float(value)  # type: ignore[arg-type]
        elif name == "distance_m":
            self.canceller.distance_m = float(value)  # type: ignore[arg-type]

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        three = self.upmix._process_block(block)
        ears = self.virtualizer._process_block(three[:2])
        lr = self._align_lr.process(self.canceller._process_block(ears))
        level = np.power(10.0, self._smoothed("center_level_db", block.shape[1]) / 20.0).astype(np.float32)
        centre = self._align_centre.process(self.beamformer._process_block(three[2:3] * level))
        return (lr + centre).astype(np.float32)

    def _config(self) -> dict[str, Any]:
        return {"device": self.device} if self.device != "studio-5" else {}
