"""``soundstage demo``: generate an example mix and run it through a bundled chain.

The example is synthesised (no audio ships with the package and nothing is
downloaded): a voice-like harmonic tone with vibrato in the centre, a bass line,
a pad spread wide and noise-burst hats panned right, 6 seconds at 48 kHz.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pedalboard.io import AudioFile

from soundstage.errors import OutputError

__all__ = ["example_mix", "run_demo"]

DEMO_CHAIN = "mastering"


def example_mix(sample_rate: int = 48000, seconds: float = 6.0, seed: int = 7) -> np.ndarray:
    """A deterministic stereo test mix, shape (2, samples), peak -6 dBFS."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    f0 = 220.0 * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    voice = sum(np.sin(k * phase) / k**1.3 for k in range(1, 12)) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t) ** 2)
    notes = np.array([55.0, 55.0, 73.42, 65.41])[(t * 2).astype(int) % 4]
    bass = np.sin(2 * np.pi * np.cumsum(notes) / sample_rate)
    pad_l = sum(np.sin(2 * np.pi * f * t + p) for f, p in ((261.6, 0.0), (329.6, 1.0), (392.0, 2.0)))
    pad_r = sum(np.sin(2 * np.pi * f * 1.003 * t + p) for f, p in ((261.6, 0.5), (329.6, 1.5), (392.0, 2.5)))
    hats = rng.standard_normal(t.size) * np.exp(-((t * 4) % 1.0) * 40)
    left = 0.5 * voice + 0.7 * bass + 0.25 * pad_l + 0.1 * hats
    right = 0.5 * voice + 0.7 * bass + 0.25 * pad_r + 0.4 * hats
    mix = np.stack([left, right])
    return (mix * (0.5 / np.abs(mix).max())).astype(np.float32)


def run_demo(folder: Path, *, overwrite: bool = False) -> int:
    """Write the example mix into ``folder`` and process it with the ``mastering`` preset."""
    from soundstage.cli import find_chain
    from soundstage.fileio import process_file
    from soundstage.host.chainfile import load_chain

    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "example-mix.wav"
    target = folder / "example-mix-mastered.wav"
    if target.exists() and not overwrite:
        raise OutputError(f"{target} already exists; pass --overwrite to render the demo again")
    if not source.exists() or overwrite:
        with AudioFile(str(source), "w", 48000, 2, bit_depth=32) as writer:
            writer.write(example_mix())
    chain_file = find_chain(DEMO_CHAIN)
    chain = load_chain(chain_file)
    info = process_file(chain, source, target, overwrite=overwrite)
    peak_in = float(np.abs(example_mix()).max())
    with AudioFile(str(target)) as reader:
        out = reader.read(reader.frames)
    print(f"example mix: {source} ({info['frames'] / info['sample_rate']:.1f} s, peak {20 * np.log10(peak_in):.1f} dBFS)")
    print(f"chain:       {chain_file} ({len(chain)} nodes: {', '.join(chain.names)})")
    print(f"result:      {target} (peak {20 * np.log10(float(np.abs(out).max())):.1f} dBFS)")
    return 0
