"""Bake a chain into the program the native plugin engine runs (``native/engine.hpp``).

What a program holds: the plugin's parameters (the chain's knobs that the
engine can move natively), and per sample rate the chain as a sequence of
operations, each mirroring a soundstage stage sample for sample:

- ``Upmix`` (and the Spatializer's upmix): the same STFT, statistics and gates;
  its knobs are read per frame, as in Python.
- smoothed gains (``Gain``, the Spatializer's center level): the same ramps.
- MIMO FIRs (the Spatializer's filter matrix, the monitors): uniformly
  partitioned, crossfaded swaps starting where :class:`~soundstage.dsp.fir.MimoFir`
  starts them. The Spatializer's ``width`` is a parameter: its filters are the
  nodes of the design grid the Python stage streams from
  (:meth:`~soundstage.stages.device.Spatializer.design_grid`), stored as float32
  taps and interpolated as the grid interpolates them.
- delays (``Align``).
- channel matrices (``mix``: its gains; ``route``: ones and zeros).
- pedalboard's built-ins that are plain JUCE DSP (:data:`BUILTIN_KINDS`): JUCE's float32 arithmetic as pedalboard
  runs it, each run of them followed by the queue's delay soundstage's
  :class:`~soundstage.host.nodes.PedalboardStep` adds.
- the routing nodes that hold others (``on_channels``, ``per_channel``, ``parallel``, a nested ``chain``): their
  nodes' operations, run on the channels they name (or each channel) or side by side and summed, delayed as
  :mod:`soundstage.host.routing` delays them; a nested chain's stages in line.

The knobs that would need a redesign outside a grid (distance, depth, the
listener's position and yaw, a monitor's room and head) are fixed at the chain's
values: the export lists them. The blob is little-endian; ``engine.hpp`` reads it.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pedalboard
import scipy.fft

from soundstage.dsp.fir import partition_spectra
from soundstage.dsp.grid import GridAxis
from soundstage.errors import ChainError
from soundstage.export.exportable import (
    BUILTIN_KINDS,
    EXPORTABLE,
    branch_nodes,
    check_chain,
    check_channels,
    inner_nodes,
    plugin_input_channels,
    rate_free,
)
from soundstage.exported import ANY_RATE, MAGIC
from soundstage.host.builtins import builtin_specs, is_builtin
from soundstage.host.chain import Chain
from soundstage.host.nodes import Node, PedalboardStep, node_parameters
from soundstage.host.processor import Processor
from soundstage.host.routing import Mix, OnChannels, Parallel, PerChannel, Route
from soundstage.stages.align import Align
from soundstage.stages.beamformer import Beamformer
from soundstage.stages.crosstalk import CrosstalkCanceller
from soundstage.stages.device import FADE_SECONDS, Spatializer
from soundstage.stages.gain import Gain
from soundstage.stages.monitors import BinauralMonitor
from soundstage.stages.upmix import Upmix, frame_sizes
from soundstage.stages.virtualizer import Virtualizer

__all__ = ["ANY_RATE", "BUILTIN_KINDS", "EXPORTABLE", "PluginParameter", "Program", "bake", "plugin_input_channels", "rate_free"]

UPMIX, GAIN, FIR, DELAY, VIRTUALIZER, MATRIX, CHANNELS, BRANCHES, BUILTIN = 1, 2, 3, 4, 5, 6, 7, 8, 9
#: The Spatializer's upmix knobs, in the order engine.hpp reads them.
UPMIX_KNOBS = ("center_amount", "center_width_db", "smoothing_ms", "low_hz", "high_hz")


@dataclass(frozen=True)
class PluginParameter:
    """One knob of the plugin: ``stage.knob``, the name a host shows, its range, unit and default (the chain's value)."""

    name: str
    label: str
    symbol: str
    unit: str
    minimum: float
    maximum: float
    default: float
    boolean: bool
    #: The names of a choice's values (LadderFilter's mode: LPF12 ... BPF24), its value their index; else empty.
    choices: tuple[str, ...] = ()
    #: How the knob travels over the range (:attr:`~soundstage.host.parameters.ParameterSpec.scale`): "linear",
    #: "log" (a frequency, a time, a ratio: as far from 20 to 200 Hz as from 2 to 20 kHz) or "db" (a fader's taper).
    scale: str = "linear"


def host_label(stage_name: str, knob: str, unit: str) -> str:
    """The name a host shows for ``stage_name.knob``: ``"device: center level"`` for ``center_level_db`` in dB.

    Hosts show the unit beside the value, and pedalboard appends it to the name it makes
    (``device_center_level_db``), so the knob's unit suffix is left off here: written in,
    pedalboard would say ``device_center_level_db_db``."""
    suffix = f"_{unit.lower()}"
    words = knob[: -len(suffix)] if unit and knob.lower().endswith(suffix) else knob
    return f"{stage_name}: {words.replace('_', ' ')}"


@dataclass
class Program:
    """A baked chain: parameters, channel counts, latency per rate, the knobs fixed at export, and the blob.

    A chain none of whose stages holds a design made for one sample rate (only pedalboard's built-ins, Gain, mix,
    route and the routing nodes) is baked once, for every rate (:data:`ANY_RATE`): the engine builds it at the
    session's rate, as the chain does, so the plugin plays natively at any rate.
    """

    inputs: int
    outputs: int
    chain_text: str
    parameters: list[PluginParameter]
    latency: dict[float, int]
    fixed: list[str]
    blob: bytes = field(repr=False)

    @property
    def any_rate(self) -> bool:
        return ANY_RATE in self.latency


class _Writer:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def u32(self, value: int) -> None:
        self.parts.append(struct.pack("<I", int(value)))

    def i32(self, value: int) -> None:
        self.parts.append(struct.pack("<i", int(value)))

    def f32(self, value: float) -> None:
        self.parts.append(struct.pack("<f", float(value)))

    def f64(self, value: float) -> None:
        self.parts.append(struct.pack("<d", float(value)))

    def u64(self, value: int) -> None:
        self.parts.append(struct.pack("<Q", int(value)))

    def text(self, value: str) -> None:
        data = value.encode()
        self.u32(len(data))
        self.parts.append(data)

    def raw(self, data: bytes) -> None:
        self.parts.append(data)

    def knob(self, parameter: int, fixed: float) -> None:
        self.i32(parameter)
        self.f64(fixed)

    def bytes(self) -> bytes:
        return b"".join(self.parts)


def _taps(spectra: np.ndarray, inputs: int, partition: int) -> np.ndarray:
    """Partition spectra (out, K * in, P + 1) back to taps (out, in, K * P) float32 (what the engine re-transforms)."""
    outputs, columns, _ = spectra.shape
    parts = columns // inputs
    blocks = scipy.fft.irfft(np.asarray(spectra, np.complex128), n=2 * partition, axis=-1)[:, :, :partition]
    taps = blocks.reshape(outputs, parts, inputs, partition).transpose(0, 2, 1, 3).reshape(outputs, inputs, parts * partition)
    return np.ascontiguousarray(taps, dtype="<f4")


class _Baker:
    """Collects the parameters while the stages are baked at each rate."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.parameters: list[PluginParameter] = []
        self.fixed: list[str] = []
        self._index: dict[str, int] = {}

    def parameter(self, stage_name: str, stage: Node, knob: str) -> int:
        """The plugin parameter of ``stage_name.knob`` (made on first use)."""
        name = f"{stage_name}.{knob}"
        if name not in self._index:
            view = node_parameters(stage)[knob]
            spec, value = view.spec, view.value
            boolean = spec.kind == "bool"
            if spec.kind == "choice":  # its value is the index of its choice
                spec = replace(spec, minimum=0.0, maximum=float(len(spec.choices) - 1))
                value = float(spec.choices.index(str(value)))
            # pedalboard names a knob from its label and unit (``trim: gain`` in dB: trim_gain_db); a unit the knob's
            # name does not end with (pedalboard.Bitcrush's bit_depth in bits) is left off, or the name would differ
            unit = spec.unit if spec.unit and knob.lower().endswith(f"_{spec.unit.lower()}") else ""
            self._index[name] = len(self.parameters)
            self.parameters.append(
                PluginParameter(
                    name=name,
                    label=host_label(stage_name, knob, unit),
                    symbol=self._symbol(name),
                    unit=unit,
                    minimum=0.0 if boolean else float(spec.minimum),
                    maximum=1.0 if boolean else float(spec.maximum),
                    default=float(bool(value)) if boolean else float(value),
                    boolean=boolean,
                    choices=spec.choices if spec.kind == "choice" else (),
                    scale=spec.scale if spec.kind == "float" else "linear",
                )
            )
        return self._index[name]

    def _symbol(self, name: str) -> str:
        """The knob's LV2 symbol, a C identifier (``lv2:symbol``; lilv drops a plugin with one that is not): ``name``
        with every character but ASCII letters, digits and ``_`` made ``_``, a leading ``_`` before a digit or the
        ``lv2_`` DPF's own ports begin with, and ``_2``, ``_3`` ... after one another knob took (``trim 1`` and
        ``trim-1``)."""
        symbol = re.sub(r"[^A-Za-z0-9_]", "_", name)
        if symbol[:1].isdigit() or symbol.startswith("lv2_"):
            symbol = f"_{symbol}"
        taken = {parameter.symbol for parameter in self.parameters}
        unique, count = symbol, 2
        while unique in taken:
            unique, count = f"{symbol}_{count}", count + 1
        return unique

    def note_fixed(self, stage_name: str, stage: Processor, knobs: Sequence[str]) -> None:
        for knob in knobs:
            label = f"{stage_name}.{knob} = {stage.parameter_values()[knob]:g}"
            if label not in self.fixed:
                self.fixed.append(label)

    def nodes(self, out: _Writer, nodes: Sequence[tuple[str, Node]], rate: float, channels: int) -> tuple[int, int]:
        """Write the operations of ``nodes`` in sequence, as a chain runs them: each run of consecutive pedalboard
        built-ins delayed by the queue a PedalboardStep holds them behind; returns (operations written, output
        channels)."""
        count = 0
        for index, (name, node) in enumerate(nodes):
            written, channels = self.stage(out, name, node, rate, channels)
            count += written
            if is_builtin(node) and (index + 1 == len(nodes) or not is_builtin(nodes[index + 1][1])):
                count += self._delays(out, [PedalboardStep.BLOCK - 1] * channels)[0]
        return count, channels

    def stage(self, out: _Writer, name: str, stage: Node, rate: float, channels: int) -> tuple[int, int]:
        """Write the operations of one stage; returns (operations written, output channels)."""
        if is_builtin(stage):
            return self._builtin(out, name, stage, channels)
        assert isinstance(stage, Processor)  # _check_node let nothing else through
        if isinstance(stage, (Chain, OnChannels, PerChannel, Parallel)):
            return self._routing(out, name, stage, rate, channels)
        if isinstance(stage, Spatializer):
            return self._spatializer(out, name, stage, rate)
        if isinstance(stage, (BinauralMonitor, CrosstalkCanceller, Beamformer)):
            return self._fixed_fir(out, name, stage, rate, channels)
        if isinstance(stage, Virtualizer):
            return self._virtualizer(out, name, stage, rate)
        if isinstance(stage, Gain):
            out.u32(GAIN)
            out.u32(channels)
            out.u32(0)
            out.u32(channels)
            out.knob(self.parameter(name, stage, "gain_db"), 0.0)
            out.knob(self.parameter(name, stage, "invert"), 0.0)
            out.f64(_smoothing_ms(stage, "gain_db"))
            return 1, channels
        if isinstance(stage, Upmix):
            self._upmix(out, [(self.parameter(name, stage, knob), 0.0) for knob in UPMIX_KNOBS], rate)
            return 1, 3
        if isinstance(stage, (Mix, Route)):
            return self._matrix(out, stage, channels)
        if isinstance(stage, Align):
            return self._delays(out, stage.delays_samples(rate))
        raise AssertionError(f"unexpected stage {stage!r}")  # check_chain refused it

    @staticmethod
    def _matrix(out: _Writer, stage: Mix | Route, channels: int) -> tuple[int, int]:
        out.u32(MATRIX)
        out.u32(channels)
        gains = stage.matrix if isinstance(stage, Mix) else np.eye(channels)[stage.channels].tolist()
        out.u32(len(gains))
        for row in gains:
            for gain in row:
                out.f64(gain)
        return 1, len(gains)

    @staticmethod
    def _delays(out: _Writer, delays: Sequence[int]) -> tuple[int, int]:
        """Whole-sample delays, one per channel (an Align; the queue a run of pedalboard built-ins is delayed by)."""
        out.u32(DELAY)
        out.u32(len(delays))
        for delay in delays:
            out.u32(delay)
        return 1, len(delays)

    def _virtualizer(self, out: _Writer, name: str, stage: Virtualizer, rate: float) -> tuple[int, int]:
        self.note_fixed(name, stage, ["azimuth_deg", "head_radius_m"])
        out.u32(VIRTUALIZER)
        out.u32(stage.design(rate).delay_samples + stage.partition_size)
        out.knob(self.parameter(name, stage, "crossfeed"), 0.0)
        out.f64(_smoothing_ms(stage, "crossfeed"))
        spectra = partition_spectra(stage.contralateral_filters(rate), stage.partition_size)
        self._fir_body(out, [spectra], 2, stage.partition_size, 0, -1, None)  # fixed: never fades
        return 1, 2

    def _builtin(self, out: _Writer, name: str, plugin: pedalboard.Plugin, channels: int) -> tuple[int, int]:
        """A pedalboard built-in: its kind, channels and knobs (its table's, in order)."""
        kind = type(plugin).__name__
        out.u32(BUILTIN)
        out.u32(BUILTIN_KINDS.index(kind) + 1)
        out.u32(channels)
        specs = builtin_specs(kind)
        out.u32(len(specs))
        for spec in specs:
            out.knob(self.parameter(name, plugin, spec.name), 0.0)
        return 1, channels

    def _routing(
        self, out: _Writer, name: str, stage: Chain | OnChannels | PerChannel | Parallel, rate: float, channels: int
    ) -> tuple[int, int]:
        """A node that holds others (its latencies as of the chain's stream at ``rate``; check_chain has checked
        every node it holds)."""
        if isinstance(stage, Chain):  # a nested chain: its stages in line, named as its parameters are
            return self.nodes(out, inner_nodes(name, stage), rate, channels)
        if isinstance(stage, (OnChannels, PerChannel)):
            targets = stage.channels if stage.channels is not None else list(range(channels))
            groups = [targets] if isinstance(stage, OnChannels) else [[channel] for channel in targets]
            out.u32(CHANNELS)
            out.u32(channels)
            out.u32(len(groups))
            for group in groups:
                out.u32(len(group))
                for channel in group:
                    out.u32(channel)
                out.u32(0)  # every group is the same node, as slow as the slowest
                self._run(out, inner_nodes(name, stage), rate, len(group))
            out.u32(stage.latency_samples)  # the channels no group takes
            return 1, channels
        assert isinstance(stage, Parallel)
        latencies = [branch.latency_samples for branch in stage.branches]
        out.u32(BRANCHES)
        out.u32(channels)
        out.u32(len(stage.branches))
        made = channels
        for index, (branch, latency) in enumerate(zip(stage.branches, latencies, strict=True)):
            out.u32(max(latencies) - latency)
            made = self._run(out, branch_nodes(name, index, branch), rate, channels)
        return 1, made

    def _run(self, out: _Writer, nodes: list[tuple[str, Node]], rate: float, channels: int) -> int:
        """Write ``nodes`` as a run of operations of their own (routing.hpp's OpRun); returns its output channels."""
        body = _Writer()
        count, channels = self.nodes(body, nodes, rate, channels)
        out.u32(count)
        out.raw(body.bytes())
        return channels

    @staticmethod
    def _upmix(out: _Writer, knobs: list[tuple[int, float]], rate: float) -> None:
        out.u32(UPMIX)
        for size in frame_sizes(rate):  # the FFT size and the hop
            out.u32(size)
        for parameter, fixed in knobs:
            out.knob(parameter, fixed)

    def _spatializer(self, out: _Writer, name: str, stage: Spatializer, rate: float) -> tuple[int, int]:
        upmix = stage.upmix
        knobs = [(self.parameter(name, stage, "center_amount"), 0.0)]
        knobs += [(-1, upmix.float_value(knob)) for knob in UPMIX_KNOBS[1:]]
        self._upmix(out, knobs, rate)
        out.u32(GAIN)
        out.u32(3)
        out.u32(2)
        out.u32(1)
        out.knob(self.parameter(name, stage, "center_level_db"), 0.0)
        out.knob(-1, 0.0)
        out.f64(_smoothing_ms(stage, "center_level_db"))
        self.note_fixed(name, stage, [knob for knob in stage.design_parameters if knob != "width"])
        grid = stage.design_grid(rate)
        width = next(axis for axis in grid.axes if axis.name == "width")
        values = {axis.name: stage.float_value(axis.name) for axis in grid.axes}
        nodes = [stage.grid_filters(rate, {**values, "width": width.value(index)}) for index in range(width.count)]
        outputs = nodes[0].shape[0]
        fade = int(FADE_SECONDS * rate)  # as the stage's CrossfadingFir
        self._write_fir(out, nodes, 3, stage.partition_size, fade, self.parameter(name, stage, "width"), width)
        return 3, outputs

    def _fixed_fir(
        self, out: _Writer, name: str, stage: BinauralMonitor | CrosstalkCanceller | Beamformer, rate: float, channels: int
    ) -> tuple[int, int]:
        """A stage that is one FIR at fixed knobs: its design as its CrossfadingFir runs it."""
        form = getattr(stage, "form", "direct")
        if form != "direct":
            raise ChainError(
                f"{self.source}: stage {name!r} ({stage.type_name}): form = {form!r} cannot go into a plugin; "
                "use form = 'direct' (the same response, one FIR)"
            )
        self.note_fixed(name, stage, stage.design_parameters)
        stage.output_channels_for(channels)
        spectra = partition_spectra(stage.design(rate).impulse, stage.partition_size)
        self._write_fir(out, [spectra], channels, stage.partition_size, 0, -1, None)  # fixed: never fades
        return 1, spectra.shape[0]

    @staticmethod
    def _write_fir(
        out: _Writer, nodes: list[np.ndarray], inputs: int, partition: int, fade: int, axis: int, grid_axis: GridAxis | None
    ) -> None:
        out.u32(FIR)
        _Baker._fir_body(out, nodes, inputs, partition, fade, axis, grid_axis)

    @staticmethod
    def _fir_body(
        out: _Writer, nodes: list[np.ndarray], inputs: int, partition: int, fade: int, axis: int, grid_axis: GridAxis | None
    ) -> None:
        outputs, columns, _ = nodes[0].shape
        out.u32(outputs)
        out.u32(inputs)
        out.u32(partition)
        out.u32(columns // inputs)
        out.u32(fade)
        out.i32(axis)
        out.f64(grid_axis.step if grid_axis else 0.0)
        out.f64(grid_axis.low if grid_axis else 0.0)
        out.f64(grid_axis.high if grid_axis else 0.0)
        out.u32(grid_axis.order if grid_axis else 1)
        out.u32(len(nodes))
        for spectra in nodes:
            out.raw(_taps(spectra, inputs, partition).tobytes())


def _smoothing_ms(stage: Processor, knob: str) -> float:
    spec = next(spec for spec in stage.parameter_specs if spec.name == knob)
    return float(spec.smoothing_ms or 0.0)


def _write_parameters(blob: _Writer, parameters: list[PluginParameter]) -> None:
    """The knobs' table of the program: per knob its label, symbol, unit, range, default, kind and choices."""
    blob.u32(len(parameters))
    for parameter in parameters:
        blob.text(parameter.label)
        blob.text(parameter.symbol)
        blob.text(parameter.unit)
        blob.f32(parameter.minimum)
        blob.f32(parameter.maximum)
        blob.f32(parameter.default)
        # the kind: 0 a number, 1 on/off, 2 a choice, its names following, 3 a number on a logarithmic scale
        kind = 2 if parameter.choices else 1 if parameter.boolean else 3 if parameter.scale == "log" else 0
        blob.raw(bytes([kind]))
        if parameter.choices:
            blob.u32(len(parameter.choices))
            for choice in parameter.choices:
                blob.text(choice)


def bake(chain: Chain, chain_text: str, *, rates: Sequence[float], source: str) -> Program:
    """Bake ``chain`` (its stages' current values are the plugin's defaults) for each of ``rates``, or once for
    every rate if it is :func:`rate_free`; its inputs are :func:`plugin_input_channels`."""
    stages = check_chain(chain, source)
    input_channels = plugin_input_channels(stages[0][1])
    check_channels(stages, input_channels, source)
    baker = _Baker(source)
    per_rate: list[tuple[float, bytes]] = []
    latency: dict[float, int] = {}
    outputs = input_channels
    any_rate = all(rate_free(node) for _, node in stages)
    for rate in [48000.0] if any_rate else rates:  # any rate: its latency and operations are those at 48 kHz
        chain.open_stream(float(rate), input_channels)  # the routing nodes' latencies at this rate
        filed = ANY_RATE if any_rate else float(rate)
        latency[filed] = int(chain.latency_samples)
        body = _Writer()
        count, outputs = baker.nodes(body, stages, float(rate), input_channels)
        chain.reset()
        head = _Writer()
        head.u32(latency[filed])
        head.u32(count)
        per_rate.append((filed, head.bytes() + body.bytes()))
    blob = _Writer()
    blob.raw(MAGIC)
    blob.text(chain_text)
    blob.u32(input_channels)
    blob.u32(outputs)
    _write_parameters(blob, baker.parameters)
    blob.u32(len(per_rate))
    for rate, body_bytes in per_rate:
        blob.f64(rate)
        blob.u64(len(body_bytes))
        blob.raw(body_bytes)
    return Program(input_channels, outputs, chain_text, baker.parameters, latency, baker.fixed, blob.bytes())
