"""MIDI maps, decoding (table-driven), pickup, sample-accurate automation from MIDI files, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import mido
import numpy as np
import pytest

from soundstage import Chain, Gain, load_plugin
from soundstage.host.automation import GRANULARITY_SAMPLES, AutomationEvent, process_with_automation
from soundstage.host.external import external_parameters
from soundstage.midi import Decoder, MidiMapError, automation_events, load_map
from soundstage.midi.maps import map_from_dict

SR = 48000


def chain() -> Chain:
    return Chain([Gain(), Gain()], names=["trim", "level"])


def decoder(binding: dict[str, object], target_chain: Chain | None = None) -> Decoder:
    target_chain = target_chain or chain()
    return Decoder(map_from_dict({"bindings": [binding]}, target_chain), target_chain)


def cc(control: int, value: int, channel: int = 0) -> mido.Message:
    return mido.Message("control_change", channel=channel, control=control, value=value)


def values(dec: Decoder, messages: list[mido.Message]) -> list[float]:
    out = []
    for message in messages:
        out += [value for _, value in dec.feed(message)]
    return out


DB = lambda x: 20 * math.log10(10 ** (-24 / 20) + x**4 * (10 ** (6 / 20) - 10 ** (-24 / 20)))  # noqa: E731

# (binding, messages, expected values in dB) — hand-computed
CASES = {
    "cc_linear": (
        {"kind": "cc", "number": 7, "min": -24.0, "max": 6.0},
        [cc(7, 0), cc(7, 127), cc(7, 64)],
        [-24.0, 6.0, -24 + 30 * 64 / 127],
    ),
    "cc_invert": ({"kind": "cc", "number": 7, "min": -24.0, "max": 6.0, "invert": True}, [cc(7, 127)], [-24.0]),
    "cc_exponent": (
        {"kind": "cc", "number": 7, "min": -24.0, "max": 6.0, "curve": "exponent", "exponent": 2.0},
        [cc(7, 64)],
        [-24 + 30 * (64 / 127) ** 2],
    ),
    "cc_db_taper": ({"kind": "cc", "number": 7, "min": -24.0, "max": 6.0, "curve": "db"}, [cc(7, 100)], [DB(100 / 127)]),
    "cc_channel_filter": (
        {"kind": "cc", "number": 7, "channel": 2, "min": -24.0, "max": 6.0},
        [cc(7, 127, channel=0), cc(7, 0, channel=1)],
        [-24.0],
    ),
    "cc14_msb_then_lsb": (
        {"kind": "cc14", "number": 1, "min": -24.0, "max": 6.0},
        [cc(1, 64), cc(33, 100), cc(33, 0)],
        [-24 + 30 * (64 << 7) / 16383, -24 + 30 * ((64 << 7) | 100) / 16383, -24 + 30 * (64 << 7) / 16383],
    ),
    "nrpn_data_entry": (
        {"kind": "nrpn", "number": (3 << 7) | 5, "min": -24.0, "max": 6.0},
        [cc(99, 3), cc(98, 5), cc(6, 127), cc(38, 127), cc(97, 0), cc(96, 0)],
        [-24 + 30 * (127 << 7) / 16383, 6.0, -24 + 30 * 16382 / 16383, 6.0],
    ),
    "rpn_is_not_nrpn": (
        {"kind": "rpn", "number": 0, "min": -24.0, "max": 6.0},
        [cc(99, 0), cc(98, 0), cc(6, 127), cc(101, 0), cc(100, 0), cc(6, 0)],
        [-24.0],
    ),
    "relative_twos_complement": (
        {"kind": "relative", "number": 20, "min": -24.0, "max": 6.0},
        [cc(20, 10), cc(20, 128 - 4)],
        [-24 + 30 * (24 / 30 + 10 / 127), -24 + 30 * (24 / 30 + 6 / 127)],
    ),
    "relative_signed_bit": (
        {"kind": "relative", "number": 20, "min": -24.0, "max": 6.0, "encoding": "signed_bit"},
        [cc(20, 64 + 5)],
        [-24 + 30 * (24 / 30 - 5 / 127)],
    ),
    "relative_binary_offset": (
        {"kind": "relative", "number": 20, "min": -24.0, "max": 6.0, "encoding": "binary_offset"},
        [cc(20, 67)],
        [-24 + 30 * (24 / 30 + 3 / 127)],
    ),
    "note_toggle": (
        {"kind": "note", "number": 60, "min": -24.0, "max": 6.0},
        [
            mido.Message("note_on", note=60, velocity=100),
            mido.Message("note_off", note=60),
            mido.Message("note_on", note=60, velocity=90),
        ],
        [6.0, -24.0],
    ),
    "note_momentary": (
        {"kind": "note", "number": 60, "min": -24.0, "max": 6.0, "mode": "momentary"},
        [mido.Message("note_on", note=60, velocity=100), mido.Message("note_on", note=60, velocity=0)],
        [6.0, -24.0],
    ),
    "pitch_bend": (
        {"kind": "pitchbend", "min": -24.0, "max": 6.0},
        [mido.Message("pitchwheel", pitch=-8192), mido.Message("pitchwheel", pitch=8191)],
        [-24.0, 6.0],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_decoding(case: str) -> None:
    binding, messages, expected = CASES[case]
    got = values(decoder({"target": "trim.gain_db", **binding}), messages)
    assert got == pytest.approx(expected, abs=1e-9)


def test_log_curve_for_frequencies() -> None:
    import pedalboard

    target = Chain([pedalboard.HighpassFilter()], names=["hp"])
    dec = decoder(
        {"target": "hp.cutoff_frequency_hz", "kind": "cc", "number": 1, "min": 20.0, "max": 20000.0, "curve": "log"}, target
    )
    assert values(dec, [cc(1, 0), cc(1, 127)]) == pytest.approx([20.0, 20000.0])
    assert values(dec, [cc(1, 64)])[0] == pytest.approx(20 * 1000 ** (64 / 127))


def test_pickup_waits_until_the_control_crosses_the_value() -> None:
    target = chain()
    target["trim"].gain_db = 0.0  # position 0.8 on a -24..6 range
    dec = decoder({"target": "trim.gain_db", "kind": "cc", "number": 7, "min": -24.0, "max": 6.0, "pickup": True}, target)
    assert values(dec, [cc(7, 10), cc(7, 40), cc(7, 80)]) == []  # far below: nothing moves
    moved = values(dec, [cc(7, 105), cc(7, 110)])  # crossed 0.8*127 = 101.6 between 80 and 105
    assert moved == pytest.approx([-24 + 30 * 105 / 127, -24 + 30 * 110 / 127])


def test_automation_from_a_file_picks_up_from_what_it_has_given_the_parameter(tmp_path: Path) -> None:
    """A fader with pickup (CC 7) and a second control on the same parameter (CC 8) in one MIDI file: CC 8 sets the
    Gain to -24 dB, then the fader comes down from the top. Live and in an exported plugin, the fader waits until it
    reaches -24 dB (position 0); the file's decoder, which runs before the render, compared with the chain's value
    before it (0 dB, position 0.8) and took the fader as it passed 0.8 on its way down (at 60)."""
    midi = mido.MidiFile()
    sent = [(8, 0), (7, 127), (7, 110), (7, 60), (7, 1), (7, 20)]
    midi.tracks.append(mido.MidiTrack([mido.Message("control_change", control=c, value=v, time=120) for c, v in sent]))
    midi.save(str(tmp_path / "faders.mid"))
    target = chain()
    both = map_from_dict(
        {
            "bindings": [
                {"target": "trim.gain_db", "number": 7, "min": -24.0, "max": 6.0, "pickup": True},
                {"target": "trim.gain_db", "number": 8, "min": -24.0, "max": 6.0},
            ]
        },
        target,
    )
    events = automation_events(tmp_path / "faders.mid", both, target, SR)
    assert [event.value for event in events] == pytest.approx([-24.0, -24 + 30 / 127, -24 + 30 * 20 / 127])
    assert target["trim"].gain_db == 0.0  # decoding changes nothing in the chain: the render does


def tempo_change_file(path: Path, *, control: int = 7) -> float:
    """120 BPM, 90 BPM from beat 4, a CC step 127 -> 0 at beat 7; returns the step's time in seconds."""
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0))
    track.append(mido.Message("control_change", channel=0, control=control, value=127, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90), time=4 * 480))
    track.append(mido.Message("control_change", channel=0, control=control, value=0, time=3 * 480))
    midi.save(str(path))
    return 4 * 60 / 120 + 3 * 60 / 90


