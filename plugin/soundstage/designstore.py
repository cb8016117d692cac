"""The design store: filter designs kept on disk between runs, so what was designed once starts warm.

A device chain's exact design (the Spatializer's canceller, virtualizer, beam and
tonal match, combined at one width, distance, depth and listener position) takes
0.1-1 s; an automation ride visits hundreds of them (its design grid's nodes), and
every run of a session, a batch job or a live set designs them again. Kept here,
the second run of the same render reads them instead (a few ms each).

Where: the folder ``$SOUNDSTAGE_DESIGN_CACHE`` (``off`` turns the store off), else
``$XDG_CACHE_HOME/soundstage/designs``, else ``~/.cache/soundstage/designs``. At most
``$SOUNDSTAGE_DESIGN_CACHE_MB`` megabytes (default 1024): the least recently used
designs go first. Deleting the folder at any time is safe.

Keys: a digest of everything a design depends on, so a design is never found for
anything but its own inputs: the code that makes it (every source file of this
package, the numpy and scipy versions), the stage's content (the device profile's
values, the SOFA files' bytes, not their names), the sample rate and the knob values.

Safety: each design is one ``.npz`` file of arrays (read with ``allow_pickle=False``),
written under a temporary name and renamed into place, so a reader never sees half
a file and processes writing the same design at once both leave a whole one. A file
that cannot be read (cut short, another format) is removed and the design made again.
A folder that cannot be written (read-only, a full disk) turns writing off for the
process: the store never fails a render, and a render's output is the same whether
its designs came from the store or not (the arrays are stored bit for bit).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from soundstage.files import set_mode

__all__ = [
    "canonical",
    "clear_store",
    "clear_store_info",
    "file_digest",
    "folder_problem",
    "get_or_make",
    "limit_problem",
    "one_blas_thread",
    "store_dir",
    "store_info",
    "store_usage",
]

T = TypeVar("T")

#: The store's size bound when ``$SOUNDSTAGE_DESIGN_CACHE_MB`` does not set one, MB.
DEFAULT_LIMIT_MB = 1024
#: After this many bytes written, the folder's size is checked against the bound.
_PRUNE_EVERY_BYTES = 32 * 2**20
_PACKAGE = Path(__file__).resolve().parent

_lock = threading.Lock()
_info = {"hits": 0, "misses": 0, "writes": 0, "unreadable": 0, "write_errors": 0}
_state: dict[str, Any] = {"writing": True, "since_prune": 0}


def store_dir() -> Path | None:
    """The store's folder (made when first written), or None when ``$SOUNDSTAGE_DESIGN_CACHE`` is ``off``."""
    setting = os.environ.get("SOUNDSTAGE_DESIGN_CACHE")
    if setting is not None:
        return None if setting.strip().lower() in ("off", "0", "no", "false", "") else Path(os.path.expanduser(setting))
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, or relative (which the XDG spec says to ignore)
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):  # no home folder: no store
            return None
    return Path(base) / "soundstage" / "designs"


@functools.cache
def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _limit_setting() -> tuple[int, str | None]:
    """The store's bound in bytes, and why ``$SOUNDSTAGE_DESIGN_CACHE_MB`` is not used (None: valid or unset)."""
    setting = os.environ.get("SOUNDSTAGE_DESIGN_CACHE_MB")
    if setting is None:
        return DEFAULT_LIMIT_MB * 2**20, None
    try:
        value = float(setting)
    except ValueError:
        value = float("nan")
    if not (value >= 0 and np.isfinite(value)):
        return DEFAULT_LIMIT_MB * 2**20, (
            f"SOUNDSTAGE_DESIGN_CACHE_MB={setting!r} is not a size in MB (a number >= 0); using {DEFAULT_LIMIT_MB}"
        )
    return int(value * 2**20), None


def folder_problem() -> str | None:
    """Why designs cannot be kept in the store's folder (one line), or None: it is a file, or not writable, or given
    relative (a store of whatever folder soundstage runs in). Designs are then made anew on every run."""
    folder = store_dir()
    if folder is None:
        return None
    if not folder.is_absolute():
        return f"SOUNDSTAGE_DESIGN_CACHE={str(folder)!r} is relative: each working folder gets its own store; give a full path"
    present = folder
    while not present.exists() and present != present.parent:
        present = present.parent
    if not present.is_dir():
        return f"{str(present)!r} is a file, not a folder: designs are not kept (they are made anew on every run)"
    if not os.access(present, os.W_OK | os.X_OK):
        return f"{str(present)!r} cannot be written: designs are not kept (they are made anew on every run)"
    return None


