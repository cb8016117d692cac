"""What native code (C and C++ libraries: libjack, plugins) prints on the process's stderr, held while soundstage
asks it for something that may fail.

soundstage says a failure in one line. A library asked to open a MIDI port or load a plugin may print its own lines
on file descriptor 2 first (libjack: "Cannot connect to server socket ...", five lines; a DPF plugin: "assertion
failure ..."), which buried that line. :func:`messages_held` holds them: they are written out when the call
succeeds (nothing a library says is lost then) and dropped when it fails.

And what plugins print as they are released: a VST3 plugin built with DPF (ZamAudio's, and many more on Linux)
prints "DPF warning: asked to delete component while audio processor still active (refcount 1)" and a line like it
whenever pedalboard's host lets it go (JUCE's release order meeting DPF's check of it: harmless), so two lines per
plugin came after a command's last line, its one-line error too. Within :func:`released_at_end` (the command
line's run), plugins are kept (:func:`keep`) and let go where those two lines are dropped, and nothing else is.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator

__all__ = ["keep", "messages_held", "released_at_end"]

#: DPF's check of the order a host releases a VST3 plugin's parts in, which JUCE's host (pedalboard's) does not keep.
RELEASE_ORDER = re.compile(rb"DPF warning: asked to delete component while [a-z ]+ still active \(refcount -?\d+\)\r?\n")

#: The objects :func:`keep` holds while :func:`released_at_end` runs (None outside it), and the lock over them.
_kept: list[object] | None = None
_lock = threading.Lock()
_swapping = threading.Lock()


@contextlib.contextmanager
def messages_held() -> Iterator[None]:
    """What C libraries print on the process's stderr (file descriptor 2) while the block runs, held back: written out
    after a block that succeeds, dropped after one that raises, whose one-line error says what went wrong."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to hold
        yield
        return
    with tempfile.TemporaryFile() as held:
        sys.stderr.flush()
        os.dup2(held.fileno(), 2)
        succeeded = False
        try:
            yield
            succeeded = True
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            size = os.lseek(held.fileno(), 0, os.SEEK_END)
            if succeeded and size:
                os.write(2, os.pread(held.fileno(), size, 0))


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
        with _release_order_dropped():
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
            with _release_order_dropped():
                held.clear()
                gc.collect()  # what held them in a cycle (a traceback's frames) too


@contextlib.contextmanager
def _release_order_dropped() -> Iterator[None]:
    """What the block prints on file descriptor 2, written out after it without DPF's release-order lines. One block
    at a time: two threads swapping descriptor 2 at once could leave it on a closed file."""
    with _swapping, tempfile.TemporaryFile() as held:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr
            yield
            return
        sys.stderr.flush()
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            size = os.lseek(held.fileno(), 0, os.SEEK_END)
            kept = RELEASE_ORDER.sub(b"", os.pread(held.fileno(), size, 0)) if size else b""
            if kept:
                os.write(2, kept)
