"""``Chain``: a list-like container of soundstage stages and pedalboard plugins.

A chain holds any mix of soundstage processors, pedalboard built-ins, external
VST3/AU plugins, routing nodes and nested chains, and is itself a
:class:`~soundstage.host.processor.Processor`, so it is called like a pedalboard
``Pedalboard``. On top of that it

- checks channel counts whenever it is built or modified, naming the node, its
  index, the counts and the fix;
- runs consecutive pedalboard plugins as one native ``pedalboard.Pedalboard`` call;
- compensates latency (see :mod:`soundstage.host.processor` for the contract);
- gives every parameter of every member a path (``"limiter.threshold_db"``,
  ``"2.gain_db"``, ``"bus.trim.gain_db"``) for chain files and MIDI mapping.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Any, overload

import numpy as np

from soundstage.errors import ChainError, ChannelError
from soundstage.host.nodes import (
    Node,
    PedalboardStep,
    ProcessorStep,
    Step,
    describe_channels,
    is_node,
    is_pedalboard_plugin,
    node_input_channels,
    node_name,
    node_output_channels,
    node_parameters,
)
from soundstage.host.parameters import Parameter
from soundstage.host.processor import Processor

__all__ = ["Chain", "ChainTap", "compile_steps", "channel_fix"]


def channel_fix(node: Node, wanted: int | None, got: int) -> str:
    """A sentence telling how to route ``got`` channels into a node that wants ``wanted``."""
    label = node_name(node)
    downmix = getattr(node, "downmix", None)  # a Mix folding a bed down: no routing makes a bed of other channels
    if isinstance(downmix, str) and wanted is not None:
        return f"it folds a {downmix} bed ({wanted} channels) down to stereo; give it {downmix} audio, or leave it out"
    if wanted == 1 and got > 1:
        return (
            f'run it once per channel with PerChannel({label}) (in a chain file: type = "per_channel", the plugin\'s '
            'table as its stage), or pick one channel with Route(channels=[0]) (type = "route", channels = [0])'
        )
    bed = {6: "5.1", 8: "7.1"}.get(got)
    if wanted == 2 and bed:  # six or eight channels into a stereo stage: a surround bed, most likely
        return (
            f'a {bed} bed? fold it down first with Mix(downmix="{bed}") (a chain file\'s stage type = "mix", '
            f'downmix = "{bed}"; the preset downmix-{bed}), or keep two channels with Route(channels=[0, 1])'
        )
    if wanted is not None and wanted < got:
        picks = list(range(wanted))
        return (
            f"run it on {wanted} of the {got} channels with OnChannels({label}, channels={picks}) (in a chain file: "
            f'type = "on_channels", channels = {picks}, its table as the stage), or keep {wanted} with '
            f'Route(channels={picks}) first (type = "route", channels = {picks})'
        )
    if wanted is not None and wanted > got:
        picks = [min(i, got - 1) for i in range(wanted)]
        return f'make {wanted} channels first, e.g. Route(channels={picks}) (in a chain file: type = "route", channels = {picks})'
    return "route the channels it accepts with Route(...) or OnChannels(...)"


def compile_steps(nodes: list[Node]) -> list[Step]:
    """Turn nodes into steps, grouping consecutive pedalboard plugins into one board."""
    steps: list[Step] = []
    group: list[Any] = []
    for node in nodes:
        if is_pedalboard_plugin(node):
            group.append(node)
            continue
        if group:
            steps.append(PedalboardStep(group))
            group = []
        steps.append(ProcessorStep(node))  # type: ignore[arg-type]
    if group:
        steps.append(PedalboardStep(group))
    return steps


class ChainTap:
    """The output of a chain's first ``nodes`` nodes, gathered while the chain streams (:meth:`Chain.tap`).

    It is what a chain of those nodes alone gives for the same input, compensated
    for their latency (not the whole chain's), so it runs ahead of the chain's own
    output: a session whose headphone preview (device chain, then monitor) begins
    with its driver feeds' chain runs the device chain once. After the chain's
    stream is flushed, the tap holds at least as many samples as went in, and its
    last ones follow the flush's silence: cut it to the input's length.
    """

    def __init__(self, nodes: int) -> None:
        self.nodes = nodes
        self._pieces: list[np.ndarray] = []
        self._drop = 0

    def _open(self, latency: int) -> None:
        self._drop = latency

    def _hear(self, block: np.ndarray) -> None:
        if self._drop:
            cut = min(self._drop, block.shape[1])
            block, self._drop = block[:, cut:], self._drop - cut
        if block.shape[1]:
            self._pieces.append(block.copy())

    def take(self) -> np.ndarray | None:
        """Everything gathered since the last call, ``(channels, n)`` float32 (None: nothing)."""
        if not self._pieces:
            return None
        pieces, self._pieces = self._pieces, []
        return np.concatenate(pieces, axis=1) if len(pieces) > 1 else pieces[0]


class Chain(Processor, register=False):
    """A list-like chain of nodes, called like ``pedalboard.Pedalboard``.

    Parameters
    ----------
    nodes : iterable, optional
        soundstage processors, pedalboard plugins (built-in or external),
        routing nodes and nested chains, in signal order.
    names : iterable of str, optional
        Names for the nodes (for parameter paths); defaults are derived from
        each node's type and made unique (``gain``, ``gain_2``).

    Examples
    --------
    >>> import numpy as np, pedalboard
    >>> from soundstage import Chain, Gain
    >>> chain = Chain([Gain(gain_db=-6.0), pedalboard.HighpassFilter(cutoff_frequency_hz=30.0)])
    >>> chain(np.zeros((2, 1000), np.float32), 48000).shape
    (2, 1000)
    >>> chain.names
    ['gain', 'highpass_filter']
    """

    type_name = "Chain"

    def __init__(self, nodes: Iterable[Node] | None = None, *, names: Iterable[str | None] | None = None) -> None:
        super().__init__()
        self._nodes: list[Node] = []
        self._names: list[str] = []
        self._steps: list[Step] | None = None
        self._taps: list[ChainTap] = []
        self._heard: dict[int, list[ChainTap]] = {}  # by step index: the taps after it
        given = list(nodes or [])
        labels = list(names) if names is not None else [None] * len(given)
        if len(labels) != len(given):
            raise ChainError(f"Chain got {len(given)} nodes but {len(labels)} names")
        members: set[int] = set()  # ids of the nodes so far, and the names taken: building is linear in the nodes
        taken: set[str] = set()
        suffixes: dict[str, int] = {}
        for node, label in zip(given, labels):
            self._check_node(node, members)
            members.add(id(node))
            name = self._unique_name(node, label, taken, suffixes)
            taken.add(name)
            self._nodes.append(node)
            self._names.append(name)
        self.validate()

    # -- list behavior -------------------------------------------------------
    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(list(self._nodes))

    @overload
    def __getitem__(self, key: int | str) -> Any: ...
    @overload
    def __getitem__(self, key: slice) -> list[Any]: ...
    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, str):
            return self._nodes[self._index_of_name(key)]
        return self._nodes[key]

    def __setitem__(self, index: int, node: Node) -> None:
        if self._nodes[index] is node:
            return
        self._check_node(node)
        old_nodes, old_names = list(self._nodes), list(self._names)
        self._nodes[index] = node
        self._names[index] = ""
        self._names[index] = self._unique_name(node, None)
        self._commit(old_nodes, old_names)

    def __delitem__(self, index: int | slice) -> None:
        old_nodes, old_names = list(self._nodes), list(self._names)
        del self._nodes[index]
        del self._names[index]
        self._commit(old_nodes, old_names)

    def append(self, node: Node, *, name: str | None = None) -> None:
        """Add a node at the end (``name`` addresses its parameters)."""
        self.insert(len(self._nodes), node, name=name)

    def insert(self, index: int, node: Node, *, name: str | None = None) -> None:
        """Insert a node before ``index``."""
        self._check_node(node)
        old_nodes, old_names = list(self._nodes), list(self._names)
        label = self._unique_name(node, name)
        self._nodes.insert(index, node)
        self._names.insert(index if index >= 0 else max(len(self._names) + index, 0), label)
        self._commit(old_nodes, old_names)

    def extend(self, nodes: Iterable[Node]) -> None:
        """Append several nodes."""
        for node in nodes:
            self.append(node)

    def remove(self, node: Node) -> None:
        """Remove the first occurrence of ``node``."""
        del self[self.index(node)]

    def pop(self, index: int = -1) -> Any:
        """Remove and return the node at ``index``."""
        node = self._nodes[index]
        del self[index]
        return node

    def index(self, node: Node) -> int:
        """Position of ``node`` (by identity)."""
        for position, member in enumerate(self._nodes):
            if member is node:
                return position
        raise ValueError(f"{node!r} is not in this chain")

    @property
    def names(self) -> list[str]:
        """The names of the nodes, in order."""
        return list(self._names)

    def name_of(self, index: int) -> str:
        """The name of the node at ``index``."""
        return self._names[index]

    def _index_of_name(self, name: str) -> int:
        if name in self._names:
            return self._names.index(name)
        close = difflib.get_close_matches(name, self._names, n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ChainError(f"no node named {name!r} in the chain{hint} (names: {', '.join(self._names) or 'none'})")

    def _check_node(self, node: Node, members: set[int] | None = None) -> None:
        if not is_node(node):
            raise TypeError(
                f"a Chain holds soundstage processors and pedalboard plugins, got {type(node).__name__}; "
                "wrap a pedalboard.Pedalboard's plugins in a Chain instead"
            )
        if node is self:
            raise ChainError("a chain cannot contain itself")
        if members is not None and id(node) not in members:
            return
        for position, member in enumerate(self._nodes):
            if member is node:
                raise ChainError(
                    f"this {node_name(node)!r} object is already in the chain at chain[{position}]; "
                    "a node holds streaming state, so add a second instance instead"
                )

    def _unique_name(
        self, node: Node, wanted: str | None, taken: set[str] | None = None, suffixes: dict[str, int] | None = None
    ) -> str:
        """``wanted`` if it is free, else ``base``, ``base_2``, ``base_3``, ... (the first free one).

        ``taken`` and ``suffixes`` (the next suffix to try per base) let a caller
        naming many nodes in a row do it in linear time; names are never freed
        while it does, so starting at the last suffix gives the same names.
        """
        taken = set(self._names) if taken is None else taken
        if wanted is not None:
            if not wanted or "." in wanted or wanted.isdigit():
                raise ChainError(f"node name {wanted!r} must be non-empty, without '.', and not a number")
            if wanted in taken:
                raise ChainError(f"the chain already has a node named {wanted!r}; choose another name")
            return wanted
        base = node_name(node).replace(".", "_").replace(" ", "_").lower() or "node"
        suffix = (suffixes or {}).get(base, 2)
        label = base if base not in taken else f"{base}_{suffix}"
        while label in taken:
            suffix += 1
            label = f"{base}_{suffix}"
        if suffixes is not None and label != base:
            suffixes[base] = suffix + 1
        return label

    def _commit(self, old_nodes: list[Node], old_names: list[str]) -> None:
        """Validate after a modification; roll back and re-raise if it broke the chain."""
        try:
            self.validate()
        except ChannelError:
            self._nodes, self._names = old_nodes, old_names
            raise
        self._steps = None
        self._open = False

    # -- channels ---------------------------------------------------------------
    def validate(self, num_input_channels: int | None = None) -> int | None:
        """Check channel counts through the chain; return the output count (None if it follows the input).

        Raises
        ------
        ChannelError
            Naming the node, its index, the counts and how to route them.
        """
        count = num_input_channels
        source, mono_source = "the chain input", None
        for position, node in enumerate(self._nodes):
            if count is None:
                count = node_input_channels(node)
                if count is None:
                    fixed = getattr(node, "output_channels", None) if isinstance(node, Processor) else None
                    count = fixed if isinstance(fixed, int) else None
                    if count is not None:
                        source = f"{self._names[position]!r} (chain[{position}])"
                    continue
            try:
                count = node_output_channels(node, count)
            except ChannelError as error:
                wanted = node_input_channels(node)
                if wanted is None and not is_pedalboard_plugin(node):
                    raise ChannelError(
                        f"{self._names[position]!r} (chain[{position}]) cannot take {count} channel(s) from {source}: {error}"
                    ) from None
                fix = channel_fix(node, wanted, count)
                if mono_source is not None and wanted is not None and wanted > count:  # a mono plugin on a wider bus
                    fix = f"run {mono_source} once per channel with PerChannel({mono_source}), or {fix}"
                raise ChannelError(
                    f"{self._names[position]!r} (chain[{position}]) takes {describe_channels(node)} channel(s), "
                    f"but gets {count} from {source}; {fix}"
                ) from None
            source = f"{self._names[position]!r} (chain[{position}])"
            mono_source = node_name(node) if node_input_channels(node) == 1 and count == 1 else None
        return count

    @property
    def input_channels(self) -> int | None:  # type: ignore[override]
        """The input channel count the chain requires, or None if it takes any."""
        for node in self._nodes:
            required = node_input_channels(node)
            if required is not None:
                return required
            if isinstance(node, Processor) and isinstance(getattr(node, "output_channels", None), int):
                return None
        return None

    @property
    def output_channels(self) -> int | None:  # type: ignore[override]
        """The output channel count if fixed by the chain, else None (follows the input)."""
        try:
            return self.validate()
        except ChannelError:
            return None

    def output_channels_for(self, num_input_channels: int) -> int:
        count = self.validate(num_input_channels)
        return num_input_channels if count is None else count

    # -- latency and processing ----------------------------------------------
    @property
    def latency_samples(self) -> int:
        """Total latency of the members, in samples, as of the last prepared stream.

        Before the first call it is worked out the same way the stream will be
        built: each run of consecutive pedalboard plugins adds its queue of
        ``PedalboardStep.BLOCK - 1`` samples beside the plugins' reported latency,
        so a streaming user who reads it first gets the figure the stream will
        have (for stages whose latency depends on the sample rate: at the rate
        they were last run at, or their default).
        """
        if self._steps is not None:
            return sum(step.latency for step in self._steps)
        total = 0
        for step in compile_steps(self._nodes):
            if isinstance(step, PedalboardStep):
                total += PedalboardStep.BLOCK - 1
                total += sum(int(getattr(p, "reported_latency_samples", 0) or 0) for p in step.plugins)
            else:
                total += int(step.processor.latency_samples)  # type: ignore[attr-defined]
        return total

    def member_latencies(self) -> list[int]:
        """Latency of each node in samples, as of the last opened stream; they add up to ``latency_samples``.

        A run of consecutive pedalboard plugins shares one queue of
        ``PedalboardStep.BLOCK - 1`` samples (see :class:`~soundstage.host.nodes.PedalboardStep`),
        counted on the first plugin of the run.
        """
        result: list[int] = []
        steps = self._steps or []
        for step in steps:
            if isinstance(step, PedalboardStep):
                reported = [int(getattr(p, "reported_latency_samples", 0) or 0) for p in step.plugins]
                reported[0] += step.latency - sum(reported)
                result.extend(reported)
            else:
                result.append(step.latency)
        return result

    def parameter_delays(self) -> dict[str, int]:
        """How late each parameter's node hears the chain's input, in samples, by parameter path.

        The sum of the latencies of the nodes before it (inside a run of
        pedalboard plugins, the plugins before it; the run's shared queue only
        bounds when changes land, see :class:`~soundstage.host.nodes.PedalboardStep`).
        A change meant for input sample ``t`` is made at ``t`` plus this delay, so
        a node after a latent one changes on the sample it was meant for. As of
        the open stream; empty before one is opened.
        """
        delays: dict[str, int] = {}
        index = 0
        base = 0
        for step in self._steps or []:
            members = step.plugins if isinstance(step, PedalboardStep) else [step.processor]  # type: ignore[attr-defined]
            offset = 0
            for node in members:
                name = self._names[index]
                index += 1
                inner = node.parameter_delays() if isinstance(node, Chain) else {}
                for key in node_parameters(node):
                    delays[f"{name}.{key}"] = base + offset + inner.get(key, 0)
                if isinstance(step, PedalboardStep):
                    offset += int(getattr(node, "reported_latency_samples", 0) or 0)
            base += step.latency
        return delays

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        self.output_channels_for(num_channels)
        steps = compile_steps(self._nodes)
        count = num_channels
        for step in steps:
            count = step.prepare(sample_rate, count)
        self._steps = steps
        self._heard = {}
        nodes, latency = 0, 0
        for index, step in enumerate(steps):
            nodes += len(step.plugins) if isinstance(step, PedalboardStep) else 1
            latency += step.latency
            for tap in self._taps:
                if tap.nodes == nodes:
                    tap._open(latency)
                    self._heard.setdefault(index, []).append(tap)

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        if self._heard:
            for index, step in enumerate(self._steps or ()):
                block = step.process_block(block)
                for tap in self._heard.get(index, ()):
                    tap._hear(block)
            return block
        for step in self._steps or ():
            block = step.process_block(block)
        return block

    def tap(self, nodes: int) -> ChainTap:
        """Gather the output of the chain's first ``nodes`` nodes while it streams (see :class:`ChainTap`).

        Raises ChainError if they end inside a run of pedalboard plugins (the run is one block queue).
        """
        bounds, count = set(), 0
        for step in compile_steps(self._nodes):
            count += len(step.plugins) if isinstance(step, PedalboardStep) else 1
            bounds.add(count)
        if nodes not in bounds:
            raise ChainError(
                f"cannot tap this chain after {nodes} node(s): a tap goes after one of 1..{len(self._nodes)} nodes, "
                "between two nodes that are not both pedalboard plugins"
            )
        if self._open:
            raise ChainError("tap a chain before it streams (or after reset())")
        tap = ChainTap(nodes)
        self._taps.append(tap)
        return tap

    # -- parameters -------------------------------------------------------------
    @property
    def parameters(self) -> dict[str, Parameter]:  # type: ignore[override]
        """Every parameter of every member, by path ``name.parameter`` (nested: ``a.b.parameter``)."""
        view: dict[str, Parameter] = {}
        for name, node in zip(self._names, self._nodes):
            for key, parameter in node_parameters(node).items():
                view[f"{name}.{key}"] = parameter
        return view

    def parameter(self, path: str) -> Parameter:
        """The parameter at ``path``: node name or index, then nested names, then the parameter.

        Examples: ``"limiter.threshold_db"``, ``"2.gain_db"``, ``"bus.trim.gain_db"``.
        """
        head, _, rest = path.partition(".")
        if not rest:
            raise ChainError(f"parameter path {path!r} needs a node and a parameter, e.g. 'gain.gain_db'")
        index = int(head) if head.isdigit() else self._index_of_name(head)
        if not 0 <= index < len(self._nodes):
            raise ChainError(f"parameter path {path!r}: index {index} is outside 0..{len(self._nodes) - 1}")
        node = self._nodes[index]
        if isinstance(node, Chain):
            return node.parameter(rest)
        view = node_parameters(node)
        if rest in view:
            return view[rest]
        close = difflib.get_close_matches(rest, list(view), n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ChainError(
            f"{self._names[index]!r} (chain[{index}]) has no parameter {rest!r}{hint} (parameters: {', '.join(view) or 'none'})"
        )

    def canonical_path(self, path: str) -> str:
        """``path`` with node indices replaced by node names (``"2.gain_db"`` -> ``"trim.gain_db"``).

        Raises :class:`ChainError` as :meth:`parameter` does when nothing is there.
        """
        self.parameter(path)
        head, _, rest = path.partition(".")
        index = int(head) if head.isdigit() else self._index_of_name(head)
        node = self._nodes[index]
        inner = node.canonical_path(rest) if isinstance(node, Chain) else rest
        return f"{self._names[index]}.{inner}"

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={node!r}" for name, node in zip(self._names, self._nodes))
        return f"<Chain [{inner}]>"
