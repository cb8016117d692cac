"""Every cached design keys on the sample rate: one instance run at 48, then 44.1, then 96 kHz
gives what a fresh instance gives at each rate (float32 tolerance), for every stage and preset."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage import load_chain
from soundstage.host.chainfile import preset_names
from soundstage.stages import BinauralMonitor, stage_types

RATES = (48000, 44100, 96000)


def make_stage(name: str):  # type: ignore[no-untyped-def]
    cls = stage_types()[name]
    if cls is BinauralMonitor:
        return cls(device="studio-5")
    return cls()


def input_for(node, rate: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    accepted = getattr(node, "input_channels", None)  # None: any count
    channels = accepted if isinstance(accepted, int) else 2
    rng = np.random.default_rng(rate)
    return (0.1 * rng.standard_normal((channels, rate // 4))).astype(np.float32)


def check_rates(reused, fresh) -> list[float]:  # type: ignore[no-untyped-def]
    errors = []
    for rate in RATES:
        audio = input_for(reused, rate)
        expected = fresh()(audio, rate)
        got = reused(audio, rate)
        assert got.shape == expected.shape
        errors.append(float(np.abs(got - expected).max()))
    return errors


@pytest.mark.parametrize("name", sorted(name for name, cls in stage_types().items() if cls.__module__.startswith("soundstage.")))
def test_a_stage_reused_at_another_rate_equals_a_fresh_one(name: str) -> None:
    errors = check_rates(make_stage(name), lambda: make_stage(name))
    print(f"{name}: max |reused - fresh| at 48 / 44.1 / 96 kHz: {', '.join(f'{e:.1e}' for e in errors)}")
    assert max(errors) <= 1e-6


@pytest.mark.parametrize("preset", preset_names())
def test_a_preset_chain_reused_at_another_rate_equals_a_fresh_one(preset: str) -> None:
    errors = check_rates(load_chain(preset), lambda: load_chain(preset))
    print(f"{preset}: max |reused - fresh| at 48 / 44.1 / 96 kHz: {', '.join(f'{e:.1e}' for e in errors)}")
    assert max(errors) <= 1e-6
