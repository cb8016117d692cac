"""Reading soundstage's TOML files (chains, device profiles, sessions, MIDI maps) with errors that name the file and key."""

from __future__ import annotations

import difflib
import re
import sys
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from soundstage.errors import SoundstageError, first_of
from soundstage.files import missing_hint, on_disk
from soundstage.signatures import HEAD_BYTES, file_kind

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["not_text", "parse_toml", "read_toml", "read_toml_text", "unknown_key"]


def read_toml(path: str | Path, error: type[SoundstageError], what: str) -> dict[str, Any]:
    """Parse a TOML file; a missing, unreadable or malformed one raises ``error`` naming ``what`` and the file."""
    return parse_toml(read_toml_text(path, error, what), on_disk(Path(path)), error)


def read_toml_text(path: str | Path, error: type[SoundstageError], what: str) -> str:
    """A TOML file's text (UTF-8, or UTF-16 with its mark), not parsed; one that is missing, unreadable or not text
    raises ``error`` naming ``what`` and the file."""
    file = on_disk(Path(path))
    try:
        data = file.read_bytes()
        kind = file_kind(data[:HEAD_BYTES])
        if kind is not None:  # an audio file after --chain, a MIDI file for a map, a chain saved as RTF
            raise error(f"{what} {str(file)!r} is {kind.name}, not TOML text; give the .toml file")
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
    return text


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
    return "it holds " + first_of(names, shown)


def parse_toml(text: str, file: str | Path, error: type[SoundstageError] = SoundstageError) -> dict[str, Any]:
    """Parse the TOML ``text`` of ``file`` (named in the errors, as :func:`read_toml` names it)."""
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))  # a byte-order mark is not TOML, nor content
    except tomllib.TOMLDecodeError as problem:
        raise error(f"{file}: not valid TOML: {problem}{_mistake(text.removeprefix(chr(0xFEFF)), str(problem))}") from None
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


#: Characters that look like TOML's own but are not, as documents, web pages and chat apps write them.
_CURLY_QUOTES = "\u201c\u201d\u201e\u201f\u2018\u2019\u201a\u201b\u00ab\u00bb"
_DASHES = "\u2212\u2013\u2014\u2012"  # minus sign, en dash, em dash, figure dash
_ODD_SPACES = "\u00a0\u2007\u2009\u202f\u200b\u3000\ufeff\u2002\u2003"
_WORDS = {"true", "false", "inf", "nan", "+inf", "-inf", "+nan", "-nan"}
#: How much of a line the hints read: a line a person writes in TOML is short; the patterns' cost grows with its
#: square (a 32 kB line of digits took 3.4 s).
_LINE_READ = 400


def _mistake(text: str, message: str) -> str:
    """``"; ..."``: what a person most likely wrote, and how TOML writes it, where the line ``message`` (tomllib's
    words) points at shows one of the mistakes people make in TOML (text pasted from a document, a decimal comma, a
    Windows path in double quotes, Python's True); else ``""``."""
    lines = text.splitlines() or [""]
    where = re.search(r"at line (\d+), column (\d+)", message)
    number = int(where.group(1)) if where else len(lines)
    line = lines[min(number, len(lines)) - 1][:_LINE_READ]
    if "overwrite a value" in message:
        return _twice(lines)
    code = line if '"' in line or "'" in line else line.split("#", 1)[0]  # a # in a string is no comment
    for check in (_pasted, _windows_path, _number_written, _word_written):
        if found := check(line, code, message):
            return f"; line {number}: {found}"
    return ""


