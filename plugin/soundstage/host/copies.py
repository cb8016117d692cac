"""Copies of pedalboard's plugins: ``copy.deepcopy`` and ``pickle`` of the plugins a chain holds.

pedalboard's plugins are C++ objects pickle cannot take ("cannot pickle
'pedalboard_native.Compressor' object"), and ``copy.deepcopy`` goes through
pickle's protocol. So a chain holding one could not be copied (``PerChannel``
copies its node once per channel: a dual-mono compressor and limiter stopped
with that traceback), pickled, or sent to another process (``multiprocessing``,
``concurrent.futures``, dask). This module tells :mod:`copyreg` how to make each
again: one of the built-ins soundstage keeps a table for from its parameter
values, an external plugin from its file and its complete state. Importing
soundstage registers them, so pedalboard's own objects of those classes copy
and pickle too.

A copy holds the parameters, not the audio inside the plugin (delay lines,
envelopes): it plays as the original does after ``reset()``. An external plugin
is loaded again from its file, which must be at the same path where the copy is
made (another machine of a cluster: the same install path).
"""

from __future__ import annotations

import copy
import copyreg
from pathlib import Path
from typing import Any

import pedalboard

from soundstage.errors import PluginError
from soundstage.host.builtins import BUILTIN_RANGES, builtin_specs, native_name
from soundstage.host.external import ExternalPlugin, load_plugin, plugin_source, restore_state, saved_state
from soundstage.host.nodes import Node
from soundstage.native import messages_dropped

__all__ = ["clone_node", "remade_builtin", "remade_external"]


def remade_builtin(class_name: str, values: dict[str, Any]) -> pedalboard.Plugin:
    """The built-in ``pedalboard.<class_name>`` holding ``values`` (pedalboard's attribute names)."""
    plugin = getattr(pedalboard, class_name)()
    for attribute, value in values.items():
        setattr(plugin, attribute, value)
    return plugin


def remade_external(path: str, plugin_name: str | None, state: str) -> ExternalPlugin:
    """The plugin at ``path`` loaded again, with its saved ``state`` (base64 of ``raw_state``). What it prints as it
    loads is dropped: its original said it already, as it loaded (ZamAutoSat asserts each time)."""
    with messages_dropped():
        plugin = load_plugin(path, plugin_name=plugin_name)
        restore_state(plugin, state, owner=f"{plugin.name} (a copy of the plugin loaded from {path!r})")
    return plugin


def _reduce_builtin(plugin: pedalboard.Plugin) -> tuple[Any, tuple[str, dict[str, Any]]]:
    name = type(plugin).__name__
    values = {native_name(spec.name): getattr(plugin, native_name(spec.name)) for spec in builtin_specs(name)}
    return remade_builtin, (name, values)


def _reduce_external(plugin: ExternalPlugin) -> tuple[Any, tuple[str, str | None, str]]:
    source = plugin_source(plugin)
    if source is None:
        raise PluginError(
            f"{plugin.name} was loaded with pedalboard.load_plugin, which keeps no record of its file, so soundstage "
            "cannot load a copy of it (to copy or pickle a chain, or to run it per channel); "
            "load it with soundstage.load_plugin(path) instead"
        )
    return remade_external, (str(Path(source.path)), source.plugin_name, saved_state(plugin))


def clone_node(node: Node) -> Node:
    """An independent copy of a chain's node with the same parameters (for per-channel instances)."""
    return copy.deepcopy(node)


def _reduce_board(board: pedalboard.Pedalboard) -> tuple[Any, tuple[list[pedalboard.Plugin]]]:
    return pedalboard.Pedalboard, (list(board),)


def _register() -> None:
    copyreg.pickle(pedalboard.Pedalboard, _reduce_board)  # a chain runs its consecutive plugins as one board
    for name in BUILTIN_RANGES:
        copyreg.pickle(getattr(pedalboard, name), _reduce_builtin)
    for name in ("VST3Plugin", "AudioUnitPlugin"):  # the Audio Unit host is there on macOS only
        if hasattr(pedalboard, name):
            copyreg.pickle(getattr(pedalboard, name), _reduce_external)


_register()
