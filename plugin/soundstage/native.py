"""What native code (C and C++ libraries: libjack, plugins) prints on the process's stderr, held while soundstage
asks it for something that may fail.

soundstage says a failure in one line. A library asked to open a MIDI port or load a plugin may print its own lines
on file descriptor 2 first (libjack: "Cannot connect to server socket ...", five lines; a DPF plugin: "assertion
failure ..."), which buried that line. :func:`messages_held` holds them: they are written out when the call
succeeds (nothing a library says is lost then; a line printed again and again in a row once, with its count:
ZamVerb prints one 20 times as it loads) and dropped when it fails. What soundstage asks a plugin by trial (the
channel layouts it takes: ZamTube asserts on each it refuses) is :func:`messages_dropped`.

And what plugins print as they are released: a VST3 plugin built with DPF (ZamAudio's, and many more on Linux)
prints "DPF warning: asked to delete component while audio processor still active (refcount 1)" and a line like it
whenever pedalboard's host lets it go (JUCE's release order meeting DPF's check of it: harmless), so two lines per
plugin came after a command's last line, its one-line error too. Within :func:`released_at_end` (the command
line's run), plugins are kept (:func:`keep`) and let go where those two lines are dropped, and nothing else is.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator

__all__ = ["keep", "last_word", "messages_dropped", "messages_held", "release_order_dropped", "released_at_end"]

#: DPF's check of the order a host releases a VST3 plugin's parts in, which JUCE's host (pedalboard's) does not keep.
RELEASE_ORDER = re.compile(rb"DPF warning: asked to delete component while [a-z ]+ still active \(refcount -?\d+\)\r?\n")

#: The objects :func:`keep` holds while :func:`released_at_end` runs (None outside it), and the lock over them.
_kept: list[object] | None = None
_lock = threading.Lock()
_swapping = threading.RLock()
#: The process's own stderr, copied aside by each block holding descriptor 2 in turn (the first: the real one).
_terminals: list[int] = []


@contextlib.contextmanager
def messages_held() -> Iterator[None]:
    """What C libraries print on the process's stderr (file descriptor 2) while the block runs, held back: written out
    after a block that succeeds (a line printed many times in a row as one line with its count; DPF's release-order
    lines, which pedalboard's load of a plugin makes too, dropped), dropped after one that raises, whose one-line
    error says what went wrong."""
    with _stderr_held(lambda text, succeeded: _collapsed(RELEASE_ORDER.sub(b"", text)) if succeeded else b""):
        yield


@contextlib.contextmanager
def messages_dropped() -> Iterator[None]:
    """What C libraries print on file descriptor 2 while the block runs, dropped: for what soundstage asks a plugin
    by trial (the channel layouts it takes), whose refusals are answers, not news for the user."""
    with _stderr_held(lambda text, succeeded: b""):
        yield


def last_word(line: str) -> None:
    """Print ``line`` on the process's stderr, even inside a block that holds what C libraries print there: the line a
    command ends the process with (:func:`os._exit`, from another thread: a decoder that never returns, a signal)
    would go to the held messages, which an ended process never writes out."""
    terminals = list(_terminals)
    if not terminals:
        print(line, file=sys.stderr, flush=True)
        return
    sys.stderr.flush()
    os.write(terminals[0], (line + "\n").encode(sys.stderr.encoding or "utf-8", "backslashreplace"))


def _collapsed(text: bytes) -> bytes:
    """``text`` with each run of one line printed three times or more in a row written once, with the count (ZamVerb
    prints "convolution: samplerate mismatch preset:48000 host:44100" 20 times as it loads, and once each time its
    program loads)."""
    lines = []
    for line, run in itertools.groupby(text.splitlines(keepends=True)):
        count = sum(1 for _ in run)
        if count < 3:
            lines.append(line * count)
        else:
            lines.append(line.rstrip(b"\r\n") + f" [the same line {count} times in a row]\n".encode())
    return b"".join(lines)


def keep(thing: object) -> None:
    """Hold ``thing`` (a plugin just loaded) until the end of :func:`released_at_end`, if it is running, and let go
    there, quietly, of those held before that nothing else holds any more (a ``live`` run's program changes load
    plugins as long as it runs)."""
    with _lock:
        if _kept is None:
            return
        done = [held for held in _kept if sys.getrefcount(held) <= 3]  # the list, this name, getrefcount's argument
        _kept[:] = [held for held in _kept if not any(held is other for other in done)] + [thing]
    if done:
        with release_order_dropped():
            del done


@contextlib.contextmanager
def released_at_end() -> Iterator[None]:
    """Plugins loaded in the block (:func:`keep`) are let go at its end with DPF's release-order lines dropped from
    what they print (everything else is written out)."""
    global _kept
    with _lock:
        outer, _kept = _kept, []
    try:
        yield
    finally:
        with _lock:
            held, _kept = _kept, outer
        if held:
            with release_order_dropped():
                held.clear()
                gc.collect()  # what held them in a cycle (a traceback's frames) too


@contextlib.contextmanager
def release_order_dropped() -> Iterator[None]:
    """What the block prints on file descriptor 2, written out after it without DPF's release-order lines."""
    with _stderr_held(lambda text, succeeded: _collapsed(RELEASE_ORDER.sub(b"", text))):
        yield


@contextlib.contextmanager
def _stderr_held(written: Callable[[bytes, bool], bytes]) -> Iterator[None]:
    """File descriptor 2 goes to a temporary file while the block runs; after it, ``written(what it got, whether the
    block succeeded)`` goes to the real one. One thread at a time: two threads swapping descriptor 2 at once could
    leave it on a closed file (a thread may nest blocks)."""
    with _swapping, tempfile.TemporaryFile() as held:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr to hold
            yield
            return
        sys.stderr.flush()
        _terminals.append(saved)
        os.dup2(held.fileno(), 2)
        succeeded = False
        try:
            yield
            succeeded = True
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            _terminals.remove(saved)
            os.close(saved)
            size = os.lseek(held.fileno(), 0, os.SEEK_END)
            kept = written(os.pread(held.fileno(), size, 0) if size else b"", succeeded)
            if kept:
                os.write(2, kept)
