"""``Gain``: a level trim with a click-free ramp, the simplest soundstage stage."""

from __future__ import annotations

import numpy as np

from soundstage.host.parameters import ParameterSpec
from soundstage.host.processor import Processor

__all__ = ["Gain"]


class Gain(Processor):
    """Scale every channel by ``gain_db``; changes ramp linearly in dB over ``smoothing``.

    Parameters
    ----------
    gain_db : float, -96.0..24.0 dB
        Level change. Default 0.0.
    invert : bool
        Flip the polarity. Default False.

    Examples
    --------
    >>> import numpy as np
    >>> out = Gain(gain_db=-20.0)(np.ones(480, np.float32), 48000)
    >>> round(float(out[0, 0]), 3)
    0.1
    """

    parameter_specs = (
        ParameterSpec(
            "gain_db",
            0.0,
            -96.0,
            24.0,
            unit="dB",
            scale="db",
            smoothing_ms=20.0,
            description="Level change; ramps over 20 ms when changed while audio runs",
        ),
        ParameterSpec("invert", False, kind="bool", description="Flip the polarity"),
    )

    def __init__(self, *, gain_db: float = 0.0, invert: bool = False) -> None:
        super().__init__(gain_db=gain_db, invert=invert)

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        level_db = self._smoothed("gain_db", block.shape[1])
        sign = -1.0 if self.bool_value("invert") else 1.0
        if not len(level_db) or level_db[0] == level_db[-1]:  # settled (a ramp is monotonic): one gain for the block
            gain = np.float32(sign * 10.0 ** (float(level_db[0]) / 20.0)) if len(level_db) else np.float32(sign)
            return np.multiply(block, gain, dtype=np.float32)
        return (block * (sign * np.power(10.0, level_db / 20.0)).astype(np.float32)).astype(np.float32, copy=False)
