"""A process a plugin crashes, and what is said and cleaned up when it does.

A third-party plugin that dereferences a null pointer or fails an assertion takes the whole process down with it
(SIGSEGV, SIGABRT): no Python code runs after, so the shell says "Segmentation fault" and nothing else, and the
hidden temporary of the output being written (:func:`soundstage.files.atomic_path`, hundreds of MB for a long file)
stays on the disk. So once the command line has asked for it (:func:`report_in_this_process`) and the first plugin
is about to run (:func:`doing`), a watcher is started: a small Python process reading a pipe from this one. Through
the pipe it learns the temporaries being written and, per thread, which plugin that thread is running; Python's
:mod:`faulthandler` writes the crash into a file it reads. When the pipe closes without the word this process says on
every way out Python takes (:func:`ended`, at exit, and before :func:`os._exit`), the watcher removes the
temporaries and prints one line: which plugin crashed the process and how, or that it ended saying nothing
(SIGKILL: ``kill -9``, the system out of memory; a plugin that calls ``exit``).

A crash is put on a plugin where the crashing thread's innermost soundstage frame is the call :func:`doing` was
called from (the plugin's own frames, and pedalboard's, are inside it); elsewhere the line names that frame; in a
thread of no soundstage code (a plugin's own, its host's), the plugin last said to run is named as the likely cause.
A developer's own ``PYTHONFAULTHANDLER`` wins: the trace goes where they set it, and the watcher only cleans up.
Forked children do not report (their parent's watcher is not theirs).
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import inspect
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType

__all__ = ["doing", "ended", "limited", "made_folder", "report_in_this_process", "report_into", "temporary"]

#: soundstage's own folder, with a separator at its end: a frame of a file in it is soundstage's.
_PACKAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "")
#: The watcher's program (``python -I -S -c TRACE_FD PACKAGE [REPORT]``): what it reads, and the line it prints.
_WATCHER = r"""
import json, os, re, signal, sys
for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(number, signal.SIG_IGN)  # the process group's signals are for the command, which says bye
temporaries, doing, bye, elsewhere, pending, last, limit, folders = {}, {}, False, False, b"", None, None, {}
report = sys.argv[3] if len(sys.argv) > 3 else None  # a batch's worker: the file the line goes into
while True:
    data = os.read(0, 65536)
    if not data:
        break
    pending += data
    *lines, pending = pending.split(b"\n")
    for line in lines:
        try:
            kind, value = json.loads(line)
        except ValueError:  # a message cut short (the pipe was full): passed over
            continue
        if kind == "+":
            temporaries[value[0]] = value[1]
        elif kind == "-":
            temporaries.pop(value, None)
        elif kind == "folder":  # made by the command for its outputs: removed if a crash leaves it empty
            folders[value[0]] = value[1]
        elif kind == "=":
            doing[value[0]] = value[1:]
            last = value[3]
        elif kind == "bye":
            bye = True
        elif kind == "traced elsewhere":
            elsewhere = True
        elif kind == "report":
            report = value
        elif kind == "limit":  # a call holding the interpreter is timed by faulthandler, which ends the process
            limit = value
if bye:
    sys.exit(0)
removed = []
for path, target in temporaries.items():
    try:
        os.unlink(path)
        removed.append(target)
    except OSError:
        pass
for folder in sorted((path for path, made in folders.items() if made), key=len, reverse=True):
    try:
        os.rmdir(folder)  # only where empty
    except OSError:
        pass
trace = int(sys.argv[1])
text = os.pread(trace, os.fstat(trace).st_size, 0).decode("utf-8", "replace")
fatal = re.search(r"Fatal Python error: ([^\n]+)", text)
if elsewhere:
    line = "the process ended before it finished (a crash, or killed; PYTHONFAULTHANDLER shows which)"
elif fatal is None and limit is not None and re.match(r"Timeout \(", text):
    line = limit
elif fatal is None:
    line = "the process ended before it finished, saying nothing (killed: kill -9, the system out of memory; "
    line += "or a plugin ended it)"
