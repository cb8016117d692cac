"""The ``soundstage`` command.

    soundstage process IN OUT (or -o OUT; either "-": a pipe) --chain FILE [--hrtf SOFA ...] [--buffer-size N]
                       [--bit-depth B] [--overwrite] [--midi F.mid --map M.toml] [--head-track TRACK.csv]
    soundstage chain show FILE [--sample-rate HZ] [--channels N]
    soundstage plugin info PATH [--plugin-name NAME]
    soundstage plugin chain STATE [-o CHAIN.toml] [--overwrite]
    soundstage plugin map PLUGIN [-o MAP.toml] [--overwrite]
    soundstage analyze crosstalk --device NAME --distance-m D [--hrtf model|rigid-sphere|blended-sphere|head-and-torso|SOFA ...]
                                 [--design-hrtf rigid-sphere|blended-sphere|SOFA] [--region-yaw-deg Y --region-lateral-m L
                                 --region-fore-aft-m F] [--seat] [--other-listeners]
                                 [--plot FILE.png]
    soundstage analyze beam --device NAME [--plot FILE.png]
    soundstage analyze zones --device NAME [--hrtf ...] [--plot FILE.png]
    soundstage analyze device --device NAME [--hrtf ...] [--design-hrtf SOFA] [--distance-m D] [--region-yaw-deg Y
                              --region-lateral-m L --region-fore-aft-m F] [--plot FILE.png]
    soundstage analyze virtualizer [--azimuth-deg A] [--hrtf model|PATH.sofa] [--against PATH.sofa|none] [--plot FILE.png]
    soundstage render SESSION.toml [-o DIR] [--only NAME] [--overwrite] [--hrtf SOFA ...]
    soundstage session new STEMS_FOLDER [-o SESSION.toml] [--overwrite]
    soundstage session check SESSION.toml
    soundstage live --chain C [--hrtf SOFA ...] [--map MAP.toml --in PORT [--out PORT]]
                    [--head-tracker udp:PORT [--head-yaw-sign -1]] [--input FILE | --signal noise|sine] [--seconds S]
                    [--play [DEVICE]] [--record FILE]
    soundstage midi learn --chain C --map MAP.toml --param PATH --in PORT [--timeout S] [--keep]
    soundstage midi monitor --in PORT [--count N] [--seconds S]
    soundstage demo [DIR]
    soundstage export-plugin CHAIN.toml -o OUTDIR [--format vst3,lv2,clap,web] [--name NAME] [--rates 44100,48000] [--overwrite]
                             [--platform linux|windows] [--hrtf SOFA ...] [--map MAP.toml]
    soundstage audition SESSION.toml [-o DIR] [--port N] [--no-open]
    soundstage batch JOBS [--chain C] [--hrtf SOFA ...] [-o DIR] [--workers N | --scheduler tcp://HOST:PORT]
                     [--resume] [--overwrite]

MIDI ports: a port name (python-rtmidi), virtual:NAME, tcp:HOST:PORT (connect to
a mido socket port) or tcp-listen:HOST:PORT (wait for a sender to connect).

Errors of the soundstage hierarchy print one line (``soundstage: error: ...``)
and exit with status 2; Ctrl-C exits with 130 and leaves no partial output.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shlex
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from soundstage.errors import OutputError, SoundstageError

if TYPE_CHECKING:
    from soundstage.export import Export
    from soundstage.export.bake import Program
    from soundstage.exported import EmbeddedProgram
    from soundstage.host.chain import Chain

__all__ = ["main", "build_parser"]


_T = TypeVar("_T")


def _progress(total: int, label: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="sample", unit_scale=True, desc=label, disable=not sys.stderr.isatty(), leave=False)


def _process_output(positional: str | None, option: str | None) -> str:
    """``process``'s output: the second argument or ``-o``, given once."""
    if positional is not None and option is not None:
        raise SoundstageError(
            f"output given twice ({positional!r} and -o {option!r}); give it once: soundstage process IN OUT, or -o OUT"
        )
    if positional is None and option is None:
        raise SoundstageError("no output file given; soundstage process IN OUT --chain CHAIN (or -o OUT)")
    return str(positional if positional is not None else option)


def _cmd_process(args: argparse.Namespace) -> int:
    args.output = _process_output(args.output, args.output_option)
    with contextlib.ExitStack() as stack:
        source, target, named = args.input, args.output, {}
        if args.input == "-" and not Path("-").exists():  # a file named "-" is read as before (./- names it too)
            source = _spooled_stdin(stack)
            named[str(source)] = "standard input"
        elif _is_pipe(args.input):  # a named pipe, or a shell's <(ffmpeg -i song.mp3 -f wav -): read once, as stdin is
            with open(args.input, "rb") as pipe:
                source = _spooled(stack, pipe, f"input {args.input!r}")
            named[str(source)] = args.input
        if args.output == "-":
            if sys.stdout.isatty():
                raise SoundstageError(
                    "output '-': standard output is a terminal, where audio would print as bytes; pipe it into a program "
                    "that reads WAV (e.g. soundstage process IN - --chain C | ffmpeg -i - out.mp3), or give a file"
                )
            target = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soundstage-stdout-"))) / "out.wav"
            named[str(target)] = "standard output"
        try:
            written = _process(args, source, target, said=sys.stderr if args.output == "-" else sys.stdout, named=named)
        except SoundstageError as error:
            if not named:
                raise
            message = str(error)
            for path, name in named.items():  # "input file '/tmp/.../stdin.wav' is ..." -> "standard input is ..."
                for said in (f"input file {path!r}", f"output {path!r}", repr(path), path):
                    message = message.replace(said, name)
            raise SoundstageError(message) from None  # printed as its one line, as any of the hierarchy
        if args.output == "-":
            with open(written, "rb") as audio:
                shutil.copyfileobj(audio, sys.stdout.buffer, 1 << 20)
            sys.stdout.buffer.flush()
    return 0


def _spooled_stdin(stack: contextlib.ExitStack) -> Path:
    """Standard input kept in a private temporary file (the decoders seek in what they read), removed at the end; its
    suffix is that of the format its first bytes show (pedalboard goes by the name)."""
    if sys.stdin is None or sys.stdin.isatty():
        raise SoundstageError(
            "input '-': standard input is a terminal, not audio; pipe a file in (e.g. ffmpeg -i song.mp3 -f wav - | "
            "soundstage process - out.wav --chain C), or give the file"
        )
    return _spooled(stack, sys.stdin.buffer, "input '-': standard input")


def _is_pipe(path: str) -> bool:
    """Whether ``path`` is a pipe (a named one, or a shell's process substitution, ``/dev/fd/63``): read once, it
    cannot be sought in, and its size says nothing."""
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


def _spooled(stack: contextlib.ExitStack, stream: Any, what: str) -> Path:
    """What ``stream`` (standard input, a pipe) gives, kept in a private temporary file (the decoders seek in what they
    read), removed at the end; its suffix is that of the format its first bytes show (pedalboard goes by the name).
    ``what`` names it in the errors (``"input '-': standard input"``)."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soundstage-stdin-")))
    try:
        head = stream.read(12)
    except OSError as error:  # closed, or not open for reading
        raise SoundstageError(f"{what} cannot be read ({error}); give the file") from None
    spool = folder / f"stdin{_suffix_of(head)}"
    try:
        with open(spool, "wb") as out:
            out.write(head)
            shutil.copyfileobj(stream, out, 1 << 20)
    except OSError as error:
        raise SoundstageError(
            f"{what} cannot be kept in {str(folder.parent)!r} while it is read "
            f"({error.strerror or error}); save it to a file first and give that (or set TMPDIR to a folder with room)"
        ) from None
    if spool.stat().st_size == 0:
        raise SoundstageError(f"{what} is empty (nothing was piped in); pipe an audio file in, or give it")
    return spool


def _suffix_of(head: bytes) -> str:
    """The suffix of the audio format a file's first 12 bytes show, or "" (libsndfile then goes by the content)."""
    if head[8:12] == b"WAVE" and head[:4] in (b"RIFF", b"RF64", b"BW64"):
        return ".wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return ".aiff"
    if head[:4] == b"fLaC":
        return ".flac"
    if head[:4] == b"OggS":
        return ".ogg"
    if head[:4] == b"caff":
        return ".caf"
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:  # ADTS (AAC): the sync, then layer 0
        return ".aac"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06):
        return ".mp3"  # an MPEG audio frame: the sync, then a layer (I, II or III) that is not 0
    return ""


def _process(args: argparse.Namespace, source: str | Path, target: str | Path, *, said: Any, named: dict[str, str]) -> Path:
    """``process`` from ``source`` to ``target``, its lines printed to ``said``; returns the file written. ``named``:
    the words for a file that stands in for a pipe (standard input and output), by its path."""
    import math

    from soundstage.fileio import missing_words, open_audio, process_file
    from soundstage.host.chainfile import find_chain, load_chain

    shown_input = named.get(str(source), f"input {source}")  # "input song.wav is mono", "standard input is mono"
    shown_output = named.get(str(target), str(target))
    chain = load_chain(find_chain(args.chain), hrtf=_given_heads(args.hrtf))
    with open_audio(source, allow_truncated=args.allow_truncated) as probe:
        total = int(probe.frames)
        rate = float(probe.samplerate)
    automation = None
    if args.midi or args.map:
        if not (args.midi and args.map):
            raise SoundstageError("automation needs both --midi FILE.mid and --map MAP.toml")
        from soundstage.midi import automation_events, load_map

        automation = automation_events(args.midi, load_map(args.map, chain), chain, rate)
        _check_not_late(f"MIDI file {args.midi!r}", automation, total + round(args.tail * rate), rate)
        print(f"automation: {len(automation)} parameter change(s) from {args.midi}", file=said)
    if args.head_track:
        from soundstage.headtrack import read_head_track

        track = read_head_track(args.head_track, chain.parameters, rate)
        _check_not_late(f"head track {args.head_track!r}", track, total + round(args.tail * rate), rate)
        automation = (automation or []) + track
        print(f"head track: {len(track)} listener parameter change(s) from {args.head_track}", file=said)
    bar = _progress(total + round(args.tail * rate), Path(source).name if str(source) not in named else "standard input")
    try:
        info = process_file(
            chain,
            source,
            target,
            buffer_size=args.buffer_size,
            overwrite=args.overwrite or str(target) in named,  # its own private folder
            bit_depth=args.bit_depth,
            progress=bar.update,
            automation=automation,
            allow_truncated=args.allow_truncated,
            tail_s=args.tail,
        )
    finally:
        bar.close()
    seconds = info["frames"] / info["sample_rate"]
    tail = f" ({info['tail_frames'] / info['sample_rate']:g} s of it the chain's tail)" if info["tail_frames"] else ""
    if info["dual_mono"]:
        print(f"{shown_input} is mono: played on both channels of the chain's stereo input (dual mono)", file=said)
    if math.isnan(info["missing_seconds"]) or info["missing_seconds"]:
        print(f"{shown_input} is TRUNCATED: {missing_words(info['missing_seconds'])} (--allow-truncated)", file=said)
    print(
        f"wrote {shown_output}: {seconds:.2f} s{tail}, {int(info['output_channels'])} channel(s) at "
        f"{info['sample_rate']:g} Hz (from {int(info['input_channels'])}); chain latency "
        f"{int(info['latency_samples'])} samples, compensated",
        file=said,
    )
    if info["clipped_samples"]:
        note = _clipping_note(shown_output, int(info["clipped_samples"]), info["signal_peak_dbfs"], int(info["bit_depth"]))
        print(note, file=said)
    return Path(target)