def test_automation_lands_on_the_analytic_time_for_a_soundstage_stage(tmp_path: Path) -> None:
    analytic = tempo_change_file(tmp_path / "automation.mid")
    (tmp_path / "map.toml").write_text(
        '[[bindings]]\ntarget = "level.gain_db"\nkind = "cc"\nnumber = 7\nmin = -20.0\nmax = 0.0\n'
    )
    target = chain()
    events = automation_events(tmp_path / "automation.mid", load_map(tmp_path / "map.toml", target), target, SR)
    out = process_with_automation(target, np.ones((1, SR * 5), np.float32), SR, events)
    start = int(np.argmax(out[0] < 0.9999))
    print(f"soundstage gain: ramp starts {start - analytic * SR:+.0f} samples from the analytic {analytic:.4f} s")
    assert abs(start / SR - analytic) <= 0.001
    assert out[0, -1] == pytest.approx(0.1, abs=1e-6)


def test_automation_on_the_dpf_vst3_within_the_stated_granularity(tmp_path: Path, stereo_gain_path: Path) -> None:
    analytic = tempo_change_file(tmp_path / "automation.mid")
    plugin = load_plugin(stereo_gain_path)
    target = Chain([plugin], names=["vst"])
    (tmp_path / "map.toml").write_text('[[bindings]]\ntarget = "vst.gain_db"\nkind = "cc"\nnumber = 7\nmin = -20.0\nmax = 0.0\n')
    events = automation_events(tmp_path / "automation.mid", load_map(tmp_path / "map.toml", target), target, SR)
    out = process_with_automation(target, np.ones((2, SR * 5), np.float32), SR, events)
    change = int(np.argmax(out[0] < 0.5))
    print(f"DPF VST3 gain: change lands {change - analytic * SR:+.0f} samples from the analytic time")
    assert abs(change - analytic * SR) <= GRANULARITY_SAMPLES


