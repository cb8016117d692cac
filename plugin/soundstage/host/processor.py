"""``Processor``: the base of every soundstage stage, with pedalboard's call contract.

A processor is called exactly like a pedalboard plugin::

    out = stage(audio, sample_rate)                       # one shot, reset=True
    out = stage.process(block, sample_rate, reset=False)  # streaming

and adds what pedalboard plugins lack: declared channel counts, a reported
latency, and a parameter table (:class:`~soundstage.host.parameters.ParameterSpec`).

Latency and streaming follow pedalboard. With ``reset=True`` the output has the
input's length and is latency-compensated (an impulse stays where it was). With
``reset=False`` the output is latency-compensated too, so the first calls of a
stream return fewer samples than they were given (``latency_samples`` fewer in
all); :meth:`Processor.flush` returns those last samples and ends the stream.
Concatenating every streamed output and ``flush()`` equals the one-shot output.

Subclasses implement :meth:`Processor._prepare` (allocate state for a sample rate
and channel count) and :meth:`Processor._process_block` (``(channels, n)`` in,
``(output_channels, n)`` out, delayed by ``latency_samples``: the raw stream).
"""

from __future__ import annotations

import difflib
import importlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from soundstage.designstore import one_blas_thread
from soundstage.errors import ChannelError, ParameterError, StreamError
from soundstage.host.audio import as_audio, check_sample_rate
from soundstage.host.parameters import AttributeParameter, ParameterSpec, Value

__all__ = ["Processor", "ANY", "stage_types"]

#: Channel count meaning "any number of channels".
ANY = None
#: Designs a stage keeps memoised (least recently used evicted first).
MEMO_ENTRIES = 24
#: Guards every stage's design memo (a render and its figures, or a design worker, may ask one stage at once);
#: module-wide, as a lock in the stage would stop stages being copied. Designs are computed outside it.
_MEMO_LOCK = threading.Lock()
_MISSING = object()

#: Stage types by type name: every Processor subclass registers itself here when its
#: class is defined (see :meth:`Processor.__init_subclass__`); chain files look types up here.
_STAGE_TYPES: dict[str, type[Processor]] = {}


def stage_types() -> dict[str, type[Processor]]:
    """The stage types a chain file may name, by type name (a new dict each call).

    Every subclass of :class:`Processor` is one, from the moment its class is
    defined: soundstage's stages, and any of yours (``type_name`` is the class
    name unless the class sets it). Routing nodes and :class:`Chain` are not: chain
    files name them with their own tables. soundstage's own stages register when
    :mod:`soundstage.stages` is imported; this makes sure it is (``import soundstage``
    no longer loads it, so the command line starts fast).
    """
    importlib.import_module("soundstage.stages")  # a plugin package loaded by name: the layers still only look down
    return dict(_STAGE_TYPES)


