"""MIDI control: maps, decoding, automation from MIDI files."""

from soundstage.midi.automation import AutomationEvent, automation_events, process_with_automation
from soundstage.midi.decode import Decoder
from soundstage.midi.maps import Binding, MidiMap, MidiMapError, load_map

__all__ = [
    "AutomationEvent",
    "Binding",
    "Decoder",
    "MidiMap",
    "MidiMapError",
    "automation_events",
    "load_map",
    "process_with_automation",
]
