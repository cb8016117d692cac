"""What a chain can hold, seen uniformly: names, channel counts, parameters, steps.

A chain node is a soundstage :class:`~soundstage.host.processor.Processor`
(stages, routing nodes, nested chains) or a pedalboard plugin (built-in or
external). This module answers the same questions for both, and compiles nodes
into *steps*: objects that process the raw stream one block at a time,
``(channels, n)`` in and ``(channels', n)`` out, delayed by their latency.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Protocol, TypeGuard, runtime_checkable

import numpy as np
import pedalboard

from soundstage import crashes, stalls
from soundstage.errors import ChannelError, PluginError
from soundstage.host.builtins import BuiltinParameter, builtin_specs, builtin_type_name, is_builtin, native_name
from soundstage.host.external import (
    check_plays_at,
    external_parameters,
    is_external,
    plugin_names,
    running,
    supported_channel_counts,
)
from soundstage.host.parameters import Parameter
from soundstage.host.processor import Processor
from soundstage.native import release_order_dropped

__all__ = [
    "Node",
    "Step",
    "PedalboardStep",
    "ProcessorStep",
    "describe_channels",
    "is_node",
    "is_pedalboard_plugin",
    "node_input_channels",
    "node_name",
    "node_output_channels",
    "node_parameters",
    "node_type",
]


@runtime_checkable
class Node(Protocol):
    """What a chain holds: pedalboard's call contract.

    A soundstage :class:`~soundstage.host.processor.Processor` (a stage, a routing
    node, a nested chain) or a pedalboard plugin (built-in or external, VST3/AU)
    is one; :func:`is_node` tells them from anything else (a ``Pedalboard``
    container is not one: soundstage's :class:`~soundstage.host.chain.Chain` nests instead).
    """

    def process(self, input_array: np.ndarray, sample_rate: float, buffer_size: int = 8192, reset: bool = True) -> np.ndarray:
        """Process audio (``reset=False`` continues a stream)."""
        ...

    def reset(self) -> None:
        """Clear streaming state, keep parameters."""
        ...


def is_pedalboard_plugin(node: object) -> TypeGuard[pedalboard.Plugin]:
    """True for a pedalboard plugin (built-in or external), not a Pedalboard container."""
    return isinstance(node, pedalboard.Plugin) and not isinstance(node, pedalboard.Pedalboard)


def is_node(node: object) -> TypeGuard[Node]:
    """True for anything a Chain can hold."""
    return isinstance(node, Processor) or is_pedalboard_plugin(node)


def node_type(node: Node) -> str:
    """The chain-file type of a node: a stage's type name, ``pedalboard.X`` or ``plugin``."""
    if isinstance(node, Processor):
        return node.type_name
    if is_external(node):
        return "plugin"
    return builtin_type_name(node)


def node_name(node: Node) -> str:
    """A readable default name: the plugin's own name, or the type in snake case."""
    if is_external(node):
        return str(node.name)  # type: ignore[attr-defined]
    base = node.type_name if isinstance(node, Processor) else type(node).__name__
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(base))


def node_input_channels(node: Node) -> int | None:
    """The one input channel count a node requires, or None if it takes several."""
    if isinstance(node, Processor):
        return node.input_channels
    if is_external(node):
        counts = supported_channel_counts(node)
        return next(iter(counts)) if len(counts) == 1 else None
    return None


def describe_channels(node: Node) -> str:
    """The input channel counts a node accepts, as a phrase."""
    if is_external(node):
        counts = sorted(supported_channel_counts(node))
        return " or ".join(str(c) for c in counts) if counts else "no"
    required = node_input_channels(node)
    return "any number of" if required is None else str(required)


def node_output_channels(node: Node, num_input_channels: int) -> int:
    """Output channel count of ``node`` for that many inputs; ChannelError if it cannot take them."""
    if isinstance(node, Processor):
        return node.output_channels_for(num_input_channels)
    if is_external(node):
        counts = supported_channel_counts(node)
        if num_input_channels not in counts:
            raise ChannelError(f"{node.name} takes {describe_channels(node)} channel(s), got {num_input_channels}")  # type: ignore[attr-defined]
    return num_input_channels


def node_parameters(node: Node) -> dict[str, Parameter]:
    """The parameter view of any node."""
    if isinstance(node, Processor):
        return dict(node.parameters)
    if is_external(node):
        return dict(external_parameters(node))
    name = type(node).__name__
    owner = builtin_type_name(node)
    return {spec.name: BuiltinParameter(node, spec, owner=owner) for spec in builtin_specs(name)}