class _ParameterAttribute:
    """Descriptor that stores a parameter through :meth:`Processor._set_parameter`."""

    def __init__(self, spec: ParameterSpec) -> None:
        self.spec = spec
        self.__doc__ = spec.description or f"{spec.name} ({spec.range_text()})"

    def __get__(self, instance: Processor | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance._values[self.spec.name]

    def __set__(self, instance: Processor, value: Value) -> None:
        instance._set_parameter(self.spec, value)


class _Ramp:
    """A linear parameter ramp, exact per sample whatever the block size.

    The value at sample ``position`` of the ramp is ``start + slope * position``
    (computed, not accumulated), so splitting a stream differently cannot change it.
    """

    __slots__ = ("start", "target", "slope", "position", "length")

    def __init__(self, value: float) -> None:
        self.start = self.target = float(value)
        self.slope = 0.0
        self.position = self.length = 0

    @property
    def value(self) -> float:
        if self.position >= self.length:
            return self.target
        return self.start + self.slope * self.position

    def move_to(self, target: float, samples: int) -> None:
        current = self.value
        self.target = float(target)
        if samples <= 0 or current == self.target:
            self.start, self.position, self.length, self.slope = self.target, 0, 0, 0.0
            return
        self.start, self.position, self.length = current, 0, samples
        self.slope = (self.target - current) / samples

    def render(self, n: int) -> np.ndarray:
        """The next ``n`` values; settled: one value, read-only and broadcast (nothing written per sample)."""
        if self.position >= self.length:
            return np.broadcast_to(np.float64(self.target), (n,))
        positions = self.position + 1 + np.arange(n, dtype=np.float64)
        values = np.where(positions >= self.length, self.target, self.start + self.slope * positions)
        self.position = min(self.position + n, self.length)
        return values


class Processor:
    """Base class of soundstage stages: pedalboard's contract plus channels, latency, parameters.

    Subclasses declare ``parameter_specs`` (a tuple of
    :class:`~soundstage.host.parameters.ParameterSpec`), which become attributes
    and constructor keywords, and ``input_channels`` / ``output_channels``
    (an int, or :data:`ANY` for "any" input / "same as input" output). A subclass
    is a stage type chain files can name from its definition on (``type_name``,
    default the class name; ``register=False`` in the class keywords opts out).

    Subclasses implement the protected hooks (this class's own business and
    theirs): ``_prepare(sample_rate, num_channels)`` allocates and clears the
    stream state, ``_process_block(block)`` maps ``(channels, n)`` to
    ``(output_channels, n)`` delayed by ``latency_samples``, and
    ``_parameter_changed(name)`` redesigns after a change, keeping the state.
    Others drive the raw stream through :meth:`open_stream` and :meth:`process_block`.

    Stream state: the stream's rate and channel count (:attr:`sample_rate`,
    :attr:`stream_channels`; None before a stream opens), the latency it
    compensates (:attr:`stream_latency_samples`), the output samples still to drop
    at its start (at most that latency), and one linear ramp per smoothed
    parameter (its start, target and position, exact per sample whatever the
    block sizes). A stage's own state (FIR engines, delay lines, STFTs) documents
    its shapes where it is defined (e.g. :class:`~soundstage.dsp.fir.FirState`).

    Examples
    --------
    >>> import numpy as np
    >>> from soundstage import Gain
    >>> out = Gain(gain_db=-6.0)(np.ones((2, 4800), np.float32), 48000)
    >>> out.shape, round(float(out[0, -1]), 4)
    ((2, 4800), 0.5012)
    """

    parameter_specs: ClassVar[tuple[ParameterSpec, ...]] = ()
    input_channels: ClassVar[int | None] = ANY
    output_channels: ClassVar[int | None] = ANY
    type_name: ClassVar[str] = "Processor"
    #: Constructor arguments that are configuration, not parameters (chain-file keys).
    config_keys: ClassVar[tuple[str, ...]] = ()
    #: Parameters whose change redesigns filters (costly): live control designs them off the audio thread
    #: (:class:`~soundstage.host.prefetch.DesignWorker`).
    design_parameters: ClassVar[tuple[str, ...]] = ()
    #: Whether a change of a design parameter while streaming may take its filters from a design grid
    #: (:mod:`soundstage.dsp.grid`) instead of an exact design; a design worker turns it off for its stages.
    interpolate_designs: bool = False

    def __init_subclass__(cls, *, register: bool = True, **kwargs: Any) -> None:
        """Make the parameters attributes, and register the class as a stage type (unless ``register=False``).

        A second class under a type name already taken by another class (not the
        same class defined again, as a reloaded module does) is a ``TypeError``.
        """
        super().__init_subclass__(**kwargs)
        if "type_name" not in cls.__dict__:
            cls.type_name = cls.__name__
        for spec in cls.__dict__.get("parameter_specs", ()):
            setattr(cls, spec.name, _ParameterAttribute(spec))
        if not register:
            return
        taken = _STAGE_TYPES.get(cls.type_name)
        if taken is not None and (taken.__module__, taken.__qualname__) != (cls.__module__, cls.__qualname__):
            raise TypeError(
                f"stage type name {cls.type_name!r} of {cls.__module__}.{cls.__qualname__} is taken by "
                f"{taken.__module__}.{taken.__qualname__}; set another type_name on the class"
            )
        _STAGE_TYPES[cls.type_name] = cls

    def __init__(self, **parameters: Value) -> None:
        self._values: dict[str, Value] = {spec.name: spec.default for spec in self.parameter_specs}
        self._ramps: dict[str, _Ramp] = {}
        self._sample_rate: float | None = None
        self._num_channels: int | None = None
        self._open = False
        self._drop = 0
        self._stream_latency = 0
        self._buffer_size = 8192
        self._constructed = False  # no _parameter_changed hooks while the constructor sets values
        for name, value in parameters.items():
            if name not in self._values:
                raise self._unknown_parameter(name)
            setattr(self, name, value)
        self._constructed = True

    # -- parameters ---------------------------------------------------------
    def _unknown_parameter(self, name: str) -> ParameterError:
        known = list(self._values)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listed = ", ".join(known) if known else "none"
        return ParameterError(f"{self.type_name} has no parameter {name!r}{hint} (parameters: {listed})")

    def __setattr__(self, name: str, value: Any) -> None:
        # Catch the typo pedalboard lets through silently (plugin.gain_bd = 3).
        if (
            not name.startswith("_")
            and "_values" in self.__dict__
            and name not in self._values
            and not hasattr(type(self), name)
            and name not in self.__dict__
            and difflib.get_close_matches(name, list(self._values), n=1)
        ):
            raise self._unknown_parameter(name)
        object.__setattr__(self, name, value)

    def _set_parameter(self, spec: ParameterSpec, value: Value) -> None:
        checked = spec.validate(value, owner=self.type_name)
        previous = self._values[spec.name]
        self._values[spec.name] = checked
        if spec.smoothing_ms and spec.kind == "float":
            ramp = self._ramps.setdefault(spec.name, _Ramp(float(previous)))
            samples = 0
            if self._sample_rate is not None:
                samples = int(round(spec.smoothing_ms * 1e-3 * self._sample_rate))
            ramp.move_to(float(checked), samples)
        if checked != previous and self._constructed:
            self._parameter_changed(spec.name)

    def _parameter_changed(self, name: str) -> None:
        """Hook: a parameter changed (redesign coefficients here; keep the state)."""

    def _memoised(self, sample_rate: float, compute: Any, *, depends_on: tuple[str, ...] | None = None) -> Any:
        """``compute(sample_rate)``, cached per sample rate and parameter values.

        For stages whose filters take a design step: a reset, a re-opened stream or
        a query of the latency reuses the design instead of computing it again.
        ``depends_on`` names the parameters the result depends on (default: all),
        so a change of any other parameter reuses it.
        """
        names = sorted(self._values) if depends_on is None else sorted(depends_on)
        key = (getattr(compute, "__name__", ""), sample_rate, tuple((name, self._values[name]) for name in names))
        with _MEMO_LOCK:
            cache = self.__dict__.setdefault("_memo", {})
            found = cache.pop(key, _MISSING)
            if found is not _MISSING:
                cache[key] = found  # the most recently used last: a design every change uses is never evicted
                return found
        with one_blas_thread():  # the same bits whatever BLAS's threads (one_blas_thread)
            value = compute(sample_rate)  # outside the lock: designs nest, and threads design in parallel
        with _MEMO_LOCK:
            cache[key] = value
            while len(cache) > MEMO_ENTRIES:
                cache.pop(next(iter(cache)))
        return value

    def memoised_designs(self) -> dict[Any, Any]:
        """The designs this stage has memoised (see :meth:`_memoised`), by key: for :meth:`adopt_designs`."""
        with _MEMO_LOCK:
            return dict(self.__dict__.get("_memo", {}))

    def adopt_designs(self, designs: Mapping[Any, Any]) -> None:
        """Take designs a copy of this stage memoised (a design worker's), so setting the same values here
        finds them ready. Keeps the newest :data:`MEMO_ENTRIES`."""
        with _MEMO_LOCK:
            mine = self.__dict__.setdefault("_memo", {})
            mine.update(designs)
            while len(mine) > MEMO_ENTRIES:
                mine.pop(next(iter(mine)))

    # typed reads of the current values, one per parameter kind (what a stage's design code needs)
    def float_value(self, name: str) -> float:
        """The value of the float parameter ``name`` (TypeError for a bool or choice parameter)."""
        return float(self._typed(name, "float"))

    def bool_value(self, name: str) -> bool:
        """The value of the bool parameter ``name`` (TypeError for a float or choice parameter)."""
        value = self._typed(name, "bool")
        assert isinstance(value, bool)
        return value

    def choice_value(self, name: str) -> str:
        """The value of the choice parameter ``name`` (TypeError for a float or bool parameter)."""
        value = self._typed(name, "choice")
        assert isinstance(value, str)
        return value

    def _typed(self, name: str, kind: str) -> Value:
        spec = next((spec for spec in self.parameter_specs if spec.name == name), None)
        if spec is None:
            raise self._unknown_parameter(name)
        if spec.kind != kind:
            raise TypeError(f"{self.type_name}.{name} is a {spec.kind} parameter, not a {kind} one")
        return self._values[name]

    def _smoothed(self, name: str, num_samples: int) -> np.ndarray:
        """Per-sample values of a smoothed parameter for the next ``num_samples`` samples (read-only)."""
        ramp = self._ramps.get(name)
        if ramp is None:
            return np.broadcast_to(np.float64(self._values[name]), (num_samples,))
        return ramp.render(num_samples)

    @property
    def parameters(self) -> dict[str, AttributeParameter]:
        """The parameter view: name -> :class:`~soundstage.host.parameters.Parameter`."""
        return {spec.name: AttributeParameter(self, spec, owner=self.type_name) for spec in self.parameter_specs}

    def parameter_values(self) -> dict[str, Value]:
        """Current parameter values by name."""
        return dict(self._values)

    # -- channels and latency ----------------------------------------------
    def output_channels_for(self, num_input_channels: int) -> int:
        """The output channel count for ``num_input_channels`` inputs, or raise ChannelError."""
        if self.input_channels is not None and num_input_channels != self.input_channels:
            raise ChannelError(
                f"{self.type_name} expects {self.input_channels} input channel"
                f"{'s' if self.input_channels != 1 else ''}, got {num_input_channels}"
            )
        return self.output_channels if self.output_channels is not None else num_input_channels

    @property
    def latency_samples(self) -> int:
        """Samples by which the raw output lags the input (compensated by ``process``)."""
        return 0

    @property
    def sample_rate(self) -> float | None:
        """The sample rate of the current stream, or None before the first call."""
        return self._sample_rate

    # -- the pedalboard contract -------------------------------------------
    def process(
        self,
        input_array: np.ndarray,
        sample_rate: float,
        buffer_size: int = 8192,
        reset: bool = True,
    ) -> np.ndarray:
        """Process audio, pedalboard-style.

        Parameters
        ----------
        input_array : ndarray, shape (samples,) or (channels, samples)
            float32 or float64 audio; 1-D is mono.
        sample_rate : float
            Hz.
        buffer_size : int
            Largest block handed to the processing code, in samples (>= 1).
        reset : bool
            True: start from a clean state and return the whole,
            latency-compensated result. False: continue the open stream.

        Returns
        -------
        ndarray, shape (output_channels, samples), float32
        """
        owner = self.type_name
        rate = check_sample_rate(sample_rate, owner=owner)
        if isinstance(buffer_size, bool) or not isinstance(buffer_size, (int, np.integer)) or buffer_size < 1:
            raise ParameterError(f"{owner}: buffer_size={buffer_size!r} must be a whole number of samples >= 1")
        audio = as_audio(input_array, owner=owner, expected_channels=self.input_channels)
        channels = audio.shape[0]
        if reset or not self._open:
            self._open_stream(rate, channels)
        elif rate != self._sample_rate or channels != self._num_channels:
            raise StreamError(
                f"{owner}: a stream at {self._sample_rate:g} Hz with {self._num_channels} channel(s) is open, "
                f"but this call has {rate:g} Hz and {channels} channel(s); pass reset=True or call reset() first"
            )
        self._buffer_size = int(buffer_size)
        if not reset:
            return self._run(audio)
        out = self._run(audio, tail=self._stream_latency)  # the input, then the flush's silence, in one allocation
        self.reset()
        return out

    __call__ = process

    def flush(self) -> np.ndarray:
        """Return the last ``latency_samples`` samples of the open stream and end it.

        After streaming with ``reset=False``, the outputs hold ``latency_samples``
        fewer samples than the inputs; ``flush()`` processes silence to return them.
        The stream's state is then cleared (as by :meth:`reset`).

        Returns
        -------
        ndarray, shape (output_channels, k), float32
            ``k = min(latency_samples, samples streamed)``; empty with no open stream.
        """
        if not self._open or self._num_channels is None:
            out = self.output_channels_for(self._num_channels) if self._num_channels else 0
            return np.zeros((out, 0), np.float32)
        silence = np.zeros((self._num_channels, self._stream_latency), np.float32)
        tail = self._run(silence) if self._stream_latency else None
        self.reset()
        if tail is None:
            return np.zeros((self.output_channels_for(self._num_channels), 0), np.float32)
        return tail

    def reset(self) -> None:
        """Clear all streaming state (tails, delay lines, ramps); keep parameter values."""
        if self._sample_rate is not None and self._num_channels is not None:
            self._prepare(self._sample_rate, self._num_channels)
        for ramp in self._ramps.values():
            ramp.move_to(ramp.target, 0)
        self._open = False

    # -- the raw stream (what chains, automation and composite stages drive) ----
    @property
    def stream_channels(self) -> int | None:
        """Input channel count of the open stream, or None when no stream is open."""
        return self._num_channels if self._open else None

    @property
    def stream_latency_samples(self) -> int:
        """The latency the open stream compensates (``latency_samples`` when it opened)."""
        return self._stream_latency

    def open_stream(self, sample_rate: float, num_channels: int) -> None:
        """Start a raw stream: clear state and prepare for ``num_channels`` inputs at ``sample_rate``.

        The raw stream is what :meth:`process` runs on: :meth:`process_block`
        returns output delayed by ``latency_samples`` and compensates nothing. A
        chain drives its members this way, so latency is compensated once, at the end.
        """
        self._open_stream(float(sample_rate), int(num_channels))

    def process_block(self, block: np.ndarray) -> np.ndarray:
        """One raw block of the open stream: ``(channels, n)`` float32 in, ``(output_channels, n)`` out.

        The output lags the input by ``latency_samples`` (uncompensated, unlike
        :meth:`process`); call :meth:`open_stream` first.
        """
        return self._process_block(block)

    # -- internals ------------------------------------------------------------
    def _open_stream(self, sample_rate: float, num_channels: int) -> None:
        self.output_channels_for(num_channels)
        self._sample_rate = sample_rate
        self._num_channels = num_channels
        for ramp in self._ramps.values():
            ramp.move_to(ramp.target, 0)
        self._prepare(sample_rate, num_channels)
        self._stream_latency = int(self.latency_samples)
        self._drop = self._stream_latency
        self._open = True

    def _run(self, audio: np.ndarray, tail: int = 0) -> np.ndarray:
        """Raw-process ``audio`` (then ``tail`` samples of silence) in blocks; drop the stream's leading latency."""
        step = self._buffer_size
        length = audio.shape[1]
        keep = max(length + tail - self._drop, 0)
        result = np.empty((self.output_channels_for(audio.shape[0]), keep), np.float32)
        written = 0

        def blocks() -> Iterator[np.ndarray]:
            for start in range(0, length, step):
                yield audio[:, start : start + step]
            for start in range(0, tail, step):  # silence, cut as flush() cuts it
                yield np.zeros((audio.shape[0], min(step, tail - start)), np.float32)

        for block in blocks():
            out = self._process_block(block)
            if self._drop:
                cut = min(self._drop, out.shape[1])
                out = out[:, cut:]
                self._drop -= cut
            result[:, written : written + out.shape[1]] = out
            written += out.shape[1]
        return result

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        """Hook: allocate and clear state for a stream. Called on reset too."""

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        """Hook: process one ``(channels, n)`` float32 block into ``(out_channels, n)``."""
        return block

    # -- display --------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        """Constructor arguments that are not parameters (structure), for repr and chain files."""
        return {}

    def __repr__(self) -> str:
        parts = [f"{key}={value!r}" for key, value in self._config().items()]
        for spec in self.parameter_specs:
            value = self._values[spec.name]
            if value != spec.default:
                parts.append(f"{spec.name}={value!r}")
        return f"<{self.type_name}{' ' if parts else ''}{' '.join(parts)}>"
