"""Calls into a decoder or a plugin that never return, and what is done about them.

A damaged file can send a decoder into a loop that never ends: JUCE's WAV reader
(pedalboard's) on a list of labels cut short, libsndfile on a tag entry that steps
back. The ones found are refused before they start (:mod:`soundstage.fileio`), but
a file nobody tried may find another, and a loop in C cannot be interrupted: Ctrl-C
and SIGTERM wait for it to return to Python, which it never does, and the command
hangs with nothing said.

Every call that opens or reads an input audio file runs inside :func:`watched`,
which times it in CPU seconds of the thread making it. A decoder that loops spends
them; a disk that stops answering (a network share, a drive spinning up) spends
none, and is waited for. A call past its limit is a :class:`Stall`. What is done
then is the program's choice (:func:`on_stall`): by default a warning, once per call
(a library cannot end the process it runs in); the command line prints its one-line
error, removes the temporary files of the outputs being written (the writers list
them here: :func:`add_temporary`) and ends the process, as nothing else can end a
call in C.

A plugin that never returns from a block (in a loop, or waiting for a message loop
the host does not run, which spends no CPU) is timed by the wall clock instead
(:func:`watched_plugins`, :data:`PLUGIN_LIMIT_S`), and its stall names it.

This is process-wide state by nature (one watch thread for the calls of every
thread); nothing in it is configured at import.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from soundstage import crashes

__all__ = [
    "PLUGIN_LIMIT_S",
    "READ_LIMIT_S",
    "Stall",
    "add_temporary",
    "discard_temporary",
    "on_holding",
    "on_stall",
    "open_limit_s",
    "remove_temporaries",
    "signals_reach_calls",
    "watched",
    "watched_holding",
    "watched_plugins",
]

#: CPU seconds one call that reads a block of audio may spend. A block of 65536 frames decodes in milliseconds
#: (an MP3's in 3 ms here, a FLAC's in less); a minute is a loop, on the slowest machine that runs soundstage.
READ_LIMIT_S = 60.0
#: Seconds (of the wall clock: a plugin that waits for what never comes spends no CPU) one call into plugins may take
#: to process a block of at most 65536 frames: a heavy plugin takes a second or two; five minutes is a hang.
PLUGIN_LIMIT_S = 300.0
#: CPU seconds opening a file may spend per MB of it, beyond READ_LIMIT_S: a WAV of a codec libsndfile lacks (G.726
#: from a dictation recorder) is decoded whole when opened, 0.25 s per MB on this project's machines.
_OPEN_S_PER_MB = 10.0
#: How often the watch looks at the calls in flight (seconds).
_POLL_S = 0.5
#: Seconds a signal is given to reach Python before the call it waits behind is taken for one that never returns.
SIGNAL_GRACE_S = 1.0


@dataclass(frozen=True)
class Stall:
    """A call into a decoder or plugins that has run past its limit without returning.

    Attributes
    ----------
    path : Path
        The input file it reads (the plugin's file).
    doing : str
        ``"opening"``, ``"reading"`` (a plugin: ``"processing one block"``, ``"loading"``, ...).
    cpu_s : float
        CPU seconds the call had spent when it was seen (wall-clock seconds where the
        platform has no clock per thread, and for a plugin).
    thread : int
        The thread making the call (:func:`threading.get_ident`).
    library : str
        What the call runs, as the message names it (``"its decoder"``, ``"the netCDF library"``).
    """

    path: Path
    doing: str
    cpu_s: float
    thread: int
    library: str = "its decoder"
    plugin: bool = False  # a call into a plugin (``library`` names it), timed by the wall clock

    def __str__(self) -> str:
        if self.plugin and self.doing == "loading":  # a plugin's license check waits for a window no one sees
            return (
                f"{self.library} has run {self.cpu_s:.0f} s loading without returning: it hangs (waiting for what "
                "never comes: an authorization or license window a command line cannot show, a license server out of "
                "reach; or in a loop); open it once in a DAW on this machine to authorize it, or leave it out of the "
                "chain, or report it to its maker"
            )
        if self.plugin:
            return (
                f"{self.library} has run {self.cpu_s:.0f} s {self.doing} without returning: it hangs (in a loop, or "
                "waiting for what never comes); leave it out of the chain, or report it to its maker"
            )
        name = self.path.name
        return (
            f"input file {str(self.path)!r}: {self.doing} it has run {self.cpu_s:.0f} s of CPU in one call into "
            f"{self.library} without returning, which it does only in a loop on damaged data; "
            + (
                f"export it again, or convert it if another program plays it (e.g. ffmpeg -i {name} -c:a pcm_s24le "
                f"{Path(name).stem}-pcm.wav)"
                if self.library == "its decoder"
                else "copy it again from where it came from"
            )
        )


def open_limit_s(path: Path) -> float:
    """CPU seconds :func:`watched` gives opening ``path``: :data:`READ_LIMIT_S` and 10 s per MB of the file."""
    try:
        size = os.stat(path).st_size
    except OSError:
        size = 0
    return READ_LIMIT_S + _OPEN_S_PER_MB * size / 1e6


class _Call:
    """One watched call: the thread's CPU clock (or the wall clock) when it began."""

    def __init__(self, path: Path, doing: str, limit_s: float, library: str, plugin: bool = False) -> None:
        self.path, self.doing, self.limit_s, self.library, self.plugin = path, doing, limit_s, library, plugin
        self.seen = False
        self.began = time.monotonic()
        self.thread = threading.get_ident()
        self._clock: int | None = None
        if not plugin and hasattr(time, "pthread_getcpuclockid"):  # Linux, the BSDs; macOS, Windows: the wall clock
            with contextlib.suppress(OSError):
                self._clock = time.pthread_getcpuclockid(self.thread)
        self._start = self._now()

    def _now(self) -> float:
        return time.monotonic() if self._clock is None else time.clock_gettime(self._clock)

    def spent_s(self) -> float:
        """Seconds spent so far (read from the watch thread while the call's thread is inside it)."""
        try:
            return self._now() - self._start
        except OSError:  # the thread ended (cannot happen inside the call; kept safe)
            return 0.0


class _Watch:
    """The calls in flight, the temporaries being written, and the thread that looks at them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: dict[int, _Call] = {}
        self.temporaries: set[Path] = set()
        self.action: Callable[[Stall], None] | None = None
        self.holding: Callable[[Stall], contextlib.AbstractContextManager[None]] | None = None
        self.thread: threading.Thread | None = None
        self.tokens = itertools.count()

    def start(self) -> None:
        """Start the watch thread unless it runs (called with the lock held)."""
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self.run, name="soundstage-stall-watch", daemon=True)
            self.thread.start()

    def run(self) -> None:
        while True:
            time.sleep(_POLL_S)
            with self.lock:
                calls = [(token, call) for token, call in self.calls.items() if not call.seen]
                action = self.action
            for token, call in calls:
                spent = call.spent_s()
                with self.lock:  # a call that ended meanwhile is no stall (its thread's clock may be another's now)
                    if spent < call.limit_s or token not in self.calls:
                        continue
                    call.seen = True
                stall = Stall(call.path, call.doing, spent, call.thread, call.library, call.plugin)
                if action is None:
                    warnings.warn(f"{stall}; the process cannot interrupt it: stop it (kill)", RuntimeWarning, stacklevel=1)
                else:
                    action(stall)


_WATCH = _Watch()


def _forget_after_fork() -> None:
    _WATCH.lock = threading.Lock()  # a fork copies neither the watch thread nor the other threads' calls
    _WATCH.calls.clear()
    _WATCH.temporaries.clear()
    _WATCH.thread = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


@contextlib.contextmanager
def watched(path: Path, doing: str, *, limit_s: float | None = None, library: str = "its decoder") -> Iterator[None]:
    """Run the block (one call into a decoder) under the watch: past ``limit_s`` CPU seconds it is a :class:`Stall`.

    Parameters
    ----------
    path : Path
        The input file the block reads (named in the stall's message).
    doing : str
        What the block does to it: ``"opening"`` or ``"reading"``.
    limit_s : float, optional
        CPU seconds of this thread the block may spend (default :data:`READ_LIMIT_S`; :func:`open_limit_s` for an
        open).
    library : str
        What the block calls, as a stall's message names it.

    Examples
    --------
    >>> from pathlib import Path
    >>> with watched(Path("mix.wav"), "reading"):
    ...     pass
    """
    call = _Call(path, doing, READ_LIMIT_S if limit_s is None else limit_s, library)
    with _watching(call):
        yield


@contextlib.contextmanager
def watched_plugins(path: Path, names: str, doing: str = "processing one block") -> Iterator[None]:
    """Run the block (one call into plugins, ``doing`` what the stall says: ``"processing one block"`` of audio, or
    ``"loading"`` one) under the watch: past :data:`PLUGIN_LIMIT_S` seconds of the wall clock it is a :class:`Stall`
    naming them (``names``, e.g. ``plugin 'Limiter' ('/x/Limiter.vst3')``; ``path``: the first one's file)."""
    with _watching(_Call(path, doing, PLUGIN_LIMIT_S, names, plugin=True)):
        yield


@contextlib.contextmanager
def watched_holding(path: Path, names: str, doing: str) -> Iterator[None]:
    """:func:`watched_plugins` for a call that holds Python's interpreter lock (pedalboard's setters of a plugin's
    state and preset), which the watch thread cannot run beside: past :data:`PLUGIN_LIMIT_S` the process ends, the
    crash watcher saying the stall (:func:`soundstage.crashes.limited`), where one runs. No Python code runs then, so
    what the program does on such a stall (:func:`on_holding`) is done before the call, and undone as it returns."""
    stall = Stall(path, doing, PLUGIN_LIMIT_S, threading.get_ident(), names, True)
    with _WATCH.lock:
        around = _WATCH.holding
    with around(stall) if around is not None else contextlib.nullcontext(), crashes.limited(PLUGIN_LIMIT_S, str(stall)):
        yield


@contextlib.contextmanager
def _watching(call: _Call) -> Iterator[None]:
    with _WATCH.lock:
        token = next(_WATCH.tokens)
        _WATCH.calls[token] = call
        _WATCH.start()
    try:
        yield
    finally:
        with _WATCH.lock:
            _WATCH.calls.pop(token, None)


def on_stall(action: Callable[[Stall], None] | None) -> Callable[[Stall], None] | None:
    """Set what the watch does with a :class:`Stall`; returns what it did before.

    ``action`` is called on the watch thread while the stalled call still runs (it
    cannot be ended but with the process); ``None`` (the default) warns once per call.
    """
    with _WATCH.lock:
        previous, _WATCH.action = _WATCH.action, action
    return previous


def on_holding(
    action: Callable[[Stall], contextlib.AbstractContextManager[None]] | None,
) -> Callable[[Stall], contextlib.AbstractContextManager[None]] | None:
    """Set what runs around a call that holds the interpreter lock (:func:`watched_holding`), given the stall it would
    be (a batch's worker leaves the item's reason there beforehand); returns what ran before. ``None``: nothing."""
    with _WATCH.lock:
        previous, _WATCH.holding = _WATCH.holding, action
    return previous


def add_temporary(path: Path, target: Path) -> None:
    """List ``path`` as a temporary file being written for the output ``target``, for :func:`remove_temporaries`
    to remove."""
    with _WATCH.lock:
        _WATCH.temporaries.add(path)
    crashes.temporary(path, target)  # a crash that ends the process removes it too, and names ``target``


def discard_temporary(path: Path) -> None:
    """Take ``path`` off the list (it was renamed onto its output, or removed)."""
    with _WATCH.lock:
        _WATCH.temporaries.discard(path)
    crashes.temporary(path)


def remove_temporaries() -> int:
    """Remove every listed temporary file (a stall's action, before the process ends); how many were there."""
    with _WATCH.lock:
        listed = list(_WATCH.temporaries)
        _WATCH.temporaries.clear()
    removed = 0
    for path in listed:
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed


@contextlib.contextmanager
def signals_reach_calls(action: Callable[[int], None]) -> Iterator[None]:
    """While the block runs, a signal that Python handles (Ctrl-C's SIGINT; SIGTERM and SIGHUP where a handler is
    set) and that finds the main thread inside a watched call for :data:`SIGNAL_GRACE_S` calls ``action(signum)``
    on another thread: Python runs its handlers only between bytecodes, so behind a call into C that never returns
    they never run. Main thread only (elsewhere the block runs as it is).

    The signals reach a pipe (:func:`signal.set_wakeup_fd`) a thread reads; the handlers are Python's as before.
    """
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    except ValueError:  # not the main thread
        os.close(read_end)
        os.close(write_end)
        yield
        return
    main = threading.get_ident()
    reader = threading.Thread(target=_signals_read, args=(read_end, main, action), name="soundstage-signals", daemon=True)
    reader.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        os.close(write_end)  # the reader sees the end of the pipe, and ends
        reader.join(timeout=SIGNAL_GRACE_S + 1)


def _signals_read(read_end: int, main: int, action: Callable[[int], None]) -> None:
    """The signals' pipe: each signal that finds the main thread in a call it is still in a grace later, acted on."""
    try:
        while True:
            data = os.read(read_end, 64)
            if not data:
                return
            arrived = time.monotonic()
            time.sleep(SIGNAL_GRACE_S)
            with _WATCH.lock:
                stuck = any(call.thread == main and call.began < arrived for call in _WATCH.calls.values())
            if stuck:
                action(data[-1])
    finally:
        os.close(read_end)
