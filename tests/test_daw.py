"""The exported plugins inside a real DAW: Ardour 7 renders a track through them as soundstage renders the chain.

pedalboard (JUCE) and tests/export's ctypes LV2 host load the plugins elsewhere;
here a DAW nobody here wrote does, with its own VST3 and LV2 hosting, its own
block sizes, its latency compensation and its saved session (tests/daw.py). The
knobs are moved in the DAW by the names it shows, the session is saved, and the
render loads it from disk. Skipped without Ardour or the plugin toolchain (a
failure under CI, whose .ci/run installs both).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.signal

from daw import Insert, ardour_or_skip, render
from export.host import null_db
from export.host import test_mix as make_test_mix
from helpers import plugin_toolchain
from soundstage import Chain
from soundstage.export import Export, export_plugin
from soundstage.host.chainfile import load_chain
from soundstage.stages.upmix import Upmix, frame_sizes

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 3.0
#: The knobs a user turns in the DAW (chain paths), per chain.
KNOBS = {
    "studio-5-binaural": {"device.width": 0.7, "device.center_level_db": 3.0},
    "mastering": {"limiter.threshold_db": -6.0, "rumble.cutoff_frequency_hz": 40.0},
}
#: Each chain at a rate a studio runs: the device's designs baked for 44.1 kHz, the mastering chain at 48 kHz.
RATES = {"studio-5-binaural": 44100, "mastering": 48000}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Export]:
    plugin_toolchain()
    ardour_or_skip()
    out = tmp_path_factory.mktemp("daw-plugins")
    return {
        preset: export_plugin(ROOT / "chains" / f"{preset}.toml", out, formats=["vst3", "lv2"], rates=[rate])
        for preset, rate in RATES.items()
    }


def _mix(rate: int) -> np.ndarray:
    return np.ascontiguousarray(make_test_mix(SECONDS, rate).T)  # frames x 2, as a DAW's file holds it


def _label(made: Export, path: str) -> str:
    """The name the DAW shows the knob ``path`` (``device.width``) under."""
    return next(parameter.label for parameter in made.program.parameters if parameter.name == path)


def _best_lag(got: np.ndarray, want: np.ndarray, span: int = 512) -> int:
    """The shift of ``got`` against ``want`` (samples) that correlates best, within +-``span``."""
    a, b = got[:, 0].astype(np.float64), want[:, 0].astype(np.float64)
    lags = scipy.signal.correlation_lags(len(a), len(b))
    scores = scipy.signal.correlate(a, b, method="fft")
    near = np.abs(lags) <= span
    return int(lags[near][np.argmax(scores[near])])


def _chain(preset: str, knobs: dict[str, float]) -> Chain:
    chain = load_chain(ROOT / "chains" / f"{preset}.toml")
    for path, value in knobs.items():
        chain.parameters[path].value = value
    return chain


def _holds_an_upmix(stage: object) -> bool:
    """An Upmix stage, a Spatializer (whose upmix is its first step), or a nested chain holding one."""
    if isinstance(stage, Upmix) or isinstance(getattr(stage, "upmix", None), Upmix):
        return True
    return any(_holds_an_upmix(inner) for inner in getattr(stage, "stages", None) or [])


def _at_phase(chain: Chain, audio: np.ndarray, rate: int, phase: int) -> np.ndarray:
    """The chain's output (frames x channels) for ``audio`` (frames x channels) with its frames ``phase`` samples on:
    ``phase`` samples of silence before the audio, left off the output again."""
    padded = np.concatenate([np.zeros((phase, audio.shape[1]), np.float32), audio])
    return np.asarray(chain(padded.T, rate).T[phase:])


def _frame_phase(chain: Chain, audio: np.ndarray, rate: int, got: np.ndarray) -> int:
    """How many samples of silence (modulo the upmix's hop) the DAW ran through the plugin before the track's audio.

    An upmix works on short-time spectra, frames of its hop apart from where the plugin started, so its output
    depends on that phase (tens of dB, as any spectral process). soundstage starts a file's frames at its first
    sample; Ardour starts the plugin with the session and runs its export pre-roll and latency pre-roll through it
    first. The phase is the one whose chain output, over the first 16384 samples, is nearest the DAW's."""
    if not any(_holds_an_upmix(stage) for stage in chain):
        return 0
    n = 16384
    compared = n - chain.latency_samples  # the chain is latency-compensated: its last samples lack the input after
    return min(
        range(frame_sizes(rate)[1]), key=lambda k: null_db(_at_phase(chain, audio[:n], rate, k)[:compared].T, got[:compared].T)
    )


def test_a_track_without_plugins_renders_bit_for_bit(tmp_path: Path) -> None:
    """The harness itself: Ardour's fader, panner, master bus and export leave a stereo track's audio as it is, so what
    differs in the tests below is the plugin's."""
    ardour_or_skip()
    mix = _mix(48000)
    got = render(tmp_path, mix, 48000)
    assert got.shape == mix.shape
    assert np.array_equal(got, mix)


@pytest.mark.parametrize("kind", ["vst3", "lv2"])
@pytest.mark.parametrize("preset", list(RATES))
def test_ardour_renders_the_exported_plugin_as_the_chain(
    exported: dict[str, Export], tmp_path: Path, preset: str, kind: str
) -> None:
    """A track through the exported plugin, knobs moved in the DAW and the session reopened from disk to render:
    in time (Ardour compensates the latency the plugin reports), as long as the track, and the chain's output at those
    knobs to <= -90 dB (the pedalboard-hosted VST3's figure); the knobs do move the output."""
    rate, knobs, made = RATES[preset], KNOBS[preset], exported[preset]
    mix = _mix(rate)
    insert = Insert(made.bundles[kind], made.name, {_label(made, path): value for path, value in knobs.items()})
    got = render(tmp_path, mix, rate, insert)

    chain = _chain(preset, knobs)
    phase = _frame_phase(chain, mix, rate, got)
    want, unphased = _at_phase(chain, mix, rate, phase), _at_phase(chain, mix, rate, 0)
    defaults = _at_phase(_chain(preset, {}), mix, rate, phase)
    print(
        f"\n{preset} {kind} at {rate} Hz in Ardour: null {null_db(got.T, want.T):.1f} dB, max |error| "
        f"{np.abs(got - want).max():.2e} (the upmix's frames {phase} samples later than a file's; at a file's frames "
        f"{null_db(got.T, unphased.T):.1f} dB); the knobs move the output by {null_db(defaults.T, want.T):.1f} dB"
    )
    assert got.shape == want.shape == mix.shape
    assert _best_lag(got, want) == 0
    assert null_db(got.T, want.T) <= -90.0
    assert null_db(defaults.T, want.T) >= -30.0  # a render that ignored the knobs would not null


#: The plugin's own bypass as the DAW shows it: a VST3's bypass parameter; an LV2's "enabled" port (off bypasses).
BYPASSED = {"vst3": {"Bypass": 1.0}, "lv2": {"Enabled": 0.0}}


@pytest.mark.parametrize("kind", ["vst3", "lv2"])
def test_the_plugins_bypass_in_ardour_plays_the_track_as_it_is(exported: dict[str, Export], tmp_path: Path, kind: str) -> None:
    """Bypassed in the DAW (saved so, reopened to render): the track's own audio, in time and to the bit. The plugin
    plays its input delayed by the latency it reports, and the DAW takes that latency off."""
    rate, made = RATES["studio-5-binaural"], exported["studio-5-binaural"]
    mix = _mix(rate)
    got = render(tmp_path, mix, rate, Insert(made.bundles[kind], made.name, BYPASSED[kind]))
    print(f"\nbypassed {kind} in Ardour: max |error| {np.abs(got - mix).max():.2e}")
    assert got.shape == mix.shape
    assert np.array_equal(got, mix)


#: A width step drawn in the DAW (samples on the timeline): at 1 s and a quarter, a half, three quarters of one of
#: Ardour's 1024-sample cycles on, to the new width.
STEPS_AT, STEP_TO = (44100, 44100 + 256, 44100 + 512, 44100 + 768), 0.5
CYCLE = 1024
#: How late the output may start to move (samples): within a cycle for the LV2, whose change Ardour delivers at its
#: sample (the design's crossfade then starts with a later partition of the Spatializer's 512-sample filter
#: partitions; measured up to 764 samples); up to a cycle more for the VST3, since DPF's VST3 wrapper takes a change
#: the host places inside a block once the block has run.
LATEST = {"lv2": CYCLE, "vst3": 2 * CYCLE}


@pytest.mark.parametrize("at", STEPS_AT)
@pytest.mark.parametrize("kind", ["vst3", "lv2"])
def test_ardours_automation_moves_the_knob_as_the_chain_does(
    exported: dict[str, Export], tmp_path: Path, kind: str, at: int
) -> None:
    """A width step automated in the DAW (discrete, in play): the render is the chain at width 1 up to where the
    output starts to move, and the chain at the new width once the design's crossfade is over, each to <= -90 dB.
    It starts to move neither before the drawn time nor later than :data:`LATEST` after it."""
    rate, made = RATES["studio-5-binaural"], exported["studio-5-binaural"]
    mix = _mix(rate)
    step = {_label(made, "device.width"): [(0, 1.0), (at, STEP_TO)]}
    got = render(tmp_path, mix, rate, Insert(made.bundles[kind], made.name, automation=step))
    before, after = _chain("studio-5-binaural", {}), _chain("studio-5-binaural", {"device.width": STEP_TO})
    phase = _frame_phase(before, mix, rate, got)  # from the first 16384 samples, before the step
    old, new = _at_phase(before, mix, rate, phase), _at_phase(after, mix, rate, phase)
    tolerance = 1e-5 * float(np.abs(old).max())
    off_old, off_new = np.abs(got - old).max(axis=1) > tolerance, np.abs(got - new).max(axis=1) > tolerance
    assert off_old.any(), f"the render is the chain at width 1 throughout: Ardour did not play the step at {at}"
    assert off_new.any(), f"the render is the chain at {STEP_TO} throughout: Ardour played the step from the start"
    onset = int(np.argmax(off_old))
    settled = len(got) - int(np.argmax(off_new[::-1]))
    assert onset > 0, (
        f"the render differs from the chain at width 1 from its first sample: over the first second "
        f"{null_db(got[:rate].T, old[:rate].T):.1f} dB from it, {null_db(got[:rate].T, new[:rate].T):.1f} dB from the "
        f"chain at {STEP_TO}, {_best_lag(got, old)} samples late against it (the upmix's frames taken {phase} samples on)"
    )
    print(
        f"\n{kind}: the width step drawn at sample {at} moves the output from sample {onset} "
        f"({(onset - at) / rate * 1e3:+.1f} ms) to {settled} ({(settled - onset) / rate * 1e3:.1f} ms of crossfade); "
        f"before it {null_db(got[:onset].T, old[:onset].T):.1f} dB from the chain at width 1, after it "
        f"{null_db(got[settled:].T, new[settled:].T):.1f} dB from the chain at {STEP_TO}"
    )
    assert 0 <= onset - at <= LATEST[kind]
    assert null_db(got[:onset].T, old[:onset].T) <= -90.0
    assert null_db(got[settled:].T, new[settled:].T) <= -90.0
    assert settled - onset <= 0.1 * rate


@pytest.mark.parametrize("kind", ["vst3", "lv2"])
def test_a_mono_track_through_the_plugin_in_ardour_is_a_centred_source(
    exported: dict[str, Export], tmp_path: Path, kind: str
) -> None:
    """A voice on a mono track through the stereo plugin: Ardour feeds the one channel to both inputs, so the render
    is the chain's of the voice on both channels, a centred source (<= -90 dB), level at both ears (within 0.5 dB)."""
    rate, made = RATES["studio-5-binaural"], exported["studio-5-binaural"]
    voice = np.ascontiguousarray(_mix(rate)[:, :1])
    got = render(tmp_path, voice, rate, Insert(made.bundles[kind], made.name))
    both = np.repeat(voice, 2, axis=1)
    chain = _chain("studio-5-binaural", {})
    want = _at_phase(chain, both, rate, _frame_phase(chain, both, rate, got))
    balance = 10 * np.log10(np.sum(got[:, 0].astype(np.float64) ** 2) / np.sum(got[:, 1].astype(np.float64) ** 2))
    print(
        f"\nmono track, {kind}: {null_db(got.T, want.T):.1f} dB from the chain of the voice on both inputs; ears {balance:+.2f} dB"
    )
    assert got.shape == both.shape
    assert null_db(got.T, want.T) <= -90.0
    assert abs(balance) <= 0.5
