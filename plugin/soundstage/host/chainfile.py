"""Chain files: TOML descriptions of chains, loaded and saved losslessly.

A chain file is data only. Node types are looked up in fixed tables (soundstage's
stages, the routing nodes, the supported pedalboard built-ins, ``plugin`` for
external plugins); nothing in a file is ever evaluated. Example::

    format = 1
    description = "Mastering bus"

    [[stages]]
    type = "pedalboard.HighpassFilter"
    name = "rumble"
    parameters = { cutoff_frequency_hz = 25.0 }

    [[stages]]
    type = "plugin"                      # a VST3 / AU, path relative to this file
    path = "plugins/Limiter.vst3"
    state = "VkMyIe..."                  # base64 raw_state, written by save_chain
    parameters = { ceiling_db = -1.0 }   # applied after the state

    [[stages]]
    type = "on_channels"                 # routing: run a stereo node on two channels
    channels = [0, 1]
    stage = { type = "Gain", parameters = { gain_db = -3.0 } }

A stage's ``hrtf`` and ``device`` may name files (a SOFA set, a device profile): like a
plugin's path, a relative one is taken from the chain file's folder when the file is
there, and ``~`` is the home folder; ``save_chain`` writes them relative to the file
they are saved in when they live below it.

Other node tables: ``{type = "route", channels = [...]}``, ``{type = "mix", downmix = "5.1"}`` (or
``matrix = [[...], ...]``, a row of gains per output channel),
``{type = "per_channel", channels = [...], stage = {...}}``,
``{type = "parallel", branches = [{stages = [...]}, ...]}`` and
``{type = "chain", stages = [...]}`` for a nested chain.

Here: finding and loading chain files and building chains from their tables. The tables'
schemas are :mod:`soundstage.host.chaintables`; writing a chain is :mod:`soundstage.host.chainsave`.
"""

from __future__ import annotations

import copy
import difflib
import importlib.resources
import os
import re
import shlex
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from soundstage.acoustics.hrtf import HEAD_MODELS
from soundstage.errors import ChainError, ChainFileError, SoundstageDeprecationWarning, SoundstageError
from soundstage.exported import exported_program
from soundstage.files import missing_hint, on_disk, referenced_path, windows_hint
from soundstage.host.builtins import BUILTIN_RANGES, DEPRECATED_KEYS, builtin_specs, make_builtin
from soundstage.host.chain import Chain
from soundstage.host.external import (
    external_parameters,
    load_plugin,
    load_vstpreset,
    restore_state,
)
from soundstage.host.nodes import Node
from soundstage.host.processor import Processor, stage_types
from soundstage.host.routing import Mix, OnChannels, Parallel, PerChannel, Route
from soundstage.schema import validate
from soundstage.tomlfile import read_toml

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable
from soundstage.host.chainsave import chain_to_dict, save_chain
from soundstage.host.chaintables import (
    FILE_KEYS,
    FORMAT_VERSION,
    BuiltinTable,
    ChainFileTable,
    MixTable,
    NestedTable,
    OnChannelsTable,
    ParallelTable,
    PluginTable,
    RouteTable,
    StageTable,
)

__all__ = [
    "FORMAT_VERSION",
    "NoHeadStageError",
    "chain_from_dict",
    "chain_to_dict",
    "find_chain",
    "head_setting",
    "load_chain",
    "preset_names",
    "save_chain",
    "with_head",
    "MAX_DEPTH",
    "chain_text",
]


_ROUTING_TYPES = ("route", "mix", "on_channels", "per_channel", "parallel", "chain")
#: The deepest nesting of routing tables a file may have.
MAX_DEPTH = 32


@dataclass
class _Context:
    file: str
    base: Path
    stages: dict[str, type[Processor]]

    def error(self, key: str, message: str) -> ChainFileError:
        return ChainFileError(f"{self.file}: {key}: {message}")


# -- presets ----------------------------------------------------------------------


def _preset_folder() -> Traversable:
    """The chain presets shipped in the package (``chains/`` of a checkout, as ``soundstage.presets``)."""
    return importlib.resources.files("soundstage.presets")


