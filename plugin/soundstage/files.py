"""Writing any file safely: atomically, with the right mode, under a name inside its folder.

The lowest layer of the output layer (:mod:`soundstage.sinks` writes audio on
top of it), so that every layer can write its files (chain files, maps,
presets, plots, reports) the same way:

- :func:`atomic_path` / :func:`write_text`: a temporary file beside the target,
  renamed onto it when complete; removed on any failure, the target untouched.
- :func:`publish`: that last move, which can refuse to replace: a file another
  program made at the target while the work ran is kept.
- :func:`file_mode`: the mode of the file being replaced, else ``0o666`` less
  the umask, as ``open()`` gives (``mkstemp`` alone gives ``0o600``).
- :func:`output_name`: a plain file name, never a path out of the folder.
- :func:`signals_as_exceptions`: SIGTERM and SIGHUP unwind like Ctrl-C, so the
  cleanup above runs (Python's default for them ends the process on the spot).

And :func:`library_path`: a path as the audio libraries take it, for names that are
not UTF-8. And reading the paths people write in files (chain files, sessions, job lists):
:func:`referenced_path` and :func:`windows_hint`; and :func:`on_disk`, a path as the
file system spells it where it holds its name in Unicode's other normal form. And the drive an output goes to:
:func:`drive_of` (its mount point and file system), :func:`fat_drive` (one whose files hold at most 4 GiB) and
:func:`free_space` / :func:`room_left`, so that an output that cannot fit is refused before the work; :func:`amount` says a size.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import glob
import os
import secrets
import shutil
import signal
import stat
import sys
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path, PureWindowsPath
from types import FrameType
from typing import Any

import psutil

from soundstage import stalls
from soundstage.errors import OutputError

__all__ = [
    "Terminated",
    "amount",
    "appeared_message",
    "atomic_path",
    "drive_of",
    "fat_drive",
    "file_mode",
    "free_space",
    "glob_any_form",
    "library_path",
    "missing_hint",
    "moved_hint",
    "moved_path",
    "name_refused",
    "new_temporary",
    "on_disk",
    "output_name",
    "publish",
    "referenced_path",
    "remove_temporaries",
    "room_left",
    "set_mode",
    "signals_as_exceptions",
    "why_not_made",
    "windows_hint",
    "write_text",
]


class Terminated(BaseException):
    """Raised in the main thread for SIGTERM or SIGHUP (see :func:`signals_as_exceptions`).

    A ``BaseException``, like ``KeyboardInterrupt``, so that ``except Exception``
    does not swallow it and every cleanup on the way out runs.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    def __str__(self) -> str:
        return f"terminated by {signal.Signals(self.signum).name}"


