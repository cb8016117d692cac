"""soundstage: smart-speaker spatial processing as pedalboard-style processors and chains.

Stages are called exactly like pedalboard plugins, go into a :class:`Chain`
together with pedalboard's built-ins and external VST3/AU plugins, and are saved
to and loaded from TOML chain files.
"""

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
from soundstage.host import (
    ANY,
    Chain,
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
