"""The MIDI commands end to end: ``midi monitor``, ``midi learn`` and ``live`` over a real port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest

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


def test_live_record_writes_what_was_played_with_the_midi_change(tmp_path: Path) -> None:
    """``live --record``: the recorded sine is at -40 dB before CC 7 = 127 and at 0 dB after it."""
    from pedalboard.io import AudioFile

    save_chain(Chain([Gain(gain_db=-40.0)], names=["level"]), tmp_path / "chain.toml")
    (tmp_path / "map.toml").write_text(
        '[[bindings]]\ntarget = "level.gain_db"\nkind = "cc"\nnumber = 7\nmin = -40.0\nmax = 0.0\n'
    )
    port = free_port()
    live = soundstage(
        "live", "--chain", str(tmp_path / "chain.toml"), "--map", str(tmp_path / "map.toml"),
        "--in", f"tcp-listen:127.0.0.1:{port}", "--seconds", "3", "--signal", "sine",
        "--record", str(tmp_path / "take.wav"),
    )  # fmt: skip
    # the live loop starts once the controller is connected; the controller waits 1 s, then moves the fader up
    feeder = sender(port, "time.sleep(1.0)\n" + sends([cc(7, 127)]) + "time.sleep(0.3)\n")
    out, err = live.communicate(timeout=60)
    feeder.wait(timeout=10)
    assert live.returncode == 0, err
    with AudioFile(str(tmp_path / "take.wav")) as recorded:
        assert (recorded.samplerate, recorded.num_channels, recorded.frames) == (48000, 2, 3 * 48000)
        audio = recorded.read(recorded.frames)
    rms = [20 * np.log10(np.sqrt(np.mean(audio[:, a:b] ** 2)) / (0.25 / np.sqrt(2))) for a, b in ((4800, 9600), (-9600, -4800))]
    assert rms[0] == pytest.approx(-40.0, abs=0.1) and rms[1] == pytest.approx(0.0, abs=0.1)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".") or "tmp" in p.name] == []


def test_live_play_without_a_sound_device_is_a_clear_error_and_leaves_no_recording(tmp_path: Path) -> None:
    from pedalboard.io import AudioStream

    if AudioStream.output_device_names:
        pytest.skip("this machine has a sound device; the error path is for machines without one")
    save_chain(Chain([Gain()], names=["level"]), tmp_path / "chain.toml")
    (tmp_path / "map.toml").write_text('[[bindings]]\ntarget = "level.gain_db"\nkind = "cc"\nnumber = 7\n')
    live = soundstage(
        "live", "--chain", str(tmp_path / "chain.toml"), "--map", str(tmp_path / "map.toml"),
        "--in", "tcp-listen:127.0.0.1:1", "--play", "--record", str(tmp_path / "take.wav"),
    )  # fmt: skip
    out, err = live.communicate(timeout=60)
    assert live.returncode == 2
    assert "--play: this machine has no audio output device" in err and "use --record FILE" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain.toml", "map.toml"]


def test_monitor_stops_on_time_under_a_fast_byte_stream() -> None:
    import time

    port = free_port()
    started = time.monotonic()
    monitor = soundstage("midi", "monitor", "--in", f"tcp-listen:127.0.0.1:{port}", "--seconds", "1.5")
    flood = (  # raw bytes on the connection as fast as the socket takes them: CC 7 with running status
        "chunk = bytes([0xB0, 7, 64] + [7, 65] * 2000)\nend = time.time() + 20\n"
        "try:\n    while time.time() < end:\n        out._socket.sendall(chunk)\nexcept OSError:\n    pass\n"
    )
    feeder = sender(port, flood)
    out, err = monitor.communicate(timeout=60)
    elapsed = time.monotonic() - started
    feeder.kill()
    print(f"monitor --seconds 1.5 under a byte flood returned after {elapsed:.2f} s (process start included)")
    assert monitor.returncode == 0, err
    # the 1.5 s plus the process's start-up (2-3 s, more on a busy machine); before, it ran until the 20 s flood ended
    assert elapsed < 10.0


def test_a_port_that_cannot_be_opened_is_one_line_without_the_jack_librarys_chatter() -> None:
    """libjack printed five lines ("Cannot connect to server socket err = ...", "jack server is not running or cannot
    be started", ...) before soundstage's one-line error. What C libraries print while a port opens is held back,
    and dropped when the open fails. (JACK_DEFAULT_SERVER names a server that runs nowhere, whether jackd runs here
    or not.)"""
    import os

    env = {**os.environ, "JACK_DEFAULT_SERVER": "soundstage-no-such-server", "JACK_NO_START_SERVER": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "soundstage.cli", "midi", "monitor", "--in", "jack:controller", "--seconds", "1"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "soundstage: error: MIDI port 'jack:controller' cannot be opened: MidiInJack::initialize: JACK server not running?"
    ]


def test_ctrl_c_ends_a_monitor_with_its_count() -> None:
    """A monitor without --count or --seconds runs until Ctrl-C, which ended it as an interruption (exit 130,
    "interrupted; no output was written") without the count of what it saw. Ctrl-C now ends it as the others do."""
    import signal
    import time

    port = free_port()
    monitor = soundstage("midi", "monitor", "--in", f"tcp-listen:127.0.0.1:{port}")
    feeder = sender(port, sends([cc(7, 10), cc(7, 20), cc(7, 30)]) + "time.sleep(30)\n")
    deadline = time.monotonic() + 60
    assert monitor.stdout is not None
    lines = []
    while len(lines) < 3 and time.monotonic() < deadline:
        lines.append(monitor.stdout.readline())
    monitor.send_signal(signal.SIGINT)
    out, err = monitor.communicate(timeout=30)
    feeder.kill()
    assert monitor.returncode == 0, err
    assert out.strip().splitlines()[-1] == "3 message(s)" and err == ""