def sync_parameters(source: Node, targets: list[Node]) -> None:
    """Copy ``source``'s parameter values onto ``targets`` where they differ (cheap when equal)."""
    if isinstance(source, Processor):
        values = source.parameter_values()
        for target in targets:
            if isinstance(target, Processor) and target.parameter_values() != values:
                for key, value in values.items():
                    setattr(target, key, value)
        return
    if is_external(source):
        raws = {key: handle.raw_value for key, handle in source.parameters.items()}  # type: ignore[attr-defined]
        for target in targets:
            for key, handle in target.parameters.items():  # type: ignore[attr-defined]
                if key in raws and handle.raw_value != raws[key]:
                    handle.raw_value = raws[key]
        return
    specs = builtin_specs(type(source).__name__) if is_builtin(source) else ()
    for target in targets:
        for spec in specs:
            attribute = native_name(spec.name)
            value = getattr(source, attribute)
            if getattr(target, attribute) != value:
                setattr(target, attribute, value)


class Step(Protocol):
    """A compiled node: processes the raw stream block by block."""

    latency: int

    def prepare(self, sample_rate: float, num_channels: int) -> int:
        """Clear state for a new stream; returns the output channel count."""
        ...

    def process_block(self, block: np.ndarray) -> np.ndarray:
        """``(channels, n)`` float32 in, ``(channels', n)`` float32 out, delayed by ``latency``."""
        ...


class ProcessorStep:
    """A soundstage processor as a step (its raw stream: :meth:`Processor.process_block`)."""

    def __init__(self, processor: Processor) -> None:
        self.processor = processor
        self.latency = 0

    def prepare(self, sample_rate: float, num_channels: int) -> int:
        self.processor.open_stream(sample_rate, num_channels)
        self.latency = int(self.processor.latency_samples)
        return self.processor.output_channels_for(num_channels)

    def process_block(self, block: np.ndarray) -> np.ndarray:
        return self.processor.process_block(block)


#: pedalboard's filters that do not clamp their cutoff below half the sample rate themselves.
FIRST_ORDER_FILTERS = (pedalboard.HighpassFilter, pedalboard.LowpassFilter)


