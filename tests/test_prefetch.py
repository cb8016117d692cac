"""Designs off the audio thread: the design worker's process designs a live change; the stage only swaps filters."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import soundstage.stages.device as device_module
from soundstage import Chain, Spatializer
from soundstage.host.prefetch import DesignWorker

SR = 48000.0


def _wait(worker: DesignWorker, path: str, value: float) -> float | None:
    deadline = time.monotonic() + 60
    ready = worker.offer(path, value)
    while ready != value and time.monotonic() < deadline:
        time.sleep(0.02)
        ready = worker.offer(path, value)
    return ready


def test_a_change_designed_by_the_worker_is_applied_without_designing(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = Chain([Spatializer()], names=["device"])
    audio = (0.1 * np.random.default_rng(0).standard_normal((2, 4800))).astype(np.float32)
    chain.process(audio, SR, reset=False)  # a live stream is open
    worker = DesignWorker(chain.parameters)
    try:
        assert worker.costly("device.width") and worker.costly("device.listener_yaw_deg")
        assert not worker.costly("device.center_level_db")  # a gain: applied at once
        assert worker.offer("device.width", 0.5) is None  # nothing ready yet: hold the change
        assert _wait(worker, "device.width", 0.5) == 0.5

        def no_design(*args: object, **kwargs: object) -> object:
            raise AssertionError("the audio side designed a filter")

        monkeypatch.setattr(device_module, "design_crosstalk_canceller", no_design)
        chain.parameters["device.width"].value = 0.5  # finds the worker's design: only swaps filters
        monkeypatch.undo()
        moved = chain.process(audio, SR, reset=False)
        reference = Chain([Spatializer(width=0.5)], names=["device"])
        reference.process(audio, SR, reset=False)
        expected = reference.process(audio, SR, reset=False)
        settled = slice(4800 - 2000, 4800)  # after the crossfade
        assert np.abs(moved[:, settled] - expected[:, settled]).max() <= 1e-5  # the same design as made on the spot
        assert worker.designed >= 1 and worker.errors == 0
    finally:
        worker.stop()


def test_the_newest_ready_value_is_offered_while_a_knob_moves() -> None:
    chain = Chain([Spatializer()], names=["device"])
    chain.process(np.zeros((2, 512), np.float32), SR, reset=False)
    worker = DesignWorker(chain.parameters)
    try:
        assert _wait(worker, "device.listener_yaw_deg", 5.0) == 5.0
        assert worker.offer("device.listener_yaw_deg", 7.0) is None  # 5 was taken; 7 is being designed
        assert _wait(worker, "device.listener_yaw_deg", 7.0) == 7.0
    finally:
        worker.stop()


def test_a_chain_without_design_parameters_starts_no_process() -> None:
    from soundstage import Gain

    worker = DesignWorker(Chain([Gain()]).parameters)
    assert not worker.costly("gain.gain_db")
    worker.stop()


def test_the_worker_has_loaded_the_designs_libraries_when_it_is_ready() -> None:
    """The package loads scipy.signal where first used (a refused command answers at once); the design process must
    have it loaded before it says ready, or its first design spends a second or more loading it, niced, while the
    audio runs (the live flood then got 3 designs made in 7 s, not 40)."""
    import psutil

    chain = Chain([Spatializer()], names=["device"])
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    worker = DesignWorker(chain.parameters)
    try:
        started = [child for child in psutil.Process().children(recursive=True) if child.pid not in before]
        mapped = {Path(region.path).parent.name for child in started for region in child.memory_maps()}
        assert "signal" in mapped and "spatial" in mapped, sorted(mapped)  # scipy/signal/*.so, scipy/spatial/*.so
    finally:
        worker.stop()