def _check_not_late(source: str, events: list[Any], frames: int, rate: float) -> None:
    """Refuse automation that would move nothing, every change of it after the input's end."""
    from soundstage.host.automation import late_automation

    problem = late_automation(source, events, frames, rate, "the input's first sample")
    if problem is not None:
        raise SoundstageError(problem)


def _clipping_note(output: object, clipped: int, peak_dbfs: float, bit_depth: int) -> str:
    """What ``process`` says of an output whose signal went past full scale."""
    if bit_depth == 32:
        return (
            f"{output}: {clipped} sample(s) over full scale (the chain's output peaks at {peak_dbfs:+.1f} dBFS), kept in "
            "the float file; they clip on any fixed-point playback"
        )
    return (
        f"{output}: {clipped} sample(s) CLIPPED at full scale (the chain's output peaks at {peak_dbfs:+.1f} dBFS): "
        "lower the level at the chain's end (a Gain, or a limiter), or write a float WAV (.wav, --bit-depth 32)"
    )


def chain_table(chain: Chain, sample_rate: float, channels: int) -> list[tuple[str, str, str, str, str]]:
    """Rows (index, name, type, channels in->out, latency) for ``chain show``."""
    import numpy as np

    from soundstage.host.nodes import describe_channels, node_output_channels, node_type

    chain.process(np.zeros((channels, 2 * channels + 64), np.float32), sample_rate)  # prepare to learn latencies
    latencies = chain.member_latencies()
    rows = []
    count = channels
    for index, (name, node) in enumerate(zip(chain.names, chain)):
        out = node_output_channels(node, count)
        accepts = describe_channels(node)
        rows.append((str(index), name, node_type(node), f"{count} -> {out}  (takes {accepts})", str(latencies[index])))
        count = out
    return rows


def _cmd_chain_show(args: argparse.Namespace) -> int:
    import wcwidth

    from soundstage.host.chainfile import find_chain, load_chain

    path = find_chain(args.file)
    chain = load_chain(path)
    rows = chain_table(chain, args.sample_rate, args.channels)
    header = ("#", "name", "type", "channels", "latency (samples)")
    widths = [max(wcwidth.width(r[i]) for r in [header, *rows]) for i in range(5)]
    print(f"{path}: {len(chain)} node(s) at {args.sample_rate:g} Hz, {args.channels} input channel(s)")
    for row in [header, *rows]:
        print("  ".join(wcwidth.ljust(cell, width) for cell, width in zip(row, widths)).rstrip())
    total = chain.latency_samples
    print(f"total latency: {total} samples ({1000 * total / args.sample_rate:.2f} ms), compensated by soundstage")
    for path_name, parameter in chain.parameters.items():
        unit = f" {parameter.unit}" if parameter.unit else ""
        print(f"  {path_name} = {parameter.spec.value_text(parameter.value)}{unit}   [{parameter.spec.range_text()}]")
    return 0


def _cmd_plugin_info(args: argparse.Namespace) -> int:
    import numpy as np

    from soundstage.exported import exported_program, resampled_rates
    from soundstage.files import on_disk
    from soundstage.host.external import (
        exported_by_soundstage,
        external_parameters,
        load_plugin,
        reported_value,
        supported_channel_counts,
    )
    from soundstage.native import release_order_dropped

    source = on_disk(Path(args.path))
    if source.suffix.lower() in (".clap", ".lv2") and source.exists():  # pedalboard hosts neither: read what it holds
        held = _read(source, exported_program)
        if held is not None:
            _say_exported(source, held, args.sample_rate)
            return 0
    plugin = load_plugin(args.path, plugin_name=args.plugin_name, expect="any")
    kind = "instrument" if plugin.is_instrument else "effect"
    counts = sorted(supported_channel_counts(plugin))
    print(f"{plugin.name} ({kind}) by {plugin.manufacturer_name}, version {plugin.version}")
    print(f"  file: {args.path}")
    print(f"  channels: {' or '.join(map(str, counts)) if counts else 'none found'}")
    with release_order_dropped():  # at another rate or block size pedalboard makes the plugin again
        plugin.process(np.zeros((counts[0] if counts else 2, 256), np.float32), args.sample_rate)
    print(f"  latency: {plugin.reported_latency_samples} samples at {args.sample_rate:g} Hz")
    program = exported_by_soundstage(plugin)
    if program is not None and program.any_rate:
        print("  made by soundstage export-plugin: plays at every sample rate (its chain file: soundstage plugin chain PATH)")
    elif program is not None:
        here = "" if program.plays_at(args.sample_rate) else f"; at {args.sample_rate:g} Hz it plays silence"
        print(
            f"  made by soundstage export-plugin: baked for {_hz(program.rates)} Hz, resampled at "
            f"{_hz(resampled_rates(program.rates))} Hz{here} (its chain file: soundstage plugin chain PATH)"
        )
    print("  parameters:")
    for key, parameter in external_parameters(plugin).items():
        unit = f" {parameter.unit}" if parameter.unit else ""
        access = "" if parameter.writable else "  (read-only)"
        shown = parameter.spec.value_text(reported_value(plugin, key, parameter))
        print(
            f"    {key}: {shown}{unit}  range {parameter.spec.range_text()}  "
            f"default {parameter.spec.value_text(parameter.spec.default)}  {parameter.spec.kind}{access}"
        )
    return 0


def _say_exported(source: Path, program: EmbeddedProgram, sample_rate: float) -> None:
    """``plugin info`` of a CLAP or LV2 made by ``soundstage export-plugin``, read from the program it holds (pedalboard
    loads neither format): its channels, latency, rates, MIDI map and knobs."""
    from soundstage.exported import exported_map, resampled_rates
    from soundstage.tomlfile import parse_toml

    kind = "CLAP" if source.suffix.lower() == ".clap" else "LV2"
    print(f"{source.stem} ({kind} effect made by soundstage export-plugin; read from the file: pedalboard hosts VST3)")
    print(f"  file: {source}")
    print(f"  channels: {program.inputs} in, {program.outputs} out")
    if program.any_rate:
        print(f"  latency: {program.latencies[0]} samples at 48000 Hz; it plays at every sample rate")
    else:
        for rate, latency in zip(program.rates, program.latencies):
            print(f"  latency: {latency} samples at {rate:g} Hz")
        here = "" if program.plays_at(sample_rate) else f"; at {sample_rate:g} Hz it plays silence"
        print(f"  baked for {_hz(program.rates)} Hz, resampled at {_hz(resampled_rates(program.rates))} Hz{here}")
    print("  its chain file: soundstage plugin chain PATH")
    text = _read(source, exported_map)
    if text is not None:
        held = parse_toml(text, f"{source}'s MIDI map")
        bindings, programs = len(held.get("bindings", [])), len(held.get("programs", []))
        print(f"  MIDI in: a map of {bindings} binding(s) and {programs} program preset(s) (soundstage plugin map PATH)")
    print("  parameters:")
    for knob in program.knobs:
        unit = f" {knob.unit}" if knob.unit else ""
        if knob.kind == "choice":
            shown, span = knob.choices[min(round(knob.default), len(knob.choices) - 1)], "one of " + ", ".join(knob.choices)
        elif knob.kind == "on/off":
            shown, span = "on" if knob.default >= 0.5 else "off", "on or off"
        else:
            scale = "  log scale" if knob.kind == "log number" else ""
            shown, span = f"{knob.default:.7g}{unit}", f"range {knob.minimum:g}..{knob.maximum:g}{unit}{scale}"
        print(f"    {knob.symbol} ({knob.label!r} in a DAW): default {shown}  {span}")


def _cmd_plugin_chain(args: argparse.Namespace) -> int:
    from soundstage.errors import PluginError
    from soundstage.export.state import chain_from_binary, chain_from_state
    from soundstage.exported import exported_program
    from soundstage.files import missing_hint, on_disk

    source = on_disk(Path(args.state))
    if source.is_dir() and (source / "chain.toml").is_file():  # an exported LV2 bundle
        text: str | None = (source / "chain.toml").read_text()
    elif source.is_file():  # a saved state, or a plugin's binary (a .clap, a bundle's library)
        data = _read(source, Path.read_bytes)
        text = chain_from_state(data) or chain_from_binary(data)
    elif source.is_dir():  # a plugin bundle: a VST3 or macOS CLAP holds its binary below Contents/
        if source.suffix.lower() == ".lv2":
            raise PluginError(
                f"{source}: an LV2 bundle with no chain.toml; only bundles made by `soundstage export-plugin` hold one"
            )
        program = _read(source, exported_program)
        text = program.chain if program is not None else None
    else:
        raise PluginError(
            f"{source}: no such file{missing_hint(source)}; give a .vstpreset, a saved plugin state, or an exported "
            "plugin (.vst3, .clap, .lv2)"
        )
    if text is None:
        raise PluginError(
            f"{source}: holds no soundstage chain; only plugins made by `soundstage export-plugin` and the states "
            "they save hold one"
        )
    return _give_text(text, args.output, overwrite=args.overwrite, what="chain")


