"""``soundstage process`` (a file, or a pipe, through a chain) and ``soundstage chain show``."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import math
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from soundstage.cli.arguments import BLOCK, RATE, TAIL, given_heads, hrtf_argument, ranged
from soundstage.cli.report import progress_bar
from soundstage.errors import SoundstageError, first_of

if TYPE_CHECKING:
    from soundstage.host.chain import Chain

__all__ = ["add_chain", "add_process", "chain_table"]


def _process_output(positional: str | None, option: str | None) -> str:
    """``process``'s output: the second argument or ``-o``, given once."""
    if positional is not None and option is not None:
        raise SoundstageError(
            f"output given twice ({positional!r} and -o {option!r}); give it once: soundstage process IN OUT, or -o OUT"
        )
    if positional is None and option is None:
        raise SoundstageError("no output file given; soundstage process IN OUT --chain CHAIN (or -o OUT)")
    return str(positional if positional is not None else option)


def _one_input(args: argparse.Namespace) -> None:
    """Refuse, pointing to ``soundstage batch``, what asks ``process`` for many files: a folder, a pattern the shell
    left as it is (quoted, or cmd.exe's), or the files a shell's ``*.wav`` made of one."""
    batch = f"soundstage batch FOLDER (or a quoted 'GLOB') --chain {args.chain} -o OUT_FOLDER"
    if args.more:
        given = [args.input, args.output, *args.more]
        raise SoundstageError(
            f"soundstage process takes one input and one output, but {len(given)} files were given ({first_of(given, 3)}; "
            f"a shell's *.wav?); to put many files through a chain: {batch}"
        )
    if Path(args.input).is_dir() and not _is_daw_project(Path(args.input)):
        raise SoundstageError(
            f"input {args.input!r} is a folder, not an audio file; to put each audio file in it through the chain: "
            f"soundstage batch {args.input} --chain {args.chain} -o OUT_FOLDER"
        )
    if any(mark in args.input for mark in "*?") and not Path(args.input).exists():
        from soundstage.files import glob_any_form

        matched = glob_any_form(args.input)
        if matched:
            raise SoundstageError(
                f"input {args.input!r} is a pattern that matches {len(matched)} file(s); soundstage process takes one: "
                f"give one file, or put them all through the chain: soundstage batch '{args.input}' --chain {args.chain} "
                "-o OUT_FOLDER"
            )


def _is_daw_project(folder: Path) -> bool:
    """Whether a folder is a DAW's project (Logic's ``.logicx``), which the reader names with how to export it."""
    from soundstage.fileio import daw_project

    return daw_project(folder) is not None


def _cmd_process(args: argparse.Namespace) -> int:
    _one_input(args)
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
            audio_out = stack.enter_context(_standard_output_for_audio())
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
            with open(written, "rb") as audio, open(audio_out, "wb", closefd=False) as out:
                shutil.copyfileobj(audio, out, 1 << 20)
    return 0


@contextlib.contextmanager
def _standard_output_for_audio() -> Iterator[int]:
    """Standard output kept for the audio alone while the block runs: a descriptor of it yielded, and descriptor 1
    pointed at standard error meanwhile. A plugin that prints on standard output (DPF's d_stdout, a printf) wrote into
    the WAV stream: ``soundstage process IN - | ffmpeg -i - ...`` began with "SS Test Crash: made" before its RIFF
    header. What C libraries keep buffered is flushed to standard error before descriptor 1 is given back."""
    sys.stdout.flush()
    audio = os.dup(1)
    os.dup2(2, 1)
    try:
        yield audio
    finally:
        sys.stdout.flush()
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).fflush(None)  # C's stdio buffers, on descriptor 1 (standard error now)
        os.dup2(audio, 1)
        os.close(audio)


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

    from soundstage.fileio import missing_words, open_audio, process_file, ringing_note
    from soundstage.host.chainfile import find_chain, load_chain

    shown_input = named.get(str(source), f"input {source}")  # "input song.wav is mono", "standard input is mono"
    shown_output = named.get(str(target), str(target))
    chain = load_chain(find_chain(args.chain), hrtf=given_heads(args.hrtf))
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
    bar = progress_bar(total + round(args.tail * rate), Path(source).name if str(source) not in named else "standard input")
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
    if info["ringing_s"]:
        print(ringing_note(shown_output, info["ringing_s"], args.tail, lambda tail: f"pass --tail {tail}"), file=said)
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


def add_process(commands: Any) -> None:
    """``soundstage process``: a file through a chain."""
    process = commands.add_parser("process", help="stream an audio file through a chain")
    process.add_argument("input", help="input audio file (never modified), or - for standard input")
    process.add_argument(
        "output", nargs="?", default=None, help="output audio file (.wav/.bwf, .aiff, .flac), or - for a WAV on standard output"
    )
    process.add_argument("more", nargs="*", help=argparse.SUPPRESS)  # a shell's *.wav: refused, pointing to batch
    process.add_argument(
        "-o", "--output", dest="output_option", metavar="OUT", default=None, help="the output file (or as the 2nd argument)"
    )
    process.add_argument("--chain", required=True, help="chain file, or the name of a preset in chains/")
    process.add_argument("--buffer-size", type=BLOCK, default=65536, help="block size in samples (default 65536)")
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
        type=TAIL,
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
    hrtf_argument(process)
    process.set_defaults(run=_cmd_process)


def add_chain(commands: Any) -> None:
    """``soundstage chain show``."""
    chain = commands.add_parser("chain", help="inspect chain files").add_subparsers(dest="chain_command", required=True)
    show = chain.add_parser("show", help="print a chain with channel counts and latency per node")
    show.add_argument("file", help="chain file, or a preset name")
    show.add_argument("--sample-rate", type=RATE, default=48000.0, help="the rate to show latencies at (default 48000 Hz)")
    show.add_argument("--channels", type=ranged(int, 1, 1024, "channels"), default=2, help="input channel count (default 2)")
    show.set_defaults(run=_cmd_chain_show)