def test_a_file_that_moves_only_what_pickup_holds_is_taken_and_moves_nothing(tmp_path: Path) -> None:
    """A map and file that match but whose every value waits for pickup (the control never crosses the
    parameter's value) take no automation, as a controller would; that is not a map that binds nothing."""
    midi = mido.MidiFile()
    track = mido.MidiTrack([mido.Message("control_change", control=7, value=v, time=120) for v in (100, 110, 127)])
    midi.tracks.append(track)
    midi.save(str(tmp_path / "high.mid"))
    target = chain()  # level.gain_db at 0 dB: position 0.67 of -48..+24 dB, below every value sent (0.79..1)
    picked = map_from_dict(
        {"bindings": [{"target": "level.gain_db", "number": 7, "min": -48.0, "max": 24.0, "pickup": True}]}, target
    )
    assert automation_events(tmp_path / "high.mid", picked, target, SR) == []
    other = map_from_dict({"bindings": [{"target": "level.gain_db", "number": 8}]}, target)
    with pytest.raises(
        MidiMapError, match=r"moves nothing the map <map> binds: it holds cc 7 on channel 1 \(3\); the map binds cc 8"
    ):
        automation_events(tmp_path / "high.mid", other, target, SR)


def test_bad_maps_and_files(tmp_path: Path, stereo_gain_path: Path) -> None:
    target = Chain([Gain(), load_plugin(stereo_gain_path)], names=["trim", "vst"])
    with pytest.raises(
        MidiMapError, match=r"bindings\[0\]\.target: no parameter 'trim.gain' in the chain; did you mean 'trim.gain_db'"
    ):
        map_from_dict({"bindings": [{"target": "trim.gain", "kind": "cc", "number": 1}]}, target)
    with pytest.raises(MidiMapError, match=r"bindings\[0\]\.min: min = -200.0 is outside 'trim.gain_db'"):
        map_from_dict({"bindings": [{"target": "trim.gain_db", "kind": "cc", "number": 1, "min": -200.0}]}, target)
    with pytest.raises(MidiMapError, match=r"'vst.latency_frames' cannot be automated"):
        map_from_dict({"bindings": [{"target": "vst.latency_frames", "kind": "cc", "number": 1}]}, target)
    with pytest.warns(UserWarning, match=r"the same control as another binding"):
        map_from_dict({"bindings": [{"target": "trim.gain_db", "number": 1}, {"target": "vst.gain_db", "number": 1}]}, target)
    tempo_change_file(tmp_path / "whole.mid")
    data = (tmp_path / "whole.mid").read_bytes()
    (tmp_path / "truncated.mid").write_bytes(data[: len(data) - 7])
    midi_map = map_from_dict({"bindings": [{"target": "trim.gain_db", "number": 7}]}, target)
    with pytest.raises(MidiMapError, match=r"truncated.mid' cannot be read"):
        automation_events(tmp_path / "truncated.mid", midi_map, target, SR)


def test_the_mistakes_people_make_in_a_map_are_named_with_the_fix() -> None:
    """A channel counted from 0 (as mido and MIDI bytes count) was "at least 1"; a target written as the knob's name
    alone ("gain_db", "Width") found no suggestion. The channel says how channels are numbered; the target suggests
    every parameter of that name."""
    target = Chain([Gain(), Gain()], names=["trim", "level"])
    for channel in (0, 17):
        with pytest.raises(MidiMapError, match=rf"bindings\[0\]\.channel: channel = {channel} is not allowed: 1\.\.16, as "):
            map_from_dict({"bindings": [{"target": "trim.gain_db", "number": 1, "channel": channel}]}, target)
    with pytest.raises(
        MidiMapError, match=r"no parameter 'gain_db' in the chain; did you mean 'trim.gain_db', 'level.gain_db'\?"
    ):
        map_from_dict({"bindings": [{"target": "gain_db", "number": 1}]}, target)
    with pytest.raises(MidiMapError, match=r"no parameter 'Level.Gain_dB' in the chain; did you mean 'level.gain_db', 'trim"):
        map_from_dict({"bindings": [{"target": "Level.Gain_dB", "number": 1}]}, target)
    assert (
        map_from_dict({"bindings": [{"target": "level.gain_db", "number": 1, "channel": 16}]}, target).bindings[0].channel == 15
    )


