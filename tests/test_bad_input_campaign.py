"""The bad-input campaign: what users and other programs hand soundstage, through the command line.

One table. Each case builds its inputs (with soundfile, sox or by hand), runs
``soundstage`` and checks what a user sees: a one-line error (no traceback),
exit status 2, nothing under the output's final name, no temporary file left,
and every input byte-identical afterwards (sha256 of the whole folder).
Cases marked ``ok`` are odd but valid inputs that must work (exit 0).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile
import wavinfo

from bwf import write_stem
from helpers import tool
from soundstage.cli import main
from soundstage.host.chainfile import find_chain, load_chain

SR = 48000
W = Path  # the case's workspace


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def text(path: Path, content: str) -> str:
    path.write_text(content)
    return str(path)


def raw(path: Path, content: bytes) -> str:
    path.write_bytes(content)
    return str(path)


def wav(path: Path, audio: np.ndarray, rate: int = SR, subtype: str = "FLOAT") -> str:
    soundfile.write(str(path), np.asarray(audio, np.float32).T, rate, subtype=subtype)
    return str(path)


def folder_with(folder: Path, name: str) -> str:
    """``folder``, made, with a short WAV ``name`` in it."""
    folder.mkdir(parents=True, exist_ok=True)
    wav(folder / name, noise())
    return str(folder)


def noise(channels: int = 2, frames: int = SR // 2, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal((channels, frames))).astype(np.float32)


def cut(path: Path, fraction: float = 0.5) -> str:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return str(path)


def lying_header(w: W) -> str:
    """A WAV whose data chunk claims 10x the bytes it holds (as a crashed recorder leaves it)."""
    path = Path(wav(w / "lying.wav", noise(), subtype="PCM_16"))
    data = bytearray(path.read_bytes())
    at = data.index(b"data")
    size = int.from_bytes(data[at + 4 : at + 8], "little")
    data[at + 4 : at + 8] = (size * 10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return str(path)


def sox_flac(w: W, name: str = "sox.flac") -> Path:
    if shutil.which("sox") is None:
        pytest.skip("sox is not installed (.ci/run installs it)")
    path = w / name
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "2", "-b", "24", str(path), "synth", "1", "sine", "440"], check=True)
    return path


def process(w: W, source: str, *extra: str, chain: str | None = None, out: str = "out.wav") -> list[str]:
    return ["process", source, str(w / out), "--chain", chain or gain_chain(w), *extra]


def gain_chain(w: W) -> str:
    return text(w / "gain.toml", '[[stages]]\ntype = "Gain"\nparameters = { gain_db = -3.0 }\n')


def chain_case(content: str) -> Callable[[W], list[str]]:
    return lambda w: process(w, wav(w / "in.wav", noise()), chain=text(w / "c.toml", content))


STEM_TILDE = '[[stems]]\npath = "~take.wav"\n'


def session(w: W, body: str, *, stems: int = 1, extra: str = "") -> list[str]:
    (w / "stems").mkdir(exist_ok=True)
    for index in range(stems):
        wav(w / "stems" / f"s{index}.wav", noise(seed=index))
    path = text(w / "session.toml", body)
    return ["render", path, "-o", str(w / "out"), *extra.split()]


STEM = '[[stems]]\npath = "stems/s0.wav"\n'


def _upper_folder(w: W) -> Path:
    """An input in mixes/, named as MIXES/in.wav."""
    (w / "mixes").mkdir()
    wav(w / "mixes" / "in.wav", noise())
    return w / "MIXES" / "in.wav"


def _only_outputs(w: W) -> str:
    """A glob whose only file is in a folder a batch wrote (its manifest beside it)."""
    folder_with(w / "out", "a.wav")
    text(w / "out" / "batch-manifest.jsonl", '{"item": "a", "outputs": [{"path": "a.wav"}]}\n')
    return str(w / "*" / "*.wav")


def hexagonal_wav(path: Path) -> str:
    """Six channels of noise that ffmpeg writes as a 6.0 hexagonal WAV (channel mask 0x137: FL FR FC BL BR BC)."""
    graph = "[0]asplit=6[a][b][c][d][e][f];[a][b][c][d][e][f]join=inputs=6:channel_layout=hexagonal"
    subprocess.run(
        [
            tool("ffmpeg"),
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "anoisesrc=d=0.5:r=48000",
            "-filter_complex",
            graph,
            str(path),
        ],
        check=True,
    )
    return str(path)


def checked_automation(w: W) -> list[str]:
    """session check of a session whose [midi] map binds channel 16 where its file has CC 7 on channel 1."""
    text(w / "m.toml", '[[stages]]\ntype = "Gain"\nname = "trim"\n')
    text(w / "map.toml", '[[bindings]]\ntarget = "master.trim.gain_db"\nkind = "cc"\nchannel = 16\nnumber = 7\n')
    raw(w / "auto.mid", good_midi())
    body = STEM + '[master]\nchain = "m.toml"\n[midi]\nmap = "map.toml"\nautomation = "auto.mid"\n'
    return ["session", "check", session(w, body)[1]]


def _late_midi(w: W) -> list[str]:
    """render of a session whose [midi] file's one change (at 32 s) comes after its one short stem ends."""
    text(w / "m.toml", '[[stages]]\ntype = "Gain"\nname = "trim"\n')
    text(w / "map.toml", '[[bindings]]\ntarget = "master.trim.gain_db"\nkind = "cc"\nnumber = 7\n')
    raw(w / "auto.mid", good_midi(at_beat=64))
    return session(w, STEM + '[master]\nchain = "m.toml"\n[midi]\nmap = "map.toml"\nautomation = "auto.mid"\n')


def _late_head_track(w: W) -> list[str]:
    """session check of a session whose head track (time_s from 90 s) begins after its one short stem ends."""
    text(w / "head.csv", "time_s,yaw_deg\n90,10\n100,20\n")
    body = 'head_track = "head.csv"\n' + STEM + '[[renders]]\nkind = "device"\nchain = "studio-5"\n'
    return ["session", "check", session(w, body)[1]]


def session_case(body: str) -> Callable[[W], list[str]]:
    return lambda w: session(w, body)


def midi_case(map_text: str | None, midi: bytes | None) -> Callable[[W], list[str]]:
    def build(w: W) -> list[str]:
        args = process(w, wav(w / "in.wav", noise()))
        if midi is not None:
            args += ["--midi", raw(w / "auto.mid", midi)]
        if map_text is not None:
            args += ["--map", text(w / "map.toml", map_text)]
        return args

    return build


def good_midi(at_beat: int = 0) -> bytes:
    """A MIDI file of one CC 7 on channel 1, at a beat (120 bpm: 2 beats a second)."""
    import io

    import mido

    song = mido.MidiFile()
    track = mido.MidiTrack()
    song.tracks.append(track)
    track.append(mido.Message("control_change", control=7, value=64, time=at_beat * song.ticks_per_beat))
    buffer = io.BytesIO()
    song.save(file=buffer)
    return buffer.getvalue()


def nested(depth: int) -> str:
    inner = '{ type = "Gain" }'
    for _ in range(depth):
        inner = f'{{ type = "on_channels", channels = [0, 1], stage = {inner} }}'
    return f"stages = [{inner}]\n"


