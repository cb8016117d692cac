"""Live MIDI under a flood: the audio loop's pace while 10 000 CC messages per second arrive.

A sender in another process connects to a mido socket port and sends CC 7 at
10 000 messages per second for 5 s, then one last value. Meanwhile the live loop
(:func:`soundstage.midi.live.run_live`) processes 7 s of stereo noise in 256-sample
blocks at real-time pace through the studio-5 device chain, applying the MIDI
changes before each block. The same loop is first run without MIDI as the
baseline of this machine, in the same run.

Targets: no block finishes later than 50 ms behind its real-time deadline; the
loop takes <= 1.02x the audio's duration; every message is received; the last
value wins.

    python benchmarks/midi_live.py [--chain studio-5] [--target device.center_level_db] [--seconds 7] [--rate 10000]

``--target device.width`` (or ``device.listener_yaw_deg``, ``device.distance_m``)
floods a parameter whose every change redesigns the device chain (30-50 ms here):
``soundstage live`` designs such changes in a worker process
(:class:`soundstage.host.prefetch.DesignWorker`) and applies the newest one whose
design is ready, so the same targets hold. A CPU-bound process started by the
benchmark keeps the other core busy (``--no-hog`` to leave it idle).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import textwrap

import numpy as np
from mido.sockets import PortServer

from soundstage.host.chainfile import find_chain, load_chain
from soundstage.host.prefetch import DesignWorker
from soundstage.midi.live import LiveControl, run_live
from soundstage.midi.maps import map_from_dict

SR = 48000
BLOCK = 256


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chain", default="studio-5")
    parser.add_argument("--target", default="device.center_level_db", help="parameter the flood moves")
    parser.add_argument("--seconds", type=float, default=7.0)
    parser.add_argument("--rate", type=int, default=10000, help="messages per second")
    parser.add_argument("--flood-seconds", type=float, default=5.0)
    parser.add_argument("--no-hog", action="store_true", help="do not keep the other core busy with a CPU-bound process")
    args = parser.parse_args()
    hog = None if args.no_hog else subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        return _run(args)
    finally:
        if hog is not None:
            hog.kill()


def _run(args: argparse.Namespace) -> int:

    chain = load_chain(find_chain(args.chain))
    midi_map = map_from_dict({"bindings": [{"target": args.target, "kind": "cc", "number": 7}]}, chain)
    signal = (0.1 * np.random.default_rng(0).standard_normal((2, int(args.seconds * SR)))).astype(np.float32)

    def blocks():  # type: ignore[no-untyped-def]
        return (signal[:, i : i + BLOCK] for i in range(0, signal.shape[1], BLOCK))

    baseline = run_live(chain, None, blocks(), SR)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = PortServer("127.0.0.1", port)
    total = int(args.rate * args.flood_seconds)
    sender = textwrap.dedent(f"""
        import time, mido
        from mido.sockets import connect
        for attempt in range(200):
            try:
                out = connect("127.0.0.1", {port}); break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.3)
        start = time.perf_counter(); sent = 0
        while sent < {total}:
            due = min(int((time.perf_counter() - start) * {args.rate}), {total})
            while sent < due:
                out.send(mido.Message("control_change", control=7, value=(sent * 37) % 128)); sent += 1
            time.sleep(0.001)
        out.send(mido.Message("control_change", control=7, value=100))
        print(time.perf_counter() - start, flush=True)
        time.sleep({args.seconds})
    """)
    worker = DesignWorker(chain.parameters)  # what soundstage live does (before the flood starts): designs off the loop
    process = subprocess.Popen([sys.executable, "-c", sender], stdout=subprocess.PIPE, text=True)
    control = LiveControl(chain, midi_map, server.accept(), worker=worker).start()
    stats = run_live(chain, control, blocks(), SR)
    process.kill()
    sending = float(process.communicate()[0].strip() or "nan")
    control.stop()
    worker.stop()
    parameter = chain.parameters[args.target]
    expected = midi_map.bindings[0].value(100 / 127, parameter)
    busy = "" if args.no_hog else "; another process keeps a core busy (started by the benchmark)"
    print(f"chain {args.chain}, {BLOCK}-sample blocks at {SR} Hz, {args.seconds:g} s of audio{busy}")
    print(f"baseline (no MIDI): {baseline.wall_seconds:.3f} s wall, worst lag {baseline.worst_lag_ms:.1f} ms")
    print(
        f"flood: {control.received} messages ({total + 1} sent in {sending:.2f} s = {total / sending:.0f}/s), "
        f"{control.errors} errors, {stats.changes} changes applied"
    )
    print(
        f"loop: {stats.wall_seconds:.3f} s wall for {stats.seconds:.3f} s of audio "
        f"({stats.wall_seconds / stats.seconds:.4f}x; target <= 1.02x), worst lag {stats.worst_lag_ms:.1f} ms "
        f"(target <= 50 ms), late blocks {stats.late_blocks}/{stats.blocks}"
    )
    print(f"last value wins: {args.target} = {parameter.value:.4f} (expected {expected:.4f})")
    ok = (
        stats.worst_lag_ms <= 50
        and stats.wall_seconds <= 1.02 * stats.seconds
        and control.received == total + 1
        and abs(parameter.value - expected) < 1e-9
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