def preset_names() -> list[str]:
    """The names of the chain presets that ship with soundstage (``studio-5``, ``mastering``, ...)."""
    return sorted(entry.name.removesuffix(".toml") for entry in _preset_folder().iterdir() if entry.name.endswith(".toml"))


#: What plugins are (bundles and binaries): given where a chain file is asked for, they are said as plugins.
_PLUGIN_SUFFIXES = (".vst3", ".component", ".clap", ".lv2", ".vst", ".dll", ".so", ".dylib")


def _plugin_not_chain(path: Path) -> str:
    """The error for a plugin given as a chain file: the chain file soundstage made it from, if it did; else how to
    put it in a chain file."""
    said = f"chain file {str(path)!r} is a plugin, not a chain file"
    try:
        made = exported_program(path) is not None or (path.suffix.lower() == ".lv2" and (path / "chain.toml").is_file())
    except OSError:
        made = False
    if made:
        command = f"soundstage plugin chain {shlex.quote(str(path))} -o chain.toml"
        return f"{said}; soundstage made it from one, which `{command}` writes out"
    if path.suffix.lower() in (".vst3", ".component"):
        return f'{said}; put it in one as a stage: [[stages]] type = "plugin", path = "{path.as_posix()}"'
    return f"{said} (a chain's plugin stages are VST3 plugins, and Audio Units on macOS)"


def find_chain(name: str | os.PathLike[str]) -> Path:
    """A chain file: ``name`` itself if it is a path, else the preset of that name.

    A name with a ``/``, a ``.toml`` suffix, or that exists as a file is a path;
    anything else is looked up among :func:`preset_names`.

    Raises
    ------
    ChainFileError
        For a name that is neither a file nor a preset; the message lists the presets.
    """
    path = on_disk(Path(name))
    text = str(name)
    if path.exists() and path.suffix.lower() in _PLUGIN_SUFFIXES:
        raise ChainFileError(_plugin_not_chain(path))
    if path.exists() or path.suffix == ".toml" or "/" in text or os.sep in text:
        named = [preset for preset in preset_names() if preset.casefold() == path.stem.casefold()]  # "Mastering.toml"
        presets_folder = path.parent == Path(".") or path.parent.as_posix() == "chains"  # as the repository lays them
        if not path.exists() and presets_folder and named and not missing_hint(path):
            raise ChainFileError(
                f"chain file {text!r} does not exist here; for the preset of that name, give its name: {named[0]!r}"
            )
        return path
    preset = _preset_folder().joinpath(f"{text}.toml")
    if preset.is_file():
        return Path(str(preset))
    close = difflib.get_close_matches(text, preset_names(), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ChainFileError(f"no chain file {text!r} and no preset of that name{hint} (presets: {', '.join(preset_names())})")


# -- loading ----------------------------------------------------------------------


def load_chain(
    path: str | os.PathLike[str],
    *,
    stages: Mapping[str, type[Processor]] | None = None,
    hrtf: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
) -> Chain:
    """Build the chain a chain file describes.

    Parameters
    ----------
    path : path-like
        The ``.toml`` chain file, or the name of a preset that ships with
        soundstage (``"studio-5"``; see :func:`preset_names`). Plugin and preset
        paths in it are relative to it.
    stages : mapping, optional
        Stage types (type name -> Processor subclass) to use beside the registered
        ones (:func:`~soundstage.host.processor.stage_types`: soundstage's stages and
        every Processor subclass defined so far), e.g. under other names.
    hrtf : path-like or list of them, optional
        The listener's own head (SOFA files, or a head model's name) for every stage of
        the chain that designs or listens on a head (:func:`with_head`): a preset made
        personal, the device's design and its binaural preview on the same head.

    Raises
    ------
    ChainFileError
        Naming the file, the key (``stages[2].parameters.gain_db``), the value and
        what is allowed; also for a missing or unreadable file.
    """
    file = find_chain(path)
    data = read_toml(file, ChainFileError, "chain file")
    if hrtf is not None:
        data = with_head(data, hrtf, source=str(file), stages=stages)
    return chain_from_dict(data, source=str(file), base=file.resolve().parent, stages=stages)


def chain_text(
    path: str | os.PathLike[str], *, hrtf: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None
) -> str:
    """The text of the chain file ``path`` (a preset's name too): as it is, or with ``hrtf`` on every stage that takes
    a head (:func:`with_head`), written out, for what keeps a chain's text (an exported plugin's state)."""
    file = find_chain(path)
    if hrtf is None:
        return file.read_text(encoding="utf-8")
    data = with_head(read_toml(file, ChainFileError, "chain file"), hrtf, source=str(file))
    return f"# soundstage chain file: {file.name} on the head {head_setting(hrtf)!r}\n" + tomli_w.dumps(data)


class NoHeadStageError(ChainFileError):
    """A head was given for a chain none of whose stages takes one."""


def head_setting(hrtf: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], base: Path | None = None) -> str | list[str]:
    """A stage's ``hrtf`` setting for a head given from outside a chain file: head models' names as they are,
    files absolute against ``base`` (default: the working folder, as given on a command line), ``~`` expanded;
    one file or model as a string, several as a list."""
    items = [hrtf] if isinstance(hrtf, (str, os.PathLike)) else list(hrtf)
    texts = [os.fspath(item) for item in items]
    values = [text if text in HEAD_MODELS else str(referenced_path(text, base or Path.cwd())) for text in texts]
    return values[0] if len(values) == 1 else values


