"""Design grids: a knob change that redesigns filters, made about as cheap as a gain change.

A stage whose filters come out of a costly design (the device chain: a
regularized inversion per frequency bin, a tonal match, the FIR realization)
cannot redesign at every step of an automation ride. :class:`DesignGrid`
designs exactly at the nodes of a regular grid over the knobs that move (each
node once, memoised across stages of the same configuration) and between
nodes interpolates the filter taps per axis, linearly or with a cubic: a change
costs a weighted sum of the surrounding designs (two or four per axis).

Why interpolating taps is sound here. Interpolating FIR taps is wrong across a
change of delay (the sum of two shifted impulses is a comb, not a shifted
impulse). The stages that use a grid keep every delay out of the gridded knobs:
the modeling delays are constants, the alignment delays depend on the listener
position and distance only, which are not gridded (a change of those redesigns
exactly). What the gridded knobs (width: a separation plateau and a crossfeed
gain; head yaw: a rotation of a few degrees) change is the filters' shape,
smoothly: the interpolation error falls with the square of the grid step
(linear) or its fourth power (cubic, where the design is smooth in the knob:
the Spatializer's width and yaw, whose canceller design eases its limits for that,
:data:`~soundstage.stages.crosstalk.CAP_SOFTNESS_DB`,
:data:`~soundstage.stages.crosstalk.EFFORT_POLE_SOFTNESS`). The steps and orders are
chosen from that measurement (``benchmarks/automation.py`` prints the error of
a whole automated render against exact designs at every change).

Parts that do not move. Much of a design does not move with the gridded knobs
(the Spatializer's first and last partitions, before and after its modeling
delays: 15 of 27 spectra columns move by less than -80 dB re the filter). A grid
made with ``still_db`` finds, once per cell (the nodes one interpolation reads),
the leading and trailing slices of the nodes' first axis whose spread over the
cell is below ``still_db`` re the energy of one node of the cell (the still
source, shared by most neighboring cells), and takes them from that node
instead of blending them: a knob change reads only the moving slices. The
error this adds is at most ``still_db`` plus ``20 log10(sum |w|)`` (the
interpolation weights; at most +4 dB for a cubic in two knobs) re the filters,
far below the interpolation's own.

The result is deterministic: the same knob values give the same filters in
every run, whatever was designed before.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

from soundstage.dsp.fir import blend
from soundstage.memo import LruCache

__all__ = ["DesignGrid", "GridAxis", "clear_grid_cache", "grid_cache_info", "moving_slices"]

#: Memory the node designs of all grids may keep (least recently used dropped first), bytes: a ride of one
#: knob fits (width: 41 nodes of 0.55 MB; yaw over +-20 degrees: about 160), and a session stays within its RSS target.
GRID_CACHE_BYTES = 256 * 2**20

#: Node designs by (grid token, node indices), shared by every grid: stages of one configuration share nodes.
_NODES: LruCache[tuple[np.ndarray, Any]] = LruCache(max_bytes=GRID_CACHE_BYTES, size=lambda node: int(node[0].nbytes))
#: A small number per (grid key, axes): equal grids share it, and with it their nodes. At most
#: ``MAX_TOKENS`` are kept, so a long session moving knobs that are not gridded does not grow it.
_TOKENS: dict[Hashable, int] = {}
#: The moving slices of each cell of a grid made with ``still_db``: (grid token, the cell's nodes) -> (start, stop).
_CELLS: LruCache[tuple[int, int]] = LruCache(max_entries=65536)
_TOKEN_NUMBERS = itertools.count()
MAX_TOKENS = 4096


def clear_grid_cache() -> None:
    """Forget every node design (tests; memory) and reset the count of nodes designed."""
    _NODES.clear()
    _CELLS.clear()


def grid_cache_info() -> dict[str, int]:
    """Nodes designed since the cache was cleared, nodes kept, and their bytes (the limit: ``GRID_CACHE_BYTES``)."""
    return {"designed": _NODES.computed, "kept": len(_NODES), "bytes": _NODES.bytes, "limit": _NODES.max_bytes or 0}


@dataclass(frozen=True)
class GridAxis:
    """One gridded knob: nodes at ``low + k * step`` for ``k = 0 .. ceil((high - low) / step)``, the last at ``high``.

    ``order`` 1 interpolates linearly between the two nodes around a value; 3 with the cubic
    through the four nearest nodes (Lagrange; at the ends of the range the four at that end),
    for a knob on which the designs are smooth: the error falls with the fourth power of the step.
    """

    name: str
    step: float
    low: float
    high: float
    order: int = 1

    def __post_init__(self) -> None:
        if self.order not in (1, 3):
            raise ValueError(f"grid axis {self.name!r}: order {self.order} (1: linear, 3: cubic)")

    @functools.cached_property  # asked for several times per knob change
    def count(self) -> int:
        """Number of nodes."""
        return int(math.ceil((self.high - self.low) / self.step - 1e-9)) + 1

    def value(self, index: int) -> float:
        """The knob value of node ``index``."""
        return self.high if index >= self.count - 1 else self.low + index * self.step

    def bracket(self, value: float) -> tuple[tuple[int, float], ...]:
        """The nodes ``value`` is interpolated from and their weights (summing to 1): one node (weight 1) on a node."""
        v = min(max(float(value), self.low), self.high)
        position = (v - self.low) / self.step
        index = min(int(math.floor(position)), self.count - 2)
        lo, hi = self.value(index), self.value(index + 1)
        t = (v - lo) / (hi - lo)
        if t <= 0.0:
            return ((index, 1.0),)
        if t >= 1.0:
            return ((index + 1, 1.0),)
        if self.order == 1 or self.count < 4:
            return ((index, 1.0 - t), (index + 1, t))
        first = min(max(index - 1, 0), self.count - 4)
        nodes = [self.value(first + k) for k in range(4)]
        weights = [
            math.prod((v - nodes[m]) / (nodes[k] - nodes[m]) for m in range(4) if m != k) for k in range(4)
        ]  # Lagrange: the cubic through the four nodes, evaluated at v
        return tuple((first + k, w) for k, w in enumerate(weights))


class DesignGrid:
    """Filters designed at grid nodes over some knobs and interpolated between them (per axis, linear or cubic).

    Parameters
    ----------
    key : hashable
        Everything else the designs depend on (stage type, device, head, sample
        rate, the values of the knobs not gridded): grids with equal keys and axes share nodes.
    axes : sequence of GridAxis
    design : callable
        ``design(values)`` -> ``(filters, extra)``: the exact design at the knob
        values ``values`` (a dict over the axes' names); ``filters`` an array (any
        shape, the same at every node), ``extra`` anything that must be equal at
        every node (e.g. a latency); a node whose ``extra`` differs is refused.
    still_db : float, optional
        Take the leading and trailing slices of the filters' first axis that move
        less than this within a cell (re the filters' energy) from one node instead
        of blending them (see the module's docstring). ``None``: blend everything.

    Examples
    --------
    >>> grid = DesignGrid("doc", [GridAxis("g", 0.5, 0.0, 1.0)], lambda v: (np.array([v["g"] ** 2]), 0))
    >>> float(grid.filters({"g": 0.25})[0])   # halfway between the nodes at 0 (0.0) and 0.5 (0.25)
    0.125
    """

    def __init__(
        self,
        key: Hashable,
        axes: Sequence[GridAxis],
        design: Callable[[dict[str, float]], tuple[np.ndarray, Any]],
        *,
        still_db: float | None = None,
    ) -> None:
        self.key = key
        self.axes = tuple(axes)
        self._design = design
        self.still_db = still_db
        self.designed = 0  # nodes this grid designed (not found in the shared cache)
        # the shared cache's key for this grid (with the axes: an index means a step), interned once:
        # a knob change looks up to 16 nodes, and hashing the whole key each time cost more than the lookup
        token = _TOKENS.get((key, self.axes, still_db))
        if token is None:
            if len(_TOKENS) >= MAX_TOKENS:  # keys of knob values long gone (a ride of a knob not gridded)
                _TOKENS.clear()  # their nodes are no longer found: the cache drops them as they age
            token = _TOKENS.setdefault((key, self.axes, still_db), next(_TOKEN_NUMBERS))  # numbers are never reused
        self._token = token
        self._partials: tuple[Hashable, dict[int, np.ndarray]] = ((), {})  # see _partial

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the kept partial sums (a cache: a stage sent to a worker stays small)."""
        return {**self.__dict__, "_partials": ((), {})}

    def node(self, indices: tuple[int, ...]) -> tuple[np.ndarray, Any]:
        """The exact design at a node (memoised in the shared cache)."""

        def design() -> tuple[np.ndarray, Any]:
            filters, extra = self._design({axis.name: axis.value(i) for axis, i in zip(self.axes, indices, strict=True)})
            self.designed += 1
            return np.asarray(filters), extra

        return _NODES.get_or_compute((self._token, indices), design)

    def corners(self, values: Mapping[str, float]) -> list[tuple[tuple[int, ...], float]]:
        """The nodes the design at ``values`` is interpolated from, with their weights (summing to 1)."""
        return _combine([axis.bracket(float(values[axis.name])) for axis in self.axes])

    def filters(self, values: Mapping[str, float]) -> np.ndarray:
        """The design at ``values``: the exact one on a node, else the weighted sum of the surrounding nodes'."""
        return self.filters_and_still(values)[0]

    def filters_and_still(
        self, values: Mapping[str, float], axes: Sequence[int] | None = None
    ) -> tuple[np.ndarray, tuple[Hashable, int, int] | None]:
        """:meth:`filters`, and where the still slices were taken from one node: ``(that node, start, stop)``.

        Two results with the same second item are equal outside ``start:stop`` of the
        first axis (the node's own slices): a fade between them need only run those.
        ``axes``: return the filters transposed so (``np.transpose(filters, axes)``),
        written in that layout at once (a caller whose engine wants another layout
        than the grid keeps saves a copy).
        """
        brackets = [axis.bracket(float(values[axis.name])) for axis in self.axes]
        if self.still_db is None or all(len(bracket) == 1 for bracket in brackets):
            corners = _combine(brackets)
            designs = [self.node(indices) for indices, _ in corners]
            self._check_extras(designs, values)
            arrays = [filters for filters, _ in designs]
            result = arrays[0] if len(arrays) == 1 else blend(arrays, [weight for _, weight in corners])
            return (result if axes is None else np.ascontiguousarray(np.transpose(result, axes))), None
        cell = tuple(tuple(index for index, _ in bracket) for bracket in brackets)
        start, stop = _CELLS.get_or_compute((self._token, cell), lambda: self._moving(cell, values))
        source = _still_source(cell)
        first = self.node(source)[0]
        if axes is None:
            out = view = np.empty_like(first)
        else:
            out = np.empty(tuple(first.shape[axis] for axis in axes), first.dtype)
            view = np.transpose(out, np.argsort(axes))  # the grid's layout, written through
        view[:start], view[stop:] = first[:start], first[stop:]
        if stop > start:
            last = brackets[-1]
            partials = [self._partial(brackets[:-1], index, start, stop) for index, _ in last]
            weights = [weight for _, weight in last]
            if view[start:stop].flags.c_contiguous:
                blend(partials, weights, out=view[start:stop])
            else:
                view[start:stop] = blend(partials, weights)
        return out, ((self._token, source), start, stop)

    def _moving(self, cell: tuple[tuple[int, ...], ...], values: Mapping[str, float]) -> tuple[int, int]:
        """A cell's moving slices (:func:`moving_slices`), its nodes' extras checked once."""
        source = _still_source(cell)
        designs = [self.node(source)] + [self.node(indices) for indices in product(*cell) if indices != source]
        self._check_extras(designs, values)
        return moving_slices([filters for filters, _ in designs], self.still_db or 0.0)  # spread about the source

    def _check_extras(self, designs: Sequence[tuple[np.ndarray, Any]], values: Mapping[str, float]) -> None:
        extras = {repr(extra) for _, extra in designs}
        if len(extras) > 1:
            raise ValueError(f"design grid {self.key!r}: the nodes around {dict(values)} differ in {sorted(extras)}")

    def _partial(self, outer: list[tuple[tuple[int, float], ...]], index: int, start: int, stop: int) -> np.ndarray:
        """The moving slices ``start:stop`` blended over the other axes' nodes at node ``index`` of the last axis.

        Kept while the other axes' brackets and the slices stay: a change of the last
        knob alone (head yaw, from a tracker) then reads the four nodes of its
        cubic instead of sixteen. Always summed in the same order, so the result
        does not depend on which knob moved before.
        """
        key = (tuple(outer), start, stop)
        kept, partials = self._partials
        if kept != key or len(partials) >= 64:
            partials = {}
            self._partials = (key, partials)  # one assignment: a thread holding the old pair keeps it whole
        partial = partials.get(index)
        if partial is None:
            combos = _combine([*outer, ((index, 1.0),)])
            partial = blend([self.node(indices)[0][start:stop] for indices, _ in combos], [w for _, w in combos])
            partials[index] = partial
        return partial

    def extra(self, values: Mapping[str, float]) -> Any:
        """The designs' ``extra`` (equal at every node around ``values``)."""
        return self.node(self.corners(values)[0][0])[1]


def _still_source(cell: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
    """The node a cell's still slices are taken from: per axis, the one of its ``L`` consecutive indices that is a
    multiple of ``L``. Neighboring cells mostly share it (a cubic's cell moving by one node keeps it three times in
    four), so consecutive knob changes mostly keep their still slices and their fades run the moving ones only."""
    return tuple(next(index for index in indices if index % len(indices) == 0) for indices in cell)


def _combine(brackets: Sequence[tuple[tuple[int, float], ...]]) -> list[tuple[tuple[int, ...], float]]:
    """Per-axis brackets -> the nodes (index tuples, the last axis fastest) and their weights (products)."""
    return [(tuple(i for i, _ in combination), math.prod(w for _, w in combination)) for combination in product(*brackets)]


def moving_slices(arrays: Sequence[np.ndarray], still_db: float) -> tuple[int, int]:
    """``(start, stop)``: the slices of the arrays' first axis outside it spread by less than ``still_db`` in all.

    The spread of slice ``i`` is ``max_k |a_k[i] - a_0[i]|^2``; the leading slices
    whose spreads sum to at most half of ``10^(still_db / 10) |a_0|^2`` are still,
    and the trailing ones likewise; what is between moves.

    >>> a = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    >>> moving_slices([a, a + [[0.0, 0.0], [0.5, 0.0], [0.0, 0.0]]], -60.0)
    (1, 2)
    """
    first = np.ascontiguousarray(arrays[0])
    rows = _real_rows(first)
    spread = np.zeros(rows.shape[0])
    for array in arrays[1:]:
        difference = _real_rows(np.ascontiguousarray(array, first.dtype)) - rows
        np.maximum(spread, np.einsum("ij,ij->i", difference, difference), out=spread)
    allowed = 0.5 * 10.0 ** (still_db / 10.0) * float(np.einsum("ij,ij->", rows, rows, dtype=np.float64))
    start = int(np.searchsorted(np.cumsum(spread), allowed, side="right"))
    stop = len(spread) - int(np.searchsorted(np.cumsum(spread[::-1]), allowed, side="right"))
    return (start, stop) if start < stop else (0, 0)


def _real_rows(array: np.ndarray) -> np.ndarray:
    """A C-contiguous array as (first axis, the rest) of reals (a complex value's real and imaginary parts)."""
    rows = array.reshape(array.shape[0], -1)
    return rows.view(rows.real.dtype) if np.iscomplexobj(rows) else rows
