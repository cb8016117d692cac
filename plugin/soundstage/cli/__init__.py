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
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from soundstage.cli import analyze, batch, live, plugin, process, session
from soundstage.cli.arguments import CommandParser
from soundstage.cli.report import one_line
from soundstage.errors import SoundstageError, os_error_line

__all__ = ["main", "build_parser"]


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``soundstage`` command."""
    parser = CommandParser(
        prog="soundstage", description=DESCRIPTION, epilog="soundstage COMMAND --help shows a command's options"
    )
    parser.add_argument("--version", action="version", version=_versions(), help="the versions a bug report needs")
    commands = parser.add_subparsers(dest="command", required=True)
    process.add_process(commands)
    process.add_chain(commands)
    plugin.add_plugin(commands)
    analyze.add_analyze(commands)
    session.add_render(commands)
    session.add_session(commands)
    live.add_live(commands)
    live.add_midi(commands)
    session.add_audition(commands)
    batch.add_batch(commands)
    batch.add_demo(commands)
    batch.add_designs(commands)
    plugin.add_export_plugin(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Errors print one line and return 2; Ctrl-C returns 130, SIGTERM 143 and
    SIGHUP 129, each after removing every temporary file of the run. A reader of
    the output that goes away (``soundstage session check S | head -3``) ends it
    quietly with 141, as a command-line tool killed by SIGPIPE.
    """
    _standard_streams_open()
    _one_numerical_thread()
    _names_print()
    from soundstage.errors import warnings_as_lines

    warnings_as_lines()
    from soundstage.files import Terminated, signals_as_exceptions

    args = build_parser().parse_args(argv)
    from soundstage import crashes, stalls

    crashes.report_in_this_process()  # a plugin that crashes the process is named, its temporaries removed
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
            print(f"soundstage: error: {one_line(error)}", file=sys.stderr)
            return 2
        except OSError as error:  # the system's, on a file nothing nearer named (a name too long, a folder not readable)
            print(f"soundstage: error: {os_error_line(error)}", file=sys.stderr)
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
    from soundstage import crashes, native, stalls

    stalls.remove_temporaries()
    native.last_word(f"soundstage: error: {stall}")
    crashes.ended()
    os._exit(2)


def _end_on_signal(signum: int) -> None:
    """Ctrl-C, SIGTERM or SIGHUP while the main thread waits on a call into C (:func:`soundstage.stalls.
    signals_reach_calls`): what the exceptions they raise would do (main's handlers), from here."""
    from soundstage import crashes, native, stalls

    stalls.remove_temporaries()
    what = "interrupted" if signum == signal.SIGINT else f"terminated by {signal.Signals(signum).name}"
    native.last_word(f"soundstage: {what}; no output was written")
    crashes.ended()
    os._exit(128 + signum)


@contextlib.contextmanager
def _restored(setter: Callable[[Any], Any], value: Any) -> Iterator[None]:
    """Call ``setter(value)`` when the block ends."""
    try:
        yield
    finally:
        setter(value)


def _standard_streams_open() -> None:
    """Standard input, output or error that the program starting the command closed (a GUI, a service manager,
    ``2>&-``) is opened on the null device. Python leaves ``sys.stderr`` None there, and the command failed with a
    traceback no one saw, writing nothing; and the first file opened would take the descriptor, so that what a plugin
    prints on standard error would go into an output being written."""
    for descriptor, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(descriptor)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != descriptor:
                os.dup2(null, descriptor)
                os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(descriptor, mode, encoding="utf-8", errors="backslashreplace", closefd=False))  # noqa: SIM115


def _names_print() -> None:
    """File names that are not UTF-8 (kept by Python as surrogates) print as escapes, as stderr prints them, instead of
    stopping the command with UnicodeEncodeError on a UTF-8 terminal."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None and getattr(sys.stdout, "errors", "strict") == "strict":
        reconfigure(errors="backslashreplace")
