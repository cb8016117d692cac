"""Automation from MIDI files (a DAW's export): the parameter events a MIDI map makes of them.

The file is read with ``mido`` (type 0, 1 and 2; also inside a RIFF ``RMID``
wrapper). Tick times become seconds through the file's tempo map (every
``set_tempo``, from any track, changes the tempo from its tick on), or, in a
file timed in SMPTE frames, at its frame rate and ticks per frame; then samples
at the render's rate. Each message goes through the
map's :class:`~soundstage.midi.decode.Decoder`; the result is a list of
:class:`~soundstage.host.automation.AutomationEvent` list, applied
sample-accurately by :class:`~soundstage.host.automation.AutomatedStream`
(automation itself has nothing to do with MIDI: it lives in the host layer).
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import mido

from soundstage.files import missing_hint, on_disk
from soundstage.host.automation import AutomationEvent
from soundstage.midi.decode import Decoder
from soundstage.midi.maps import MidiMap, MidiMapError, ParameterSource
from soundstage.signatures import kind_of_file

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


def _open(file: Path) -> tuple[Any, float | None]:
    """The MIDI file and, for one timed in SMPTE frames, its ticks per second; a file that cannot be read, or whose
    header is damaged, raises :class:`MidiMapError` naming it."""
    if not file.is_file():
        raise MidiMapError(f"MIDI file {str(file)!r} does not exist{missing_hint(file)}")
    kind = kind_of_file(file)
    if kind is not None and kind.category != "midi":
        raise MidiMapError(
            f"MIDI file {str(file)!r} is {kind.name}, not a Standard MIDI File; give the .mid file the DAW exported "
            "(its MIDI, or its automation as MIDI)"
        )
    try:
        midi = _read(file)
    except (OSError, EOFError, ValueError, KeyError, IndexError) as error:
        raise MidiMapError(
            f"MIDI file {str(file)!r} cannot be read ({str(error) or 'it ends early: truncated'}); export it again"
        ) from None
    ticks_per_second = _smpte_ticks_per_second(file, midi.ticks_per_beat)
    if midi.ticks_per_beat == 0:
        raise MidiMapError(f"MIDI file {str(file)!r} says 0 ticks per beat (a damaged header); export it again")
    return midi, ticks_per_second


def _read(file: Path) -> Any:
    """The MIDI file, also inside a RIFF ``RMID`` wrapper (Windows' .rmi: a standard MIDI file in its ``data`` chunk)."""
    data = file.read_bytes()
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":
        position = 12
        while position + 8 <= len(data):
            size = int.from_bytes(data[position + 4 : position + 8], "little")
            if data[position : position + 4] == b"data":
                return mido.MidiFile(file=io.BytesIO(_without_alien_chunks(data[position + 8 : position + 8 + size])))
            position += 8 + size + (size & 1)
        raise ValueError("an RMID file without a data chunk")
    return mido.MidiFile(file=io.BytesIO(_without_alien_chunks(data)))


def _without_alien_chunks(data: bytes) -> bytes:
    """A Standard MIDI File's bytes without the chunks that are neither its header nor a track: the SMF 1.0
    specification has readers pass over chunk types they do not know ("alien chunks", as Yamaha's XF files and other
    sequencers write them: ``XFIH``, ``XFKM``), which mido refuses ("no MTrk header at start of track"). A chunk
    that runs past the end is kept: mido says the file ends early."""
    if data[:4] != b"MThd":
        return data
    position = 8 + int.from_bytes(data[4:8], "big")  # past the header chunk
    kept = [data[:position]]
    while position + 8 <= len(data):
        end = position + 8 + int.from_bytes(data[position + 4 : position + 8], "big")
        if data[position : position + 4] == b"MTrk" or end > len(data):
            kept.append(data[position:end])
        position = end
    kept.append(data[position:])  # fewer than a chunk header's 8 bytes: as they are
    return b"".join(kept)


#: SMPTE frame rates by the header's (negative) frames-per-second byte; -29 is 29.97 drop-frame.
_SMPTE_RATES = {-24: 24.0, -25: 25.0, -29: 30000 / 1001, -30: 30.0}


def _smpte_ticks_per_second(file: Path, division: int) -> float | None:
    """Ticks per second of a file timed in SMPTE frames (the division's top bit set), else None (ticks per beat)."""
    division &= 0xFFFF  # the header's 16 bits (mido reads them as a signed number)
    if not division & 0x8000:
        return None
    frames = (division >> 8) - 256  # the high byte, two's complement
    if frames not in _SMPTE_RATES or not division & 0xFF:
        raise MidiMapError(
            f"MIDI file {str(file)!r} is timed in SMPTE frames at {-frames} fps and {division & 0xFF} ticks per frame; "
            "a file says 24, 25, 29 (29.97) or 30 fps with ticks per frame above 0: export it again"
        )
    return _SMPTE_RATES[frames] * (division & 0xFF)


def _check_filters(file: Path, midi: Any, channels: set[int] | None, tracks: set[int] | None) -> None:
    """A track filter naming a track the file does not have, or a channel filter that no message of the (chosen)
    tracks is on, would take no automation at all: refused, naming what the file holds."""
    count = len(midi.tracks)
    if tracks is not None and not tracks <= set(range(count)):
        absent = ", ".join(str(t) for t in sorted(tracks - set(range(count))))
        raise MidiMapError(
            f"tracks: MIDI file {str(file)!r} has {count} track(s), numbered 0..{count - 1} from the first; "
            f"it has no track {absent}"
        )
    if channels is None:
        return
    present = {
        message.channel
        for index, track in enumerate(midi.tracks)
        if tracks is None or index in tracks
        for message in track
        if not message.is_meta and hasattr(message, "channel")
    }
    if not channels & present:
        holds = f"its messages are on channel(s) {', '.join(str(c + 1) for c in sorted(present))}" if present else "none is"
        raise MidiMapError(
            f"channels: MIDI file {str(file)!r} has no message on channel(s) {', '.join(str(c + 1) for c in sorted(channels))} "
            f"({holds}); give the channels the controllers were recorded on"
        )


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
        If the file is missing, truncated or not a MIDI file, or ``tracks`` or ``channels`` take nothing from it.
    """
    midi, ticks_per_second = _open(on_disk(Path(path)))
    tempo_map: list[tuple[int, int]] = []
    timed: list[tuple[int, int, Any]] = []  # (tick, order, message)
    wanted_channels = None if channels is None else {c - 1 for c in channels}
    wanted_tracks = None if tracks is None else set(tracks)
    _check_filters(Path(path), midi, wanted_channels, wanted_tracks)
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
    ticks = [tick for tick, _, _ in timed]
    if ticks_per_second is not None:  # SMPTE time: absolute, no tempo
        seconds = [tick / ticks_per_second for tick in ticks]
    else:
        seconds = _seconds(ticks, tempo_map, midi.ticks_per_beat)
    events = _decoded(midi_map, chain, timed, seconds, sample_rate)
    if not events:
        _check_something_moves(Path(path), midi_map, chain, [message for _, _, message in timed])
    return events


def _decoded(
    midi_map: MidiMap, chain: ParameterSource, timed: list[tuple[int, int, Any]], seconds: list[float], sample_rate: float
) -> list[AutomationEvent]:
    decoder = Decoder(midi_map, chain, follow=True)  # decoded before the render: it follows what it has given
    events = []
    for (_, _, message), at in zip(timed, seconds):
        for binding, value in decoder.feed(message):
            events.append(AutomationEvent(int(round(at * sample_rate)), binding.target, value))
    return events


def _check_something_moves(file: Path, midi_map: MidiMap, chain: ParameterSource, messages: list[Any]) -> None:
    """Automation asked for and none taken (a map bound to channel 16 or CC 11 where the file has CC 7 on channel
    1, a file with no messages): refused, naming what the file holds and what the map binds. A map whose every
    value waits for pickup (the control never crossed the parameter's value) is left as it is: that is pickup."""
    unpicked = dataclasses.replace(midi_map, bindings=tuple(dataclasses.replace(b, pickup=False) for b in midi_map.bindings))
    if _decoded(unpicked, chain, [(0, i, m) for i, m in enumerate(messages)], [0.0] * len(messages), 1.0):
        return
    held = Counter(_describe(m) for m in messages)
    holds = ", ".join(f"{name} ({count})" for name, count in held.most_common(6)) + (", ..." if len(held) > 6 else "")

    def on(channel: int | None) -> str:
        return "any channel" if channel is None else f"channel {channel + 1}"

    binds = ", ".join(
        [f"{b.kind}{'' if b.kind in ('pitchbend', 'program') else f' {b.number}'} on {on(b.channel)}" for b in midi_map.bindings]
        + [f"program {p.program} on {on(p.channel)}" for p in midi_map.programs]
    )
    raise MidiMapError(
        f"MIDI file {str(file)!r} moves nothing the map {midi_map.source} binds: it holds "
        f"{holds or 'no channel messages'}; the map binds {binds or 'no controls'}; bind the controls the file holds "
        "(soundstage midi monitor shows what a controller sends)"
    )


def _describe(message: Any) -> str:
    """A channel message as a binding names its control: "cc 7 on channel 1", "note 60 on channel 10"."""
    number = {"control_change": "control", "note_on": "note", "note_off": "note", "polytouch": "note"}.get(message.type)
    kind = {"control_change": "cc", "note_on": "note", "note_off": "note", "pitchwheel": "pitchbend"}.get(
        message.type, message.type
    )
    what = f"{kind} {getattr(message, number)}" if number else kind
    return f"{what} on channel {message.channel + 1}" if hasattr(message, "channel") else what
