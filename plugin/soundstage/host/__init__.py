"""The host bridge: Processor, parameters, Chain, routing, external plugins, chain files."""

from soundstage.host.chain import Chain
from soundstage.host.external import load_plugin, load_vstpreset, save_vstpreset
from soundstage.host.parameters import Parameter, ParameterSpec
from soundstage.host.processor import ANY, Processor
from soundstage.host.routing import Mix, OnChannels, Parallel, PerChannel, Route

__all__ = [
    "ANY",
    "Chain",
    "Mix",
    "OnChannels",
    "Parallel",
    "Parameter",
    "ParameterSpec",
    "PerChannel",
    "Processor",
    "Route",
    "load_plugin",
    "load_vstpreset",
    "save_vstpreset",
]
