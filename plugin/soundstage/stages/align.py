"""``Align``: per-channel delays that phase-align paths before they are summed (N -> N).

Two paths of a device chain reach the listener at different times: they have
different processing latencies (a crosstalk canceller's modeling delay is
longer than a beam's) and their timing refers to different acoustic points (the
canceller's to its nearest driver, the beam's to the device center). The design
function :func:`alignment_samples` gives each path the extra delay that makes it
arrive with the slowest one, to the fraction of a sample, which
:class:`~soundstage.stages.device.Spatializer` builds into its filters;
:func:`design_alignment` rounds them to whole samples, and :class:`Align` applies
such delays to the channels of a stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S
from soundstage.dsp.delay import DelayLine
from soundstage.errors import ChannelError, ParameterError
from soundstage.host.processor import ANY, Processor

__all__ = ["Align", "alignment_samples", "design_alignment"]


def alignment_samples(latencies_samples: Sequence[float], distances_m: Sequence[float], sample_rate: float) -> list[float]:
    """Extra delays (samples, with their fractions) that make every path arrive with the slowest one, which gets 0
    (pure function; the parameters are :func:`design_alignment`'s).

    A filter design takes the fraction too (:func:`~soundstage.dsp.realize.delayed`): whole samples would be up
    to half a sample off, 11 us at 44.1 kHz, and off by another amount at every rate.

    >>> [round(d, 3) for d in alignment_samples([1024, 512], [1.9125, 2.0], 48000)]
    [0.0, 499.755]
    """
    if len(latencies_samples) != len(distances_m):
        raise ParameterError(
            f"design_alignment: {len(latencies_samples)} latencies but {len(distances_m)} distances; give one of each per path"
        )
    totals = [latency + distance / SPEED_OF_SOUND_M_S * sample_rate for latency, distance in zip(latencies_samples, distances_m)]
    slowest = max(totals)
    return [slowest - total for total in totals]


def design_alignment(latencies_samples: Sequence[float], distances_m: Sequence[float], sample_rate: float) -> list[int]:
    """Extra delays (whole samples) that make every path arrive with the slowest one (pure function).

    Parameters
    ----------
    latencies_samples : sequence of float
        Processing latency of each path, samples.
    distances_m : sequence of float
        Distance from the listener of the point each path's timing refers to, meters.
    sample_rate : float
        Hz.

    Examples
    --------
    >>> design_alignment([1024, 512], [1.9125, 2.0], 48000)  # canceller path, beam path
    [0, 500]
    """
    return [int(round(delay)) for delay in alignment_samples(latencies_samples, distances_m, sample_rate)]


#: The longest Align delay, in ms: 10 s (aligning acoustic paths needs milliseconds).
MAX_DELAY_MS = 10_000.0


class Align(Processor):
    """Delay each channel by its own time, so paths that are summed later arrive together.

    Parameters
    ----------
    delays_ms : sequence of float, >= 0 ms
        One delay per channel (configuration), rounded to whole samples at the
        stream's sample rate. The stage reports no latency: the delays are the
        effect, as with ``pedalboard.Delay``, and the output keeps the input's length.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((2, 8), np.float32); x[:, 0] = 1.0
    >>> Align(delays_ms=[0.0, 0.0625])(x, 48000)[1].tolist()  # 3 samples at 48 kHz
    [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    """

    type_name = "Align"
    config_keys = ("delays_ms",)

    input_channels = ANY
    output_channels = ANY

    def __init__(self, *, delays_ms: Sequence[float] = (0.0, 0.0)) -> None:
        values = list(delays_ms) if not isinstance(delays_ms, (str, bytes)) else None
        if (
            not values
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            or not all(np.isfinite(v) and 0 <= v <= MAX_DELAY_MS for v in values)
            or len(values) > 1024
        ):
            raise ParameterError(
                f"Align: delays_ms={delays_ms!r} must be a list of delays in 0..{MAX_DELAY_MS:g} ms, "
                "one per channel (at most 1024)"
            )
        self.delays_ms = [float(v) for v in values]
        super().__init__()
        self._lines: list[DelayLine] = []

    def output_channels_for(self, num_input_channels: int) -> int:
        if num_input_channels != len(self.delays_ms):
            raise ChannelError(
                f"Align has {len(self.delays_ms)} delays (delays_ms) but gets {num_input_channels} channel(s); "
                "give one delay per channel"
            )
        return num_input_channels

    def delays_samples(self, sample_rate: float) -> list[int]:
        """The delays in whole samples at a sample rate."""
        return [int(round(ms * 1e-3 * sample_rate)) for ms in self.delays_ms]

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        self._lines = [DelayLine(1, samples) for samples in self.delays_samples(sample_rate)]

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        out = np.empty_like(block)
        for channel, line in enumerate(self._lines):
            out[channel : channel + 1] = line.process(block[channel : channel + 1])
        return out

    def _config(self) -> dict[str, Any]:
        return {"delays_ms": self.delays_ms}