def _cmd_plugin_map(args: argparse.Namespace) -> int:
    from soundstage.errors import PluginError
    from soundstage.exported import exported_map, exported_program
    from soundstage.files import missing_hint, on_disk

    source = on_disk(Path(args.plugin))
    if not source.exists():
        raise PluginError(f"{source}: no such file{missing_hint(source)}; give a plugin exported with --map (.clap, .lv2)")
    if source.is_dir() and (source / "map.toml").is_file():  # an exported LV2 bundle
        text: str | None = _read(source / "map.toml", lambda file: file.read_text(encoding="utf-8"))
    else:
        text = _read(source, exported_map)
    if text is None:
        if _read(source, exported_program) is None:
            raise PluginError(f"{source}: not a plugin made by `soundstage export-plugin`; only those hold a MIDI map")
        if source.suffix.lower() == ".vst3":
            raise PluginError(
                f"{source}: a VST3 takes no MIDI map (DPF would move its knobs' IDs); the CLAP or LV2 of an export "
                "with --map holds it: soundstage plugin map PLUGIN.clap"
            )
        raise PluginError(f"{source}: takes no MIDI map: it was exported without --map; export it with --map MAP.toml")
    return _give_text(text, args.output, overwrite=args.overwrite, what="MIDI map")


def _give_text(text: str, output: str | None, *, overwrite: bool, what: str) -> int:
    """``text`` printed, or written to ``output`` (``what`` written to it), an existing file only with ``overwrite``."""
    from soundstage.errors import PluginError
    from soundstage.files import write_text

    if output is None:
        print(text, end="" if text.endswith("\n") else "\n")
        return 0
    target = Path(output)
    if target.exists() and not overwrite:
        raise PluginError(f"{target} exists; pass --overwrite to replace it")
    write_text(target, text)
    print(f"{what} written to {target}")
    return 0


def _read(path: Path, read: Callable[[Path], _T]) -> _T:
    """``read(path)``, an OSError said in one line."""
    from soundstage.errors import PluginError

    try:
        return read(path)
    except OSError as error:
        raise PluginError(f"{path}: cannot be read ({error.strerror or error}); check its permissions") from None


def _plot_path(args: argparse.Namespace) -> Path | None:
    """The ``--plot`` file, checked before the analysis runs (its folder exists and is writable, matplotlib writes
    its format)."""
    from soundstage.analysis.report import plot_format
    from soundstage.fileio import check_output_path

    if not args.plot:
        return None
    path = check_output_path(args.plot, inputs=[], overwrite=True, example="plot.png")
    plot_format(path)
    return path


def _cmd_analyze_crosstalk(args: argparse.Namespace) -> int:
    from soundstage.acoustics.profiles import ListeningRegion
    from soundstage.analysis.report import crosstalk_report

    region = ListeningRegion(args.region_yaw_deg, args.region_lateral_m, args.region_fore_aft_m)
    plot = _plot_path(args)
    report = crosstalk_report(
        args.device,
        args.distance_m,
        args.hrtf or ["model"],
        design_hrtf=args.design_hrtf,
        region=region,
        robust=not args.seat,
        others=args.other_listeners,
        plot=plot,
    )
    print(report)
    return 0


def _cmd_analyze_beam(args: argparse.Namespace) -> int:
    from soundstage.analysis.report import beam_report

    print(beam_report(args.device, plot=_plot_path(args)))
    return 0


def _cmd_analyze_virtualizer(args: argparse.Namespace) -> int:
    from soundstage.acoustics.hrtf import DEFAULT_SOFA, HEAD_MODELS
    from soundstage.analysis.report import virtualizer_report

    against = None if args.against == "none" else (args.against or str(DEFAULT_SOFA))
    if args.head_radius_m is not None and args.hrtf and args.hrtf not in HEAD_MODELS:
        raise SoundstageError(
            f"--head-radius-m {args.head_radius_m:g} sizes a head model, and --hrtf {args.hrtf!r} is a measured head "
            "of its own size: give one of them"
        )
    print(
        virtualizer_report(
            azimuth_deg=args.azimuth_deg,
            head_radius_m=0.0875 if args.head_radius_m is None else args.head_radius_m,
            hrtf=args.hrtf,
            against=against,
            plot=_plot_path(args),
        )
    )
    return 0


def _cmd_analyze_zones(args: argparse.Namespace) -> int:
    from soundstage.analysis.report import zones_report

    print(zones_report(args.device, hrtf=args.hrtf, plot=_plot_path(args)))
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from soundstage.session.model import session_file
    from soundstage.session.render import render_session, render_summary

    session = session_file(args.session)
    out = Path(args.output) if args.output else session.resolve().parent / "renders"
    bar = _progress(1, session.name)

    def progress(position: int, total: int) -> None:
        bar.total = total
        bar.n = position
        bar.refresh()

    try:
        result = render_session(
            session,
            out,
            only=args.only,
            overwrite=args.overwrite,
            progress=progress,
            allow_truncated=args.allow_truncated,
            hrtf=args.hrtf,
        )
    finally:
        bar.close()
    for line in render_summary(result, out):
        print(line)
    for name, reason in result.failures.items():
        print(f"soundstage: error: render {name!r} failed: {reason}", file=sys.stderr)
    return 2 if result.failures else 0


def _say_hidden(names: list[str], what: str) -> None:
    """A line naming the hidden audio files a folder's listing left out, if any."""
    if names:
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        print(f"left out {len(names)} hidden file(s) ({shown}): not {what} (macOS writes ._ files beside audio)")


def _cmd_session_new(args: argparse.Namespace) -> int:
    from soundstage.session.new import WIDE_STEM, new_session

    made = new_session(args.folder, output=args.output, overwrite=args.overwrite)
    stems = len(made.session.stems)
    print(
        f"wrote {made.file}: {stems} stem(s) at {made.sample_rate:g} Hz, {made.stamped} placed by their time reference, "
        f"{stems - made.stamped} from the start; {len(made.session.renders)} render(s)"
    )
    for relative in made.truncated:
        print(f"stem {relative} is TRUNCATED (see its comment): render with --allow-truncated, or export it again")
    for relative in made.wide:
        print(f"stem {relative} has more than 2 channels: {WIDE_STEM}")
    unread = dict(made.unread)
    for relative in made.unstamped:
        if relative in unread:
            print(
                f"stem {relative}: {unread[relative]}; it starts with the earliest of the {made.stamped} stem(s) placed "
                "by theirs; give it offset_s (seconds after that one) if it starts elsewhere"
            )
            continue
        print(
            f"stem {relative} has no time reference (BWF, FLAC or Ogg) while {made.stamped} stem(s) have: it starts "
            "with the earliest of them; give it offset_s if it starts elsewhere"
        )
    for left, others in made.pairs:
        if "," not in others:
            print(f"stems {left} and {others} are a split stereo pair: panned hard left and right (pan = -1, 1)")
        else:
            print(f"stems {left}, {others} are a bed exported as mono files: panned and folded down as ITU-R BS.775 does")
    _say_hidden(list(made.skipped), "stems")
    if made.outputs:
        shown = ", ".join(made.outputs[:4]) + (", ..." if len(made.outputs) > 4 else "")
        print(f"left out what soundstage wrote ({shown}): renders and batch outputs, not stems")
    quoted = shlex.quote(str(made.file))  # a folder a DAW named "My Song - stems" pastes into a shell as one word
    print(f"check it: soundstage session check {quoted}; render it: soundstage render {quoted}")
    return 0


def _cmd_session_check(args: argparse.Namespace) -> int:
    import wcwidth

    from soundstage.session.model import load_session
    from soundstage.session.render import check_chains
    from soundstage.session.stems import inspect_stems, timeline_frames

    session = load_session(Path(args.session))
    rate, stems = inspect_stems(session)
    chains, changes = check_chains(session, stems, rate)
    automated = (
        f", automation: {changes} parameter change(s)" if session.midi is not None or session.head_track is not None else ""
    )
    length = timeline_frames(session, stems, rate) / rate
    tail = f" ({session.tail_s:g} s of it the chains' tail)" if session.tail_s else ""
    print(
        f"{session.file}: {len(stems)} stem(s), session rate {rate:g} Hz, length {length:.2f} s{tail}, "
        f"{len(session.renders)} render(s), {chains} chain(s)" + automated
    )
    print(f"{'stem':<16} {'start s':>8} {'from':<20} {'rate':>7} {'ch':>3} {'format':<8} {'length s':>8} {'pan':>5}  chain / bus")
    for info in stems:
        print(
            f"{wcwidth.ljust(info.stem.name, 16)} {info.start / rate:8.3f} {info.start_source:<20} {info.sample_rate:7g} "
            f"{info.channels:>3} "
            f"{info.file_dtype:<8} {info.frames / info.sample_rate:8.2f} {info.stem.pan:>+5.2f}  "
            f"{info.stem.chain or '-'} / {info.stem.bus or 'master'}"
            + "".join(f"  ({flag})" for flag in ("mute", "solo") if getattr(info.stem, flag))
            + (f"  ({info.conversion})" if info.conversion else "")
        )
    for render in session.renders:
        print(f"render {render.name}: {render.kind}, {render.file_format} {render.bit_depth}-bit")
    return 0


def _cmd_analyze_device(args: argparse.Namespace) -> int:
    from soundstage.acoustics.profiles import ListeningRegion
    from soundstage.analysis.report import device_report

    region = ListeningRegion(args.region_yaw_deg, args.region_lateral_m, args.region_fore_aft_m)
    report = device_report(
        args.device,
        hrtf=args.hrtf or ["model"],
        design_hrtf=args.design_hrtf,
        distance_m=args.distance_m,
        region=region,
        plot=_plot_path(args),
    )
    print(report)
    return 0


def _hrtf_argument(parser: argparse.ArgumentParser, where: str = "the chain") -> None:
    """``--hrtf``: the listener's own head for every stage of ``where`` that takes one."""
    parser.add_argument(
        "--hrtf",
        nargs="+",
        action="extend",  # given twice: both count (a later one dropped the earlier silently)
        default=None,
        metavar="SOFA",
        help=f"the listener's own head (SOFA files, or a head model's name) for every stage of {where} that designs "
        "or listens on a head: the device's design and its binaural preview alike",
    )


def _given_heads(heads: list[str] | None) -> list[str] | None:
    """``--hrtf`` as given, each SOFA file checked to exist before any chain loads (an error then names the option,
    not the stage of a preset it was going to)."""
    import os

    from soundstage.acoustics.hrtf import HEAD_MODELS, head_hint
    from soundstage.files import missing_hint, on_disk

    for head in heads or ():
        file = on_disk(Path(os.path.expanduser(head)))
        if head not in HEAD_MODELS and not file.is_file():
            hint = "" if file.is_dir() else missing_hint(file)
            if hint:
                raise SoundstageError(f"--hrtf {head!r}: the file does not exist{hint}")
            what = "is a folder" if file.is_dir() else "does not exist"
            raise SoundstageError(
                f"--hrtf {head!r}: the file {what}; give the listener's SOFA file (.sofa), or a head model "
                f"({', '.join(HEAD_MODELS)}){head_hint(head)}"
            )
    return heads