@contextlib.contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` while the block runs (main thread only).

    Python's default action for both ends the process at once, skipping the
    ``finally`` blocks that remove temporary files; as exceptions they unwind
    like Ctrl-C does. A signal the process was started ignoring stays ignored:
    ``nohup soundstage batch ... &`` keeps running when its terminal closes.
    """

    def raise_terminated(signum: int, _frame: FrameType | None) -> None:
        raise Terminated(signum)

    previous: dict[int, Any] = {}
    try:
        for number in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
                previous[number] = signal.signal(number, raise_terminated)
    except ValueError:  # not the main thread: leave the handlers alone
        previous.clear()
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _umask() -> int:
    try:  # Linux >= 4.7 reports it without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting it, and put it back at once
    os.umask(mask)
    return mask


def file_mode(target: Path) -> int:
    """The permission bits a new file at ``target`` gets: those of the file it replaces, else ``0o666 & ~umask``."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~_umask()


#: Errors of chmod on a file system that keeps no Unix permission bits (FAT, exFAT, some network shares and FUSE
#: drivers): the file has the permissions the file system gives every file.
_NO_PERMISSION_BITS = {errno.EPERM, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}


def set_mode(path: Path, mode: int) -> None:
    """Give the file at ``path`` (one soundstage just made) the permission bits ``mode``, where its file system keeps
    them: a USB drive formatted FAT or exFAT, or a share without Unix permissions, refuses chmod (EPERM; ENOSYS
    through some FUSE drivers), and the file keeps what the drive gives every file."""
    try:
        os.chmod(path, mode)
    except OSError as error:
        if error.errno not in _NO_PERMISSION_BITS:
            raise


#: What drives formatted FAT or exFAT (a USB stick, a card, a drive shared with a Mac or Windows) and Windows take in
#: no file name; Linux takes them elsewhere.
_NOT_IN_DRIVE_NAMES = frozenset('\\:*?"<>|')


def name_refused(target: Path, error: OSError) -> str | None:
    """Why a drive refused to make a file or folder of ``target``'s name, where its name is why: one of ``\\ : * ? " < > |``
    in it, which Linux's exfat driver refuses as EINVAL and exfat-fuse as ENOENT ("No such file or directory", in a
    folder that is there). None otherwise."""
    if error.errno not in (errno.ENOENT, errno.EINVAL) or not target.parent.is_dir():
        return None
    refused = sorted(set(target.name) & _NOT_IN_DRIVE_NAMES)
    if not refused:
        return None
    stem, suffix = (target.stem, target.suffix) if not set(target.suffix) & _NOT_IN_DRIVE_NAMES else (target.name, "")
    better = " ".join("".join(" " if c in _NOT_IN_DRIVE_NAMES else c for c in stem).split()) + suffix
    return (
        f"the drive takes no {' '.join(refused)} in a name (drives formatted FAT or exFAT, and Windows, take none "
        f'of \\ : * ? " < > |); give another name, such as {better!r}'
    )


#: File systems whose files hold at most 4 GiB less a byte: FAT32 and FAT16 (USB sticks, SD cards, camera and recorder
#: cards), as Linux, a FUSE driver, macOS and Windows name them.
_FAT = frozenset({"vfat", "msdos", "fat", "umsdos", "fuse.fusefat", "fat32", "fat16", "fat12"})


def drive_of(folder: Path) -> tuple[str, str] | None:
    """The mount point and the file system type (``"ext4"``, ``"vfat"``, ``"FAT32"``) of the drive holding
    ``folder``, which need not exist yet; None where this system does not say."""
    try:
        partitions = psutil.disk_partitions(all=True)
    except (OSError, psutil.Error):
        return None
    where = os.path.normcase(os.path.realpath(folder))
    holding = [
        partition
        for partition in partitions
        if (mount := os.path.normcase(partition.mountpoint))
        and (where == mount or where.startswith(mount.rstrip(os.sep) + os.sep))
    ]
    if not holding:
        return None
    innermost = max(holding, key=lambda partition: len(partition.mountpoint))
    return innermost.mountpoint, innermost.fstype


def fat_drive(folder: Path) -> str | None:
    """The mount point of the drive holding ``folder`` where it is formatted FAT (its files hold at most 4 GiB), else
    None."""
    drive = drive_of(folder)
    return drive[0] if drive is not None and drive[1].lower() in _FAT else None


def free_space(folder: Path) -> int | None:
    """The bytes this process may still write on the drive holding ``folder`` (or the nearest folder above it that
    is there), or None where that cannot be asked: an error, or a file system that reports no size at all (some
    FUSE drivers, as fusefat, say 0 bytes of 0)."""
    here = Path(os.path.abspath(folder))
    while not here.exists() and here != here.parent:
        here = here.parent
    try:
        usage = shutil.disk_usage(here)
    except OSError:
        return None
    return usage.free if usage.total else None


def room_left(folder: Path) -> int | None:
    """The room an output may count on in the drive holding ``folder``, to refuse one that cannot fit before the
    work: :func:`free_space`; None on macOS, whose APFS makes room as a file grows by freeing purgeable space (local
    Time Machine snapshots, files iCloud can fetch again), which the free space a program can ask for leaves out."""
    return None if sys.platform == "darwin" else free_space(folder)


def amount(size: int) -> str:
    """A number of bytes as a person reads it: ``4.5 GiB``, ``63.9 MiB``, ``512 bytes``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def why_not_made(folder: Path, error: OSError, fix: str) -> str:
    """What follows "folder X cannot be created" for ``error``: the name a drive refuses and one it takes, else the
    system's words and ``fix``."""
    refused = name_refused(folder, error)
    return f": {refused}" if refused else f" ({error.strerror or error}); {fix}"


def output_name(folder: Path, name: str, *, what: str = "output") -> Path:
    """``folder / name`` for a plain file name; refuse one that would land anywhere else.

    Refused: empty names, ``.`` and ``..``, names with a path separator or a
    NUL, absolute names, and names starting with ``.`` (hidden, and the prefix
    of soundstage's temporary files).
    """
    bad = (
        not name
        or name in (".", "..")
        or name.startswith(".")
        or "/" in name
        or "\\" in name
        or "\0" in name
        or os.path.isabs(name)
        or len(name.encode("utf-8", "surrogateescape")) > 240
    )
    if bad:
        raise OutputError(
            f"{what} name {name!r} is not a plain file name; use letters, digits, '-' and '_' "
            "(no '/', no '..', not starting with '.', at most 240 bytes): files are written inside the output folder only"
        )
    return folder / name


#: Errors of a file system that has no hard links (FAT, exFAT, some network shares).
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS, errno.EMLINK}


def publish(temporary: Path, target: Path, *, replace: bool = True) -> None:
    """Move a finished ``temporary`` onto ``target`` (same folder) in one step.

    With ``replace=False`` a file at ``target`` is never replaced: if one appeared
    since the work began (another program, another run), it is kept and
    :class:`FileExistsError` raised, the temporary left where it is. The move is
    then a hard link, which the file system itself refuses where the name is
    taken; where there are no hard links the name is checked, then the
    temporary renamed.
    """
    if replace:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
        os.replace(temporary, target)
        return
    os.unlink(temporary)


def appeared_message(target: Path) -> str:
    """What to say when :func:`publish` kept a file that appeared at ``target`` while it was being written."""
    return (
        f"output {str(target)!r} appeared while it was being written (another program or run made it); it is kept as "
        "it is and this output was discarded; pass --overwrite to replace it, or give another output path"
    )


def new_temporary(target: Path, suffix: str = ".partial") -> Path:
    """Make an empty hidden temporary beside ``target`` (``.NAME.XXXXXXXX.partial``, mode 0600, as
    :func:`tempfile.mkstemp` makes one), listed as ``target``'s (:func:`soundstage.stalls.add_temporary`) before it
    is made: a process killed in between leaves nothing unlisted for its crash watcher to miss. Raises the
    :class:`OSError` of a folder that takes no new file; the caller takes it off the list when done with it."""
    folder = target.resolve().parent
    for _ in range(tempfile.TMP_MAX):
        path = folder / f".{target.name}.{secrets.token_hex(4)}{suffix}"
        if os.path.lexists(path):
            continue
        stalls.add_temporary(path, target)
        try:
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
        except FileExistsError:  # made by another process since: not this one's
            stalls.discard_temporary(path)
            continue
        except OSError:
            stalls.discard_temporary(path)
            raise
        return path
    raise FileExistsError(errno.EEXIST, f"no free temporary name beside {str(target)!r}")


@contextlib.contextmanager
def atomic_path(target: Path, *, mode: int | None = None, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` when the block succeeds.

    The file gets ``mode`` (default :func:`file_mode` of ``target``). On any
    exception, including ``KeyboardInterrupt`` and :class:`Terminated`, the
    temporary is removed and ``target`` is left as it was. ``replace=False``:
    a file that appeared at ``target`` meanwhile is kept, and
    :class:`~soundstage.errors.OutputError` raised (see :func:`publish`).
    """
    permissions = file_mode(target) if mode is None else mode
    try:
        temporary = new_temporary(target)
    except OSError as error:
        raise OutputError(f"cannot write {str(target)!r}: {name_refused(target, error) or error.strerror or error}") from None
    try:
        yield temporary
        set_mode(temporary, permissions)
        try:
            publish(temporary, target, replace=replace)
        except FileExistsError:
            raise OutputError(appeared_message(target)) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        stalls.discard_temporary(temporary)


def library_path(path: str | os.PathLike[str]) -> str | bytes:
    """``path`` as libsndfile (soundfile) takes it: the text, or its bytes where the name is not UTF-8.

    A name made on another system (Latin-1 bytes from a zip made on Windows, an old drive) reaches Python with
    its bytes kept as surrogates, and the audio libraries refuse to encode those ("surrogates not allowed").
    soundfile takes the bytes; pedalboard and PyAV take neither (:func:`soundstage.fileio.open_audio` opens such a
    file through a plain name).
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


