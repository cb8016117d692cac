"""An external plugin's parameters as soundstage sees them: each an :class:`ExternalParameter` (range, unit, choices,
written precisely through ``raw_value``), read once when the plugin loads; a parameter that pedalboard would read
by setting it a thousand times (a slow program change) is read at as many values as fit in a time budget."""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pedalboard

from soundstage.errors import ParameterError
from soundstage.host.parameters import Parameter, ParameterSpec, Value
from soundstage.native import messages_held

__all__ = [
    "ExternalPlugin",
    "ExternalParameter",
    "external_parameters",
    "parameter_view",
    "parameters_read_after_load",
    "PEDALBOARD_STEPS",
    "COSTLY_READ_SECONDS",
    "FEWEST_STEPS",
    "reported_value",
]


#: pedalboard's VST3Plugin / AudioUnitPlugin. Its type stubs omit most of what
#: these objects have (name, raw_state, parameters ...), so it is typed loosely.
ExternalPlugin = Any


_VIEW_ATTRIBUTE = "_soundstage_parameters"


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf", re.IGNORECASE)


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
        return parameter_view(plugin)


def parameter_view(plugin: ExternalPlugin) -> dict[str, ExternalParameter]:
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
def parameters_read_after_load() -> Iterator[None]:
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