@pytest.mark.parametrize(
    ("keys", "error"),
    [
        ({"kind": "cc", "number": 7, "encoding": "signed_bit"}, r"\.encoding: encoding is for kind relative, not 'cc'"),
        ({"kind": "cc", "number": 7, "exponent": 3.0}, r'\.exponent: exponent shapes curve = "exponent": add that curve'),
        ({"kind": "cc", "number": 7, "mode": "momentary"}, r"\.mode: mode is for kind note, not 'cc'"),
        ({"kind": "pitchbend", "number": 7}, r"\.number: number is for kind cc, .*, not 'pitchbend'"),
        ({"kind": "relative", "number": 7, "pickup": True}, r"\.pickup: pickup is for kind cc, .*, not 'relative'"),
        ({"kind": "note", "number": 60, "encoding": "binary_offset"}, r"\.encoding: encoding is for kind relative, not 'note'"),
    ],
)
def test_a_key_the_bindings_kind_does_not_use_is_refused(keys: dict[str, object], error: str) -> None:
    """Each of these was dropped in silence: an exponent without its curve moved the gain linearly, an encoding on a
    plain CC read an encoder's steps as positions, a pitch bend's number bound every bend."""
    target = Chain([Gain()], names=["trim"])
    with pytest.raises(MidiMapError, match=r"bindings\[0\]" + error):
        map_from_dict({"bindings": [{"target": "trim.gain_db", **keys}]}, target)


def test_the_keys_each_kind_uses_are_taken() -> None:
    target = Chain([Gain()], names=["trim"])
    tables = [
        {"kind": "cc", "number": 7, "pickup": True, "curve": "exponent", "exponent": 2.0},
        {"kind": "relative", "number": 8, "encoding": "signed_bit"},
        {"kind": "note", "number": 60, "mode": "momentary"},
        {"kind": "pitchbend", "pickup": True},
        {"kind": "program", "number": 3},  # soundstage midi learn writes a program's number
    ]
    bindings = map_from_dict({"bindings": [{"target": "trim.gain_db", **t} for t in tables]}, target).bindings
    assert [(b.kind, b.pickup, b.encoding, b.mode, b.exponent) for b in bindings] == [
        ("cc", True, "twos_complement", "toggle", 2.0),
        ("relative", False, "signed_bit", "toggle", 1.0),
        ("note", False, "twos_complement", "momentary", 1.0),
        ("pitchbend", True, "twos_complement", "toggle", 1.0),
        ("program", False, "twos_complement", "toggle", 1.0),
    ]


def test_unbound_and_unknown_messages_are_counted_not_raised() -> None:
    dec = decoder({"target": "trim.gain_db", "kind": "cc", "number": 7})
    assert dec.feed(mido.Message("aftertouch", value=10)) == [] and dec.ignored == 1
    assert dec.feed(cc(8, 100)) == []


def test_process_command_applies_midi_automation(tmp_path: Path) -> None:
    from pedalboard.io import AudioFile

    from soundstage.cli import main

    analytic = tempo_change_file(tmp_path / "automation.mid")
    (tmp_path / "chain.toml").write_text('[[stages]]\ntype = "Gain"\nname = "level"\n')
    (tmp_path / "map.toml").write_text(
        '[[bindings]]\ntarget = "level.gain_db"\nkind = "cc"\nnumber = 7\nmin = -20.0\nmax = 0.0\n'
    )
    with AudioFile(str(tmp_path / "in.wav"), "w", SR, 1, bit_depth=32) as writer:
        writer.write(np.ones((1, SR * 5), np.float32))
    status = main(
        [
            "process",
            str(tmp_path / "in.wav"),
            str(tmp_path / "out.wav"),
            "--chain",
            str(tmp_path / "chain.toml"),
            "--midi",
            str(tmp_path / "automation.mid"),
            "--map",
            str(tmp_path / "map.toml"),
            "--buffer-size",
            "4096",
        ]
    )
    assert status == 0
    with AudioFile(str(tmp_path / "out.wav")) as reader:
        out = reader.read(reader.frames)[0]
    assert abs(int(np.argmax(out < 0.9999)) / SR - analytic) <= 0.001


def test_example_map_fits_the_studio_5_preset() -> None:
    from soundstage import load_chain

    root = Path(__file__).resolve().parents[1]
    midi_map = load_map(root / "session_files" / "demo-map.toml", load_chain(root / "chains" / "studio-5.toml"))
    assert {b.target for b in midi_map.bindings} == {
        "device.width",
        "device.center_level_db",
        "device.depth",
        "device.distance_m",
    }


