"""The streaming engine: sources -> a chain with its automation -> sinks.

Every entry point streams audio the same way: ``soundstage process`` (a file
through a chain into a file), ``render`` and the demo (stems on a timeline through
a graph of chains into files), ``live`` (a file or a generator through a chain to
a sound device and a recording, paced in real time, MIDI changes applied between
blocks). They share:

- :class:`ChainStream`: a chain fed block by block with its automation
  (:class:`~soundstage.host.automation.AutomatedStream`: timed parameter changes
  applied where the chain hears them), its latency-compensated output kept in a
  FIFO, so one input sample gives one output sample in the end;
- :func:`pump`: the loop from a source of blocks through one stream to sinks
  (callables taking each output block: an :class:`~soundstage.sinks.AudioSink`'s
  ``write``, a sound device, a meter), with hooks before each block (live MIDI
  changes) and after it (progress, real-time pacing).

The sinks are the output layer (:mod:`soundstage.sinks`); the sources are
readers of files whole or refused (:mod:`soundstage.fileio`), stems on a timeline
(:mod:`soundstage.session.stems`) or generated blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from soundstage.host.automation import AutomatedStream
from soundstage.host.processor import Processor

__all__ = ["ChainStream", "Sink", "pump"]

#: Where output blocks go: a callable taking ``(channels, n)`` float32 audio.
Sink = Callable[[np.ndarray], Any]


class ChainStream:
    """A processor streamed block by block with timed parameter changes; its output kept in a FIFO.

    Parameters
    ----------
    processor : Processor
        Usually a :class:`~soundstage.host.chain.Chain`.
    sample_rate : float
        Hz.
    events : iterable of (sample, parameter path, value), optional
        Changes at input sample positions (see :class:`~soundstage.host.automation.AutomatedStream`).
    buffer_size : int
        Largest block the processor is handed.

    State: ``fifo`` (list of (channels, n) float32 blocks, ``available`` samples in
    all) holds output not yet taken; the processor's own stream state lives in it.
    """

    def __init__(
        self,
        processor: Processor,
        sample_rate: float,
        events: Iterable[tuple[int, str, Any]] = (),
        *,
        buffer_size: int = 65536,
    ) -> None:
        self.processor = processor
        self.automation = AutomatedStream(processor, sample_rate, events, buffer_size=buffer_size)
        self.fifo: list[np.ndarray] = []
        self.available = 0

    def push(self, block: np.ndarray) -> None:
        """Stream one input block (its output joins the FIFO, ``latency_samples`` behind)."""
        self._keep(self.automation.process(block))

    def finish(self) -> None:
        """End the stream: the last ``latency_samples`` of output join the FIFO."""
        self._keep(self.automation.flush())

    def _keep(self, out: np.ndarray) -> None:
        if out.shape[1]:
            self.fifo.append(out)
            self.available += out.shape[1]

    def take(self, count: int) -> np.ndarray:
        """The next ``count`` output samples (``count <= available``)."""
        joined = np.concatenate(self.fifo, axis=1) if len(self.fifo) > 1 else self.fifo[0]
        out, rest = joined[:, :count], joined[:, count:]
        self.fifo = [rest] if rest.shape[1] else []
        self.available -= count
        return out

    def step(self, block: np.ndarray, *, final: bool = False) -> np.ndarray:
        """Push ``block`` (and, if ``final``, finish) and take everything available: one call per source block."""
        if block.shape[1]:
            self.push(block)
        if final:
            self.finish()
        if self.available:
            return self.take(self.available)
        return np.zeros((self.processor.output_channels_for(block.shape[0]), 0), np.float32)


def pump(
    blocks: Iterable[np.ndarray],
    stream: ChainStream,
    sinks: Sequence[Sink],
    *,
    before_block: Callable[[int], None] | None = None,
    after_block: Callable[[int], None] | None = None,
) -> int:
    """Stream every block of a source through ``stream`` into every sink; the number of input samples.

    ``before_block(position)`` runs before each block is processed (apply live
    changes there), ``after_block(position)`` after it (``position``: input samples
    done; report progress or pace the loop there). The stream's tail (its
    latency) goes to the sinks at the end, so they receive one sample per input sample.
    """
    position = 0
    channels = None
    for block in blocks:
        if before_block is not None:
            before_block(position)
        channels = block.shape[0]
        _deliver(stream.step(block), sinks)
        position += block.shape[1]
        if after_block is not None:
            after_block(position)
    if channels is not None:
        _deliver(stream.step(np.zeros((channels, 0), np.float32), final=True), sinks)
    return position


def _deliver(audio: np.ndarray, sinks: Sequence[Sink]) -> None:
    if audio.shape[1]:
        for sink in sinks:
            sink(audio)
