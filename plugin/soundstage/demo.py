"""``soundstage demo``: write a demo session with generated stems and render it.

The stems are synthesized (no audio ships with the package, nothing is
downloaded): a voice-like part, bass, drums and a pad, exported the way DAWs do —
BWF-stamped with different start times, at mixed sample rates and formats (one
stem placed by an offset in the session instead). The session runs them through
a mastering chain and renders a plain mixdown, the studio-5 driver feeds, the
device on headphones, the stereo reference, and a loudness-matched A/B pair.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import mido
import numpy as np

from soundstage.errors import OutputError
from soundstage.files import atomic_path, why_not_made, write_text
from soundstage.session.bwf import write_stem
from soundstage.session.model import SESSION_FILE_NAME
from soundstage.session.render import render_session, render_summary

__all__ = ["example_mix", "run_demo", "write_demo_session"]

SECONDS = 8.0


def _tone(rate: int, seconds: float, f0: float, partials: int, vibrato_hz: float, seed: int) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    rng = np.random.default_rng(seed)
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.01 * np.sin(2 * np.pi * vibrato_hz * t))) / rate
    return sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k**1.2 for k in range(1, partials + 1))


def example_mix(sample_rate: int = 48000, seconds: float = 6.0, seed: int = 7) -> np.ndarray:
    """A deterministic stereo test mix, shape (2, samples), peak -6 dBFS."""
    voice = _tone(sample_rate, seconds, 220.0, 12, 5.5, seed)
    pad = _tone(sample_rate, seconds, 261.6, 6, 0.2, seed + 1)
    t = np.arange(voice.size) / sample_rate
    hats = np.random.default_rng(seed).standard_normal(voice.size) * np.exp(-((t * 4) % 1.0) * 40)
    mix = np.stack([0.5 * voice + 0.3 * pad + 0.1 * hats, 0.5 * voice + 0.3 * np.roll(pad, 480) + 0.4 * hats])
    return (mix * (0.5 / np.abs(mix).max())).astype(np.float32)


def _stems(seconds: float) -> dict[str, tuple[np.ndarray, int]]:
    """name -> (audio (channels, n), sample rate)."""
    voice_rate, bass_rate, drums_rate, pad_rate = 48000, 44100, 48000, 48000
    t = np.arange(int(voice_rate * seconds)) / voice_rate
    phrase = (np.sin(2 * np.pi * 0.25 * t) > -0.3).astype(float)
    voice = _tone(voice_rate, seconds, 196.0, 16, 5.5, 1) * (0.5 + 0.5 * phrase) * 0.25
    tb = np.arange(int(bass_rate * seconds)) / bass_rate
    notes = np.array([55.0, 55.0, 73.42, 65.41])[(tb * 2).astype(int) % 4]
    bass = 0.35 * np.sin(2 * np.pi * np.cumsum(notes) / bass_rate) * (0.6 + 0.4 * np.exp(-((tb * 2) % 1.0) * 6))
    td = np.arange(int(drums_rate * seconds)) / drums_rate
    rng = np.random.default_rng(3)
    kick = np.sin(2 * np.pi * 55 * td * (1 + np.exp(-((td * 2) % 1.0) * 30))) * np.exp(-((td * 2) % 1.0) * 12)
    hat = rng.standard_normal(td.size) * np.exp(-((td * 4 + 0.5) % 1.0) * 50) * 0.15
    drums = np.stack([0.5 * kick + hat, 0.5 * kick + 0.6 * hat])
    pad = _tone(pad_rate, seconds, 130.8, 8, 0.15, 4) * 0.12
    pad = np.stack([pad, np.roll(pad, 700)])
    headroom = 10 ** (-14 / 20)  # stems as exported from a mix with headroom: the mix lands near -20 LUFS
    return {
        "vocal": (headroom * voice[None], voice_rate),
        "bass": (headroom * bass[None], bass_rate),
        "drums": (headroom * drums, drums_rate),
        "pad": (headroom * pad, pad_rate),
    }


SESSION = """# soundstage demo session: four generated stems, as a DAW would export them.
format = 1
sample_rate = 48000

[[stems]]
path = "stems/vocal.wav"          # 48 kHz mono 24-bit, BWF start 01:00:01
gain_db = 0.0

[[stems]]
path = "stems/bass.wav"           # 44.1 kHz mono 24-bit, BWF start 01:00:00 (resampled)
gain_db = -2.0

[[stems]]
path = "stems/drums.wav"          # 48 kHz stereo 32-bit float, BWF start 01:00:00

[[stems]]
path = "stems/pad.flac"           # 48 kHz stereo 24-bit FLAC, no BWF: placed by offset
offset_s = 2.0
gain_db = -3.0

[master]
chain = "mastering"

# a DAW's automation export: the device's width rides from narrow to full over the
# song (CC 74), on the driver feeds and on the headphone preview of the device
[midi]
map = "map.toml"
automation = "automation.mid"

[[renders]]
name = "mixdown"
kind = "mixdown"
bit_depth = 24

[[renders]]
name = "studio-5"
kind = "device"
chain = "studio-5"
per_driver = true
bit_depth = 24

