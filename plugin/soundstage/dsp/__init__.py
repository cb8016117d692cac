"""Pure DSP building blocks (no knowledge of chains or files)."""

from soundstage.dsp.delay import DelayLine

__all__ = ["DelayLine"]
