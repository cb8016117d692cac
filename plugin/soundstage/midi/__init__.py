"""MIDI control: maps, decoding, automation from MIDI files, live ports, learn."""

from soundstage.host.automation import AutomationEvent, process_with_automation
from soundstage.midi.automation import automation_events
from soundstage.midi.decode import Assembler, Decoder
from soundstage.midi.learn import add_binding, detect, learn
from soundstage.midi.maps import Binding, MidiMap, MidiMapError, load_map

__all__ = [
    "Assembler",
    "AutomationEvent",
    "Binding",
    "Decoder",
    "MidiMap",
    "MidiMapError",
    "add_binding",
    "automation_events",
    "detect",
    "learn",
    "load_map",
    "process_with_automation",
]