else:
    kind = fatal.group(1).strip().lower()
    advice = "run it again with PYTHONFAULTHANDLER=1 for the trace, and report it with soundstage --version"
    current = re.search(r"Current thread (0x[0-9a-fA-F]+)[^\n]*\n((?:  [^\n]*\n?)*)", text)
    frames = re.findall(r'File "([^"]+)", line \d+ in (\S+)', current.group(2)) if current else []
    ours = next((frame for frame in frames if frame[0].startswith(sys.argv[2])), None)  # in soundstage's package
    said = doing.get(int(current.group(1), 16)) if current else None
    if said is not None and ours is not None and list(ours) == said[:2]:
        line = f"the process crashed ({kind}) while {said[2]}: the plugin's fault, not soundstage's nor the input's; "
        line += "leave it out of the chain, or report it to its maker"
    elif ours is not None:
        where = os.path.relpath(ours[0], sys.argv[2]).replace(os.sep, "/")
        line = f"the process crashed ({kind}) in soundstage's {where} ({ours[1]}); {advice}"
    elif last is not None:  # a thread of no soundstage code (a plugin's, its host's): the plugin last run
        line = f"the process crashed ({kind}) in a thread of no soundstage code, as {last}: most likely the plugin's "
        line += "fault; leave it out of the chain, or report it to its maker"
    else:
        line = f"the process crashed ({kind}); {advice}"
