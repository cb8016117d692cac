"""Automation from MIDI files (a DAW's export), applied sample-accurately during an offline render.

The file is read with ``mido`` (type 0 and 1). Tick times become seconds through
the file's tempo map (every ``set_tempo``, from any track, changes the tempo from
its tick on), then samples at the render's rate. Each message goes through the
map's :class:`~soundstage.midi.decode.Decoder`; the result is a list of
``(sample, parameter path, value)`` events.

Applying them: the audio is processed in segments that end at event samples, and
each change is made exactly at its sample. soundstage stages start their ramp
there; pedalboard plugins (built-in or external) run behind a 64-sample block
queue (:class:`~soundstage.host.nodes.PedalboardStep`), so their changes land
within 64 samples (1.3 ms at 48 kHz) — up to 63 samples early, never late.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.host.chain import Chain
from soundstage.midi.decode import Decoder
from soundstage.midi.maps import MidiMap, MidiMapError

__all__ = ["AutomationEvent", "automation_events", "process_with_automation", "GRANULARITY_SAMPLES"]

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
    chain: Chain,
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
        raise MidiMapError(f"MIDI file {str(file)!r} cannot be read ({error or 'truncated'}); export it again") from None
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


def process_with_automation(
    chain: Chain, audio: np.ndarray, sample_rate: float, events: list[AutomationEvent], *, buffer_size: int = 8192
) -> np.ndarray:
    """Process ``audio`` through ``chain``, applying each event exactly at its sample (one shot)."""
    chain.reset()
    parameters = chain.parameters
    pending = sorted(events, key=lambda e: e.sample)
    pieces = []
    position = 0
    total = audio.shape[-1]
    cursor = 0
    while position < total:
        while cursor < len(pending) and pending[cursor].sample <= position:
            parameters[pending[cursor].target].value = pending[cursor].value
            cursor += 1
        end = min(total, position + buffer_size, pending[cursor].sample if cursor < len(pending) else total)
        pieces.append(chain.process(audio[..., position:end], sample_rate, buffer_size=buffer_size, reset=False))
        position = end
    pieces.append(chain.flush())
    return np.concatenate(pieces, axis=1)
