"""Small Python processors used across the tests (and their chain-file stage table)."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

import numpy as np
import pytest

from soundstage import ParameterSpec, Processor
from soundstage.dsp import DelayLine
from soundstage.export import missing_tools


class PassThrough(Processor):
    """Returns its input (for overhead and container tests)."""

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        return block


class Split3(Processor):
    """2 -> 3: left, right, and their mean as a third channel."""

    input_channels = 2
    output_channels = 3

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        return np.concatenate([block, 0.5 * (block[:1] + block[1:2])]).astype(np.float32)


class Lookahead(Processor):
    """A latent stage: delays by ``delay_samples`` and reports it as latency (like a lookahead limiter)."""

    parameter_specs = (ParameterSpec("delay_samples", 300.0, 0.0, 4096.0, unit="samples", step=1.0),)

    def __init__(self, *, delay_samples: float = 300.0) -> None:
        super().__init__(delay_samples=delay_samples)
        self._line: DelayLine | None = None

    @property
    def latency_samples(self) -> int:
        return int(self._values["delay_samples"])

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        self._line = DelayLine(num_channels, self.latency_samples)

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        assert self._line is not None
        return self._line.process(block)


class Tilt(Processor):
    """A stateful one-pole low-pass mix (so block boundaries would show if state were lost)."""

    parameter_specs = (ParameterSpec("amount", 0.5, 0.0, 0.99),)

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        self._zi = np.zeros((num_channels, 1))  # scipy lfilter state, one per channel

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        from scipy.signal import lfilter

        a = float(self._values["amount"])
        out, self._zi = lfilter([1 - a], [1, -a], block, axis=1, zi=self._zi)
        return out.astype(np.float32)


STAGES = {cls.type_name: cls for cls in (PassThrough, Split3, Lookahead, Tilt)}


def sine(frequency_hz: float, sample_rate: float, seconds: float, amplitude: float = 0.5, channels: int = 2) -> np.ndarray:
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    return np.tile(amplitude * np.sin(2 * np.pi * frequency_hz * t), (channels, 1)).astype(np.float32)


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.asarray(x, np.float64) ** 2)))


def group_delay_samples(x: np.ndarray, sample_rate: float = 48000.0, low: float = 500.0, high: float = 2000.0) -> float:
    """The slope of the unwrapped phase of ``x`` over ``low``..``high`` Hz, in samples (a band's group delay)."""
    spectrum = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / sample_rate)
    band = (f > low) & (f < high)
    return float(-np.polyfit(2 * np.pi * f[band], np.unwrap(np.angle(spectrum[band])), 1)[0] * sample_rate)


def colored_copy(source: str, path: str) -> str:
    """``source`` with every measurement through one more measurement chain, written with sofar: a first-order
    high-pass at 300 Hz (a small loudspeaker) and an 8 dB peak at 3 kHz, Q 1.5 (a microphone, an ear canal).
    The same head: what reaches its ears from any two directions differs as before."""
    import scipy.signal
    import sofar

    sofa = sofar.read_sofa(source)
    rate = float(np.asarray(sofa.Data_SamplingRate).ravel()[0])
    irs = np.asarray(sofa.Data_IR, float)
    irs = np.concatenate([irs, np.zeros(irs.shape)], axis=-1)  # room for the filters' tails
    high_pass = scipy.signal.butter(1, 300.0, "highpass", fs=rate)
    w0, gain, q = 2 * np.pi * 3000.0 / rate, 10 ** (8.0 / 40), 1.5
    alpha = np.sin(w0) / (2 * q)
    peak = ([1 + alpha * gain, -2 * np.cos(w0), 1 - alpha * gain], [1 + alpha / gain, -2 * np.cos(w0), 1 - alpha / gain])
    sofa.Data_IR = scipy.signal.lfilter(*peak, scipy.signal.lfilter(*high_pass, irs, axis=-1), axis=-1)
    sofar.write_sofa(path, sofa, compression=4)
    return path


def tool(name: str, package: str | None = None) -> str:
    """The path of a command-line tool the test needs (ffmpeg, sox): a failure in CI, where .ci/run installs it, else a
    skip that says how to install it (the Debian ``package`` that has it; by default the tool's name)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} missing in CI: .ci/run must install it")
        pytest.skip(f"{name} is not installed (Debian: apt-get install {package or name}); .ci/run installs it")
    return path


def web_toolchain() -> None:
    """Returns if ``soundstage export-plugin --format web`` can build (clang and the wasm32 libraries); else a failure
    in CI, where .ci/run installs them, and a skip with the reason elsewhere."""
    _toolchain(missing_tools(formats=("web",)), "the web page", "clang and wasi-libc")


def plugin_toolchain() -> None:
    """Returns if ``soundstage export-plugin`` can build (g++ and dpf-source); else a failure in CI, where .ci/run
    installs them, and a skip with the reason elsewhere."""
    _toolchain(missing_tools(), "plugins", "g++ and dpf-source")


def _toolchain(reason: str | None, what: str, installs: str) -> None:
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{what} cannot be built in CI: {reason}; .ci/run must install {installs}")
        pytest.skip(f"{what} cannot be built here: {reason}")


def open_page(browser: Any, url: str) -> None:
    """Load a soundstage page (the audition page, an exported web page) at ``url`` and wait (30 s at most) until it
    says it is ready; else fail with its error."""
    browser.get(url)
    deadline = time.monotonic() + 30
    while browser.execute_script("return document.body.dataset.ready") != "true" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert browser.execute_script("return document.body.dataset.ready") == "true", browser.find_element("id", "error").text
