"""The table of pedalboard built-in plugins soundstage knows the ranges of.

pedalboard's built-ins expose their parameters as plain attributes with no range,
unit or default (``pedalboard.Gain().gain_db = 1e9`` is accepted). soundstage keeps
the ranges here so the parameter view, chain files and MIDI mapping can validate
and normalize them like any other parameter. Defaults are read from a fresh
instance, so they always match the installed pedalboard.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeGuard

import pedalboard

from soundstage.errors import ParameterError
from soundstage.host.parameters import AttributeParameter, ParameterSpec, Value

__all__ = [
    "BUILTIN_RANGES",
    "BuiltinParameter",
    "builtin_specs",
    "builtin_type_name",
    "is_builtin",
    "make_builtin",
]


def _f(name: str, lo: float, hi: float, unit: str = "", scale: str = "linear") -> dict[str, object]:
    return {"name": name, "minimum": lo, "maximum": hi, "unit": unit, "scale": scale}


_HZ = "Hz"
_FILTER = [_f("cutoff_frequency_hz", 10.0, 24000.0, _HZ, "log")]
_SHELF = [*_FILTER, _f("gain_db", -24.0, 24.0, "dB"), _f("q", 0.1, 10.0, "", "log")]
_DYNAMICS = [
    _f("threshold_db", -100.0, 0.0, "dB"),
    _f("ratio", 1.0, 100.0, "", "log"),
    _f("attack_ms", 0.01, 1000.0, "ms", "log"),
    _f("release_ms", 1.0, 10000.0, "ms", "log"),
]

#: soundstage's (American) names of built-in parameters pedalboard spells otherwise -> pedalboard's attribute.
NATIVE_NAMES = {"center_delay_ms": "centre_delay_ms", "center_frequency_hz": "centre_frequency_hz"}
#: Chain-file keys of earlier versions -> today's (they load, with a one-time deprecation warning).
DEPRECATED_KEYS = {native: name for name, native in NATIVE_NAMES.items()}


def native_name(name: str) -> str:
    """pedalboard's attribute for the parameter soundstage calls ``name``."""
    return NATIVE_NAMES.get(name, name)


#: Parameter ranges of the supported built-ins, by class name.
BUILTIN_RANGES: dict[str, list[dict[str, object]]] = {
    "Gain": [_f("gain_db", -96.0, 24.0, "dB")],
    "Invert": [],
    "Compressor": _DYNAMICS,
    "NoiseGate": _DYNAMICS,
    "Limiter": [_f("threshold_db", -60.0, 0.0, "dB"), _f("release_ms", 1.0, 10000.0, "ms", "log")],
    "Clipping": [_f("threshold_db", -60.0, 0.0, "dB")],
    "Distortion": [_f("drive_db", -24.0, 96.0, "dB")],
    "Bitcrush": [_f("bit_depth", 1.0, 32.0, "bits")],
    "HighpassFilter": _FILTER,
    "LowpassFilter": _FILTER,
    "HighShelfFilter": _SHELF,
    "LowShelfFilter": _SHELF,
    "PeakFilter": _SHELF,
    "LadderFilter": [
        {"name": "mode", "kind": "choice", "choices": ("LPF12", "HPF12", "BPF12", "LPF24", "HPF24", "BPF24")},
        _f("cutoff_hz", 10.0, 24000.0, _HZ, "log"),
        _f("resonance", 0.0, 1.0),
        _f("drive", 1.0, 100.0, "", "log"),
    ],
    "Reverb": [
        _f("room_size", 0.0, 1.0),
        _f("damping", 0.0, 1.0),
        _f("wet_level", 0.0, 1.0),
        _f("dry_level", 0.0, 1.0),
        _f("width", 0.0, 1.0),
        _f("freeze_mode", 0.0, 1.0),
    ],
    "Delay": [_f("delay_seconds", 0.0, 30.0, "s"), _f("feedback", 0.0, 1.0), _f("mix", 0.0, 1.0)],
    "Chorus": [
        _f("rate_hz", 0.01, 99.0, _HZ, "log"),
        _f("depth", 0.0, 1.0),
        _f("center_delay_ms", 1.0, 100.0, "ms"),
        _f("feedback", -1.0, 1.0),
        _f("mix", 0.0, 1.0),
    ],
    "Phaser": [
        _f("rate_hz", 0.01, 99.0, _HZ, "log"),
        _f("depth", 0.0, 1.0),
        _f("center_frequency_hz", 20.0, 20000.0, _HZ, "log"),
        _f("feedback", -1.0, 1.0),
        _f("mix", 0.0, 1.0),
    ],
}


def is_builtin(node: object) -> TypeGuard[pedalboard.Plugin]:
    """True for an instance of one of pedalboard's own plugins (not an external one)."""
    return (
        isinstance(node, pedalboard.Plugin)
        and not isinstance(node, pedalboard.ExternalPlugin)
        and not isinstance(node, pedalboard.Pedalboard)
    )


def builtin_type_name(node: object) -> str:
    """The chain-file type of a built-in, e.g. ``"pedalboard.Reverb"``."""
    return f"pedalboard.{type(node).__name__}"


@cache
def builtin_specs(class_name: str) -> tuple[ParameterSpec, ...]:
    """The parameter specs of the built-in ``class_name``, defaults from a fresh instance.

    Raises
    ------
    ParameterError
        If soundstage keeps no table for that class.
    """
    if class_name not in BUILTIN_RANGES:
        known = ", ".join(sorted(BUILTIN_RANGES))
        raise ParameterError(f"pedalboard.{class_name} has no parameter table in soundstage; supported: {known}")
    fresh = getattr(pedalboard, class_name)()
    specs = []
    for entry in BUILTIN_RANGES[class_name]:
        name = str(entry["name"])
        current = getattr(fresh, native_name(name))
        if entry.get("kind") == "choice":
            default: Value = str(current.name)
        else:
            default = float(current)
        specs.append(ParameterSpec(default=default, **entry))  # type: ignore[arg-type]
    return tuple(specs)


class BuiltinParameter(AttributeParameter):
    """A parameter of a pedalboard built-in, validated against :data:`BUILTIN_RANGES`."""

    def __init__(self, target: object, spec: ParameterSpec, *, owner: str) -> None:
        super().__init__(target, spec, owner=owner, attribute=native_name(spec.name))

    @property
    def value(self) -> Value:
        return AttributeParameter.value.fget(self)  # type: ignore[attr-defined]

    @value.setter
    def value(self, new_value: Value) -> None:
        checked = self.spec.validate(new_value, owner=self.owner)
        if self.spec.kind == "choice":
            plugin_class: Any = type(self.target)
            checked = getattr(plugin_class.Mode, str(checked))  # LadderFilter.Mode enum
        setattr(self.target, self.attribute, checked)


def make_builtin(class_name: str, values: dict[str, Value], *, owner: str) -> pedalboard.Plugin:
    """Build the built-in ``class_name`` with ``values`` validated against its table."""
    specs = {s.name: s for s in builtin_specs(class_name)}
    plugin = getattr(pedalboard, class_name)()
    for key, value in values.items():
        if key not in specs:
            raise ParameterError(
                f"{owner}: pedalboard.{class_name} has no parameter {key!r}; parameters: {', '.join(specs) or 'none'}"
            )
        BuiltinParameter(plugin, specs[key], owner=owner).value = value
    return plugin