def test_automation_after_a_latent_plugin_lands_where_that_node_hears_the_sample(tmp_path: Path, stereo_gain_path: Path) -> None:
    """A soundstage gain after a VST3 reporting 777 samples: the change follows the audio, not the chain's input."""
    analytic = tempo_change_file(tmp_path / "automation.mid")
    plugin = load_plugin(stereo_gain_path)
    external_parameters(plugin)["delay_samples"].value = 777
    target = Chain([plugin, Gain()])
    (tmp_path / "map.toml").write_text('[[bindings]]\ntarget = "1.gain_db"\nkind = "cc"\nnumber = 7\nmin = -20.0\nmax = 0.0\n')
    midi_map = load_map(tmp_path / "map.toml", target)
    assert midi_map.bindings[0].target == "gain.gain_db"  # an index path, stored by name
    events = automation_events(tmp_path / "automation.mid", midi_map, target, SR)
    out = process_with_automation(target, np.ones((2, SR * 5), np.float32), SR, events, buffer_size=1000)
    assert target.parameter_delays()["gain.gain_db"] == 777 + 63  # the VST3's latency + the pedalboard queue
    start = int(np.argmax(out[0] < 0.9999))
    print(f"gain after a 777-sample VST3: ramp starts {start - analytic * SR:+.0f} samples from the analytic time")
    assert abs(start / SR - analytic) <= 0.001


def test_program_change_recalls_a_chain_preset(tmp_path: Path) -> None:
    from soundstage import save_chain

    save_chain(Chain([Gain(gain_db=-6.0), Gain(gain_db=-3.0)], names=["trim", "level"]), tmp_path / "soft.toml")
    save_chain(Chain([Gain(gain_db=-20.0), Gain(invert=True)], names=["trim", "level"]), tmp_path / "quiet.toml")
    (tmp_path / "map.toml").write_text(
        '[[programs]]\nprogram = 0\npreset = "soft.toml"\n[[programs]]\nprogram = 5\npreset = "quiet.toml"\nchannel = 2\n'
    )
    target = chain()
    dec = Decoder(load_map(tmp_path / "map.toml", target), target)
    changes = {b.target: v for b, v in dec.feed(mido.Message("program_change", program=0))}
    assert changes == {"trim.gain_db": -6.0, "trim.invert": False, "level.gain_db": -3.0, "level.invert": False}
    assert dec.feed(mido.Message("program_change", program=5, channel=0)) == []  # program 5 listens on channel 2 only
    changes = {b.target: v for b, v in dec.feed(mido.Message("program_change", program=5, channel=1))}
    assert changes["trim.gain_db"] == -20.0 and changes["level.invert"] is True
    # a preset of another chain is refused, naming the parameter it does not have
    save_chain(Chain([Gain()], names=["other"]), tmp_path / "other.toml")
    (tmp_path / "bad.toml").write_text('[[programs]]\nprogram = 1\npreset = "other.toml"\n')
    with pytest.raises(MidiMapError, match=r"bad.toml: programs\[0\]\.preset: .*other.toml' has parameter 'other.gain_db'"):
        load_map(tmp_path / "bad.toml", target)


def test_a_program_sets_the_values_written_in_the_map_as_a_preset_file_of_them_does(tmp_path: Path) -> None:
    """``[[programs]]`` with ``values = {path = value}`` instead of ``preset``: a program change sets those values,
    as one recalling a chain file of them; each path and value is checked as a preset's (names the key and the fix)."""
    from soundstage import save_chain

    save_chain(Chain([Gain(gain_db=-6.0), Gain(invert=True)], names=["trim", "level"]), tmp_path / "soft.toml")
    (tmp_path / "map.toml").write_text(
        '[[programs]]\nprogram = 0\npreset = "soft.toml"\n'
        '[[programs]]\nprogram = 1\nchannel = 2\nvalues = { "trim.gain_db" = -6, "level.invert" = true }\n'
        '[[programs]]\nprogram = 2\n[programs.values]\n"0.gain_db" = -12.5\n'
    )
    target = chain()
    dec = Decoder(load_map(tmp_path / "map.toml", target), target)
    from_file = {b.target: v for b, v in dec.feed(mido.Message("program_change", program=0))}
    assert dec.feed(mido.Message("program_change", program=1, channel=0)) == []  # program 1 listens on channel 2 only
    written = {b.target: v for b, v in dec.feed(mido.Message("program_change", program=1, channel=1))}
    assert written == {"trim.gain_db": -6.0, "level.invert": True}
    assert {path: from_file[path] for path in written} == written
    assert {b.target: v for b, v in dec.feed(mido.Message("program_change", program=2))} == {"trim.gain_db": -12.5}
    mistakes = {
        'values = { "trim.gian_db" = 1.0 }': r"programs\[0\]\.values\.trim\.gian_db: no parameter 'trim.gian_db' in the "
        r"chain; did you mean 'trim.gain_db'",
        'values = { "trim.gain_db" = 99.0 }': r"programs\[0\]\.values\.trim\.gain_db: trim\.gain_db=99\.0 is outside -96\.\.24 dB",
        'values = { "trim.invert" = "yes" }': r"programs\[0\]\.values\.trim\.invert: trim\.invert='yes': expected true or false",
        "values = {}": r"programs\[0\]\.values: values = \{\} sets nothing",
        'preset = "soft.toml"\nvalues = { "trim.gain_db" = 1.0 }': r"programs\[0\]: give preset or values, not both",
        "channel = 1": r"programs\[0\]: give either preset = .* or values = \{path = value\}",
    }
    for written_text, message in mistakes.items():
        (tmp_path / "bad.toml").write_text(f"[[programs]]\nprogram = 3\n{written_text}\n")
        with pytest.raises(MidiMapError, match="bad.toml: " + message):
            load_map(tmp_path / "bad.toml", target)


