"""The soundstage error hierarchy.

Every error soundstage raises on purpose derives from :class:`SoundstageError`, so
a caller (or the command line) can catch them all in one place. Errors about bad
values also derive from :class:`ValueError`, in the way numpy and librosa do, and
each message says what was passed, what is allowed and how to fix it.
"""

from __future__ import annotations

import errno
import os
import re
import sys
import warnings
from collections.abc import Sequence
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
    "first_of",
    "os_error_line",
    "value_hint",
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


#: Sample rates by the thousands people say them in ("48k"), for a rate given in kHz.
_RATES_KHZ = {
    8: 8000,
    11.025: 11025,
    16: 16000,
    22.05: 22050,
    24: 24000,
    32: 32000,
    44.1: 44100,
    48: 48000,
    88.2: 88200,
    96: 96000,
    176.4: 176400,
    192: 192000,
}


def value_hint(name: str, value: object) -> str:
    """``"; ..."``: how to write ``value``, given for the key or parameter ``name`` and refused, where it is written
    as people say it elsewhere: a number in quotes or with its unit (``"-3 dB"``, ``"0,5"``), a time as a clock or
    timecode for a key in seconds (``"0:02"``), a pan as a DAW shows it (``"L"``, ``"30R"``, ``-100``), a sample
    rate in kHz (``48``, ``"48k"``); else ``""``. Text longer than a value people write is not read (the patterns
    cost the square of its length)."""
    if isinstance(value, str) and len(value) > 64:
        return ""
    if name == "sample_rate" or name.endswith("_rate") or name.endswith("sample_rate_hz"):
        khz = _khz(value)
        if khz in _RATES_KHZ:
            return f"; a sample rate is in Hz: write {_RATES_KHZ[khz]}"
    if name == "pan" and (pan := _pan(value)) is not None:
        scale = " on a DAW's -100..100" if isinstance(value, (int, float)) else ""  # Logic's -64..63 is another
        return f"; pan runs from -1 (hard left) through 0 (center) to +1 (hard right): {value!r}{scale} is {pan:g}"
    if name.endswith("_s") and isinstance(value, str) and (clock := re.fullmatch(r"\s*(\d+(?::\d+){1,3})(\.\d+)?\s*", value)):
        parts = [int(p) for p in clock.group(1).split(":")]
        frames = parts.pop() if len(parts) == 4 else 0
        hours, minutes, seconds = ([0, 0] + parts)[-3:]
        total = 3600 * hours + 60 * minutes + seconds + float(clock.group(2) or 0)
        more = f" plus {frames} frames at the timecode's frame rate" if frames else ""
        zero = " (offsets count from the session's start, not from the timecode's zero)" if name == "offset_s" else ""
        return f"; {name} is in seconds: {value.strip()} is {total:g}{more}, written as a number{zero}"
    if isinstance(value, str) and (found := re.fullmatch(r"\s*([-+\u2212]?\d*[.,]?\d+)\s*([A-Za-z%]*)\s*", value)):
        number = found.group(1).replace(",", ".").replace("\u2212", "-").lstrip("+")
        number = number if not number.lstrip("-").startswith(".") else number.replace(".", "0.", 1)
        return f"; write the number without quotes{' or unit' if found.group(2) else ''}: {number}"
    return ""


def _khz(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1000:
        return float(value)
    if isinstance(value, str) and (found := re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:k|kHz|khz|K)?\s*", value)):
        return float(found.group(1)) if float(found.group(1)) < 1000 else None
    return None


def _pan(value: object) -> float | None:
    """A pan as a DAW writes it (``"L"``, ``"C"``, ``"30R"``, ``"30%R"``, ``"L50"``, or -100..100) on soundstage's
    -1..+1."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 < abs(value) <= 100:
        return value / 100
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    if text in ("L", "R", "C", "LEFT", "RIGHT", "CENTER", "CENTRE", "MID"):
        return {"L": -1.0, "R": 1.0}.get(text[0], 0.0)
    found = re.fullmatch(r"([LR])\s*(\d+)\s*%?|(\d+)\s*%?\s*([LR])", text)  # REAPER shows "30%R"
    if not found:
        return None
    side, amount = (found.group(1), found.group(2)) if found.group(1) else (found.group(4), found.group(3))
    return (-1 if side == "L" else 1) * min(int(amount), 100) / 100


def first_of(names: Sequence[str], shown: int = 4) -> str:
    """The first ``shown`` of ``names`` for a message, and how many more: ``a, b, c, d and 3 more``."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def os_error_line(error: OSError) -> str:
    """An error of the system about a file that nothing nearer named (a name too long where a path is only looked at,
    a folder this user may not read): the file, the system's words, and what to do, in one line."""
    names: list[str | bytes] = [name for name in (error.filename, error.filename2) if name is not None]
    where = " -> ".join(repr(os.fsdecode(name)) for name in names)
    words = error.strerror or str(error)
    fix = {
        errno.ENAMETOOLONG: _too_long(names),
        errno.EACCES: "this user may not read or write there: check the permissions of the file and its folders (ls -ld)",
        errno.EPERM: "this user may not do that there: check the permissions of the file and its folders (ls -ld)",
        errno.EROFS: "the drive is mounted read-only: give a place on another drive",
        errno.EIO: "the drive failed to read or write it (a failing disk, a network share gone): copy it elsewhere and try again",
        errno.ELOOP: "a symbolic link in the path points back to itself: fix or remove the link",
    }.get(error.errno or 0, "")
    return f"{where + ': ' if where else ''}{words}" + (f"; {fix}" if fix else "")


def _too_long(names: list[str | bytes]) -> str:
    parts = [part for name in names for part in os.fsdecode(name).split(os.sep)]
    longest = max((len(os.fsencode(part)) for part in parts), default=0)
    return f"a name in it is {longest} bytes, more than the drive takes (255 on most): give a shorter one"
