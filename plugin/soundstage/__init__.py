"""soundstage: smart-speaker spatial processing as pedalboard-style processors and chains.

Stages are called exactly like pedalboard plugins, go into a :class:`Chain`
together with pedalboard's built-ins and external VST3/AU plugins, and are saved
to and loaded from TOML chain files.
"""

import importlib
from typing import TYPE_CHECKING, Any

from soundstage.errors import (
    AudioFileError,
    AudioInputError,
    ChainError,
    ChainFileError,
    ChannelError,
    OutputError,
    ParameterError,
    PluginError,
    SoundstageError,
    StreamError,
)

if TYPE_CHECKING:  # the names below load on first use (PEP 562), so `soundstage --help` starts fast
    from soundstage.host import (
        ANY,
        Chain,
        Mix,
        OnChannels,
        Parallel,
        Parameter,
        ParameterSpec,
        PerChannel,
        Processor,
        Route,
        load_plugin,
        load_vstpreset,
        save_vstpreset,
    )
    from soundstage.host.chainfile import load_chain, save_chain
    from soundstage.stages import (
        Align,
        Beamformer,
        BinauralMonitor,
        CrosstalkCanceller,
        Gain,
        Spatializer,
        StereoReference,
        TargetCurve,
        Upmix,
        Virtualizer,
        design_alignment,
        design_beamformer,
        design_crosstalk_canceller,
        design_monitor,
        design_virtualizer,
    )

#: Where the lazily loaded names of ``__all__`` live (the TYPE_CHECKING block above names them).
#: Loading any of them loads the stages too, so a chain file can name every built-in stage type
#: whichever name was asked for first.
_LAZY_MODULES = ("soundstage.host", "soundstage.host.chainfile", "soundstage.stages")


def __getattr__(name: str) -> Any:
    if name in __all__:
        importlib.import_module("soundstage.stages")
        for module in map(importlib.import_module, _LAZY_MODULES):
            if hasattr(module, name):
                value = getattr(module, name)
                globals()[name] = value
                return value
    raise AttributeError(f"module 'soundstage' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"

__all__ = [
    "ANY",
    "Align",
    "AudioFileError",
    "Beamformer",
    "BinauralMonitor",
    "CrosstalkCanceller",
    "StereoReference",
    "TargetCurve",
    "Upmix",
    "Virtualizer",
    "design_alignment",
    "design_beamformer",
    "design_crosstalk_canceller",
    "design_monitor",
    "design_virtualizer",
    "AudioInputError",
    "Chain",
    "ChainError",
    "ChainFileError",
    "ChannelError",
    "Gain",
    "Mix",
    "OnChannels",
    "OutputError",
    "Parallel",
    "Parameter",
    "ParameterError",
    "ParameterSpec",
    "PerChannel",
    "PluginError",
    "Processor",
    "Route",
    "SoundstageError",
    "Spatializer",
    "StreamError",
    "load_chain",
    "load_plugin",
    "load_vstpreset",
    "save_chain",
    "save_vstpreset",
]