def with_head(
    data: Mapping[str, Any],
    hrtf: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    source: str = "<chain>",
    stages: Mapping[str, type[Processor]] | None = None,
) -> dict[str, Any]:
    """Chain-file contents with ``hrtf`` (:func:`head_setting`) set on every stage that takes one (its type has an
    ``hrtf`` setting: the Spatializer, CrosstalkCanceller, Virtualizer, BinauralMonitor and StereoReference),
    nested chains, branches and wrapped stages included.

    Raises
    ------
    NoHeadStageError
        When no stage of the chain takes a head: the head would change nothing.
    """
    known = stage_types()
    known.update(stages or {})
    value = head_setting(hrtf)
    result = copy.deepcopy(dict(data))
    changed = 0

    def visit(table: Any) -> None:
        nonlocal changed
        if isinstance(table, list):
            for item in table:
                visit(item)
        elif isinstance(table, dict):
            kind = known.get(str(table.get("type", "")))
            if kind is not None and "hrtf" in getattr(kind, "config_keys", ()):
                table["hrtf"] = value
                changed += 1
            for key in ("stages", "branches", "stage"):
                if key in table:
                    visit(table[key])

    visit(result.get("stages", []))
    if not changed:
        raise NoHeadStageError(
            f"{source}: no stage takes a head (hrtf = {value!r}): the chain has no Spatializer, CrosstalkCanceller, "
            "Virtualizer, BinauralMonitor or StereoReference; give the head to a chain that has one"
        )
    return result


def chain_from_dict(
    data: Mapping[str, Any],
    *,
    source: str = "<chain>",
    base: Path | None = None,
    stages: Mapping[str, type[Processor]] | None = None,
) -> Chain:
    """Build a chain from the parsed contents of a chain file (see :func:`load_chain`)."""
    known = stage_types()
    known.update(stages or {})
    context = _Context(source, base or Path.cwd(), known)
    checked = validate(ChainFileTable, data, file=source, error=ChainFileError)
    return _build_chain(checked.stages, "stages", context)


def _build_chain(tables: list[Any], key: str, context: _Context) -> Chain:
    nodes: list[Node] = []
    names: list[str | None] = []
    for index, table in enumerate(tables):
        node_key = f"{key}[{index}]"
        node, name = _build_node(table, node_key, context)
        try:  # each node checked as it comes, so an error names its key; the chain is built once (linear time)
            Chain([node], names=[name])
        except SoundstageError as error:
            raise context.error(node_key, str(error)) from None
        if name is not None and name in names:
            raise context.error(node_key, f"the chain already has a node named {name!r}; choose another name")
        nodes.append(node)
        names.append(name)
    try:
        return Chain(nodes, names=names)
    except SoundstageError as error:  # a channel mismatch names the node as chain[i]: give its key
        where = re.search(r"\(chain\[(\d+)\]\)", str(error))
        raise context.error(f"{key}[{where.group(1)}]" if where else key, str(error)) from None