def remove_temporaries(target: Path) -> int:
    """Remove what :func:`atomic_path` left beside ``target`` when its process was killed (SIGKILL); how many.

    Only call this when no process is writing ``target`` any more.
    """
    removed = 0
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.partial"):
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed


def write_text(target: Path, text: str) -> None:
    """Write a text file atomically (see :func:`atomic_path`); errors name the file."""
    try:
        with atomic_path(target) as temporary:
            temporary.write_text(text, encoding="utf-8")
    except OSError as error:
        raise OutputError(f"cannot write {str(target)!r}: {error.strerror or error}") from None


def referenced_path(text: str, base: Path) -> Path:
    """A path written in a file (a chain file, a session, a job list), absolute against ``base`` (the file's folder),
    ``~`` expanded, as the file system spells it (:func:`on_disk`). A relative path written with Windows separators
    (``stems\\kick.wav``: the file was made on Windows) is read with this system's when it names nothing as written."""
    path = Path(os.path.expanduser(text))
    path = on_disk(path if path.is_absolute() else base / path)
    if os.sep == "/" and "\\" in text and not path.exists():
        windows = PureWindowsPath(text)
        if not windows.anchor and windows.parts:
            return on_disk(base / Path(*windows.parts))
    return path


def on_disk(path: Path) -> Path:
    """``path`` as the file system spells it. Unicode writes an accented letter two ways, one character (NFC: what
    Linux and Windows are mostly given) or a letter and a combining accent (NFD: what macOS's Finder and its older
    file systems write); the two look the same and macOS takes either for the other, but Linux does not. Each part of
    ``path`` that names nothing here, where its folder holds one name that is the same text in the other form
    (``Café.wav`` copied from a Mac, named in a session file or on the command line as typed here), is that name;
    the rest is as given (a file still to be written keeps its name, in the folder that is there)."""
    if os.path.lexists(path):
        return path
    anchored = path.is_absolute()
    current = Path(path.anchor) if anchored else Path()
    parts = path.parts[1 if anchored else 0 :]
    for index, part in enumerate(parts):
        candidate = current / part
        if not os.path.lexists(candidate):
            same = _same_text(current, part)
            if same is None:
                return current.joinpath(*parts[index:])
            candidate = current / same
        current = candidate
    return current