def _region_arguments(parser: argparse.ArgumentParser, what: str = "listening region") -> None:
    """``--region-yaw-deg``, ``--region-lateral-m``, ``--region-fore-aft-m``: a listening region's extents."""
    parser.add_argument("--region-yaw-deg", type=_ranged(float, 0, 45, "deg"), default=5.0, help=f"{what}: +-yaw")
    parser.add_argument("--region-lateral-m", type=_ranged(float, 0, 0.5, "m"), default=0.05, help=f"{what}: +-lateral offset")
    parser.add_argument("--region-fore-aft-m", type=_ranged(float, 0, 0.5, "m"), default=0.05, help=f"{what}: +-fore-aft offset")


def _signal_blocks(args: argparse.Namespace, channels: int, rate: float, block: int):
    """Blocks of the input file, or of a generated signal, for ``live``."""
    import numpy as np

    if args.input:
        from soundstage import stalls
        from soundstage.fileio import FlacCheck, open_audio

        with open_audio(args.input) as file:
            reader = file if float(file.samplerate) == rate else file.resampled_to(rate)
            # a FLAC's signature checks what was played at its last sample, as process checks it (not resampled)
            check = FlacCheck.of(Path(args.input), file) if reader is file else None
            end = reader.frames if args.seconds is None else min(reader.frames, round(args.seconds * rate))
            while reader.tell() < end:
                with stalls.watched(Path(args.input), "reading"):
                    block_read = reader.read(min(block, end - reader.tell()))
                    if check is not None:
                        check.add(block_read)
                yield block_read
        return
    rng = np.random.default_rng(0)
    total = round((60.0 if args.seconds is None else args.seconds) * rate)
    phase = 0
    for start in range(0, total, block):
        n = min(block, total - start)
        if args.signal == "sine":
            t = (phase + np.arange(n)) / rate
            mono = 0.25 * np.sin(2 * np.pi * 440.0 * t)
        else:  # white noise, -20 dBFS RMS
            mono = 0.1 * rng.standard_normal(n)
        phase += n
        yield np.repeat(mono[None].astype(np.float32), channels, axis=0)


class _Stop(threading.Event):
    """Set by the first of the signals :func:`_first_signal_stops` takes; ``by`` says which (``"Ctrl-C"``, ``"SIGTERM"``)."""

    by = ""


#: The signals that stop ``live`` and keep its take: Ctrl-C, a kill's or a service manager's SIGTERM, and the SIGHUP of
#: a terminal closed (where the platform has them).
_STOPPING = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def _first_signal_stops(*signums: int) -> Iterator[_Stop]:
    """While ``live`` plays (or ``midi monitor`` listens): the first of ``signums`` (default Ctrl-C) stops it after
    the block it is in, as a DAW's stop does, and what was played and recorded is kept; a second one interrupts
    (nothing kept). A signal the process was started ignoring (Ctrl-C in a background job, SIGHUP under nohup) stays
    ignored."""
    stop = _Stop()
    previous: dict[int, Any] = {}

    def first(signum: int, _frame: object) -> None:
        stop.by = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        stop.set()
        for taken, handler in previous.items():
            signal.signal(taken, handler)

    try:
        for signum in signums or (signal.SIGINT,):
            if signal.getsignal(signum) is not signal.SIG_IGN:
                previous[signum] = signal.signal(signum, first)
    except ValueError:  # not the main thread: the signals are not ours to take
        yield stop
        return
    try:
        yield stop
    finally:
        for taken, handler in previous.items():
            signal.signal(taken, handler)


def _check_live_sources(args: argparse.Namespace) -> None:
    """What moves the chain in ``live``: a MIDI map with its input, a head tracker, or both; the options of one
    given without it (feedback without a map, a yaw sign without a tracker) are refused, not ignored."""
    if bool(args.map) != bool(args.in_port) or not (args.map or args.head_tracker):
        raise SoundstageError(
            "live needs a MIDI map and input (--map MAP.toml --in PORT), a head tracker (--head-tracker udp:PORT), or both"
        )
    if args.out_port and not args.map:
        raise SoundstageError(f"--out {args.out_port}: feedback sends the map's values to a controller; give --map and --in too")
    if args.head_yaw_sign != 1.0 and not args.head_tracker:
        raise SoundstageError("--head-yaw-sign turns a head tracker's yaw; give --head-tracker udp:PORT too")


def _cmd_live(args: argparse.Namespace) -> int:
    import numpy as np

    from soundstage.host.chainfile import find_chain, load_chain
    from soundstage.midi.live import run_live
    from soundstage.midi.maps import load_map

    chain = load_chain(find_chain(args.chain), hrtf=_given_heads(args.hrtf))
    _check_live_sources(args)
    midi_map = load_map(args.map, chain) if args.map else None
    tracker_at = _udp_address(args.head_tracker) if args.head_tracker else None
    rate, channels = args.sample_rate or 48000.0, 2
    if args.input:
        from soundstage.fileio import open_audio

        if args.signal:
            raise SoundstageError(f"--signal {args.signal} generates a signal, --input plays '{args.input}': give one of them")
        with open_audio(args.input) as probe:
            rate, channels = args.sample_rate or float(probe.samplerate), int(probe.num_channels)
    outputs = chain.output_channels_for(channels)  # checked before any port opens
    take = _Take()
    with contextlib.ExitStack() as stack:
        sinks = []  # where the processed audio goes: a sound device, a file (both checked before waiting for MIDI)
        if args.play is not None:
            sinks.append(_audio_device(args.play, outputs, rate, stack).write)
        if args.record:
            from soundstage.fileio import check_output_path
            from soundstage.sinks import AudioSink, audio_target

            inputs = [Path(args.input)] if args.input else []
            target = check_output_path(args.record, inputs=inputs, overwrite=args.overwrite)
            recorder = take.recorder = stack.enter_context(AudioSink(audio_target(target, channels=outputs, sample_rate=rate)))
            sinks.append(lambda audio, _rate: take.write(recorder, audio))

        muted = _Muting(rate)

        def deliver(audio: np.ndarray) -> None:
            audio = muted.check(audio)
            for sink in sinks:
                sink(audio, rate)

        control, trackers = _live_sources(args, chain, midi_map, tracker_at, stack, rate)
        stop = take.stop = stack.enter_context(_first_signal_stops(*_STOPPING))

        def show(at: float, applied: dict[str, object]) -> None:
            text = ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in applied.items())
            print(f"{at:8.2f} s  {text}", flush=True)

        with take.kept_on_error():
            stats = run_live(
                chain,
                control,
                itertools.takewhile(lambda _: not stop.is_set(), _signal_blocks(args, channels, rate, args.block)),
                rate,
                on_change=show,
                on_output=deliver,
                trackers=trackers,
            )
    if take.failure is not None:  # the take up to where the drive filled is kept (the sink committed it above)
        raise OutputError(f"{take.failure}; the take's first {take.kept_s:.2f} s are kept in {str(take.path)!r}")
    heard = [f"stopped by {stop.by}{', the take so far kept' if args.record else ''}"] if stop.by else []
    if control is not None:
        heard.append(
            f"{control.received} MIDI message(s), {control.errors} bad, {control.malformed_bytes} malformed byte(s) dropped"
        )
    for tracker in trackers:
        heard.append(f"{tracker.received} head-tracker packet(s), {tracker.malformed} malformed, {tracker.ignored} ignored")
    if muted.blocks:
        heard.append(f"{muted.blocks} block(s) muted (inf or NaN in the chain's output; the first at {muted.first_s:.2f} s)")
    print(
        f"done: {stats.seconds:.1f} s of audio in {stats.wall_seconds:.1f} s; {'; '.join(heard)}; {stats.changes} change(s); "
        f"worst lag {stats.worst_lag_ms:.1f} ms ({stats.late_blocks} late block(s) of {stats.blocks})"
    )
    return 0


class _Take:
    """A live recording that keeps what it holds when the run fails, as a DAW keeps a take: a write that fails (a
    drive that fills) ends the file at the frames written before it and stops the loop, the error raised after the
    file is committed (at once where it cannot be ended so: a FLAC not one frame long); an error elsewhere (an input
    damaged, a device gone, a plugin failing) ends it at what was written (:meth:`kept_on_error`)."""

    def __init__(self) -> None:
        self.recorder: Any = None
        self.stop: threading.Event | None = None
        self.failure: OutputError | None = None
        self.kept_s = 0.0
        self.path: Path | None = None

    def write(self, recorder: Any, audio: Any) -> None:
        if self.failure is not None:
            return
        try:
            recorder.write(audio)
        except OutputError as error:
            if not recorder.end_at_written():
                raise
            self.failure, self.path = error, recorder.target.path
            self.kept_s = recorder.frames / recorder.target.sample_rate
            if self.stop is not None:
                self.stop.set()

    @contextlib.contextmanager
    def kept_on_error(self) -> Iterator[None]:
        """An error raised inside (an input damaged, a device gone, a plugin failing) keeps the take so far: its file
        finished and committed, the error said in one line with what was kept."""
        try:
            yield
        except Exception as error:
            if not self._keep():
                raise
            said = _one_line(error) if isinstance(error, SoundstageError) else f"{type(error).__name__}: {_one_line(error)}"
            raise SoundstageError(f"{said}; the take's first {self.kept_s:.2f} s are kept in {str(self.path)!r}") from None

    def _keep(self) -> bool:
        """Finish and commit the take as written so far; whether there is one holding audio and it could be."""
        recorder = self.recorder
        if recorder is None or self.failure is not None or not recorder.frames:
            return False
        try:
            recorder.close()
            self.path = recorder.commit()
        except OutputError:
            return False
        self.kept_s = recorder.frames / recorder.target.sample_rate
        return True