def _pasted(line: str, code: str, message: str) -> str | None:
    """Characters pasted from a document, a web page or a chat app that look like TOML's own but are not; a table
    declared twice."""
    if "twice" in message and (header := re.match(r"\s*\[\s*([^\]]+?)\s*\]", line)):
        return f"[{header.group(1)}] is declared twice: merge the two, or for a list of tables write [[{header.group(1)}]]"
    if quotes := sorted({c for c in line if c in _CURLY_QUOTES}):
        return f"typographic quotes ({' '.join(quotes)}), as a word processor or chat app writes them: write straight quotes"
    if dash := re.search(f"[{_DASHES}](?=\\s*[0-9.])", line):
        name = unicodedata.name(dash.group(), "dash").lower()
        return f"a number's sign is {'an' if name[0] in 'aeiou' else 'a'} {name} ({dash.group()}): write -"
    if space := next((c for c in line if c in _ODD_SPACES), None):
        name = unicodedata.name(space, "space").lower()
        return f"a {name} (U+{ord(space):04X}, column {line.index(space) + 1}), pasted from a web page: write a plain space"
    return None


def _windows_path(line: str, code: str, message: str) -> str | None:
    if "\\" in line and ("Unescaped" in message or "hex value" in message or "escape" in message.lower()):
        return (
            "a Windows path in double quotes, where \\ starts an escape: write it in single quotes "
            "('C:\\Plugins\\x.vst3') or with / (C:/Plugins/x.vst3)"
        )
    return None


def _number_written(line: str, code: str, message: str) -> str | None:
    """A number written as people write it elsewhere: a decimal comma, a unit after it, no digit before the point."""
    end = r"\s*(?:[,}\]#]|$)"
    if comma := re.search(r"=\s*([-+]?\d+),(\d+)", code):
        return f"{comma.group(1)},{comma.group(2)} has a decimal comma: TOML writes {comma.group(1)}.{comma.group(2)}"
    if re.search(r",\s*}", code):
        return "a comma before the } that closes an inline table, which TOML does not allow: remove it"
    unit = re.search(rf"=\s*([-+]?(?:\d+\.?\d*|\.\d+))\s*([A-Za-z%]+){end}", code)
    if unit and unit.group(2).lower() not in ("e", "inf", "nan"):
        return f"{unit.group(1)} {unit.group(2)}: write the number alone (a key's name says its unit: gain_db = -3.0)"
    if point := re.search(rf"=\s*([-+]?)(\.\d+|\d+\.){end}", code):
        digits = point.group(2)
        written = f"0{digits}" if digits.startswith(".") else f"{digits}0"
        return f"TOML writes a digit on both sides of the point ({point.group(1)}{written})"
    return None


def _word_written(line: str, code: str, message: str) -> str | None:
    """Python's True and None, text without quotes, a key with a space in it."""
    end = r"\s*(?:[,}\]#]|$)"
    if word := re.search(rf"=\s*(True|False|TRUE|FALSE|None|null|NULL|none|yes|no|Yes|No|on|off){end}", code):
        if word.group(1).lower() in ("none", "null"):
            return f"TOML has no {word.group(1)}: leave the key out for its default"
        return "TOML writes true and false, in lower case"
    bare = re.search(rf"=\s*([A-Za-z_][\w.\-/]*){end}", code)
    if bare and bare.group(1).lower() not in _WORDS:
        return f'a text value is written in quotes: "{bare.group(1)}"'
    if "after a key" in message and (key := re.search(r"(?:^|[{,])\s*([A-Za-z_]\w*(?:\s+[A-Za-z_]\w*)+)\s*=", line)):
        return f"a key holds no spaces: {'_'.join(key.group(1).split())}"
    return None


def _twice(lines: list[str]) -> str:
    """``"; ..."`` naming the first key given twice in one table of a document (tomllib says only "Cannot overwrite
    a value", at its end); ``""`` where a plain reading of its lines finds none."""
    seen: dict[str, int] = {}
    for number, whole in enumerate(lines, 1):
        line = whole[:_LINE_READ]
        if re.match(r"\s*\[", line):
            seen = {}
            continue
        if key := re.match(r"\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=", line):
            name = key.group(1).strip('"')
            if name in seen:
                return f"; line {number}: {name!r} is given twice in one table (line {seen[name]} gives it first): keep one"
            seen[name] = number
    return ""
