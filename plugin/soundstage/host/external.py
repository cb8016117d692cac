"""External plugins (VST3, and Audio Units on macOS) through ``pedalboard.load_plugin``.

soundstage loads plugins with pedalboard and adds what a host needs around it:
the file a plugin came from (so a chain file can name it), the channel counts it
accepts (probed once), a precise parameter view, and state save/restore.

Precision: pedalboard's attribute setter (``plugin.gain_db = -12``) snaps to a
1000-step grid; :class:`ExternalParameter` writes ``raw_value`` directly, solving
for the raw value that reads back as the requested value.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import math
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np
import pedalboard

from soundstage.errors import ParameterError, PluginError
from soundstage.exported import EmbeddedProgram, exported_program, resampled_rates
from soundstage.files import atomic_path, on_disk
from soundstage.host.parameters import Parameter, ParameterSpec, Value
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
    "plugin_source",
    "restore_state",
    "save_vstpreset",
    "saved_state",
    "supported_channel_counts",
]

#: pedalboard's VST3Plugin / AudioUnitPlugin. Its type stubs omit most of what
#: these objects have (name, raw_state, parameters ...), so it is typed loosely.
ExternalPlugin = Any

_SOURCE_ATTRIBUTE = "_soundstage_source"
_PROGRAM_ATTRIBUTE = "_soundstage_program"
_CHANNELS_ATTRIBUTE = "_soundstage_channels"
_VIEW_ATTRIBUTE = "_soundstage_parameters"
_PROBE_CHANNELS = (1, 2, 3, 4, 5, 6, 8)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf", re.IGNORECASE)


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
    with messages_held():  # what the plugin prints while it loads is dropped if it is refused
        try:
            with _parameters_read_after_load():
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
        _parameter_view(plugin)  # read as pedalboard reads them when it makes a plugin, the costly ones coarsely
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
    plugin.process(np.zeros((channels, 64), np.float32), 48000.0, buffer_size=64, reset=True)


def _parse_number(text: str) -> float | None:
    match = _NUMBER.search(text)
    return float(match.group(0)) if match else None


def _numbers_in_one_unit(values: list[str]) -> bool:
    """True where a stepped parameter's values are numbers in one unit ("1x", "2x", "4x"; "12 dB/oct", "24 dB/oct"):
    each holds a number, no two the same, and the rest of each is the same text. Names that hold numbers ("LPF12",
    "HPF12", "LPF24") are choices: as numbers, two of them would be 12."""
    numbers, rests = set(), set()
    for value in values:
        match = _NUMBER.search(value)
        if match is None:
            return False
        numbers.add(float(match.group(0)))
        rests.add((value[: match.start()] + value[match.end() :]).strip())
    return len(numbers) == len(values) and len(rests) == 1


class ExternalParameter(Parameter):
    """A parameter of an external plugin, written through ``raw_value`` for full precision.

    ``normalized`` is the plugin's own raw value (0..1). ``value`` is the value the
    plugin displays, in its unit; setting it solves for the raw value that the
    plugin reads back as the requested value (to the plugin's display precision).
    """

    def __init__(
        self,
        plugin: ExternalPlugin,
        key: str,
        handle: object,
        *,
        writable: bool,
        native_name: str | None = None,
    ) -> None:
        self.plugin = plugin
        self.handle = handle
        self.owner = plugin.name
        self.writable = writable
        self._native_name = native_name
        valid = [str(value) for value in getattr(handle, "valid_values", None) or []]
        lo = float(getattr(handle, "min_value", 0.0) or 0.0)
        hi = float(getattr(handle, "max_value", 1.0) or 1.0)
        choices: tuple[str, ...] = ()
        if getattr(handle, "is_boolean", False) or (len(valid) == 2 and lo == 0.0 and hi == 1.0):
            kind = "bool"
        elif valid and not _numbers_in_one_unit(valid):
            kind, choices = "choice", tuple(valid)
        else:
            kind = "float"
        if kind == "float" and not lo < hi:
            hi = lo + 1.0
        default: Value = lo if kind == "float" else (False if kind == "bool" else choices[0])
        native = self._native()
        if native is not None and kind != "bool":
            text = str(native.get_text_for_raw_value(float(native.default_raw_value)))
            shown = _parse_number(text)
            if kind == "choice" and text in choices:
                default = text
            elif kind == "float" and shown is not None and lo <= shown <= hi:
                default = shown
        self.spec = ParameterSpec(
            name=key,
            default=default,
            minimum=lo,
            maximum=hi,
            unit=str(getattr(handle, "label", "") or ""),
            kind=kind,  # type: ignore[arg-type]
            choices=choices,
            automatable=writable,
        )
        self._curve: tuple[np.ndarray, np.ndarray] | None = None

    # pedalboard probes every parameter on a 1000-step grid ("ranges"); that table
    # gives a first estimate of the raw <-> value curve, refined below.
    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        if self._curve is None:
            raws, values = [], []
            for (start, _end), value in sorted(getattr(self.handle, "ranges", {}).items()):
                number = value if isinstance(value, (int, float)) else _parse_number(str(value))
                if number is not None and math.isfinite(float(number)):
                    raws.append(float(start))
                    values.append(float(number))
            if len(raws) < 2:
                raws, values = [0.0, 1.0], [self.spec.minimum, self.spec.maximum]
            self._curve = (np.asarray(raws), np.asarray(values))
        return self._curve

    def _native(self) -> Any:
        """The parameter with its plugin-side methods (``get_text_for_raw_value``, ``default_raw_value``), or None.

        pedalboard's public parameter wrapper hands attribute reads to the C++
        parameter; None where this pedalboard's wrapper does not (the plugin is probed instead).
        """
        return self.handle if self._native_name is not None else None

    def _text_at(self, raw: float) -> float | None:
        """The value the plugin displays at ``raw``, without changing the plugin if possible."""
        native = self._native()
        if native is not None:
            return _parse_number(str(native.get_text_for_raw_value(raw)))
        before = self.handle.raw_value  # type: ignore[attr-defined]
        try:
            self.handle.raw_value = raw  # type: ignore[attr-defined]
            return self._read_value()
        finally:
            self.handle.raw_value = before  # type: ignore[attr-defined]

    @property
    def raw(self) -> float:
        """The plugin's normalized value, exactly as the plugin holds it."""
        return float(self.handle.raw_value)  # type: ignore[attr-defined]

    @raw.setter
    def raw(self, position: float) -> None:
        self._check_writable()
        self.handle.raw_value = min(max(float(position), 0.0), 1.0)  # type: ignore[attr-defined]

    def _check_writable(self) -> None:
        if not self.writable:
            raise ParameterError(f"{self.owner}.{self.name} is read-only (the plugin reports it, e.g. latency); it cannot be set")

    def _read_value(self) -> float | None:
        return _parse_number(str(self.handle.string_value))  # type: ignore[attr-defined]

    @property
    def value(self) -> Value:
        if self.spec.kind == "bool":
            return self.raw >= 0.5
        if self.spec.kind == "choice":
            return str(self.handle.string_value)  # type: ignore[attr-defined]
        number = self._read_value()
        return float(number) if number is not None else float(self.from_normalized(self.raw))

    @value.setter
    def value(self, new_value: Value) -> None:
        self._check_writable()
        checked = self.spec.validate(new_value, owner=self.owner)
        if self.spec.kind == "bool":
            self.raw = 1.0 if checked else 0.0
            return
        if self.spec.kind == "choice":
            self.raw = float(self.handle.get_raw_value_for(str(checked)))  # type: ignore[attr-defined]
            return
        self.raw = self._solve_raw(float(checked))

    def _solve_raw(self, target: float) -> float:
        """The raw value the plugin displays as ``target``: grid estimate, then secant/bisection."""
        raws, values = self._grid()
        increasing = values[-1] >= values[0]
        order = np.argsort(values)
        estimate = float(np.interp(target, values[order], raws[order]))
        lo, hi = 0.0, 1.0
        x = estimate
        best = (math.inf, estimate)
        for _ in range(40):
            shown = self._text_at(x)
            if shown is None:
                break
            error = shown - target
            best = min(best, (abs(error), x))
            if abs(error) <= 1e-6 * max(1.0, abs(target)):
                return x
            if (error > 0) == increasing:
                hi = x
            else:
                lo = x
            x = 0.5 * (lo + hi)
            if hi - lo < 1e-9:
                break
        return best[1]

    def from_normalized(self, position: float) -> Value:
        if self.spec.kind != "float":
            return self.spec.from_normalized(position)
        raws, values = self._grid()
        return float(np.interp(min(max(position, 0.0), 1.0), raws, values))

    def to_normalized(self, value: Value) -> float:
        if self.spec.kind != "float":
            return self.spec.to_normalized(value)
        raws, values = self._grid()
        order = np.argsort(values)
        return float(np.interp(float(value), values[order], raws[order]))


def external_parameters(plugin: ExternalPlugin) -> dict[str, ExternalParameter]:
    """The parameter view of an external plugin, keyed by pedalboard's Python names.

    Read-only parameters (a plugin's latency report, meters) are included with
    ``automatable=False``; setting them raises :class:`ParameterError`.
    """
    cached = getattr(plugin, _VIEW_ATTRIBUTE, None)
    if cached is not None:
        return cached
    with messages_held():  # pedalboard reads each parameter's text at 1001 values (ZamVerb prints a line each time)
        return _parameter_view(plugin)


def _parameter_view(plugin: ExternalPlugin) -> dict[str, ExternalParameter]:
    """:func:`external_parameters` made, what the plugin prints meanwhile not held (:func:`load_plugin` holds it with
    what the plugin printed as it loaded)."""
    _read_costly_parameters_coarsely(plugin)
    view = {}
    for key, handle in plugin.parameters.items():
        try:  # pedalboard's parameter wrapper hands attribute reads to its C++ parameter (automatable, name)
            writable, name = bool(handle.is_automatable), str(handle.name)
        except (AttributeError, RuntimeError):  # an older pedalboard: probe instead
            writable, name = _is_writable(handle), None
        view[key] = ExternalParameter(plugin, key, handle, writable=writable, native_name=name)
    object.__setattr__(plugin, _VIEW_ATTRIBUTE, view)
    return view


_LOADING = threading.local()


@contextlib.contextmanager
def _parameters_read_after_load() -> Iterator[None]:
    """pedalboard reads every parameter's texts as it makes a plugin, to set the values it is given (none, from
    soundstage): within this, a plugin made on this thread with none given leaves that to :func:`external_parameters`,
    which :func:`load_plugin` calls next (and which reads costly parameters coarsely). Where pedalboard's plugin classes
    differ, it reads them as before."""
    for kind in (getattr(pedalboard, "VST3Plugin", None), getattr(pedalboard, "AudioUnitPlugin", None)):
        original = getattr(kind, "__set_initial_parameter_values__", None)
        if kind is None or original is None or getattr(original, "_soundstage_deferred", False):
            continue

        def set_initial_values(self: Any, parameter_values: Any, original: Any = original) -> Any:
            if getattr(_LOADING, "active", False) and not parameter_values:
                return None
            return original(self, parameter_values)

        set_initial_values._soundstage_deferred = True  # type: ignore[attr-defined]
        kind.__set_initial_parameter_values__ = set_initial_values
    _LOADING.active = True
    try:
        yield
    finally:
        _LOADING.active = False


#: The values pedalboard reads each parameter's text at, less one (its ``search_steps``).
PEDALBOARD_STEPS = 1000
#: How long reading one parameter's texts may take where each read sets the parameter (s), and the fewest values then.
COSTLY_READ_SECONDS, FEWEST_STEPS = 2.0, 16


def _read_costly_parameters_coarsely(plugin: ExternalPlugin) -> None:
    """Where pedalboard would set a parameter to 1001 values to learn its texts and each setting does work, it reads
    it at as many values as take :data:`COSTLY_READ_SECONDS` instead (at least :data:`FEWEST_STEPS`).

    pedalboard first asks the plugin for the text of each value; where the answers say nothing (one text, or one
    number, everywhere: a program parameter whose name for a value it is not at is its current one), it sets the
    parameter to each value and reads it back. A DPF plugin's "Current Program" then loads a program 2002 times: 0.1 s
    each for ZamVerb, whose load took 100 s. A parameter of a program's names needs as many values as programs, not
    1001 (one of more programs than it is read at loses some of their names from its choices). pedalboard's wrapper
    of such a parameter (:class:`pedalboard.AudioProcessorParameter`, with fewer ``search_steps``) is made here, where
    pedalboard keeps it (``__python_parameter_cache__``, by name); the others are left to it. The plugin's parameters
    themselves are pedalboard's ``_parameters``: no public name lists them without reading them all.
    """
    if not hasattr(pedalboard, "AudioProcessorParameter") or not hasattr(plugin, "_parameters"):
        return  # a pedalboard that differs: it reads them as it does
    cache = getattr(plugin, "__python_parameter_cache__", None)
    for parameter in plugin._parameters:
        name = str(parameter.name)
        if (cache is not None and name in cache) or _texts_tell(parameter):
            continue
        start = time.perf_counter()
        before = parameter.raw_value  # what pedalboard would do 1001 times: set it, read its text, set it back
        try:
            parameter.raw_value = 0.5
            parameter.string_value  # noqa: B018
        finally:
            parameter.raw_value = before
        steps = int(COSTLY_READ_SECONDS / max(time.perf_counter() - start, 1e-9))
        if steps >= PEDALBOARD_STEPS:
            continue
        if cache is None:
            cache = {}
            object.__setattr__(plugin, "__python_parameter_cache__", cache)
        cache[name] = pedalboard.AudioProcessorParameter(plugin, name, search_steps=max(steps, FEWEST_STEPS))


def _texts_tell(parameter: Any) -> bool:
    """Whether pedalboard learns ``parameter`` from its texts alone: read at its 1001 values, they change twice or
    more, or once from what is not a number (pedalboard's rule; a text is a number here if it starts with one, where
    pedalboard strips a unit first: a text both read differently is left to pedalboard). This reading stops at the
    second change."""
    first, changes = parameter.get_text_for_raw_value(0.0), 0
    previous = first
    for step in range(1, PEDALBOARD_STEPS + 1):
        text = parameter.get_text_for_raw_value(step / PEDALBOARD_STEPS)
        if text != previous:
            changes, previous = changes + 1, text
            if changes >= 2 or not _NUMBER.match(str(first).strip()):
                return True
    return False


def reported_value(plugin: ExternalPlugin, key: str, parameter: ExternalParameter) -> Value:
    """The value of a parameter as the plugin means it: DPF's VST3 latency report is read as the latency.

    DPF's VST3 wrapper (every DPF plugin: ZAM's, the exported ones) normalizes
    its read-only latency parameter by ``384000 * 10`` without the brackets, so
    its text says 100 times the latency the plugin reports. Where the text says
    exactly that, the reported latency is the value.
    """
    value = parameter.value
    latency = int(plugin.reported_latency_samples)
    if not parameter.writable and key == "latency_frames" and latency and value == 100.0 * latency:
        return float(latency)
    return value


def _is_writable(handle: object) -> bool:
    """Probe a parameter: a read-only one ignores a write. Restores the value."""
    before = float(handle.raw_value)  # type: ignore[attr-defined]
    probe = 0.25 if abs(before - 0.25) > 0.1 else 0.75
    try:
        handle.raw_value = probe  # type: ignore[attr-defined]
        after = float(handle.raw_value)  # type: ignore[attr-defined]
    finally:
        handle.raw_value = before  # type: ignore[attr-defined]
    return abs(after - before) > 1e-6


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
    try:
        with release_order_dropped():
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
    try:
        plugin.preset_data = data
    except Exception as error:
        raise PluginError(f"{plugin.name}: cannot load preset {str(source)!r}: {error}") from None


def _preset_class(data: bytes) -> str:
    """The class ID of a .vstpreset (32 hex characters after 'VST3' and the version: the plugin it is for)."""
    return data[8:40].decode("ascii", "replace")