def limit_problem() -> str | None:
    """Why ``$SOUNDSTAGE_DESIGN_CACHE_MB`` is not used (one line), or None when it is valid or unset."""
    return _limit_setting()[1]


def _limit_bytes() -> int:
    return _limit_setting()[0]


def store_info() -> dict[str, int]:
    """Designs found in the store, not found, written; files unreadable (removed); writes that failed."""
    with _lock:
        return dict(_info)


def clear_store_info() -> None:
    """Reset the counts of :func:`store_info` and turn writing back on (tests)."""
    with _lock:
        _info.update(dict.fromkeys(_info, 0))
        _state.update(writing=True, since_prune=0)


@functools.cache
def code_version() -> str:
    """A digest of the code that makes designs: every source and data file of the package, numpy's and scipy's versions."""
    digest = hashlib.sha256(f"numpy {np.__version__} scipy {metadata.version('scipy')}".encode())
    for path in sorted(_PACKAGE.rglob("*")):
        if path.suffix in (".py", ".toml") and path.is_file():
            digest.update(str(path.relative_to(_PACKAGE)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=64)
def _digest_of(path: str, size: int, modified_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_digest(path: str | Path) -> str:
    """The digest of a file's bytes (read once per size and modification time): a design's identity
    follows a SOFA file's content, not its name."""
    stat = os.stat(path)
    return _digest_of(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def canonical(value: Any) -> str:
    """A text that names ``value`` exactly and the same in every run: dataclasses by their fields,
    arrays by dtype, shape and a digest of their bytes, floats by their shortest exact repr.

    Raises TypeError for anything else (a design keyed on it is not stored).
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ",".join(f"{f.name}={canonical(getattr(value, f.name))}" for f in dataclasses.fields(value))
        return f"{type(value).__name__}({fields})"
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        return f"array({data.dtype.str},{data.shape},{hashlib.sha256(data.tobytes()).hexdigest()})"
    if isinstance(value, np.generic):
        return canonical(value.item())
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(canonical(item) for item in value) + ")"
    if isinstance(value, dict):
        return (
            "{" + ",".join(f"{canonical(k)}:{canonical(v)}" for k, v in sorted(value.items(), key=lambda kv: repr(kv[0]))) + "}"
        )
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise TypeError(f"no canonical text for {type(value).__name__}")


def _path(kind: str, parts: tuple[Any, ...]) -> Path | None:
    folder = store_dir()
    if folder is None:
        return None
    try:
        text = canonical((code_version(), kind, parts))
    except TypeError:
        return None
    return folder / kind / (hashlib.sha256(text.encode()).hexdigest()[:40] + ".npz")


def _load(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):  # cut short, another format: made again
        with _lock:
            _info["unreadable"] += 1
        try:
            path.unlink()
        except OSError:
            pass
        return None
    try:
        os.utime(path)  # recently used: pruned last
    except OSError:
        pass
    return arrays


def _save(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    with _lock:
        if not _state["writing"]:
            return
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
        temporary = Path(name)
        with os.fdopen(handle, "wb") as file:
            np.savez(file, allow_pickle=False, **arrays)
        set_mode(temporary, 0o666 & ~_umask())  # as open() makes files (mkstemp: 0o600): a shared store stays readable
        os.replace(temporary, path)
        temporary = None
    except ValueError:  # an array that needs pickling: never stored (the loader refuses pickles)
        return
    except OSError:  # read-only, full, not a folder: stop writing for this process
        with _lock:
            _info["write_errors"] += 1
            _state["writing"] = False
        return
    finally:
        if temporary is not None:
            try:
                temporary.unlink()
            except OSError:
                pass
    try:
        size = path.stat().st_size
    except OSError:  # pruned by another process already
        size = 0
    with _lock:
        _info["writes"] += 1
        _state["since_prune"] += size
        due = _state["since_prune"] >= min(_PRUNE_EVERY_BYTES, _limit_bytes() // 8 + 1)
        if due:
            _state["since_prune"] = 0
    if due:
        _prune(path.parent.parent, _limit_bytes())


def _stored(folder: Path, *, temporaries: bool = False) -> list[tuple[int, int, str]]:
    """The designs in a store folder (and with ``temporaries``, files left half-written): (used, bytes, path).

    Files that go while it looks (another process pruning), or a folder it may not read, are left out.
    """
    files = []
    try:
        kinds = [entry.path for entry in os.scandir(folder) if entry.is_dir()]
    except OSError:
        return []
    for kind in kinds:
        try:
            entries = list(os.scandir(kind))
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith(".npz") or (temporaries and entry.name.endswith(".tmp")):
                try:
                    stat = entry.stat()
                except OSError:
                    continue
                files.append((stat.st_mtime_ns, stat.st_size, entry.path))
    return files


def store_usage() -> tuple[Path | None, int, int, int]:
    """The store's folder (None: off), how many designs it holds, their bytes, and its bound in bytes."""
    folder = store_dir()
    files = [] if folder is None else _stored(folder)
    return folder, len(files), sum(size for _, size, _ in files), _limit_bytes()


def clear_store() -> int:
    """Remove every design from the store (and files left half-written); returns how many files went."""
    folder = store_dir()
    removed = 0
    for _, _, name in [] if folder is None else _stored(folder, temporaries=True):
        try:
            os.unlink(name)
            removed += 1
        except OSError:
            pass
    return removed


def _prune(folder: Path, limit: int) -> None:
    """Remove the least recently used designs until the folder holds at most ``limit`` bytes, and the
    temporary files older than an hour (left by a process that was killed while writing)."""
    stale = time.time_ns() - 3600 * 10**9
    for modified, _, name in _stored(folder, temporaries=True):
        if name.endswith(".tmp") and modified < stale:
            try:
                os.unlink(name)
            except OSError:
                pass
    files = _stored(folder)
    total = sum(size for _, size, _ in files)
    for _, size, name in sorted(files):
        if total <= limit:
            break
        try:
            os.unlink(name)
            total -= size
        except OSError:
            pass


def get_or_make(
    kind: str,
    parts: tuple[Any, ...],
    make: Callable[[], T],
    pack: Callable[[T], Mapping[str, np.ndarray]],
    unpack: Callable[[Mapping[str, np.ndarray]], T],
) -> T:
    """The design of ``kind`` for ``parts`` from the store, else ``make()``, stored (``pack``: as arrays).

    ``parts`` must name everything the design depends on besides the code (see the module's
    docstring); with the store off, or parts without a canonical text, this is ``make()``.
    """
    path = _path(kind, parts)
    if path is None:
        with one_blas_thread():
            return make()
    stored = _load(path)
    if stored is not None:
        try:
            value = unpack(stored)
        except (KeyError, ValueError, TypeError):  # another layout under this name: made again
            value = None
        if value is not None:
            with _lock:
                _info["hits"] += 1
            return value
    with _lock:
        _info["misses"] += 1
    with one_blas_thread():  # the same bits whatever BLAS's threads (one_blas_thread)
        value = make()
    try:
        packed = pack(value)
    except (TypeError, ValueError):  # not arrays (say, figures that are not JSON): kept in memory only
        return value
    _save(path, packed)
    return value


_blas_lock = threading.Lock()
_blas_holders = 0
_blas_limits: Any = None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS held to one thread while any thread of the process is inside: designs are made so (here and in
    :meth:`~soundstage.host.processor.Processor._memoised`), so a design is the same bits in a notebook (BLAS's
    own threads) as on the command line, in a batch worker or a session render (one thread each); with several
    threads BLAS sums in another order, and outputs differed by 1 LSB at 24 bits. BLAS's thread count is the
    process's, so the first thread to enter sets it and the last to leave restores it (designs made on several
    threads at once, as a session render makes them, never restore it under one another)."""
    global _blas_holders, _blas_limits
    with _blas_lock:
        if _blas_holders == 0:
            _blas_limits = threadpool_limits(limits=1, user_api="blas")
        _blas_holders += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_holders -= 1
            if _blas_holders == 0:
                _blas_limits.restore_original_limits()
                _blas_limits = None
