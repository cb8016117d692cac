"""``StreamingStft``: a block-size independent STFT analysis/synthesis pair (WOLA).

Why hand-written: ``scipy.signal.ShortTimeFFT`` transforms whole signals; a
stage that modifies spectra while streaming needs frames to come out as soon as
their samples arrive, with state carried between calls.

Frames of ``fft_size`` samples every ``hop`` samples, sqrt-Hann analysis and
synthesis windows, overlap-add normalized so that an unmodified spectrum
reconstructs the input exactly (to float rounding). Output lags input by
``latency_samples = fft_size`` samples whatever the caller's block sizes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.fft

__all__ = ["StreamingStft"]


class StreamingStft:
    """Stream ``(channels, n)`` blocks through ``frames``: spectra in, spectra out.

    Parameters
    ----------
    channels : int
        Input channels.
    outputs : int, optional
        Channels the spectra callback returns (default: ``channels``).
    fft_size : int
        Frame length (even).
    hop : int
        Frame advance; ``fft_size / hop`` must be an integer >= 2.

    Examples
    --------
    >>> stft = StreamingStft(1, fft_size=8, hop=2)
    >>> x = np.random.default_rng(0).standard_normal((1, 40)).astype(np.float32)
    >>> y = stft.process(x, lambda spectra: spectra)        # identity: delay by fft_size
    >>> bool(np.allclose(y[0, 8:], x[0, :-8], atol=1e-6))
    True
    """

    def __init__(self, channels: int, *, outputs: int | None = None, fft_size: int = 2048, hop: int = 512) -> None:
        if fft_size % hop or fft_size // hop < 2:
            raise ValueError(f"fft_size={fft_size} must be a multiple (>= 2x) of hop={hop}")
        self.channels = channels
        self.outputs = channels if outputs is None else outputs
        self.fft_size = fft_size
        self.hop = hop
        window = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(fft_size) / fft_size))  # periodic sqrt-Hann
        overlap = np.zeros(hop)
        for start in range(0, fft_size, hop):
            overlap += (window[start : start + hop]) ** 2
        self.window = window.astype(np.float32)
        self.synthesis = (window / np.tile(overlap, fft_size // hop)).astype(np.float32)
        self.reset()

    @property
    def latency_samples(self) -> int:
        """Output delay relative to the input, samples."""
        return self.fft_size

    @property
    def bins(self) -> int:
        """Frequency bins per frame (``fft_size // 2 + 1``)."""
        return self.fft_size // 2 + 1

    def reset(self) -> None:
        """Clear the input history and the overlap-add tail."""
        self._input = np.zeros((self.channels, self.fft_size - self.hop), np.float32)
        self._pending = np.zeros((self.channels, 0), np.float32)
        self._tail = np.zeros((self.outputs, self.fft_size - self.hop), np.float32)
        self._ready = np.zeros((self.outputs, self.hop), np.float32)  # with the history: fft_size samples of latency

    def process(self, block: np.ndarray, frames: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Analyze ``block``, pass whole frames' spectra to ``frames``, resynthesize.

        ``frames`` gets complex spectra ``(frames, channels, bins)`` in time order
        and returns spectra ``(frames, out_channels, bins)``. Returns
        ``(out_channels, n)`` float32, delayed by ``latency_samples``.
        """
        pending = np.concatenate([self._pending, np.asarray(block, np.float32)], axis=1)
        count = pending.shape[1] // self.hop
        n = block.shape[1]
        produced = None
        if count:
            joined = np.concatenate([self._input, pending[:, : count * self.hop]], axis=1)
            if count == 1:  # streaming: one frame, the whole of ``joined`` (a strided view costs more)
                spectra = scipy.fft.rfft(joined[None] * self.window, axis=-1)
            else:  # the frames as a strided view, windowed in one copy, then (frames, channels, bins)
                segments = np.lib.stride_tricks.sliding_window_view(joined, self.fft_size, axis=1)[:, :: self.hop]
                spectra = scipy.fft.rfft(segments * self.window, axis=-1).transpose(1, 0, 2)
            modified = frames(spectra)
            time = scipy.fft.irfft(modified, n=self.fft_size, axis=-1) * self.synthesis  # (F, O, N)
            if count == 1:  # streaming: the frame plus the tail (the sums the general case makes, in one add)
                buffer = np.asarray(time[0], np.float32)
                buffer[:, : self._tail.shape[1]] += self._tail
            else:
                length = count * self.hop + self.fft_size - self.hop
                buffer = np.zeros((self.outputs, length), np.float32)
                buffer[:, : self._tail.shape[1]] += self._tail
                # overlap-add: frame k starts at k*hop; add each hop-long piece of all frames at once
                pieces = time.reshape(count, self.outputs, self.fft_size // self.hop, self.hop)
                for part in range(self.fft_size // self.hop):
                    view = buffer[:, part * self.hop : part * self.hop + count * self.hop].reshape(self.outputs, count, self.hop)
                    view += pieces[:, :, part, :].transpose(1, 0, 2)
            produced = buffer[:, : count * self.hop]
            self._tail = buffer[:, count * self.hop :]
            self._input = joined[:, -(self.fft_size - self.hop) :]
        self._pending = pending[:, count * self.hop :]
        if produced is not None:
            self._ready = np.concatenate([self._ready, produced], axis=1)
        out, self._ready = self._ready[:, :n], self._ready[:, n:]
        return out.astype(np.float32)