def test_type_1_file_with_a_tempo_track_and_track_and_channel_filters(tmp_path: Path) -> None:
    """Tempo map on track 0 (120 -> 90 BPM at beat 4); CC 7 on channel 1 in track 1 and on channel 2 in track 2."""
    midi = mido.MidiFile(type=1, ticks_per_beat=960)
    tempo, first, second = mido.MidiTrack(), mido.MidiTrack(), mido.MidiTrack()
    midi.tracks += [tempo, first, second]
    tempo.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0))
    tempo.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90), time=4 * 960))
    first.append(mido.Message("control_change", channel=0, control=7, value=0, time=7 * 960))  # beat 7: 2 s + 2 s
    second.append(mido.Message("control_change", channel=1, control=7, value=127, time=2 * 960))  # beat 2: 1 s
    midi.save(str(tmp_path / "type1.mid"))
    target = chain()
    midi_map = map_from_dict(
        {"bindings": [{"target": "level.gain_db", "kind": "cc", "number": 7, "min": -20.0, "max": 0.0}]}, target
    )
    everything = automation_events(tmp_path / "type1.mid", midi_map, target, SR)
    assert [(e.sample, e.value) for e in everything] == [(1 * SR, 0.0), (4 * SR, -20.0)]
    assert [e.sample for e in automation_events(tmp_path / "type1.mid", midi_map, target, SR, tracks=[1])] == [4 * SR]
    assert [e.sample for e in automation_events(tmp_path / "type1.mid", midi_map, target, SR, channels=[2])] == [1 * SR]


