"""Automation from MIDI files (a DAW's export): the parameter events a MIDI map makes of them.

The file is read with ``mido`` (type 0 and 1). Tick times become seconds through
the file's tempo map (every ``set_tempo``, from any track, changes the tempo from
its tick on), then samples at the render's rate. Each message goes through the
map's :class:`~soundstage.midi.decode.Decoder`; the result is a list of
:class:`~soundstage.host.automation.AutomationEvent` list, applied
sample-accurately by :class:`~soundstage.host.automation.AutomatedStream`
(automation itself has nothing to do with MIDI: it lives in the host layer).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import mido

from soundstage.host.automation import AutomationEvent
from soundstage.midi.decode import Decoder
from soundstage.midi.maps import MidiMap, MidiMapError, ParameterSource

__all__ = ["automation_events"]


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
