"""The soundstage error hierarchy.

Every error soundstage raises on purpose derives from :class:`SoundstageError`, so
a caller (or the command line) can catch them all in one place. Errors about bad
values also derive from :class:`ValueError`, in the way numpy and librosa do, and
each message says what was passed, what is allowed and how to fix it.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import TextIO

__all__ = [
    "SoundstageError",
    "ParameterError",
    "ChannelError",
    "ChainError",
    "AudioInputError",
    "StreamError",
    "ChainFileError",
    "PluginError",
    "AudioFileError",
    "OutputError",
    "SoundstageDeprecationWarning",
    "warnings_as_lines",
]


class SoundstageError(Exception):
    """Base class of every error soundstage raises on purpose."""


class ParameterError(SoundstageError, ValueError):
    """A parameter value is out of range, of the wrong kind, or unknown."""


class ChannelError(SoundstageError, ValueError):
    """A node cannot take the number of channels it is given."""


class ChainError(SoundstageError, ValueError):
    """A chain is built wrongly: a non-node member, a duplicate name, an unknown path."""


class AudioInputError(SoundstageError, ValueError):
    """Audio passed to ``process`` is empty, non-finite or of an ambiguous shape."""


class StreamError(SoundstageError, ValueError):
    """A streaming call (``reset=False``) does not continue the open stream."""


class ChainFileError(SoundstageError, ValueError):
    """A chain file is malformed: names the file, the key and the value."""


class PluginError(SoundstageError, ValueError):
    """An external plugin is missing, unloadable, or of the wrong kind."""


class AudioFileError(SoundstageError, ValueError):
    """An audio file cannot be read (missing, corrupt, not audio)."""


class OutputError(SoundstageError, ValueError):
    """An output cannot be written (exists, equals an input, unwritable)."""


class SoundstageDeprecationWarning(FutureWarning):
    """A file uses a spelling or key of an earlier version: it still loads, and the message says what to write now.

    A ``FutureWarning`` (shown by default), since the people who see it are the
    ones who wrote the file, not only developers.
    """


def warnings_as_lines() -> None:
    """Print each warning as one line, "soundstage: warning: ...", as the command line prints errors.

    Python's own form is two lines, the second the source line of soundstage (or of a library) that raised it,
    which says nothing to the user. A library's warning names the library. The command line and the batch's
    worker processes call this.
    """

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        parts = Path(filename).parts
        library = parts[parts.index("site-packages") + 1] if "site-packages" in parts[:-1] else ""
        origin = "" if library in ("", "soundstage") else f" ({library.removesuffix('.py')})"
        try:
            print(f"soundstage: warning: {' '.join(str(message).split())}{origin}", file=file or sys.stderr)
        except (OSError, ValueError):  # stderr closed: a warning is not worth failing the run for
            pass

    warnings.showwarning = show