def glob_any_form(pattern: str) -> list[str]:
    """What the glob ``pattern`` matches (``**`` reaching into folders below), each accented name in it matched in
    either of Unicode's normal forms (see :func:`on_disk`), name by name: ``Démos/crème*.wav`` typed here finds a
    folder copied from a Mac (NFD) and, in it, the files made there and those made here (NFC), all of them."""
    parts = Path(pattern).parts

    def exact(part: str) -> bool:  # as glob matches it, in any form: no accent, no ? or [...] (each one code point)
        return part.isascii() and not any(c in part for c in "?[")

    if all(exact(part) for part in parts):
        return glob.glob(pattern, recursive=True)
    # any other name matches any name there (a dot-name, any dot-name: glob hides those from "*"), then each is compared
    loose = [part if exact(part) else (".*" if part.startswith(".") else "*") for part in parts]
    wanted = [unicodedata.normalize("NFC", part) for part in parts]
    found = glob.glob(str(Path(*loose)), recursive=True)
    return [path for path in found if _names_match([unicodedata.normalize("NFC", name) for name in Path(path).parts], wanted)]


def _names_match(names: list[str], patterns: list[str]) -> bool:
    """Whether a path's names match a glob's, name by name, ``**`` standing for any number of folders."""
    if not patterns:
        return not names
    if patterns[0] == "**":
        return any(_names_match(names[skip:], patterns[1:]) for skip in range(len(names) + 1))
    return bool(names) and fnmatch.fnmatchcase(names[0], patterns[0]) and _names_match(names[1:], patterns[1:])


def _same_text(folder: Path, name: str) -> str | None:
    """The one entry of ``folder`` whose name is ``name`` in Unicode's other normal form, else None."""
    wanted = unicodedata.normalize("NFC", name)
    if wanted == unicodedata.normalize("NFD", name):  # nothing in it that composes: no other form
        return None
    try:
        found = [
            entry.name
            for entry in os.scandir(folder)
            if not entry.name.isascii() and unicodedata.normalize("NFC", entry.name) == wanted  # ASCII has no other form
        ]
    except OSError:
        return None
    return found[0] if len(found) == 1 else None


def _is_loop(link: Path) -> bool:
    """Whether a link leads back to itself, at once or through other links."""
    try:
        link.resolve(strict=True)
    except RuntimeError:  # Python 3.11 and 3.12 say a loop so
        return True
    except OSError as error:  # 3.13 and later: ELOOP
        return error.errno == errno.ELOOP
    return False


