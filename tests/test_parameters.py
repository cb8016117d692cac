"""The parameter view: specs, scales, pedalboard built-ins and external plugins alike."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pedalboard
import pytest

from soundstage import Chain, ChainError, Gain, ParameterError, ParameterSpec, load_plugin
from soundstage.host.builtins import BUILTIN_RANGES, builtin_specs
from soundstage.host.external import external_parameters
from soundstage.host.nodes import node_parameters


@pytest.mark.parametrize(
    ("spec", "value", "position"),
    [
        (ParameterSpec("mix", 0.5, 0.0, 1.0), 0.25, 0.25),
        (ParameterSpec("cutoff_frequency_hz", 1000.0, 20.0, 20000.0, scale="log"), 632.4555320336759, 0.5),
        (ParameterSpec("delay_ms", 1.0, 0.1, 1000.0, scale="log"), 10.0, 0.5),
        # dB fader taper: the position is the 4th root of the amplitude's share of the range
        (ParameterSpec("gain_db", 0.0, -60.0, 12.0, scale="db"), 0.0, ((1 - 10**-3) / (10 ** (12 / 20) - 10**-3)) ** 0.25),
        (ParameterSpec("on", False, kind="bool"), True, 1.0),
        (ParameterSpec("mode", "b", kind="choice", choices=("a", "b", "c")), "c", 1.0),
    ],
)
def test_normalization_maps_both_ways(spec: ParameterSpec, value: float, position: float) -> None:
    assert spec.to_normalized(value) == pytest.approx(position, abs=1e-12)
    back = spec.from_normalized(position)
    if isinstance(value, float):
        assert back == pytest.approx(value, rel=1e-9)
    else:
        assert back == value


def test_db_taper_puts_zero_db_near_seventy_percent_of_travel() -> None:
    spec = ParameterSpec("gain_db", 0.0, -60.0, 12.0, scale="db")
    assert 0.68 < spec.to_normalized(0.0) < 0.72
    assert spec.from_normalized(0.0) == -60.0 and spec.from_normalized(1.0) == pytest.approx(12.0)
    positions = np.linspace(0, 1, 101)
    values = [spec.from_normalized(x) for x in positions]
    assert all(b > a for a, b in zip(values, values[1:]))  # monotonic


def test_stepped_parameter_snaps() -> None:
    spec = ParameterSpec("delay_samples", 0.0, 0.0, 100.0, step=1.0)
    assert spec.validate(3.4, owner="x") == 3.0 and spec.from_normalized(0.555) == 56.0


def test_spec_validation_messages() -> None:
    spec = ParameterSpec("cutoff_frequency_hz", 1000.0, 20.0, 20000.0, unit="Hz", scale="log")
    with pytest.raises(ParameterError, match=r"Filter\.cutoff_frequency_hz=5\.0 is outside 20\.\.20000 Hz"):
        spec.validate(5.0, owner="Filter")
    with pytest.raises(ParameterError, match=r"is outside"):
        spec.validate(math.nan, owner="Filter")
    with pytest.raises(ValueError, match=r"log scale needs minimum > 0"):
        ParameterSpec("bad", 1.0, 0.0, 1.0, scale="log")


def test_one_view_for_all_three_kinds(stereo_gain_path: Path) -> None:
    vst = load_plugin(stereo_gain_path)
    chain = Chain([Gain(), pedalboard.Compressor(), vst], names=["trim", "comp", "vst"])
    view = chain.parameters
    for path in ("trim.gain_db", "comp.threshold_db", "vst.gain_db"):
        parameter = view[path]
        parameter.normalized = 0.5
        assert 0.0 <= parameter.normalized <= 1.0
        assert parameter.to_normalized(parameter.value) == pytest.approx(0.5, abs=2e-3), path
    assert view["comp.threshold_db"].unit == "dB" and view["vst.gain_db"].unit == "dB"
    assert view["vst.gain_db"].value == pytest.approx(-24.0, abs=0.01)  # -60..12 dB, linear in the plugin


def test_builtin_values_are_validated_before_they_reach_pedalboard() -> None:
    compressor = pedalboard.Compressor()
    view = node_parameters(compressor)
    with pytest.raises(ParameterError, match=r"pedalboard\.Compressor\.ratio=0\.5 is outside 1\.\.100"):
        view["ratio"].value = 0.5
    assert compressor.ratio == 1.0
    ladder = pedalboard.LadderFilter()
    node_parameters(ladder)["mode"].value = "HPF24"
    assert ladder.mode == pedalboard.LadderFilter.Mode.HPF24
    assert node_parameters(ladder)["mode"].value == "HPF24"


@pytest.mark.parametrize("name", sorted(BUILTIN_RANGES))
def test_builtin_table_defaults_lie_in_their_ranges(name: str) -> None:
    for spec in builtin_specs(name):
        if spec.kind == "float":
            assert spec.minimum <= float(spec.default) <= spec.maximum, (name, spec)


def test_external_parameter_precision_and_read_only(stereo_gain_path: Path) -> None:
    vst = load_plugin(stereo_gain_path)
    view = external_parameters(vst)
    for target in (-12.0, -0.37, 3.3, 11.99):
        view["gain_db"].value = target
        assert view["gain_db"].value == pytest.approx(target, abs=0.01)
    assert view["polarity"].spec.kind == "bool"
    view["polarity"].value = True
    assert view["polarity"].value is True
    assert not view["latency_frames"].writable
    with pytest.raises(ParameterError, match=r"latency_frames is read-only"):
        view["latency_frames"].value = 10.0


def test_unknown_node_in_a_path() -> None:
    with pytest.raises(ChainError, match=r"needs a node and a parameter"):
        Chain([Gain()]).parameter("gain_db")
