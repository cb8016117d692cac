"""Routing nodes: change the channel layout between the nodes of a chain.

- :class:`Route` selects, reorders and duplicates channels.
- :class:`Mix` mixes channels through a matrix: a 5.1 or 7.1 bed folded down to
  stereo (ITU-R BS.775), or any matrix given.
- :class:`OnChannels` runs a node on chosen channels only (a stereo-only plugin on
  one pair of a 3-channel stream); the other channels pass, delayed to match.
- :class:`PerChannel` runs one instance of a mono node per channel.
- :class:`Parallel` runs branches on the same input and sums them, each branch
  delayed so all arrive with the latency of the slowest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from soundstage.dsp.delay import DelayLine
from soundstage.errors import ChainError, ChannelError
from soundstage.host.chain import Chain, channel_fix
from soundstage.host.copies import clone_node
from soundstage.host.external import is_external, restore_state, saved_state
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
    sync_parameters,
)
from soundstage.host.parameters import Parameter
from soundstage.host.processor import Processor
from soundstage.native import messages_dropped

__all__ = ["DOWNMIXES", "Mix", "Route", "OnChannels", "PerChannel", "Parallel", "external_plugins"]

_H = float(np.sqrt(0.5))  # -3 dB
#: Fold-downs to stereo (Lo, Ro) by ITU-R BS.775, of the channel orders WAV files and DAWs use (WAVE_FORMAT_EXTENSIBLE
#: and SMPTE ST 2036-2: L R C LFE Ls Rs; 7.1: L R C LFE Lrs Rrs Lss Rss): center and surrounds at -3 dB, the LFE left
#: out (a fold-down for listening; BS.775 leaves it to the engineer).
DOWNMIXES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "5.1": ((1.0, 0.0, _H, 0.0, _H, 0.0), (0.0, 1.0, _H, 0.0, 0.0, _H)),
    "7.1": ((1.0, 0.0, _H, 0.0, _H, 0.0, _H, 0.0), (0.0, 1.0, _H, 0.0, 0.0, _H, 0.0, _H)),
}


def _channel_list(channels: object, *, owner: str) -> list[int]:
    if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence) or not channels:
        raise ChainError(f"{owner}: channels={channels!r} must be a non-empty list of channel indices, e.g. [0, 1]")
    result = []
    for channel in channels:
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or channel < 0:
            raise ChainError(f"{owner}: channels={list(channels)!r}: {channel!r} is not a channel index (0, 1, ...)")
        result.append(int(channel))
    return result


def _step_for(node: Node) -> Step:
    if is_pedalboard_plugin(node):
        return PedalboardStep([node])
    assert isinstance(node, Processor)  # a Node is a Processor or a pedalboard plugin
    return ProcessorStep(node)


def _check_member(node: Node, owner: str) -> None:
    if not is_node(node):
        raise TypeError(f"{owner} wraps a soundstage processor or a pedalboard plugin, got {type(node).__name__}")


class Route(Processor, register=False):
    """Select, reorder or duplicate channels: output channel ``i`` is input ``channels[i]``.

    Parameters
    ----------
    channels : list of int
        Input channel index for each output channel, e.g. ``[1, 0]`` swaps a
        pair, ``[0, 0]`` duplicates mono, ``[0, 1]`` keeps the first two.

    Examples
    --------
    >>> import numpy as np
    >>> Route(channels=[1, 0])(np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]), 48000)[:, 0]
    array([2., 1.], dtype=float32)
    """

    type_name = "route"

    def __init__(self, *, channels: Sequence[int]) -> None:
        super().__init__()
        self._channels = _channel_list(channels, owner="Route")

    @property
    def channels(self) -> list[int]:
        """The input channel feeding each output channel."""
        return list(self._channels)

    @property
    def output_channels(self) -> int:  # type: ignore[override]
        return len(self._channels)

    def output_channels_for(self, num_input_channels: int) -> int:
        needed = max(self._channels) + 1
        if num_input_channels < needed:
            raise ChannelError(
                f"Route(channels={self._channels}) reads channel {needed - 1}, so it needs at least {needed} "
                f"input channels, got {num_input_channels}"
            )
        return len(self._channels)

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        return block[self._channels]

    def _config(self) -> dict[str, Any]:
        return {"channels": list(self._channels)}


class Mix(Processor, register=False):
    """Mix channels through a matrix: output channel ``i`` is the sum over ``j`` of ``matrix[i][j]`` times input ``j``.

    Parameters
    ----------
    matrix : list of lists of float, optional
        One row per output channel, one gain per input channel (linear).
    downmix : str, optional
        Instead of a matrix, a fold-down to stereo of :data:`DOWNMIXES`: ``"5.1"``
        (L R C LFE Ls Rs) or ``"7.1"`` (L R C LFE Lrs Rrs Lss Rss), by ITU-R BS.775.

    Examples
    --------
    >>> import numpy as np
    >>> Mix(matrix=[[0.5, 0.5]])(np.array([[1.0, 1.0, 1.0], [0.0, 2.0, 4.0]]), 48000)[0]
    array([0.5, 1.5, 2.5], dtype=float32)
    """

    type_name = "mix"

    def __init__(self, *, matrix: Sequence[Sequence[float]] | None = None, downmix: str | None = None) -> None:
        super().__init__()
        if (matrix is None) == (downmix is None):
            raise ChainError('Mix: give matrix=[[...], ...] (a row per output channel) or downmix="5.1" / "7.1", one of them')
        if downmix is not None and downmix not in DOWNMIXES:
            raise ChainError(f"Mix: downmix={downmix!r} is not known; give one of {', '.join(map(repr, DOWNMIXES))}")
        rows = DOWNMIXES[downmix] if downmix is not None else matrix
        self._downmix = downmix
        self._matrix = _mix_matrix(rows)

    @property
    def matrix(self) -> list[list[float]]:
        """The gains, a row per output channel and a column per input channel."""
        return self._matrix.tolist()

    @property
    def downmix(self) -> str | None:
        """The fold-down this mix is (a name of :data:`DOWNMIXES`), or None for a matrix given."""
        return self._downmix

    @property
    def input_channels(self) -> int:  # type: ignore[override]
        return int(self._matrix.shape[1])

    @property
    def output_channels(self) -> int:  # type: ignore[override]
        return int(self._matrix.shape[0])

    def output_channels_for(self, num_input_channels: int) -> int:
        needed = int(self._matrix.shape[1])
        if num_input_channels != needed:
            layout = f"a {self._downmix} fold-down" if self._downmix else f"its matrix of {needed} column(s)"
            raise ChannelError(f"Mix ({layout}) takes {needed} input channels, got {num_input_channels}")
        return int(self._matrix.shape[0])

    def _process_block(self, block: np.ndarray) -> np.ndarray:  # the channels are checked once per call, not here
        return np.asarray(self._matrix @ block, dtype=np.float32)

    def _config(self) -> dict[str, Any]:
        return {"downmix": self._downmix} if self._downmix else {"matrix": self.matrix}


def _mix_matrix(rows: object) -> np.ndarray:
    """A mixing matrix from rows of gains: non-empty, rectangular, finite numbers."""
    shown = rows if not isinstance(rows, np.ndarray) else rows.tolist()
    problem = None
    if isinstance(rows, (str, bytes)) or not isinstance(rows, (Sequence, np.ndarray)) or len(rows) == 0:
        problem = "it must be a non-empty list of rows, e.g. [[0.5, 0.5]]"
    elif any(isinstance(row, (str, bytes)) or not isinstance(row, (Sequence, np.ndarray)) or len(row) == 0 for row in rows):
        problem = "each row must be a non-empty list of gains, one per input channel"
    elif len({len(row) for row in rows}) != 1:
        problem = "every row must have one gain per input channel (the rows differ in length)"
    elif any(isinstance(gain, bool) or not isinstance(gain, (int, float, np.number)) for row in rows for gain in row):
        problem = "every gain must be a number"
    if problem is None:
        matrix = np.asarray(rows, dtype=np.float64)
        if np.all(np.isfinite(matrix)):
            return matrix.astype(np.float32)
        problem = "every gain must be finite"
    raise ChainError(f"Mix: matrix={shown!r}: {problem}")


class OnChannels(Processor, register=False):
    """Run ``node`` on ``channels`` only; the other channels pass through, delayed to match.

    Parameters
    ----------
    node : processor or pedalboard plugin
        Must take ``len(channels)`` channels and return as many.
    channels : list of int
        Which input channels feed the node (its outputs go back to the same places).

    Examples
    --------
    >>> import pedalboard
    >>> OnChannels(pedalboard.Gain(gain_db=-6.0), channels=[2])  # doctest: +ELLIPSIS
    <on_channels channels=[2] node=...>
    """

    type_name = "on_channels"

    def __init__(self, node: Node, *, channels: Sequence[int]) -> None:
        super().__init__()
        _check_member(node, "OnChannels")
        self._channels = _channel_list(channels, owner="OnChannels")
        if len(set(self._channels)) != len(self._channels):
            raise ChainError(f"OnChannels: channels={self._channels} lists a channel twice")
        self.node = node
        width = len(self._channels)
        try:
            out = node_output_channels(node, width)
        except ChannelError:
            raise ChannelError(
                f"OnChannels(channels={self._channels}) gives {width} channel(s) to {node_name(node)!r}, "
                f"which takes {describe_channels(node)}; {channel_fix(node, node_input_channels(node), width)}"
            ) from None
        if out != width:
            raise ChannelError(
                f"OnChannels: {node_name(node)!r} turns {width} channel(s) into {out}; OnChannels needs a node "
                "that keeps the channel count (use Parallel or Route to change it)"
            )
        self._step: Step | None = None
        self._bypass: DelayLine | None = None

    @property
    def channels(self) -> list[int]:
        """The channels the node runs on."""
        return list(self._channels)

    def output_channels_for(self, num_input_channels: int) -> int:
        if max(self._channels) >= num_input_channels:
            raise ChannelError(
                f"OnChannels(channels={self._channels}) needs at least {max(self._channels) + 1} input channels, "
                f"got {num_input_channels}"
            )
        return num_input_channels

    @property
    def latency_samples(self) -> int:
        return self._step.latency if self._step is not None else 0

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        self._step = _step_for(self.node)
        self._step.prepare(sample_rate, len(self._channels))
        self._bypass = DelayLine(num_channels, self._step.latency)

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        assert self._step is not None and self._bypass is not None
        out = np.array(self._bypass.process(block), dtype=np.float32, copy=True)
        out[self._channels] = self._step.process_block(np.ascontiguousarray(block[self._channels]))
        return out

    @property
    def parameters(self) -> dict[str, Parameter]:  # type: ignore[override]
        return node_parameters(self.node)

    def _config(self) -> dict[str, Any]:
        return {"channels": list(self._channels), "node": self.node}


class PerChannel(Processor, register=False):
    """Run one instance of a mono ``node`` on each of ``channels`` (all channels by default).

    The node you pass is the first instance and the parameter view; the others
    are copies (external plugins are loaded again and given its state) that follow
    its parameter values at every block.

    Parameters
    ----------
    node : processor or pedalboard plugin
        Must take and return one channel.
    channels : list of int, optional
        Channels to process; the rest pass through, delayed to match.
    """

    type_name = "per_channel"

    def __init__(self, node: Node, *, channels: Sequence[int] | None = None) -> None:
        super().__init__()
        _check_member(node, "PerChannel")
        self._channels = None if channels is None else _channel_list(channels, owner="PerChannel")
        try:
            out = node_output_channels(node, 1)
        except ChannelError:
            raise ChannelError(
                f"PerChannel runs {node_name(node)!r} on one channel at a time, but it takes "
                f"{describe_channels(node)} channel(s); use OnChannels for a multichannel node"
            ) from None
        if out != 1:
            raise ChannelError(f"PerChannel: {node_name(node)!r} turns 1 channel into {out}; it must return 1")
        self.node = node
        self._copies: list[Node] = []
        self._steps: list[Step] = []
        self._targets: list[int] = []
        self._align: list[DelayLine] = []
        self._bypass: DelayLine | None = None

    @property
    def channels(self) -> list[int] | None:
        """The channels processed (None: all)."""
        return None if self._channels is None else list(self._channels)

    def output_channels_for(self, num_input_channels: int) -> int:
        if self._channels is not None and max(self._channels) >= num_input_channels:
            raise ChannelError(
                f"PerChannel(channels={self._channels}) needs at least {max(self._channels) + 1} input channels, "
                f"got {num_input_channels}"
            )
        return num_input_channels

    @property
    def latency_samples(self) -> int:
        return max((step.latency for step in self._steps), default=0)

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        self._targets = list(range(num_channels)) if self._channels is None else list(self._channels)
        made_before = len(self._copies)  # the copies made now hold the original's state as it is
        while len(self._copies) < len(self._targets) - 1:
            self._copies.append(clone_node(self.node))
        copies = self._copies[: len(self._targets) - 1]
        if is_external(self.node):
            state = saved_state(self.node)
            with messages_dropped():  # what a copy says of its state, its original said as it loaded (ZamAutoSat)
                for twin in copies[:made_before]:
                    restore_state(twin, state, owner=node_name(self.node))
        sync_parameters(self.node, copies)
        instances = [self.node, *copies]
        self._steps = [_step_for(instance) for instance in instances]
        for step in self._steps:
            step.prepare(sample_rate, 1)
        latency = self.latency_samples
        self._align = [DelayLine(1, latency - step.latency) for step in self._steps]
        self._bypass = DelayLine(num_channels, latency)

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        assert self._bypass is not None
        sync_parameters(self.node, self._copies[: len(self._targets) - 1])
        out = np.array(self._bypass.process(block), dtype=np.float32, copy=True)
        for channel, step, align in zip(self._targets, self._steps, self._align):
            out[channel] = align.process(step.process_block(np.ascontiguousarray(block[channel : channel + 1])))[0]
        return out

    @property
    def parameters(self) -> dict[str, Parameter]:  # type: ignore[override]
        return node_parameters(self.node)

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"node": self.node}
        if self._channels is not None:
            config["channels"] = list(self._channels)
        return config


class Parallel(Processor, register=False):
    """Run several branches on the same input and sum their outputs.

    Each branch is a node or a list of nodes (made into a :class:`Chain`). The
    branches must give the same number of output channels; each is delayed so
    that all arrive with the latency of the slowest branch.

    Examples
    --------
    >>> import numpy as np
    >>> from soundstage import Gain
    >>> dry_wet = Parallel([[Gain(gain_db=-6.0)], [Gain(gain_db=-6.0)]])
    >>> round(float(dry_wet(np.ones(100), 48000)[0, -1]), 3)
    1.002
    """

    type_name = "parallel"

    def __init__(self, branches: Iterable[Node]) -> None:
        super().__init__()
        made: list[Chain] = []
        for branch in branches:
            if isinstance(branch, Chain):
                made.append(branch)
            elif isinstance(branch, (list, tuple)):
                made.append(Chain(branch))
            else:
                _check_member(branch, "Parallel")
                made.append(Chain([branch]))
        if not made:
            raise ChainError("Parallel needs at least one branch")
        self.branches = made
        self._steps: list[Step] = []
        self._align: list[DelayLine] = []

    def output_channels_for(self, num_input_channels: int) -> int:
        counts = []
        for index, branch in enumerate(self.branches):
            try:
                counts.append(branch.output_channels_for(num_input_channels))
            except ChannelError as error:
                raise ChannelError(f"Parallel branch {index}: {error}") from None
        if len(set(counts)) != 1:
            raise ChannelError(
                f"Parallel branches give different channel counts {counts} for {num_input_channels} input(s); "
                "end each branch with Route(...) so they match"
            )
        return counts[0]

    @property
    def latency_samples(self) -> int:
        return max((step.latency for step in self._steps), default=0)

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        self._steps = [ProcessorStep(branch) for branch in self.branches]
        outputs = [step.prepare(sample_rate, num_channels) for step in self._steps]
        latency = self.latency_samples
        self._align = [DelayLine(out, latency - step.latency) for out, step in zip(outputs, self._steps)]

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        total: np.ndarray | None = None
        for step, align in zip(self._steps, self._align):
            out = align.process(step.process_block(block))
            total = out.astype(np.float32, copy=True) if total is None else total + out
        assert total is not None
        return total

    @property
    def parameters(self) -> dict[str, Parameter]:  # type: ignore[override]
        view: dict[str, Parameter] = {}
        for index, branch in enumerate(self.branches):
            for path, parameter in branch.parameters.items():
                view[f"{index}.{path}"] = parameter
        return view

    def _config(self) -> dict[str, Any]:
        return {"branches": self.branches}


def external_plugins(node: Any) -> list[Any]:
    """Every external plugin (VST3, Audio Unit) in ``node`` at any depth: a chain's stages, a routing node's."""
    if is_external(node):
        return [node]
    children: list[Any] = []
    if isinstance(node, Chain):
        children = list(node)
    elif isinstance(node, (OnChannels, PerChannel)):
        children = [node.node]
    elif isinstance(node, Parallel):
        children = list(node.branches)
    return [plugin for child in children for plugin in external_plugins(child)]
