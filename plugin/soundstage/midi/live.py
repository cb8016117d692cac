"""Live MIDI control: a port read on its own thread, changes applied between audio blocks, feedback.

Ports are opened from a spec (:func:`soundstage.midi.ports.open_port`: a port
name, ``virtual:NAME``, ``tcp:HOST:PORT``, ``tcp-listen:HOST:PORT``).

The MIDI thread never blocks the audio loop: it decodes messages into
``(target, value)`` and puts them in a queue; the audio loop drains the queue
before each block (the last value per parameter wins) and sends the new
positions of bound controls back on the output port, so LED rings and motor
faders follow. Bad messages are counted and logged; nothing raises into the
audio loop. A parameter whose change redesigns filters (the device chain's width,
depth, distance: 10-30 ms each) is applied at most once per four times its cost,
so riding it keeps the loop within one redesign of real time.
"""

from __future__ import annotations

import collections
import gc
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import mido
import numpy as np

from soundstage.engine import ChainStream, pump
from soundstage.host.processor import Processor
from soundstage.midi.decode import Assembler, Decoder
from soundstage.midi.maps import Binding, MidiMap, ParameterSource
from soundstage.midi.ports import ByteStreamParser, open_port

__all__ = [
    "ByteStreamParser",
    "LiveControl",
    "LiveStats",
    "feedback_messages",
    "monitor",
    "open_port",
    "run_live",
]  # parser and opener re-exported from ports

LOG = logging.getLogger("soundstage.midi")


def feedback_messages(binding: Binding, position: float) -> list[Any]:
    """Messages that put a control at ``position`` (0..1): what a motor fader or LED ring needs."""

    channel = binding.channel or 0
    if binding.kind in ("cc", "relative"):
        return [mido.Message("control_change", channel=channel, control=binding.number, value=round(position * 127))]
    if binding.kind == "cc14":
        value = round(position * 16383)
        return [
            mido.Message("control_change", channel=channel, control=binding.number, value=value >> 7),
            mido.Message("control_change", channel=channel, control=binding.number + 32, value=value & 127),
        ]
    if binding.kind in ("nrpn", "rpn"):
        value = round(position * 16383)
        select = (101, 100) if binding.kind == "rpn" else (99, 98)
        return [
            mido.Message("control_change", channel=channel, control=select[0], value=binding.number >> 7),
            mido.Message("control_change", channel=channel, control=select[1], value=binding.number & 127),
            mido.Message("control_change", channel=channel, control=6, value=value >> 7),
            mido.Message("control_change", channel=channel, control=38, value=value & 127),
        ]
    if binding.kind == "note":
        return [
            mido.Message(
                "note_on" if position >= 0.5 else "note_off",
                channel=channel,
                note=binding.number,
                velocity=127 if position >= 0.5 else 0,
            )
        ]
    if binding.kind == "pitchbend":
        return [mido.Message("pitchwheel", channel=channel, pitch=round(position * 16383) - 8192)]
    return []


#: A parameter change that takes longer than this to apply (seconds) is rate-limited in the live loop ...
COSTLY_S = 0.002
#: ... to one application per this many times its cost (the redesigns then take at most 1/4 of the time).
COST_SPACING = 4.0
#: A parameter's cost is the median of its last this many applications: a one-off stall (garbage
#: collection, a page fault) during a cheap change does not rate-limit that parameter, and a
#: costly one setting a value it already has (no redesign) does not make it look cheap.
COST_MEMORY = 3