def _build_node(table: object, key: str, context: _Context) -> tuple[Node, str | None]:
    depth = key.count(".stage") + key.count(".branches[")
    if depth > MAX_DEPTH:
        raise context.error(
            key.split(".")[0], f"stage tables nest {depth} deep here; at most {MAX_DEPTH} levels of nesting are allowed"
        )
    if not isinstance(table, dict):
        raise context.error(key, f"expected a table with a 'type' key, got {table!r}")
    kind = _stage_type(table, key, context)
    name = table.get("name")
    if name is not None and not isinstance(name, str):
        raise context.error(f"{key}.name", f"name = {name!r} must be a string")
    try:
        if kind in _ROUTING_TYPES:
            return _build_routing(kind, table, key, context), name
        if kind == "plugin":
            return _build_external(table, key, context), name
        if kind.startswith("pedalboard."):
            return _build_builtin(kind, table, key, context), name
        if kind in context.stages:
            return _build_stage(context.stages[kind], table, key, context), name
    except ChainFileError:
        raise
    except SoundstageError as error:
        raise context.error(key, str(error)) from None
    except TypeError as error:
        raise context.error(key, str(error)) from None
    builtins = [f"pedalboard.{n}" for n in BUILTIN_RANGES]
    named = [b for b in builtins if b.removeprefix("pedalboard.").casefold() == kind.casefold()]  # "Reverb"
    close = named or difflib.get_close_matches(kind, [*context.stages, *_ROUTING_TYPES, "plugin", *builtins], n=2)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise context.error(f"{key}.type", f"unknown stage type {kind!r}{hint} ({_type_help(context)})")


def _beside(value: Any, base: Path) -> Any:
    """A file setting (one or a list) as the stage should open it: ``~`` expanded, and a relative path that names a
    file in the chain file's folder taken from there (as a plugin's path is). Anything else (a model or device
    name, a file found only from the working folder) is left as it is."""
    if isinstance(value, list):
        return [_beside(v, base) for v in value]
    if not isinstance(value, str):
        return value
    path = Path(os.path.expanduser(value))
    found = referenced_path(value, base)
    if not path.is_absolute() and found.is_file():
        return str(found)
    return str(path) if value.startswith("~") else value


def _stage_type(table: Mapping[str, Any], key: str, context: _Context) -> str:
    """A stage table's ``type``; refused where it is missing (with where it goes, if it is written under another key:
    ``kind = "Gain"``, ``stage = "Gain"``; not its ``name``, which may well be a type's) or no text."""
    kind = table.get("type")
    for written, value in table.items() if kind is None else ():
        if written != "name" and isinstance(value, str) and _names_a_type(value, context):
            raise context.error(
                f"{key}.{written}", f"a stage's type goes under 'type': write type = {_toml_value(value)}, not {written} = ..."
            )
    if not isinstance(kind, str):
        raise context.error(f"{key}.type", f"missing or not a string (got {kind!r}); {_type_help(context)}")
    return kind


def _names_a_type(text: str, context: _Context) -> bool:
    """Whether ``text`` is what a stage's ``type`` holds: a stage, a routing node, a plugin or a built-in."""
    return text in context.stages or text in _ROUTING_TYPES or text == "plugin" or text.startswith("pedalboard.")


def _type_help(context: _Context) -> str:
    return (
        f"stage types: {', '.join(sorted(context.stages))}; routing: {', '.join(_ROUTING_TYPES)}; "
        "'plugin' for a VST3/AU; 'pedalboard.<Name>' for a built-in"
    )


def _no_loose_parameters(kind: str, table: Mapping[str, Any], parameters: Sequence[str], key: str, context: _Context) -> None:
    """A stage's parameter written beside ``type`` (``gain_db = -3``) instead of in its ``parameters`` table."""
    for name, value in table.items():
        if name in parameters and name not in ("type", "name", "parameters"):
            raise context.error(
                f"{key}.{name}",
                f"{name!r} is a parameter of {kind}: write it in the stage's parameters table, "
                f"parameters = {{ {name} = {_toml_value(value)} }}",
            )