# headphone previews as 32-bit float: the monitors sum two speakers at the ears, so
# peaks can pass 0 dBFS; float keeps them (the report shows each file's true peak)
[[renders]]
name = "binaural"
kind = "binaural"
chain = "studio-5-binaural"
bit_depth = 32

[[renders]]
name = "reference"
kind = "reference"
chain = "stereo-reference"
bit_depth = 32

[[renders]]
name = "ab"
kind = "ab"
a = "stereo-reference"
b = "studio-5-binaural"
bit_depth = 32
"""


MAP = """# MIDI map of the demo session: paths are renders.<render>.<node>.<parameter>
format = 1

[[bindings]]
target = "renders.studio-5.device.width"
kind = "cc"
number = 74
min = 0.3
max = 1.0

[[bindings]]
target = "renders.binaural.device.width"
kind = "cc"
number = 75
min = 0.3
max = 1.0
"""


def write_automation(path: Path, seconds: float) -> None:
    """A width ride as a DAW exports it: CC 74 and 75 from 0 to 127 over the first half, at 120 BPM."""

    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0))
    steps = 64
    ticks = int(seconds / 2 * 2 * 480 / steps)  # 2 beats per second at 120 BPM
    for step in range(steps + 1):
        value = round(127 * step / steps)
        track.append(mido.Message("control_change", control=74, value=value, time=0 if step == 0 else ticks))
        track.append(mido.Message("control_change", control=75, value=value, time=0))
    with atomic_path(path) as temporary:
        midi.save(str(temporary))


#: The files the demo writes into its folder (besides ``renders/``).
DEMO_FILES = ("stems/vocal.wav", "stems/bass.wav", "stems/drums.wav", "stems/pad.flac", "map.toml", "automation.mid")


def write_demo_session(folder: Path) -> Path:
    """Write the demo's stems and session file into ``folder``; returns the session file."""
    stems = folder / "stems"
    stems.mkdir(parents=True, exist_ok=True)
    one_hour = 3600
    for name, (audio, rate) in _stems(SECONDS).items():
        if name == "pad":
            write_stem(stems / "pad.flac", audio, rate, bit_depth=24)
        elif name == "drums":
            write_stem(stems / "drums.wav", audio, rate, bit_depth=32, time_reference=one_hour * rate)
        elif name == "vocal":
            write_stem(stems / "vocal.wav", audio, rate, bit_depth=24, time_reference=(one_hour + 1) * rate)
        else:
            write_stem(stems / f"{name}.wav", audio, rate, bit_depth=24, time_reference=one_hour * rate)
    write_text(folder / "map.toml", MAP)
    write_automation(folder / "automation.mid", SECONDS)
    session = folder / SESSION_FILE_NAME  # soundstage render FOLDER finds it
    write_text(session, SESSION)
    return session


def _check_folder(folder: Path, overwrite: bool) -> None:
    """The demo's folder: a folder (or none yet), and, without ``overwrite``, none of the demo's files in it (a
    user's own session.toml or stems/drums.wav there would be replaced)."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"demo folder {str(folder)!r} is a file; give a folder (it is created if it does not exist)")
    renders = folder / "renders"
    if renders.is_dir() and any(renders.iterdir()) and not overwrite:
        raise OutputError(f"{renders} already holds renders; pass --overwrite to render the demo again")
    taken = [name for name in (*DEMO_FILES, SESSION_FILE_NAME) if (folder / name).exists()]
    if taken and not overwrite:
        raise OutputError(
            f"demo folder {str(folder)!r} already holds {taken[0]}, which the demo would replace; give an empty or new "
            "folder, or pass --overwrite to write the demo there again"
        )


def _undo(folder: Path, kept: set[str], made: list[Path]) -> None:
    """Remove what a demo stopped while writing its session wrote: its files that were not there before (``kept``
    were: with --overwrite, they hold the demo's again), and the folders it made (``made``, outermost first)."""
    for name in (*DEMO_FILES, SESSION_FILE_NAME):
        if name not in kept:
            with contextlib.suppress(OSError):
                (folder / name).unlink(missing_ok=True)
    for path in reversed(made):
        with contextlib.suppress(OSError):  # one that holds what another program put there stays
            path.rmdir()


def run_demo(folder: Path, *, overwrite: bool = False) -> int:
    """Write the demo session into ``folder``, render it into ``folder/renders``; returns the exit status."""
    _check_folder(folder, overwrite)
    made = [path for path in (*reversed(folder.absolute().parents), folder.absolute()) if not path.exists()]
    kept = {name for name in (*DEMO_FILES, SESSION_FILE_NAME) if (folder / name).exists()}
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        why = why_not_made(folder, error, "give another folder")
        raise OutputError(f"demo folder {str(folder)!r} cannot be created{why}") from None
    renders = folder / "renders"
    if not (folder / "stems").exists():
        made.append(folder.absolute() / "stems")
    try:
        session = write_demo_session(folder)
    except BaseException:  # a full disk, Ctrl-C: no demo half there
        _undo(folder, kept, made)
        raise
    print(f"demo session: {session} (stems in {folder / 'stems'})")
    result = render_session(session, renders, overwrite=overwrite)
    for line in render_summary(result, renders):
        print(line)
    for name, reason in result.failures.items():
        print(f"soundstage: error: render {name!r} failed: {reason}", file=sys.stderr)
    return 2 if result.failures else 0
