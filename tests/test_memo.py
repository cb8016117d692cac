"""LruCache: least recently used evicted first, bounded by entries or bytes, safe across threads."""

from __future__ import annotations

import threading

import numpy as np

from soundstage.memo import LruCache, hashable_key


def test_least_recently_used_goes_first_and_a_hit_renews() -> None:
    cache: LruCache[int] = LruCache(max_entries=3)
    for key in "abc":
        cache.get_or_compute(key, lambda key=key: ord(key))
    cache.get_or_compute("a", lambda: -1)  # a hit: "a" is now the most recent, "b" the least
    cache.get_or_compute("d", lambda: 100)
    assert cache.keys() == ["c", "a", "d"] and cache.computed == 4
    assert cache.get_or_compute("a", lambda: -1) == ord("a")


def test_bytes_bound_and_unhashable_keys_are_not_stored() -> None:
    cache: LruCache[np.ndarray] = LruCache(max_bytes=3000, size=lambda a: int(a.nbytes))
    for i in range(10):
        cache.get_or_compute(i, lambda i=i: np.full(100, i, np.float64))  # 800 bytes each
    assert cache.bytes == 2400 and cache.keys() == [7, 8, 9]
    assert hashable_key("x", [1, 2]) is None
    calls = []
    cache.get_or_compute(hashable_key("x", [1, 2]), lambda: calls.append(1) or np.zeros(1))
    cache.get_or_compute(hashable_key("x", [1, 2]), lambda: calls.append(1) or np.zeros(1))
    assert len(calls) == 2 and len(cache) == 3


def test_many_threads_never_fail_a_lookup_and_the_bound_holds() -> None:
    """Eight threads hit, miss and evict 40 keys in a 16-entry cache at once: every value is its key's."""
    cache: LruCache[tuple[int, int]] = LruCache(max_entries=16)
    errors: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            for i in range(2000):
                key = (i * 7 + thread) % 40
                value = cache.get_or_compute(key, lambda key=key: (key, thread))
                assert value[0] == key
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(cache) <= 16


def test_an_entry_another_thread_computes_is_waited_for_not_computed_again() -> None:
    """The session render's figures thread and audio thread ask for one design at once: it is designed once."""
    cache: LruCache[list[int]] = LruCache(max_entries=4)
    started, calls = threading.Event(), []

    def slow() -> list[int]:
        calls.append(threading.get_ident())
        started.set()
        threading.Event().wait(0.2)  # long enough for the other thread to ask meanwhile
        return [len(calls)]

    results: list[list[int]] = []
    first = threading.Thread(target=lambda: results.append(cache.get_or_compute("beam", slow)))
    first.start()
    assert started.wait(5.0)
    second = threading.Thread(target=lambda: results.append(cache.get_or_compute("beam", slow)))
    second.start()
    first.join(5.0)
    second.join(5.0)
    assert len(calls) == 1 and len(results) == 2 and results[0] is results[1] and cache.computed == 1


def test_a_failed_computation_lets_the_waiting_thread_compute_and_a_reentrant_ask_does_not_deadlock() -> None:
    cache: LruCache[str] = LruCache(max_entries=4)
    started, release = threading.Event(), threading.Event()

    def failing() -> str:
        started.set()
        release.wait(5.0)
        raise RuntimeError("design failed")

    errors: list[BaseException] = []

    def owner() -> None:
        try:
            cache.get_or_compute("k", failing)
        except RuntimeError as error:
            errors.append(error)

    results: list[str] = []
    first = threading.Thread(target=owner)
    first.start()
    assert started.wait(5.0)
    second = threading.Thread(target=lambda: results.append(cache.get_or_compute("k", lambda: "mine")))
    second.start()
    release.set()
    first.join(5.0)
    second.join(5.0)
    assert [str(e) for e in errors] == ["design failed"] and results == ["mine"]
    assert "k" not in cache  # the waiter's own value is not stored: the next ask computes again

    # a computation that asks for its own key (re-entrant) computes it instead of waiting for itself
    inner = threading.Thread(
        target=lambda: results.append(cache.get_or_compute("r", lambda: cache.get_or_compute("r", lambda: "x")))
    )
    inner.start()
    inner.join(5.0)
    assert not inner.is_alive() and results[-1] == "x"
