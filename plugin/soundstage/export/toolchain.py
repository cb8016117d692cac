"""What every build of an export shares: its error, and one compiler call whose failure is one line."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

from soundstage.errors import SoundstageError

__all__ = ["ENGINE_HEADERS", "BuildError", "builds_running", "run", "stop_builds"]

#: The native engine's headers (``native/``) every build copies: engine.hpp and the parts it includes.
ENGINE_HEADERS = (
    "engine.hpp",
    "engine_api.hpp",
    "engine_core.hpp",
    "fir.hpp",
    "ops.hpp",
    "juce_dsp.hpp",
    "builtins.hpp",
    "routing.hpp",
    "resampling.hpp",
)


class BuildError(SoundstageError):
    """A plugin could not be built (a missing tool, or the compiler failed)."""


def run(command: list[str], what: str, cwd: Path | None = None, hint: str = "", *, cache: bool = False) -> None:
    """Run ``command`` (in ``cwd``); if it fails, a :class:`BuildError` naming ``what``, the compiler's first error
    line and ``hint``. Any thread may call it; :func:`stop_builds` ends the calls running.

    ``cache``: a compile whose output follows from its sources and options alone, run through ccache where it is
    installed (``CCACHE_DISABLE=1`` turns that off), so an export compiles only what changed since the last; where
    ccache itself fails (a folder it cannot write, a bad setting), the compiler runs alone."""
    launcher = shutil.which("ccache") if cache else None
    if launcher:
        returncode, stderr = _call([launcher, *command], cwd)
        if returncode > 0 and stderr.lstrip().startswith("ccache:"):
            returncode, stderr = _call(command, cwd)
    else:
        returncode, stderr = _call(command, cwd)
    if returncode != 0:
        lines = [line.strip() for line in stderr.splitlines() if line.strip()] or ["(no output)"]
        first_error = next((line for line in lines if "error" in line.lower()), lines[-1])  # not the caret line under it
        raise BuildError(f"building {what} failed: {first_error} (command: {' '.join(command[:3])} ...){hint}")


def _call(command: list[str], cwd: Path | None) -> tuple[int, str]:
    """Run ``command``; its return code and what it said on stderr."""
    # in a process group of its own, which stop_builds ends whole: the g++ driver's cc1plus, as and ld hold its pipes
    pipe = subprocess.PIPE
    with subprocess.Popen(command, stdout=pipe, stderr=pipe, text=True, cwd=cwd, start_new_session=True) as process:
        with _lock:
            _running.add(process)
        try:
            _, stderr = process.communicate()
        finally:
            with _lock:
                _running.discard(process)
    return process.returncode, stderr


def builds_running() -> bool:
    """Whether a compiler :func:`run` started is running, on any thread."""
    with _lock:
        return bool(_running)


def stop_builds() -> None:
    """End every compiler :func:`run` has running, on every thread (an export stopped by Ctrl-C or SIGTERM while its
    formats compile at once: they would run to their end first). Each, with the programs it started, is asked to stop
    (SIGTERM: g++ removes its temporary files), and killed if it has not within a second."""
    with _lock:
        running = list(_running)
    for process in running:
        _signal_group(process, signal.SIGTERM)
    for process in running:
        try:
            process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            _signal_group(process, getattr(signal, "SIGKILL", signal.SIGTERM))


def _signal_group(process: subprocess.Popen[str], signum: int) -> None:
    """Send ``signum`` to the process group ``process`` leads (POSIX), or to it alone (Windows)."""
    with contextlib.suppress(OSError):
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signum)
        else:  # pragma: no cover - Windows
            process.send_signal(signum)


_lock = threading.Lock()
_running: set[subprocess.Popen[str]] = set()
