"""Reading soundstage's TOML files (chains, device profiles, sessions, MIDI maps) with errors that name the file and key."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from soundstage.errors import SoundstageError
from soundstage.files import missing_hint, on_disk

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["not_text", "parse_toml", "read_toml", "unknown_key"]


def read_toml(path: str | Path, error: type[SoundstageError], what: str) -> dict[str, Any]:
    """Parse a TOML file; a missing, unreadable or malformed one raises ``error`` naming ``what`` and the file."""
    file = on_disk(Path(path))
    try:
        data = file.read_bytes()
        # UTF-8 (a byte-order mark, as Windows editors write, is dropped by parse_toml); UTF-16 with its mark (what
        # a Windows PowerShell 5 redirect writes): TOML is UTF-8, but the file is the user's
        text = data.decode("utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8")
    except FileNotFoundError:
        raise error(f"{what} {str(file)!r} does not exist{missing_hint(file)}") from None
    except IsADirectoryError:
        raise error(f"{what} {str(file)!r} is a folder: give the .toml file ({_tomls_in(file)})") from None
    except UnicodeDecodeError as problem:
        if _legacy_text(data):  # saved by an editor in the system's 8-bit encoding (Windows-1252, Latin-1)
            start = problem.start
            line, column = data.count(b"\n", 0, start) + 1, start - (data.rfind(b"\n", 0, start) + 1) + 1
            seen = data[start : start + 1].decode("cp1252", errors="replace")
            raise error(
                f"{what} {str(file)!r} is not UTF-8 text (byte 0x{data[start]:02x} at line {line}, column {column}, "
                f"{seen!r} in Windows-1252): save it as UTF-8, as TOML files are"
            ) from None
        raise error(f"{what} {str(file)!r} is not a text file ({not_text(problem)}): give the .toml file") from None
    except OSError as problem:
        raise error(f"{what} {str(file)!r} cannot be read: {problem}") from None
    return parse_toml(text, file, error)


def _legacy_text(data: bytes) -> bool:
    """Whether bytes that are not UTF-8 are text in an 8-bit encoding (no NUL, every character printable or
    whitespace as Windows-1252 reads it) rather than binary data."""
    head = data[:65536]
    text = head.decode("cp1252", errors="replace")
    return b"\0" not in head and all(c.isprintable() or c in "\t\r\n" for c in text if c != "\ufffd")


def not_text(problem: UnicodeDecodeError) -> str:
    """Where a file read as UTF-8 text is not: ``byte 0xca at 5`` (the offset in what was decoded)."""
    return f"byte 0x{bytes(problem.object[problem.start : problem.start + 1]).hex()} at {problem.start}"


def _tomls_in(folder: Path, shown: int = 5) -> str:
    """What a folder given for a TOML file holds of them, for the error."""
    try:
        names = sorted(entry.name for entry in folder.iterdir() if entry.suffix.lower() == ".toml" and entry.is_file())
    except OSError:
        return "it cannot be listed"
    if not names:
        return "it holds none"
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return "it holds " + ", ".join(names[:shown]) + more


def parse_toml(text: str, file: str | Path, error: type[SoundstageError] = SoundstageError) -> dict[str, Any]:
    """Parse the TOML ``text`` of ``file`` (named in the errors, as :func:`read_toml` names it)."""
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))  # a byte-order mark is not TOML, nor content
    except tomllib.TOMLDecodeError as problem:
        raise error(f"{file}: not valid TOML: {problem}") from None
    except RecursionError:  # tomllib parses nested tables recursively
        raise error(f"{file}: tables or arrays nest too deep to read; soundstage files nest a few levels at most") from None


def unknown_key(table: Mapping[str, Any], allowed: set[str]) -> tuple[str, str] | None:
    """The first key of ``table`` not in ``allowed``, with the message for it (a close match, the allowed keys)."""
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return key, f"unknown key {key!r}{hint} (allowed: {', '.join(sorted(allowed))})"
    return None
