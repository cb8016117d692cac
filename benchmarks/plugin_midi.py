"""CPU an exported plugin spends on MIDI (``export-plugin --map``), against the same plugin with no MIDI, in one run.

The chain is the upmix then a Gain (a knob 2048 samples behind the input); its map binds CC 7 to the Gain. Its CLAP
runs in the test CLAP host (tests/export/clap_host.cpp, built here) over ``--seconds`` of a stereo mix in 256-sample
blocks: once with no MIDI, once with a CC to the Gain every 32 samples (1500 a second, ten times what a MIDI cable
carries), each message cutting the block. The figure is the host process's CPU time (user + system), the best of
``--rounds`` of each, paired; target: the MIDI-driven run at most 1.5 times the plain one. Needs g++ and dpf-source.

    python benchmarks/plugin_midi.py [--seconds 60] [--rounds 3]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from soundstage.export import export_plugin, missing_tools
from soundstage.export.build import dpf_root

ROOT = Path(__file__).resolve().parents[1]
SR = 48000
EVERY = 32
TARGET_RATIO = 1.5
CHAIN = 'format = 1\n[[stages]]\ntype = "Upmix"\nname = "upmix"\n[[stages]]\ntype = "Gain"\nname = "trim"\n'
MAP = '[[bindings]]\ntarget = "trim.gain_db"\nkind = "cc"\nnumber = 7\nmin = -30.0\nmax = 0.0\n'


def cpu_seconds(command: list[str], midi: Path) -> float:
    """The user + system CPU time of ``command`` (the CLAP host), given the MIDI file ``midi``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env={"CLAP_MIDI": str(midi), "CLAP_OUTPUTS": "3"}, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    missing = missing_tools(formats=("clap",))
    if missing:
        sys.exit(f"plugin_midi: cannot build plugins here: {missing}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "chain.toml").write_text(CHAIN)
        (folder / "map.toml").write_text(MAP)
        clap = export_plugin(folder / "chain.toml", folder / "out", formats=["clap"], rates=[SR], midi_map=folder / "map.toml")
        host = folder / "clap_host"
        source = ROOT / "tests" / "export" / "clap_host.cpp"
        include = f"-I{dpf_root() / 'distrho' / 'src'}"
        subprocess.run(["g++", "-std=c++17", "-O2", include, str(source), "-o", str(host), "-ldl"], check=True)
        frames = int(args.seconds * SR)
        rng = np.random.default_rng(1)
        mix = 0.1 * rng.standard_normal((2, frames)) + 0.2 * np.sin(2 * np.pi * 220 * np.arange(frames) / SR)
        mix.astype("<f4").tofile(folder / "in.f32")
        (folder / "none.txt").write_text("")
        values = (64 + 63 * np.sin(np.arange(0, frames, EVERY) / 50)).astype(int)
        (folder / "dense.txt").write_text("".join(f"{f} 176 7 {v}\n" for f, v in zip(range(0, frames, EVERY), values)))
        command = [str(host), str(clap.bundles["clap"]), str(SR), "256", str(folder / "in.f32"), "2", str(folder / "o.f32")]
        plain, moved = [], []
        for _ in range(args.rounds):
            plain.append(cpu_seconds(command, folder / "none.txt"))
            moved.append(cpu_seconds(command, folder / "dense.txt"))
    ratio = min(moved) / min(plain)
    print(f"exported CLAP (upmix, then a Gain on CC 7), {args.seconds:g} s at {SR} Hz, 256-sample blocks, best of {args.rounds}:")
    print(f"  no MIDI:                {min(plain):6.2f} s CPU ({args.seconds / min(plain):.0f}x real time)")
    print(
        f"  a CC every {EVERY} samples: {min(moved):6.2f} s CPU ({args.seconds / min(moved):.0f}x real time)"
        f"   ratio {ratio:.2f} (target <= {TARGET_RATIO})"
    )


if __name__ == "__main__":
    main()