def _no_parameter(owner: str, name: str, known: list[str]) -> str:
    """What to say of a parameter ``owner`` does not have: the one meant, where one is close, and all it has."""
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{owner} has no parameter {name!r}{hint} (parameters: {', '.join(known) or 'none'})"


def _toml_value(value: object) -> str:
    """``value`` as TOML writes it (``true``, ``-3.0``, ``"text"``)."""
    text = tomli_w.dumps({"v": value}).split("=", 1)[1].strip()
    return " ".join(text.split()) if "\n" in text else text  # an array on one line: the error is one line


def _build_stage(cls: type[Processor], table: Mapping[str, Any], key: str, context: _Context) -> Processor:
    allowed = {"type", "name", "parameters", *cls.config_keys}
    _no_loose_parameters(
        cls.type_name, table, [spec.name for spec in cls.parameter_specs if spec.name not in allowed], key, context
    )
    for name in table:  # first: the keys this stage type takes (the schema below knows every stage's keys)
        if name not in allowed:
            close = difflib.get_close_matches(name, sorted(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise context.error(
                f"{key}.{name}", f"unknown key {name!r} for {cls.type_name}{hint} (allowed: {', '.join(sorted(allowed))})"
            )
    custom = set(cls.config_keys) - set(StageTable.model_fields)  # a stage type of the caller's, with keys of its own
    checked = validate(
        StageTable, {k: v for k, v in table.items() if k not in custom}, file=context.file, error=ChainFileError, at=key
    )
    config = {name: getattr(checked, name) if name not in custom else table[name] for name in cls.config_keys if name in table}
    for name in FILE_KEYS & set(config):  # a SOFA set or a device profile beside the chain file, as a plugin's path
        config[name] = _beside(config[name], context.base)
    for name in custom & set(config):
        value = config[name]
        plain = isinstance(value, (str, int, float, bool))
        numbers = isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        if not (plain or numbers):
            raise context.error(f"{key}.{name}", f"{name} = {value!r} must be a string, a number or a list of numbers")
    values = checked.parameters
    known = {spec.name: spec for spec in cls.parameter_specs}
    for name, value in values.items():
        if name in cls.config_keys and name not in known:  # device = "studio-5" written among the parameters
            raise context.error(
                f"{key}.parameters.{name}",
                f"{name!r} is not a parameter of {cls.type_name}: write it beside type, {name} = {_toml_value(value)}",
            )
        if name not in known:
            raise context.error(f"{key}.parameters.{name}", _no_parameter(cls.type_name, name, list(known)))
        try:
            known[name].validate(value, owner=cls.type_name)
        except (SoundstageError, TypeError) as error:
            raise context.error(f"{key}.parameters.{name}", str(error)) from None
    try:
        return cls(**config, **values)
    except (SoundstageError, TypeError, ValueError) as error:
        raise context.error(key, str(error)) from None


#: Deprecated keys already warned about in this process (each is warned about once).
_WARNED_KEYS: set[str] = set()


def _current_keys(values: dict[str, Any], key: str, context: _Context) -> dict[str, Any]:
    """``values`` with keys of earlier versions renamed to today's (British spellings -> American), warning once per key."""
    renamed = {}
    for name, value in values.items():
        current = DEPRECATED_KEYS.get(name)
        if current is None:
            renamed[name] = value
            continue
        if current in values:
            raise context.error(
                f"{key}.parameters.{name}", f"{name!r} is the old name of {current!r}, which is given too; keep one"
            )
        if name not in _WARNED_KEYS:
            _WARNED_KEYS.add(name)
            warnings.warn(
                f"{context.file}: {key}.parameters.{name}: {name!r} is deprecated, write {current!r} "
                "(soundstage spells center the American way everywhere); it loads as that",
                SoundstageDeprecationWarning,
                stacklevel=2,
            )
        renamed[current] = value
    return renamed


def _build_builtin(kind: str, table: Mapping[str, Any], key: str, context: _Context) -> Node:
    class_name = kind.removeprefix("pedalboard.")
    if class_name in BUILTIN_RANGES:
        _no_loose_parameters(kind, table, [spec.name for spec in builtin_specs(class_name)], key, context)
    values = validate(BuiltinTable, table, file=context.file, error=ChainFileError, at=key).parameters
    values = _current_keys(values, key, context)
    if class_name not in BUILTIN_RANGES:
        close = difflib.get_close_matches(class_name, list(BUILTIN_RANGES), n=1)
        hint = f"; did you mean 'pedalboard.{close[0]}'?" if close else ""
        raise context.error(
            f"{key}.type", f"unsupported built-in {kind!r}{hint} (supported: {', '.join(sorted(BUILTIN_RANGES))})"
        )
    specs = {spec.name: spec for spec in builtin_specs(class_name)}
    for name, value in values.items():
        if name not in specs:
            raise context.error(f"{key}.parameters.{name}", _no_parameter(kind, name, list(specs)))
        try:
            specs[name].validate(value, owner=kind)
        except (SoundstageError, TypeError) as error:
            raise context.error(f"{key}.parameters.{name}", str(error)) from None
    return make_builtin(class_name, values, owner=kind)


def _build_external(table: Mapping[str, Any], key: str, context: _Context) -> Node:
    checked = validate(PluginTable, table, file=context.file, error=ChainFileError, at=key)
    where = checked.path
    file = referenced_path(where, context.base)
    if not file.exists():
        hint = missing_hint(file) or windows_hint(where)
        raise context.error(f"{key}.path", f"plugin file {where!r} does not exist (looked at {str(file)!r}){hint}")
    plugin = load_plugin(file, plugin_name=checked.plugin_name)
    if checked.state is not None:
        restore_state(plugin, checked.state, owner=f"{context.file}: {key}.state")
    preset = checked.preset
    if preset is not None:
        preset_file = referenced_path(str(preset), context.base)
        load_vstpreset(plugin, preset_file)
    view = external_parameters(plugin)
    for name, value in checked.parameters.items():
        if name not in view:
            raise context.error(f"{key}.parameters.{name}", _no_parameter(plugin.name, name, list(view)))
        parameter = view[name]
        if not parameter.writable:
            continue
        if _same_value(parameter.value, value):  # the restored state is authoritative: keep its exact raw value
            continue
        try:
            parameter.value = value
        except (SoundstageError, TypeError) as error:
            raise context.error(f"{key}.parameters.{name}", str(error)) from None
    return plugin


def _same_value(current: Any, wanted: Any) -> bool:
    """Whether a file's parameter value is what the restored state already holds.

    Numbers are read back from the plugin's display text, so equal means within
    1e-6 relative: writing such a value again would only move the raw value by
    a rounding step and change the sound (the state is what the user heard).
    """
    if isinstance(current, bool) or isinstance(wanted, bool) or isinstance(current, str) or isinstance(wanted, str):
        return bool(current == wanted)
    try:
        return abs(float(current) - float(wanted)) <= 1e-6 * max(1.0, abs(float(wanted)))
    except (TypeError, ValueError):
        return False


def _build_routing(kind: str, table: Mapping[str, Any], key: str, context: _Context) -> Node:
    if kind == "route":
        return Route(channels=validate(RouteTable, table, file=context.file, error=ChainFileError, at=key).channels)
    if kind == "mix":
        mix = validate(MixTable, table, file=context.file, error=ChainFileError, at=key)
        try:
            return Mix(matrix=mix.matrix, downmix=mix.downmix)
        except ChainError as error:
            raise context.error(key, str(error)) from None
    if kind in ("on_channels", "per_channel"):
        checked = validate(OnChannelsTable, table, file=context.file, error=ChainFileError, at=key)
        node, _ = _build_node(checked.stage, f"{key}.stage", context)
        if kind == "on_channels":
            if checked.channels is None:
                raise context.error(f"{key}.channels", "on_channels needs channels = [...], the channels the node runs on")
            return OnChannels(node, channels=checked.channels)
        return PerChannel(node, channels=checked.channels)
    if kind == "parallel":
        branches = validate(ParallelTable, table, file=context.file, error=ChainFileError, at=key).branches
        return Parallel(
            [_build_chain(branch.stages, f"{key}.branches[{index}].stages", context) for index, branch in enumerate(branches)]
        )
    nested = validate(NestedTable, table, file=context.file, error=ChainFileError, at=key)
    return _build_chain(nested.stages, f"{key}.stages", context)
