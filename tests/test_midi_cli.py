"""The MIDI commands end to end: ``midi monitor``, ``midi learn`` and ``live`` over a real port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mido

from midi_ports import free_port, sender
from soundstage import Chain, Gain, save_chain
from soundstage.midi import load_map


def soundstage(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "soundstage.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def sends(messages: list[mido.Message], pause_s: float = 0.01) -> str:
    return "".join(f"out.send(mido.Message.from_bytes({m.bytes()}))\ntime.sleep({pause_s})\n" for m in messages)


def cc(control: int, value: int) -> mido.Message:
    return mido.Message("control_change", control=control, value=value)


def test_monitor_joins_14_bit_pairs_and_assembles_nrpn() -> None:
    port = free_port()
    monitor = soundstage("midi", "monitor", "--in", f"tcp-listen:127.0.0.1:{port}", "--count", "8", "--seconds", "20")
    messages = [cc(7, 64), cc(39, 5), cc(99, 7), cc(98, 104), cc(6, 39), cc(38, 8), mido.Message("pitchwheel", pitch=-100)]
    feeder = sender(port, sends(messages) + sends([mido.Message("note_on", note=60, velocity=90)]))
    out, err = monitor.communicate(timeout=60)
    feeder.wait(timeout=10)
    assert monitor.returncode == 0, err
    assert "ch1  CC14 7/39 = 8197" in out  # (64 << 7) | 5
    assert "ch1  NRPN 1000 = 5000" in out  # (7 << 7) | 104 = 1000; (39 << 7) | 8 = 5000
    assert "ch1  pitch bend -100" in out and "ch1  note 60 on, velocity 90" in out
    assert out.strip().endswith("8 message(s)")


def test_learn_command_writes_the_binding(tmp_path: Path) -> None:
    save_chain(Chain([Gain()], names=["level"]), tmp_path / "chain.toml")
    port = free_port()
    learn = soundstage(
        "midi", "learn", "--chain", str(tmp_path / "chain.toml"), "--map", str(tmp_path / "map.toml"),
        "--param", "0.gain_db", "--in", f"tcp-listen:127.0.0.1:{port}", "--timeout", "30",
    )  # fmt: skip
    feeder = sender(port, "time.sleep(0.5)\n" + sends([cc(20, v) for v in (1, 1, 1, 2, 1)]) + "time.sleep(1.5)\n")
    out, err = learn.communicate(timeout=60)
    feeder.wait(timeout=10)
    assert learn.returncode == 0, err
    assert "learned level.gain_db: kind = 'relative'" in out
    (binding,) = load_map(tmp_path / "map.toml", Chain([Gain()], names=["level"])).bindings
    assert (binding.kind, binding.number, binding.encoding) == ("relative", 20, "twos_complement")


def test_live_command_moves_the_bound_parameter_and_keeps_pace(tmp_path: Path) -> None:
    save_chain(Chain([Gain()], names=["level"]), tmp_path / "chain.toml")
    (tmp_path / "map.toml").write_text(
        '[[bindings]]\ntarget = "level.gain_db"\nkind = "cc"\nnumber = 7\nmin = -40.0\nmax = 0.0\n'
    )
    port = free_port()
    live = soundstage(
        "live", "--chain", str(tmp_path / "chain.toml"), "--map", str(tmp_path / "map.toml"),
        "--in", f"tcp-listen:127.0.0.1:{port}", "--seconds", "3",
    )  # fmt: skip
    # raw bytes: two stray data bytes, then CC 7 = 64 and, by running status, CC 7 = 127
    raw = "out._wfile.write(bytes([0x40, 0x22, 0xB0, 7, 64, 7, 127]))\nout._wfile.flush()\n"
    feeder = sender(port, "time.sleep(0.5)\n" + raw + "time.sleep(0.5)\n")
    out, err = live.communicate(timeout=60)
    feeder.wait(timeout=10)
    assert live.returncode == 0, err
    assert "level.gain_db = 0" in out
    done = [line for line in out.splitlines() if line.startswith("done:")][0]
    assert "3.0 s of audio" in done and "2 MIDI message(s)" in done and "2 malformed byte(s) dropped" in done
