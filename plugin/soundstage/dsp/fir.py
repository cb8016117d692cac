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
Partitions that are zero in every filter at either end (a design's taps before
its modeling delay and after its decay, :func:`~soundstage.dsp.realize.trim_support`)
cost nothing: UPOLS skips their multiply-adds, and the long-FFT path convolves
with the taps between them, that many samples late (shorter filter: longer hops).

State (cf. scipy's ``zi``; :attr:`MimoFir.state`, a :class:`FirState`): the last
``(K + 1) P`` input samples, shape ``(inputs, (K + 1) P)`` (block aligned); the
FDL, shape ``(K, inputs, P + 1)`` complex64, newest spectrum first (rebuilt from
that history after an offline run); the input not yet making a whole block,
``(inputs, < P)``; and the output computed but not yet returned, ``(outputs, n)``.
Latency: ``P`` samples (output is ``h * x`` delayed by ``P``), whatever the
caller's block sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy.linalg import blas

__all__ = ["CrossfadingFir", "FirState", "MimoFir", "blend", "partition_spectra"]


def blend(arrays: list[np.ndarray], weights: list[float], out: np.ndarray | None = None) -> np.ndarray:
    """``sum(w * a)`` over equally shaped arrays, in their precision (complex64 spectra: a design grid's
    interpolation, a fade's current filters); into ``out`` (C-contiguous, their shape) where given.

    Accumulated in place with BLAS ``axpy`` (``y += w x``, one pass over each array, no temporary):
    with a design grid's 0.55 MB nodes (or their moving columns) per knob change this is memory-bound, and the axpy
    passes read each node once where ``np.multiply`` + ``+=`` read and wrote a scratch copy too.
    """
    first = arrays[0]
    total = np.multiply(first, first.real.dtype.type(weights[0]), out=out)
    flat = total.reshape(-1).view(total.real.dtype)
    axpy = blas.saxpy if flat.dtype == np.float32 else blas.daxpy
    for array, weight in zip(arrays[1:], weights[1:], strict=True):
        source = np.ascontiguousarray(array, total.dtype).reshape(-1).view(flat.dtype)
        result = axpy(source, flat, a=float(weight))
        if result is not flat and not np.shares_memory(result, flat):  # not in place: take the result
            flat[:] = result
    return total


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


def partition_spectra(filters: np.ndarray, partition_size: int, parts: int | None = None) -> np.ndarray:
    """Filters (out, in, taps) in the form :class:`MimoFir` runs them: the spectra of their ``P``-sample partitions.

    Returns shape (out, K * in, P + 1) complex64, partition-major (column ``k * in + i``
    is partition ``k`` of input ``i``'s filter), ``K = ceil(taps / P)`` unless ``parts``
    asks for more. Weighted sums of such spectra are the spectra of the weighted
    sums of the filters: a design grid interpolates them without any FFT.
    """
    h = np.asarray(filters, dtype=np.float64)
    outputs, inputs, taps = h.shape
    p = int(partition_size)
    parts = max(-(-taps // p), parts or 0)
    padded = np.zeros((outputs, inputs, parts * p))
    padded[:, :, :taps] = h
    blocks = padded.reshape(outputs, inputs, parts, p).transpose(0, 2, 1, 3)  # (out, K, in, P)
    spectra = scipy.fft.rfft(blocks, n=2 * p, axis=-1).astype(np.complex64)
    return np.ascontiguousarray(spectra.reshape(outputs, parts * inputs, p + 1))


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
        self._spectra = np.zeros((0, 0, 0), np.complex64)
        self._parts = 0
        self._inputs = 0
        self._history = np.zeros((0, 0), np.float32)
        self._ready = np.zeros((0, 0), np.float32)
        self._returned = 0
        self._fade_old: np.ndarray | None = None  # the old filters' columns _fade_columns (elsewhere: the new ones)
        self._fade_columns = (0, 0)
        self._active = (0, 0)  # the columns outside which every filter (and the fade's old ones) is zero
        self._fade_start = self._fade_length = 0
        self.set_filters(filters)
        self.reset()

    @property
    def latency_samples(self) -> int:
        """Delay of the output relative to ``h * x``, in samples (= ``partition_size``)."""
        return self.partition_size

    @property
    def num_inputs(self) -> int:
        """Input channels."""
        return self._inputs

    @property
    def num_outputs(self) -> int:
        """Output channels."""
        return int(self._spectra.shape[0])

    def computes(self, samples: int) -> bool:
        """Whether :meth:`process` of ``samples`` more input samples computes output (completes a partition):
        until then a change of the filters is not heard, and a later one may replace it."""
        return self._pending.shape[1] + samples >= self.partition_size

    def fading_for(self) -> int:
        """Input samples to feed before the next partition computed lies wholly after the running fade
        (0 when none runs): a filter change set then starts a fade of its own instead of blending into this one."""
        left = self._fade_left()
        if left <= 0:
            return 0
        return -(-left // self.partition_size) * self.partition_size - self._pending.shape[1]

    def _fade_left(self) -> int:
        """Output samples from the next one computed to the end of the running fade (<= 0: none runs)."""
        if self._fade_old is None:
            return 0
        return self._fade_start + self._fade_length - (self._returned + self._ready.shape[1])

    def set_filters(self, filters: np.ndarray, *, fade_samples: int = 0) -> None:
        """Replace the filters (same input/output counts while streaming); the state is kept.

        With ``fade_samples`` the output moves linearly from the old filters to the
        new ones over that many samples, from the first output not yet computed
        on: that of the partition the change falls in (up to ``P - 1`` samples
        before the change, the same whatever the block sizes). Both run on the
        same input spectra, so a fade costs the multiply-adds twice and nothing
        else. A change during a fade starts from where the fade is.
        """
        h = np.asarray(filters, dtype=np.float64)
        if h.ndim != 3 or h.shape[2] < 1:
            raise ValueError(f"filters must have shape (outputs, inputs, taps), got {h.shape}")
        parts = self._parts if fade_samples > 0 and self._history.size else None
        self.set_spectra(partition_spectra(h, self.partition_size, parts), h.shape[1], fade_samples=fade_samples)

    def set_spectra(
        self, spectra: np.ndarray, inputs: int, *, fade_samples: int = 0, changed: tuple[int, int] | None = None
    ) -> None:
        """:meth:`set_filters` with the filters given as :func:`partition_spectra` of this engine's partition size.

        ``changed``, the caller's promise: the columns (``spectra[:, start:stop]``) outside
        which these spectra equal the ones set last. A fade then runs the old filters over
        those columns only (the rest is the same in both): a design grid's knob change
        moves about half of them (:class:`~soundstage.dsp.grid.DesignGrid`'s ``still_db``).
        """
        spectra = np.asarray(spectra, np.complex64)
        outputs, columns, bins = spectra.shape
        p = self.partition_size
        if bins != p + 1 or columns % inputs:
            raise ValueError(f"spectra of shape {spectra.shape} are not partition spectra of {inputs} inputs at P={p}")
        if self._spectra.size and (outputs, inputs) != (self.num_outputs, self.num_inputs):
            raise ValueError(f"filters are {outputs}x{inputs}, the engine runs {self.num_outputs}x{self.num_inputs}")
        parts = columns // inputs
        streaming = bool(self._history.size)
        if fade_samples > 0 and streaming:
            if changed is not None and parts == self._parts and inputs == self._inputs:
                start, stop = max(0, changed[0]), min(columns, changed[1])
                if self._fade_old is not None:  # the fade running differs there too
                    start, stop = min(start, self._fade_columns[0]), max(stop, self._fade_columns[1])
            else:
                start, stop = 0, self._spectra.shape[1]
            old = self._heard(start, stop)
            if parts < self._parts:  # old and new share the delay line: the longer one's partitions
                spectra = np.concatenate([spectra, np.zeros((outputs, old.shape[1] - columns, p + 1), np.complex64)], axis=1)
                parts = self._parts
            elif parts > self._parts:
                old = np.concatenate([old, np.zeros((outputs, columns - old.shape[1], p + 1), np.complex64)], axis=1)
                stop = columns
        resized = bool(self._spectra.size) and parts != self._parts
        active = _nonzero_columns(spectra)
        if fade_samples > 0 and streaming and self._active[1] > self._active[0]:
            # the old filters run too: they are zero where all the filters faded between so far were
            both = [active, self._active] if active[1] > active[0] else [self._active]
            active = (min(a for a, _ in both), max(b for _, b in both))
        self._active = active
        self._spectra, self._parts, self._inputs = spectra, parts, inputs
        # offline path: the whole filter's spectra at the FFT sizes calls have chosen (_long_fft_size), made when
        # first needed (a stream of knob changes in short blocks never needs them)
        self._big: dict[int, np.ndarray] = {}
        if fade_samples > 0 and streaming:
            # from the first sample computed with the new filters on (the ones computed already keep the old)
            self._fade_old, self._fade_length = old, int(fade_samples)
            self._fade_columns = (start, stop)
            self._fade_start = self._returned + self._ready.shape[1]
        if resized and streaming:
            history = np.zeros((inputs, (parts + 1) * p), np.float32)
            keep = min(history.shape[1], self._history.shape[1])
            history[:, -keep:] = self._history[:, -keep:]
            self._history = history
            self._fdl_valid = False

    def _ramp(self, first: int, count: int) -> np.ndarray:
        """The fade's weight of the new filters at output samples ``first .. first + count - 1``."""
        position = np.arange(first, first + count) - self._fade_start + 1
        return np.asarray(np.clip(position / self._fade_length, 0.0, 1.0), np.float32)

    def _heard(self, start: int, stop: int) -> np.ndarray:
        """Columns ``start:stop`` of the filters heard at the next sample computed: mid-fade, the blend there."""
        heard = np.array(self._spectra[:, start:stop])  # a copy: the old filters of the next fade
        if self._fade_old is not None:
            weight = float(self._ramp(self._returned + self._ready.shape[1], 1)[0])
            first, last = self._fade_columns  # within start:stop
            mixed = blend([self._fade_old, self._spectra[:, first:last]], [1.0 - weight, weight])  # complex64
            heard[:, first - start : last - start] = mixed
        return heard

    @property
    def state(self) -> FirState:
        """The streaming state (see :class:`FirState`)."""
        fdl = self._line[self._head : self._head + self._parts] if self._fdl_valid else self._line[: self._parts]
        return FirState(self._history, np.array(fdl), self._fdl_valid, self._pending, self._ready)

    def reset(self) -> None:
        """Clear the streaming state (history, delay line, partial block) and finish any fade."""
        p = self.partition_size
        parts = self._parts
        self._history = np.zeros((self.num_inputs, (parts + 1) * p), np.float32)
        # the frequency-domain delay line, twice over: the newest K spectra are always the contiguous
        # run line[head : head + K], newest first, without moving any of them
        self._line = np.zeros((2 * parts, self.num_inputs, p + 1), np.complex64)
        self._head = 0
        self._fdl_valid = True
        self._pending = np.zeros((self.num_inputs, 0), np.float32)
        self._ready = np.zeros((self.num_outputs, p), np.float32)  # the latency: P samples of silence
        self._returned = 0
        self._fade_old = None

    def process(self, block: np.ndarray) -> np.ndarray:
        """Convolve one ``(inputs, n)`` block; returns ``(outputs, n)`` float32, delayed by ``P``."""
        if block.shape[0] != self.num_inputs:
            raise ValueError(f"expected {self.num_inputs} input channels, got {block.shape[0]}")
        p = self.partition_size
        pending = np.concatenate([self._pending, block], axis=1) if self._pending.shape[1] else block
        whole = pending.shape[1] // p
        if whole:
            samples = np.ascontiguousarray(pending[:, : whole * p], dtype=np.float32)
            fading = 0
            if self._fade_old is not None:  # the blocks until the fade ends run block by block
                left = self._fade_left()
                fading = min(whole, max(0, -(-left // p)))
                if left <= 0:
                    self._fade_old = None
            if fading:
                self._ready = np.concatenate([self._ready, self._run_blocks(samples[:, : fading * p])], axis=1)
                samples = samples[:, fading * p :]
            if samples.shape[1] // p >= self.OFFLINE_BLOCKS:
                self._ready = self._run_offline(samples, self._ready)
            elif samples.shape[1]:
                self._ready = np.concatenate([self._ready, self._run_blocks(samples)], axis=1)
        self._pending = np.ascontiguousarray(pending[:, whole * p :], dtype=np.float32)
        n = block.shape[1]
        out, self._ready = self._ready[:, :n], self._ready[:, n:]
        self._returned += out.shape[1]
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
        parts = self._parts
        frames = np.lib.stride_tricks.sliding_window_view(self._history, 2 * p, axis=1)[:, ::p]  # (in, K, 2P), oldest first
        fdl = np.ascontiguousarray(scipy.fft.rfft(frames, axis=-1)[:, ::-1].transpose(1, 0, 2)).astype(np.complex64)
        assert fdl.shape[0] == parts
        self._line = np.concatenate([fdl, fdl])
        self._head = 0
        self._fdl_valid = True

    def _run_blocks(self, samples: np.ndarray) -> np.ndarray:
        """UPOLS over ``B`` blocks of ``P`` at once: ``(inputs, B*P)`` -> ``(outputs, B*P)`` (fading where a fade runs).

        Block ``b``'s output is ``sum_k H[k] X[b - k]``: each new input spectrum enters
        the delay line's ring, where its window is a contiguous run (one multiply-add
        over all partitions and inputs per block); the FFTs are one call each for all blocks.
        """
        if not self._fdl_valid:
            self._rebuild_fdl()
        p, parts, inputs = self.partition_size, self._parts, self._inputs
        count = samples.shape[1] // p
        first = self._returned + self._ready.shape[1]  # the output index of the first sample computed here
        extended = np.concatenate([self._history[:, -p:], samples], axis=1)
        if count == 1:  # streaming: one frame (a strided view costs more than the frame itself)
            frames = extended[:, None, :]
        else:
            frames = np.lib.stride_tricks.sliding_window_view(extended, 2 * p, axis=1)[:, ::p]  # (in, B, 2P)
        spectra = scipy.fft.rfft(frames, axis=-1).astype(np.complex64, copy=False).transpose(1, 0, 2)  # (B, in, F)
        h, old = self._spectra, self._fade_old
        sets = [h] if old is None else [h, old]
        accs = [np.empty((count, h.shape[0], p + 1), np.complex64) for _ in sets]
        for b in range(count):
            # push block b's spectrum into the ring (both copies): its window, X[b - k] at k < K, is then the
            # contiguous run line[head : head + K], newest first
            self._head = (self._head - 1) % parts
            self._line[self._head] = self._line[self._head + parts] = spectra[b]
            heard = self._line[self._head : self._head + parts].reshape(1, parts * inputs, p + 1)
            self._accumulate(heard, [acc[b] for acc in accs])
        results = [scipy.fft.irfft(acc, n=2 * p, axis=-1)[:, :, p:] for acc in accs]  # (B, out, P)
        out = results[0]
        if len(results) == 2:
            ramp = self._ramp(first, count * p).reshape(count, 1, p)
            out = results[1] + (out - results[1]) * ramp
            if ramp[-1, 0, -1] >= 1.0:
                self._fade_old = None
        self._remember(samples)
        return np.ascontiguousarray(out.transpose(1, 0, 2).reshape(out.shape[1], count * p), dtype=np.float32)

    def _accumulate(self, heard: np.ndarray, accs: list[np.ndarray]) -> None:
        """One block's multiply-add: ``accs[0] = sum_c H[:, c] heard[:, c]`` (and ``accs[1]`` for the fade's old filters).

        Only the columns where some filter is not zero (:data:`_active`): the others add nothing (a design's
        leading and trailing partitions, before its modeling delay and after its decay).
        """
        h, old = self._spectra, self._fade_old
        first, last = self._active
        start, stop = self._fade_columns
        if old is None or (start, stop) == (0, h.shape[1]):
            for acc, filters in zip(accs, [h] if old is None else [h, old], strict=True):
                np.sum(filters[:, first:last] * heard[:, first:last], axis=1, out=acc)
            return
        # a fade over some columns: elsewhere the old filters are the new ones, so both hear the same there
        low, high = max(start, first), min(stop, last)
        if high > low:
            moving = heard[:, low:high]
            np.sum(h[:, low:high] * moving, axis=1, out=accs[0])
            np.sum(old[:, low - start : high - start] * moving, axis=1, out=accs[1])
        else:
            accs[0][...] = accs[1][...] = 0.0
        for edge in (slice(first, min(start, last)), slice(max(stop, first), last)):
            if edge.stop > edge.start:
                same = np.sum(h[:, edge] * heard[:, edge], axis=1)
                accs[0] += same
                accs[1] += same

    def _big_spectra(self, n: int) -> np.ndarray:
        """The filter's spectra for the long-FFT path at FFT size ``n`` (its :meth:`_support`), shape (out, in, n/2+1)."""
        if n not in self._big:
            p, parts, inputs = self.partition_size, self._parts, self._inputs
            # each partition's spectrum is that of its P samples padded to 2P: its first P samples are the taps
            blocks = scipy.fft.irfft(self._spectra.astype(np.complex128), n=2 * p, axis=-1)[:, :, :p]
            taps = blocks.reshape(-1, parts, inputs, p).transpose(0, 2, 1, 3).reshape(-1, inputs, parts * p)
            lead, span = self._support()
            self._big[n] = scipy.fft.rfft(taps[..., lead : lead + span], n=n, axis=-1).astype(np.complex64)
        return self._big[n]

    def _support(self) -> tuple[int, int]:
        """``(lead, span)``: the filter's taps outside ``lead .. lead + span`` are zero (whole partitions: those of the
        zero columns at both ends, :data:`_active`). The long-FFT path convolves with those taps alone, ``lead`` late."""
        first, last = self._active
        p, inputs = self.partition_size, max(self._inputs, 1)
        if last <= first:  # all zero: any one partition
            return 0, p
        lead = first // inputs
        return lead * p, (-(-last // inputs) - lead) * p

    def _long_fft_size(self, total: int) -> int:
        """The overlap-save FFT size for a call of ``total`` samples: the power of two, between 2x and 16x the
        filter, with the least work ``frames * N log N`` for this call.

        A fixed size wastes up to a frame per call: 65536-sample calls through a 4608-tap filter at N = 65536
        (hop 60929) take two frames each, at N = 16384 (hop 11777) six frames of a quarter of the size.
        """
        span = self._support()[1]
        sizes = [1 << k for k in range(max(int(np.ceil(np.log2(2 * span))), 12), int(np.ceil(np.log2(16 * span))) + 1)]
        return min(sizes, key=lambda n: -(-total // (n - span + 1)) * n * np.log2(n))

    def _run_offline(self, samples: np.ndarray, head: np.ndarray) -> np.ndarray:
        """Overlap-save with long FFTs over many blocks: same result as UPOLS, fewer multiply-adds.

        Returns ``head`` (output already waiting) followed by the new output, in one allocation.
        """
        total = samples.shape[1]
        n = self._long_fft_size(total)
        lead, span = self._support()  # the taps that are not zero: lead .. lead + span
        hop = n - span + 1
        # y[m] = sum_k g[k] x[m - lead - k] with g the taps lead .. lead + span: the convolution c = g * z of
        # z = x[-lead - span + 1 :], whose new output is c[span - 1 : span - 1 + S]. Frame j yields c[span - 1 + j*hop ...].
        frames_needed = -(-total // hop)
        padded = np.zeros((self.num_inputs, (frames_needed - 1) * hop + n), np.float32)
        need, length = lead + span - 1, total + span - 1  # z's samples from the history (need < (K + 1) P); z's length
        old = min(need, length)
        padded[:, :old] = self._history[:, self._history.shape[1] - need : self._history.shape[1] - need + old]
        padded[:, old:length] = samples[:, : length - old]
        frames = np.lib.stride_tricks.sliding_window_view(padded, n, axis=1)[:, ::hop][:, :frames_needed]  # (in, J, N)
        waiting = head.shape[1]
        out = np.empty((self.num_outputs, waiting + frames_needed * hop), np.float32)
        out[:, :waiting] = head
        by_frame = out[:, waiting:].reshape(self.num_outputs, frames_needed, hop)
        chunk = 16
        for first in range(0, frames_needed, chunk):
            spectra = scipy.fft.rfft(frames[:, first : first + chunk], axis=-1)  # (in, j, F) complex64
            mixed = np.empty((self.num_outputs, *spectra.shape[1:]), np.complex64)
            big = self._big_spectra(n)
            for o in range(self.num_outputs):
                np.multiply(spectra[0], big[o, 0], out=mixed[o])
                for i in range(1, self.num_inputs):
                    mixed[o] += spectra[i] * big[o, i]
            by_frame[:, first : first + chunk] = scipy.fft.irfft(mixed, n=n, axis=-1)[:, :, span - 1 :]  # (out, j, hop)
        self._remember(samples)
        self._fdl_valid = False
        return out[:, : waiting + total]


def _nonzero_columns(spectra: np.ndarray) -> tuple[int, int]:
    """``(first, last)``: the columns (axis 1) outside which ``spectra`` is zero; ``(0, 0)`` when all of it is.

    Looked for from both ends, a column at a time: a design's zero columns are a few at each end.
    """
    count = spectra.shape[1]
    first = 0
    while first < count and not spectra[:, first].any():
        first += 1
    if first == count:
        return (0, 0)
    last = count
    while not spectra[:, last - 1].any():
        last -= 1
    return first, last


class CrossfadingFir:
    """A :class:`MimoFir` whose filter changes crossfade instead of switching.

    On :meth:`set_filters` the output moves linearly from the old filters to the
    new ones over ``fade_samples`` (both run on the engine's one delay line), so
    a redesign mid-stream does not click. The fade position is counted in
    samples, so it is the same whatever the block sizes; a change during a fade
    starts a new fade from where the first one is.
    """

    def __init__(self, filters: np.ndarray, *, partition_size: int = 512, fade_samples: int = 1024) -> None:
        self.engine = MimoFir(filters, partition_size=partition_size)
        self.fade_samples = int(fade_samples)

    @property
    def latency_samples(self) -> int:
        """Delay of the output relative to ``h * x``, in samples."""
        return self.engine.latency_samples

    def reset(self) -> None:
        """Clear the state and finish any fade."""
        self.engine.reset()

    def set_filters(self, filters: np.ndarray, *, fade: bool = True) -> None:
        """Change the filters, crossfading over ``fade_samples`` (or at once with ``fade=False``)."""
        self.engine.set_filters(filters, fade_samples=self.fade_samples if fade else 0)

    def set_spectra(self, spectra: np.ndarray, inputs: int, *, fade: bool = True, changed: tuple[int, int] | None = None) -> None:
        """:meth:`set_filters` with the filters as :func:`partition_spectra` (no FFT here); ``changed``:
        see :meth:`MimoFir.set_spectra`."""
        self.engine.set_spectra(spectra, inputs, fade_samples=self.fade_samples if fade else 0, changed=changed)

    def computes(self, samples: int) -> bool:
        """See :meth:`MimoFir.computes`."""
        return self.engine.computes(samples)

    def fading_for(self) -> int:
        """See :meth:`MimoFir.fading_for`."""
        return self.engine.fading_for()

    def process(self, block: np.ndarray) -> np.ndarray:
        """Convolve one ``(inputs, n)`` block into ``(outputs, n)``."""
        return self.engine.process(block)