# name -> (build(workspace) -> argv, message regex, expected status)
CASES: dict[str, tuple[Callable[[W], list[str]], str, int]] = {
    # -- audio files ---------------------------------------------------------------
    "wav_truncated": (
        lambda w: process(w, cut(Path(wav(w / "t.wav", noise())))),
        r"t.wav' is truncated: its header declares 24000 samples \(0.500 s\) but it holds \d+",
        2,
    ),
    "wav_truncated_16bit": (
        lambda w: process(w, cut(Path(wav(w / "t.wav", noise(), subtype="PCM_16")), 0.3)),
        r"is truncated",
        2,
    ),
    "wav_lying_header": (
        lambda w: process(w, lying_header(w)),
        r"lying.wav' is truncated: its header declares 240000 samples",
        2,
    ),
    "flac_cut_in_half": (lambda w: process(w, cut(sox_flac(w))), r"sox.flac' is truncated: its header declares 48000 samples", 2),
    "aiff_truncated": (lambda w: process(w, cut(Path(wav(w / "t.aiff", noise(), subtype="PCM_24")))), r"t.aiff' is truncated", 2),
    "not_audio_text": (
        lambda w: process(w, text(w / "notes.wav", "not audio\n" * 50)),
        r"notes.wav' is a text file, not audio \(a web page or an error message",
        2,
    ),
    "chain_file_as_input": (
        lambda w: process(w, raw(w / "bus.toml", b'format = 1\n[[stages]]\ntype = "Gain"\n')),
        r"bus.toml' is a text file, not audio \(a chain or session file\? a chain goes after --chain",
        2,
    ),
    "web_page_saved_as_wav": (
        lambda w: process(w, raw(w / "kick.wav", b"<html><body>404 Not Found</body></html>\n")),
        r"kick.wav' is a text file, not audio \(a web page or an error message saved under an audio file's name\?\)",
        2,
    ),
    "empty_file": (
        lambda w: process(w, raw(w / "empty.wav", b"")),
        r"empty.wav' is empty \(0 bytes; an export that did not finish\?\); export it again",
        2,
    ),
    "random_bytes_flac": (
        lambda w: process(w, raw(w / "r.flac", bytes(np.random.default_rng(1).integers(0, 256, 5000, np.uint8)))),
        r"r.flac' cannot be read as audio",
        2,
    ),
    "riff_header_only": (
        lambda w: process(w, raw(w / "h.wav", b"RIFF\x24\x00\x00\x00WAVEfmt ")),
        r"h.wav' is cut short: it ends after 16 bytes, inside its header",
        2,
    ),
    "nan_sample": (
        lambda w: process(w, wav(w / "n.wav", np.where(np.arange(SR) == 77, np.nan, 0.0)[None].repeat(2, 0))),
        r"n.wav' contains nan at channel 0, sample 77",
        2,
    ),
    "inf_sample": (
        lambda w: process(w, wav(w / "i.wav", np.where(np.arange(SR) == 5, np.inf, 0.0)[None].repeat(2, 0))),
        r"i.wav' contains inf at channel 0, sample 5",
        2,
    ),
    "minus_inf_sample": (
        lambda w: process(w, wav(w / "i.wav", np.where(np.arange(SR) == 9, -np.inf, 0.0)[None].repeat(2, 0))),
        r"contains -inf at channel 0, sample 9",
        2,
    ),
    "damaged_float_sample": (  # a float that no audio holds (a damaged file): through filters it turns to NaN
        lambda w: process(w, wav(w / "h.wav", np.where(np.arange(SR) == 321, 3e30, 0.0)[None].repeat(2, 0))),
        r"h.wav' contains 3e\+30 at channel 0, sample 321 \(\+610 dBFS\); soundstage takes samples within \+-1e\+06",
        2,
    ),
    "damaged_float_into_device": (  # was: a file of NaN written, exit 0
        lambda w: process(w, wav(w / "h.wav", np.where(np.arange(SR) == 9, -2e20, 0.0)[None].repeat(2, 0)), chain="studio-5"),
        r"h.wav' contains -2e\+20 at channel 0, sample 9",
        2,
    ),
    "float_24_db_over_full_scale_ok": (lambda w: process(w, wav(w / "hot.wav", 16.0 * noise())), "", 0),
    "header_says_1_hz": (
        lambda w: process(w, wav(w / "slow.wav", noise(frames=100), 1, subtype="PCM_16")),
        r"slow.wav' says 2 channel\(s\) at 1 Hz; soundstage reads 1..1024 channels at 1000..768000 Hz",
        2,
    ),
    "zero_samples": (lambda w: process(w, wav(w / "z.wav", np.zeros((2, 0)))), r"z.wav' has no samples", 2),
    "one_sample_ok": (lambda w: process(w, wav(w / "one.wav", noise(frames=1))), "", 0),
    "seven_samples_ok": (lambda w: process(w, wav(w / "seven.wav", noise(frames=7))), "", 0),
    "six_channels_into_device": (
        lambda w: process(w, wav(w / "six.wav", noise(6)), chain="studio-5"),
        r"takes 2 channel\(s\), but gets 6 from the chain input",
        2,
    ),
    "eight_channels_into_device": (
        lambda w: process(w, wav(w / "eight.wav", noise(8)), chain="studio-5"),
        r"takes 2 channel\(s\), but gets 8",
        2,
    ),
    "six_channels_gain_ok": (lambda w: process(w, wav(w / "six.wav", noise(6))), "", 0),
    "8k_device_ok": (lambda w: process(w, wav(w / "lo.wav", noise(frames=8000), 8000), chain="studio-5"), "", 0),
    "22k_device_ok": (lambda w: process(w, wav(w / "lo.wav", noise(frames=22050), 22050), chain="studio-5"), "", 0),
    "192k_device_ok": (lambda w: process(w, wav(w / "hi.wav", noise(frames=19200), 192000), chain="studio-5"), "", 0),
    "input_missing": (lambda w: process(w, str(w / "gone.wav")), r"gone.wav' does not exist", 2),
    "input_is_folder": (lambda w: process(w, str(w)), r"is a folder, not an audio file", 2),
    "output_is_input": (lambda w: process(w, wav(w / "in.wav", noise()), out="in.wav"), r"is the input file", 2),
    "output_exists": (
        lambda w: (
            [*process(w, wav(w / "in.wav", noise())[:0] or wav(w / "in.wav", noise()), out="taken.wav")]
            if text(w / "taken.wav", "mine")
            else []
        ),
        r"taken.wav' already exists; pass --overwrite",
        2,
    ),
    "chain_named_without_its_suffix": (  # was: "chain file '.../gain' does not exist"
        lambda w: process(w, wav(w / "in.wav", noise()), chain=gain_chain(w).removesuffix(".toml")),
        r"chain file '.*gain' does not exist; '.*gain\.toml' is there: give that name, with its suffix$",
        2,
    ),
    "input_named_with_another_suffix": (  # the take exported as FLAC, named .wav on the command line
        lambda w: process(w, wav(w / "take.flac", noise(), subtype="PCM_24").replace("take.flac", "take.wav")),
        r"input file '.*take\.wav' does not exist; '.*take\.flac' is there: give that name, with its suffix$",
        2,
    ),
    "input_is_a_folder_of_takes": (  # was: "is a folder, not an audio file"
        lambda w: process(w, folder_with(w / "takes", "one.wav")),
        r"input '.*takes' is a folder, not an audio file; to put each audio file in it through the chain: "
        r"soundstage batch .*takes --chain .*gain\.toml -o OUT_FOLDER$",
        2,
    ),
    "input_is_a_pattern_left_unexpanded": (  # a quoted glob, or cmd.exe's: was "'*.wav' does not exist"
        lambda w: process(w, folder_with(w / "takes", "one.wav") + "/*.wav"),
        r"input '.*takes/\*\.wav' is a pattern that matches 1 file\(s\); soundstage process takes one: .*soundstage batch",
        2,
    ),
    "inputs_a_shell_expanded": (  # process *.wav --chain C: was "unrecognized arguments: c.wav"
        lambda w: ["process", *(wav(w / f"{name}.wav", noise()) for name in "abcd"), "--chain", gain_chain(w)],
        r"soundstage process takes one input and one output, but 4 files were given \(.*a\.wav, .*b\.wav, .*c\.wav "
        r"and 1 more; a shell's \*\.wav\?\); to put many files through a chain: soundstage batch",
        2,
    ),
    "output_is_a_folder": (  # was: "give a file name such as 'out/out.wav'"
        lambda w: process(w, wav(w / "take 3.wav", noise()), out="renders") if (w / "renders").mkdir() is None else [],
        r"output '.*renders' is a folder; give a file name such as '.*renders/take 3\.wav'$",
        2,
    ),
    "output_is_the_inputs_folder": (  # the input's own name there would be the input: the example is another
        lambda w: process(w, wav(w / "take.wav", noise()), out="."),
        r"output '.*' is a folder; give a file name such as '.*/take-processed\.wav'$",
        2,
    ),
    "output_folder_missing": (
        lambda w: process(w, wav(w / "in.wav", noise()), out="nowhere/out.wav"),
        r"does not exist; create it",
        2,
    ),
    "output_mp3": (
        lambda w: process(w, wav(w / "in.wav", noise()), out="out.mp3"),
        r"unsupported format .mp3; use .wav, .aiff or .flac",
        2,
    ),
    "output_flac_10_channels": (
        lambda w: process(
            w,
            wav(w / "in.wav", noise()),
            out="out.flac",
            chain=text(w / "r.toml", '[[stages]]\ntype = "route"\nchannels = [0,1,0,1,0,1,0,1,0,1]\n'),
        ),
        r"10 channels; FLAC holds 1..8",
        2,
    ),
    "output_flac_32": (
        lambda w: process(w, wav(w / "in.wav", noise()), "--bit-depth", "32", out="out.flac"),
        r"FLAC holds 16 or 24-bit integers, not 32",
        2,
    ),
    # -- chain files -----------------------------------------------------------------
    "chain_not_toml": (chain_case("[[stages]\ntype = "), r"c.toml: not valid TOML", 2),
    "chain_binary": (
        lambda w: process(w, wav(w / "in.wav", noise()), chain=raw(w / "c.toml", b"\xff\xfe\x00garbage")),
        r"c.toml' cannot be read|c.toml: not valid TOML",
        2,
    ),
    "chain_missing": (
        lambda w: process(w, wav(w / "in.wav", noise()), chain=str(w / "gone.toml")),
        r"gone.toml' does not exist",
        2,
    ),
    "chain_unknown_preset": (
        lambda w: process(w, wav(w / "in.wav", noise()), chain="studio5"),
        r"no chain file 'studio5' and no preset of that name; did you mean 'studio-5'",
        2,
    ),
    "chain_format_2": (chain_case("format = 2\n"), r"format: format = 2 is not allowed: one of 1", 2),
    "chain_stages_not_array": (
        chain_case('stages = "Gain"\n'),
        r"c.toml: stages: stages = 'Gain' is not allowed: must be a valid list",
        2,
    ),
    "chain_unknown_key": (chain_case('[[stages]]\ntype = "Gain"\nvolume = 3\n'), r"stages\[0\]\.volume: unknown key 'volume'", 2),
    "chain_parameter_beside_type": (
        chain_case('[[stages]]\ntype = "Gain"\ngain_db = -3.0\n'),
        r"stages\[0\]\.gain_db: 'gain_db' is a parameter of Gain: write it in the stage's parameters table, "
        r"parameters = \{ gain_db = -3.0 \}",
        2,
    ),
    "chain_builtin_parameter_beside_type": (
        chain_case('[[stages]]\ntype = "pedalboard.Reverb"\nroom_size = 0.5\n'),
        r"'room_size' is a parameter of pedalboard.Reverb: write it in the stage's parameters table",
        2,
    ),
    "chain_one_stages_table": (
        chain_case('[stages]\ntype = "Gain"\n'),
        r"stages: \[stages\] holds one table where a list is wanted: write \[\[stages\]\], with double brackets",
        2,
    ),
    "session_one_stems_table": (
        session_case('[stems]\npath = "stems/s0.wav"\n'),
        r"stems: \[stems\] holds one table where a list is wanted: write \[\[stems\]\]",
        2,
    ),
    "chain_unknown_type": (chain_case('[[stages]]\ntype = "Upmixx"\n'), r"unknown stage type 'Upmixx'; did you mean 'Upmix'", 2),
    "chain_type_under_another_key": (  # before: "stages[0].type: missing or not a string (got None); stage types: ..."
        chain_case('[[stages]]\nkind = "pedalboard.Reverb"\n'),
        r"c.toml: stages\[0\]\.kind: a stage's type goes under 'type': write type = \"pedalboard.Reverb\", not kind = \.\.\.$",
        2,
    ),
    "chain_builtin_parameter_misspelt": (  # before: no suggestion for a built-in's parameter
        chain_case('[[stages]]\ntype = "pedalboard.Reverb"\nparameters = { roomsize = 0.5 }\n'),
        r"pedalboard\.Reverb has no parameter 'roomsize'; did you mean 'room_size'\? \(parameters: ",
        2,
    ),
    "chain_setting_written_among_the_parameters": (  # before: "has no parameter 'device'"
        chain_case('[[stages]]\ntype = "Spatializer"\nparameters = { device = "studio-5", width = 0.5 }\n'),
        r"parameters\.device: 'device' is not a parameter of Spatializer: write it beside type, device = \"studio-5\"$",
        2,
    ),
    # a pedalboard built-in by its own name: 'Compressor' found 'pedalboard.Compressor', 'Reverb' found nothing
    "chain_builtin_without_its_prefix": (
        chain_case('[[stages]]\ntype = "reverb"\n'),
        r"unknown stage type 'reverb'; did you mean 'pedalboard\.Reverb'\? \(stage types: ",
        2,
    ),
    "chain_gain_1000": (
        chain_case('[[stages]]\ntype = "Gain"\nparameters = { gain_db = 1000.0 }\n'),
        r"stages\[0\]\.parameters\.gain_db: .*1000\.0 is outside",
        2,
    ),
    "chain_gain_1e300": (
        chain_case('[[stages]]\ntype = "Gain"\nparameters = { gain_db = 1e300 }\n'),
        r"stages\[0\]\.parameters\.gain_db: .*is outside",
        2,
    ),
    "chain_gain_nan": (
        chain_case('[[stages]]\ntype = "Gain"\nparameters = { gain_db = nan }\n'),
        r"stages\[0\]\.parameters\.gain_db",
        2,
    ),
    "chain_gain_string": (
        chain_case('[[stages]]\ntype = "Gain"\nparameters = { gain_db = "loud" }\n'),
        r"stages\[0\]\.parameters\.gain_db",
        2,
    ),
    "chain_align_huge_delay": (chain_case('[[stages]]\ntype = "Align"\ndelays_ms = [1e12, 0]\n'), r"stages\[0\].*delays_ms", 2),
    "chain_align_negative_delay": (
        chain_case('[[stages]]\ntype = "Align"\ndelays_ms = [-5.0, 0]\n'),
        r"stages\[0\].*delays_ms",
        2,
    ),
    "chain_route_negative": (chain_case('[[stages]]\ntype = "route"\nchannels = [-1]\n'), r"stages\[0\]\.channels", 2),
    "chain_route_70000": (
        chain_case(f'[[stages]]\ntype = "route"\nchannels = {list(range(70000))}\n'),
        r"stages\[0\]\.channels",
        2,
    ),
    "chain_route_empty": (chain_case('[[stages]]\ntype = "route"\nchannels = []\n'), r"stages\[0\]\.channels", 2),
    "chain_nested_600": (chain_case(nested(600)), r"c.toml: .*nest", 2),
    "chain_nested_40": (chain_case(nested(40)), r"c.toml: stages\[0\]: stage tables nest 33 deep here; at most 32", 2),
    "chain_spatializer_device_int": (
        chain_case('[[stages]]\ntype = "Spatializer"\ndevice = 5\n'),
        r"stages\[0\]\.device: .*5",
        2,
    ),
    "chain_unknown_device": (chain_case('[[stages]]\ntype = "Spatializer"\ndevice = "nope"\n'), r"stages\[0\].*'nope'", 2),
    "chain_monitor_huge_room": (
        chain_case('[[stages]]\ntype = "BinauralMonitor"\nroom = [1e6, 1e6, 1e6]\n'),
        r"stages\[0\].*room",
        2,
    ),
    "chain_plugin_missing": (
        chain_case('[[stages]]\ntype = "plugin"\npath = "gone.vst3"\n'),
        r"plugin file 'gone.vst3' does not exist",
        2,
    ),
    "chain_plugin_not_a_plugin": (
        lambda w: process(
            w,
            wav(w / "in.wav", noise()),
            chain=text(w / "c.toml", f'[[stages]]\ntype = "plugin"\npath = "{text(w / "fake.vst3", "nope")}"\n'),
        ),
        r"fake.vst3",
        2,
    ),
    "chain_name_with_dot": (chain_case('[[stages]]\ntype = "Gain"\nname = "a.b"\n'), r"stages\[0\].*'a.b'", 2),
    "chain_duplicate_names": (
        chain_case('[[stages]]\ntype = "Gain"\nname = "g"\n[[stages]]\ntype = "Gain"\nname = "g"\n'),
        r"stages\[1\].*already has a node named 'g'",
        2,
    ),
    "chain_stage_not_table": (chain_case("stages = [1, 2]\n"), r"stages\[0\]: expected a table", 2),
    # -- sessions ------------------------------------------------------------------
    "session_not_toml": (session_case("[[stems]\n"), r"session.toml: not valid TOML", 2),
    "session_no_stems": (session_case("format = 1\n"), r"session.toml: stems: stems is required", 2),
    "session_stem_missing": (
        session_case('[[stems]]\npath = "stems/gone.wav"\n'),
        r"stems\[0\]\.path \('gone'\): .*gone.wav' does not exist",
        2,
    ),
    "session_stem_not_audio": (
        lambda w: session(w, '[[stems]]\npath = "notes.wav"\n') if text(w / "notes.wav", "x" * 99) else [],
        r"stems\[0\]\.path \('notes'\): .*notes.wav' is a text file, not audio \(a web page",
        2,
    ),
    "hexagonal_file_through_the_5_1_fold_down": (  # its back center played as the LFE, at -120 dB
        lambda w: process(w, hexagonal_wav(w / "hex.wav"), chain="downmix-5.1"),
        r"hex\.wav': its channel mask says FL FR FC BL BR BC \(0x137\), not a 5\.1 bed .*a mix matrix of its own",
        2,
    ),
    "session_hexagonal_stem_through_the_5_1_fold_down": (
        lambda w: session(w, '[[stems]]\npath = "hex.wav"\nchain = "downmix-5.1"\n') if hexagonal_wav(w / "hex.wav") else [],
        r"session.toml: stem 'hex' \('.*hex\.wav'\): its channel mask says FL FR FC BL BR BC \(0x137\), not a 5\.1 bed",
        2,
    ),
    "session_stem_truncated": (
        lambda w: [*session(w, STEM), *([] if cut(w / "stems" / "s0.wav") else [])],
        r"stems\[0\]\.path \('s0'\): .*is truncated",
        2,
    ),
    "session_stem_inf": (  # was: rendered, the inf written as full scale, exit 0
        lambda w: [
            *session(w, STEM),
            *([] if wav(w / "stems" / "s0.wav", np.where(np.arange(SR) == 5, np.inf, 0.0)[None]) else []),
        ],
        r"stem 's0': .*s0.wav' contains inf at channel 0, sample 5; soundstage only processes finite samples",
        2,
    ),
    "session_stem_damaged_float": (
        lambda w: [
            *session(w, STEM),
            *([] if wav(w / "stems" / "s0.wav", np.where(np.arange(SR) == 7, 1e25, 0.0)[None]) else []),
        ],
        r"stem 's0': .*s0.wav' contains 1e\+25 at channel 0, sample 7",
        2,
    ),
    "session_offset_1e9": (session_case(STEM + "offset_s = 1e9\n"), r"stems\[0\]\.offset_s: .*1e\+09|stems\[0\]\.offset_s", 2),
    "session_offset_negative": (session_case(STEM + "offset_s = -1.0\n"), r"stems\[0\]\.offset_s: offset_s = -1 is negative", 2),
    "session_tail_negative": (session_case("tail_s = -2.0\n" + STEM), r"session\.toml: tail_s: tail_s = -2\.0 .*at least 0", 2),
    "session_tail_of_an_hour": (session_case("tail_s = 3600\n" + STEM), r"session\.toml: tail_s: tail_s = 3600 .*at most 600", 2),
    "session_with_the_absolute_paths_of_another_machine": (
        lambda w: session(
            w, "[[stems]]\npath = \"/Volumes/Studio/Album/stems/s0.wav\"\n[[stems]]\npath = 'D:\\Album\\stems\\s1.wav'\n", stems=2
        ),
        r"stems\[0\]\.path \('s0'\): input file '/Volumes/Studio/Album/stems/s0\.wav' does not exist; the session's folder "
        r"holds 'stems/s0\.wav': write path = 'stems/s0\.wav' \(1 more stem\(s\) so\), relative to the session file",
        2,
    ),
    "session_gain_1000": (session_case(STEM + "gain_db = 1000.0\n"), r"stems\[0\]\.gain_db", 2),
    "session_gain_1e300": (session_case(STEM + "gain_db = 1e300\n"), r"stems\[0\]\.gain_db", 2),
    "session_unknown_kind": (
        session_case(STEM + '[[renders]]\nkind = "surround"\n'),
        r"renders\[0\]\.kind: kind = 'surround' is not allowed: one of 'mixdown', 'device'",
        2,
    ),
    "session_render_escapes": (
        session_case(STEM + '[[renders]]\nname = "../escaped"\n'),
        r"renders\[0\]\.name: render name '../escaped'",
        2,
    ),
    "session_render_absolute": (
        session_case(STEM + '[[renders]]\nname = "/tmp/abs"\n'),
        r"renders\[0\]\.name: render name '/tmp/abs'",
        2,
    ),
    "session_render_collision": (
        session_case(STEM + '[[renders]]\nname = "ab"\nkind = "ab"\n[[renders]]\nname = "ab-A"\n'),
        r"render 'ab-A' would write 'ab-A.wav', which render 'ab' also writes",
        2,
    ),
    "session_mute_quoted": (  # was "must be a valid boolean", which names no value that is one
        session_case(STEM + 'mute = "True"\n'),
        r"stems\[0\]\.mute: mute = 'True' is not allowed: must be true or false \(TOML's booleans: no quotes, lower case\)$",
        2,
    ),
    "session_bus_solo_number": (
        session_case(STEM + 'bus = "x"\n[[buses]]\nname = "x"\nsolo = 1\n'),
        r"buses\[0\]\.solo: solo = 1 is not allowed: must be true or false",
        2,
    ),
    "session_rate_1": (
        session_case("sample_rate = 1\n" + STEM),
        r"sample_rate: sample_rate = 1 is not allowed: at least 8000",
        2,
    ),
    "session_rate_fractional": (  # before: refused by the output layer only after the whole render had run
        session_case("sample_rate = 48000.5\n" + STEM + '[[renders]]\nname = "mix"\n'),
        r"sample_rate: sample_rate = 48000\.5 is not allowed: a whole number of Hz, as audio files hold \(e\.g\. 48000\)$",
        2,
    ),
    "session_mixdown_with_a_chain": (  # before: the chain was ignored, in silence
        session_case(STEM + '[[renders]]\nname = "mix"\nchain = "studio-5"\n'),
        r"renders\[0\]\.chain: chain applies to kind = 'device' or 'binaural' or 'reference' renders only, not 'mixdown'; "
        r"a chain on the mix goes in \[master\]$",
        2,
    ),
    "render_a_folder_of_stems_with_no_session": (  # before: "is a folder: give the .toml file (it holds none)"
        lambda w: ["render", folder_with(w / "stems", "kick.wav")],
        r"stems' is a folder of stems with no session\.toml; write one first: soundstage session new .*stems$",
        2,
    ),
    "session_check_reads_the_automation": (  # before: session check passed, and render refused it
        checked_automation,
        r"session.toml: midi: MIDI file '.*auto\.mid' moves nothing the map .*map\.toml binds: it holds cc 7 on channel 1",
        2,
    ),
    "session_check_finds_a_chain_that_is_not_there": (  # before: session check said nothing, render said no key
        lambda w: ["session", "check", session(w, STEM + '[master]\nchain = "masterng.toml"\n')[1]],
        r"session\.toml: master\.chain: chain file '.*masterng\.toml' does not exist$",
        2,
    ),
    "session_unknown_bus": (session_case(STEM + 'bus = "drums"\n'), r"stems\[0\]\.bus: bus = 'drums' is not defined", 2),
    "session_duplicate_stem": (session_case(STEM + STEM), r"stems\[1\]\.name: stem name 's0' is used twice", 2),
    "session_unknown_top_key": (session_case("tempo = 120\n" + STEM), r"tempo: unknown key 'tempo'", 2),
    "session_bit_depth_12": (
        session_case(STEM + '[[renders]]\nname = "m"\nbit_depth = 12\n'),
        r"renders\[0\]\.bit_depth: bit_depth = 12",
        2,
    ),
    "session_format_mp3": (
        session_case(STEM + '[[renders]]\nname = "m"\nformat = "mp3"\n'),
        r"renders\[0\]\.format: format = 'mp3'",
        2,
    ),
    "session_chain_missing": (session_case(STEM + 'chain = "gone.toml"\n'), r"gone.toml' does not exist", 2),
    "session_ceiling_positive": (
        session_case(STEM + '[[renders]]\nname = "ab"\nkind = "ab"\nceiling_dbtp = 5.0\n'),
        r"renders\[0\]\.ceiling_dbtp: ceiling_dbtp = 5.0 is not allowed: at most 0",
        2,
    ),
    "session_midi_map_missing": (session_case(STEM + '[midi]\nmap = "gone.toml"\nautomation = "gone.mid"\n'), r"midi: .*gone", 2),
    "session_render_exists": (
        lambda w: session(w, STEM) if (w / "out").mkdir() or text(w / "out" / "mixdown.wav", "mine") else [],
        r"render 'mixdown' failed: .*mixdown.wav' already exists; pass --overwrite",
        2,
    ),
    "session_only_unknown": (lambda w: session(w, STEM, extra="--only nope"), r"no render named 'nope'", 2),
    # -- MIDI maps and files -------------------------------------------------------
    "map_not_toml": (midi_case("[[bindings]\n", good_midi()), r"map.toml: not valid TOML", 2),
    "map_unknown_target": (
        midi_case('[[bindings]]\ntarget = "0.volume"\nkind = "cc"\nnumber = 7\n', good_midi()),
        r"0.volume",
        2,
    ),
    "map_target_under_another_key": (  # before: "bindings[0].target: target is required", and no word of 'param'
        midi_case('[[bindings]]\nparam = "0.gain_db"\nkind = "cc"\nnumber = 7\n', good_midi()),
        r"map.toml: bindings\[0\]\.target: target is required; 'param' is no key here \(allowed: channel, curve, .*target\)$",
        2,
    ),
    "map_cc_200": (midi_case('[[bindings]]\ntarget = "0.gain_db"\nkind = "cc"\nnumber = 200\n', good_midi()), r"number", 2),
    "map_min_out_of_range": (
        midi_case('[[bindings]]\ntarget = "0.gain_db"\nkind = "cc"\nnumber = 7\nmin = -500.0\n', good_midi()),
        r"min",
        2,
    ),
    "map_on_a_channel_the_file_has_nothing_on": (  # 0 parameter changes, and the file written unautomated
        midi_case('[[bindings]]\ntarget = "0.gain_db"\nkind = "cc"\nchannel = 16\nnumber = 7\n', good_midi()),
        r"'.*auto\.mid' moves nothing the map .*map\.toml binds: it holds cc 7 on channel 1 \(1\); the map binds cc 7 "
        r"on channel 16; bind the controls the file holds",
        2,
    ),
    "map_on_a_control_the_file_does_not_move": (
        midi_case('[[bindings]]\ntarget = "0.gain_db"\nkind = "cc14"\nnumber = 11\n', good_midi()),
        r"it holds cc 7 on channel 1 \(1\); the map binds cc14 11 on any channel",
        2,
    ),
    "midi_exported_from_another_start_than_the_audio": (  # every change after the input's end: nothing moved
        midi_case('[[bindings]]\ntarget = "0.gain_db"\nkind = "cc"\nnumber = 7\n', good_midi(at_beat=64)),
        r"MIDI file '.*auto\.mid': its 1 parameter change\(s\) begin at 32\.00 s, after the audio's end \(\d+\.\d\d s\), so "
        r"nothing would move; its times count from the input's first sample: export it from there",
        2,
    ),
    "session_midi_exported_from_another_start": (
        _late_midi,
        r"session\.toml: midi\.automation: MIDI file 'auto\.mid': its 1 parameter change\(s\) begin at 32\.00 s, after the "
        r"audio's end",
        2,
    ),
    "session_head_track_recorded_from_another_start": (
        _late_head_track,
        r"session\.toml: head_track 'head\.csv': its \d+ parameter change\(s\) begin at 90\.00 s, after the audio's end "
        r"\(\d+\.\d\d s\), so nothing would move; its times count from the session's zero",
        2,
    ),
    "midi_truncated": (
        midi_case('[[bindings]]\ntarget = "0.gain_db"\nkind = "cc"\nnumber = 7\n', good_midi()[:20]),
        r"auto.mid.*: \S",
        2,
    ),
    "midi_not_midi": (
        midi_case('[[bindings]]\ntarget = "0.gain_db"\nkind = "cc"\nnumber = 7\n', b"hello world" * 10),
        r"auto.mid",
        2,
    ),
    "learn_into_broken_map": (
        lambda w: [
            "midi",
            "learn",
            "--chain",
            gain_chain(w),
            "--map",
            text(w / "m.toml", "[[bindings]\n"),
            "--param",
            "0.gain_db",
            "--in",
            "tcp:127.0.0.1:9",
        ],
        r"m.toml: not valid TOML",
        2,
    ),
    "midi_without_map": (midi_case(None, good_midi()), r"automation needs both --midi FILE.mid and --map MAP.toml", 2),
    # -- command-line arguments ----------------------------------------------------
    "buffer_size_0": (
        lambda w: process(w, wav(w / "in.wav", noise()), "--buffer-size", "0"),
        r"--buffer-size: 0 is outside 1..16777216",
        2,
    ),
    "buffer_size_negative": (lambda w: process(w, wav(w / "in.wav", noise()), "--buffer-size", "-5"), r"--buffer-size", 2),
    "tail_negative": (lambda w: process(w, wav(w / "in.wav", noise()), "--tail", "-1"), r"--tail: -1 is outside 0", 2),
    "tail_nan": (lambda w: process(w, wav(w / "in.wav", noise()), "--tail", "nan"), r"--tail: nan is outside 0", 2),
    "buffer_size_text": (lambda w: process(w, wav(w / "in.wav", noise()), "--buffer-size", "big"), r"--buffer-size: 'big'", 2),
    "buffer_size_fraction": (
        lambda w: process(w, wav(w / "in.wav", noise()), "--buffer-size", "1.5"),
        r"--buffer-size: '1.5' is not a whole number",  # before: "is not a number"
        2,
    ),
    "bit_depth_12": (lambda w: process(w, wav(w / "in.wav", noise()), "--bit-depth", "12"), r"--bit-depth", 2),
    "chain_show_channels_negative": (
        lambda w: ["chain", "show", "studio-5", "--channels", "-1"],
        r"--channels: -1 is outside 1..1024",
        2,
    ),
    "chain_show_channels_0": (
        lambda w: ["chain", "show", "mastering", "--channels", "0"],
        r"--channels: 0 is outside 1..1024",
        2,
    ),
    "chain_show_rate_0": (lambda w: ["chain", "show", "mastering", "--sample-rate", "0"], r"--sample-rate: 0", 2),
    "analyze_distance_negative": (lambda w: ["analyze", "crosstalk", "--distance-m", "-1"], r"--distance-m", 2),
    # a measured head has its own size: the radius was ignored in silence
    "analyze_virtualizer_radius_with_a_measured_head": (
        lambda w: [
            "analyze",
            "virtualizer",
            "--hrtf",
            "/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa",
            "--head-radius-m",
            "0.1",
        ],
        r"--head-radius-m 0\.1 sizes a head model, and --hrtf '.*MIT_KEMAR_normal_pinna\.sofa' is a measured head .*: give one",
        2,
    ),
    "analyze_virtualizer_radius_beyond_the_stage": (
        lambda w: ["analyze", "virtualizer", "--head-radius-m", "0.15"],
        r"--head-radius-m: 0\.15 is outside 0\.05\.\.0\.12 m",
        2,
    ),
    # a path starting with ~ and no such user (~unknown-user/... or a file named ~mix.wav): pathlib raised
    "hrtf_tilde_no_such_user": (
        lambda w: process(w, wav(w / "in.wav", noise()), "--hrtf", "~no-such-user/me.sofa", chain="studio-5"),
        r"--hrtf '~no-such-user/me.sofa': the file does not exist; give the listener's SOFA file",
        2,
    ),
    "hrtf_a_folder_for_live": (
        lambda w: ["live", "--chain", "studio-5", "--hrtf", str(w), "--signal", "noise", "--seconds", "0.1"],
        r"--hrtf '.*': the file is a folder; give the listener's SOFA file \(\.sofa\), or a head model \(model, ",
        2,
    ),
    "device_tilde_no_such_user": (
        lambda w: ["analyze", "crosstalk", "--device", "~no-such-user.toml"],
        r"device profile file '~no-such-user.toml' does not exist",
        2,
    ),
    "session_stem_named_tilde_ok": (
        lambda w: [wav(w / "~take.wav", noise())] and session(w, STEM_TILDE),
        "",
        0,
    ),
    # a session or chain file made on macOS or Windows, whose file systems ignore case: the file is named otherwise
    "session_stem_in_another_case": (
        session_case('[[stems]]\npath = "stems/S0.WAV"\n'),
        r"stems\[0\]\.path \('S0'\): input file '.*S0\.WAV' does not exist; '.*stems/s0\.wav' is there, named in "
        r"another case \(macOS and Windows ignore case, this system does not\): use that name$",
        2,
    ),
    "input_folder_in_another_case": (
        lambda w: process(w, str(_upper_folder(w))),
        r"input file '.*/MIXES/in\.wav' does not exist; '.*/mixes/in\.wav' is there, named in another case",
        2,
    ),
    "plugin_in_another_case": (
        lambda w: (
            [(w / "Plugins" / "Comp.vst3").mkdir(parents=True)]
            and process(
                w,
                wav(w / "in.wav", noise()),
                chain=text(w / "c.toml", '[[stages]]\ntype = "plugin"\npath = "plugins/comp.vst3"\n'),
            )
        ),
        r"stages\[0\]\.path: plugin file 'plugins/comp\.vst3' does not exist \(looked at '.*'\); '.*/Plugins/Comp\.vst3' is there",
        2,
    ),
    # stems linked from a drive that is not mounted: the link is there, what it points at is not
    "session_stems_linked_from_a_drive_not_mounted": (
        lambda w: (
            [os.symlink("/media/no-such-drive/Session 1", w / "Stems")]
            and session_case('[[stems]]\npath = "Stems/kick.wav"\n')(w)
        ),
        r"input file '.*Stems/kick\.wav' does not exist; '.*/Stems' is a link to '/media/no-such-drive/Session 1', "
        r"which is not there \(a drive not mounted\?\)$",
        2,
    ),
    # an output folder given as a file, or under one: each was a traceback (NotADirectoryError)
    "batch_output_is_a_file": (
        lambda w: ["batch", str(w), "--chain", "mastering", "-o", wav(w / "in.wav", noise())],
        r"batch: output folder '.*in\.wav' is a file; choose another -o$",
        2,
    ),
    "batch_output_under_a_file": (
        lambda w: ["batch", str(w), "--chain", "mastering", "-o", wav(w / "in.wav", noise()) + "/out"],
        r"batch: output folder '.*in\.wav/out' cannot be created \(Not a directory\); choose another -o$",
        2,
    ),
    "process_output_under_a_file": (  # before: "output folder '.../in.wav' does not exist"
        lambda w: process(w, wav(w / "in.wav", noise()), out="in.wav/out.wav"),
        r"output folder '.*in\.wav' is a file, not a folder; give another output path$",
        2,
    ),
    "render_output_under_a_file": (
        lambda w: session(w, STEM)[:-1] + [wav(w / "in.wav", noise()) + "/renders"],
        r"output folder '.*in\.wav/renders': its parent '.*in\.wav' is a file, not a folder$",
        2,
    ),
    "demo_folder_is_a_file": (
        lambda w: ["demo", wav(w / "in.wav", noise())],
        r"demo folder '.*in\.wav' is a file; give a folder",
        2,
    ),
    "demo_folder_under_a_file": (
        lambda w: ["demo", wav(w / "in.wav", noise()) + "/demo"],
        r"demo folder '.*in\.wav/demo' cannot be created \(Not a directory\); give another folder$",
        2,
    ),
    # the demo into a project folder: it replaced the user's session.toml and stems/drums.wav
    "demo_into_a_folder_with_the_users_session": (
        lambda w: ["demo", str(w)] if text(w / "session.toml", "# mine\n") else [],
        r"demo folder '.*' already holds session\.toml, which the demo would replace; give an empty or new folder",
        2,
    ),
    "chain_preset_as_a_file_in_another_case": (
        lambda w: process(w, wav(w / "in.wav", noise()), chain="Mastering.toml"),
        r"chain file 'Mastering\.toml' does not exist here; for the preset of that name, give its name: 'mastering'$",
        2,
    ),
    "chain_preset_by_its_path_in_the_repository": (  # as the README names them, run from another folder
        lambda w: process(w, wav(w / "in.wav", noise()), chain="chains/studio-5.toml"),
        r"chain file 'chains/studio-5\.toml' does not exist here; for the preset of that name, give its name: 'studio-5'$",
        2,
    ),
    "chain_file_in_another_case": (
        lambda w: (
            process(w, wav(w / "in.wav", noise()), chain="mine.toml") if gain_chain(w) and text(w / "Mine.toml", "") else []
        ),
        r"chain file 'mine\.toml' does not exist; 'Mine\.toml' is there, named in another case",
        2,
    ),
    "midi_and_map_in_another_case": (
        lambda w: (
            midi_case('[[bindings]]\ntarget = "0.gain_db"\nnumber = 7\n', good_midi())(w)[:-4]
            + ["--midi", str(w / "Auto.MID"), "--map", str(w / "map.toml")]
        ),
        r"MIDI file '.*Auto\.MID' does not exist; '.*auto\.mid' is there, named in another case",
        2,
    ),
    "map_in_another_case": (
        lambda w: midi_case('[[bindings]]\ntarget = "0.gain_db"\nnumber = 7\n', good_midi())(w)[:-2] + ["--map", "Map.toml"],
        r"MIDI map 'Map\.toml' does not exist; 'map\.toml' is there, named in another case",
        2,
    ),
    "hrtf_in_another_case": (
        lambda w: (
            process(w, wav(w / "in.wav", noise()), "--hrtf", "me.sofa", chain="studio-5")
            if (w / "Me.sofa").write_bytes(b"\x89HDF")
            else []
        ),
        r"--hrtf 'me\.sofa': the file does not exist; 'Me\.sofa' is there, named in another case .*: use that name$",
        2,
    ),
    "head_track_in_another_case": (
        lambda w: (
            process(w, wav(w / "in.wav", noise()), "--head-track", "Track.csv", chain="studio-5")
            if text(w / "track.csv", "time_s,yaw_deg\n0,0\n")
            else []
        ),
        r"Track\.csv: cannot read the head track \(No such file or directory\); 'track\.csv' is there, named in another",
        2,
    ),
    # a list of tables under a name one letter off: said as the key written (before: "items: items is required")
    "job_list_item_for_items": (
        lambda w: ["batch", text(w / "jobs.toml", '[[item]]\ninput = "a.wav"\nchain = "mastering"\n'), "-o", str(w / "o")],
        r"jobs\.toml: item: unknown key 'item'; did you mean 'items'\? \(allowed: ",
        2,
    ),
    # options and keys that changed nothing were dropped in silence: the batch ran with what the items said
    "batch_chain_beside_items_with_their_own": (
        lambda w: ["batch", text(w / "jobs.toml", '[[items]]\ninput = "a.wav"\nchain = "mastering"\n'), "--chain", "studio-5"],
        r"batch: --chain studio-5 would change nothing: every item of .*jobs\.toml names its own chain .*; drop --chain",
        2,
    ),
    "batch_hrtf_beside_items_with_their_own": (
        lambda w: [
            "batch",
            text(w / "jobs.toml", '[[items]]\ninput = "a.wav"\nchain = "studio-5"\nhrtf = "model"\n'),
            "--hrtf",
            "rigid-sphere",
        ],
        r"batch: --hrtf would change nothing: every item of .*jobs\.toml names its own head \(hrtf\); drop --hrtf",
        2,
    ),
    "job_list_session_item_with_a_chain": (
        lambda w: ["batch", text(w / "jobs.toml", '[[items]]\nsession = "s.toml"\nchain = "studio-5"\n'), "-o", str(w / "o")],
        r"jobs\.toml: items\[0\]: chain = 'studio-5' is for an input item; a session renders the chains it names",
        2,
    ),
    "job_list_session_item_with_a_tail": (
        lambda w: ["batch", text(w / "jobs.toml", '[[items]]\nsession = "s.toml"\ntail_s = 2.0\n'), "-o", str(w / "o")],
        r"jobs\.toml: items\[0\]: tail_s = 2 is for an input item; a session's tail is the tail_s of its own file",
        2,
    ),
    "batch_tail_beside_items_with_their_own": (
        lambda w: [
            "batch",
            text(w / "jobs.toml", 'chain = "mastering"\n[[items]]\ninput = "a.wav"\ntail_s = 1.0\n'),
            "--tail",
            "2",
            "-o",
            str(w / "o"),
        ],
        r"batch: --tail would change nothing: every item of .*jobs\.toml gives its own tail_s or is a session",
        2,
    ),
    "job_list_tail_negative": (
        lambda w: ["batch", text(w / "jobs.toml", 'chain = "mastering"\ntail_s = -1\n[[items]]\ninput = "a.wav"\n')],
        r"jobs\.toml: tail_s: tail_s = -1 is not allowed: at least 0",
        2,
    ),
    "batch_glob_that_holds_only_a_batchs_outputs": (
        lambda w: ["batch", _only_outputs(w), "--chain", "mastering", "-o", str(w / "again")],
        r"batch: the glob '.*/\*/\*\.wav' holds only what soundstage wrote \(out/\); to process that, give its folder$",
        2,
    ),
    "job_list_with_the_absolute_paths_of_another_machine": (
        lambda w: [
            "batch",
            text(w / "jobs.toml", 'chain = "mastering"\n[[items]]\ninput = "/Volumes/Masters/songs/a.wav"\n')
            if folder_with(w / "songs", "a.wav")
            else "",
            "-o",
            str(w / "o"),
        ],
        r"jobs\.toml: items\[0\]\.input: '/Volumes/Masters/songs/a\.wav' does not exist; the job list's folder holds "
        r"'songs/a\.wav': write input = 'songs/a\.wav', relative to the job list",
        2,
    ),
    "batch_workers_with_a_scheduler": (
        lambda w: ["batch", str(w), "--chain", "mastering", "--scheduler", "tcp://127.0.0.1:1", "--workers", "4"],
        r"batch: --workers sets the local worker processes; with --scheduler the cluster's workers run the items .*: drop",
        2,
    ),
    # one kind of soundstage file given where another goes: said as the schema's unknown keys ("stages: unknown key
    # 'stages'; did you mean 'stems'?" for a chain given as a session)
    "a_session_given_as_a_chain": (
        lambda w: process(w, wav(w / "in.wav", noise()), chain=text(w / "session.toml", '[[stems]]\npath = "in.wav"\n')),
        r"session\.toml: this is a session file \(it has stems\), not a chain file; a session goes to soundstage render",
        2,
    ),
    "a_chain_given_as_a_session": (
        lambda w: ["render", text(w / "bus.toml", '[[stages]]\ntype = "Gain"\n')],
        r"bus\.toml: this is a chain file \(it has stages\), not a session file; a chain goes after --chain",
        2,
    ),
    "a_map_given_as_a_session": (
        lambda w: ["session", "check", text(w / "map.toml", '[[bindings]]\ntarget = "level.gain_db"\nnumber = 7\n')],
        r"map\.toml: this is a MIDI map \(it has bindings\), not a session file; a MIDI map goes after --map",
        2,
    ),
    "a_job_list_given_as_a_map": (
        lambda w: process(
            w,
            wav(w / "in.wav", noise()),
            "--midi",
            str(w / "a.mid"),
            "--map",
            text(w / "jobs.toml", '[[items]]\ninput = "in.wav"\n'),
            chain="mastering",
        ),
        r"jobs\.toml: this is a batch job list \(it has items\), not a MIDI map; a job list goes to soundstage batch",
        2,
    ),
    # a 5.1 or 7.1 export into a stereo chain: the fix offered was OnChannels / Route, which drop the centre and the
    # surrounds; the fold-down is what a mastering engineer wants
    "a_5_1_bed_into_a_stereo_chain": (
        lambda w: process(w, wav(w / "bed.wav", noise(channels=6)), chain="studio-5"),
        r"'device' \(chain\[0\]\) takes 2 channel\(s\), but gets 6 from the chain input; a 5\.1 bed\? fold it down first "
        r"with Mix\(downmix=\"5\.1\"\) \(.*the preset downmix-5\.1\), or keep two channels with Route",
        2,
    ),
    "a_7_1_bed_into_a_stereo_chain": (
        lambda w: process(w, wav(w / "bed.wav", noise(channels=8)), chain="studio-5-binaural"),
        r"but gets 8 from the chain input; a 7\.1 bed\? fold it down first with Mix\(downmix=\"7\.1\"\)",
        2,
    ),
    # a rate no file or host runs at: a plugin baked for 48000.5 Hz is silent at 48000
    "export_rate_not_whole": (
        lambda w: ["export-plugin", "studio-5-binaural", "-o", str(w / "plugins"), "--rates", "48000.5"],
        r"--rates '48000\.5': 48000\.5 is not a whole number of Hz",
        2,
    ),
    "live_rate_not_whole": (
        lambda w: ["live", "--chain", "studio-5", "--head-tracker", "udp:0", "--sample-rate", "44100.1"],
        r"--sample-rate: 44100\.1 is not a whole number of Hz",
        2,
    ),
    # a head model's name in another case, and the head the docs name, said as files that do not exist
    "hrtf_model_in_another_case": (
        lambda w: process(w, wav(w / "in.wav", noise()), "--hrtf", "Rigid-Sphere", chain="studio-5"),
        r"--hrtf 'Rigid-Sphere': the file does not exist; .*; did you mean 'rigid-sphere'\?",
        2,
    ),
    "chain_hrtf_model_in_another_case": (
        chain_case('[[stages]]\ntype = "Spatializer"\nhrtf = "Model"\n'),
        r"stages\[0\]: SOFA file 'Model' does not exist; did you mean 'model'\?",
        2,
    ),
    "hrtf_kemar_by_name": (
        lambda w: process(w, wav(w / "in.wav", noise()), "--hrtf", "kemar", chain="studio-5"),
        r"--hrtf 'kemar': the file does not exist; .*; the MIT KEMAR set is '.*MIT_KEMAR_normal_pinna\.sofa'",
        2,
    ),
    # a folder named as catalogues name them: "[2024] Album"; a glob reads the brackets as a set of characters
    "batch_glob_through_a_folder_with_brackets": (
        lambda w: ["batch", folder_with(w / "[2024] Album", "01.wav") + "/*.wav", "--chain", "mastering"],
        r"batch: the glob '.*\[2024\] Album/\*\.wav' holds no audio files .*; '.*\[2024\] Album' is there, but a glob "
        r"reads \[\.\.\.\] as one character of a set: write '.*\[\[\]2024\] Album/\*\.wav'",
        2,
    ),
    # plugin bundles where a saved state goes: said as "no such file" although they are there
    "plugin_chain_of_an_lv2_not_exported": (
        lambda w: ["plugin", "chain", folder_with(w / "Comp.lv2", "x.wav")],
        r"Comp\.lv2: an LV2 bundle with no chain\.toml; only bundles made by `soundstage export-plugin` hold one",
        2,
    ),
    # a plugin given where a chain file is asked for: "is a folder: give the .toml file (it holds none)"
    "chain_given_a_plugin_bundle": (
        lambda w: process(w, wav(w / "in.wav", noise()), chain=folder_with(w / "Comp.vst3", "x.wav")),
        r"chain file '.*Comp\.vst3' is a plugin, not a chain file; put it in one as a stage: \[\[stages\]\] "
        r"type = \"plugin\", path = \".*Comp\.vst3\"",
        2,
    ),
    # an audio file given to audition: it looked for a renders/ folder beside it and said to render first
    "audition_of_an_audio_file": (
        lambda w: ["audition", wav(w / "mix.wav", noise()), "--no-open"],
        r"audition: '.*mix\.wav' is not a session file \(\.toml\) nor in a folder a render wrote; give the session file",
        2,
    ),
    "plugin_chain_of_a_vst3_bundle": (
        lambda w: ["plugin", "chain", folder_with(w / "Comp.vst3", "x.wav")],
        r"Comp\.vst3: holds no soundstage chain; only plugins made by `soundstage export-plugin` and the states they "
        r"save hold one",
        2,
    ),
    # live options of a source not given: ignored before
    "live_feedback_port_without_a_map": (
        lambda w: ["live", "--chain", "studio-5", "--head-tracker", "udp:0", "--out", "virtual:fb", "--seconds", "0.1"],
        r"--out virtual:fb: feedback sends the map's values to a controller; give --map and --in too",
        2,
    ),
    "live_yaw_sign_without_a_tracker": (
        lambda w: [
            "live",
            "--chain",
            "mastering",
            "--map",
            text(w / "m.toml", '[[bindings]]\ntarget = "trim.gain_db"\nnumber = 7\n'),
            "--in",
            "virtual:x",
            "--head-yaw-sign",
            "-1",
            "--seconds",
            "0.1",
        ],
        r"--head-yaw-sign turns a head tracker's yaw; give --head-tracker udp:PORT too",
        2,
    ),
    # a dry run into /dev/null: said to be a file "already there", then a file of no format
    "output_to_dev_null": (
        lambda w: process(w, wav(w / "in.wav", noise()), "--overwrite", out="/dev/null"),
        r"output '/dev/null' is a device or pipe, not a file; soundstage writes a file and moves it into place",
        2,
    ),
    "unknown_command": (lambda w: ["transmogrify"], r"invalid choice: 'transmogrify'", 2),
    "session_in_windows_1252": (
        lambda w: [raw(w / "s.toml", b'[[stems]]\npath = "caf\xe9.wav"\n')] and ["session", "check", "s.toml"],
        r"session file 's.toml' is not UTF-8 text \(byte 0xe9 at line 2, column 12, 'é' in Windows-1252\): save it as UTF-8",
        2,
    ),
    "live_block_0": (
        lambda w: ["live", "--chain", "mastering", "--map", "m.toml", "--in", "x", "--block", "0"],
        r"--block: 0",
        2,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    build, message, status = CASES[case]
    work = tmp_path / "w"
    work.mkdir()
    monkeypatch.chdir(work)
    argv = build(work)
    before = digest(work)
    try:
        got = main(argv)
    except SystemExit as exit_:  # argparse's exit for bad arguments
        got = int(exit_.code or 0)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("DPF")]
    if status == 0:
        assert got == 0, err
        return
    assert got == status, err
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith("soundstage: error: ") or lines[0].startswith("soundstage: "), err
    assert __import__("re").search(message, lines[0]), lines[0]
    after = digest(work)
    assert after == before, f"files changed: {sorted(set(after.items()) ^ set(before.items()))}"


def test_the_campaign_has_at_least_80_cases() -> None:
    assert len(CASES) >= 80


# -- a full disk, and a render stopped by a signal ------------------------------------


def _tmpfs(folder: Path, size: str):  # type: ignore[no-untyped-def]
    """A tmpfs of ``size`` mounted on ``folder`` for the test (skipped, with the reason, where mounting is not allowed)."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip() or 'mount refused'}")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 1 MiB disk."""
    yield from _tmpfs(tmp_path / "small", "1m")


@pytest.fixture
def three_mib_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 3 MiB disk."""
    yield from _tmpfs(tmp_path / "disk", "3m")


def test_a_stamped_output_needs_room_for_itself_only(
    tmp_path: Path, three_mib_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A BWF input's bext chunk goes into the output before its audio. It was put there by copying the finished file,
    so an output needed room twice: a 1.7 MB output on a 3 MiB disk failed at the end with "No space left on device",
    after the whole run. The chunk now goes in by moving the audio along within the file. The output is the same
    bytes as on a roomy disk, and wavinfo reads its TimeReference."""
    source = write_stem(tmp_path / "take.wav", noise(frames=6 * SR), SR, bit_depth=24, time_reference=SR * 3600)
    chain = gain_chain(tmp_path)
    inputs = [source, Path(chain)]
    before = [hashlib.sha256(path.read_bytes()).hexdigest() for path in inputs]
    for folder in (tmp_path / "roomy", three_mib_disk):
        folder.mkdir(exist_ok=True)
        status = main(["process", str(source), str(folder / "out.wav"), "--chain", chain, "--bit-depth", "24"])
        err = capsys.readouterr().err
        assert status == 0, err
    output = three_mib_disk / "out.wav"
    assert output.stat().st_size > 1_700_000 and output.read_bytes() == (tmp_path / "roomy" / "out.wav").read_bytes()
    assert wavinfo.WavInfoReader(str(output)).bext.time_reference == SR * 3600
    assert [path.name for path in three_mib_disk.iterdir()] == ["out.wav"]
    assert [hashlib.sha256(path.read_bytes()).hexdigest() for path in inputs] == before


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_a_full_disk_on_process(tmp_path: Path, small_disk: Path, capsys: pytest.CaptureFixture[str], suffix: str) -> None:
    """A WAV whose size the disk has no room for is refused before the work; a FLAC, whose size is not known before
    it is written, fails as the disk fills. Either in one line, nothing left on the disk, the inputs as they were."""
    source = wav(tmp_path / "in.wav", noise(frames=10 * SR))  # 3.7 MiB of float WAV, 2.6 MiB of FLAC: neither fits
    chain = gain_chain(tmp_path)
    before = digest(tmp_path)
    status = main(["process", source, str(small_disk / f"out{suffix}"), "--chain", chain])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert f"out{suffix}'" in lines[0], lines[0]
    if suffix == ".wav":
        assert "would hold 3.7 MiB; the drive at" in lines[0] and "free: make room on it" in lines[0], lines[0]
    else:
        assert "No space left on the device" in lines[0], lines[0]
    assert list(small_disk.iterdir()) == []  # nothing under the final name, no temporary
    assert digest(tmp_path) == before


def test_a_full_disk_on_render(tmp_path: Path, small_disk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = session(tmp_path, STEM.replace("s0.wav", "long.wav") + '[[renders]]\nname = "mix"\n')
    wav(tmp_path / "stems" / "long.wav", noise(frames=10 * SR))
    argv[argv.index("-o") + 1] = str(small_disk)
    before = digest(tmp_path / "stems")
    status = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "render 'mix' failed" in lines[0] or "cannot write" in lines[0], lines[0]
    assert list(small_disk.iterdir()) == []
    assert digest(tmp_path / "stems") == before


def _ten_seconds_rendered_to(w: Path, renders: str, folder: Path) -> list[str]:
    """``soundstage render`` of a session of one 10 s stem and ``renders`` (TOML), into ``folder``."""
    argv = session(w, STEM.replace("s0.wav", "long.wav") + renders)
    wav(w / "stems" / "long.wav", noise(frames=10 * SR))
    argv[argv.index("-o") + 1] = str(folder)
    return argv


def test_a_full_disk_is_said_for_every_render_that_fills_it(
    tmp_path: Path, small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """FLAC renders (whose size is not known before they are written) that fill the disk: a file the disk filled
    while it was being written or closed said only libsndfile's "System error." (the disk was looked at after the
    temporary had gone, or not at all). Each says the disk is full."""
    body = '[[renders]]\nname = "mix"\nformat = "flac"\n[[renders]]\nname = "binaural"\nkind = "binaural"\nformat = "flac"\n'
    assert main(_ten_seconds_rendered_to(tmp_path, body, small_disk)) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 2 and {line.split("'")[1] for line in lines} == {"mix", "binaural"}, lines
    for line in lines:
        assert "No space left on the device" in line, line
    assert list(small_disk.iterdir()) == []


def test_renders_the_disk_has_no_room_for_are_refused_before_the_work(
    tmp_path: Path, three_mib_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mix and an A/B of 10 s: each file fits the 3 MiB disk alone (2.7 MiB as 24-bit), but not together, nor the
    A/B's sides' float first passes. What they take is known before the work, so the render is refused at once in
    one line, nothing left on the disk (the old code rendered until the disk was full)."""
    body = '[[renders]]\nname = "mix"\n[[renders]]\nname = "ab"\nkind = "ab"\na = "stereo-reference"\nb = "headphones"\n'
    assert main(_ten_seconds_rendered_to(tmp_path, body, three_mib_disk)) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "the renders would take" in lines[0] and "free: make room on it" in lines[0], lines
    assert list(three_mib_disk.iterdir()) == []


def test_a_demo_the_disk_has_no_room_for_leaves_nothing(small_disk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo on a 1 MiB disk: one line saying what does not fit, and neither its folders nor any of its stems
    left behind (the old code left the folders, and the stems that fitted before the one that did not)."""
    assert main(["demo", str(small_disk / "new" / "demo")]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "free: make room on it" in lines[0], lines
    assert list(small_disk.iterdir()) == []


@pytest.mark.parametrize("suffix", [".wav", ".aiff", ".flac"])
def test_a_live_take_keeps_what_it_recorded_until_the_disk_filled(
    tmp_path: Path, small_disk: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    """A live take (its length not known before: no room check) on a 1 MiB disk: 4 s of stereo float (10 s of
    noise as FLAC) do not fit. The old code lost the whole take when the disk filled (the temporary was removed); now
    the take ends where the disk filled, as a DAW's does: a plain WAV, an AIFF-C (float) or a FLAC (24-bit, after its
    last whole frame) of the blocks written before it, the chain's output sample for sample, its length as sox and
    ffprobe read it from its header, and one line saying so."""
    rate, seconds = 48000, 10 if suffix == ".flac" else 4
    x = (0.1 * np.random.default_rng(4).standard_normal((2, seconds * rate))).astype(np.float32)
    source = wav(tmp_path / "in.wav", x, rate)
    take = small_disk / f"take{suffix}"
    live = ["live", "--chain", "stereo-reference", "--head-tracker", "udp:0", "--input", source, "--record", str(take)]
    assert main([*live, "--block", "480"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "No space left on the device" in lines[0], lines
    got, got_rate = soundfile.read(str(take), dtype="float32", always_2d=True)
    kept = len(got)
    assert f"the take's first {kept / rate:.2f} s are kept in '{take}'" in lines[0], lines
    chain = load_chain(find_chain("stereo-reference"))
    if suffix == ".flac":  # 1 MiB of 24-bit noise, which FLAC packs little: 6 bytes a frame would be 3.6 s
        assert 2.5 * rate < kept < 4.5 * rate and got_rate == rate
    else:  # 1 MiB of float, in whole blocks (the first less the chain's latency, which live takes off as offline)
        assert 2.5 * rate < kept < 2.8 * rate and (kept + chain.latency_samples) % 480 == 0 and got_rate == rate
    if suffix == ".wav":
        assert take.read_bytes()[:4] == b"RIFF" and wavinfo.WavInfoReader(str(take)).data.frame_count == kept
    # sox and ffprobe read the frame count from the header (data, COMM or STREAMINFO), not from the file's length
    samples = subprocess.run([tool("sox"), "--i", "-s", str(take)], capture_output=True, text=True, check=True).stdout
    probe = [tool("ffprobe"), "-v", "error", "-show_entries", "stream=duration_ts", "-of", "csv=p=0", str(take)]
    assert int(samples) == kept and int(subprocess.run(probe, capture_output=True, text=True, check=True).stdout) == kept
    decoded = subprocess.run([tool("ffmpeg"), "-v", "error", "-i", str(take), "-f", "null", "-"], capture_output=True, text=True)
    assert decoded.returncode == 0 and not decoded.stderr.strip(), decoded.stderr
    want = chain(x, rate)
    np.testing.assert_allclose(got.T, want[:, :kept], atol=1e-6 if suffix != ".flac" else 2.0**-21)
    assert [p.name for p in small_disk.iterdir()] == [take.name]


def _kept_seconds(line: str, take: Path) -> float:
    """The seconds a one-line error says a live take kept in ``take``, checked against what soundfile reads there."""
    said = "; the take's first "
    assert said in line and line.endswith(f" s are kept in '{take}'"), line
    seconds = float(line.split(said)[1].split(" s are kept")[0])
    info = soundfile.info(str(take))
    assert abs(info.frames / info.samplerate - seconds) < 0.006 and take.read_bytes()[:4] == b"RIFF"
    return seconds


def test_a_live_take_from_an_input_found_damaged_is_kept_and_the_damage_said(tmp_path: Path) -> None:
    """A FLAC with a damaged frame played live (``--input``): it played without a word (the damaged frame as
    silence, the rest early) where ``process`` refuses it. Now its signature is checked as it plays, as process checks
    it: at its last sample, the run stops with one line saying where it is damaged, and the take, a performance that
    cannot be played again, is kept (the old code, had it said so, would have removed the take with the error)."""
    rate = 48000
    flac = tmp_path / "bad.flac"
    subprocess.run([tool("ffmpeg"), "-v", "error", "-f", "lavfi", "-i", f"anoisesrc=d=4:r={rate}:a=0.3:seed=3", "-ac", "2",
                    "-c:a", "flac", str(flac)], check=True)  # fmt: skip
    data = bytearray(flac.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2000] = b"\xa5" * 2000
    flac.write_bytes(bytes(data))
    take = tmp_path / "take.wav"
    live = [sys.executable, "-m", "soundstage.cli", "live", "--chain", "stereo-reference", "--head-tracker", "udp:0",
            "--input", str(flac), "--record", str(take)]  # fmt: skip
    done = subprocess.run(live, capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert f"input file '{flac}' is damaged near " in lines[0], lines
    assert _kept_seconds(lines[0], take) > 3.9  # all that was played: the check judges at the last sample
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.flac", "take.wav"]


def test_a_live_take_is_kept_when_the_run_fails_inside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An error inside a live run (an audio interface unplugged, a plugin failing) lost the take and printed a
    traceback; now the take so far is kept and the error said in one line with its kind."""
    import soundstage.midi.live as live_module

    real_run_live = live_module.run_live

    def failing_after_50_blocks(*args, on_output, **kwargs):  # type: ignore[no-untyped-def]
        delivered = []

        def deliver(audio: np.ndarray) -> None:
            if len(delivered) == 50:
                raise RuntimeError("the audio device is gone")
            delivered.append(audio.shape[1])
            on_output(audio)

        return real_run_live(*args, on_output=deliver, **kwargs)

    monkeypatch.setattr(live_module, "run_live", failing_after_50_blocks)
    take = tmp_path / "take.wav"
    live = ["live", "--chain", "stereo-reference", "--head-tracker", "udp:0", "--signal", "noise", "--seconds", "3"]
    assert main([*live, "--block", "480", "--record", str(take)]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("soundstage: error: RuntimeError: the audio device is gone;"), lines
    assert 0.4 < _kept_seconds(lines[0], take) <= 0.5  # 50 blocks of 480 at 48 kHz, less the chain's latency


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"])
def test_a_render_stopped_by_a_signal_leaves_no_file(tmp_path: Path, signum: str) -> None:
    import signal
    import sys
    import time

    (tmp_path / "stems").mkdir()
    for index in range(2):
        wav(tmp_path / "stems" / f"s{index}.wav", noise(frames=90 * SR, seed=index))
    session_file = text(
        tmp_path / "s.toml",
        '[[stems]]\npath = "stems/s0.wav"\nchain = "headphones"\n[[stems]]\npath = "stems/s1.wav"\nchain = "headphones"\n'
        '[[renders]]\nname = "mix"\nbit_depth = 24\n[[renders]]\nname = "m2"\nformat = "flac"\n',
    )
    out = tmp_path / "out"
    before = digest(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "soundstage.cli", "render", session_file, "-o", str(out)], stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 60
    while time.time() < deadline and not (out.exists() and any(".partial" in p.name for p in out.iterdir())):
        time.sleep(0.05)
    assert out.exists() and any(".partial" in p.name for p in out.iterdir()), "the render never started"
    time.sleep(0.5)
    process.send_signal(getattr(signal, signum))
    _, err = process.communicate(timeout=120)
    finals = [p.name for p in out.iterdir() if not p.name.startswith(".")] if out.exists() else []
    assert finals == []  # nothing under a final name, whatever the signal
    if signum == "SIGKILL":
        return  # only hidden temporaries can be left: nothing can clean up after SIGKILL
    assert not out.exists()  # the folder the render made is removed with its temporaries
    assert process.returncode == {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}[signum], err
    assert "Traceback" not in err and len([line for line in err.splitlines() if line.strip()]) == 1, err
    assert digest(tmp_path) == before
