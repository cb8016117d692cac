"""What native code (C and C++ libraries: libjack, plugins) prints on the process's stderr, held while soundstage
asks it for something that may fail.

soundstage says a failure in one line. A library asked to open a MIDI port or load a plugin may print its own lines
on file descriptor 2 first (libjack: "Cannot connect to server socket ...", five lines; a DPF plugin: "assertion
failure ..."), which buried that line. :func:`messages_held` holds them: they are written out when the call
succeeds (nothing a library says is lost then) and dropped when it fails.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

__all__ = ["messages_held"]


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
