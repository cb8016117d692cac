"""``DelayLine``: an integer-sample delay for multichannel blocks, block-size independent."""

from __future__ import annotations

import numpy as np

__all__ = ["DelayLine"]


class DelayLine:
    """Delay ``(channels, n)`` blocks by a whole number of samples.

    State (like scipy's ``zi``): the last ``delay`` input samples, shape
    ``(channels, delay)``, zero after construction or :meth:`reset`.

    Examples
    --------
    >>> line = DelayLine(1, 2)
    >>> line.process(np.array([[1.0, 2.0, 3.0]], np.float32))
    array([[0., 0., 1.]], dtype=float32)
    """

    def __init__(self, channels: int, delay: int) -> None:
        if delay < 0:
            raise ValueError(f"delay={delay} samples must be >= 0")
        self.delay = int(delay)
        self.state = np.zeros((channels, self.delay), np.float32)

    def reset(self) -> None:
        """Clear the stored samples."""
        self.state[:] = 0.0

    def process(self, block: np.ndarray) -> np.ndarray:
        """Return ``block`` delayed by ``delay`` samples (same shape)."""
        if self.delay == 0:
            return block
        joined = np.concatenate([self.state, block], axis=1)
        self.state = joined[:, joined.shape[1] - self.delay :].copy()
        return joined[:, : block.shape[1]]
