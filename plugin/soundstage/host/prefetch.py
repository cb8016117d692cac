"""Designs off the audio thread: a live parameter change that redesigns filters is designed elsewhere first.

A live loop (MIDI, a head tracker) must never wait for a filter design (the
device chain's width or listener yaw: 30-50 ms here). :class:`DesignWorker` keeps a
copy (a *shadow*) of every stage with
:attr:`~soundstage.host.processor.Processor.design_parameters` in a process of
its own, so a design neither runs on the audio thread nor holds its
interpreter lock. When a change of such a parameter arrives, the loop
:meth:`~DesignWorker.offer` s it: the worker sets it on the shadow (the shadow
designs) and hands the designs back
(:meth:`~soundstage.host.processor.Processor.adopt_designs`); meanwhile the loop
holds the change (a newer value replaces it) and applies the newest value whose
design is ready: the real stage finds that design memoised and only swaps
filters, with its own crossfade. Offline renders do not use it: the same
automation gives the same file every run.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Mapping
from typing import Any

from soundstage.errors import PluginError
from soundstage.host.parameters import AttributeParameter, Parameter, Value
from soundstage.host.processor import Processor

__all__ = ["DesignWorker"]

LOG = logging.getLogger("soundstage.prefetch")
#: How much lower than the audio process the design process runs (Unix niceness).
DESIGN_NICENESS = 10
#: How long the design process may take to start (import soundstage, take the stages), seconds.
STARTUP_TIMEOUT_S = 120.0


def _serve(connection: Any, shadows: list[Processor]) -> None:
    """The worker process: apply each request to its shadow, send back the designs it memoised anew."""
    # the designs' libraries, which the package loads on first use: loaded here, before "ready", not while the
    # audio runs (their second or more of loading, niced, held the first designs back for seconds behind the audio)
    import scipy.signal  # noqa: F401, PLC0415 (slow to load: on first use)
    import scipy.spatial  # noqa: F401, PLC0415 (slow to load: on first use)

    sent: list[set[Any]] = [set() for _ in shadows]
    with contextlib.suppress(OSError):
        os.nice(DESIGN_NICENESS)  # the audio loop comes first when the cores are busy
    connection.send("ready")  # started and unpickled: the caller waits for this before any audio runs
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        index, rate, channels, values, name, value = request
        shadow = shadows[index]
        try:
            if rate is not None and channels is not None and shadow.stream_channels != channels:
                shadow.open_stream(rate, channels)  # the shadow designs only while it has a stream, as the stage
            current = shadow.parameter_values()
            for other, wanted in values.items():  # follow what changed on the real stage
                if other != name and current.get(other) != wanted:
                    setattr(shadow, other, wanted)
            setattr(shadow, name, value)
            designs = {key: design for key, design in shadow.memoised_designs().items() if key not in sent[index]}
            sent[index] = set(shadow.memoised_designs())
            connection.send(("ok", designs))
        except Exception as error:  # a design that fails: the loop applies the change itself
            connection.send(("error", f"{type(error).__name__}: {error}"))


class DesignWorker:
    """Design costly parameter changes in a process of its own (see the module docstring).

    ``parameters``: the chain's parameter tree. The worker process starts here
    and is ready when the constructor returns (about a second: it imports
    soundstage), so its start-up never competes with the audio.
    """

    def __init__(self, parameters: Mapping[str, Parameter]) -> None:
        self.parameters = parameters
        self._nodes: dict[str, tuple[Processor, str, int]] = {}
        nodes: list[Processor] = []
        for path, parameter in parameters.items():
            node = parameter.target if isinstance(parameter, AttributeParameter) else None
            if isinstance(node, Processor) and parameter.spec.name in node.design_parameters:
                if not any(node is known for known in nodes):
                    nodes.append(node)
                    node.interpolate_designs = False  # live changes apply the exact designs made here
                index = next(i for i, known in enumerate(nodes) if known is node)
                self._nodes[path] = (node, parameter.spec.name, index)
        self._requests: dict[str, Value] = {}
        self._ready: dict[str, Value] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.designed = 0
        self.errors = 0
        self._process: Any = None
        self._thread = threading.Thread(target=self._run, name="soundstage-design", daemon=True)
        if nodes:
            context = multiprocessing.get_context("spawn")
            self._connection, child = context.Pipe()
            self._process = context.Process(target=_serve, args=(child, nodes), name="soundstage-design", daemon=True)
            self._process.start()
            child.close()
            if not (self._connection.poll(STARTUP_TIMEOUT_S) and self._connection.recv() == "ready"):
                self.stop()
                raise PluginError(f"the design worker process did not start in {STARTUP_TIMEOUT_S:g} s")
            self._thread.start()

    def costly(self, path: str) -> bool:
        """Whether a change of ``path`` is designed by the worker first."""
        return path in self._nodes

    def offer(self, path: str, value: Value) -> Value | None:
        """Ask for ``value``'s design; returns the newest value of ``path`` whose design is ready (apply that now),
        or ``None`` (nothing ready: hold the change). While a knob keeps moving, what is applied follows it at
        the pace the worker designs; the last value is applied once its design is ready."""
        with self._lock:
            ready = self._ready.pop(path, None)
            if ready is None or ready != value:
                self._requests[path] = value
        if ready is None or ready != value:
            self._wake.set()
        return ready

    def stop(self) -> None:
        """Stop the worker thread and process."""
        self._stop.set()
        self._wake.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=5.0)
        if self._process is not None:
            try:
                self._connection.send(None)
            except OSError:
                pass
            self._process.join(timeout=5.0)
            if self._process.is_alive():
                self._process.kill()
            self._connection.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.1)
            self._wake.clear()
            with self._lock:
                requests, self._requests = self._requests, {}
            for path, value in requests.items():
                node, name, index = self._nodes[path]
                try:
                    request = (index, node.sample_rate, node.stream_channels, node.parameter_values(), name, value)
                    self._connection.send(request)
                    status, payload = self._connection.recv()  # waits without the interpreter lock
                except (EOFError, OSError) as error:
                    self.errors += 1
                    LOG.warning("design worker gone (%s); live changes are designed on the audio loop", error)
                    self._nodes.clear()
                    return
                if status == "ok":
                    node.adopt_designs(payload)
                    self.designed += 1
                else:
                    self.errors += 1
                    LOG.warning("design of %s = %r: %s", path, value, payload)
                with self._lock:
                    self._ready[path] = value
