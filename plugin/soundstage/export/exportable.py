"""What a plugin can hold: the stages and pedalboard built-ins the native engine runs, a chain checked for them (every
routing node's inner stages too, and how deep they nest), the channels it takes and gives, and whether its program
depends on the sample rate."""

from __future__ import annotations

from typing import Any

from soundstage.errors import ChainError, SoundstageError
from soundstage.exported import MAX_CHANNELS
from soundstage.host.builtins import is_builtin
from soundstage.host.chain import Chain
from soundstage.host.nodes import Node, node_input_channels, node_output_channels, node_type
from soundstage.host.processor import Processor
from soundstage.host.routing import Mix, OnChannels, Parallel, PerChannel, Route
from soundstage.stages.align import Align
from soundstage.stages.gain import Gain

__all__ = [
    "BUILTIN_KINDS",
    "EXPORTABLE",
    "MAX_DEPTH",
    "branch_nodes",
    "check_chain",
    "check_channels",
    "inner_nodes",
    "plugin_input_channels",
    "rate_free",
]

#: The pedalboard built-ins a plugin holds, in builtins.hpp's BuiltinOp::Kind order (their knobs in
#: builtins.BUILTIN_RANGES order): every one soundstage knows.
BUILTIN_KINDS = (
    "Gain",
    "Invert",
    "Clipping",
    "HighpassFilter",
    "LowpassFilter",
    "HighShelfFilter",
    "LowShelfFilter",
    "PeakFilter",
    "Compressor",
    "Limiter",
    "NoiseGate",
    "Distortion",
    "Bitcrush",
    "Delay",
    "Reverb",
    "Chorus",
    "Phaser",
    "LadderFilter",
)
#: The deepest routing nodes may nest (routing.hpp's kMaxDepth).
MAX_DEPTH = 16
#: The stages a plugin can hold (StereoReference is a BinauralMonitor).
EXPORTABLE = (
    "Spatializer",
    "Upmix",
    "Virtualizer",
    "CrosstalkCanceller",
    "Beamformer",
    "Align",
    "BinauralMonitor",
    "StereoReference",
    "Gain",
    "route",
    "mix",
    "on_channels",
    "per_channel",
    "parallel",
    "chain",
    *(f"pedalboard.{kind}" for kind in BUILTIN_KINDS),
)


def check_chain(chain: Chain, source: str) -> list[tuple[str, Node]]:
    """The chain's stages with their names; a one-line :class:`ChainError` names any stage a plugin cannot hold (a
    routing node's inner stages too, by the path their parameters have)."""
    stages = []
    for name, node in zip(chain.names, chain, strict=True):
        stages.append((name, _check_node(name, node, source, 0)))
    if not stages:
        raise ChainError(f"{source}: the chain has no stages; nothing to export")
    return stages


def branch_nodes(name: str, index: int, branch: Chain) -> list[tuple[str, Node]]:
    """The nodes of a parallel's branch ``index``, named by the path their parameters have (``blend.1.room``)."""
    return [(f"{name}.{index}.{inner}", member) for inner, member in zip(branch.names, branch, strict=True)]


def inner_nodes(name: str, node: Any) -> list[tuple[str, Node]]:
    """The nodes a routing node holds, named by the path their parameters have."""
    if isinstance(node, Chain):
        return [(f"{name}.{inner}", member) for inner, member in zip(node.names, node, strict=True)]
    if isinstance(node, (OnChannels, PerChannel)):
        return [(name, node.node)]
    if isinstance(node, Parallel):
        return [named for index, branch in enumerate(node.branches) for named in branch_nodes(name, index, branch)]
    return []


def _check_node(name: str, node: Any, source: str, depth: int) -> Node:
    """``node``, once it and every node it holds is one a plugin can hold."""
    kind = (
        "chain" if isinstance(node, Chain) else node_type(node) if isinstance(node, Processor) or is_builtin(node) else "plugin"
    )
    if not (isinstance(node, Processor) or is_builtin(node)) or kind not in EXPORTABLE:
        raise ChainError(
            f"{source}: stage {name!r} ({kind}) cannot go into a plugin; export-plugin takes "
            f"{', '.join(EXPORTABLE)} (put other plugins beside it in the DAW)"
        )
    inner = inner_nodes(name, node)
    if inner and depth + 1 > MAX_DEPTH:
        raise ChainError(f"{source}: stage {name!r} nests routing nodes more than {MAX_DEPTH} deep; a plugin holds {MAX_DEPTH}")
    for inner_name, member in inner:
        _check_node(inner_name, member, source, depth + (0 if isinstance(node, Chain) else 1))
    return node


def rate_free(node: Any) -> bool:
    """True if ``node`` holds no design made for one sample rate: a pedalboard built-in, Gain, mix, route, or a
    routing node (or chain) of such nodes. The engine computes what these need at the session's rate."""
    if is_builtin(node) or isinstance(node, (Gain, Mix, Route)):
        return True
    inner = inner_nodes("", node)
    return bool(inner) and all(rate_free(member) for _, member in inner)


def plugin_input_channels(first: Any) -> int:
    """The plugin's input count, from its first stage: what the stage takes (a Beamformer: mono; a Mix: its matrix's
    columns), one per delay of an Align, up to the highest channel a Route reads; else stereo."""
    wanted = node_input_channels(first)
    if isinstance(wanted, int) and wanted > 0:
        return wanted
    if isinstance(first, Align):  # one channel per delay
        return len(first.delays_ms)
    if isinstance(first, Route):  # the channels it reads
        return max(first.channels) + 1
    return 2


def check_channels(stages: list[tuple[str, Any]], input_channels: int, source: str) -> None:
    """Refuse a chain whose stages do not take the channels the one before gives, or that gives more than a plugin
    carries, naming the stage."""
    channels = input_channels
    for name, stage in stages:
        try:
            channels = node_output_channels(stage, channels)  # a channel mismatch fails here, in the stage's words
        except SoundstageError as error:
            raise ChainError(f"{source}: stage {name!r}: {error}") from None
        if channels > MAX_CHANNELS:
            raise ChainError(f"{source}: stage {name!r} gives {channels} channels; a plugin carries at most {MAX_CHANNELS}")
