"""``LruCache``: the memo of designs and their costly parts, shared by the stages that can reuse them.

Why not ``functools.lru_cache``: the keys are built by the caller (and may be
unhashable, e.g. a measured head: then nothing is cached), the bound can be
bytes (design grids keep large arrays), and the session render runs stems on
several threads, so lookups and evictions take a lock, and an entry one thread
is computing is waited for by the others that ask for it (the session render
designs the device beside its figures thread: each design once). The
computation itself runs outside the lock; a thread that asks again for an entry
it is computing computes it (no deadlock), and if the computing thread fails,
each waiting thread computes for itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["LruCache", "hashable_key"]

T = TypeVar("T")


def hashable_key(*parts: Any) -> tuple[Any, ...] | None:
    """``parts`` as a cache key, or None when one of them cannot be hashed (nothing is cached then)."""
    try:
        hash(parts)
    except TypeError:
        return None
    return parts


@dataclass
class _Pending:
    """An entry being computed: by which thread, and when it is done (``value`` set unless it failed)."""

    owner: int
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    failed: bool = False


class LruCache(Generic[T]):
    """A least-recently-used cache bounded by ``max_entries`` and, with ``size``, by ``max_bytes``.

    Examples
    --------
    >>> cache: LruCache[int] = LruCache(max_entries=2)
    >>> cache.get_or_compute("a", lambda: 1), cache.get_or_compute("b", lambda: 2), cache.get_or_compute("c", lambda: 3)
    (1, 2, 3)
    >>> "a" in cache, len(cache)
    (False, 2)
    """

    def __init__(
        self, *, max_entries: int | None = None, max_bytes: int | None = None, size: Callable[[T], int] | None = None
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._size = size or (lambda value: 0)
        self._entries: OrderedDict[Hashable, T] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._pending: dict[Hashable, _Pending] = {}
        #: Entries computed (not found) since the cache was made or cleared.
        self.computed = 0

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[Hashable]:
        """The keys kept, least recently used first."""
        with self._lock:
            return list(self._entries)

    @property
    def bytes(self) -> int:
        """The size of what is kept (with ``size``)."""
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.computed = 0

    def get_or_compute(self, key: Hashable | None, compute: Callable[[], T]) -> T:
        """The entry of ``key`` (now the most recently used), else ``compute()`` stored under it (``key`` None: not stored).

        While another thread computes the same key, this one waits for its value instead of computing it again.
        """
        if key is None:
            return compute()
        me = threading.get_ident()
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = _Pending(me)
                mine = True
            else:
                mine = False
        if not mine:
            if pending.owner != me:  # another thread computes it: wait (an own re-entrant ask computes)
                pending.done.wait()
                if not pending.failed:
                    return pending.value
            return compute()
        try:
            value = compute()
        except BaseException:
            with self._lock:
                self._pending.pop(key, None)
            pending.failed = True
            pending.done.set()
            raise
        with self._lock:
            self._pending.pop(key, None)
            self._store(key, value)
        pending.value = value
        pending.done.set()
        return value

    def _store(self, key: Hashable, value: T) -> None:
        """Keep ``value`` under ``key`` and drop the least recently used beyond the bounds (the lock held)."""
        self._entries[key] = value
        self._bytes += self._size(value)
        self.computed += 1
        while len(self._entries) > 1 and (
            (self.max_entries is not None and len(self._entries) > self.max_entries)
            or (self.max_bytes is not None and self._bytes > self.max_bytes)
        ):
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= self._size(dropped)
