"""Automation: timed parameter changes applied to a chain, sample-accurately, while it streams.

Events come from anywhere (a MIDI file through a map, in
:func:`soundstage.midi.automation_events`; a session; a test) as
``(sample, parameter path, value)``. Applying them (:class:`AutomatedStream`): the
audio is processed in segments that end at event samples, and each change is made
exactly where its node hears that sample (after the latency of the nodes before
it). soundstage stages start their ramp there; pedalboard plugins (built-in or
external) run behind a 64-sample block queue
(:class:`~soundstage.host.nodes.PedalboardStep`), so their changes land within 64
samples (1.3 ms at 48 kHz) — up to 63 samples early, never late.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from soundstage.host.chain import Chain
from soundstage.host.parameters import Parameter
from soundstage.host.processor import Processor

__all__ = ["AutomatedStream", "AutomationEvent", "GRANULARITY_SAMPLES", "late_automation", "process_with_automation"]

#: Largest offset between an event and when a pedalboard plugin hears it, in samples.
GRANULARITY_SAMPLES = 64


@dataclass(frozen=True)
class AutomationEvent:
    """A parameter change at a sample."""

    sample: int
    target: str
    value: Any


def late_automation(source: str, events: Iterable[AutomationEvent], frames: int, rate: float, start: str) -> str | None:
    """The problem of automation (from ``source``: ``"MIDI file 'auto.mid'"``) whose every change falls at or after
    the audio's end (``frames`` at ``rate``; ``start`` names where the audio starts, for the fix), so that nothing
    would move: a file exported from another start than the audio (a DAW's MIDI from bar 1, the audio from a
    selection). None when a change falls within, or there is none (automation longer than the audio is usual)."""
    samples = [event.sample for event in events]
    if not samples or min(samples) < frames:
        return None
    return (
        f"{source}: its {len(samples)} parameter change(s) begin at {min(samples) / rate:.2f} s, after the audio's end "
        f"({frames / rate:.2f} s), so nothing would move; its times count from {start}: export it from there (or "
        "shift it in the DAW)"
    )


class AutomatedStream:
    """A processor streamed (``reset=False``) with parameter changes at input sample positions.

    Each change is made where its node hears the input sample it was meant for:
    at the sample plus the latency of the nodes before it in the chain
    (:meth:`Chain.parameter_delays <soundstage.host.chain.Chain.parameter_delays>`).
    Blocks are split at those samples, so the result does not depend on how the
    input is cut.

    Parameters
    ----------
    processor : Processor
        Usually a :class:`~soundstage.host.chain.Chain`.
    events : iterable of (sample, path, value)
        Paths as ``processor.parameters`` lists them.
    parameters : mapping, optional
        The parameters the paths name (default: ``processor.parameters``).
    """

    def __init__(
        self,
        processor: Processor,
        sample_rate: float,
        events: Iterable[tuple[int, str, Any]],
        *,
        parameters: Mapping[str, Parameter] | None = None,
        buffer_size: int = 8192,
    ) -> None:
        self.processor = processor
        self.sample_rate = sample_rate
        self.buffer_size = buffer_size
        view = processor.parameters if parameters is None else parameters
        self._pending = sorted(((int(s), path, view[path], value) for s, path, value in events), key=lambda e: e[0])
        self._scheduled = False
        self.position = 0
        processor.reset()

    def _apply_due(self) -> int | None:
        """Make every change due by now; the position of the next one (None: no more)."""
        while self._pending and self._pending[0][0] <= self.position:
            _, _, parameter, value = self._pending.pop(0)
            parameter.value = value
        return self._pending[0][0] if self._pending else None

    def _schedule(self) -> None:
        delays = self.processor.parameter_delays() if isinstance(self.processor, Chain) else {}
        self._pending = sorted(((s + delays.get(path, 0), path, p, v) for s, path, p, v in self._pending), key=lambda e: e[0])
        self._scheduled = True

    def process(self, block: np.ndarray) -> np.ndarray:
        """Stream one block; returns the latency-compensated output available so far."""
        pieces = []
        start, end = 0, block.shape[1]
        while start < end:
            due = self._apply_due()
            stop = end if due is None else min(end, start + due - self.position)
            pieces.append(self._run(block[:, start:stop]))
            self.position += stop - start
            start = stop
            if not self._scheduled:  # the stream is open now: its latencies are known
                self._schedule()
        if not pieces:
            return np.zeros((self.processor.output_channels_for(block.shape[0]), 0), np.float32)
        return np.concatenate(pieces, axis=1) if len(pieces) > 1 else pieces[0]

    def _run(self, piece: np.ndarray) -> np.ndarray:
        # k samples of k channels is square; soundstage refuses to guess its layout, so split it
        if piece.shape[0] == piece.shape[1] and piece.shape[0] > 1:
            return np.concatenate([self._run(piece[:, :-1]), self._run(piece[:, -1:])], axis=1)
        return self.processor.process(piece, self.sample_rate, buffer_size=self.buffer_size, reset=False)

    def flush(self) -> np.ndarray:
        """The stream's last ``latency_samples`` (changes still due are made on the way); ends the stream."""
        channels = self.processor.stream_channels
        if channels is None:
            return self.processor.flush()
        tail = self.process(np.zeros((channels, self.processor.stream_latency_samples), np.float32))
        self.processor.reset()
        return tail


def process_with_automation(
    chain: Chain, audio: np.ndarray, sample_rate: float, events: list[AutomationEvent], *, buffer_size: int = 8192
) -> np.ndarray:
    """Process ``audio`` through ``chain`` with each event at its sample (one shot; see :class:`AutomatedStream`)."""
    stream = AutomatedStream(chain, sample_rate, [(e.sample, e.target, e.value) for e in events], buffer_size=buffer_size)
    return np.concatenate([stream.process(np.asarray(audio, np.float32).reshape(-1, audio.shape[-1])), stream.flush()], axis=1)