class LiveControl:
    """Drive a chain's parameters from a live MIDI input (see the module docstring)."""

    def __init__(
        self, chain: ParameterSource, midi_map: MidiMap, input_port: Any, output_port: Any = None, *, worker: Any = None
    ) -> None:
        self.chain = chain
        #: A :class:`~soundstage.host.prefetch.DesignWorker`: changes that redesign filters are designed on it first.
        self.worker = worker
        self.map = midi_map
        self.input = input_port
        self.output = output_port
        self.decoder = Decoder(midi_map, chain)
        self.parameters = chain.parameters
        self.changes: queue.SimpleQueue[tuple[Binding, Any]] = queue.SimpleQueue()
        self.received = 0
        self.errors = 0
        self.applied = 0
        self._held: dict[str, tuple[Binding, Any]] = {}  # changes waiting for their parameter's next slot
        self._next_slot: dict[str, float] = {}  # perf_counter time before which a costly parameter waits
        self._costs: dict[str, collections.deque[float]] = {}  # seconds taken by each target's last applications
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="soundstage-midi", daemon=True)

    def start(self) -> LiveControl:
        """Start reading the input port on the MIDI thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the MIDI thread (the ports stay open)."""
        self._stop.set()
        self._thread.join(timeout=2.0)

    @property
    def malformed_bytes(self) -> int:
        """Bytes the input's parser had to drop (socket ports; 0 where the driver parses)."""
        return int(getattr(self.input, "malformed_bytes", 0))

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                message = self.input.receive(block=False) if hasattr(self.input, "receive") else None
                if message is None:
                    self._stop.wait(0.001)
                    continue
                self.received += 1
                for binding, value in self.decoder.feed(message):
                    self.changes.put((binding, value))
            except Exception as error:  # a broken message or port: count, log, carry on
                self.errors += 1
                LOG.warning("MIDI input: %s", error)
                self._stop.wait(0.001)

    def apply_pending(self, *, everything: bool = False) -> dict[str, Any]:
        """Apply what arrived since the last call (last value wins); send feedback. Audio-thread side.

        A parameter whose changes take longer than ``COSTLY_S`` to apply (a filter
        redesign: the device chain's width, distance) — the median of its last
        ``COST_MEMORY`` applications, so a one-off stall does not count — is applied
        again only after ``COST_SPACING`` times that long; what arrives meanwhile waits, the
        last value winning, so a knob moved continuously never stalls the audio
        loop for more than one redesign. ``everything`` applies all that waits.
        """
        latest: dict[str, tuple[Binding, Any]] = dict(self._held)
        self._held.clear()
        while True:
            try:
                binding, value = self.changes.get_nowait()
            except queue.Empty:
                break
            latest[binding.target] = (binding, value)
        applied = {}
        now = time.perf_counter()
        for target, (binding, value) in latest.items():
            if self.worker is not None and self.worker.costly(target) and not everything:
                ready = self.worker.offer(target, value)
                if ready != value:
                    self._held[target] = (binding, value)  # being designed; a newer value replaces it
                if ready is None:
                    continue
                value = ready  # the newest value whose design is ready
            elif not everything and now < self._next_slot.get(target, 0.0):
                self._held[target] = (binding, value)
                continue
            began = time.perf_counter()
            try:
                self.parameters[target].value = value
            except Exception as error:  # out of range after a curve, a plugin refusing: log, keep running
                self.errors += 1
                LOG.warning("MIDI -> %s: %s", target, error)
                continue
            costs = self._costs.setdefault(target, collections.deque(maxlen=COST_MEMORY))
            costs.append(time.perf_counter() - began)
            cost = sorted(costs)[len(costs) // 2]  # the median (the upper one of two)
            if cost > COSTLY_S:
                self._next_slot[target] = began + COST_SPACING * cost
            applied[target] = value
            self.applied += 1
            self.send_feedback(target)
        return applied

    def send_feedback(self, target: str) -> None:
        """Send the current position of every binding on ``target`` to the output port."""
        if self.output is None:
            return
        parameter = self.parameters[target]
        for binding in self.map.bindings:
            if binding.target != target:
                continue
            try:
                for message in feedback_messages(binding, binding.position(parameter.value, parameter)):  # type: ignore[arg-type]
                    self.output.send(message)
            except Exception as error:
                self.errors += 1
                LOG.warning("MIDI feedback: %s", error)


@dataclass
class LiveStats:
    """How a live run went."""

    blocks: int = 0
    seconds: float = 0.0  # audio processed
    wall_seconds: float = 0.0
    worst_lag_ms: float = 0.0  # furthest any block finished behind its real-time deadline
    late_blocks: int = 0  # blocks that finished after their deadline
    changes: int = 0  # parameter changes applied
    received: int = 0
    errors: int = 0
    values: dict[str, Any] = field(default_factory=dict)


def run_live(
    processor: Processor,
    control: LiveControl | None,
    blocks: Iterator[np.ndarray],
    sample_rate: float,
    *,
    on_output: Callable[[np.ndarray], None] | None = None,
    on_change: Callable[[float, dict[str, Any]], None] | None = None,
    trackers: Sequence[Any] = (),
) -> LiveStats:
    """Process ``blocks`` in real-time pacing, applying MIDI changes before each block.

    ``trackers``: other live sources with the same ``apply_pending(everything=...)``
    (a :class:`~soundstage.headtrack.HeadTracker`), applied after the MIDI changes.

    Each block is due when its audio would have played: the loop sleeps until
    then and measures how far behind it ever fell (``worst_lag_ms``). A block of
    silence is processed before the clock starts, so stream preparation (filter
    designs, plugin set-up) does not count as lag. Errors from
    the MIDI side are counted by ``control``; they never stop the loop.
    """
    stats = LiveStats()
    first = next(blocks, None)
    if first is None:
        return stats
    # open a stream once before the clock starts: filter designs and plugin preparation happen here, not in block 1
    processor.process(np.zeros_like(first), sample_rate, buffer_size=max(first.shape[1], 1), reset=True)
    processor.reset()
    stream = ChainStream(processor, sample_rate, buffer_size=max(first.shape[1], 1))
    gc.collect()
    gc.freeze()  # what exists now (the chain, its designs) is never scanned again
    collecting = gc.isenabled()
    gc.disable()  # no full collection mid-stream (90 ms here): the loop collects the young generations itself
    start = time.perf_counter()

    def apply(everything: bool = False) -> None:
        applied = control.apply_pending(everything=everything) if control is not None else {}
        for tracker in trackers:
            applied.update(tracker.apply_pending(everything=everything))
        if applied:
            stats.changes += len(applied)
            stats.values.update(applied)
            if on_change is not None and not everything:
                on_change(stats.seconds, applied)

    def source() -> Iterator[np.ndarray]:
        yield from itertools.chain([first], blocks)

    def pace(position: int) -> None:
        gc.collect(1 if stats.blocks % 64 == 0 else 0)  # short: only what was made since the last block or so
        stats.blocks += 1
        stats.seconds = position / sample_rate
        lag = time.perf_counter() - (start + stats.seconds)
        if lag > 0:
            stats.late_blocks += 1
            stats.worst_lag_ms = max(stats.worst_lag_ms, 1000 * lag)
        else:
            time.sleep(-lag)

    try:
        pump(source(), stream, [on_output] if on_output is not None else [], before_block=lambda _: apply(), after_block=pace)
    finally:
        gc.unfreeze()
        if collecting:
            gc.enable()
    stats.wall_seconds = time.perf_counter() - start
    apply(everything=True)  # what still waits (its slot, its design) after the audio: the last values win
    if control is not None:
        stats.received, stats.errors = control.received, control.errors
    return stats


def monitor(
    port: Any,
    write: Callable[[str], None],
    *,
    count: int | None = None,
    seconds: float | None = None,
    stopped: Callable[[], bool] = lambda: False,
) -> int:
    """Print what arrives on ``port`` decoded the way maps see it (14-bit pairs joined, NRPN/RPN assembled).

    Stops after ``count`` messages or ``seconds``, or once ``stopped()`` is true (none given: until interrupted).
    Malformed input is reported and skipped. Returns the number of messages seen.
    """
    assembler = Assembler()
    seen = 0
    start = time.monotonic()
    while (count is None or seen < count) and (seconds is None or time.monotonic() - start < seconds) and not stopped():
        try:
            message = port.receive(block=False)
        except Exception as error:  # a broken byte stream: say so, keep listening
            write(f"{time.monotonic() - start:9.3f}  unreadable input: {error}")
            continue
        if message is None:
            time.sleep(0.002)
            continue
        if message.type in ("clock", "active_sensing"):
            continue
        seen += 1
        for event in assembler.feed(message):
            write(f"{time.monotonic() - start:9.3f}  {event}")
    return seen
