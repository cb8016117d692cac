"""A chain written as a chain file, losslessly: every node's table, a plugin's state (base64) and parameters, and
the files a stage names written relative to the chain file where they live below it."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from soundstage.errors import ChainFileError, OutputError
from soundstage.files import write_text
from soundstage.host.builtins import builtin_specs, is_builtin, native_name
from soundstage.host.chain import Chain
from soundstage.host.external import (
    external_parameters,
    is_external,
    plugin_source,
    saved_state,
)
from soundstage.host.nodes import Node
from soundstage.host.processor import Processor
from soundstage.host.routing import Mix, OnChannels, Parallel, PerChannel, Route

if TYPE_CHECKING:
    pass
from soundstage.host.chaintables import FILE_KEYS, FORMAT_VERSION

__all__ = ["save_chain", "chain_to_dict"]


def _written_path(path: Path, base: Path) -> str:
    """A file's path as a chain file in ``base`` writes it: relative to that folder when the file lives below it."""
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def _relative(value: Any, base: Path) -> Any:
    """A file setting (one or a list) as a chain file in ``base`` writes it (:func:`_written_path`); a model or
    device name, or a path that names no file, as it is."""
    if isinstance(value, list):
        return [_relative(v, base) for v in value]
    if not isinstance(value, str) or not Path(value).is_absolute() or not Path(value).is_file():
        return value
    return _written_path(Path(value), base)


def save_chain(chain: Chain, path: str | os.PathLike[str], *, description: str | None = None) -> None:
    """Write ``chain`` as a chain file that :func:`load_chain` turns back into an identical chain.

    External plugins are saved by path (relative to the file when they live
    beside or below it), with their full state and their parameter values. The
    file is written atomically (a temporary file, then a rename).
    """
    target = Path(path)
    data = chain_to_dict(chain, base=target.resolve().parent)
    if description:
        data = {"format": FORMAT_VERSION, "description": description, "stages": data["stages"]}
    text = "# soundstage chain file\n" + tomli_w.dumps(data)
    try:
        write_text(target, text)
    except OutputError as error:
        raise ChainFileError(f"cannot write chain file: {error}") from None


def chain_to_dict(chain: Chain, *, base: Path | None = None) -> dict[str, Any]:
    """The chain-file contents for ``chain`` as plain data."""
    return {"format": FORMAT_VERSION, "stages": _dump_nodes(chain, base or Path.cwd())}


def _dump_nodes(chain: Chain, base: Path) -> list[dict[str, Any]]:
    return [{**_dump_node(node, base), "name": name} for name, node in zip(chain.names, chain)]


def _number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ChainFileError(f"value {value!r} cannot be written to a chain file")
    return value


def _dump_channels(node: Route | Mix) -> dict[str, Any]:
    if isinstance(node, Route):
        return {"type": "route", "channels": node.channels}
    return {"type": "mix", "downmix": node.downmix} if node.downmix else {"type": "mix", "matrix": node.matrix}


def _dump_node(node: Node, base: Path) -> dict[str, Any]:
    if isinstance(node, (Route, Mix)):
        return _dump_channels(node)
    if isinstance(node, OnChannels):
        return {"type": "on_channels", "channels": node.channels, "stage": _dump_node(node.node, base)}
    if isinstance(node, PerChannel):
        table: dict[str, Any] = {"type": "per_channel", "stage": _dump_node(node.node, base)}
        if node.channels is not None:
            table["channels"] = node.channels
        return table
    if isinstance(node, Parallel):
        return {"type": "parallel", "branches": [{"stages": _dump_nodes(branch, base)} for branch in node.branches]}
    if isinstance(node, Chain):
        return {"type": "chain", "stages": _dump_nodes(node, base)}
    if isinstance(node, Processor):
        table = {"type": node.type_name}
        config = {name: getattr(node, name) for name in node.config_keys if getattr(node, name) is not None}
        table.update({name: os.fspath(value) if isinstance(value, os.PathLike) else value for name, value in config.items()})
        table.update({name: _relative(table[name], base) for name in FILE_KEYS & set(config)})
        table["parameters"] = {k: _number(v) for k, v in node.parameter_values().items()}
        return table
    if is_external(node):
        return _dump_external(node, base)
    if is_builtin(node):
        specs = builtin_specs(type(node).__name__)
        values = {}
        for spec in specs:
            current = getattr(node, native_name(spec.name))
            values[spec.name] = str(current.name) if spec.kind == "choice" else _number(float(current))
        table = {"type": f"pedalboard.{type(node).__name__}"}
        if values:
            table["parameters"] = values
        return table
    raise ChainFileError(f"cannot save a node of type {type(node).__name__}")


def _dump_external(plugin: Any, base: Path) -> dict[str, Any]:
    source = plugin_source(plugin)
    if source is None:
        raise ChainFileError(
            f"{plugin.name} was loaded with pedalboard.load_plugin, so its file is unknown; "
            "load it with soundstage.load_plugin(path) to save it in a chain file"
        )
    table: dict[str, Any] = {"type": "plugin", "path": _written_path(source.path, base)}
    if source.plugin_name:
        table["plugin_name"] = source.plugin_name
    table["state"] = saved_state(plugin)
    values = {key: _number(p.value) for key, p in external_parameters(plugin).items() if p.writable}
    if values:
        table["parameters"] = values
    return table