if removed:
    named = [name if os.path.relpath(name).startswith("..") else os.path.relpath(name) for name in removed]
    shown = ", ".join(repr(name) for name in named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
    line += f"; its unfinished output{'s' if len(named) > 1 else ''} {shown} {'were' if len(named) > 1 else 'was'} removed"
if report:  # a batch's worker: the line goes to the batch, for its manifest
    with open(report + ".partial", "w", encoding="utf-8", errors="backslashreplace") as file:
        file.write(line + "\n")
    os.replace(report + ".partial", report)  # whole, or not there
else:
    os.write(2, ("soundstage: error: " + line + "\n").encode("utf-8", "backslashreplace"))
"""


@dataclass
class _Watch:
    allowed: bool = False
    report: str | None = None  # the file the line goes into (a batch's worker), else the command's stderr
    terminal: int | None = None  # the command's stderr as it began, for the watcher's line (fd 2 may be held then)
    started: bool = False
    trace: int | None = None  # the file faulthandler writes into (None: a developer's own PYTHONFAULTHANDLER's)
    pipe: int | None = None
    process: subprocess.Popen[bytes] | None = None
    temporaries: dict[Path, Path] = field(default_factory=dict)  # temporary -> the output it is written for
    folders: set[str] = field(default_factory=set)  # made for outputs, removed if a crash leaves them empty
    said: dict[int, tuple[CodeType | None, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_WATCH = _Watch()


def report_in_this_process() -> None:
    """Have a crash of this process reported on its stderr as it is now (the command line calls this as it starts,
    before any C library's messages are held; a library does not start processes). POSIX only: the watcher is
    handed its files by descriptor."""
    if os.name != "posix":
        return
    if _WATCH.terminal is None:
        try:
            _WATCH.terminal = os.dup(2)
        except OSError:  # no stderr to report on
            return
    _WATCH.allowed = True


def report_into(path: Path | None) -> None:
    """Have a crash of this process reported into the file ``path`` (written only if the process crashes or is
    killed), not on stderr: a batch's worker, whose batch puts the line in its manifest; None: on stderr again (a
    cluster's worker between items, its log). Not where the command line reports (:func:`report_in_this_process`)."""
    if os.name != "posix" or _WATCH.terminal is not None:
        return
    with _WATCH.lock:
        _WATCH.report = os.path.abspath(path) if path is not None else None
        _WATCH.allowed = True
        _send("report", _WATCH.report)


def doing(what: str) -> None:
    """The calling thread is about to run a plugin: ``what`` says which and how, as the end of "the process crashed
    while ...", e.g. ``"plugin 'Limiter' ('/x/Limiter.vst3') was processing"``. A crash of this thread with the
    caller's frame innermost among soundstage's is put on it. Cheap when ``what`` is what the thread said last."""
    if not _WATCH.allowed:
        return
    frame = inspect.currentframe()
    ident, caller = threading.get_ident(), frame.f_back.f_code if frame and frame.f_back else None
    if _WATCH.said.get(ident) == (caller, what):
        return
    with _WATCH.lock:
        _WATCH.said[ident] = (caller, what)
        _start()
        _send("=", [ident, caller and caller.co_filename, caller and caller.co_name, what])


@contextlib.contextmanager
def limited(seconds: float, line: str) -> Iterator[None]:
    """Run the block (a call into a plugin that holds Python's interpreter lock, which no thread of the process can
    time) with the process ended past ``seconds``, and ``line`` said: :mod:`faulthandler`'s timer, a thread of C,
    writes into the watcher's trace and exits; the watcher removes the temporaries and prints ``line``. As it is
    where no watcher runs (a library's process) or the trace is a developer's own."""
    with _WATCH.lock:
        trace = _WATCH.trace if _WATCH.pipe is not None else None
        armed = trace is not None
        if trace is not None:
            _send("limit", line)
            faulthandler.dump_traceback_later(seconds, exit=True, file=trace)
    try:
        yield
    finally:
        if armed:
            faulthandler.cancel_dump_traceback_later()
            with _WATCH.lock:
                _send("limit", None)


def temporary(path: Path, target: Path | None = None) -> None:
    """``path`` is a temporary being written for the output ``target``, or no longer one (``target`` None): a crash
    removes those still listed, and names their outputs."""
    with _WATCH.lock:
        if target is not None:
            _WATCH.temporaries[path] = target
            _send("+", [os.path.abspath(path), os.path.abspath(target)])
        else:
            _WATCH.temporaries.pop(path, None)
            _send("-", os.path.abspath(path))


def made_folder(path: Path, made: bool = True) -> None:
    """``path`` is a folder this process made for its outputs (a session's renders), or its outputs are done with it
    (``made`` False): a crash that leaves it empty removes it, as the command would have."""
    name = os.path.abspath(path)
    with _WATCH.lock:
        (_WATCH.folders.add if made else _WATCH.folders.discard)(name)
        _send("folder", [name, made])


def ended() -> None:
    """Say the process ends as it means to (at exit; the command line before :func:`os._exit`): the watcher says
    nothing, and goes."""
    with _WATCH.lock:
        _send("bye", None)
        pipe, process = _WATCH.pipe, _WATCH.process
        _WATCH.pipe = _WATCH.process = None
    if pipe is not None:
        if _WATCH.trace is not None:
            faulthandler.disable()
            os.close(_WATCH.trace)
            _WATCH.trace = None
        with contextlib.suppress(OSError):
            os.close(pipe)
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def _start() -> None:
    """Start the watcher (under the lock), once; if it cannot start, crashes go unreported as before."""
    if _WATCH.started:
        return
    _WATCH.started = True
    try:
        trace = tempfile.TemporaryFile()  # faulthandler's: a file, which takes a whole trace without waiting
        read, write = os.pipe()
    except OSError:
        return
    with trace:
        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    "-c",
                    _WATCHER,
                    str(trace.fileno()),
                    _PACKAGE,
                    *([_WATCH.report] if _WATCH.report else []),
                ],
                stdin=read,
                stdout=subprocess.DEVNULL,
                stderr=_WATCH.terminal,
                pass_fds=(trace.fileno(),),
            )
        except OSError:
            os.close(write)
            return
        finally:
            os.close(read)
        if not faulthandler.is_enabled():
            _WATCH.trace = os.dup(trace.fileno())
            faulthandler.enable(file=_WATCH.trace, all_threads=True)
    os.set_blocking(write, False)  # an audio thread saying which plugin it runs never waits on the watcher
    _WATCH.pipe, _WATCH.process = write, process
    atexit.register(ended)
    if _WATCH.trace is None:
        _send("traced elsewhere", None)
    for path, target in _WATCH.temporaries.items():
        _send("+", [os.path.abspath(path), os.path.abspath(target)])
    for name in _WATCH.folders:
        _send("folder", [name, True])


def _send(kind: str, value: object) -> None:
    """One message to the watcher, if it runs (under the lock); a watcher gone is no reason to fail the command."""
    if _WATCH.pipe is None:
        return
    data = (json.dumps([kind, value]) + "\n").encode()
    try:
        if os.write(_WATCH.pipe, data) < len(data):  # the pipe filled midway: the rest goes unsaid, the line is ended
            os.write(_WATCH.pipe, b"\n")
    except BlockingIOError:  # the watcher is behind by a pipe's worth: this message goes unsaid
        pass
    except OSError:
        with contextlib.suppress(OSError):
            os.close(_WATCH.pipe)
        _WATCH.pipe = None


def _forget_after_fork() -> None:
    """A forked child reports nothing: the watcher is its parent's (its crash would read as the parent's)."""
    _WATCH.lock = threading.Lock()
    _WATCH.allowed = False
    if _WATCH.trace is not None:
        faulthandler.disable()
        _WATCH.trace = None
    if _WATCH.pipe is not None:
        with contextlib.suppress(OSError):
            os.close(_WATCH.pipe)
    _WATCH.pipe = _WATCH.process = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