class PedalboardStep:
    """Consecutive pedalboard plugins run as one native ``pedalboard.Pedalboard`` call.

    pedalboard re-prepares a plugin (clearing its state) whenever a call brings a
    larger block than the plugin was last prepared for, and it guesses the channel
    layout of short blocks. Both would make the output depend on how a stream is
    cut into blocks. So this step only ever calls pedalboard with at least
    :attr:`BLOCK` samples and ``buffer_size=BLOCK``: the plugins always see
    ``BLOCK``-sample blocks (the last one of a call may be shorter), are prepared
    once, and never see an ambiguous shape. Input waits in a queue until ``BLOCK``
    samples are there, which adds ``BLOCK - 1`` samples of latency, reported and
    compensated like any other.

    pedalboard compensates plugin latency while streaming by returning fewer
    samples at the start of a stream; this step pads those at the front instead,
    so it delivers one output sample per input sample, delayed by ``latency``.

    pedalboard's first-order filters (HighpassFilter, LowpassFilter) are unstable
    with a cutoff above half the sample rate: their output is infinite. This step
    runs them with the cutoff clamped as pedalboard clamps that of its other
    filters, to 100 Hz below half the rate (a chain made for 48 kHz, its low-pass
    at 23 kHz, run at 44.1 kHz; a knob turned to the top of its range); the value
    the knob holds is left as it is.
    """

    #: Block size pedalboard's plugins run at, in samples; also the largest
    #: granularity at which their parameter changes can land.
    BLOCK = 64

    def __init__(self, plugins: list[pedalboard.Plugin]) -> None:
        self.plugins = plugins
        self.board = pedalboard.Pedalboard(plugins)
        self._first_order = [plugin for plugin in plugins if isinstance(plugin, FIRST_ORDER_FILTERS)]
        self._names = plugin_names(plugins)  # the external ones, named in a crash or a hang of a call into them
        self._running = running(plugins)  # what a crash inside the board is put on (None: no external plugin)
        self._fed = 0  # frames given to the board since it was prepared
        self._moved = False  # a plugin's latency moved in this stream (said once)
        self._cutoff_limit = 0.0
        self.latency = 0
        self.plugin_latency = 0
        self.sample_rate = 48000.0
        self._queue = np.zeros((0, 0), np.float32)
        self._ready = np.zeros((0, 0), np.float32)

    def prepare(self, sample_rate: float, num_channels: int) -> int:
        for plugin in self.plugins:
            check_plays_at(plugin, sample_rate)  # a plugin soundstage exported is silent at a rate it was not baked for
        self.sample_rate = sample_rate
        # the first-order filters' top cutoff, float32 as pedalboard's clampCutoffFrequency computes it
        self._cutoff_limit = float(np.float32(np.float32(sample_rate) / 2 - np.float32(100.0)))
        # one block of silence lets the plugins report their latency; then a clean start. pedalboard makes a VST3
        # plugin again for a new channel count, and DPF's remark on how the old one is let go is dropped
        if self._running:  # from the frame that calls the board: a crash inside it is put on them
            crashes.doing(self._running)
        with release_order_dropped(), self._watched():
            self.board.process(np.zeros((num_channels, self.BLOCK), np.float32), sample_rate, buffer_size=self.BLOCK, reset=True)
            self.board.reset()
        self.plugin_latency = sum(int(getattr(p, "reported_latency_samples", 0) or 0) for p in self.plugins)
        self.latency = self.BLOCK - 1 + self.plugin_latency
        self._queue = np.zeros((num_channels, 0), np.float32)
        self._ready = np.zeros((num_channels, self.BLOCK - 1), np.float32)
        self._fed = 0
        self._moved = False
        return num_channels

    def process_block(self, block: np.ndarray) -> np.ndarray:
        queue = np.concatenate([self._queue, block], axis=1) if self._queue.shape[1] else block
        if queue.shape[1] >= self.BLOCK:
            out = self._run(queue)
            missing = queue.shape[1] - out.shape[1]
            if missing:
                out = np.concatenate([np.zeros((out.shape[0], missing), np.float32), out], axis=1)
            self._ready = np.concatenate([self._ready, out], axis=1)
            queue = queue[:, :0]
        self._queue = np.ascontiguousarray(queue)
        n = block.shape[1]
        result, self._ready = self._ready[:, :n], self._ready[:, n:]
        return result

    def _run(self, queue: np.ndarray) -> np.ndarray:
        limit = self._cutoff_limit
        over = [(plugin, plugin.cutoff_frequency_hz) for plugin in self._first_order if plugin.cutoff_frequency_hz > limit]
        for plugin, _ in over:
            plugin.cutoff_frequency_hz = limit
        if self._running:
            crashes.doing(self._running)
        try:
            with self._watched():
                out = self.board.process(queue, self.sample_rate, buffer_size=self.BLOCK, reset=False)
        finally:
            for plugin, cutoff in over:
                plugin.cutoff_frequency_hz = cutoff
        if self._names and not np.isfinite(out).all():  # named here, not as "a stage ran unstable" at the output
            raise PluginError(self._not_finite(out))
        if self._names:
            self._latency_moved()
        self._fed += queue.shape[1]
        return out

    def _latency_moved(self) -> None:
        """Warn, once, where a plugin's latency is not the one it had when the stream began (a lookahead or an
        oversampling automated): what follows comes that much later or earlier, as the stream's compensation is
        fixed at its start (a DAW re-aligns with a jump; a stream cannot take back samples it has given)."""
        now = sum(int(getattr(p, "reported_latency_samples", 0) or 0) for p in self.plugins)
        if now == self.plugin_latency or self._moved:
            return
        self._moved = True
        assert self._names is not None
        warnings.warn(
            f"{self._names[0]} changed its latency from {self.plugin_latency} to {now} samples near "
            f"{self._fed / self.sample_rate:.3f} s of its input: what follows is {abs(now - self.plugin_latency)} samples "
            f"{'later' if now > self.plugin_latency else 'earlier'} than what came before (the latency is compensated "
            "as the stream begins); set what moves it in the chain file, not by automation",
            stacklevel=2,
        )

    def _not_finite(self, out: np.ndarray) -> str:
        """Why the audio stops at a plugin that put inf or NaN into it."""
        channel, sample = (int(i) for i in np.argwhere(~np.isfinite(out))[0])
        at = (self._fed + sample) / self.sample_rate
        return (
            f"{self._names[0] if self._names else 'a plugin'} put {out[channel, sample]} into the audio, channel "
            f"{channel}, near {at:.3f} s of its input: the plugin misbehaved (an unstable setting, a bug); change its "
            "settings, leave it out of the chain, or report it to its maker"
        )

    @contextlib.contextmanager
    def _watched(self) -> Iterator[None]:
        """A call into the board, with its external plugins named to a hang (:func:`soundstage.stalls.
        watched_plugins`); as it is where it holds none."""
        if self._names is None:
            yield
            return
        names, path = self._names
        with stalls.watched_plugins(path, names):
            yield
