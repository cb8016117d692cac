"""Every cached design keys on the sample rate: one instance run at 48, then 44.1, then 96 kHz
gives what a fresh instance gives at each rate (float32 tolerance), for every stage and preset.

And a design spans the same time at every rate: the same music at 96 and 192 kHz (or at 88.2 kHz against
44.1) gives, resampled back, what it gives at 48 kHz, in time."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, resample_poly, sosfiltfilt

from soundstage import load_chain
from soundstage.host.chainfile import preset_names
from soundstage.stages import BinauralMonitor, stage_types
from soundstage.stages.upmix import frame_sizes

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


#: How near a stage's output at a higher rate, resampled down, comes to its output at the base rate: error energy re
#: the output's, 40 Hz-16 kHz. The comparison's own floor (scipy's resampler up and down around a Gain) is -58 to
#: -60 dB; with design lengths fixed in samples the Beamformer gave -14 dB at 96 kHz and +2 dB at 192 kHz, the
#: Spatializer -14 / +3 dB, the Upmix -9 / -6 dB, and the studio-5 preset -21 dB at 88.2 kHz against 44.1 kHz.
SAME_DEVICE_DB = -50.0


def pink_mix(channels: int, rate: int, seconds: float) -> np.ndarray:
    """A centred pink noise and decorrelated pink noise in every channel, peaking at -20 dBFS."""
    rng = np.random.default_rng(7)
    n = int(rate * seconds)

    def pink() -> np.ndarray:
        spectrum = np.fft.rfft(rng.standard_normal(n))
        return np.fft.irfft(spectrum / np.sqrt(np.maximum(np.arange(len(spectrum)), 1)), n)

    centre = pink()
    mix = np.stack([centre + 0.7 * pink() for _ in range(channels)])
    return (0.1 * mix / np.abs(mix).max()).astype(np.float32)


def error_re_base_db(make, base: int, factor: int) -> float:  # type: ignore[no-untyped-def]
    """``make()``'s output for a pink mix at ``base`` Hz against its output for the mix resampled to ``factor`` times
    that rate and the output resampled back: error energy re the base output's, in 40 Hz-16 kHz, the first and last
    0.1 s left out (the resampler's edges)."""
    node = make()
    accepted = getattr(node, "input_channels", None)
    audio = pink_mix(accepted if isinstance(accepted, int) else 2, base, 1.0)
    expected = node(audio, base)
    got = resample_poly(make()(resample_poly(audio, factor, 1, axis=1).astype(np.float32), base * factor), 1, factor, axis=1)
    assert got.shape == expected.shape
    band = butter(8, [40.0, 16000.0], "bandpass", fs=base, output="sos")
    edge = base // 10
    a, b = (sosfiltfilt(band, x.astype(np.float64), axis=1)[:, edge:-edge] for x in (expected, got))
    return float(10 * np.log10(np.sum((a - b) ** 2) / np.sum(a**2)))


@pytest.mark.parametrize("name", sorted(name for name, cls in stage_types().items() if cls.__module__.startswith("soundstage.")))
def test_a_stage_at_96_and_192_khz_gives_what_it_gives_at_48_khz(name: str) -> None:
    """A canceller's or a beam's taps, the upmix's frames and the modeling delays span the same time at every rate, so a
    96 kHz session hears the device a 48 kHz session hears (and its latency, in seconds, is about the same)."""
    errors = [error_re_base_db(lambda: make_stage(name), 48000, factor) for factor in (2, 4)]
    print(f"{name}: at 96 / 192 kHz against 48 kHz: {errors[0]:.1f} / {errors[1]:.1f} dB (limit {SAME_DEVICE_DB} dB)")
    assert max(errors) <= SAME_DEVICE_DB


@pytest.mark.parametrize("preset", preset_names())
def test_a_preset_at_a_higher_rate_gives_what_it_gives_at_its_base_rate(preset: str) -> None:
    """Each preset at 96 kHz against 48 kHz and at 88.2 kHz against 44.1 kHz (where the Spatializer's alignment of its
    centre beam, rounded to whole samples, was a different fraction of a sample off at each rate: -21 dB)."""
    errors = [error_re_base_db(lambda: load_chain(preset), base, 2) for base in (48000, 44100)]
    print(f"{preset}: 96 kHz against 48 kHz {errors[0]:.1f} dB, 88.2 against 44.1 kHz {errors[1]:.1f} dB")
    assert max(errors) <= SAME_DEVICE_DB


def test_latency_in_seconds_holds_across_rates() -> None:
    """The studio-5 device chain's latency is the same time at 96 and 192 kHz as at 48 kHz (97.3 ms; it was 4672
    samples at every rate, 24.3 ms at 192 kHz), its FIR engine's partition too; the upmix's frame is 43 ms at each."""
    latencies = {}
    for rate in (48000, 96000, 192000):
        chain = load_chain("studio-5")
        chain(np.zeros((2, 4800), np.float32), rate)
        latencies[rate] = chain.latency_samples
        assert frame_sizes(rate)[0] / rate == pytest.approx(2048 / 48000)
    print({rate: f"{samples} samples, {1e3 * samples / rate:.2f} ms" for rate, samples in latencies.items()})
    for rate in (96000, 192000):
        factor = rate // 48000
        assert latencies[rate] == factor * latencies[48000]
