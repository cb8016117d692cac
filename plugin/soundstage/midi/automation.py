"""Automation from MIDI files (a DAW's export), applied sample-accurately during an offline render.

The file is read with ``mido`` (type 0 and 1). Tick times become seconds through
the file's tempo map (every ``set_tempo``, from any track, changes the tempo from
its tick on), then samples at the render's rate. Each message goes through the
map's :class:`~soundstage.midi.decode.Decoder`; the result is a list of
``(sample, parameter path, value)`` events.

Applying them (:class:`AutomatedStream`): the audio is processed in segments
that end at event samples, and each change is made exactly where its node hears
that sample (after the latency of the nodes before it). soundstage stages start
their ramp there; pedalboard plugins (built-in or external) run behind a 64-sample block
queue (:class:`~soundstage.host.nodes.PedalboardStep`), so their changes land
within 64 samples (1.3 ms at 48 kHz) — up to 63 samples early, never late.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.host.chain import Chain
from soundstage.host.parameters import Parameter
from soundstage.host.processor import Processor
from soundstage.midi.decode import Decoder
from soundstage.midi.maps import MidiMap, MidiMapError, ParameterSource

__all__ = ["AutomatedStream", "AutomationEvent", "automation_events", "process_with_automation", "GRANULARITY_SAMPLES"]

#: Largest offset between an event and when a pedalboard plugin hears it, in samples.
GRANULARITY_SAMPLES = 64


@dataclass(frozen=True)
class AutomationEvent:
    """A parameter change at a sample."""

    sample: int
    target: str
    value: Any


def _seconds(ticks: list[int], tempo_map: list[tuple[int, int]], ticks_per_beat: int) -> list[float]:
    """Seconds at each absolute tick, integrating the tempo map (tick, microseconds per beat)."""
    out = []
    for tick in ticks:
        seconds, previous_tick, tempo = 0.0, 0, 500000
        for change_tick, change_tempo in tempo_map:
            if change_tick >= tick:
                break
            seconds += (change_tick - previous_tick) * tempo / ticks_per_beat / 1e6
            previous_tick, tempo = change_tick, change_tempo
        out.append(seconds + (tick - previous_tick) * tempo / ticks_per_beat / 1e6)
    return out


def automation_events(
    path: str | os.PathLike[str],
    midi_map: MidiMap,
    chain: ParameterSource,
    sample_rate: float,
    *,
    channels: Iterable[int] | None = None,
    tracks: Iterable[int] | None = None,
) -> list[AutomationEvent]:
    """Parameter events from a MIDI file, at sample positions (see the module docstring).

    Parameters
    ----------
    channels : iterable of int, optional
        Only messages on these MIDI channels (1..16).
    tracks : iterable of int, optional
        Only these tracks (0-based); tempo changes are taken from every track.

    Raises
    ------
    MidiMapError
        If the file is missing, truncated or not a MIDI file.
    """
    import mido

    file = Path(path)
    if not file.is_file():
        raise MidiMapError(f"MIDI file {str(file)!r} does not exist")
    try:
        midi = mido.MidiFile(str(file))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as error:
        raise MidiMapError(
            f"MIDI file {str(file)!r} cannot be read ({str(error) or 'it ends early: truncated'}); export it again"
        ) from None
    tempo_map: list[tuple[int, int]] = []
    timed: list[tuple[int, int, Any]] = []  # (tick, order, message)
    wanted_channels = None if channels is None else {c - 1 for c in channels}
    wanted_tracks = None if tracks is None else set(tracks)
    order = 0
    for track_index, track in enumerate(midi.tracks):
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "set_tempo":
                tempo_map.append((tick, message.tempo))
            elif not message.is_meta:
                if wanted_tracks is not None and track_index not in wanted_tracks:
                    continue
                if wanted_channels is not None and getattr(message, "channel", None) not in wanted_channels:
                    continue
                timed.append((tick, order, message))
                order += 1
    tempo_map.sort()
    timed.sort(key=lambda item: (item[0], item[1]))
    seconds = _seconds([tick for tick, _, _ in timed], tempo_map, midi.ticks_per_beat)
    decoder = Decoder(midi_map, chain)
    events = []
    for (_, _, message), at in zip(timed, seconds):
        for binding, value in decoder.feed(message):
            events.append(AutomationEvent(int(round(at * sample_rate)), binding.target, value))
    return events


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
        channels = self.processor._num_channels
        if not self.processor._open or channels is None:
            return self.processor.flush()
        tail = self.process(np.zeros((channels, int(self.processor._stream_latency)), np.float32))
        self.processor.reset()
        return tail


def process_with_automation(
    chain: Chain, audio: np.ndarray, sample_rate: float, events: list[AutomationEvent], *, buffer_size: int = 8192
) -> np.ndarray:
    """Process ``audio`` through ``chain`` with each event at its sample (one shot; see :class:`AutomatedStream`)."""
    stream = AutomatedStream(chain, sample_rate, [(e.sample, e.target, e.value) for e in events], buffer_size=buffer_size)
    return np.concatenate([stream.process(np.asarray(audio, np.float32).reshape(-1, audio.shape[-1])), stream.flush()], axis=1)