def _live_sources(
    args: argparse.Namespace, chain: Chain, midi_map: Any, tracker_at: tuple[str, int] | None, stack: Any, rate: float
) -> tuple[Any, list[Any]]:
    """Start the live MIDI control and the head tracker that ``args`` ask for (stopped when ``stack`` closes)."""
    from soundstage.host.prefetch import DesignWorker
    from soundstage.midi.live import LiveControl, open_port

    control = None
    parameters = chain.parameters
    worker = DesignWorker(parameters)  # filter designs of live changes happen here, never on the audio loop
    stack.callback(worker.stop)
    if midi_map is not None:
        input_port = open_port(args.in_port)
        output_port = open_port(args.out_port, output=True) if args.out_port else None
        control = LiveControl(chain, midi_map, input_port, output_port, worker=worker).start()
        stack.callback(control.stop)
        print(f"live: {args.chain} at {rate:g} Hz, {len(midi_map.bindings)} binding(s); MIDI in {args.in_port}")
        for binding in midi_map.bindings:
            parameter = parameters[binding.target]
            print(f"  {binding.target} = {parameter.value} {parameter.unit}  <- {binding.kind} {binding.number}")
    trackers = []
    if tracker_at is not None:
        from soundstage.headtrack import HeadTracker

        tracker = HeadTracker(parameters, tracker_at[1], host=tracker_at[0], yaw_sign=args.head_yaw_sign, worker=worker).start()
        stack.callback(tracker.stop)
        trackers.append(tracker)
        host, port = tracker.address
        print(f"live: head tracker on udp {host}:{port} (OSC) -> {', '.join(tracker.targets)}", flush=True)
    return control, trackers


def _udp_address(spec: str) -> tuple[str, int]:
    """``udp:PORT`` or ``udp:HOST:PORT`` -> (host, port); the loopback by default."""
    parts = spec.split(":")
    if parts[0] != "udp" or len(parts) not in (2, 3) or not parts[-1].isdigit() or not 0 <= int(parts[-1]) < 65536:
        raise SoundstageError(f"--head-tracker {spec!r}: give udp:PORT (e.g. udp:9000) or udp:HOST:PORT")
    return (parts[1] if len(parts) == 3 else "127.0.0.1"), int(parts[-1])


