"""``LruCache``: the memo of designs and their costly parts, shared by the stages that can reuse them.

Why not ``functools.lru_cache``: the keys are built by the caller (and may be
unhashable, e.g. a measured head: then nothing is cached), the bound can be
bytes (design grids keep large arrays), and the session render runs stems on
several threads, so lookups and evictions take a lock (the computation does
not: two threads may compute one entry, and the first stored wins).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
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
        """The entry of ``key`` (now the most recently used), else ``compute()`` stored under it (``key`` None: not stored)."""
        if key is None:
            return compute()
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()
        with self._lock:
            if key in self._entries:  # another thread stored it meanwhile: keep one
                return self._entries[key]
            self._entries[key] = value
            self._bytes += self._size(value)
            self.computed += 1
            while len(self._entries) > 1 and (
                (self.max_entries is not None and len(self._entries) > self.max_entries)
                or (self.max_bytes is not None and self._bytes > self.max_bytes)
            ):
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= self._size(dropped)
        return value
