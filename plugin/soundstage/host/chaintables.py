"""A chain file's tables as typed schemas (:mod:`soundstage.schema`): each node type's keys, their types and
ranges, checked before anything is built; the file format's version and the keys that name files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator

from soundstage.host.routing import DOWNMIXES
from soundstage.schema import Table

if TYPE_CHECKING:
    pass


__all__ = [
    "FORMAT_VERSION",
    "MAX_CHANNELS",
    "MAX_STAGES",
    "Name",
    "Channels",
    "Values",
    "Stages",
    "ChainFileTable",
    "RouteTable",
    "MixTable",
    "OnChannelsTable",
    "BranchTable",
    "ParallelTable",
    "NestedTable",
    "PluginTable",
    "StageTable",
    "BuiltinTable",
    "FILE_KEYS",
]


#: The chain-file format this version writes and reads.
FORMAT_VERSION = 1
#: The most channels a route may name.
MAX_CHANNELS = 1024
#: The most nodes one chain (or branch) of a file may hold.
MAX_STAGES = 10_000

#: The types the tables share: a node's name, a route's channels, a stage's parameter values, a list of nodes.
Name = Annotated[str, Field(min_length=1, max_length=200)]
Channels = Annotated[list[Annotated[int, Field(ge=0, lt=MAX_CHANNELS)]], Field(min_length=1, max_length=MAX_CHANNELS)]
Values = dict[str, bool | float | str]
Stages = Annotated[list[Any], Field(max_length=MAX_STAGES)]


class ChainFileTable(Table):
    """A whole chain file."""

    format: Literal[1] = 1
    description: Annotated[str, Field(max_length=10_000)] | None = None
    stages: Stages = []


class RouteTable(Table):
    """``type = "route"``: pick or reorder channels."""

    type: Literal["route"]
    name: Name | None = None
    channels: Channels


class MixTable(Table):
    """``type = "mix"``: mix channels through a matrix, or fold a 5.1 / 7.1 bed down to stereo."""

    type: Literal["mix"]
    name: Name | None = None
    matrix: (
        Annotated[
            list[Annotated[list[float], Field(min_length=1, max_length=MAX_CHANNELS)]],
            Field(min_length=1, max_length=MAX_CHANNELS),
        ]
        | None
    ) = None
    downmix: Literal[tuple(DOWNMIXES)] | None = None  # type: ignore[valid-type]


class OnChannelsTable(Table):
    """``type = "on_channels"`` / ``"per_channel"``: run a node on some channels (or once per channel)."""

    type: Literal["on_channels", "per_channel"]
    name: Name | None = None
    channels: Channels | None = None
    stage: dict[str, Any]


class BranchTable(Table):
    """One branch of a ``parallel`` node."""

    stages: Stages = []


class ParallelTable(Table):
    """``type = "parallel"``: branches run side by side and summed."""

    type: Literal["parallel"]
    name: Name | None = None
    branches: Annotated[list[BranchTable], Field(min_length=1, max_length=64)]


class NestedTable(Table):
    """``type = "chain"``: a nested chain."""

    type: Literal["chain"]
    name: Name | None = None
    stages: Stages = []


class PluginTable(Table):
    """``type = "plugin"``: a VST3/AU by path, with its saved state and parameter values."""

    type: Literal["plugin"]
    name: Name | None = None
    path: Annotated[str, Field(min_length=1, max_length=4096)]
    plugin_name: Name | None = None
    state: Annotated[str, Field(max_length=2**28)] | None = None
    preset: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    parameters: Values = {}


class StageTable(Table):
    """A soundstage stage: its type, name, parameter values, and the configuration keys stages take.

    Each stage type accepts the configuration keys it lists in ``config_keys``
    (``Spatializer``: ``device``; ``BinauralMonitor``: ``device``, ``hrtf``,
    ``room``, ``listener_in_room_m``; ...); their types and bounds are declared here once.
    """

    type: Name
    name: Name | None = None
    parameters: Values = {}
    device: Annotated[str, Field(min_length=1, max_length=4096)] | None = None  # a profile name or file
    hrtf: Any = None  # "model" or a SOFA file, or several SOFA files (the first the listener's own): _one_or_more_files
    form: Literal["direct", "rtf"] | None = None
    region: Literal["seat", "region"] | None = None  # the canceller exact at the seat or robust over the region
    region_yaw_deg: Annotated[float, Field(ge=0.0, le=45.0)] | None = None  # the region's extents, +- about the seat
    region_lateral_m: Annotated[float, Field(ge=0.0, le=0.5)] | None = None
    region_fore_aft_m: Annotated[float, Field(ge=0.0, le=0.5)] | None = None
    mode: Literal["beam", "matrix"] | None = None
    room: Annotated[list[Annotated[float, Field(ge=1.0, le=50.0)]], Field(min_length=3, max_length=3)] | None = None
    listener_in_room_m: Annotated[list[Annotated[float, Field(ge=0.0, le=50.0)]], Field(min_length=3, max_length=3)] | None = None
    delays_ms: (
        Annotated[list[Annotated[float, Field(ge=0.0, le=10_000.0)]], Field(min_length=1, max_length=MAX_CHANNELS)] | None
    ) = None

    @field_validator("hrtf")
    @classmethod
    def _one_or_more_files(cls, value: Any) -> Any:
        """A string, or a list of 1 to 16 (one error for both forms; a union would report each branch's)."""

        def text(item: Any) -> bool:
            return isinstance(item, str) and 0 < len(item) <= 4096

        if value is None or text(value) or (isinstance(value, list) and 1 <= len(value) <= 16 and all(map(text, value))):
            return value
        raise ValueError("a head model's name or a SOFA file, or a list of 1 to 16 SOFA files")


class BuiltinTable(Table):
    """``type = "pedalboard.<Name>"``: a pedalboard built-in."""

    type: Name
    name: Name | None = None
    parameters: Values = {}


#: Stage configuration keys that may name a file (a SOFA set, a device profile) instead of a model or device name.
FILE_KEYS = frozenset({"hrtf", "device"})