class _Muting:
    """What ``live`` plays and records: a block of the chain's output that holds inf or NaN (a stage run unstable, a
    plugin misbehaving) is silence instead, so neither a speaker nor the take gets it; the first is said at once."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.frames = 0
        self.blocks = 0
        self.first_s = 0.0

    def check(self, audio: Any) -> Any:
        import numpy as np

        at, self.frames = self.frames, self.frames + audio.shape[1]
        if np.isfinite(audio).all():
            return audio
        if not self.blocks:
            self.first_s = at / self.rate
            print(
                f"{self.first_s:8.2f} s  muted: the chain's output holds inf or NaN (a stage run unstable?); "
                "silence is played and recorded until it is finite again",
                flush=True,
            )
        self.blocks += 1
        return np.zeros_like(audio)


def _audio_device(name: str, channels: int, rate: float, stack: contextlib.ExitStack):
    """An output stream on a sound device through pedalboard (``""``: the default device)."""
    from pedalboard.io import AudioStream

    devices = list(AudioStream.output_device_names)
    if not devices:
        raise SoundstageError("--play: this machine has no audio output device (pedalboard lists none); use --record FILE")
    device = name or AudioStream.default_output_device_name or devices[0]
    if device not in devices:
        raise SoundstageError(f"--play: no output device {device!r} (devices: {', '.join(map(repr, devices))})")
    try:
        stream = AudioStream(output_device_name=device, sample_rate=rate, num_output_channels=channels)
    except Exception as error:  # the device refuses the rate or channel count
        raise SoundstageError(
            f"--play: {device!r} cannot play {channels} channel(s) at {rate:g} Hz ({error}); "
            "a device chain's driver feeds need a multichannel interface, or use a binaural chain on headphones"
        ) from None
    stack.callback(stream.close)
    return stream


def _cmd_midi_learn(args: argparse.Namespace) -> int:
    from soundstage.host.chainfile import find_chain, load_chain
    from soundstage.midi.learn import learn
    from soundstage.midi.live import open_port

    chain = load_chain(find_chain(args.chain))
    if Path(args.map).exists():  # a broken map is reported before the user moves a control
        from soundstage.midi.maps import load_map

        load_map(args.map, chain)
    port = open_port(args.in_port)
    print(f"move the control for {args.param} (turn an encoder clockwise) ...", flush=True)
    entry = learn(chain, args.map, args.param, port, timeout_s=args.timeout, keep=args.keep)
    details = ", ".join(f"{k} = {v!r}" for k, v in entry.items() if k != "target")
    print(f"learned {entry['target']}: {details}; written to {args.map}")
    return 0


def _cmd_midi_monitor(args: argparse.Namespace) -> int:
    from soundstage.midi.live import monitor, open_port

    port = open_port(args.in_port)
    with _first_signal_stops() as stop:  # Ctrl-C is how a monitor without --count or --seconds ends
        seen = monitor(port, lambda line: print(line, flush=True), count=args.count, seconds=args.seconds, stopped=stop.is_set)
    dropped = int(getattr(port, "malformed_bytes", 0))
    print(f"{seen} message(s)" + (f", {dropped} malformed byte(s) dropped" if dropped else ""))
    return 0


def _audition_folder(given: Path) -> Path:
    """The render folder ``soundstage audition PATH`` serves: the folder of a rendered page given itself (or a file in
    it: the page, a render), else the ``renders/`` beside the session file (or inside the session's folder)."""
    from soundstage.session.page import PAGE_NAME

    if given.is_dir():
        rendered = [folder for folder in (given, given / "renders") if (folder / PAGE_NAME).is_file()]
        return rendered[0] if rendered else given / "renders"
    if not given.exists():
        raise SoundstageError(
            f"audition: {str(given)!r} does not exist; give the session file that was rendered, its folder, or the "
            "folder the render wrote (with index.html)"
        )
    if (given.parent / PAGE_NAME).is_file():  # the page itself, or one of the files the render wrote beside it
        return given.parent
    if given.suffix.lower() != ".toml":
        raise SoundstageError(
            f"audition: {str(given)!r} is not a session file (.toml) nor in a folder a render wrote; give the session "
            "file that was rendered, its folder, or the folder the render wrote (with index.html)"
        )
    return given.resolve().parent / "renders"


def _cmd_audition(args: argparse.Namespace) -> int:
    from soundstage.audition import serve
    from soundstage.files import on_disk

    given = on_disk(Path(args.session))
    folder = _audition_folder(given)
    if args.output:
        if folder == given:
            raise SoundstageError(
                f"audition: {args.session!r} is a render folder itself and -o gives another ({args.output!r}); give one of them"
            )
        folder = on_disk(Path(args.output))
    try:
        serve(folder, port=args.port, open_browser=not args.no_open)
    except KeyboardInterrupt:  # Ctrl-C is how the page is stopped, as it says: no interruption of anything
        print("audition: stopped")
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    """Exit status: 0 when every item is done (or was, with --resume); 2 + the number of failed items (at most 99)."""
    from tqdm import tqdm

    from soundstage.batch import load_jobs, run_batch
    from soundstage.batch.run import RECYCLE_AFTER
    from soundstage.fileio import audio_files

    if args.scheduler is not None:
        options = [name for name, value in (("--workers", args.workers), ("--recycle-after", args.recycle_after)) if value]
        if options:
            raise SoundstageError(
                f"batch: {' and '.join(options)} set{'s' if len(options) == 1 else ''} the local worker processes; with "
                f"--scheduler the cluster's workers run the items (start them with as many processes as wanted): "
                f"drop {' and '.join(options)}"
            )
    items = load_jobs(args.jobs, chain=args.chain, hrtf=_given_heads(args.hrtf), tail_s=args.tail)
    if Path(args.jobs).is_dir():
        _say_hidden([path.name for path in audio_files(Path(args.jobs))[1]], "items")
    out = Path(args.output) if args.output else Path("batch-out")
    terminal = sys.stderr.isatty()
    bar = tqdm(total=len(items), unit="item", disable=not terminal, leave=False)
    hours = [0.0]
    clipped: dict[str, int] = {}

    def progress(entry: dict[str, Any]) -> None:
        seconds = sum(float(o.get("seconds_of_audio", 0.0)) for o in entry.get("outputs", []))
        over = sum(int(o.get("clipped_samples", 0)) for o in entry.get("outputs", []))
        if over:
            clipped[entry["item"]] = over
        hours[0] += seconds / 3600
        bar.update(1)
        bar.set_postfix_str(f"{hours[0]:.2f} h of audio")
        if not terminal:
            what = "done" if entry["status"] == "done" else f"FAILED: {entry.get('reason', '')}"
            print(f"{entry['item']}: {what} ({entry.get('seconds', 0):.1f} s, {entry.get('worker', '-')})", flush=True)

    try:
        result = run_batch(
            items,
            out,
            scheduler=args.scheduler,
            resume=args.resume,
            overwrite=args.overwrite,
            on_entry=progress,
            workers=2 if args.workers is None else args.workers,
            recycle_after=RECYCLE_AFTER if args.recycle_after is None else args.recycle_after,
        )
    finally:
        bar.close()
    print(
        f"batch: {len(result.done)} done, {len(result.skipped)} already done, {len(result.failed)} failed of {len(items)} "
        f"item(s); {result.seconds_of_audio / 3600:.2f} h of audio; manifest {out / 'batch-manifest.jsonl'}"
    )
    if clipped:
        named = ", ".join(f"{name} ({count})" for name, count in list(clipped.items())[:5])
        more = f" and {len(clipped) - 5} more" if len(clipped) > 5 else ""
        print(
            f"batch: {len(clipped)} item(s) went past full scale, samples clipped (or over, in float files): {named}{more}; "
            "lower the level at the chain's end, or write float WAVs (see the manifest's clipped_samples)"
        )
    for name, reason in result.failed.items():
        print(f"soundstage: error: item {name!r} failed: {reason}", file=sys.stderr)
    if result.interrupted:
        print(
            "soundstage: interrupted; the items in flight finished, the rest were not started (--resume goes on)", file=sys.stderr
        )
        return 130
    return min(2 + len(result.failed), 99) if result.failed else 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from soundstage.demo import run_demo

    return run_demo(Path(args.dir), overwrite=args.overwrite)


def _cmd_designs(args: argparse.Namespace) -> int:
    import os

    from soundstage import designstore

    if args.clear:
        removed = designstore.clear_store()
        print(f"design store: removed {removed} file(s)")
    for problem in (designstore.folder_problem(), designstore.limit_problem()):
        if problem:
            print(f"soundstage designs: {problem}", file=sys.stderr)
    folder, count, size, limit = designstore.store_usage()
    if folder is None:
        print(f"design store: off (SOUNDSTAGE_DESIGN_CACHE={os.environ.get('SOUNDSTAGE_DESIGN_CACHE', '')!r})")
    else:
        print(f"design store: {folder}: {count} design(s), {size / 2**20:.1f} MB of {limit / 2**20:.0f} MB")
    return 0


def _cmd_export_plugin(args: argparse.Namespace) -> int:
    from soundstage.export import export_plugin

    result = export_plugin(
        args.chain,
        args.output,
        name=args.name,
        overwrite=args.overwrite,
        hrtf=_given_heads(args.hrtf),
        system=args.platform,
        midi_map=args.map,
        **{key: value for key, value in (("formats", args.format), ("rates", args.rates)) if value is not None},
    )
    program = result.program
    latency = ", ".join(f"{samples} samples at {rate:g} Hz" for rate, samples in program.latency.items())
    if program.any_rate:
        latency = f"{next(iter(program.latency.values()))} samples at every rate"
    print(f"{result.name}: {program.inputs} in, {program.outputs} out; latency {latency}")
    for parameter in program.parameters:
        unit = f" {parameter.unit}" if parameter.unit else ""
        span = f"{parameter.minimum:g}..{parameter.maximum:g}{unit}, default {parameter.default:g}"
        if parameter.choices:
            span = f"one of {', '.join(parameter.choices)}, default {parameter.choices[int(parameter.default)]}"
        print(f'  parameter {parameter.name} ("{parameter.label}" in a DAW): {span}')
    if program.fixed:
        print(f"  fixed at export (change them in the chain file and export again): {', '.join(program.fixed)}")
    plugins = [plugin_format for plugin_format in result.bundles if plugin_format != "web"]
    if plugins:
        print("  bypass: the DAW's own; it plays the input in time (delayed by the latency), crossfading over 20 ms")
    if plugins and program.any_rate:
        print("  it plays at every sample rate, as its chain does: no stage of it holds a design made for one rate")
    elif plugins:
        _say_rates(list(program.latency))
    if args.map:
        _say_midi(result, args.map)
    if result.web_program is not None:
        _say_page(result, result.web_program, args.map)
    for note in result.notes:
        print(f"  MIDI map: {note}")
    for plugin_format, bundle in result.bundles.items():
        print(f"  {plugin_format}: {bundle}")
    return 0


def _say_midi(result: Export, midi_map: str) -> None:
    """The export summary's lines on the plugins' MIDI input (``--map``)."""
    if result.midi_formats:
        takes = " and ".join(f.upper() for f in result.midi_formats)
        print(
            f"  MIDI in ({takes}): the bindings of {midi_map} move its knobs, each on the sample its message comes, "
            "from a controller or a MIDI track's automation routed into the plugin; the plugin keeps the map, its "
            "program presets written in (soundstage plugin map PLUGIN)"
        )
    if "vst3" in result.bundles:
        print("  the VST3 takes no MIDI (DPF would move its knobs' IDs): the DAW's own MIDI learn binds its knobs")


def _say_page(result: Export, page: Program, midi_map: str | None) -> None:
    """The export summary's lines on the web page (running ``page``): its size, rate, A/B and MIDI map."""
    from soundstage.export.web import page_rate

    size = result.bundles["web"].stat().st_size / 2**20
    print(
        f"  web page ({size:.1f} MB): open it in a browser, from disk, and drop a mix on it; it runs the chain at "
        f"{page_rate(page):g} Hz (the browser converts the file and its output), with the knobs and "
        "the bypass"
    )
    if result.web_reference is not None:
        print("  its A/B (a): the device against a real +-30 deg stereo pair on the same head, seat and room, in time")
    compared = [
        *(["the stereo reference"] if result.web_reference is not None else []),
        *(["the bypass"] if page.outputs == page.inputs else []),
    ]
    if compared:
        print(
            f"  loudness match (m): the chain and {' and '.join(compared)} heard at the quietest one's integrated "
            "loudness on the mix opened"
        )
    if midi_map:
        print(f"  its MIDI (Web MIDI): the bindings of {midi_map}; learn more in the page, and save them as a map")


def _say_rates(baked: list[float]) -> None:
    """The export summary's lines on the rates a plugin baked for ``baked`` plays at, and the ones it does not."""
    from soundstage.export import DEFAULT_RATES, resampled_rates

    resampled = resampled_rates(baked)
    print(f"  baked for {_hz(baked)} Hz; at {_hz(resampled)} Hz it runs those designs resampled")
    usual = [rate for rate in (*DEFAULT_RATES, 176400.0, 192000.0) if rate not in baked and rate not in resampled]
    more = f" (for those a studio runs: --rates {_hz(sorted([*baked, *usual]))})" if usual else ""
    print(f"  at other sample rates the plugin is silent{more}")


def _hz(rates: Sequence[float]) -> str:
    return ",".join(f"{rate:g}" for rate in rates)


def _comma_list(choices: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [item.strip().lower() for item in text.split(",") if item.strip()]
        wrong = [item for item in items if item not in choices]
        if wrong or not items:
            raise argparse.ArgumentTypeError(f"{text!r}: choose from {','.join(choices)} (comma-separated)")
        return list(dict.fromkeys(items))  # "clap,clap" is clap once (a second build collided with the first)

    return parse


def _rates(text: str) -> list[float]:
    try:
        return list(dict.fromkeys(_RATE(item) for item in text.split(",") if item.strip())) or [_RATE("")]
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"--rates {text!r}: {error}") from None


class _Parser(argparse.ArgumentParser):
    """argparse with soundstage's one-line errors (argparse prints its usage first, then the error), which name an
    option or command given misspelt and the one meant: argparse said "the following arguments are required:
    --chain" of ``--chian mastering``, and nothing of the option it did not know."""

    _given: Sequence[str] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._options: list[str] = []  # what this command takes (argparse keeps its own privately)
        self._greedy: list[str] = []  # its options that take every name after them (nargs "+")
        self._commands: dict[str, argparse.ArgumentParser] = {}
        super().__init__(*args, **kwargs)  # which adds -h and --help

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self._options.extend(action.option_strings)
        if action.nargs in ("+", "*"):
            self._greedy.extend(action.option_strings)
        return action

    def add_subparsers(self, **kwargs: Any) -> Any:
        commands = super().add_subparsers(**kwargs)
        self._commands = commands.choices
        return commands

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self._given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        misspelt, prog = self._misspelt()
        if not misspelt and message.startswith("the following arguments are required"):
            misspelt = self._swallowed()
        self.exit(2, f"soundstage: error: {misspelt or message}; see '{prog} --help'\n")

    def _swallowed(self) -> str:
        """For arguments found missing, where an option that takes every name after it (``--hrtf me.sofa in.wav
        out.wav``) took them: which it took, and how to give it; else ``""``."""
        given = self._given[: self._given.index("--")] if "--" in self._given else self._given
        for index, token in enumerate(given):
            if token in self._greedy:
                taken = list(itertools.takewhile(lambda item: not item.startswith("-"), given[index + 1 :]))
                if len({Path(item).suffix.lower() for item in taken}) > 1:  # files of other kinds among them
                    names = ", ".join(repr(item) for item in taken)
                    return (
                        f"{token} took {names}: it takes every name after it, up to the next option; give {token} "
                        f"after the input and output, or end its list with -- ({token} {taken[0]} -- IN OUT)"
                    )
        return ""

    def _misspelt(self) -> tuple[str, str]:
        """The first option given that its command does not know but one of its own is close to, or a command given
        that one is close to, with the one meant; else ``""``. And the name of the command the tokens given name (the
        subcommand whose options were not recognised, not ``soundstage``)."""
        import difflib

        given = self._given[: self._given.index("--")] if "--" in self._given else self._given
        parser: _Parser = self
        for token in given:  # down to the (sub)command the tokens name
            if not parser._commands or token.startswith("-"):
                continue
            if token in parser._commands:
                parser = parser._commands[token]  # type: ignore[assignment]  # made by add_subparsers: a _Parser
                continue
            close = difflib.get_close_matches(token, list(parser._commands), n=1, cutoff=0.7)
            if close:
                names = ", ".join(parser._commands)
                return f"unknown command {token!r} (did you mean {close[0]!r}? commands: {names})", parser.prog
            break
        known = sorted(parser._options)
        for token in given:
            name = token.split("=", 1)[0]
            if name.startswith("-") and name not in known and not name.lstrip("-").replace(".", "").isdigit():
                close = difflib.get_close_matches(name if name.startswith("--") else "-" + name, known, n=1, cutoff=0.8)
                if close:
                    return f"unknown option {name!r} (did you mean {close[0]!r}?)", parser.prog
        return "", parser.prog


def _ranged(kind: Callable[[str], float], low: float, high: float, unit: str) -> Callable[[str], Any]:
    """An argparse type: a number of ``kind`` within low..high (the message names the range and unit)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {low}..{high} {unit}")
        return value

    parse.__name__ = kind.__name__
    return parse


#: How a MIDI port is given (soundstage.midi.ports.open_port).
_PORT_FORMS = (
    "a port's name or a unique part of it (nanoKONTROL), virtual:NAME (other programs connect to it), jack:NAME or "
    "alsa:NAME (that MIDI API), tcp:HOST:PORT or tcp-listen:HOST:PORT (raw MIDI bytes over TCP)"
)

#: What ``soundstage --help`` says first (the module docstring's reST is for readers of the code).
DESCRIPTION = (
    "A smart speaker's spatial processing in the studio: upmix, virtualizer, crosstalk cancellation and beamforming "
    "as pedalboard-style chains, run on files, sessions, batches and live."
)


def _versions() -> str:
    """soundstage's version, and pedalboard's and Python's beside it (what a bug report needs)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    def of(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:  # run from a source tree that was never installed
            return "not installed"

    return f"soundstage {of('soundstage')} (pedalboard {of('pedalboard')}, Python {platform.python_version()})"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``soundstage`` command."""
    parser = _Parser(prog="soundstage", description=DESCRIPTION, epilog="soundstage COMMAND --help shows a command's options")
    parser.add_argument("--version", action="version", version=_versions(), help="the versions a bug report needs")
    commands = parser.add_subparsers(dest="command", required=True)

    process = commands.add_parser("process", help="stream an audio file through a chain")
    process.add_argument("input", help="input audio file (never modified), or - for standard input")
    process.add_argument(
        "output", nargs="?", default=None, help="output audio file (.wav/.bwf, .aiff, .flac), or - for a WAV on standard output"
    )
    process.add_argument(
        "-o", "--output", dest="output_option", metavar="OUT", default=None, help="the output file (or as the 2nd argument)"
    )
    process.add_argument("--chain", required=True, help="chain file, or the name of a preset in chains/")
    process.add_argument("--buffer-size", type=_BLOCK, default=65536, help="block size in samples (default 65536)")
    process.add_argument(
        "--allow-truncated", action="store_true", help="process an input that holds less than its header says (reported)"
    )
    process.add_argument(
        "--bit-depth",
        type=int,
        choices=(16, 24, 32),
        default=None,
        help="output bit depth (default: 32-bit float WAV/AIFF, 24-bit FLAC)",
    )
    process.add_argument("--overwrite", action="store_true", help="replace an existing output")
    process.add_argument(
        "--tail",
        type=_TAIL,
        default=0.0,
        metavar="SECONDS",
        help="seconds rendered after the input's end for the chain's tail, a reverb's (default 0: the input's length)",
    )
    process.add_argument("--midi", default=None, help="MIDI file whose controller messages automate the chain")
    process.add_argument(
        "--head-track",
        default=None,
        metavar="FILE.csv",
        help="recorded head trajectory (time_s, yaw_deg[, x_m, y_m]) moving the listener",
    )
    process.add_argument("--map", default=None, help="MIDI map (TOML) binding controls to parameter paths")
    _hrtf_argument(process)
    process.set_defaults(run=_cmd_process)

    chain = commands.add_parser("chain", help="inspect chain files").add_subparsers(dest="chain_command", required=True)
    show = chain.add_parser("show", help="print a chain with channel counts and latency per node")
    show.add_argument("file", help="chain file, or a preset name")
    show.add_argument("--sample-rate", type=_RATE, default=48000.0, help="the rate to show latencies at (default 48000 Hz)")
    show.add_argument("--channels", type=_ranged(int, 1, 1024, "channels"), default=2, help="input channel count (default 2)")
    show.set_defaults(run=_cmd_chain_show)

    plugin = commands.add_parser("plugin", help="inspect external plugins").add_subparsers(dest="plugin_command", required=True)
    info = plugin.add_parser("info", help="list a plugin's parameters with ranges and units")
    info.add_argument("path", help="the .vst3 bundle (or .component on macOS)")
    info.add_argument("--plugin-name", default=None, help="which plugin of a multi-plugin bundle")
    info.add_argument(
        "--sample-rate", type=_RATE, default=48000.0, help="the rate to load it at and report its latency for (default 48000 Hz)"
    )
    info.set_defaults(run=_cmd_plugin_info)
    state = plugin.add_parser(
        "chain", help="the chain file an exported plugin was made from (its bundle, or a state it saved: .vstpreset)"
    )
    state.add_argument(
        "state", help="an exported plugin (.vst3, .clap, .lv2), a .vstpreset, or a file of the plugin's saved state"
    )
    state.add_argument("-o", "--output", help="write the chain file here (default: print it)")
    state.add_argument("--overwrite", action="store_true", help="replace an existing -o file")
    state.set_defaults(run=_cmd_plugin_chain)
    held_map = plugin.add_parser(
        "map", help="the MIDI map an exported plugin takes (export-plugin --map), its program presets written in"
    )
    held_map.add_argument("plugin", help="a plugin exported with --map (.clap, .lv2)")
    held_map.add_argument("-o", "--output", help="write the map here (default: print it)")
    held_map.add_argument("--overwrite", action="store_true", help="replace an existing -o file")
    held_map.set_defaults(run=_cmd_plugin_map)

    analyze = commands.add_parser("analyze", help="measure spatial designs").add_subparsers(dest="analyze_command", required=True)
    crosstalk = analyze.add_parser("crosstalk", help="channel separation of a device's crosstalk canceller per 1/3-octave band")
    crosstalk.add_argument("--device", default="studio-5", help="device profile name or file")
    crosstalk.add_argument("--distance-m", type=_DISTANCE, default=2.0, help="listener distance (m)")
    crosstalk.add_argument(
        "--hrtf",
        nargs="+",
        action="extend",
        default=None,
        help="'model' (the default) or SOFA files to evaluate on (e.g. the MIT KEMAR set); several allowed",
    )
    crosstalk.add_argument(
        "--design-hrtf",
        default="model",
        help="design on this SOFA file (personalized) or another head model: "
        "'brown-duda', 'rigid-sphere', 'blended-sphere', 'head-and-torso'",
    )
    _region_arguments(crosstalk)
    crosstalk.add_argument(
        "--seat",
        action="store_true",
        help='design the canceller exact at the seat (region = "seat"), not robust over the listening region',
    )
    crosstalk.add_argument(
        "--other-listeners",
        action="store_true",
        help="also on listeners made from each head: 0.9-1.1 times its size (a SOFA set), ears moved 5 deg asymmetrically",
    )
    crosstalk.add_argument("--plot", default=None, help="write separation vs frequency to this PNG (needs matplotlib)")
    crosstalk.set_defaults(run=_cmd_analyze_crosstalk)
    beam = analyze.add_parser("beam", help="the center beam against the matrix mix: nulls, 45 deg level, DI, WNG")
    beam.add_argument("--device", default="studio-5", help="device profile name or file")
    beam.add_argument("--plot", default=None, help="polar plots to this PNG (needs matplotlib)")
    beam.set_defaults(run=_cmd_analyze_beam)
    zones = analyze.add_parser("zones", help="separation over a grid of listener positions")
    zones.add_argument("--device", default="studio-5", help="device profile name or file")
    zones.add_argument("--hrtf", default="model", help="the head to hear it on: a head model's name or a SOFA file")
    zones.add_argument("--plot", default=None, help="the map as a PNG (needs matplotlib)")
    zones.set_defaults(run=_cmd_analyze_zones)
    device_cmd = analyze.add_parser("device", help="end-to-end figures of the device chain in one table")
    device_cmd.add_argument("--device", default="studio-5", help="device profile name or file")
    device_cmd.add_argument(
        "--hrtf",
        nargs="+",
        action="extend",
        default=None,
        help="the heads to hear the device on: 'model' (the default), 'brown-duda', 'rigid-sphere', 'blended-sphere', "
        "'head-and-torso' or SOFA files (e.g. MIT KEMAR); several allowed",
    )
    device_cmd.add_argument(
        "--design-hrtf",
        default="model",
        help="design the device chain on this SOFA file (personalized) or another head model",
    )
    device_cmd.add_argument("--distance-m", type=_DISTANCE, default=2.0, help="listener distance (m)")
    _region_arguments(device_cmd, what="the seats the figures are also given over (the designs keep their own)")
    device_cmd.add_argument("--plot", default=None, help="separation and width per seat to this PNG (needs matplotlib)")
    device_cmd.set_defaults(run=_cmd_analyze_device)
    virtualizer = analyze.add_parser("virtualizer", help="the Virtualizer's ITD and ILD per octave beside a measured head's")
    virtualizer.add_argument(
        "--azimuth-deg", type=_ranged(float, 1, 90, "degrees"), default=30.0, help="angle of the virtual speakers"
    )
    virtualizer.add_argument(
        "--head-radius-m", type=_ranged(float, 0.05, 0.12, "m"), default=None, help="head radius of the model (default 0.0875)"
    )
    virtualizer.add_argument(
        "--hrtf",
        default="model",
        help="the head the virtualizer uses: "
        "'model', 'brown-duda', 'rigid-sphere', 'blended-sphere', 'head-and-torso' or a SOFA file",
    )
    virtualizer.add_argument(
        "--against", default=None, help="a SOFA file to compare with (default: the MIT KEMAR set of libmysofa1), or 'none'"
    )
    virtualizer.add_argument("--plot", default=None, help="ILD per 1/3 octave to this PNG (needs matplotlib)")
    virtualizer.set_defaults(run=_cmd_analyze_virtualizer)

    render = commands.add_parser("render", help="render a session's stems through its chains into files")
    render.add_argument("session", help="session file (.toml), or a folder holding a session.toml")
    render.add_argument("-o", "--output", default=None, help="output folder (default: renders/ beside the session)")
    render.add_argument("--only", action="append", default=None, help="render only this (repeatable)")
    render.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    render.add_argument(
        "--allow-truncated", action="store_true", help="render stems that hold less than their headers say (reported)"
    )
    _hrtf_argument(render, "the render chains (device, binaural, reference, A/B; instead of the session's hrtf)")
    render.set_defaults(run=_cmd_render)
    session = commands.add_parser("session", help="write and inspect session files").add_subparsers(
        dest="session_command", required=True
    )
    new = session.add_parser("new", help="write a session file for a folder of exported stems (every audio file in it)")
    new.add_argument("folder", help="the folder the stems were exported into")
    new.add_argument(
        "-o", "--output", default=None, help="the session file, or a folder for its session.toml (default: in the stems' folder)"
    )
    new.add_argument("--overwrite", action="store_true", help="replace an existing session file")
    new.set_defaults(run=_cmd_session_new)
    check = session.add_parser("check", help="validate a session and list its stems with offsets and rates")
    check.add_argument("session", help="session file (.toml), or a folder holding a session.toml")
    check.set_defaults(run=_cmd_session_check)

    live = commands.add_parser("live", help="process audio in real time while a MIDI controller drives the chain")
    live.add_argument("--chain", required=True, help="chain file, or the name of a preset in chains/")
    live.add_argument("--map", default=None, help="MIDI map (TOML)")
    _hrtf_argument(live)
    live.add_argument("--in", dest="in_port", default=None, help=f"MIDI input port: {_PORT_FORMS}")
    live.add_argument(
        "--head-tracker",
        default=None,
        metavar="udp:PORT",
        help="OSC head tracker on this UDP port of 127.0.0.1 (udp:HOST:PORT for another address): yaw, quaternion, position",
    )
    live.add_argument(
        "--head-yaw-sign", type=float, choices=(1.0, -1.0), default=1.0, help="-1 for a tracker whose yaw counts clockwise"
    )
    live.add_argument(
        "--out", dest="out_port", default=None, help=f"MIDI output port for feedback (motor faders, LED rings): {_PORT_FORMS}"
    )
    live.add_argument("--input", default=None, help="audio file to play through the chain (default: a generated signal)")
    live.add_argument("--signal", choices=("noise", "sine"), default=None, help="generated signal (default noise)")
    live.add_argument(
        "--seconds", type=_SECONDS, default=None, help="seconds to play (default: all of --input, or 60 s of the signal)"
    )
    live.add_argument(
        "--sample-rate",
        type=_RATE,
        default=None,
        help="rate to run at (default: the --input file's, or 48000 Hz); a file at another rate is resampled",
    )
    live.add_argument("--block", type=_BLOCK, default=256, help="block size in samples (default 256)")
    live.add_argument(
        "--play", nargs="?", const="", default=None, metavar="DEVICE", help="play on a sound device (default device if no name)"
    )
    live.add_argument("--record", default=None, metavar="FILE", help="also write what was played to FILE (.wav/.aiff/.flac)")
    live.add_argument("--overwrite", action="store_true", help="replace an existing --record file")
    live.set_defaults(run=_cmd_live)

    midi = commands.add_parser("midi", help="MIDI learn and monitor").add_subparsers(dest="midi_command", required=True)
    learn = midi.add_parser("learn", help="bind the next control moved on a port to a parameter, in a map file")
    learn.add_argument("--chain", required=True, help="chain file, or the name of a preset in chains/")
    learn.add_argument("--map", required=True, help="map file to write (created if missing; other bindings kept)")
    learn.add_argument("--param", required=True, help="parameter path, e.g. device.width or 3.gain_db")
    learn.add_argument("--in", dest="in_port", required=True, help=f"MIDI input port: {_PORT_FORMS}")
    learn.add_argument("--timeout", type=_SECONDS, default=30.0, help="seconds to wait for a control (default 30)")
    learn.add_argument("--keep", action="store_true", help="keep the parameter's earlier bindings (default: replace)")
    learn.set_defaults(run=_cmd_midi_learn)
    monitor = midi.add_parser("monitor", help="print incoming MIDI decoded as maps see it")
    monitor.add_argument("--in", dest="in_port", required=True, help=f"MIDI input port: {_PORT_FORMS}")
    monitor.add_argument("--count", type=_ranged(int, 1, 2**31, "messages"), default=None, help="stop after this many messages")
    monitor.add_argument("--seconds", type=_SECONDS, default=None, help="stop after this many seconds")
    monitor.set_defaults(run=_cmd_midi_monitor)

    audition = commands.add_parser("audition", help="serve a render's folder on 127.0.0.1 and open its audition page")
    audition.add_argument("session", help="session file (.toml) that was rendered, its folder, or the folder the render wrote")
    audition.add_argument(
        "-o", "--output", default=None, help="the render's output folder (default: renders/ beside the session)"
    )
    audition.add_argument("--port", type=_ranged(int, 0, 65535, "port"), default=0, help="port (default: any free one)")
    audition.add_argument("--no-open", action="store_true", help="do not open a browser (print the address only)")
    audition.set_defaults(run=_cmd_audition)

    batch = commands.add_parser("batch", help="render many items (a folder, a glob or a TOML job list) in parallel")
    batch.add_argument("jobs", help="a folder of audio files, a glob, or a .toml job list")
    batch.add_argument("--chain", default=None, help="chain file or preset for a folder or glob (a job list names its own)")
    _hrtf_argument(batch, "every item's chain (or session's render chains; an item's own hrtf wins)")
    batch.add_argument("-o", "--output", default=None, help="output folder (default ./batch-out)")
    batch.add_argument("--workers", type=_ranged(int, 1, 256, "workers"), default=None, help="local worker processes (default 2)")
    batch.add_argument("--scheduler", default=None, help="run on this Dask cluster instead (tcp://HOST:PORT; the cluster extra)")
    batch.add_argument("--resume", action="store_true", help="skip items the manifest records as done with the same inputs")
    batch.add_argument("--overwrite", action="store_true", help="replace existing outputs this batch did not write")
    batch.add_argument(
        "--tail",
        type=_TAIL,
        default=None,
        metavar="SECONDS",
        help="seconds rendered after each input's end for the chain's tail, a reverb's (a job list's items that give no "
        "tail_s of their own; default: the list's tail_s, else 0)",
    )
    batch.add_argument(
        "--recycle-after",
        type=_ranged(int, 1, 10**6, "items"),
        default=None,
        help="replace a local worker after N items (default 50)",
    )
    batch.set_defaults(run=_cmd_batch)

    demo = commands.add_parser("demo", help="generate an example mix and run it through the bundled chain")
    demo.add_argument("dir", nargs="?", default="soundstage-demo", help="output folder (default ./soundstage-demo)")
    demo.add_argument("--overwrite", action="store_true", help="replace the files of an earlier demo in the folder")
    demo.set_defaults(run=_cmd_demo)

    designs = commands.add_parser(
        "designs", help="where the design store is, what it holds (designs kept between runs), and --clear to empty it"
    )
    designs.add_argument("--clear", action="store_true", help="remove every stored design (they are made again when needed)")
    designs.set_defaults(run=_cmd_designs)

    export = commands.add_parser(
        "export-plugin",
        help="build a chain into a native VST3 / LV2 / CLAP plugin (needs g++ and dpf-source), or a web page that "
        "plays a mix through it in a browser (web; needs clang and the wasm32 libraries)",
    )
    export.add_argument("chain", help="chain file, or the name of a preset in chains/")
    export.add_argument("-o", "--output", required=True, help="folder the plugin bundles go into")
    export.add_argument(
        "--format",
        type=_comma_list(("vst3", "lv2", "clap", "web")),
        default=None,
        help="default: vst3,lv2,clap (Windows: vst3,clap); web: a page that runs the chain in a browser",
    )
    export.add_argument(
        "--platform",
        choices=("linux", "windows"),
        default="linux",
        help="the system the plugin runs on (default linux; windows: 64-bit DLLs built with MinGW-w64, "
        "apt-get install g++-mingw-w64-x86-64-posix)",
    )
    export.add_argument("--name", help="plugin name (default: the chain file's name)")
    export.add_argument(
        "--rates", type=_rates, default=None, help="sample rates to bake designs for (default 44100,48000,88200,96000)"
    )
    export.add_argument("--overwrite", action="store_true", help="replace bundles of the same name in the folder")
    export.add_argument(
        "--map",
        metavar="MAP.toml",
        help="a MIDI map of the chain (soundstage midi learn): the CLAP and LV2 plugins take MIDI in, and it moves their "
        "knobs on each message's sample; the web page's knobs move by Web MIDI",
    )
    _hrtf_argument(export, "the chain (baked into the plugin)")
    export.set_defaults(run=_cmd_export_plugin)
    return parser


_BLOCK = _ranged(int, 1, 2**24, "samples")
_TAIL = _ranged(float, 0.0, 600.0, "s")  # soundstage.fileio.MAX_TAIL_S (the CLI imports no module it need not)
_IN_RANGE_RATE = _ranged(float, 8000, 768000, "Hz")


def _RATE(text: str) -> float:  # noqa: N802 (an argparse type, named as the others)
    """A sample rate: whole Hz (files and hosts know no other) within 8000..768000."""
    value = _IN_RANGE_RATE(text)
    if not float(value).is_integer():
        raise argparse.ArgumentTypeError(f"{text} is not a whole number of Hz (sample rates are, e.g. 44100 or 48000)")
    return float(value)


_DISTANCE = _ranged(float, 0.2, 20.0, "m")
_SECONDS = _ranged(float, 0.001, 86400.0, "s")


def _one_numerical_thread() -> None:
    """Hold the numerical libraries' thread pools (OpenBLAS, OpenMP, MKL) to one thread, unless the environment
    sets them, before numpy loads (it has not: the command line imports it lazily).

    soundstage parallelizes itself (the stems' threads, batch workers); a BLAS pool on top fights them for
    the cores, and its workers spin after each call. Measured in the demo render on 2 cores: a design-grid
    blend (BLAS axpy over four 0.29 MB nodes) took 6.9 ms with OpenBLAS's threads, 0.29 ms with one.
    The batch workers hold theirs the same way (``batch.run.THREAD_VARIABLES``).
    """
    if "numpy" not in sys.modules:  # too late otherwise: the pools are made when the libraries load
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, "1")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Errors print one line and return 2; Ctrl-C returns 130, SIGTERM 143 and
    SIGHUP 129, each after removing every temporary file of the run. A reader of
    the output that goes away (``soundstage session check S | head -3``) ends it
    quietly with 141, as a command-line tool killed by SIGPIPE.
    """
    _one_numerical_thread()
    _names_print()
    from soundstage.errors import warnings_as_lines

    warnings_as_lines()
    from soundstage.files import Terminated, signals_as_exceptions

    args = build_parser().parse_args(argv)
    from soundstage import stalls
    from soundstage.native import released_at_end

    outside = stalls.on_stall(_end_on_stall)
    with (
        released_at_end(),
        signals_as_exceptions(),
        _restored(stalls.on_stall, outside),
        stalls.signals_reach_calls(_end_on_signal),
    ):
        try:
            status = int(args.run(args))
            sys.stdout.flush()  # a reader gone (| head) is met here, and not as a traceback at the interpreter's exit
            return status
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # what is still buffered goes nowhere
            return 141  # 128 + SIGPIPE (13), as a shell reports a tool that signal stopped
        except SoundstageError as error:
            print(f"soundstage: error: {_one_line(error)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("soundstage: interrupted; no output was written", file=sys.stderr)
            return 130
        except Terminated as stop:
            print(f"soundstage: {stop}; no output was written", file=sys.stderr)
            return 128 + stop.signum


def _end_on_stall(stall: Any) -> None:
    """A decoder that never returns (:mod:`soundstage.stalls`): the error, the run's temporaries removed, and the
    process ended, as nothing else ends a call in C (Ctrl-C and SIGTERM wait for it)."""
    from soundstage import stalls

    stalls.remove_temporaries()
    print(f"soundstage: error: {stall}", file=sys.stderr, flush=True)
    os._exit(2)


def _end_on_signal(signum: int) -> None:
    """Ctrl-C, SIGTERM or SIGHUP while the main thread waits on a call into C (:func:`soundstage.stalls.
    signals_reach_calls`): what the exceptions they raise would do (main's handlers), from here."""
    from soundstage import stalls

    stalls.remove_temporaries()
    what = "interrupted" if signum == signal.SIGINT else f"terminated by {signal.Signals(signum).name}"
    print(f"soundstage: {what}; no output was written", file=sys.stderr, flush=True)
    os._exit(128 + signum)


@contextlib.contextmanager
def _restored(setter: Callable[[Any], Any], value: Any) -> Iterator[None]:
    """Call ``setter(value)`` when the block ends."""
    try:
        yield
    finally:
        setter(value)


def _names_print() -> None:
    """File names that are not UTF-8 (kept by Python as surrogates) print as escapes, as stderr prints them, instead of
    stopping the command with UnicodeEncodeError on a UTF-8 terminal."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None and getattr(sys.stdout, "errors", "strict") == "strict":
        reconfigure(errors="backslashreplace")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split("\n"))
    return text.strip() or type(error).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