def missing_hint(path: Path) -> str:
    """``"; ..."``: why a path names nothing here, where that can be seen, else ``""``. Either a part of it is a link
    to what is not there (stems linked from a drive that is not mounted), or a path that differs from it in case only
    is there (a session or chain file made on macOS or Windows, whose file systems ignore case: ``Kick.WAV`` for
    ``kick.wav``)."""
    current = Path(path.anchor) if path.is_absolute() else Path()
    for part in path.parts[1 if path.is_absolute() else 0 :]:
        candidate = current / part
        if os.path.islink(candidate) and not os.path.exists(candidate):
            target = os.readlink(candidate)
            if _is_loop(candidate):
                return f"; {str(candidate)!r} is a link to {target!r}, which leads back to it (a loop of links): link the file"
            return f"; {str(candidate)!r} is a link to {target!r}, which is not there (a drive not mounted?)"
        if not os.path.lexists(candidate):
            try:
                names = sorted(entry.name for entry in os.scandir(current))
            except OSError:
                return ""
            found = next((name for name in names if _folded(name) == _folded(part)), "")
            if not found:
                return _other_suffix_hint(current, part, names) if candidate == path else ""
            part = found
        current = current / part
    if current == path:
        return ""
    why = "macOS and Windows ignore case, this system does not"
    return f"; {str(current)!r} is there, named in another case ({why}): use that name"


def _other_suffix_hint(folder: Path, name: str, names: list[str]) -> str:
    """``"; ..."`` where the one file of ``folder`` that ``name`` lacks only a suffix of, or has another suffix than,
    is there (``mastering`` for ``mastering.toml``, ``take.wav`` for ``take.flac``), else ``""``."""
    stem = _folded(Path(name).stem if Path(name).suffix else name)
    matches = [entry for entry in names if _folded(Path(entry).stem) == stem and Path(entry).suffix]
    if len(matches) != 1:
        return ""
    return f"; {str(folder / matches[0])!r} is there: give that name, with its suffix"


def _folded(name: str) -> str:
    """A name as a file system that ignores case and Unicode's forms sees it (macOS's, Windows')."""
    return unicodedata.normalize("NFC", name).casefold()


def moved_path(text: str, base: Path) -> Path | None:
    """For an absolute path (this system's or a Windows one) that names nothing here, the file below ``base`` that
    the end of it names (``/Users/joe/Album/stems/kick.wav`` -> ``base/stems/kick.wav``, else ``base/kick.wav``):
    a file written where the folder was on another machine, or before it moved. None where there is none."""
    windows = PureWindowsPath(text)
    if not (Path(text).is_absolute() or windows.anchor) or Path(text).exists():
        return None
    parts = [part for part in text.replace("\\", "/").split("/") if part][1 if windows.drive else 0 :]
    for count in range(len(parts) - 1, 0, -1):  # the longest end of the path first
        if ".." in parts[-count:]:  # below base only
            continue
        candidate = base.joinpath(*parts[-count:])
        if candidate.is_file():
            return candidate
    return None


def moved_hint(paths: Sequence[str], index: int, base: Path, *, owner: str, key: str, noun: str) -> str:
    """``"; ..."`` for ``paths[index]``, written in a file (``owner``: ``"session file"``, ``"job list"``) under
    ``key``, when :func:`moved_path` finds it below ``base`` (the file's folder): the relative path to write, and how
    many more of ``paths`` (its ``noun``: ``"stem"``) are so; else ``""``."""
    found = moved_path(paths[index], base)
    if found is None:
        return ""
    relative = found.relative_to(base).as_posix()
    others = sum(moved_path(text, base) is not None for i, text in enumerate(paths) if i != index)
    more = f" ({others} more {noun}(s) so)" if others else ""
    folder = owner.removesuffix(" file")
    return (
        f"; the {folder}'s folder holds {relative!r}: write {key} = {relative!r}{more}, relative to the {owner}, "
        "so that it moves with it"
    )


def windows_hint(text: str) -> str:
    """``"; ..."``: a hint for a path that names nothing here and is a Windows path (``C:\\Plugins\\x.vst3``); else ``""``."""
    if os.sep == "/" and PureWindowsPath(text).drive:
        return "; it is a Windows path (made on another machine): give where the file is on this one"
    return ""