@pytest.mark.parametrize("where", ["after the header", "between the tracks", "at the end", "in an RMID"])
def test_chunks_of_a_kind_no_reader_knows_are_passed_over(tmp_path: Path, where: str) -> None:
    """The SMF specification has readers pass over chunks of a type they do not know ("alien chunks": Yamaha's XF
    files hold XFIH and XFKM, other sequencers their own). mido refuses them ("no MTrk header at start of track"), and
    such a file was refused as unreadable; it reads as the same file without them (mido wrote it: a tempo track and
    a track of CC 7 in a type 1 file)."""
    import struct

    midi = mido.MidiFile(type=1, ticks_per_beat=960)
    tempo, faders = mido.MidiTrack(), mido.MidiTrack()
    midi.tracks += [tempo, faders]
    tempo.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90), time=0))
    faders.append(mido.Message("control_change", control=7, value=0, time=960))
    faders.append(mido.Message("control_change", control=7, value=127, time=3 * 960))
    midi.save(str(tmp_path / "plain.mid"))
    target = chain()
    midi_map = map_from_dict({"bindings": [{"target": "level.gain_db", "number": 7, "min": -20.0, "max": 0.0}]}, target)
    expected = automation_events(tmp_path / "plain.mid", midi_map, target, SR)
    assert [(e.sample, e.value) for e in expected] == [(SR * 2 // 3, -20.0), (SR * 8 // 3, 0.0)]  # beats 1 and 4 at 90 BPM
    data = (tmp_path / "plain.mid").read_bytes()
    alien = b"XFIH" + struct.pack(">I", 5) + b"XF02\x00"
    second_track = data.rindex(b"MTrk")
    with_alien = {
        "after the header": data[:14] + alien + data[14:],
        "between the tracks": data[:second_track] + alien + data[second_track:],
        "at the end": data + alien,
        "in an RMID": data[:14] + alien + data[14:],
    }[where]
    if where == "in an RMID":
        size = len(with_alien)
        with_alien = b"RIFF" + struct.pack("<I", 12 + size) + b"RMID" + b"data" + struct.pack("<I", size) + with_alien
    (tmp_path / "xf.mid").write_bytes(with_alien)
    assert automation_events(tmp_path / "xf.mid", midi_map, target, SR) == expected


def test_a_cc_jump_ramps_without_zipper_noise(tmp_path: Path) -> None:
    """CC 7 jumps 127 -> 0 (0 dB -> -20 dB): the gain ramps over its 20 ms, no step larger than the ramp implies."""
    tempo_change_file(tmp_path / "automation.mid")
    target = chain()
    midi_map = map_from_dict(
        {"bindings": [{"target": "level.gain_db", "kind": "cc", "number": 7, "min": -20.0, "max": 0.0}]}, target
    )
    events = automation_events(tmp_path / "automation.mid", midi_map, target, SR)
    out = process_with_automation(target, np.ones((1, SR * 5), np.float32), SR, events, buffer_size=100)[0]
    ramp = int(0.020 * SR)
    largest_allowed = 1.0 - 10 ** (-20.0 / 20 / ramp)  # the first step of a linear-in-dB ramp is its largest
    steps = np.abs(np.diff(out))
    assert steps.max() <= largest_allowed + 1e-6
    start = int(np.argmax(out < 0.9999))
    assert out[start + ramp + 1] == pytest.approx(0.1, abs=1e-5)  # and it arrives after the ramp time
    assert out[start + ramp // 2] > 0.25


@pytest.mark.parametrize("sample", [96000, 96001, 96037, 96063])
def test_vst3_changes_land_up_to_63_samples_early_never_late(stereo_gain_path: Path, sample: int) -> None:

    target = Chain([load_plugin(stereo_gain_path)], names=["vst"])
    out = process_with_automation(
        target, np.ones((2, SR * 3), np.float32), SR, [AutomationEvent(sample, "vst.gain_db", -20.0)], buffer_size=4096
    )
    change = int(np.argmax(out[0] < 0.5))
    print(f"event at {sample}: the VST3 changes at {change} ({change - sample:+d} samples)")
    assert -(GRANULARITY_SAMPLES - 1) <= change - sample <= 0


def test_vst3_change_closer_than_64_samples_to_the_previous_one_lands_early_within_the_granularity(
    stereo_gain_path: Path,
) -> None:

    target = Chain([load_plugin(stereo_gain_path)], names=["vst"])
    events = [AutomationEvent(96000, "vst.gain_db", -10.0), AutomationEvent(96020, "vst.gain_db", -20.0)]
    out = process_with_automation(target, np.ones((2, SR * 3), np.float32), SR, events)
    change = int(np.argmax(out[0] < 0.2))
    print(f"a change 20 samples after another: lands {change - 96020:+d} samples from its event")
    assert -(GRANULARITY_SAMPLES - 1) <= change - 96020 <= 0


def smf(division: int, *, midi_format: int = 0, tracks: int = 1) -> bytes:
    """A standard MIDI file written byte by byte (mido writes no SMPTE division): CC 7 = 64 at tick 0, CC 7 = 0 at
    tick 96 (running status), in each of ``tracks`` tracks."""
    import struct

    track = bytes([0x00, 0xB0, 0x07, 0x40, 0x60, 0x07, 0x00, 0x00, 0xFF, 0x2F, 0x00])
    body = b"".join(b"MTrk" + struct.pack(">I", len(track)) + track for _ in range(tracks))
    return b"MThd" + struct.pack(">IHHH", 6, midi_format, tracks, division) + body


@pytest.mark.parametrize(("frames_byte", "fps"), [(0xE8, 24.0), (0xE7, 25.0), (0xE3, 30000 / 1001), (0xE2, 30.0)])
def test_a_file_timed_in_smpte_frames_lands_at_its_frame_rate(tmp_path: Path, frames_byte: int, fps: float) -> None:
    """A division with its top bit set is -frames per second and ticks per frame (SMPTE time, no tempo):
    tick 96 at 40 ticks per frame is 96 / (40 fps) seconds, not 96 ticks of a beat."""
    path = tmp_path / "smpte.mid"
    path.write_bytes(smf(frames_byte << 8 | 40))
    target = chain()
    midi_map = map_from_dict({"bindings": [{"target": "level.gain_db", "number": 7, "min": -20.0, "max": 0.0}]}, target)
    events = automation_events(path, midi_map, target, SR)
    assert [e.sample for e in events] == [0, round(96 / (fps * 40) * SR)]


def test_rmid_type_2_and_bad_divisions(tmp_path: Path) -> None:
    """A RIFF RMID file (Windows' .rmi) holds a standard MIDI file: the same events. Type 2 files read. A division of
    0 ticks per beat, or an SMPTE rate no file uses, is refused in one line naming the file."""
    import struct

    target = chain()
    midi_map = map_from_dict({"bindings": [{"target": "level.gain_db", "number": 7, "min": -20.0, "max": 0.0}]}, target)
    plain = tmp_path / "plain.mid"
    plain.write_bytes(smf(96))
    expected = automation_events(plain, midi_map, target, SR)
    assert [e.sample for e in expected] == [0, SR // 2]
    inner = smf(96)
    rmid = tmp_path / "song.rmi"
    rmid.write_bytes(b"RIFF" + struct.pack("<I", 12 + len(inner)) + b"RMID" + b"data" + struct.pack("<I", len(inner)) + inner)
    assert automation_events(rmid, midi_map, target, SR) == expected
    two = tmp_path / "type2.mid"
    two.write_bytes(smf(96, midi_format=2, tracks=2))
    assert [e.sample for e in automation_events(two, midi_map, target, SR)] == [0, 0, SR // 2, SR // 2]
    for name, division, message in [
        ("zero.mid", 0, r"zero.mid' says 0 ticks per beat"),
        ("fps.mid", 0xE9 << 8 | 40, r"fps.mid' is timed in SMPTE frames at 23 fps"),
        ("tpf.mid", 0xE7 << 8, r"tpf.mid' is timed in SMPTE frames at 25 fps and 0 ticks per frame"),
    ]:
        (tmp_path / name).write_bytes(smf(division))
        with pytest.raises(MidiMapError, match=message) as caught:
            automation_events(tmp_path / name, midi_map, target, SR)
        assert "\n" not in str(caught.value)


def test_any_midi_header_is_read_or_refused_cleanly() -> None:
    """Every division, format and track count a header can say: events, or a one-line MidiMapError."""
    import tempfile

    from hypothesis import given, settings
    from hypothesis import strategies as st

    target = chain()
    midi_map = map_from_dict({"bindings": [{"target": "level.gain_db", "number": 7}]}, target)

    @settings(max_examples=200, deadline=None)
    @given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 3), st.binary(max_size=40))
    def check(division: int, midi_format: int, tracks: int, tail: bytes) -> None:
        import struct

        data = smf(division, tracks=max(tracks, 1))[:14] if tracks == 0 else smf(division, tracks=tracks)
        data = data[:8] + struct.pack(">H", midi_format) + data[10:] + tail
        with tempfile.NamedTemporaryFile(suffix=".mid", delete=False) as handle:
            handle.write(data)
        try:
            events = automation_events(handle.name, midi_map, target, SR)
            assert all(e.sample >= 0 for e in events)
        except MidiMapError as error:
            assert "\n" not in str(error) and handle.name in str(error)
        finally:
            Path(handle.name).unlink()

    check()


@pytest.mark.parametrize(
    "layout",
    [
        '[[programs]]\nprogram = 0\npreset = "soft.toml"  # soft\n[[programs]]\nprogram = 5\nchannel = 2\npreset = "soft.toml"\n',
        'programs = [{ program = 0, preset = "soft.toml" }, { program = 5, channel = 2, preset = "soft.toml" }]\n',
        '[[programs]]\nprogram = 0\npreset = "soft.toml"\n[[programs]]\nprogram = 5\nchannel = 2\nvalues = { "trim.gain_db" = -6.0 }\n',
    ],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_a_map_with_its_presets_written_in_is_the_same_map_without_their_files(
    tmp_path: Path, layout: str, encoding: str
) -> None:
    """What an exported plugin keeps of its map (``map_text_with_values``): each program's preset file written in as
    the values it sets, in whatever layout the programs are written (tables, or inline tables on one line), from a
    file in UTF-8, with a byte-order mark or in UTF-16: it loads as the same map with the preset file gone, and the
    map's comments are kept."""
    from soundstage import save_chain
    from soundstage.midi.maps import map_text_with_values

    save_chain(Chain([Gain(gain_db=-6.0), Gain(invert=True)], names=["trim", "level"]), tmp_path / "soft.toml")
    text = '# my map\n[[bindings]]\ntarget = "trim.gain_db"\nkind = "cc"\nnumber = 7\n' if "[[" in layout else ""
    (tmp_path / "map.toml").write_text(text + layout if text else "# my map\n" + layout, encoding=encoding)
    target = chain()
    original = load_map(tmp_path / "map.toml", target)
    held = map_text_with_values(tmp_path / "map.toml", original)
    (tmp_path / "soft.toml").unlink()
    (tmp_path / "held.toml").write_text(held, encoding="utf-8")
    again = load_map(tmp_path / "held.toml", target)
    assert held.startswith("# my map\n") and "preset =" not in held
    assert again.bindings == original.bindings
    assert [(p.program, p.channel, p.values) for p in again.programs] == [
        (p.program, p.channel, p.values) for p in original.programs
    ]
