"""``MimoFir``: streaming N-in x M-out FIR convolution, uniformly partitioned in frequency.

Every FIR stage (virtualizer, crosstalk canceller, beamformer, monitors) runs its
filters through this engine. Why hand-written: scipy's ``oaconvolve`` is
one-shot and ``pedalboard.Convolution`` is one mono/stereo path per instance;
a MIMO stage needs every input transformed once and shared by all its outputs,
with streaming state.

Method (uniformly partitioned overlap-save, UPOLS): filters of ``T`` taps are
cut into ``K = ceil(T / P)`` partitions of ``P`` samples and transformed with
FFTs of ``2P``. Each block of ``P`` input samples is transformed once; its
spectrum enters a frequency-domain delay line (FDL) of the last ``K`` spectra,
and each output is ``irfft( sum_k sum_in X[b-k, in] * H[k, out, in] )``. Blocks
available at once are processed together, the sum over inputs being one batched
FFT per block, then a multiply-accumulate per partition, input and output.
When many blocks arrive at once (offline rendering), the same convolution is
computed by overlap-save with one long FFT per frame and the whole filter in
one partition: far fewer multiply-adds for the same result (to float32
rounding), with the same latency, so output never depends on block sizes.

State (cf. scipy's ``zi``; :attr:`MimoFir.state`, a :class:`FirState`): the last
``(K + 1) P`` input samples, shape ``(inputs, (K + 1) P)`` (block aligned); the
FDL, shape ``(K, inputs, P + 1)`` complex64, newest spectrum first (rebuilt from
that history after an offline run); the input not yet making a whole block,
``(inputs, < P)``; and the output computed but not yet returned, ``(outputs, n)``.
Latency: ``P`` samples (output is ``h * x`` delayed by ``P``), whatever the
caller's block sizes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import scipy.fft

__all__ = ["CrossfadingFir", "FirState", "MimoFir"]


@dataclass(frozen=True)
class FirState:
    """The streaming state of a :class:`MimoFir` (a read-only view; shapes with ``K`` partitions of ``P``).

    Attributes
    ----------
    history : ndarray, shape (inputs, (K + 1) * P), float32
        The last input samples, block aligned.
    fdl : ndarray, shape (K, inputs, P + 1), complex64
        The frequency-domain delay line, newest block spectrum first; valid only
        when ``fdl_valid`` (after an offline run it is rebuilt from ``history``).
    fdl_valid : bool
    pending : ndarray, shape (inputs, m), float32, m < P
        Input not yet making a whole block.
    ready : ndarray, shape (outputs, n), float32
        Output computed but not yet returned (starts as ``P`` samples of silence: the latency).
    """

    history: np.ndarray
    fdl: np.ndarray
    fdl_valid: bool
    pending: np.ndarray
    ready: np.ndarray


class MimoFir:
    """Streaming convolution of ``inputs`` channels with an ``(outputs, inputs, taps)`` filter matrix.

    Parameters
    ----------
    filters : ndarray, shape (outputs, inputs, taps)
        Impulse responses: output ``o`` is ``sum_i filters[o, i] * input[i]``.
    partition_size : int
        ``P``, samples per partition and per FFT block (latency). Default 512.

    Examples
    --------
    >>> h = np.zeros((1, 1, 3)); h[0, 0, 2] = 0.5          # a 2-sample delay at -6 dB
    >>> fir = MimoFir(h, partition_size=4)
    >>> y = fir.process(np.array([[1.0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], np.float32))
    >>> np.round(y[0], 3)                                   # 4 samples of latency, then h
    array([0. , 0. , 0. , 0. , 0. , 0. , 0.5, 0. , 0. , 0. ], dtype=float32)
    """

    def __init__(self, filters: np.ndarray, *, partition_size: int = 512) -> None:
        if partition_size < 1:
            raise ValueError(f"partition_size={partition_size} must be >= 1")
        self.partition_size = int(partition_size)
        self._spectra = np.zeros((0, 0, 0, 0), np.complex64)
        self._history = np.zeros((0, 0), np.float32)
        self.set_filters(filters)
        self.reset()

    @property
    def latency_samples(self) -> int:
        """Delay of the output relative to ``h * x``, in samples (= ``partition_size``)."""
        return self.partition_size

    @property
    def num_inputs(self) -> int:
        """Input channels."""
        return int(self._spectra.shape[2])

    @property
    def num_outputs(self) -> int:
        """Output channels."""
        return int(self._spectra.shape[1])

    def set_filters(self, filters: np.ndarray) -> None:
        """Replace the filters (same input/output counts while streaming); the state is kept."""
        h = np.asarray(filters, dtype=np.float64)
        if h.ndim != 3 or h.shape[2] < 1:
            raise ValueError(f"filters must have shape (outputs, inputs, taps), got {h.shape}")
        outputs, inputs, taps = h.shape
        if self._spectra.size and (outputs, inputs) != (self.num_outputs, self.num_inputs):
            raise ValueError(f"filters are {outputs}x{inputs}, the engine runs {self.num_outputs}x{self.num_inputs}")
        p = self.partition_size
        parts = -(-taps // p)
        padded = np.zeros((outputs, inputs, parts * p))
        padded[:, :, :taps] = h
        blocks = padded.reshape(outputs, inputs, parts, p).transpose(2, 0, 1, 3)  # (K, out, in, P)
        spectra = scipy.fft.rfft(blocks, n=2 * p, axis=-1)  # (K, out, in, P+1)
        resized = bool(self._spectra.size) and parts != self._spectra.shape[0]
        self._spectra = spectra.astype(np.complex64)
        # offline path: the whole (padded) filter in one FFT of N >= 8 K P
        self._big_n = max(16384, 1 << int(np.ceil(np.log2(8 * parts * p))))
        self._big_spectra = scipy.fft.rfft(padded, n=self._big_n, axis=-1).astype(np.complex64)  # (out, in, N/2+1)
        if resized and self._history.size:
            history = np.zeros((inputs, (parts + 1) * p), np.float32)
            keep = min(history.shape[1], self._history.shape[1])
            history[:, -keep:] = self._history[:, -keep:]
            self._history = history
            self._fdl_valid = False

    @property
    def state(self) -> FirState:
        """The streaming state (see :class:`FirState`)."""
        return FirState(self._history, self._fdl, self._fdl_valid, self._pending, self._ready)

    def reset(self) -> None:
        """Clear the streaming state (history, delay line, partial block)."""
        p = self.partition_size
        parts = self._spectra.shape[0]
        self._history = np.zeros((self.num_inputs, (parts + 1) * p), np.float32)
        self._fdl = np.zeros((parts, self.num_inputs, p + 1), np.complex64)  # newest first
        self._fdl_valid = True
        self._pending = np.zeros((self.num_inputs, 0), np.float32)
        self._ready = np.zeros((self.num_outputs, p), np.float32)  # the latency: P samples of silence

    def process(self, block: np.ndarray) -> np.ndarray:
        """Convolve one ``(inputs, n)`` block; returns ``(outputs, n)`` float32, delayed by ``P``."""
        if block.shape[0] != self.num_inputs:
            raise ValueError(f"expected {self.num_inputs} input channels, got {block.shape[0]}")
        p = self.partition_size
        pending = np.concatenate([self._pending, block], axis=1) if self._pending.shape[1] else block
        whole = pending.shape[1] // p
        if whole:
            samples = np.ascontiguousarray(pending[:, : whole * p], dtype=np.float32)
            if whole >= self.OFFLINE_BLOCKS:
                self._ready = self._run_offline(samples, self._ready)
            else:
                self._ready = np.concatenate([self._ready, self._run_blocks(samples)], axis=1)
        self._pending = np.ascontiguousarray(pending[:, whole * p :], dtype=np.float32)
        n = block.shape[1]
        out, self._ready = self._ready[:, :n], self._ready[:, n:]
        return out

    #: From this many whole blocks in one call on, use the long-FFT path.
    OFFLINE_BLOCKS = 32

    def _remember(self, samples: np.ndarray) -> None:
        keep = self._history.shape[1]
        if samples.shape[1] >= keep:
            self._history = np.ascontiguousarray(samples[:, -keep:])
        else:
            self._history = np.concatenate([self._history[:, samples.shape[1] :], samples], axis=1)

    def _rebuild_fdl(self) -> None:
        p = self.partition_size
        parts = self._spectra.shape[0]
        frames = np.lib.stride_tricks.sliding_window_view(self._history, 2 * p, axis=1)[:, ::p]  # (in, K, 2P), oldest first
        self._fdl = np.ascontiguousarray(scipy.fft.rfft(frames, axis=-1)[:, ::-1].transpose(1, 0, 2)).astype(np.complex64)
        assert self._fdl.shape[0] == parts
        self._fdl_valid = True

    def _run_blocks(self, samples: np.ndarray) -> np.ndarray:
        """UPOLS, one block of ``P`` at a time: ``(inputs, B*P)`` -> ``(outputs, B*P)``."""
        if not self._fdl_valid:
            self._rebuild_fdl()
        p = self.partition_size
        parts = self._spectra.shape[0]
        outputs = []
        for start in range(0, samples.shape[1], p):
            block = samples[:, start : start + p]
            frame = np.concatenate([self._history[:, -p:], block], axis=1)
            spectrum = scipy.fft.rfft(frame, axis=-1).astype(np.complex64)  # (in, P+1)
            self._fdl = np.roll(self._fdl, 1, axis=0) if parts > 1 else self._fdl
            self._fdl[0] = spectrum
            # (K, out, in, F) * (K, 1, in, F) summed over K and in -> (out, F)
            acc = np.einsum("koif,kif->of", self._spectra, self._fdl, optimize=False)
            outputs.append(scipy.fft.irfft(acc, n=2 * p, axis=-1)[:, p:])
            self._remember(block)
        return np.concatenate(outputs, axis=1).astype(np.float32)

    def _run_offline(self, samples: np.ndarray, head: np.ndarray) -> np.ndarray:
        """Overlap-save with long FFTs over many blocks: same result as UPOLS, fewer multiply-adds.

        Returns ``head`` (output already waiting) followed by the new output, in one allocation.
        """
        p = self.partition_size
        parts = self._spectra.shape[0]
        n = self._big_n
        span = parts * p  # padded filter length
        hop = n - span + 1
        # c = h * [history, samples]; the new output is c[span : span + S]. Frames start one
        # sample into the last `span` history samples, so frame j yields c[span + j*hop ...].
        total = samples.shape[1]
        frames_needed = -(-total // hop)
        padded = np.zeros((self.num_inputs, (frames_needed - 1) * hop + n), np.float32)
        padded[:, : span - 1] = self._history[:, self._history.shape[1] - span + 1 :]
        padded[:, span - 1 : span - 1 + total] = samples
        frames = np.lib.stride_tricks.sliding_window_view(padded, n, axis=1)[:, ::hop][:, :frames_needed]  # (in, J, N)
        lead = head.shape[1]
        out = np.empty((self.num_outputs, lead + frames_needed * hop), np.float32)
        out[:, :lead] = head
        by_frame = out[:, lead:].reshape(self.num_outputs, frames_needed, hop)
        chunk = 16
        for first in range(0, frames_needed, chunk):
            spectra = scipy.fft.rfft(frames[:, first : first + chunk], axis=-1)  # (in, j, F) complex64
            mixed = np.empty((self.num_outputs, *spectra.shape[1:]), np.complex64)
            for o in range(self.num_outputs):
                np.multiply(spectra[0], self._big_spectra[o, 0], out=mixed[o])
                for i in range(1, self.num_inputs):
                    mixed[o] += spectra[i] * self._big_spectra[o, i]
            by_frame[:, first : first + chunk] = scipy.fft.irfft(mixed, n=n, axis=-1)[:, :, span - 1 :]  # (out, j, hop)
        self._remember(samples)
        self._fdl_valid = False
        return out[:, : lead + total]


class CrossfadingFir:
    """A :class:`MimoFir` whose filter changes crossfade instead of switching.

    On :meth:`set_filters` a twin engine with the same history takes the new
    filters; for ``fade_samples`` both run and the output moves linearly from
    the old to the new one, so a redesign mid-stream does not click. The fade
    position is counted in samples, so it is the same whatever the block sizes.
    """

    def __init__(self, filters: np.ndarray, *, partition_size: int = 512, fade_samples: int = 1024) -> None:
        self.engine = MimoFir(filters, partition_size=partition_size)
        self.fade_samples = int(fade_samples)
        self._old: MimoFir | None = None
        self._position = 0

    @property
    def latency_samples(self) -> int:
        """Delay of the output relative to ``h * x``, in samples."""
        return self.engine.latency_samples

    def reset(self) -> None:
        """Clear the state and finish any fade."""
        self.engine.reset()
        self._old = None

    def set_filters(self, filters: np.ndarray, *, fade: bool = True) -> None:
        """Change the filters, crossfading over ``fade_samples`` (or at once with ``fade=False``)."""

        if fade and self.fade_samples > 0:
            self._old = copy.deepcopy(self.engine) if self._old is None else self._old
            self._position = 0
        self.engine.set_filters(filters)

    def process(self, block: np.ndarray) -> np.ndarray:
        """Convolve one ``(inputs, n)`` block into ``(outputs, n)``."""
        new = self.engine.process(block)
        if self._old is None:
            return new
        old = self._old.process(block)
        n = block.shape[1]
        ramp = np.clip((self._position + 1 + np.arange(n)) / self.fade_samples, 0.0, 1.0).astype(np.float32)
        self._position += n
        if self._position >= self.fade_samples:
            self._old = None
        return old + (new - old) * ramp
