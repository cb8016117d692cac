"""External plugins (VST3, and Audio Units on macOS) through ``pedalboard.load_plugin``.

soundstage loads plugins with pedalboard and adds what a host needs around it:
the file a plugin came from (so a chain file can name it), the channel counts it
accepts (probed once), a precise parameter view, and state save/restore.

Precision: pedalboard's attribute setter (``plugin.gain_db = -12``) snaps to a
1000-step grid; :class:`ExternalParameter` writes ``raw_value`` directly, solving
for the raw value that reads back as the requested value.

Here: loading, what a plugin is and takes (its file, channel counts, the rates an exported one
plays at) and its state; its parameters are :mod:`soundstage.host.plugin_parameters`.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

import numpy as np
import pedalboard

from soundstage import crashes, stalls
from soundstage.errors import ParameterError, PluginError
from soundstage.exported import EmbeddedProgram, exported_program, resampled_rates
from soundstage.files import atomic_path, on_disk
from soundstage.host.parameters import Value
from soundstage.host.plugin_parameters import (
    ExternalParameter,
    ExternalPlugin,
    external_parameters,
    parameter_view,
    parameters_read_after_load,
)
from soundstage.native import keep, messages_dropped, messages_held, release_order_dropped

__all__ = [
    "ExternalParameter",
    "PluginSource",
    "check_plays_at",
    "exported_by_soundstage",
    "external_parameters",
    "is_external",
    "load_plugin",
    "load_vstpreset",
    "plugin_names",
    "plugin_source",
    "restore_state",
    "running",
    "save_vstpreset",
    "saved_state",
    "supported_channel_counts",
]


_SOURCE_ATTRIBUTE = "_soundstage_source"
_PROGRAM_ATTRIBUTE = "_soundstage_program"
_CHANNELS_ATTRIBUTE = "_soundstage_channels"


_PROBE_CHANNELS = (1, 2, 3, 4, 5, 6, 8)


@dataclass(frozen=True)
class PluginSource:
    """Where an external plugin was loaded from."""

    path: Path
    plugin_name: str | None = None


#: What pedalboard loads: a VST3 bundle, or an Audio Unit's on macOS.
_PLUGIN_SUFFIXES = (".vst3", ".component")


def _not_a_plugin(file: Path) -> str | None:
    """Why ``file`` is no plugin pedalboard loads, with what to give instead, or None where it may be one (pedalboard's
    own message says only "unsupported plugin format or scan failure")."""
    bundle = next((parent for parent in file.parents if parent.suffix.lower() in _PLUGIN_SUFFIXES), None)
    if bundle is not None:
        return f"it is inside the plugin bundle {str(bundle)!r}; give the bundle itself"
    suffix = file.suffix.lower()
    other = _built_for_another_system(file) if suffix == ".vst3" else None
    if other:
        here = _SYSTEMS.get(sys.platform, (sys.platform, ""))[0]
        return f"it is built for {other}, not {here}; use the bundle built for this system"
    if suffix in _PLUGIN_SUFFIXES:
        return None
    if suffix in (".lv2", ".clap", ".vst", ".dll", ".so"):
        return (
            f"{suffix} plugins are not hosted (pedalboard hosts VST3, and Audio Units on macOS); "
            "give the plugin's VST3 build (.vst3)"
        )
    what = "a folder" if file.is_dir() else "a file"
    return f"it is {what}, not a plugin bundle; give a VST3 plugin (.vst3, or an Audio Unit's .component on macOS)"


#: sys.platform -> the system's name, and how the folders of a VST3 bundle's Contents holding its binaries end.
_SYSTEMS = {"linux": ("Linux", "-linux"), "win32": ("Windows", "-win"), "darwin": ("macOS", "MacOS")}


def _built_for_another_system(bundle: Path) -> str | None:
    """The system a VST3 bundle holds binaries for when it holds none for this one (``export-plugin --platform
    windows`` on Linux makes such a bundle); None otherwise, or where that cannot be told."""
    contents = bundle / "Contents"
    if not contents.is_dir() or sys.platform not in _SYSTEMS:
        return None
    folders = [folder.name for folder in contents.iterdir() if folder.is_dir()]
    found = {name: any(folder.endswith(mark) for folder in folders) for name, mark in _SYSTEMS.values()}
    here = _SYSTEMS[sys.platform][0]
    if found[here] or not any(found.values()):
        return None
    return " and ".join(name for name, present in found.items() if present)


def is_external(node: object) -> TypeGuard[pedalboard.ExternalPlugin]:
    """True for a VST3 / Audio Unit plugin loaded through pedalboard."""
    return isinstance(node, pedalboard.ExternalPlugin)


def load_plugin(
    path: str | os.PathLike[str],
    *,
    plugin_name: str | None = None,
    parameter_values: dict[str, Value] | None = None,
    expect: str = "effect",
) -> ExternalPlugin:
    """Load a VST3 (or AU) plugin and remember the file it came from.

    Parameters
    ----------
    path : path-like
        The ``.vst3`` bundle (or ``.component`` on macOS).
    plugin_name : str, optional
        Which plugin of a multi-plugin bundle.
    parameter_values : dict, optional
        Real values (in each parameter's unit) set through the precise parameter view.
    expect : {"effect", "instrument", "any"}
        What kind of plugin the caller needs; a mismatch raises.

    Returns
    -------
    pedalboard.ExternalPlugin
        pedalboard's own plugin object, usable in any ``pedalboard.Pedalboard``.

    Raises
    ------
    PluginError
        If the file is missing, cannot be loaded, or is an instrument where an
        effect is expected (or the other way round).

    Examples
    --------
    >>> plugin = load_plugin("Limiter.vst3")          # doctest: +SKIP
    >>> external_parameters(plugin)["ceiling_db"].value = -1.0  # doctest: +SKIP
    """
    file = on_disk(Path(path))
    if not file.exists():
        raise PluginError(f"plugin file {str(file)!r} does not exist; check the path (relative paths start at {os.getcwd()})")
    not_one = _not_a_plugin(file)
    if not_one:
        raise PluginError(f"cannot load plugin {str(file)!r}: {not_one}")
    crashes.doing(f"plugin {str(file)!r} was loading")
    with messages_held():  # what the plugin prints while it loads is dropped if it is refused
        try:
            with parameters_read_after_load(), stalls.watched_plugins(file, f"plugin {str(file)!r}", "loading"):
                plugin: ExternalPlugin = pedalboard.load_plugin(str(file), plugin_name=plugin_name)
        except Exception as error:  # pedalboard raises ImportError/ValueError/RuntimeError here
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]  # "... Errors were:", then why
            reason = " ".join(lines) if lines else type(error).__name__
            raise PluginError(f"cannot load plugin {str(file)!r}: {reason}") from None
        refusal = _refusal(plugin, file, plugin_name, expect)
        if refusal:
            del plugin  # unloaded here, so what it prints then is held with the rest
            gc.collect()  # and where pedalboard's objects hold it in a cycle
            raise PluginError(refusal)
        parameter_view(plugin)  # read as pedalboard reads them when it makes a plugin, the costly ones coarsely
    keep(plugin)  # let go at the end of a command, with what a DPF plugin prints then (soundstage.native)
    object.__setattr__(plugin, _SOURCE_ATTRIBUTE, PluginSource(file.resolve(), plugin_name))
    try:
        object.__setattr__(plugin, _PROGRAM_ATTRIBUTE, exported_program(file))
    except OSError:  # pedalboard has read the plugin; what it holds besides is not needed to run it
        pass
    if parameter_values:
        view = external_parameters(plugin)
        for key, value in parameter_values.items():
            if key not in view:
                raise ParameterError(f"{plugin.name} has no parameter {key!r}; parameters: {', '.join(view)}")
            view[key].value = value
    return plugin


def _refusal(plugin: ExternalPlugin, file: Path, plugin_name: str | None, expect: str) -> str | None:
    """Why a loaded plugin is not the one asked for, or None."""
    if plugin_name is not None and plugin.name.casefold() != plugin_name.casefold():
        # pedalboard picks by name only in a bundle of several plugins; a bundle of one loads it whatever is asked
        return (
            f"plugin {str(file)!r} holds {plugin.name!r}, not {plugin_name!r}: give plugin_name = {plugin.name!r}, "
            "or remove plugin_name (it picks one plugin of a bundle of several)"
        )
    if expect == "effect" and not plugin.is_effect:
        return (
            f"plugin {str(file)!r} ({plugin.name}) is an instrument, but an effect is expected here; "
            "soundstage chains process audio through effects only"
        )
    if expect == "instrument" and not plugin.is_instrument:
        return f"plugin {str(file)!r} ({plugin.name}) is an effect, but an instrument is expected here"
    return None


def plugin_source(plugin: ExternalPlugin) -> PluginSource | None:
    """The file a plugin was loaded from by :func:`load_plugin`, or None."""
    return getattr(plugin, _SOURCE_ATTRIBUTE, None)


def exported_by_soundstage(plugin: ExternalPlugin) -> EmbeddedProgram | None:
    """The program a plugin made by ``soundstage export-plugin`` runs (loaded by :func:`load_plugin`), or None."""
    return getattr(plugin, _PROGRAM_ATTRIBUTE, None)


def check_plays_at(plugin: ExternalPlugin, sample_rate: float) -> None:
    """Raise PluginError where ``plugin`` is one soundstage exported and would play silence at ``sample_rate``."""
    program = exported_by_soundstage(plugin)
    if program is None or program.plays_at(sample_rate):
        return
    source = plugin_source(plugin)
    baked = ",".join(f"{rate:g}" for rate in program.rates)
    wanted = ",".join(f"{rate:g}" for rate in sorted({*program.rates, float(sample_rate)}))
    playing = ", ".join(f"{rate:g}" for rate in sorted({*program.rates, *resampled_rates(program.rates)}))
    raise PluginError(
        f"plugin {str(source.path) if source else plugin.name!r} (made by soundstage export-plugin) is baked for "
        f"{baked} Hz and would play silence at {sample_rate:g} Hz: export it again with --rates {wanted}, or give "
        f"audio at {playing} Hz"
    )


def supported_channel_counts(plugin: ExternalPlugin) -> frozenset[int]:
    """The channel counts the plugin's main bus accepts, probed once and cached on it."""
    cached = getattr(plugin, _CHANNELS_ATTRIBUTE, None)
    if cached is not None:
        return cached
    supported = set()
    with messages_dropped():  # what a plugin says of a layout it is tried in is an answer, not news (ZamTube asserts)
        for channels in _PROBE_CHANNELS:
            try:
                _silence(plugin, channels)
            except Exception:  # pedalboard raises ValueError for an unsupported layout
                continue
            supported.add(channels)
        if supported:  # back in a layout it takes: pedalboard makes the plugin again here, not at the next call
            _silence(plugin, min(supported))
        plugin.reset()
    result = frozenset(supported)
    object.__setattr__(plugin, _CHANNELS_ATTRIBUTE, result)
    return result


def _silence(plugin: ExternalPlugin, channels: int) -> None:
    """One 64-sample block of silence through ``plugin`` in ``channels`` channels at 48 kHz, from a reset."""
    crashes.doing(running([plugin]) or "a plugin was processing")
    with _timed(plugin, "processing one block"):
        plugin.process(np.zeros((channels, 64), np.float32), 48000.0, buffer_size=64, reset=True)


def plugin_names(plugins: list[pedalboard.Plugin]) -> tuple[str, Path] | None:
    """Which of ``plugins`` are external, in words (``plugin 'Limiter' ('/x/Limiter.vst3')``, ``one of the plugins
    'A' (...), 'B' (...)``), and the file of the first; None where none is."""
    named, files = [], []
    for plugin in plugins:
        if is_external(plugin):
            external: ExternalPlugin = plugin
            source = plugin_source(external)
            named.append(f"{external.name!r} ({str(source.path)!r})" if source else repr(external.name))
            files.append(source.path if source else Path(str(external.name)))
    if not named:
        return None
    return (f"plugin {named[0]}" if len(named) == 1 else f"one of the plugins {', '.join(named)}"), files[0]


def _named(plugin: ExternalPlugin) -> str:
    """``plugin 'Limiter' ('/x/Limiter.vst3')``: as :func:`plugin_names` names one."""
    names = plugin_names([plugin])
    return names[0] if names else f"plugin {plugin.name!r}"


def _timed(plugin: ExternalPlugin, doing: str, *, holding: bool = False) -> contextlib.AbstractContextManager[None]:
    """A call into ``plugin`` (``doing``, as a hang says it) timed: :func:`soundstage.stalls.watched_plugins`, or
    where it holds the interpreter lock (``holding``) :func:`soundstage.stalls.watched_holding`."""
    names = plugin_names([plugin])
    if names is None:
        return contextlib.nullcontext()
    return (stalls.watched_holding if holding else stalls.watched_plugins)(names[1], names[0], doing)


def running(plugins: list[pedalboard.Plugin]) -> str | None:
    """Which of ``plugins`` are external, as the end of "the process crashed while ..." (:func:`soundstage.crashes.doing`);
    None where none is."""
    names = plugin_names(plugins)
    return f"{names[0]} was processing" if names else None


def _sync_processor(plugin: ExternalPlugin) -> None:
    """Let parameter changes reach the plugin's audio side before its state is read.

    A VST3 receives parameter changes with the next audio call; until then its
    saved state still holds the old values. Processing a short block of silence
    (after a reset) delivers them. The plugin's audio state is cleared by this.
    """
    counts = supported_channel_counts(plugin)
    channels = min(counts) if counts else 2
    with release_order_dropped():  # a new channel count makes the plugin again: DPF remarks on the old one's release
        _silence(plugin, channels)
        plugin.reset()


def saved_state(plugin: ExternalPlugin) -> str:
    """The plugin's complete state (``raw_state``) as base64 text for a chain file."""
    _sync_processor(plugin)
    return base64.b64encode(bytes(plugin.raw_state)).decode("ascii")


def restore_state(plugin: ExternalPlugin, state: str, *, owner: str) -> None:
    """Restore a state saved by :func:`saved_state`."""
    try:
        data = base64.b64decode(state.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as error:
        raise PluginError(f"{owner}: state is not valid base64 ({error}); re-save the chain to regenerate it") from None
    crashes.doing(f"{_named(plugin)} was restoring its saved state")  # from this frame, which calls into it
    try:
        with release_order_dropped(), _timed(plugin, "restoring its saved state", holding=True):
            plugin.raw_state = data
    except Exception as error:
        raise PluginError(f"{owner}: the plugin rejected the saved state: {error}") from None


def save_vstpreset(plugin: ExternalPlugin, path: str | os.PathLike[str]) -> None:
    """Write the plugin's state as a ``.vstpreset`` file (VST3 only), atomically."""
    _sync_processor(plugin)
    data = getattr(plugin, "preset_data", None)
    if data is None:
        raise PluginError(f"{plugin.name}: only VST3 plugins have .vstpreset data")
    target = Path(path)
    try:
        with atomic_path(target) as temporary:
            temporary.write_bytes(bytes(data))
    except OSError as error:
        raise PluginError(f"cannot write preset {str(target)!r}: {error.strerror or error}") from None


def load_vstpreset(plugin: ExternalPlugin, path: str | os.PathLike[str]) -> None:
    """Load a ``.vstpreset`` file into the plugin.

    A file that is no VST3 preset (a VST2 ``.fxp``, an ``.aupreset``), or a preset of another plugin, is named
    as such: the plugin itself only says it failed.
    """
    source = Path(path)
    if not source.is_file():
        raise PluginError(f"preset file {str(source)!r} does not exist")
    data = source.read_bytes()
    if data[:4] != b"VST3":
        raise PluginError(
            f"{plugin.name}: {str(source)!r} is not a VST3 preset (a .vstpreset starts with 'VST3'; this file with "
            f"{data[:4]!r}): save the preset as .vstpreset from a VST3 host, or the plugin's state with save_chain"
        )
    own = getattr(plugin, "preset_data", None)
    if own is not None and _preset_class(bytes(own)) != _preset_class(data):
        name = re.search(rb'id="PlugInName" value="([^"]*)"', data)  # the Info chunk a DAW writes
        which = f" ({name.group(1).decode('utf-8', 'replace')})" if name else ""
        raise PluginError(
            f"{plugin.name}: preset {str(source)!r} is of another plugin{which}, class {_preset_class(data)}, not "
            f"{plugin.name}'s {_preset_class(bytes(own))}; give it to the stage of the plugin it was saved from"
        )
    crashes.doing(f"{_named(plugin)} was loading the preset {str(source)!r}")  # from this frame, which calls into it
    try:
        with _timed(plugin, f"loading the preset {str(source)!r}", holding=True):
            plugin.preset_data = data
    except Exception as error:
        raise PluginError(f"{plugin.name}: cannot load preset {str(source)!r}: {error}") from None


def _preset_class(data: bytes) -> str:
    """The class ID of a .vstpreset (32 hex characters after 'VST3' and the version: the plugin it is for)."""
    return data[8:40].decode("ascii", "replace")
