"""Parameter descriptions and the one parameter view shared by every node.

A :class:`ParameterSpec` describes a parameter (name, unit, range, default, scale,
kind, smoothing). A :class:`Parameter` is a live handle on one parameter of one
node — a soundstage stage, a pedalboard built-in or an external plugin — and
converts between the real value (in the parameter's unit) and a normalized value
in 0..1, so MIDI mapping, chain files and automation treat them all alike.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal, Union

import numpy as np

from soundstage.errors import ParameterError, value_hint

__all__ = [
    "ParameterSpec",
    "Parameter",
    "AttributeParameter",
    "Value",
    "Scale",
    "Kind",
    "DB_TAPER_EXPONENT",
]

Scale = Literal["linear", "log", "db"]
Kind = Literal["float", "bool", "choice"]
Value = Union[float, bool, str]  # noqa: UP007 (a runtime alias; "|" needs Python 3.10 objects)

# The dB scale is a fader taper: the normalized position is the fourth root of the
# amplitude's share of the range, so 0 dB sits near 70 % of travel on a -60..+12 dB
# fader, as on a console, instead of crowding the useful range into the top tenth.
DB_TAPER_EXPONENT = 4.0


@dataclass(frozen=True)
class ParameterSpec:
    """How one parameter is named, bounded, scaled and smoothed.

    Parameters
    ----------
    name : str
        Attribute and keyword name, with the unit in it (``gain_db``).
    default : float, bool or str
        Value after construction.
    minimum, maximum : float
        Inclusive range of a float parameter, in ``unit``.
    unit : str
        Display unit ("dB", "Hz", "ms", "" ...).
    scale : {"linear", "log", "db"}
        How a normalized 0..1 position maps onto the range: linear, logarithmic
        (for frequencies and times; ``minimum`` must be > 0) or a dB fader taper.
    kind : {"float", "bool", "choice"}
        Value kind; a choice parameter takes one of ``choices``.
    choices : tuple of str
        Allowed values of a choice parameter.
    step : float or None
        Quantization of a float parameter (1.0 for integer-valued ones).
    smoothing_ms : float or None
        Ramp time for changes while audio runs; None changes at once.
    description : str
        One line for ``plugin info`` and ``chain show``.
    """

    name: str
    default: Value
    minimum: float = 0.0
    maximum: float = 1.0
    unit: str = ""
    scale: Scale = "linear"
    kind: Kind = "float"
    choices: tuple[str, ...] = ()
    step: float | None = None
    smoothing_ms: float | None = None
    description: str = ""
    automatable: bool = field(default=True)

    def __post_init__(self) -> None:
        if self.kind == "float":
            if not self.minimum < self.maximum:
                raise ValueError(f"{self.name}: minimum {self.minimum} must be below maximum {self.maximum}")
            if self.scale == "log" and self.minimum <= 0:
                raise ValueError(f"{self.name}: a log scale needs minimum > 0, got {self.minimum}")
        if self.kind == "choice" and len(self.choices) < 1:
            raise ValueError(f"{self.name}: a choice parameter needs choices")

    def value_text(self, value: Value) -> str:
        """``value`` as ``plugin info`` and ``chain show`` print it: a float to 7 digits, the precision a plugin's
        0..1 float carries, and within a millionth of the range of 0 as 0 (a 0 dB default reads back as 1e-06 dB)."""
        if self.kind != "float" or isinstance(value, (bool, str)):
            return repr(value)
        number = float(value)
        return "0" if abs(number) < (self.maximum - self.minimum) * 1e-6 else f"{number:.7g}"

    # -- validation --------------------------------------------------------
    def range_text(self) -> str:
        """The allowed values as a phrase for error messages."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.minimum:g}..{self.maximum:g}{unit}"

    def validate(self, value: object, *, owner: str) -> Value:
        """Return ``value`` coerced to this parameter's kind, or raise.

        Raises
        ------
        TypeError
            If the value's type cannot be this kind.
        ParameterError
            If it is out of range, not finite, or not one of the choices.
        """
        where = f"{owner}.{self.name}" if owner else self.name
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            raise TypeError(f"{where}={value!r}: expected true or false")
        if self.kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            raise ParameterError(f"{where}={value!r} is not allowed; use {self.range_text()}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                if isinstance(value, (np.integer, np.floating)):
                    value = float(value)
                else:
                    raise TypeError
            except TypeError:
                raise TypeError(
                    f"{where}={value!r}: expected a number in {self.range_text()}{value_hint(self.name, value)}"
                ) from None
        number = float(value)
        if not math.isfinite(number) or not self.minimum <= number <= self.maximum:
            raise ParameterError(f"{where}={value!r} is outside {self.range_text()}")
        if self.step:
            number = self.minimum + round((number - self.minimum) / self.step) * self.step
        return number

    # -- normalization -----------------------------------------------------
    def to_normalized(self, value: Value) -> float:
        """Map a real value onto 0..1 following ``scale`` (clamped to the range)."""
        if self.kind == "bool":
            return 1.0 if value else 0.0
        if self.kind == "choice":
            if len(self.choices) == 1:
                return 0.0
            return self.choices.index(str(value)) / (len(self.choices) - 1)
        v = min(max(float(value), self.minimum), self.maximum)
        lo, hi = self.minimum, self.maximum
        if self.scale == "log":
            return math.log(v / lo) / math.log(hi / lo)
        if self.scale == "db":
            a_lo, a_hi = 10 ** (lo / 20), 10 ** (hi / 20)
            share = (10 ** (v / 20) - a_lo) / (a_hi - a_lo)
            return max(share, 0.0) ** (1.0 / DB_TAPER_EXPONENT)
        return (v - lo) / (hi - lo)

    def from_normalized(self, position: float) -> Value:
        """Map a 0..1 position (clamped) onto a real value following ``scale``."""
        x = min(max(float(position), 0.0), 1.0)
        if self.kind == "bool":
            return x >= 0.5
        if self.kind == "choice":
            return self.choices[int(round(x * (len(self.choices) - 1)))]
        lo, hi = self.minimum, self.maximum
        if self.scale == "log":
            value = lo * (hi / lo) ** x
        elif self.scale == "db":
            a_lo, a_hi = 10 ** (lo / 20), 10 ** (hi / 20)
            amplitude = a_lo + (x**DB_TAPER_EXPONENT) * (a_hi - a_lo)
            value = 20 * math.log10(amplitude)
        else:
            value = lo + x * (hi - lo)
        value = min(max(value, lo), hi)
        if self.step:
            value = lo + round((value - lo) / self.step) * self.step
        return value


class Parameter(ABC):
    """A live handle on one parameter of one node.

    The same interface for soundstage stages, pedalboard built-ins and external
    plugins: ``value`` in the parameter's unit, ``normalized`` in 0..1.

    Attributes
    ----------
    spec : ParameterSpec
        Name, unit, range, scale and kind.
    owner : str
        The node's display name, for messages.
    """

    spec: ParameterSpec
    owner: str

    @property
    def name(self) -> str:
        """The parameter's name (its attribute / chain-file key)."""
        return self.spec.name

    @property
    def unit(self) -> str:
        """The unit of :attr:`value`."""
        return self.spec.unit

    @property
    @abstractmethod
    def value(self) -> Value:
        """The current value in the parameter's unit."""

    @value.setter
    @abstractmethod
    def value(self, new_value: Value) -> None: ...

    @property
    def normalized(self) -> float:
        """The current value as a 0..1 position."""
        return self.to_normalized(self.value)

    @normalized.setter
    def normalized(self, position: float) -> None:
        self.value = self.from_normalized(position)

    def to_normalized(self, value: Value) -> float:
        """Convert a real value to a 0..1 position."""
        return self.spec.to_normalized(value)

    def from_normalized(self, position: float) -> Value:
        """Convert a 0..1 position to a real value."""
        return self.spec.from_normalized(position)

    def __repr__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"<Parameter {self.owner}.{self.name}={self.value!r}{unit} range={self.spec.range_text()}>"


class AttributeParameter(Parameter):
    """A parameter stored as an attribute of an object (a stage or a pedalboard built-in).

    Values are validated against the spec before they reach the object, so a
    pedalboard built-in never receives a value outside its table range.
    """

    def __init__(self, target: object, spec: ParameterSpec, *, owner: str, attribute: str | None = None) -> None:
        self.target = target
        self.spec = spec
        self.owner = owner
        #: The target's attribute holding the value (the parameter's name unless the target spells it otherwise).
        self.attribute = attribute or spec.name

    @property
    def value(self) -> Value:
        current = getattr(self.target, self.attribute)
        if self.spec.kind == "float":
            return float(current)
        if self.spec.kind == "bool":
            return bool(current)
        return str(getattr(current, "name", current))

    @value.setter
    def value(self, new_value: Value) -> None:
        checked = self.spec.validate(new_value, owner=self.owner)
        setattr(self.target, self.attribute, checked)
