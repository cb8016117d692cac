"""Design grids (dsp/grid.py) and the Spatializer's use of them for width and head-yaw changes while streaming."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soundstage import Chain, Spatializer
from soundstage.dsp import grid as grid_module
from soundstage.dsp.grid import DesignGrid, GridAxis, clear_grid_cache, grid_cache_info
from soundstage.host.automation import AutomatedStream, AutomationEvent, process_with_automation
from soundstage.stages import device

SR = 48000


@given(
    step=st.floats(0.01, 2.0),
    low=st.floats(-50, 0),
    span=st.floats(0.5, 100),
    fraction=st.floats(-0.2, 1.2),
)
@settings(max_examples=300, deadline=None)
def test_bracket_weights_are_a_convex_combination_around_the_value(step: float, low: float, span: float, fraction: float) -> None:
    axis = GridAxis("k", step, low, low + span)
    value = low + fraction * span
    corners = axis.bracket(value)
    weights = [w for _, w in corners]
    assert abs(sum(weights) - 1.0) <= 1e-12
    assert all(0.0 < w <= 1.0 for w in weights)
    clamped = min(max(value, axis.low), axis.high)
    position = sum(axis.value(i) * w for i, w in corners)
    assert position == pytest.approx(clamped, abs=1e-9 * max(1.0, abs(clamped)))
    assert all(0 <= i < axis.count for i, _ in corners)
    assert axis.value(axis.count - 1) == axis.high  # the last node is the end of the range


@given(
    step=st.floats(0.01, 2.0),
    low=st.floats(-50, 0),
    nodes=st.integers(4, 60),
    fraction=st.floats(-0.2, 1.2),
    coefficients=st.lists(st.floats(-2, 2), min_size=4, max_size=4),
)
@settings(max_examples=300, deadline=None)
def test_cubic_bracket_reproduces_any_cubic_from_the_four_nearest_nodes(
    step: float, low: float, nodes: int, fraction: float, coefficients: list[float]
) -> None:
    """Order 3: the weights of the four nodes nearest the value sum to 1 and give a cubic's value exactly
    (in the axis's own coordinate), so the interpolation error falls with the fourth power of the step."""
    axis = GridAxis("k", step, low, low + step * (nodes - 1) * 0.999, order=3)  # the last node a little short of a step
    value = axis.low + fraction * (axis.high - axis.low)
    clamped = min(max(value, axis.low), axis.high)
    corners = axis.bracket(value)
    assert abs(sum(w for _, w in corners) - 1.0) <= 1e-9
    indices = [i for i, _ in corners]
    assert all(0 <= i < axis.count for i in indices) and indices == sorted(indices)
    assert len(corners) in (1, 4)
    if len(corners) == 4:  # the four nearest: the value lies between the middle two, except at the ends of the range
        assert axis.value(indices[0]) <= clamped <= axis.value(indices[-1])

    def cubic(x: float) -> float:
        u = (x - axis.low) / (axis.high - axis.low)
        return sum(c * u**k for k, c in enumerate(coefficients))

    assert sum(cubic(axis.value(i)) * w for i, w in corners) == pytest.approx(cubic(clamped), abs=1e-7)


def test_a_cubic_axis_interpolates_a_smooth_design_closer_than_a_linear_one() -> None:
    """On a smooth design (here a sine of the knob) cubic interpolation at a step is far closer than linear at it."""
    clear_grid_cache()

    def design(values: dict[str, float]) -> tuple[np.ndarray, int]:
        return np.array([np.sin(3.0 * values["a"]), np.cos(2.0 * values["a"])]), 0

    values = np.linspace(0.013, 0.987, 97)
    errors = {}
    for order in (1, 3):
        grid = DesignGrid("smooth", [GridAxis("a", 0.1, 0.0, 1.0, order=order)], design)
        errors[order] = max(float(np.abs(grid.filters({"a": v}) - design({"a": v})[0]).max()) for v in values)
    assert errors[1] > 1e-3  # linear: the second derivative times step**2 / 8
    assert errors[3] < errors[1] / 50  # cubic: the fourth derivative times step**4
    with pytest.raises(ValueError, match="order 2"):
        GridAxis("a", 0.1, 0.0, 1.0, order=2)


def test_grids_of_one_key_but_other_steps_share_no_nodes() -> None:
    """A node index means a knob value only with its step: a grid whose step changed (the automation
    benchmark's --width-step) designs its own nodes instead of reading another step's."""
    clear_grid_cache()

    def design(values: dict[str, float]) -> tuple[np.ndarray, int]:
        return np.array([values["g"]]), 0

    coarse = DesignGrid("steps", [GridAxis("g", 0.5, 0.0, 1.0)], design)
    fine = DesignGrid("steps", [GridAxis("g", 0.25, 0.0, 1.0)], design)
    assert float(coarse.filters({"g": 0.5})[0]) == 0.5  # node 1 of the coarse grid
    assert float(fine.filters({"g": 0.25})[0]) == 0.25  # node 1 of the fine grid: 0.5 if it read the coarse one
    assert grid_cache_info()["designed"] == 2


def test_on_a_node_the_design_is_the_exact_one_and_between_nodes_linear() -> None:
    clear_grid_cache()
    calls: list[dict[str, float]] = []

    def design(values: dict[str, float]) -> tuple[np.ndarray, int]:
        calls.append(values)
        a, b = values["a"], values["b"]
        return np.array([1.0 + 2.0 * a - 3.0 * b, a * b, np.sin(a)]), 7

    grid = DesignGrid("test-linear", [GridAxis("a", 0.25, 0.0, 1.0), GridAxis("b", 0.5, -1.0, 1.0)], design)
    on_node = grid.filters({"a": 0.5, "b": 0.0})
    assert on_node.tolist() == [2.0, 0.0, np.sin(0.5)]
    assert len(calls) == 1  # one node, no neighbours
    # a function linear in each knob (a*b is bilinear) is interpolated exactly
    got = grid.filters({"a": 0.6, "b": 0.3})
    assert got[0] == pytest.approx(1.0 + 1.2 - 0.9, abs=1e-12)
    assert got[1] == pytest.approx(0.18, abs=1e-12)
    # a curved one within the linear-interpolation bound: |f''| h^2 / 8
    assert abs(got[2] - np.sin(0.6)) <= 0.25**2 / 8 * 1.0
    assert grid.extra({"a": 0.6, "b": 0.3}) == 7


def test_grids_with_the_same_key_share_nodes_and_a_different_extra_is_refused() -> None:
    clear_grid_cache()
    first = DesignGrid("shared", [GridAxis("a", 0.5, 0.0, 1.0)], lambda v: (np.array([v["a"]]), 0))
    second = DesignGrid("shared", [GridAxis("a", 0.5, 0.0, 1.0)], lambda v: (np.array([v["a"]]), 0))
    first.filters({"a": 0.25})
    second.filters({"a": 0.25})
    assert (first.designed, second.designed) == (2, 0)
    odd = DesignGrid("odd", [GridAxis("a", 0.5, 0.0, 1.0)], lambda v: (np.array([v["a"]]), int(v["a"] * 2)))
    with pytest.raises(ValueError, match="differ"):
        odd.filters({"a": 0.25})
    still = DesignGrid("odd", [GridAxis("a", 0.5, 0.0, 1.0)], lambda v: (np.array([v["a"]]), int(v["a"] * 2)), still_db=-110)
    with pytest.raises(ValueError, match="differ"):  # checked once per cell
        still.filters({"a": 0.25})


def test_the_node_cache_keeps_its_memory_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_grid_cache()
    monkeypatch.setattr(grid_module._NODES, "max_bytes", 10 * 8000)
    grid = DesignGrid("big", [GridAxis("a", 1.0, 0.0, 100.0)], lambda v: (np.full(1000, v["a"]), 0))
    for value in np.arange(0.0, 50.0, 1.0):
        grid.filters({"a": float(value)})
    info = grid_cache_info()
    assert info["bytes"] <= 10 * 8000 and info["kept"] == 10 and info["designed"] == 50
    # the ten most recent are kept: the nodes at 40..49
    assert sorted(indices[0] for _, indices in grid_module._NODES.keys()) == list(range(40, 50))
    clear_grid_cache()


def rides(seconds: float, changes: int, seed: int = 3) -> list[AutomationEvent]:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    events = []
    for name, low, high in (("device.width", 0.4, 1.0), ("device.listener_yaw_deg", -12.0, 12.0)):
        samples = np.sort(rng.integers(SR // 10, n - SR // 10, changes))
        path = low + (high - low) * (0.5 + 0.5 * np.sin(np.linspace(0, 3 * np.pi, changes)))
        events += [AutomationEvent(int(s), name, float(v)) for s, v in zip(samples, path, strict=True)]
    return sorted(events, key=lambda e: e.sample)


def automated(audio: np.ndarray, events: list[AutomationEvent], *, exact: bool, buffer_size: int = 8192) -> np.ndarray:
    stage = Spatializer()
    stage.interpolate_designs = not exact
    return process_with_automation(Chain([stage], names=["device"]), audio, SR, events, buffer_size=buffer_size)


@pytest.fixture(scope="module")
def program() -> np.ndarray:
    rng = np.random.default_rng(5)
    center = rng.standard_normal(3 * SR)
    sides = rng.standard_normal((2, 3 * SR))
    return (0.05 * (center + 0.7 * sides)).astype(np.float32)


def test_grid_render_is_within_minus_60_db_of_exact_designs_at_every_change(program: np.ndarray) -> None:
    """Width and yaw rides (40 changes each): the design-grid render against exact designs at every change."""
    clear_grid_cache()
    events = rides(3.0, 40)
    grid = automated(program, events, exact=False)
    exact = automated(program, events, exact=True)
    error_db = 10 * np.log10(np.sum((grid - exact) ** 2.0) / np.sum(exact**2.0))
    print(f"design-grid render vs exact designs: {error_db:.1f} dB re signal")
    assert error_db <= -60.0, f"{error_db:.1f} dB"
    # and the rides change the output: the comparison is not of two unchanged renders
    still = automated(program, [], exact=True)
    assert 10 * np.log10(np.sum((exact - still) ** 2.0) / np.sum(still**2.0)) >= -30.0


def test_grid_render_is_deterministic_and_block_size_invariant(program: np.ndarray) -> None:
    """The same automation gives the same file whatever was designed before, and whatever the block size."""
    events = rides(3.0, 25, seed=4)
    clear_grid_cache()
    first = automated(program, events, exact=False)
    second = automated(program, events, exact=False)  # nodes now cached
    assert np.array_equal(first, second)
    small = automated(program, events, exact=False, buffer_size=256)
    assert np.abs(small - first).max() <= 1e-5 * np.abs(first).max()


def test_width_and_yaw_changes_design_nodes_only_and_other_knobs_exactly(program: np.ndarray) -> None:
    clear_grid_cache()
    stage = Spatializer()
    stage(program[:, :4800], SR)
    stage.process(program[:, :4800], SR, reset=False)  # a stream open
    delay = stage.filters(float(SR))[1]
    stage.width = 0.61  # between the nodes 0.6 and 0.7: a cubic over 0.5 .. 0.8
    stage.listener_yaw_deg = 3.3  # between the nodes 2 and 4: a cubic over 0 .. 6
    grid = stage.design_grid(float(SR))
    assert [(axis.name, axis.order) for axis in grid.axes] == [("width", 3), ("listener_yaw_deg", 3)]
    assert not grid_module._NODES.keys()  # nothing yet: the filters are swapped when the engine next computes
    stage.process(program[:, 4800 : 4800 + stage.partition_size], SR, reset=False)
    # both changes in one swap: the 4 x 4 nodes around (0.61, 3.3), and no others
    corners = {i for i, _ in grid.corners({"width": 0.61, "listener_yaw_deg": 3.3})}
    assert {indices for (_, indices) in grid_module._NODES.keys()} == corners and len(corners) == 16
    # the delay is the same on every node (the gridded knobs move no delay)
    assert grid.extra({"width": 0.61, "listener_yaw_deg": 3.3}) == delay
    assert not [key for key in stage.memoised_designs() if key[0] == "_combine" and ("width", 0.61) in key[2]]
    stage.distance_m = 1.5  # not gridded: the exact design at the current width and yaw
    exact = [key for key in stage.memoised_designs() if key[0] == "_combine" and ("width", 0.61) in key[2]]
    assert len(exact) == 1 and ("distance_m", 1.5) in exact[0][2] and ("listener_yaw_deg", 3.3) in exact[0][2]


def test_the_device_design_is_smooth_in_width_so_a_cubic_over_coarse_nodes_follows_it() -> None:
    """Filter-domain error of the cubic width grid against exact designs (yaw 0, widths 0.3 .. 1, off the nodes).

    A smooth design gains about 24 dB per halving of the step; the design before its limits were eased
    (a hard cap, maximum and pole, the level given moving with width) gained 9 dB, -53 dB at 0.1 steps.
    """
    stage = Spatializer()

    def design(width: float) -> np.ndarray:
        stage.width = width
        return stage.filters(float(SR))[0]

    widths = np.arange(0.3, 1.0, 0.05) + 0.0173
    exact = {w: design(float(w)) for w in widths}
    errors = []
    for step in (0.1, 0.05):
        axis = GridAxis("width", step, 0.0, 1.0, order=3)
        ratios = []
        for w in widths:
            got = sum(weight * design(axis.value(index)) for index, weight in axis.bracket(float(w)))
            ratios.append(np.sum((got - exact[w]) ** 2) / np.sum(exact[w] ** 2))
        errors.append(10 * np.log10(np.mean(ratios)))
    assert errors[0] <= -60.0, errors
    assert errors[1] <= errors[0] - 15.0, errors


def test_the_device_design_is_smooth_in_yaw_so_a_cubic_over_coarse_nodes_follows_it() -> None:
    """Filter-domain error of a cubic yaw grid against exact designs (width 1, yaw -12 .. 12 deg, off the nodes).

    Before the effort threshold's pole and the level given were eased (EFFORT_POLE_SOFTNESS,
    GIVE_RAMP_SOFTNESS, GIVE_FADE_HZ), the cubic gained 9 dB per halving: -43.9 dB at 2 degrees, -52.6 at 1.
    The exact design at the seat then gave -62 dB at 2 degrees; the robust design (the default since 2026-12)
    -61.0 dB, -78.3 at 1 degree. The bound is the automation benchmark's target at the output.
    """
    stage = Spatializer()

    def design(yaw: float) -> np.ndarray:
        stage.listener_yaw_deg = yaw
        return stage.filters(float(SR))[0]

    yaws = np.arange(-12.0, 12.0, 1.7) + 0.123
    exact = {y: design(float(y)) for y in yaws}
    errors = []
    for step in (2.0, 1.0):
        axis = GridAxis("listener_yaw_deg", step, -90.0, 90.0, order=3)
        ratios = []
        for y in yaws:
            got = sum(weight * design(axis.value(index)) for index, weight in axis.bracket(float(y)))
            ratios.append(np.sum((got - exact[y]) ** 2) / np.sum(exact[y] ** 2))
        errors.append(10 * np.log10(np.mean(ratios)))
    print(f"cubic yaw grid, filter-domain error: 2 deg {errors[0]:.1f} dB, 1 deg {errors[1]:.1f} dB")
    assert errors[0] <= -60.0, errors
    assert errors[1] <= errors[0] - 12.0, errors


def test_a_stage_keeps_its_grid_while_only_gridded_knobs_move_and_still_pickles() -> None:
    """A width or yaw change reuses the stage's grid (no key hashing per change); another knob makes a new one."""
    import pickle

    stage = Spatializer()
    first = stage.design_grid(float(SR))
    stage.width, stage.listener_yaw_deg = 0.61, 3.3
    assert stage.design_grid(float(SR)) is first
    stage.depth = 0.5
    other = stage.design_grid(float(SR))
    assert other is not first and dict(other.key[-1])["depth"] == 0.5
    copy = pickle.loads(pickle.dumps(stage))  # batch workers receive stages pickled
    assert copy.design_grid(float(SR)).key == other.key


def test_grid_tokens_stay_bounded_and_are_never_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ride of a knob that is not gridded makes a new grid key per value: the interned keys stay bounded,
    and a key interned again after a clear gets a new number (never an old grid's nodes)."""
    monkeypatch.setattr(grid_module, "MAX_TOKENS", 8)
    axis = [GridAxis("g", 0.5, 0.0, 1.0)]
    first = DesignGrid(("ride", 0), axis, lambda v: (np.array([v["g"]]), 0))._token
    seen = {first}
    for k in range(1, 30):
        seen.add(DesignGrid(("ride", k), axis, lambda v: (np.array([v["g"]]), 0))._token)
        assert len(grid_module._TOKENS) <= 8
    again = DesignGrid(("ride", 0), axis, lambda v: (np.array([v["g"]]), 0))._token
    assert len(seen) == 30 and again not in seen


@given(
    rows=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    still_db=st.floats(-140.0, -20.0),
    nodes=st.integers(2, 6),
)
@settings(max_examples=200, deadline=None)
def test_moving_slices_leave_out_only_what_spreads_less_than_still_db_in_all(
    rows: int, seed: int, still_db: float, nodes: int
) -> None:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((rows, 3, 5)) + 1j * rng.standard_normal((rows, 3, 5))
    scales = 10.0 ** rng.uniform(-9, 0, rows)  # how much each slice moves: from -180 dB to as much as the base
    arrays = [(base + scales[:, None, None] * rng.standard_normal((rows, 3, 5))).astype(np.complex64) for _ in range(nodes)]
    start, stop = grid_module.moving_slices(arrays, still_db)
    assert 0 <= start <= stop <= rows
    first = arrays[0].astype(np.complex128)
    spread = np.max([np.sum(np.abs(a - first) ** 2, axis=(1, 2)) for a in arrays[1:]], axis=0)
    energy = np.sum(np.abs(first) ** 2)
    left_out = np.ones(rows, bool)
    left_out[start:stop] = False
    assert spread[left_out].sum() <= 10 ** (still_db / 10) * energy * (1 + 1e-6)
    if stop > start:  # the range is as narrow as the rule allows: its first and last slices could not be left out
        assert spread[: start + 1].sum() > 0.5 * 10 ** (still_db / 10) * energy * (1 - 1e-6)
        assert spread[stop - 1 :].sum() > 0.5 * 10 ** (still_db / 10) * energy * (1 - 1e-6)


def test_a_grid_with_still_db_blends_the_moving_slices_only_and_stays_within_its_bound() -> None:
    """Slices that move by 1e-7 of the signal (-140 dB) are taken from one node; the rest is the cubic blend."""
    clear_grid_cache()
    rng = np.random.default_rng(5)
    base = rng.standard_normal((9, 4, 64))
    wobble = rng.standard_normal((9, 4, 64))
    moving = np.zeros(9)
    moving[3:6] = 1.0

    def design(values: dict[str, float]) -> tuple[np.ndarray, int]:
        a, b = values["a"], values["b"]
        amount = np.where(moving > 0, np.sin(a) * np.cos(b), 1e-7 * np.sin(3 * a + b))
        return (base + amount[:, None, None] * wobble).astype(np.complex64), 0

    axes = [GridAxis("a", 0.1, 0.0, 1.0, order=3), GridAxis("b", 0.2, -1.0, 1.0, order=3)]
    still = DesignGrid("still", axes, design, still_db=-110.0)
    full = DesignGrid("full", axes, design)
    values = {"a": 0.437, "b": 0.291}
    got, blended = still.filters(values), full.filters(values)
    corners = still.corners(values)
    assert sorted({i for i, _ in corners}) == [(a, b) for a in range(3, 7) for b in range(5, 9)]
    source = still.node((4, 8))[0]  # per axis, the cell's index that is a multiple of 4 (the cubic's node count)
    assert np.array_equal(got[:3], source[:3]) and np.array_equal(got[6:], source[6:])  # taken, not blended
    # the next cell along a (nodes 4..7) takes them from the same node: a fade between the two runs the moving ones
    assert still.filters_and_still(values)[1] == still.filters_and_still({"a": 0.537, "b": 0.291})[1]
    assert np.allclose(got[3:6], blended[3:6], rtol=0, atol=1e-6)  # the moving slices: the same blend (summed per axis)
    error = np.sum(np.abs(got - blended) ** 2) / np.sum(np.abs(blended) ** 2)
    bound = -110.0 + 20 * np.log10(sum(abs(w) for _, w in corners))
    assert 10 * np.log10(error) <= bound, (10 * np.log10(error), bound)
    assert np.array_equal(still.filters({"a": 0.4, "b": 0.2}), still.node(still.corners({"a": 0.4, "b": 0.2})[0][0])[0])
    clear_grid_cache()


def test_a_change_of_the_last_knob_alone_blends_four_partials_and_history_does_not_change_the_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Head yaw (the last axis) from a tracker: each change reads the four partial sums of its cubic, not 16 nodes;
    the filters at given values are bit-identical whichever knob moved before."""
    clear_grid_cache()
    rng = np.random.default_rng(6)
    base, wobble = rng.standard_normal((2, 9, 4, 64))

    def design(values: dict[str, float]) -> tuple[np.ndarray, int]:
        amount = np.sin(values["a"]) * np.cos(values["b"]) * (np.arange(9) % 3 > 0)
        return (base + amount[:, None, None] * wobble).astype(np.complex64), 0

    axes = [GridAxis("a", 0.1, 0.0, 1.0, order=3), GridAxis("b", 0.2, -1.0, 1.0, order=3)]
    grid = DesignGrid("partials", axes, design, still_db=-110.0)
    grid.filters({"a": 0.437, "b": 0.291})
    read: list[int] = []
    original = grid_module.blend
    monkeypatch.setattr(
        grid_module, "blend", lambda arrays, weights, out=None: read.append(len(arrays)) or original(arrays, weights, out)
    )
    yaw_only = grid.filters({"a": 0.437, "b": 0.33})  # the same cell: the four partials are kept
    assert read == [4]
    read.clear()
    grid.filters({"a": 0.52, "b": 0.33})  # the first knob moved: four partials of four nodes each, then their blend
    assert read == [4, 4, 4, 4, 4]
    monkeypatch.undo()
    fresh = DesignGrid("partials", axes, design, still_db=-110.0)  # shares the nodes, not the history
    assert np.array_equal(fresh.filters({"a": 0.437, "b": 0.33}), yaw_only)
    clear_grid_cache()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, float]]:
    """The knob values of every design-grid interpolation from now on (a swap of the Spatializer's filters)."""
    made: list[dict[str, float]] = []
    real = DesignGrid.filters_and_still

    def counted(self, values, axes=None):  # type: ignore[no-untyped-def]
        made.append(dict(values))
        return real(self, values, axes)

    monkeypatch.setattr(DesignGrid, "filters_and_still", counted)
    return made


def test_changes_within_one_partition_swap_the_filters_once(program: np.ndarray, calls: list[dict[str, float]]) -> None:
    """The engine computes whole partitions (512): changes until it next computes are one swap, made at the knobs'
    values then. A width change and a yaw change 100 samples apart in one partition sound as both made at the
    second (bit for bit), with one grid interpolation; in two partitions, as two."""
    p = Spatializer().partition_size
    first = 40 * p + 150  # both inside the partition 40 * p .. 41 * p
    apart = [AutomationEvent(first, "device.width", 0.62), AutomationEvent(first + 100, "device.listener_yaw_deg", 4.5)]
    together = [AutomationEvent(first + 100, "device.width", 0.62), AutomationEvent(first + 100, "device.listener_yaw_deg", 4.5)]
    coalesced = automated(program, apart, exact=False)
    assert calls == [{"width": 0.62, "listener_yaw_deg": 4.5}]
    assert np.array_equal(coalesced, automated(program, together, exact=False))
    calls.clear()
    across = [AutomationEvent(first, "device.width", 0.62), AutomationEvent(first + p, "device.listener_yaw_deg", 4.5)]
    separate = automated(program, across, exact=False)
    assert calls == [{"width": 0.62, "listener_yaw_deg": 0.0}, {"width": 0.62, "listener_yaw_deg": 4.5}]
    assert not np.array_equal(separate, coalesced)
    # the exact path (a design worker's stages) coalesces the same way: one swap to the exact design at both values
    exact = automated(program, apart, exact=True)
    assert np.array_equal(exact, automated(program, together, exact=True))


def test_a_change_during_a_fade_is_made_after_it_and_the_last_value_wins(
    program: np.ndarray, calls: list[dict[str, float]]
) -> None:
    """One fade at a time: changes while the filters crossfade (50 ms, ``FADE_SECONDS``) wait for the fade to end,
    coalesce, and are made at the first partition after it with the knobs' last values, whenever within the fade
    they came and whatever the block sizes."""
    p = Spatializer().partition_size
    fade = int(device.FADE_SECONDS * SR)
    first = 40 * p + 150
    single = [AutomationEvent(first, "device.width", 0.62)]
    during = [
        *single,
        AutomationEvent(first + p, "device.listener_yaw_deg", 4.5),
        AutomationEvent(first + 2 * p, "device.width", 0.8),
    ]
    deferred = automated(program, during, exact=False)
    assert calls == [{"width": 0.62, "listener_yaw_deg": 0.0}, {"width": 0.8, "listener_yaw_deg": 4.5}]
    late = [
        *single,
        AutomationEvent(first + 3 * p, "device.width", 0.8),
        AutomationEvent(first + 3 * p, "device.listener_yaw_deg", 4.5),
    ]
    assert 3 * p < fade  # the late changes still fall inside the first fade
    assert np.array_equal(deferred, automated(program, late, exact=False))
    alone = automated(program, single, exact=False)
    unchanged = automated(program, [], exact=False)
    heard_first = int(np.flatnonzero(np.any(alone != unchanged, axis=0))[0])
    heard_second = int(np.flatnonzero(np.any(deferred != alone, axis=0))[0])
    assert fade <= heard_second - heard_first <= fade + p, (heard_first, heard_second)
    # the same output in any blocks (the swap points count samples, not calls)
    stream_blocks = [37, 512, 1000, 4096, 129]
    stage = Spatializer()
    stream = AutomatedStream(Chain([stage], names=["device"]), SR, [(e.sample, e.target, e.value) for e in during])
    pieces, start, k = [], 0, 0
    while start < program.shape[1]:
        size = stream_blocks[k % len(stream_blocks)]
        pieces.append(stream.process(program[:, start : start + size]))
        start, k = start + size, k + 1
    pieces.append(stream.flush())
    assert np.array_equal(np.concatenate(pieces, axis=1), deferred)
