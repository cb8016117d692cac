"""MIDI learn: kind detection, writing into a map file, and learning over a real port from another process."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import mido
import pedalboard
import pytest
from mido.sockets import PortServer

from midi_ports import GESTURES, free_port, sender
from soundstage import Chain, Gain
from soundstage.midi import MidiMapError, add_binding, detect, learn, load_map


@pytest.mark.parametrize("gesture", list(GESTURES))
def test_detect(gesture: str) -> None:
    messages, expected = GESTURES[gesture]
    assert detect(messages) == expected


def test_detect_nothing() -> None:
    with pytest.raises(MidiMapError, match="no controller message"):
        detect([mido.Message("clock")])


def chain() -> Chain:
    return Chain([Gain(), Gain()], names=["trim", "level"])


def test_add_binding_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "map.toml"
    original = '# my controller\nformat = 1\n\n[[bindings]]  # the fader\ntarget = "trim.gain_db"\nkind = "cc"\nnumber = 7\n'
    path.write_text(original)
    add_binding(path, chain(), "1.gain_db", {"kind": "cc", "number": 8})
    text = path.read_text()
    assert text.startswith(original)  # comments, layout and the other binding untouched
    assert [b.target for b in load_map(path, chain()).bindings] == ["trim.gain_db", "level.gain_db"]
    add_binding(path, chain(), "level.gain_db", {"kind": "cc", "number": 9})  # learning again replaces
    assert [(b.target, b.number) for b in load_map(path, chain()).bindings] == [("trim.gain_db", 7), ("level.gain_db", 9)]
    before = path.read_text()
    with pytest.raises(MidiMapError, match=r"no parameter 'level.gain' in the chain; did you mean 'level.gain_db'"):
        add_binding(path, chain(), "level.gain", {"kind": "cc", "number": 10})
    assert path.read_text() == before
    (tmp_path / "broken.toml").write_text("[[bindings]\n")
    with pytest.raises(MidiMapError, match=r"broken.toml: not valid TOML"):
        add_binding(tmp_path / "broken.toml", chain(), "level.gain_db", {"kind": "cc", "number": 10})
    assert (tmp_path / "broken.toml").read_text() == "[[bindings]\n"


@pytest.mark.parametrize("gesture", ["7-bit cc", "14-bit pair", "nrpn", "relative two's complement", "pitch bend"])
def test_a_learned_control_travels_as_the_parameters_own_knob(tmp_path: Path, gesture: str) -> None:
    """A control learned for a parameter on a log scale (a cutoff) or a dB taper (a gain) moves it as the parameter's
    own 0..1 position does, as a DAW's learn maps it: half-way on a 10 Hz..24 kHz cutoff is 490 Hz, not 12 kHz; a
    linear parameter keeps a linear control."""
    messages, _ = GESTURES[gesture]
    chain = Chain([pedalboard.HighpassFilter(), Gain(), pedalboard.Reverb()], names=["hp", "level", "verb"])
    bindings = []
    for target in ("hp.cutoff_frequency_hz", "level.gain_db", "verb.room_size"):  # a map each: one control
        add_binding(tmp_path / f"{target}.toml", chain, target, detect(messages))
        bindings += load_map(tmp_path / f"{target}.toml", chain).bindings
    assert [b.curve for b in bindings] == ["log", "db", "linear"]
    for binding in bindings:
        parameter = chain.parameters[binding.target]
        for x in (0.0, 0.1, 0.25, 0.5, 0.9, 1.0):
            assert binding.value(x, parameter) == pytest.approx(parameter.from_normalized(x), rel=1e-12, abs=1e-9)
            assert binding.position(parameter.from_normalized(x), parameter) == pytest.approx(x, abs=1e-12)
    cutoff = chain.parameters["hp.cutoff_frequency_hz"]
    assert bindings[0].value(0.5, cutoff) == pytest.approx((10.0 * 24000.0) ** 0.5, rel=1e-9)  # 489.9 Hz


def test_unknown_target_fails_before_waiting(tmp_path: Path) -> None:
    with pytest.raises(MidiMapError, match="no parameter 'levl.gain_db'"):
        learn(chain(), tmp_path / "map.toml", "levl.gain_db", port=None, timeout_s=60)
    assert not (tmp_path / "map.toml").exists()


@pytest.mark.parametrize("gesture", ["7-bit cc", "14-bit pair", "nrpn", "relative two's complement"])
def test_learn_over_a_port_from_another_process(tmp_path: Path, gesture: str) -> None:
    messages, expected = GESTURES[gesture]
    port = free_port()
    listener = PortServer("127.0.0.1", port)
    body = "time.sleep(0.5)\n" + "".join(f"out.send(mido.Message.from_bytes({m.bytes()}))\ntime.sleep(0.01)\n" for m in messages)
    process = sender(port, body + "time.sleep(1.0)\n")
    input_port = listener.accept()
    result: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: result.update(learned=learn(chain(), tmp_path / "map.toml", "level.gain_db", input_port, timeout_s=10))
    )
    thread.start()
    thread.join(timeout=20)
    process.wait(timeout=10)
    assert result["learned"] == {"target": "level.gain_db"} | expected | {"curve": "db"}  # gain_db's own taper
    (binding,) = load_map(tmp_path / "map.toml", chain()).bindings
    assert (binding.target, binding.kind, binding.number) == ("level.gain_db", expected["kind"], expected["number"])
