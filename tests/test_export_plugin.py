"""``soundstage export-plugin``: a chain built into native VST3 / LV2 / CLAP plugins that null against it.

The plugins are built with g++ and Debian's dpf-source (skipped with the reason
where they are missing; a failure under CI, whose .ci/run installs them). Each
VST3 is loaded by pedalboard in a process of its own (tests/export/host.py) and
compared with ``Chain`` of the same file on a 10 s test mix.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mido
import numpy as np
import pedalboard
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

from export.host import null_db, plugin_parameter, set_knob
from export.host import test_mix as make_test_mix
from helpers import plugin_toolchain, tool
from soundstage.cli import main
from soundstage.errors import ChainError, PluginError
from soundstage.export import export_plugin
from soundstage.export.bake import BUILTIN_KINDS, bake
from soundstage.export.build import WINDOWS_COMPILER, bundle_stem, dpf_root, missing_tools
from soundstage.export.midi import PluginMidi, midi_header, plugin_midi
from soundstage.export.state import chain_from_binary, chain_from_state, read_plugin_state
from soundstage.exported import MAGIC, MAP_MAGIC, exported_map, exported_program, map_bytes, read_map
from soundstage.host.builtins import BUILTIN_RANGES
from soundstage.host.chainfile import load_chain
from soundstage.host.external import load_plugin
from soundstage.midi.decode import Decoder
from soundstage.midi.maps import load_map

ROOT = Path(__file__).resolve().parents[1]
HOST = ROOT / "tests" / "export" / "host.py"
PRESETS = ("studio-5-binaural", "studio-5")
RATE = 48000.0
#: A stage made for one sample rate that changes nothing (a chain of none is baked for every rate).
ALIGNED = '[[stages]]\ntype = "Align"\nname = "align"\ndelays_ms = [0.0, 0.0]\n'


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Both presets exported at 48 kHz: VST3 for each, LV2 and CLAP for the binaural one."""
    plugin_toolchain()
    out = tmp_path_factory.mktemp("plugins")
    made = {}
    for preset in PRESETS:
        formats = ["vst3", "lv2", "clap"] if preset == "studio-5-binaural" else ["vst3"]
        made[preset] = export_plugin(ROOT / "chains" / f"{preset}.toml", out, formats=formats, rates=[RATE]).bundles
    return made


def _harness(script: Path, *arguments: str | Path) -> dict:
    """The JSON report of one of tests/export's hosts (host.py: pedalboard and a VST3; lv2host.py: a ctypes LV2 host,
    since lv2apply cannot run DPF plugins, which need the options feature)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugin")}
    result = subprocess.run(
        [sys.executable, str(script), *map(str, arguments)], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def _host(bundle: Path, chain: Path, *extra: str) -> dict:
    return _harness(HOST, bundle, chain, *extra)


def _lv2_host(bundle: Path, uri: str, chain: Path, *extra: str) -> dict:
    return _harness(ROOT / "tests" / "export" / "lv2host.py", bundle, uri, chain, *extra)


@pytest.mark.parametrize("preset", PRESETS)
def test_vst3_nulls_against_the_chain(bundles: dict[str, dict[str, Path]], preset: str) -> None:
    report = _host(bundles[preset]["vst3"], ROOT / "chains" / f"{preset}.toml")
    print(f"\n{preset}: {json.dumps(report['settings'])}")
    print(
        f"  latency {report['latency']}, automation {report['automation_null_db']:.1f} dB "
        f"(the ride moves the output by {report['automation_moves_db']:.1f} dB)"
    )
    print(f"  buffer sizes: {json.dumps(report['buffer_sizes'])}")
    assert report["channels"] == (2 if preset == "studio-5-binaural" else 5)
    # at the defaults and three other knob settings: <= -90 dB error energy re signal
    assert len(report["settings"]) == 4
    for entry in report["settings"]:
        assert entry["null_db"] <= -90.0, entry
    # the latency the plugin reports is the chain's
    assert report["latency"]["plugin"] == report["latency"]["chain"] > 0
    # knobs moved between host buffers move the plugin as they move the chain (<= -60 dB), and they do move it
    assert report["automation_null_db"] <= -60.0
    assert report["automation_moves_db"] >= -30.0
    # host buffer sizes 32 .. 8192: the same output, sample for sample, and the chain's
    for size, entry in report["buffer_sizes"].items():
        assert entry["max_abs_vs_32"] == 0.0, size
        assert entry["null_db"] <= -90.0, size
    # the saved state holds the chain file it was made from
    assert report["state_chain"] == (ROOT / "chains" / f"{preset}.toml").read_text()


#: Chains of the other stages a plugin holds, with knob settings and a ride of their live knobs.
PARTS = {
    "parts": (
        [{"trim.gain_db": -8.0, "virtual.crossfeed": 0.3}, {"trim.invert": 1.0}, {"virtual.crossfeed": 0.0}],
        [[0.4, {"trim.gain_db": -12.0}], [0.6, {"virtual.crossfeed": 0.1}]],
    ),
    "upmix": (
        [
            {"upmix.center_amount": 0.5, "upmix.low_hz": 200.0},
            {"upmix.smoothing_ms": 100.0, "upmix.center_width_db": 8.0},
            {"upmix.high_hz": 4000.0},
        ],
        [[0.3, {"upmix.center_amount": 0.2}], [0.6, {"upmix.high_hz": 8000.0, "upmix.smoothing_ms": 20.0}]],
    ),
    "beam": ([], []),
    "builtins": (
        [
            {"rumble.cutoff_frequency_hz": 80.0, "glue.threshold_db": -30.0, "glue.ratio": 8.0},
            {"presence.gain_db": 6.0, "presence.q": 4.0, "air.cutoff_frequency_hz": 5000.0, "limiter.threshold_db": -8.0},
            {"crunch.1.clip.threshold_db": -20.0, "glue.attack_ms": 0.5, "warmth.gain_db": -6.0, "limiter.release_ms": 300.0},
            {"gate.threshold_db": -30.0, "gate.ratio": 10.0, "crunch.1.fuzz.drive_db": 24.0, "crunch.1.crush.bit_depth": 4.0},
            {"top.cutoff_frequency_hz": 24000.0},  # at the top of its range: above 100 Hz below half the rate, clamped
            # 30 s / 64: a delay whose normalized value (1/64) and back are exact, as the whole samples it delays must be
            {"space.1.echo.delay_seconds": 0.46875, "space.1.echo.feedback": 0.7, "space.1.room.room_size": 0.9},
            {"space.1.room.freeze_mode": 1.0, "left.wet_level": 0.5, "left.width": 0.3},
            {
                "motion.1.chorus.rate_hz": 4.0,
                "motion.1.chorus.depth": 1.0,
                "motion.1.chorus.center_delay_ms": 2.0,
                "motion.1.chorus.feedback": -0.8,
                "motion.1.phaser.center_frequency_hz": 3000.0,
            },
            {
                "motion.1.phaser.rate_hz": 5.0,
                "motion.2.lp12.mode": "BPF24",
                "motion.3.hp24.mode": "LPF12",
                "motion.1.phaser.feedback": 0.9,
                "motion.1.phaser.mix": 1.0,
                "motion.2.lp12.resonance": 1.0,
                "motion.3.bp24.drive": 50.0,
                "motion.3.lp24.cutoff_hz": 200.0,
            },
        ],
        [
            [0.3, {"limiter.threshold_db": -6.0, "glue.threshold_db": -28.0, "top.cutoff_frequency_hz": 6000.0}],
            [0.4, {"space.1.room.wet_level": 0.8, "space.1.room.width": 0.2, "space.1.echo.mix": 1.0}],
            [0.5, {"motion.1.chorus.rate_hz": 3.0, "motion.1.chorus.mix": 0.9, "motion.1.phaser.depth": 0.2}],
            [0.6, {"rumble.cutoff_frequency_hz": 120.0, "air.gain_db": -3.0, "crunch.1.drive.gain_db": 20.0}],
            [
                0.7,
                {"motion.3.hp24.cutoff_hz": 2000.0, "motion.2.bp12.mode": "HPF24", "motion.1.phaser.center_frequency_hz": 400.0},
            ],
            [0.8, {"gate.release_ms": 200.0, "crunch.1.fuzz.drive_db": 0.0, "crunch.1.crush.bit_depth": 6.0}],
            [0.9, {"space.1.echo.delay_seconds": 0.0, "left.damping": 0.9}],
        ],
    ),
    "routing": ([{"trim.gain_db": -9.0}], [[0.5, {"trim.gain_db": -12.0}]]),
    "nested": (
        [
            {"each.gain_db": -10.0, "blend.0.virtual.crossfeed": 0.2},
            {"blend.1.centre.gain_db": 0.0, "out.trim.invert": 1.0},
            {"upmix.center_amount": 0.0, "out.trim.gain_db": -6.0},
        ],
        [
            [0.3, {"blend.0.virtual.crossfeed": 0.0, "mixback.1.wet.gain_db": 0.0}],
            [0.6, {"each.gain_db": -20.0, "blend.1.centre.gain_db": 3.0}],
        ],
    ),
}


@pytest.mark.parametrize("preset", ["headphones", "compact-pair", "stereo-reference", "mastering"])
def test_every_bundled_preset_exports_and_nulls(tmp_path: Path, preset: str) -> None:
    """The bundled presets export and null against their chains (the two device presets are tested above; the
    fold-downs, 6 or 8 in and 2 out, run as CLAP only, which test_a_surround_fold_down_nulls_in_a_host covers).
    `mastering` holds pedalboard's HighpassFilter, Compressor and Limiter, which were refused."""
    plugin_toolchain()
    chain_file = ROOT / "chains" / f"{preset}.toml"
    plugin = pedalboard.load_plugin(str(export_plugin(chain_file, tmp_path, formats=["vst3"], rates=[RATE]).bundles["vst3"]))
    chain = load_chain(chain_file)
    mix = make_test_mix(2.0, int(RATE))
    got, want = plugin(mix, RATE), chain(mix, RATE)
    figure = null_db(got, want)
    print(f"\n{preset}: {figure:.1f} dB, latency {plugin.reported_latency_samples}")
    assert figure <= -90.0 and plugin.reported_latency_samples == chain.latency_samples


def test_a_chain_made_for_no_one_rate_plays_at_every_rate_as_the_chain_does(tmp_path: Path, capsys) -> None:
    """The mastering preset (pedalboard's built-ins and a Gain: no design made for one rate) is baked once for every
    rate: at 22.05, 50, 64 and 192 kHz (silent at 50 and 64 kHz before, resampled at the others) it gives the chain's
    output at that rate to the bit, with the chain's latency; the export and `plugin info` say so, and a chain holding
    it runs at 64 kHz."""
    plugin_toolchain()
    assert main(["export-plugin", "mastering", "-o", str(tmp_path), "--format", "vst3", "--rates", "48000"]) == 0
    said = capsys.readouterr().out
    assert "latency 126 samples at every rate" in said
    assert "it plays at every sample rate, as its chain does: no stage of it holds a design made for one rate" in said
    bundle = tmp_path / "mastering.vst3"
    plugin = pedalboard.load_plugin(str(bundle))
    for rate in (22050, 50000, 64000, 192000):
        mix = make_test_mix(1.0, rate)
        want = load_chain(ROOT / "chains" / "mastering.toml")(mix, float(rate))
        assert np.array_equal(plugin(mix, float(rate)), want) and plugin.reported_latency_samples == 126, rate
    assert main(["plugin", "info", str(bundle), "--sample-rate", "64000"]) == 0
    said = capsys.readouterr().out
    assert "made by soundstage export-plugin: plays at every sample rate" in said
    assert "    latency_frames: 126 frames  " in said  # DPF's VST3 latency report's text says 12600
    chain = tmp_path / "bus.toml"
    chain.write_text(f'format = 1\n[[stages]]\ntype = "plugin"\nname = "master"\npath = "{bundle}"\n')
    source = tmp_path / "in.wav"
    soundfile.write(str(source), make_test_mix(0.5, 64000).T, 64000)
    assert main(["process", str(source), str(tmp_path / "out.wav"), "--chain", str(chain)]) == 0


def test_plugin_info_of_an_exported_clap_or_lv2_reads_what_it_holds(
    bundles: dict[str, dict[str, Path]], capsys: pytest.CaptureFixture
) -> None:
    """`soundstage plugin info` of a CLAP or LV2 soundstage exported (pedalboard hosts neither) reads the program the
    plugin holds: the same channels, latency and knobs (symbol, range, default) as pedalboard finds in the VST3 of the
    same export. Before, it was refused ("give the plugin's VST3 build")."""
    made = bundles["studio-5-binaural"]
    vst3 = pedalboard.load_plugin(str(made["vst3"]))
    vst3.process(np.zeros((2, 256), np.float32), RATE)
    knobs = {name: value for name, value in vst3.parameters.items() if name not in ("latency_frames", "bypass")}  # DPF's
    for plugin_format in ("clap", "lv2"):
        assert main(["plugin", "info", str(made[plugin_format])]) == 0
        said = capsys.readouterr().out
        assert f"  channels: 2 in, 2 out\n  latency: {vst3.reported_latency_samples} samples at 48000 Hz\n" in said
        rows = [line.strip() for line in said.splitlines() if line.startswith("    ")]
        assert [row.split(" ", 1)[0] for row in rows] == list(knobs)
        for row, parameter in zip(rows, knobs.values()):
            low, high = (float(bound) for bound in row.split("range ")[1].split()[0].split(".."))
            assert (low, high) == pytest.approx((parameter.min_value, parameter.max_value), abs=1e-4), row
            default = float(row.split("default ")[1].split()[0])  # a fresh plugin's knob is at its default
            assert default == pytest.approx(low + (high - low) * parameter.raw_value, abs=1e-5 * (high - low)), row


def test_a_plugin_inside_a_routing_node_is_refused_by_its_path(tmp_path: Path, stereo_gain_path: Path) -> None:
    """Another plugin in a branch of a parallel: refused in one line that names it by the path its knobs have in the
    chain, before anything is built."""
    chain = tmp_path / "inner.toml"
    chain.write_text(
        'format = 1\n[[stages]]\ntype = "parallel"\nname = "blend"\n'
        '[[stages.branches]]\nstages = [{ type = "Gain", name = "dry" }]\n'
        f'[[stages.branches]]\nstages = [{{ type = "plugin", name = "theirs", path = "{stereo_gain_path}" }}]\n'
    )
    with pytest.raises(ChainError, match=r"inner\.toml: stage 'blend\.1\.theirs' \(plugin\) cannot go into a plugin"):
        export_plugin(chain, tmp_path / "out", formats=["vst3"], rates=[RATE])
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", PARTS)
def test_every_stage_kind_nulls(tmp_path_factory: pytest.TempPathFactory, name: str) -> None:
    """Gain, Virtualizer, CrosstalkCanceller, Align (stereo -> 5), Upmix (every knob live), Beamformer (mono in),
    route and mix (stereo -> 6 -> a 5.1 fold-down -> a matrix), and the routing nodes that hold others (per_channel,
    a parallel whose branches differ in latency, a nested chain, on_channels), their inner knobs live. Those were
    refused, so the headphones preset could not be exported. And pedalboard's built-ins a plugin holds (every one of
    BUILTIN_KINDS, in two runs, on one channel and in a parallel branch), their knobs set and ridden."""
    plugin_toolchain()
    chain = ROOT / "tests" / "export" / f"{name}.toml"
    bundle = export_plugin(chain, tmp_path_factory.mktemp(name), formats=["vst3"], rates=[RATE]).bundles["vst3"]
    settings_, ride = PARTS[name]
    report = _host(bundle, chain, "--seconds", "4", "--settings", json.dumps(settings_), "--ride", json.dumps(ride))
    print(
        f"\n{name}: {[round(e['null_db'], 1) for e in report['settings']]} dB, automation {report['automation_null_db']:.1f} dB"
    )
    for entry in report["settings"]:
        assert entry["null_db"] <= -90.0, entry
    assert report["latency"]["plugin"] == report["latency"]["chain"]
    assert report["automation_null_db"] <= -60.0
    if ride:
        assert report["automation_moves_db"] >= -40.0
    for size, entry in report["buffer_sizes"].items():
        assert entry["max_abs_vs_32"] == 0.0 and entry["null_db"] <= -90.0, size


def test_the_builtins_chain_holds_every_builtin_a_plugin_holds() -> None:
    """A plugin holds every built-in a chain file takes (Chorus, Phaser and LadderFilter were refused), and the test
    chain holds every one of them."""
    kinds = re.findall(r'type = "pedalboard\.(\w+)"', (ROOT / "tests" / "export" / "builtins.toml").read_text())
    assert sorted(set(kinds)) == sorted(BUILTIN_KINDS) == sorted(BUILTIN_RANGES)


@pytest.mark.parametrize(
    ("chain", "moves"),
    [
        (ROOT / "chains" / "studio-5-binaural.toml", {"device.width": 0.6125, "device.center_level_db": -9.0}),
        (ROOT / "tests" / "export" / "parts.toml", {"trim.gain_db": -12.0, "virtual.crossfeed": 0.2}),
        (ROOT / "tests" / "export" / "upmix.toml", {"upmix.center_amount": 0.3, "upmix.high_hz": 6000.0}),
        (ROOT / "tests" / "export" / "routing.toml", {"trim.gain_db": -12.0}),
        (ROOT / "tests" / "export" / "nested.toml", {"each.gain_db": -12.0, "blend.0.virtual.crossfeed": 0.1}),
        (
            ROOT / "tests" / "export" / "builtins.toml",
            {
                "glue.threshold_db": -30.0,
                "limiter.threshold_db": -6.0,
                "rumble.cutoff_frequency_hz": 90.0,
                "air.q": 2.0,
                "space.1.echo.delay_seconds": 0.2,
                "space.1.room.room_size": 0.8,
                "motion.1.chorus.rate_hz": 3.0,
                "motion.1.phaser.center_frequency_hz": 2000.0,
                "motion.3.lp24.cutoff_hz": 300.0,
                "motion.2.bp12.mode": 4.0,
            },
        ),
    ],
    ids=["studio-5-binaural", "parts", "upmix", "routing", "nested", "builtins"],
)
def test_the_engine_allocates_nothing_while_audio_runs(tmp_path: Path, chain: Path, moves: dict[str, float]) -> None:
    """tests/export/rt_check.cpp counts operator new while the engine processes and knobs move (at once, then mid-stream),
    at the baked rate, at 2 and 4 times it, and at a half, a sixth and four thirds of it (where the engine resamples)."""
    plugin_toolchain()

    program = bake(load_chain(chain), chain.read_text(), rates=[RATE], source=str(chain))
    blob = tmp_path / "program.bin"
    blob.write_bytes(program.blob)
    binary = tmp_path / "rt_check"
    native = ROOT / "plugin" / "soundstage" / "export" / "native"
    source = ROOT / "tests" / "export" / "rt_check.cpp"
    subprocess.run(["g++", "-std=c++17", "-O2", f"-I{native}", str(source), "-o", str(binary)], check=True)
    names = [parameter.name for parameter in program.parameters]
    arguments = [str(item) for path, value in moves.items() for item in (names.index(path), value)]
    for rate in (RATE, 2 * RATE, 4 * RATE, RATE / 2, RATE / 6, 4 * RATE / 3):  # the baked rate, and ones it resamples for
        run = [str(binary), str(blob), f"{rate:g}", *arguments]
        result = subprocess.run(run, capture_output=True, text=True, check=True)
        print(f"\n{chain.name} at {rate:g} Hz: {result.stdout.strip()}")
        words = result.stdout.split()
        assert int(words[3]) == 280  # blocks
        assert int(words[1]) == 0  # allocations


def test_the_avx2_build_gives_the_sse2_builds_output_to_the_bit(tmp_path: Path) -> None:
    """The engine's FFT butterflies and multiply-adds are also built for AVX2 and picked at load by the processor. With
    no FMA they round as the SSE2 code does: tests/export/rt_check.cpp, built both ways (SSX_NO_AVX2: SSE2 alone),
    gives the same checksum of every output sample of studio-5-binaural (upmix, FIR matrices, a ride of the width
    grid) and the builtins chain, at the baked rate and resampled at 64 kHz."""
    plugin_toolchain()
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if " avx2" not in flags:
        pytest.skip("this processor has no AVX2: the engine runs its SSE2 code, the one build")
    native = ROOT / "plugin" / "soundstage" / "export" / "native"
    source = ROOT / "tests" / "export" / "rt_check.cpp"
    builds = {}
    for name, define in (("avx2", []), ("sse2", ["-DSSX_NO_AVX2"])):
        builds[name] = tmp_path / f"rt_check_{name}"
        command = ["g++", "-std=c++17", "-O3", "-fcx-limited-range", *define, f"-I{native}", str(source), "-o", str(builds[name])]
        subprocess.run(command, check=True)
    for chain, moves in (
        (ROOT / "chains" / "studio-5-binaural.toml", {"device.width": 0.6125}),
        (ROOT / "tests" / "export" / "builtins.toml", {"glue.threshold_db": -30.0}),
    ):
        program = bake(load_chain(chain), chain.read_text(), rates=[RATE], source=str(chain))
        blob = tmp_path / f"{chain.stem}.bin"
        blob.write_bytes(program.blob)
        names = [parameter.name for parameter in program.parameters]
        arguments = [str(item) for path, value in moves.items() for item in (names.index(path), value)]
        for rate in (RATE, 4 * RATE / 3):
            sums = {
                name: subprocess.run(
                    [str(binary), str(blob), f"{rate:g}", *arguments], capture_output=True, text=True, check=True
                ).stdout.split()[5]
                for name, binary in builds.items()
            }
            print(f"\n{chain.name} at {rate:g} Hz: {sums}")
            assert sums["avx2"] == sums["sse2"]


def test_each_baked_rate_nulls_and_another_rate_is_silent(tmp_path: Path) -> None:
    """Baked for the default rates (44.1, 48, 88.2 and 96 kHz, the sessions a mastering studio runs): each rate runs its
    own designs; at 50 kHz, neither baked nor 2 or 4 times a baked rate nor a whole fraction nor two or four thirds of
    one, the plugin plays silence (documented). It was baked for 44.1 and 48 kHz only, so a 96 kHz session played
    silence."""
    plugin_toolchain()

    chain_file = ROOT / "chains" / "studio-5-binaural.toml"
    bundle = export_plugin(chain_file, tmp_path, formats=["vst3"]).bundles["vst3"]
    plugin = pedalboard.load_plugin(str(bundle))
    for rate in (44100, 50000, 48000, 88200, 96000):
        mix = make_test_mix(2.0, rate)
        got = plugin(mix, rate)
        if rate == 50000:
            assert not np.any(got), "an unbaked rate must play silence"
            continue
        chain = load_chain(chain_file)
        want = chain(mix, rate)
        assert plugin.reported_latency_samples == chain.latency_samples
        figure = null_db(got, want)
        print(f"\n{rate} Hz: {figure:.1f} dB, latency {plugin.reported_latency_samples}")
        assert figure <= -90.0


def test_twice_or_four_times_a_baked_rate_runs_it_resampled(tmp_path: Path) -> None:
    """A 192 kHz session on a plugin baked for the default rates played silence. At 2 or 4 times a baked rate the
    plugin now runs that rate's chain between its own decimator and interpolator (the highest such rate: 96 kHz for
    192 kHz, 44.1 kHz for 176.4 kHz when 88.2 is not baked). Measured against an independent path: scipy's
    resample_poly down to the baked rate, the Python chain, and back up, on a mix band-limited to 16 kHz and faded in
    and out (a click at the ends is wider than any band). pedalboard compensates the latency the plugin reports, so a
    latency off by one sample fails the null; so would a filter that is not flat in the band. The decimator delays
    the chain's input by half its length; the reference's input is delayed as much (the upmix's STFT frames are
    fixed in time, so its output is not a shifted copy of its output on an earlier input), and its latency, as the
    README gives it, is the baked chain's times the factor plus 102 times the factor."""
    from scipy import signal

    plugin_toolchain()

    chain_file = ROOT / "chains" / "studio-5-binaural.toml"
    bundle = export_plugin(chain_file, tmp_path, formats=["vst3"], rates=[44100.0, 96000.0]).bundles["vst3"]
    plugin = pedalboard.load_plugin(str(bundle))
    chain = load_chain(chain_file)
    for rate, baked, floor_db in ((192000, 96000, -100.0), (384000, 96000, -100.0), (176400, 44100, -80.0)):
        factor = rate // baked
        mix = signal.sosfiltfilt(signal.butter(12, 16000, fs=rate, output="sos"), make_test_mix(2.0, rate), axis=-1)
        ramp = np.sin(np.linspace(0.0, np.pi / 2, rate // 20)) ** 2
        mix[:, : ramp.size] *= ramp
        mix[:, -ramp.size :] *= ramp[::-1]
        mix = mix.astype(np.float32)
        got = plugin(mix, rate)
        shift = 68  # the decimator's half length in samples of the baked rate (native/resampling.hpp, RateBridge)
        lowpass = signal.firwin(2 * factor * 200 + 1, 0.9 / factor, window=("kaiser", 12.0))
        low = signal.resample_poly(mix, 1, factor, axis=-1, window=lowpass).astype(np.float32)
        low = chain(np.concatenate([np.zeros((2, shift), np.float32), low], axis=1), baked)[:, shift:]
        want = signal.resample_poly(low, factor, 1, axis=-1, window=lowpass)
        figure = null_db(got, want)
        assert plugin.reported_latency_samples == factor * (chain.latency_samples + 102)
        blocks = [plugin(mix, rate, buffer_size=size) for size in (37, 1000)]
        print(f"\n{rate} Hz on the {baked} Hz designs: {figure:.1f} dB, latency {plugin.reported_latency_samples}")
        assert figure <= floor_db
        assert all(np.array_equal(other, got) for other in blocks), "the block size changed the output"


def test_a_whole_fraction_of_a_baked_rate_runs_it_resampled(tmp_path: Path) -> None:
    """A 32 or 22.05 kHz session (broadcast, and old sample libraries) on a plugin baked for the default rates played
    silence. At a half, a third, a quarter or a sixth of a baked rate the plugin now runs that rate's chain between its
    own interpolator and decimator (the lowest such factor: 44.1 kHz for 22.05 kHz, 96 kHz for 32 kHz). Measured as
    the bridge above, turned round: scipy's resample_poly up to the baked rate, the Python chain, and back down, on a
    mix band-limited to 80% of the session's Nyquist frequency and faded in and out. The interpolator delays the
    chain's input by its half length (34 samples of the session); the reference's is delayed as much. The chain here
    (the Spatializer's parts) has a latency of 1856 samples, which 3 and 6 do not divide: the plugin keeps the chain's
    samples of the phase that makes its own latency a whole number of session samples, 102 + 1856 // factor. Keeping
    phase 0 instead fails the null by 70 dB."""
    from scipy import signal

    plugin_toolchain()

    chain_file = ROOT / "tests" / "export" / "parts.toml"
    bundle = export_plugin(chain_file, tmp_path, formats=["vst3"], rates=[44100.0, 96000.0]).bundles["vst3"]
    plugin = pedalboard.load_plugin(str(bundle))
    chain = load_chain(chain_file)
    for rate, baked, floor_db in ((22050, 44100, -85.0), (32000, 96000, -85.0), (11025, 44100, -80.0), (16000, 96000, -80.0)):
        factor = baked // rate
        mix = signal.sosfiltfilt(signal.butter(12, 0.4 * rate, fs=rate, output="sos"), make_test_mix(2.0, rate), axis=-1)
        ramp = np.sin(np.linspace(0.0, np.pi / 2, rate // 20)) ** 2
        mix[:, : ramp.size] *= ramp
        mix[:, -ramp.size :] *= ramp[::-1]
        bed = np.concatenate([mix, np.zeros((3, mix.shape[1]))]).astype(np.float32)  # 5 in (the canceller's feeds)
        got = plugin(bed, rate)
        shift = 34 * factor  # the interpolator's half length in samples of the baked rate (native/resampling.hpp)
        lowpass = signal.firwin(2 * factor * 200 + 1, 0.9 / factor, window=("kaiser", 12.0))
        high = signal.resample_poly(mix, factor, 1, axis=-1, window=lowpass).astype(np.float32)
        high = chain(np.concatenate([np.zeros((2, shift), np.float32), high], axis=1), baked)[:, shift:]
        want = signal.resample_poly(high, 1, factor, axis=-1, window=lowpass)
        figure = null_db(got, want)
        assert plugin.reported_latency_samples == 102 + chain.latency_samples // factor
        blocks = [plugin(bed, rate, buffer_size=size) for size in (37, 1000)]
        print(f"\n{rate} Hz on the {baked} Hz designs: {figure:.1f} dB, latency {plugin.reported_latency_samples}")
        assert figure <= floor_db
        assert all(np.array_equal(other, got) for other in blocks), "the block size changed the output"


def test_two_or_four_thirds_of_a_baked_rate_runs_it_resampled(tmp_path: Path) -> None:
    """A 64 kHz session on a plugin baked for 48 kHz played silence: 64 is neither 2 or 4 times 48 nor a whole fraction
    of it. The plugin now bridges the 48 kHz chain up to 192 kHz and raises that down by 3 (32 kHz: up to 96, down by
    3). Measured against an independent path, as above: scipy's resample_poly to 48 kHz, the Python chain (the
    Spatializer's parts, linear and time-invariant), and back, on a mix band-limited below both Nyquist frequencies
    and faded in and out. The latency is the README's: 102 + (factor * (the chain's + 102)) // 3; one sample off fails
    the null. The output does not depend on the host's buffer size."""
    from scipy import signal

    plugin_toolchain()

    chain_file = ROOT / "tests" / "export" / "parts.toml"
    plugin = pedalboard.load_plugin(str(export_plugin(chain_file, tmp_path, formats=["vst3"], rates=[RATE]).bundles["vst3"]))
    chain = load_chain(chain_file)
    for rate, factor in ((64000, 4), (32000, 2)):
        mix = signal.sosfiltfilt(
            signal.butter(12, 0.4 * min(rate, RATE), fs=rate, output="sos"), make_test_mix(2.0, rate), axis=-1
        )
        ramp = np.sin(np.linspace(0.0, np.pi / 2, rate // 20)) ** 2
        mix[:, : ramp.size] *= ramp
        mix[:, -ramp.size :] *= ramp[::-1]
        bed = np.concatenate([mix, np.zeros((3, mix.shape[1]))]).astype(np.float32)  # 5 in (the canceller's feeds)
        got = plugin(bed, rate)
        lowpass = signal.firwin(2 * 4 * 200 + 1, 0.9 / max(3, factor), window=("kaiser", 12.0))
        low = chain(signal.resample_poly(mix, 3, factor, axis=-1, window=lowpass).astype(np.float32), RATE)
        want = signal.resample_poly(low, factor, 3, axis=-1, window=lowpass)[:, : got.shape[1]]
        figure = null_db(got, want)
        blocks = [plugin(bed, rate, buffer_size=size) for size in (37, 1000)]
        print(f"\n{rate} Hz on the {RATE:g} Hz designs: {figure:.1f} dB, latency {plugin.reported_latency_samples}")
        assert plugin.reported_latency_samples == 102 + (factor * (chain.latency_samples + 102)) // 3
        assert figure <= -85.0
        assert all(np.array_equal(other, got) for other in blocks), "the block size changed the output"


def test_the_resampler_is_flat_in_the_band_and_lets_nothing_through_above_it(tmp_path: Path) -> None:
    """The decimator and interpolator around a 0 dB trim baked for 48 kHz (with a 0 ms Align, a stage made for one rate:
    a chain of none plays natively at every rate), in 96 and 192 kHz sessions: a tone up to
    21.5 kHz (just inside 90% of 24 kHz) comes out within 0.001 dB, through both filters, and everything else that
    comes out with it (the interpolator's image at 48 kHz minus the tone, anything aliased) is 98 dB below it. A
    tone at or above 24 kHz, which would alias into the 48 kHz chain, comes out at least 98 dB down. The same filters
    turned round, in 24, 16 and 8 kHz sessions (the 48 kHz chain between an interpolator and a decimator): a tone up
    to 90% of the session's Nyquist frequency comes out within 0.001 dB, and the rest 98 dB below it. Both, in 64 and
    32 kHz sessions (the chain bridged up to 192 or 96 kHz, that raised down by 3): the same figures in the band the
    48 kHz chain has, and a tone from 24 kHz up (64 kHz: it would alias into the chain) at least 98 dB down."""
    plugin_toolchain()

    chain = tmp_path / "trim.toml"
    chain.write_text(f'format = 1\n[[stages]]\ntype = "Gain"\nname = "trim"\nparameters = {{ gain_db = 0.0 }}\n{ALIGNED}')
    plugin = pedalboard.load_plugin(str(export_plugin(chain, tmp_path, formats=["vst3"], rates=[RATE]).bundles["vst3"]))
    sessions = {
        2 * RATE: (100.0, 1000.0, 10000.0, 20000.0, 21500.0, 24000.0, 26000.0, 40000.0),
        4 * RATE: (100.0, 1000.0, 10000.0, 20000.0, 21500.0, 24000.0, 26000.0, 40000.0),
        **{RATE / factor: (100.0, 1000.0, 0.25 * RATE / factor, 0.45 * RATE / factor) for factor in (2, 3, 6)},
        # both: up to 2 or 4 times the rate, then down by 3 (32 and 64 kHz sessions)
        4 * RATE / 3: (100.0, 1000.0, 10000.0, 20000.0, 21500.0, 24000.0, 26000.0, 30000.0),
        2 * RATE / 3: (100.0, 1000.0, 8000.0, 14400.0),
    }
    for rate, frequencies in sessions.items():
        time = np.arange(int(rate)) / rate
        for frequency in frequencies:
            if frequency >= rate / 2:
                continue
            tone = np.tile(0.5 * np.sin(2 * np.pi * frequency * time), (2, 1)).astype(np.float32)
            got = plugin(tone, rate)[0, int(rate) // 10 : -int(rate) // 10].astype(np.float64)
            level_db = 20 * np.log10(np.sqrt(np.mean(got**2)) / (0.5 / np.sqrt(2)))
            if frequency <= min(21500.0, 0.45 * rate):
                phases = 2 * np.pi * frequency * time[int(rate) // 10 : -int(rate) // 10]
                basis = np.stack([np.sin(phases), np.cos(phases)], axis=1)
                rest = got - basis @ np.linalg.lstsq(basis, got, rcond=None)[0]  # all but the tone
                rest_db = 20 * np.log10(np.sqrt(np.mean(rest**2)) / np.sqrt(np.mean(got**2)))
                print(f"\n{rate:g} Hz session, {frequency:g} Hz tone: {level_db:+.5f} dB, the rest {rest_db:.1f} dB")
                assert abs(level_db) <= 0.001 and rest_db <= -98.0
            else:
                print(f"\n{rate:g} Hz session, {frequency:g} Hz tone: {level_db:+.1f} dB")
                assert level_db <= -98.0


@settings(max_examples=8, deadline=None, derandomize=True)
@given(
    st.integers(16, 4096),  # the host's buffer size
    st.lists(
        st.tuples(
            st.integers(1, 40),  # buffers until the change
            st.sampled_from(["device.width", "device.center_level_db", "device.center_amount"]),
            st.floats(0.0, 1.0),  # where in the knob's range
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_random_automation_in_random_buffers_nulls(bundles: dict[str, dict[str, Path]], block: int, ride: list) -> None:
    """Knob changes between buffers of a random size (mid-fade, mid-frame, mid-partition): the plugin stays the chain.

    Every buffer but the last has the same size: pedalboard re-prepares a plugin (a VST3
    setupProcessing, which resets it, as DAWs do between sessions) when a buffer is larger
    than the ones before it in the stream, which no DAW does within a stream.
    """

    chain_file = ROOT / "chains" / "studio-5-binaural.toml"
    plugin = _random_ride_plugin(bundles)
    chain = load_chain(chain_file)
    mix = make_test_mix(1.5, int(RATE))
    for path in ("device.width", "device.center_level_db", "device.center_amount"):  # back to the defaults
        parameter = plugin_parameter(plugin, path)
        default = chain["device"].parameter_values()[path.split(".")[1]]
        parameter.raw_value = (default - parameter.min_value) / (parameter.max_value - parameter.min_value)
    plugin.reset()
    changes: dict[int, list[tuple[str, float]]] = {}
    index = 0
    for gap, path, share in ride:
        index += gap
        changes.setdefault(index, []).append((path, share))
    got, want = [], []
    for number, start in enumerate(range(0, mix.shape[1], block)):
        for path, share in changes.get(number, []):
            parameter = plugin_parameter(plugin, path)
            parameter.raw_value = share
            setattr(
                chain["device"], path.split(".")[1], parameter.min_value + share * (parameter.max_value - parameter.min_value)
            )
        piece = mix[:, start : start + block]
        got.append(plugin(piece, int(RATE), buffer_size=block, reset=False))
        want.append(chain(piece, int(RATE), buffer_size=block, reset=False))
    figure = null_db(np.concatenate(got, axis=1), np.concatenate(want, axis=1))
    assert figure <= -90.0, (figure, block, ride)


_PLUGINS: dict[str, object] = {}


def _random_ride_plugin(bundles: dict[str, dict[str, Path]]) -> object:

    if "binaural" not in _PLUGINS:
        _PLUGINS["binaural"] = pedalboard.load_plugin(str(bundles["studio-5-binaural"]["vst3"]))
    return _PLUGINS["binaural"]


def _blocks(plugin: Any, audio: np.ndarray, block: int, flips: dict[int, bool]) -> np.ndarray:
    """``audio`` through ``plugin`` one host buffer at a time, the bypass set as ``flips`` says before a buffer."""
    plugin.reset()
    out = []
    for number, start in enumerate(range(0, audio.shape[1], block)):
        if number in flips:
            plugin.bypass = flips[number]
        out.append(plugin(audio[:, start : start + block], RATE, buffer_size=block, reset=False))
    return np.concatenate(out, axis=1)


@pytest.mark.parametrize("preset", ["studio-5-binaural", "studio-5"])
def test_the_daws_bypass_plays_the_input_in_time_and_crossfades_in_20_ms(
    bundles: dict[str, dict[str, Path]], preset: str
) -> None:
    """The plugin had no bypass of its own, so a DAW's bypass button took it out of the signal, and its 4992 samples
    of latency with it unless the DAW kept them: the A/B against the unprocessed mix jumped in time and clicked. Now it
    has the bypass designation (VST3, CLAP, LV2): the input delayed by the latency (so, compensated, the input
    itself), faded against the chain's output over 20 ms, with the chain running on underneath."""
    plugin = pedalboard.load_plugin(str(bundles[preset]["vst3"]))
    channels = 5 if preset == "studio-5" else 2  # VST3 runs a device on one bus width, 5 in and 5 out (README)
    audio = np.zeros((channels, int(RATE)), np.float32)
    audio[:2] = make_test_mix(1.0, int(RATE))
    block = 1000
    wet = _blocks(plugin, audio, block, {0: False})
    latency = plugin.reported_latency_samples
    assert latency > 4000 and wet.shape[1] == audio.shape[1] - latency  # pedalboard gives it compensated
    dry = _blocks(plugin, audio, block, {0: True})
    want = np.zeros_like(wet)
    want[:2] = audio[:2, : wet.shape[1]]  # input 1 on output 1, 2 on 2; a driver with no input of its number silent
    assert np.array_equal(dry, want)
    fade = 0.02 * RATE
    for engaged, number in ((True, 20), (False, 20), (True, 7)):
        got = _blocks(plugin, audio, block, {0: not engaged, number: engaged})
        # the change reaches the engine with buffer `number`, the latency before it is heard compensated
        ramp = np.clip((np.arange(wet.shape[1]) + latency - number * block + 1) / fade, 0.0, 1.0)
        gain = ramp if engaged else 1.0 - ramp
        mixed = (1.0 - gain) * wet.astype(np.float64) + gain * want.astype(np.float64)
        error = np.abs(got - mixed).max()
        assert error < 1e-6, (engaged, number, error)
        moving = np.flatnonzero((gain > 0) & (gain < 1))
        assert len(moving) == fade - 1, len(moving)  # 20 ms from the chain's output to the input, or back
    plugin.bypass = False


def test_two_instances_in_one_process_play_each_its_own_chain_in_turn_and_at_once(
    bundles: dict[str, dict[str, Path]],
) -> None:
    """A DAW runs one plugin on several tracks: instances in one process, on its DSP threads at once. Two instances
    of the VST3 at different knobs, each on its own mix, in 512-sample buffers: taking turns on one thread, then on
    two threads started together (pedalboard lets go of the GIL while a plugin runs; the test checks that buffers
    of the two did run at the same time). Each gives its own chain's output; shared state would mix them up."""
    chain_file = ROOT / "chains" / "studio-5-binaural.toml"
    knobs = ({"device.width": 0.3, "device.center_level_db": 4.0}, {"device.width": 1.0, "device.center_level_db": -6.0})
    plugins = [pedalboard.load_plugin(str(bundles["studio-5-binaural"]["vst3"])) for _ in knobs]
    chains = [load_chain(chain_file) for _ in knobs]
    for plugin, chain, settings_ in zip(plugins, chains, knobs):
        for path, value in settings_.items():
            set_knob(plugin, chain, path, value)
    mix = make_test_mix(3.0, int(RATE))
    mixes = (mix, np.ascontiguousarray(mix[::-1]))
    want = [chain(audio, RATE) for chain, audio in zip(chains, mixes)]
    assert null_db(want[0], want[1]) > -10.0  # the two differ: a swap would show
    block = 512
    starts = range(0, mix.shape[1], block)

    def play(number: int, start: int) -> tuple[float, float]:
        began = time.perf_counter()
        out[number].append(plugins[number](mixes[number][:, start : start + block], RATE, buffer_size=block, reset=False))
        return began, time.perf_counter()

    out: list[list[np.ndarray]] = [[], []]
    for plugin in plugins:
        plugin.reset()
    for start in starts:
        play(0, start)
        play(1, start)
    in_turn = [null_db(np.concatenate(got, axis=1), expected) for got, expected in zip(out, want)]

    out = [[], []]
    spans: list[list[tuple[float, float]]] = [[], []]
    for plugin in plugins:
        plugin.reset()
    barrier = threading.Barrier(2)

    def thread(number: int) -> None:
        barrier.wait()
        spans[number] = [play(number, start) for start in starts]

    threads = [threading.Thread(target=thread, args=(number,)) for number in (0, 1)]
    for each in threads:
        each.start()
    for each in threads:
        each.join()
    at_once = [null_db(np.concatenate(got, axis=1), expected) for got, expected in zip(out, want)]
    overlapping = sum(a0 < b1 and b0 < a1 for a0, a1 in spans[0] for b0, b1 in spans[1])
    assert max(in_turn) <= -120.0 and max(at_once) <= -120.0, (in_turn, at_once)
    assert overlapping > 0, "the two threads never ran a buffer at the same time"


def test_clap_is_built_with_its_entry_point(bundles: dict[str, dict[str, Path]]) -> None:
    clap = bundles["studio-5-binaural"]["clap"]
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(clap)], capture_output=True, text=True, check=True).stdout
    exported = {line.split()[-1] for line in symbols.splitlines() if line.strip()}
    assert "clap_entry" in exported
    assert not any(name.startswith("ssx_") for name in exported)  # the program blob stays private


def _test_host(kind: str, folder: Path) -> Path:
    """tests/export/KIND_host.cpp built for Linux into ``folder``, on DPF's headers (CLAP's, and travesty's VST3 C API)."""
    plugin_toolchain()
    binary = folder / f"{kind}_host"
    source = ROOT / "tests" / "export" / f"{kind}_host.cpp"
    subprocess.run(
        ["g++", "-std=c++17", "-O2", f"-I{dpf_root() / 'distrho' / 'src'}", str(source), "-o", str(binary), "-ldl"], check=True
    )
    return binary


@pytest.fixture(scope="module")
def clap_host(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No CLAP host can be installed here: tests/export/clap_host.cpp is a minimal one, built on DPF's CLAP headers."""
    return _test_host("clap", tmp_path_factory.mktemp("clap_host"))


def test_clap_nulls_in_a_host(bundles: dict[str, dict[str, Path]], clap_host: Path, tmp_path: Path) -> None:
    chain_file = ROOT / "chains" / "studio-5-binaural.toml"
    runs = [
        ("defaults", 256, {}),
        ("defaults", 1000, {}),
        ("setting", 1000, {"device.width": 0.5, "device.center_level_db": -6.0}),
    ]
    outputs = _nulls_in_the_clap_host(
        clap_host, bundles["studio-5-binaural"]["clap"], chain_file, make_test_mix(4.0, int(RATE)), runs, tmp_path
    )
    assert np.array_equal(outputs[("defaults", 256)], outputs[("defaults", 1000)])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_host_calling_with_buffers_of_any_size_hears_what_fixed_buffers_give(
    bundles: dict[str, dict[str, Path]], clap_host: Path, tmp_path: Path, seed: int
) -> None:
    """DAWs do not always call a plugin with its maximum buffer: at loop points, around automation, at the transport's
    start they give fewer frames, one, or none. Buffers of sizes drawn from 0..1024 (a quarter of them 0 or 1 frame)
    give the samples buffers of 1024 give, to the bit, knobs set or not."""
    chain_file = ROOT / "chains" / "studio-5-binaural.toml"
    names = [parameter.name for parameter in _program_parameters(chain_file)]
    make_test_mix(3.0, int(RATE)).astype("<f4").tofile(tmp_path / "in.f32")
    setting = [str(names.index("device.width")), "0.4", str(names.index("device.center_level_db")), "-4.5"]
    for knobs in ([], setting):
        outputs = []
        for variable in (None, str(seed)):
            env = {**os.environ, **({"CLAP_VARIABLE_BLOCKS": variable} if variable else {})}
            out = tmp_path / f"out-{variable}.f32"
            subprocess.run(
                [str(clap_host), str(bundles["studio-5-binaural"]["clap"]), str(RATE), "1024", str(tmp_path / "in.f32"), "2",
                 str(out), *knobs],
                capture_output=True, text=True, check=True, env=env,
            )  # fmt: skip
            outputs.append(np.fromfile(out, "<f4").reshape(2, -1))
        assert outputs[0].shape == outputs[1].shape and np.abs(outputs[0]).max() > 0.01
        assert np.array_equal(outputs[0], outputs[1]), (knobs, null_db(outputs[1], outputs[0]))


@pytest.mark.parametrize("rates", [(48000, 96000), (96000, 48000), (48000, 48000)])
def test_a_plugin_activated_again_at_another_rate_plays_as_one_made_at_that_rate(
    bundles: dict[str, dict[str, Path]], clap_host: Path, tmp_path: Path, rates: tuple[int, int]
) -> None:
    """A DAW whose project rate changes (or that stops and starts its engine) deactivates the plugin and activates it
    again, without making it anew and without sending its knobs again: it plays the mix, from its start, as a plugin
    made at the new rate with the knobs set does, to the bit (nothing of the first pass left in it: delay lines,
    filter states, the resampler's)."""
    first, second = rates
    chain_file = ROOT / "chains" / "studio-5-binaural.toml"
    names = [parameter.name for parameter in _program_parameters(chain_file)]
    make_test_mix(2.0, int(RATE)).astype("<f4").tofile(tmp_path / "in.f32")
    knobs = [str(names.index("device.width")), "0.3", str(names.index("device.center_level_db")), "-5.0"]
    outputs = []
    for rate, again in ((second, None), (first, str(second))):
        env = {**os.environ, **({"CLAP_REACTIVATE": again} if again else {})}
        subprocess.run(
            [str(clap_host), str(bundles["studio-5-binaural"]["clap"]), str(rate), "512", str(tmp_path / "in.f32"), "2",
             str(tmp_path / "out.f32"), *knobs],
            capture_output=True, text=True, check=True, env=env,
        )  # fmt: skip
        outputs.append(np.fromfile(tmp_path / "out.f32", "<f4").reshape(2, -1))
    assert np.abs(outputs[0]).max() > 0.01
    assert np.array_equal(outputs[0], outputs[1]), null_db(outputs[1], outputs[0])


def test_a_clap_host_at_twice_the_baked_rate_hears_what_pedalboard_hears(
    bundles: dict[str, dict[str, Path]], clap_host: Path, tmp_path: Path
) -> None:
    """A second host of the resampled rate: the CLAP build, baked for 48 kHz, in a 96 kHz session of the minimal CLAP
    host (blocks of 256 and 1000) reports the latency the README gives (twice the chain's, plus 204) and gives, that
    latency removed, the very samples the VST3 build gives in pedalboard."""
    chain_file = ROOT / "chains" / "studio-5-binaural.toml"
    rate = int(2 * RATE)
    audio = make_test_mix(2.0, rate)
    audio.astype("<f4").tofile(tmp_path / "in.f32")
    chain = load_chain(chain_file)
    chain(audio[:, :64], RATE)  # the chain's latency at the baked rate
    vst3 = pedalboard.load_plugin(str(bundles["studio-5-binaural"]["vst3"]))(audio, rate)
    for block in (256, 1000):
        run = [str(clap_host), str(bundles["studio-5-binaural"]["clap"]), str(rate), str(block), str(tmp_path / "in.f32")]
        result = subprocess.run([*run, "2", str(tmp_path / "out.f32")], capture_output=True, text=True, check=True)
        latency = int(result.stdout.split()[1])
        assert latency == 2 * (chain.latency_samples + 102)
        got = np.fromfile(tmp_path / "out.f32", "<f4").reshape(2, -1)[:, latency:]
        assert np.sqrt(np.mean(got**2)) > 0.01
        assert np.array_equal(got, vst3[:, : got.shape[1]]), f"blocks of {block}: CLAP and VST3 differ"


#: A chain with a latent stage (the upmix's STFT) before a Gain and a pedalboard built-in, and a map binding every kind
#: of control there is to its knobs: a CC on a dB curve, a 14-bit CC, a note toggling a switch, an NRPN on a log
#: curve, a relative encoder, pitch bend (inverted, with pickup), a CC choosing a mode, and a program change recalling
#: values.
_MIDI_CHAIN = """format = 1
[[stages]]
type = "Upmix"
name = "upmix"
parameters = { center_width_db = 4.0 }
[[stages]]
type = "Gain"
name = "trim"
[[stages]]
type = "pedalboard.LadderFilter"
name = "filter"
parameters = { mode = "LPF24", cutoff_hz = 4000.0, resonance = 0.2 }
"""
_MIDI_MAP = """[[bindings]]
target = "trim.gain_db"
kind = "cc"
number = 7
min = -30.0
max = 6.0
curve = "db"
[[bindings]]
target = "upmix.center_amount"
kind = "cc14"
number = 1
[[bindings]]
target = "trim.invert"
kind = "note"
number = 60
[[bindings]]
target = "filter.cutoff_hz"
kind = "nrpn"
number = 300
curve = "log"
min = 200.0
max = 12000.0
[[bindings]]
target = "upmix.center_width_db"
kind = "relative"
number = 16
encoding = "signed_bit"
[[bindings]]
target = "filter.resonance"
kind = "pitchbend"
max = 0.8
invert = true
pickup = true
[[bindings]]
target = "filter.mode"
kind = "cc"
number = 20
[[programs]]
program = 3
preset = "preset.toml"
"""


def _midi_chain_files(folder: Path) -> tuple[Path, Path]:
    """``_MIDI_CHAIN`` and ``_MIDI_MAP`` written into ``folder`` (with the preset file the map's program recalls)."""
    chain, midi_map = folder / "chain.toml", folder / "map.toml"
    chain.write_text(_MIDI_CHAIN)
    midi_map.write_text(_MIDI_MAP)
    (folder / "preset.toml").write_text(
        _MIDI_CHAIN.replace("center_width_db = 4.0", "center_width_db = 9.0, center_amount = 0.3").replace(
            'name = "trim"', 'name = "trim"\nparameters = { gain_db = -12.0, invert = true }'
        )
    )
    return chain, midi_map


def _midi_moves(folder: Path, chain: Path, *, seed: int) -> None:
    """``_midi_messages`` for ``chain`` (``_MIDI_CHAIN``) as a MIDI file, ``moves.mid``, and as the test hosts read
    them, ``moves.txt`` ("FRAME BYTE BYTE [BYTE]" a line, at 48 kHz), in ``folder``."""
    loaded = load_chain(chain)
    loaded.open_stream(RATE, 2)
    delays = {path.split(".")[0]: delay for path, delay in loaded.parameter_delays().items()}
    assert delays["upmix"] == 0 and delays["trim"] == delays["filter"] > 1000  # the upmix's latency
    messages = _midi_messages(seed, delays)
    track = mido.MidiTrack()
    previous = 0
    for tick, message in messages:
        track.append(message.copy(time=tick - previous))
        previous = tick
    midi_file = mido.MidiFile(ticks_per_beat=480)
    midi_file.tracks.append(track)
    midi_file.save(folder / "moves.mid")
    (folder / "moves.txt").write_text("".join(f"{tick * 50} {' '.join(map(str, m.bytes()))}\n" for tick, m in messages))


def _midi_messages(seed: int, delays: dict[str, int]) -> list[tuple[int, Any]]:
    """Random messages for ``_MIDI_MAP``'s controls, each at a whole tick (480 a beat at 120 bpm: 50 samples at 48 kHz),
    as (tick, mido message), in order. ``soundstage process`` runs pedalboard's built-ins in 64-sample calls, and a
    change to one lands at the start of its next call (:class:`PedalboardStep`): the built-in's messages (pitch bend,
    the mode, the NRPN) are kept 3 ticks apart, and no other change falls due within 128 samples of one of theirs, so those
    calls start where the change is due and the chain's render is exact there too."""
    rng = np.random.default_rng(seed)
    control = lambda number, value: mido.Message("control_change", control=number, value=value)  # noqa: E731
    others = []
    for tick in sorted(int(t) for t in rng.integers(0, 2700, 260)):
        kind = int(rng.choice([0, 1, 2, 4, 5]))
        value = int(rng.integers(0, 128))
        if kind == 0:
            message, knob = control(7, value), "trim"
        elif kind == 1:
            message, knob = control(int(rng.choice([1, 33])), value), "upmix"
        elif kind == 2:
            message = mido.Message("note_on", note=60, velocity=value) if value % 3 else mido.Message("note_off", note=60)
            knob = "trim"
        elif kind == 4:  # an encoder's turns, one to three steps (signed bit: 65 is one step down)
            message, knob = control(16, int(rng.choice([1, 2, 3, 65, 66, 67]))), "upmix"
        else:
            message, knob = mido.Message("program_change", program=int(rng.choice([3, 4]))), "trim"
        others.append((tick, message, tick * 50 + delays[knob]))
    builtin = []
    for tick in range(20, 2700, 3 + int(rng.integers(0, 4))):
        kind, value = int(rng.integers(0, 3)), int(rng.integers(0, 128))
        if kind == 0:
            messages = [mido.Message("pitchwheel", pitch=int(rng.integers(-8192, 8192)))]
        elif kind == 1:
            messages = [control(20, value)]
        else:  # NRPN 300 (MSB 2, LSB 44), or another, selected; then data entry, its LSB, an increment or a decrement
            selection = [control(99, 2), control(98, 44)] if value % 4 else [control(99, 2), control(98, value)]
            messages = [*(selection if value % 3 else []), control(int(rng.choice([6, 38, 96, 97])), value)]
        builtin += [(tick, message, tick * 50 + delays["filter"]) for message in messages]
    kept = [item for item in others if all(abs(item[2] - due) >= 128 for _, _, due in builtin)]
    return sorted(((tick, message) for tick, message, _ in [*kept, *builtin]), key=lambda item: item[0])  # stable


def test_a_plugin_exported_with_a_midi_map_moves_its_knobs_on_the_messages_sample(
    clap_host: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """`export-plugin --map`: the plugin takes MIDI in, and the map moves its knobs as `soundstage process --midi --map`
    moves the chain's, each on the sample its stage hears the message's (after the upmix's latency for the Gain and
    the filter). A CLAP host sends the messages of a MIDI file at their samples, in blocks of 256, 1000 and 37 (and of
    any size up to 1024, 0 and 1 frame among them, as DAWs call plugins), and an
    LV2 host as an atom sequence in blocks of 256 and 1000: the output nulls against the chain's render of the file to
    -90 dB, the same samples at every block size and in both formats, and the messages move it (against the render
    without them: above -20 dB). The VST3 of the same export takes no MIDI (DPF would put 2080 hidden controller
    parameters ahead of its knobs), and the summary says so. Before, a map went into the web page only."""
    plugin_toolchain()
    tool("lv2info", "lilv-utils")  # the LV2 host reads the ports with it
    chain, midi_map = _midi_chain_files(tmp_path)
    out = tmp_path / "out"
    assert main(["export-plugin", str(chain), "-o", str(out), "--rates", "48000", "--map", str(midi_map)]) == 0
    said = capsys.readouterr().out
    assert f"MIDI in (LV2 and CLAP): the bindings of {midi_map} move its knobs" in said and "VST3 takes no MIDI" in said
    assert not [name for name in pedalboard.load_plugin(str(out / "chain.vst3")).parameters if name.startswith("midi_")]
    made = SimpleNamespace(bundles={"clap": out / "chain.clap", "lv2": out / "chain.lv2"})
    assert "atom:supports midi:MidiEvent" in (made.bundles["lv2"] / "chain.ttl").read_text()  # a MIDI input hosts connect
    _midi_moves(tmp_path, chain, seed=5)
    audio = make_test_mix(3.0, int(RATE))
    soundfile.write(tmp_path / "in.wav", audio.T, int(RATE), subtype="FLOAT")
    audio.astype("<f4").tofile(tmp_path / "in.f32")
    renders = {}
    for name, extra in (("moved", ["--midi", str(tmp_path / "moves.mid"), "--map", str(midi_map)]), ("still", [])):
        assert main(["process", str(tmp_path / "in.wav"), str(tmp_path / f"{name}.wav"), "--chain", str(chain), *extra]) == 0
        renders[name] = soundfile.read(tmp_path / f"{name}.wav", dtype="float32", always_2d=True)[0].T
    played = []
    for block, sizes in ((256, {}), (1000, {}), (37, {}), (1024, {"CLAP_VARIABLE_BLOCKS": "7"})):  # the last: 0..1024
        result = subprocess.run(
            [str(clap_host), str(made.bundles["clap"]), str(RATE), str(block), str(tmp_path / "in.f32"), "2"]
            + [str(tmp_path / "out.f32")],
            env={**os.environ, "CLAP_MIDI": str(tmp_path / "moves.txt"), "CLAP_OUTPUTS": "3", **sizes},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        latency = int(result.stdout.split()[1])
        played.append(np.fromfile(tmp_path / "out.f32", "<f4").reshape(3, -1)[:, latency:])
        figure = null_db(played[-1], renders["moved"])
        print(
            f"\nMIDI-moved CLAP, blocks of {block}{' or fewer' if sizes else ''}: {figure:.1f} dB against soundstage process --midi --map"
        )
        assert figure <= -90.0
    for block in (256, 1000):
        report = _harness(
            ROOT / "tests" / "export" / "lv2host.py", made.bundles["lv2"], "urn:soundstage:chain", "--render",
            tmp_path / "in.f32", "2", tmp_path / "out.f32", "--block", str(block), "--midi", tmp_path / "moves.txt",
        )  # fmt: skip
        assert report == {"latency": latency, "midi_input": True}
        played.append(np.fromfile(tmp_path / "out.f32", "<f4").reshape(3, -1))
    length = played[0].shape[1]  # the CLAP host's output, its latency cut from the start (the LV2 host plays it out)
    assert all(np.array_equal(played[0], other[:, :length]) for other in played[1:])
    assert null_db(played[0], renders["still"]) > -20.0, "the messages moved nothing"


def _midi_harness(folder: Path, map_text: str, harness: str, *, still: bool = False) -> tuple[Path, Any, Any, Any]:
    """tests/export/HARNESS.cpp built in ``folder`` on the header `--map` generates for ``map_text``, a map of
    ``_MIDI_CHAIN`` (``still``: every knob's delay 0, so changes come in the order they are made); returns the binary,
    the map and chain soundstage reads, and the baked program."""
    plugin_toolchain()
    chain_file, map_file = _midi_chain_files(folder)
    map_file.write_text(map_text)
    chain = load_chain(chain_file)
    program = bake(chain, _MIDI_CHAIN, rates=[RATE], source=str(chain_file))
    midi_map = load_map(map_file, chain)
    held, notes = plugin_midi(midi_map, program, chain, [RATE])
    assert held is not None and notes == []
    if still:
        held = PluginMidi(held.source, held.bindings, held.programs, {RATE: [0] * len(program.parameters)})
    (folder / "midi_map_data.h").write_text(midi_header(held, program))
    binary = folder / harness
    native = ROOT / "plugin" / "soundstage" / "export" / "native"
    source = ROOT / "tests" / "export" / f"{harness}.cpp"
    subprocess.run(["g++", "-std=c++17", "-O2", f"-I{native}", f"-I{folder}", str(source), "-o", str(binary)], check=True)
    return binary, midi_map, chain, program


def test_the_midi_map_allocates_nothing_while_audio_runs(tmp_path: Path) -> None:
    """tests/export/midi_rt_check.cpp counts operator new while an exported plugin's MIDI map (the header --map
    generates, for `_MIDI_MAP`) decodes random messages of every kind, its changes waiting for their stages and falling
    due, floods of messages included: none on the audio thread."""
    binary, *_ = _midi_harness(tmp_path, _MIDI_MAP, "midi_rt_check")
    words = subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout.split()
    print(f"\nMIDI map: {' '.join(words)}")
    assert int(words[1]) == 0 and int(words[3]) > 200000 and int(words[5]) > 1000


#: A map of every kind, curve, encoding and note mode, on several channels, two bindings on one knob, and a program
#: preset: what the differential fuzz below decodes both ways.
_FUZZ_MAP = """[[bindings]]
target = "trim.gain_db"
kind = "cc"
channel = 1
number = 7
min = -40.0
max = 6.0
curve = "db"
pickup = true
[[bindings]]
target = "trim.gain_db"
kind = "cc14"
number = 10
curve = "exponent"
exponent = 3.0
invert = true
[[bindings]]
target = "upmix.center_amount"
kind = "cc"
channel = 2
number = 7
[[bindings]]
target = "filter.cutoff_hz"
kind = "nrpn"
number = 300
curve = "log"
min = 100.0
max = 10000.0
[[bindings]]
target = "filter.cutoff_hz"
kind = "rpn"
number = 300
pickup = true
[[bindings]]
target = "upmix.center_width_db"
kind = "relative"
channel = 1
number = 16
encoding = "binary_offset"
[[bindings]]
target = "upmix.smoothing_ms"
kind = "relative"
number = 17
curve = "log"
[[bindings]]
target = "upmix.low_hz"
kind = "relative"
number = 18
encoding = "signed_bit"
[[bindings]]
target = "trim.invert"
kind = "note"
number = 60
[[bindings]]
target = "trim.invert"
kind = "note"
channel = 3
number = 61
mode = "momentary"
[[bindings]]
target = "filter.mode"
kind = "cc"
number = 20
[[bindings]]
target = "filter.mode"
kind = "note"
number = 62
[[bindings]]
target = "filter.resonance"
kind = "pitchbend"
channel = 1
pickup = true
[[bindings]]
target = "filter.drive"
kind = "program"
[[bindings]]
target = "filter.resonance"
kind = "cc14"
number = 3
[[programs]]
program = 5
preset = "preset.toml"
"""
_CONTROLS = [1, 3, 6, 7, 10, 16, 17, 18, 20, 35, 38, 42, 96, 97, 98, 99, 100, 101]


@pytest.fixture(scope="module")
def midi_decode(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any, list[float]]:
    """tests/export/midi_decode.cpp built on the header `--map` generates for ``_FUZZ_MAP`` (delays 0); with the map and
    chain soundstage's decoder reads, and the knobs' values."""
    binary, midi_map, chain, program = _midi_harness(tmp_path_factory.mktemp("midi_decode"), _FUZZ_MAP, "midi_decode", still=True)
    return binary, midi_map, chain, [parameter.default for parameter in program.parameters]


_MESSAGE = st.one_of(
    st.tuples(
        st.just(0xB0), st.integers(0, 3), st.sampled_from(_CONTROLS), st.sampled_from([0, 2, 44, 64, 127]) | st.integers(0, 127)
    ),
    st.tuples(st.sampled_from([0x90, 0x80]), st.integers(0, 3), st.sampled_from([60, 61, 62, 63]), st.sampled_from([0, 1, 100])),
    st.tuples(st.just(0xE0), st.integers(0, 3), st.integers(0, 127), st.integers(0, 127)),
    st.tuples(st.just(0xC0), st.integers(0, 3), st.sampled_from([0, 5, 6, 127]) | st.integers(0, 127), st.just(None)),
)
#: A controller's NRPN or RPN transaction on one channel: the number 300 (MSB 2, LSB 44) or another selected, then
#: data entry's MSB and LSB, increments and decrements, in any order and each perhaps left out.
_TRANSACTION = st.builds(
    lambda channel, registered, lsb, data: [
        (0xB0, channel, 101 if registered else 99, 2),
        (0xB0, channel, 100 if registered else 98, lsb),
        *((0xB0, channel, control, value) for control, value in data),
    ],
    st.integers(0, 2),
    st.booleans(),
    st.sampled_from([44, 45]),
    st.lists(st.tuples(st.sampled_from([6, 38, 96, 97]), st.integers(0, 127)), max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.one_of(_MESSAGE.map(lambda message: [message]), _TRANSACTION), max_size=30))
def test_the_plugins_midi_decoder_reads_messages_as_soundstage_does(midi_decode, parts: list) -> None:
    """A differential fuzz: streams of MIDI messages (CCs on the bound numbers and NRPN/RPN's, 14-bit pairs, notes,
    pitch bend, program changes, on several channels) through the plugin's C++ decoder (native/midi_map.hpp, its
    map as `--map` generates it) and through soundstage's (midi/decode.py): message by message, the same knobs change,
    in the same order, to the same values (1e-12 relative; choices by index, switches 0/1), pickup and encoders reading
    what the map last gave a knob (two bindings share one, a preset moves several)."""
    binary, midi_map, chain, values = midi_decode
    messages = [message for part in parts for message in part]
    names = list(chain.parameters)
    lines = [
        " ".join(str(byte) for byte in (status | channel, one, two) if byte is not None) for status, channel, one, two in messages
    ]
    result = subprocess.run(
        [str(binary), *map(repr, values)], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True
    )
    got = [
        [(int(knob), float(value)) for knob, value in (line.split() for line in block.strip().splitlines())]
        for block in result.stdout.split("-\n")[:-1]
    ]
    decoder = Decoder(midi_map, chain, follow=True)  # as a MIDI file is decoded: pickup reads what it has given
    want = []
    for line in lines:
        changes = []
        for binding, value in decoder.feed(mido.Message.from_bytes([int(byte) for byte in line.split()])):
            spec = chain.parameters[binding.target].spec
            number = float(spec.choices.index(value)) if spec.kind == "choice" else float(value)
            changes.append((names.index(binding.target), number))
        want.append(changes)
    assert len(got) == len(want)
    for message, mine, theirs in zip(lines, got, want):
        assert [knob for knob, _ in mine] == [knob for knob, _ in theirs], message
        assert np.allclose([v for _, v in mine], [v for _, v in theirs], rtol=1e-12, atol=1e-12), (message, mine, theirs)


def test_a_plugin_built_for_every_rate_moves_its_knobs_on_their_samples_at_a_rate_it_was_not_exported_for(
    clap_host: Path, tmp_path: Path
) -> None:
    """A chain of Gains and a pedalboard built-in is built at the session's rate (no design made for one rate), and the
    Gain after the built-in hears the input 63 samples late (PedalboardStep's queue) at every rate. At 32 kHz, a rate
    not among the export's, the CLAP moves both Gains on their samples as `soundstage process --midi --map` of a 32 kHz
    file does (to the bit here; the test asks -110 dB); with the delay scaled from 44.1 kHz (46 samples): -32 dB."""
    plugin_toolchain()
    chain, midi_map = tmp_path / "chain.toml", tmp_path / "map.toml"
    chain.write_text(
        'format = 1\n[[stages]]\ntype = "Gain"\nname = "trim"\n[[stages]]\ntype = "pedalboard.LowpassFilter"\n'
        'name = "top"\nparameters = { cutoff_frequency_hz = 9000.0 }\n[[stages]]\ntype = "Gain"\nname = "out"\n'
    )
    midi_map.write_text(
        '[[bindings]]\ntarget = "trim.gain_db"\nkind = "cc"\nnumber = 7\nmin = -30.0\nmax = 0.0\n'
        '[[bindings]]\ntarget = "out.gain_db"\nkind = "cc"\nnumber = 8\nmin = -30.0\nmax = 0.0\n'
    )
    made = export_plugin(chain, tmp_path / "out", formats=["clap"], midi_map=midi_map)
    assert made.program.any_rate and made.midi_formats == ("clap",)
    rate = 32000  # a tick is 1 ms (500 a beat at 120 bpm): 32 samples
    rng = np.random.default_rng(3)
    ticks = sorted(int(tick) for tick in rng.integers(0, 1900, 120))
    messages = [mido.Message("control_change", control=int(rng.choice([7, 8])), value=int(rng.integers(0, 128))) for _ in ticks]
    track = mido.MidiTrack([message.copy(time=tick - previous) for message, tick, previous in zip(messages, ticks, [0, *ticks])])
    midi_file = mido.MidiFile(ticks_per_beat=500)
    midi_file.tracks.append(track)
    midi_file.save(tmp_path / "moves.mid")
    (tmp_path / "moves.txt").write_text("".join(f"{t * 32} {' '.join(map(str, m.bytes()))}\n" for t, m in zip(ticks, messages)))
    audio = make_test_mix(2.0, rate)
    soundfile.write(tmp_path / "in.wav", audio.T, rate, subtype="FLOAT")
    audio.astype("<f4").tofile(tmp_path / "in.f32")
    command = ["process", str(tmp_path / "in.wav"), str(tmp_path / "want.wav"), "--chain", str(chain)]
    assert main([*command, "--midi", str(tmp_path / "moves.mid"), "--map", str(midi_map)]) == 0
    want = soundfile.read(tmp_path / "want.wav", dtype="float32", always_2d=True)[0].T
    result = subprocess.run(
        [str(clap_host), str(made.bundles["clap"]), str(rate), "256", str(tmp_path / "in.f32"), "2", str(tmp_path / "out.f32")],
        env={**os.environ, "CLAP_MIDI": str(tmp_path / "moves.txt")},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    latency = int(result.stdout.split()[1])
    got = np.fromfile(tmp_path / "out.f32", "<f4").reshape(2, -1)[:, latency:]
    figure = null_db(got, want)
    print(f"\nMIDI-moved CLAP at {rate} Hz, built for every rate: {figure:.1f} dB")
    assert figure <= -110.0


def test_a_midi_map_for_a_vst3_alone_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    """--format vst3 --map: the VST3 takes no MIDI, so the map would go nowhere: one line says so and what to do, and
    nothing is built (no folder)."""
    chain, midi_map = _midi_chain_files(tmp_path)
    with pytest.raises(ChainError, match=r"a VST3 takes no MIDI .*add clap or lv2 to --format"):
        export_plugin(chain, tmp_path / "out", formats=["vst3"], midi_map=midi_map)
    assert not (tmp_path / "out").exists()


def test_a_sample_that_is_no_audio_plays_as_silence_and_never_poisons_the_plugin(
    bundles: dict[str, dict[str, Path]], clap_host: Path, tmp_path: Path
) -> None:
    """A NaN from a plugin upstream (or an infinity, or a value beyond +120 dBFS) went into the filters' state: one
    such sample made the plugin send NaN for the rest of the session (all 476416 samples after it, in 5 s). Such a
    sample now plays as silence: the output is the same, bit for bit, as for the input with it zeroed."""
    mix = make_test_mix(3.0, int(RATE))
    broken = mix.copy()
    broken[0, 1000], broken[1, 2000], broken[0, 30000] = np.nan, np.inf, 1e7
    zeroed = mix.copy()
    zeroed[0, 1000] = zeroed[1, 2000] = zeroed[0, 30000] = 0.0
    outputs = []
    for audio in (broken, zeroed):
        audio.astype("<f4").tofile(tmp_path / "in.f32")
        subprocess.run(
            [str(clap_host), str(bundles["studio-5-binaural"]["clap"]), str(RATE), "256", str(tmp_path / "in.f32"), "2",
             str(tmp_path / "out.f32")],
            check=True, capture_output=True,
        )  # fmt: skip
        outputs.append(np.fromfile(tmp_path / "out.f32", "<f4").reshape(2, -1))
    assert np.isfinite(outputs[0]).all()
    assert np.array_equal(outputs[0], outputs[1])


def _wine() -> str | None:
    """Wine's loader: Debian's wine64 package puts it in /usr/lib/wine; the wine package adds a wrapper on PATH."""
    found = shutil.which("wine64") or shutil.which("wine")
    return found or ("/usr/lib/wine/wine64" if Path("/usr/lib/wine/wine64").is_file() else None)


@pytest.fixture(scope="module")
def vst3_host(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/export/vst3_host.cpp: a minimal VST3 host on DPF's travesty headers (the VST3 C API), not JUCE's."""
    return _test_host("vst3", tmp_path_factory.mktemp("vst3_host"))


def _vst3_binary(bundle: Path) -> Path:
    """The library inside a VST3 bundle (Contents/x86_64-linux/NAME.so, Contents/x86_64-win/NAME.vst3)."""
    return next(path for path in (bundle / "Contents").glob("*/*") if path.suffix in (".so", ".vst3"))


@pytest.fixture(scope="module")
def windows_hosts(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """tests/export/clap_host.cpp and vst3_host.cpp built for Windows with MinGW-w64, run under Wine: Windows hosts of
    the Windows builds. Returns run(host, *arguments, environment=None), host "clap" or "vst3", paths given as Path
    (also in ``environment``, the host's variables: CLAP_MIDI, CLAP_OUTPUTS)."""
    plugin_toolchain()
    reason = missing_tools("windows") or (None if _wine() else "wine is not installed (Debian: apt-get install wine64)")
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: .ci/run must install it")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("windows")
    for kind in ("clap", "vst3"):
        subprocess.run(
            [WINDOWS_COMPILER, "-std=c++17", "-O2", f"-I{dpf_root() / 'distrho' / 'src'}"]
            + [str(ROOT / "tests" / "export" / f"{kind}_host.cpp"), "-static", "-static-libgcc", "-static-libstdc++"]
            + ["-o", str(folder / f"{kind}_host.exe")],
            check=True,
        )
    env = {**os.environ, "WINEPREFIX": str(folder / "prefix"), "WINEDEBUG": "-all", "WINEDLLOVERRIDES": "mscoree,mshtml="}

    def windows(item: object) -> str:
        return "Z:" + str(item).replace("/", "\\") if isinstance(item, Path) else str(item)

    def run(kind: str, *arguments: object, environment: dict[str, object] | None = None) -> subprocess.CompletedProcess[str]:
        command = [str(_wine()), str(folder / f"{kind}_host.exe"), *map(windows, arguments)]
        given = {**env, **{key: windows(value) for key, value in (environment or {}).items()}}
        return subprocess.run(command, capture_output=True, text=True, env=given, timeout=600, check=True)

    return run


@pytest.mark.parametrize("preset", ["studio-5-binaural", "studio-5"])
def test_a_vst3_host_that_is_not_juce_hears_what_pedalboard_hears(
    bundles: dict[str, dict[str, Path]], vst3_host: Path, tmp_path: Path, preset: str
) -> None:
    """Every VST3 figure came from one host, pedalboard (JUCE's VST3 hosting). tests/export/vst3_host.cpp drives the
    plugin through the VST3 C API directly (module entry, factory, component, audio processor; offline, blocks of 256
    and 1000, the other inputs of a device's 5-channel bus silent): it reports pedalboard's latency and, that latency
    removed, gives pedalboard's samples. Its bypass, switched as a DAW's button switches it (the parameter flagged
    kIsBypass, an input parameter change), crossfades into the input in time over 20 ms."""
    bundle = bundles[preset]["vst3"]
    width = 5 if preset == "studio-5" else 2
    audio = np.zeros((width, int(2 * RATE)), np.float32)
    audio[:2] = make_test_mix(2.0, int(RATE))
    audio.astype("<f4").tofile(tmp_path / "in.f32")
    plugin = pedalboard.load_plugin(str(bundle))
    want = plugin(audio, RATE)
    for block in (256, 1000):
        result = subprocess.run(
            [str(vst3_host), str(_vst3_binary(bundle)), str(RATE), str(block), str(tmp_path / "in.f32"), str(width)]
            + [str(tmp_path / "out.f32")],
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout == f"latency {plugin.reported_latency_samples} inputs {width} outputs {width}\n"
        latency = plugin.reported_latency_samples
        wet = np.fromfile(tmp_path / "out.f32", "<f4").reshape(width, -1)  # as the host hears it, latency and all
        got = wet[:, latency:]
        assert np.sqrt(np.mean(got**2)) > 0.01 and np.array_equal(got, want[:, : got.shape[1]]), block
    # the DAW's bypass button: the parameter the plugin flags as its bypass, switched on at frame 20000
    run = [str(vst3_host), str(_vst3_binary(bundle)), str(RATE), "1000", str(tmp_path / "in.f32"), str(width)]
    subprocess.run([*run, str(tmp_path / "bypassed.f32"), "20000"], capture_output=True, text=True, check=True)
    got = np.fromfile(tmp_path / "bypassed.f32", "<f4").reshape(width, -1)
    dry = np.zeros_like(got)
    dry[:2, latency:] = audio[:2, : got.shape[1] - latency]  # the input in time; the outputs of no input silent
    gain = np.clip((np.arange(got.shape[1]) - 20000 + 1) / (0.02 * RATE), 0.0, 1.0)
    assert np.abs(got - ((1 - gain) * wet.astype(np.float64) + gain * dry.astype(np.float64))).max() < 1e-6


def _pe_table(binary: Path, title: str) -> set[str]:
    """The names in a table of a Windows DLL as MinGW's objdump prints it (the exports, or the DLLs it imports)."""
    dump = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", str(binary)], capture_output=True, text=True, check=True)
    if title == "imports":
        return set(re.findall(r"DLL Name: (\S+)", dump.stdout))
    exports = dump.stdout.split("[Ordinal/Name Pointer] Table")[1].split("\n\n")[0]
    return set(re.findall(r"\]\s+(\w+)", exports))


def test_a_windows_clap_exported_with_a_midi_map_plays_the_messages_as_the_linux_one(
    tmp_path: Path, clap_host: Path, windows_hosts
) -> None:
    """`--platform windows --map`: the Windows CLAP takes MIDI too. Under Wine, in a Windows CLAP host, the messages of
    a MIDI file (every kind the map binds) give the Linux CLAP's output within float rounding (the chain's built-in,
    pedalboard's LadderFilter, runs JUCE's code, which calls the C library's tanh), and they move it. It holds the map
    as the Linux one does."""
    chain, midi_map = _midi_chain_files(tmp_path)
    windows = export_plugin(chain, tmp_path / "windows", rates=[RATE], system="windows", midi_map=midi_map)
    linux = export_plugin(chain, tmp_path / "linux", formats=["clap"], rates=[RATE], midi_map=midi_map)
    assert windows.midi_formats == ("clap",) and linux.midi_formats == ("clap",)
    assert exported_map(windows.bundles["clap"]) == exported_map(linux.bundles["clap"]) is not None  # `plugin map`
    _midi_moves(tmp_path, chain, seed=11)
    make_test_mix(2.0, int(RATE)).astype("<f4").tofile(tmp_path / "in.f32")
    played = {}
    for system, midi in (("windows", tmp_path / "moves.txt"), ("linux", tmp_path / "moves.txt"), ("still", None)):
        out = tmp_path / f"{system}.f32"
        files = [tmp_path / "in.f32", 2, out]
        variables: dict[str, object] = {"CLAP_OUTPUTS": 3, **({"CLAP_MIDI": midi} if midi else {})}
        if system == "windows":
            windows_hosts("clap", windows.bundles["clap"], RATE, 512, *files, environment=variables)
        else:
            subprocess.run(
                [str(clap_host), str(linux.bundles["clap"]), str(RATE), "512", *map(str, files)],
                env={**os.environ, **{key: str(value) for key, value in variables.items()}},
                capture_output=True, text=True, check=True,
            )  # fmt: skip
        played[system] = np.fromfile(out, "<f4").reshape(3, -1)
    figure = null_db(played["windows"], played["linux"])
    print(f"\nMIDI-moved CLAP, Windows under Wine against Linux: {figure:.1f} dB")
    assert figure <= -110.0 and null_db(played["linux"], played["still"]) > -20.0


@pytest.mark.parametrize("chain_name", ["studio-5-binaural", "builtins"])
def test_a_windows_build_plays_under_wine_as_the_linux_build_does(
    tmp_path: Path, clap_host: Path, vst3_host: Path, windows_hosts, bundles: dict[str, dict[str, Path]], chain_name: str
) -> None:
    """`export-plugin` built for Linux only, while most studios run their DAW on Windows. `--platform windows` builds
    the same program into a Windows VST3 and CLAP (64-bit DLLs, MinGW-w64, statically linked: they import only
    KERNEL32 and msvcrt, which every Windows has). Run by Windows hosts under Wine (a CLAP host, and a VST3 host on
    the VST3 C API), each gives the Linux build's output, with a knob moved too: to the bit for the device chain (its designs and the engine's
    own arithmetic), and within float rounding for the built-ins, whose JUCE code calls the C library's sin and tanh."""
    chain_file = ROOT / ("chains" if chain_name == "studio-5-binaural" else "tests/export") / f"{chain_name}.toml"
    windows = export_plugin(chain_file, tmp_path / "windows", rates=[RATE], system="windows").bundles
    if chain_name in bundles:  # the module's build of the preset, as this would build it
        linux = bundles[chain_name]
    else:
        linux = export_plugin(chain_file, tmp_path / "linux", formats=["clap", "vst3"], rates=[RATE]).bundles
    assert sorted(windows) == ["clap", "vst3"]
    dll = windows["vst3"] / "Contents" / "x86_64-win" / f"{windows['vst3'].stem}.vst3"
    for binary, entry in ((dll, {"GetPluginFactory", "InitDll", "ExitDll"}), (windows["clap"], {"clap_entry"})):
        assert binary.read_bytes()[:2] == b"MZ"
        assert entry <= _pe_table(binary, "exports")
        assert {name.lower() for name in _pe_table(binary, "imports")} == {"kernel32.dll", "msvcrt.dll"}
    for bundle in windows.values():  # the chain reads back from a Windows build; loading one here is refused in words
        assert exported_program(bundle) == exported_program(linux["clap"])
    with pytest.raises(PluginError, match=r"it is built for Windows, not Linux; use the bundle built for this system"):
        load_plugin(windows["vst3"])
    mix = make_test_mix(2.0, int(RATE))
    mix.astype("<f4").tofile(tmp_path / "in.f32")
    names = [parameter.name for parameter in _program_parameters(chain_file)]
    moved = {"studio-5-binaural": {"device.width": 0.4}, "builtins": {"motion.1.chorus.rate_hz": 3.0}}[chain_name]
    runs = [("clap", 256, {}), ("clap", 1000, {names.index(path): value for path, value in moved.items()}), ("vst3", 512, {})]
    runs.append(("vst3", 512, {"bypass at": 20480}))  # the VST3 host's 7th argument: the DAW's bypass button
    for kind, block, setting in runs:
        arguments = [item for pair in setting.items() for item in pair if not isinstance(item, str)]
        plugins = {"windows": windows[kind], "linux": linux[kind]}
        if kind == "vst3":  # the host is given the library inside the bundle
            plugins = {system: _vst3_binary(bundle) for system, bundle in plugins.items()}
        files = (tmp_path / "in.f32", 2, tmp_path / "win.f32")
        said = windows_hosts(kind, plugins["windows"], RATE, block, *files, *arguments)
        here = subprocess.run(
            [str(clap_host if kind == "clap" else vst3_host), str(plugins["linux"]), str(RATE), str(block)]
            + [str(tmp_path / "in.f32"), "2", str(tmp_path / "linux.f32"), *map(str, arguments)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert said.stdout == here.stdout  # latency, outputs, parameters
        got, want = (np.fromfile(tmp_path / f"{name}.f32", "<f4").reshape(2, -1) for name in ("win", "linux"))
        assert np.sqrt(np.mean(want**2)) > 0.01
        figure = null_db(got, want)
        print(f"\n{chain_name}, {kind}, blocks of {block}, {setting}: Windows under Wine against Linux {figure:.1f} dB")
        if chain_name == "studio-5-binaural":
            assert np.array_equal(got, want), (block, setting)
        else:  # JUCE's sin, tanh, exp and pow come from the system's C library, whose last bit differs between
            assert figure <= -110.0, (block, setting)  # Linux and Windows (pedalboard's would too): -118.8 dB measured


def test_a_surround_fold_down_nulls_in_a_host(clap_host: Path, tmp_path: Path) -> None:
    """Six channels in, two out (a 5.1 stem folded down, then virtualized): pedalboard hosts no plugin narrower at its
    output than its input, a DAW does; the CLAP host runs it. Every channel carries its own signal, so a fold-down that
    dropped, swapped or mis-weighted one would not null."""
    chain_file = ROOT / "tests" / "export" / "fold.toml"
    clap = export_plugin(chain_file, tmp_path / "out", formats=["clap"], rates=[RATE]).bundles["clap"]
    stereo = make_test_mix(3.0, int(RATE))
    bed = np.stack([np.roll(stereo[index % 2], 4801 * index) * (1.0 - 0.1 * index) for index in range(6)])
    runs = [("defaults", 256, {}), ("defaults", 1000, {}), ("setting", 1000, {"virtual.crossfeed": 0.2})]
    outputs = _nulls_in_the_clap_host(clap_host, clap, chain_file, bed, runs, tmp_path)
    assert np.array_equal(outputs[("defaults", 256)], outputs[("defaults", 1000)])
    assert null_db(outputs[("setting", 1000)], outputs[("defaults", 1000)]) > -40.0  # the knob moved the output


def test_an_output_folder_with_commas_quotes_and_backslashes_builds(clap_host: Path, tmp_path: Path) -> None:
    """The blob went to the assembler as a path in a macro: a comma split the macro, a quote or backslash broke its
    string ("building the CLAP plugin failed: |  )"). A folder named as users name them builds, and the plugin nulls."""
    chain_file = ROOT / "tests" / "export" / "routing.toml"
    out = tmp_path / 'mix, "final" \\ v2'
    out.mkdir()
    clap = export_plugin(chain_file, out, formats=["clap"], rates=[RATE]).bundles["clap"]
    assert clap.parent == out
    _nulls_in_the_clap_host(clap_host, clap, chain_file, make_test_mix(1.0, int(RATE)), [("defaults", 512, {})], tmp_path)


def test_a_knob_is_named_in_pedalboard_as_in_the_chain_and_in_a_daw_in_words(tmp_path: Path) -> None:
    """The plugin named its knobs ``device.center_level_db`` with the unit dB: a DAW showed "device.center_level_db"
    and a value in dB, and pedalboard, which appends the unit, made ``device_center_level_db_db`` of it. The host
    sees the knob in words with its unit beside it; in pedalboard it is ``stage_knob``, as the LV2 symbol is."""
    plugin_toolchain()
    chain_file = ROOT / "tests" / "export" / "parts.toml"
    made = export_plugin(chain_file, tmp_path, formats=["vst3"], rates=[RATE])
    plugin = pedalboard.load_plugin(str(made.bundles["vst3"]))
    paths = [parameter.name for parameter in made.program.parameters]
    assert "trim.gain_db" in paths and "virtual.crossfeed" in paths
    knobs = {name: parameter for name, parameter in plugin.parameters.items() if name not in ("latency_frames", "bypass")}
    assert sorted(knobs) == sorted(path.replace(".", "_") for path in paths)
    assert plugin.parameters["bypass"].name == "Bypass"  # DPF's: the DAW's own bypass button drives it
    gain = knobs["trim_gain_db"]
    assert (gain.name, gain.label) == ("trim: gain", "dB")
    assert knobs["virtual_crossfeed"].name == "virtual: crossfeed"
    plugin.trim_gain_db = -6.0
    assert plugin.trim_gain_db == pytest.approx(-6.0, abs=0.05)


def test_the_daw_shows_the_name_as_given_and_the_bundle_has_a_plain_file_name(tmp_path: Path) -> None:
    """--name "Café Röhre (mastering)" showed in the DAW as "Caf-R-hre-mastering": the file-name cleanup was the
    plugin's name too, and it dropped accented letters. The DAW shows the name as given; the files are plain ASCII."""
    plugin_toolchain()
    chain_file = ROOT / "tests" / "export" / "routing.toml"
    title = "Café Röhre (mastering)"
    made = export_plugin(chain_file, tmp_path, formats=["vst3", "lv2"], rates=[RATE], name=title)
    assert made.name == title
    assert made.bundles["vst3"].name == "Cafe-Rohre-mastering.vst3" and made.bundles["lv2"].name == "Cafe-Rohre-mastering.lv2"
    assert pedalboard.load_plugin(str(made.bundles["vst3"])).name == title
    if _which("lv2info"):
        env = {**os.environ, "LV2_PATH": str(tmp_path)}
        info = subprocess.run(["lv2info", "urn:soundstage:cafe-rohre-mastering"], capture_output=True, text=True, env=env)
        assert f"Name:              {title}" in info.stdout, info.stdout
    assert bundle_stem("スタジオ").startswith("soundstage-") and bundle_stem("a/b\\c") == "a-b-c"
    assert len(bundle_stem("x" * 300)) == 100


def _nulls_in_the_clap_host(
    host: Path, clap: Path, chain_file: Path, audio: np.ndarray, runs: list, tmp_path: Path
) -> dict[tuple[str, int], np.ndarray]:
    """Run ``clap`` on ``audio`` for each (label, block size, {stage.knob: value}); each nulls against the chain to
    -90 dB, with the chain's latency. The outputs, latency removed, by (label, block size)."""
    audio.astype("<f4").tofile(tmp_path / "in.f32")
    names = [parameter.name for parameter in _program_parameters(chain_file)]
    outputs = {}
    for label, block, setting in runs:
        arguments = [str(item) for path, value in setting.items() for item in (names.index(path), value)]
        result = subprocess.run(
            [str(host), str(clap), str(RATE), str(block), str(tmp_path / "in.f32"), str(audio.shape[0])]
            + [str(tmp_path / "out.f32"), *arguments],
            capture_output=True,
            text=True,
            check=True,
        )
        latency = int(result.stdout.split()[1])
        chain = load_chain(chain_file)
        for path, value in setting.items():
            stage, knob = path.split(".")
            setattr(chain[stage], knob, value)
        assert latency == chain.latency_samples
        got = np.fromfile(tmp_path / "out.f32", "<f4").reshape(2, -1)[:, latency:]
        figure = null_db(got, chain(audio, int(RATE)))
        print(f"\nCLAP {chain_file.stem} {label}, blocks of {block}: {figure:.1f} dB (latency {latency})")
        assert figure <= -90.0
        outputs[(label, block)] = got
    return outputs


def _program_parameters(chain_file: Path) -> list:

    return bake(load_chain(chain_file), chain_file.read_text(), rates=[RATE], source=str(chain_file)).parameters


def test_lv2_bundle_validates_with_lilv(bundles: dict[str, dict[str, Path]]) -> None:
    lv2 = bundles["studio-5-binaural"]["lv2"]
    if not _which("lv2info"):
        if os.environ.get("CI") == "true":
            pytest.fail("lv2info missing in CI: .ci/run must install lilv-utils")
        pytest.skip("lv2info not installed (Debian: apt-get install lilv-utils)")
    env = {**os.environ, "LV2_PATH": str(lv2.parent)}
    info = subprocess.run(["lv2info", "urn:soundstage:studio-5-binaural"], capture_output=True, text=True, env=env)
    assert info.returncode == 0, info.stderr
    text = info.stdout
    assert "Has latency:       yes" in text
    assert text.count("#AudioPort") == 4  # stereo in, stereo out
    for symbol in ("device_width", "device_center_level_db", "device_center_amount"):
        assert f"Symbol:      {symbol}" in text
    assert (lv2 / "chain.toml").read_text() == (ROOT / "chains" / "studio-5-binaural.toml").read_text()


def test_every_lv2_symbol_is_a_c_identifier_of_its_own(tmp_path: Path) -> None:
    """Stage names as people write them ("1st trim", "trim 1" beside "trim-1", "séance", "lv2") made LV2 symbols that
    began with a digit, held a non-ASCII letter, were taken twice or took DPF's own "lv2_" prefix; lilv then refused
    the plugin ("port symbol `1st_trim_gain_db' is invalid"). Every symbol is now a C identifier, none taken twice:
    lv2info loads the plugin with no error and lists them."""
    plugin_toolchain()
    if not _which("lv2info"):
        if os.environ.get("CI") == "true":
            pytest.fail("lv2info missing in CI: .ci/run must install lilv-utils")
        pytest.skip("lv2info not installed (Debian: apt-get install lilv-utils)")
    chain = tmp_path / "names.toml"
    names = ["1st trim", "trim 1", "trim-1", "séance", "lv2"]
    chain.write_text("format = 1\n" + "".join(f'[[stages]]\ntype = "Gain"\nname = "{name}"\n' for name in names))
    lv2 = export_plugin(chain, tmp_path / "out", formats=["lv2"], rates=[RATE]).bundles["lv2"]
    env = {**os.environ, "LV2_PATH": str(lv2.parent)}
    info = subprocess.run(["lv2info", "urn:soundstage:names"], capture_output=True, text=True, env=env)
    assert info.returncode == 0 and "error" not in info.stderr.lower() + info.stdout.lower(), info.stderr
    symbols = re.findall(r"Symbol:\s+(\S+)", info.stdout)
    knobs = [symbol for symbol in symbols if not symbol.startswith("lv2_")]  # DPF's audio and latency ports
    print(f"\n{knobs}")
    assert len(knobs) == 2 * len(names) and len(set(symbols)) == len(symbols)
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", symbol) for symbol in symbols)


def test_lv2_knobs_on_a_log_scale_travel_as_one(tmp_path: Path) -> None:
    """A frequency, a time or a ratio knob (a log scale in soundstage) is marked logarithmic in the LV2 bundle, so a
    host's knob puts 100 ms of a 1..10000 ms release half-way instead of in its first percent; the others are not.
    (DPF's VST3 and CLAP wrappers have no such hint: those hosts show every knob linear.)"""
    plugin_toolchain()
    if not _which("lv2info"):
        if os.environ.get("CI") == "true":
            pytest.fail("lv2info missing in CI: .ci/run must install lilv-utils")
        pytest.skip("lv2info not installed (Debian: apt-get install lilv-utils)")
    chain_file = ROOT / "chains" / "mastering.toml"
    lv2 = export_plugin(chain_file, tmp_path, formats=["lv2"], rates=[RATE]).bundles["lv2"]
    env = {**os.environ, "LV2_PATH": str(lv2.parent)}
    info = subprocess.run(["lv2info", "urn:soundstage:mastering"], capture_output=True, text=True, env=env)
    assert info.returncode == 0, info.stderr
    ports = {
        found.group(1): "port-props#logarithmic" in block
        for block in re.split(r"\n\s*Port \d+:", info.stdout)
        if (found := re.search(r"Symbol:\s+(\S+)", block))
    }
    chain = load_chain(chain_file)
    want = {p.symbol: chain.parameters[p.name].spec.scale == "log" for p in _program_parameters(chain_file)}
    print(f"\nlogarithmic: {sorted(symbol for symbol, log in want.items() if log)}")
    assert {symbol: ports[symbol] for symbol in want} == want and sum(want.values()) == 5


def test_lv2_nulls_in_a_host(bundles: dict[str, dict[str, Path]]) -> None:
    """lv2apply cannot run DPF plugins (no options feature): tests/export/lv2host.py is a minimal ctypes host."""
    if not _which("lv2info"):
        if os.environ.get("CI") == "true":
            pytest.fail("lv2info missing in CI: .ci/run must install lilv-utils")
        pytest.skip("lv2info not installed (Debian: apt-get install lilv-utils)")
    lv2 = bundles["studio-5-binaural"]["lv2"]
    settings_ = [{"device.width": 0.5, "device.center_level_db": -6.0}, {"device.width": 0.2, "device.center_amount": 0.5}]
    chain = ROOT / "chains" / "studio-5-binaural.toml"
    report = _lv2_host(lv2, "urn:soundstage:studio-5-binaural", chain, "--settings", json.dumps(settings_))
    print(f"\nLV2: {json.dumps(report)}")
    assert report["latency"]["plugin"] == report["latency"]["chain"]
    assert len(report["settings"]) == 3
    assert report["bypassed_max_abs"] == 0.0  # lv2:enabled off: the input itself, compensated
    for entry in report["settings"]:
        assert entry["null_db"] <= -90.0, entry
    for block, entry in report["blocks"].items():
        assert entry["max_abs_vs_first"] == 0.0 and entry["null_db"] <= -90.0, block


def test_the_ladder_filters_mode_is_a_choice_a_host_shows_by_name(tmp_path: Path, capsys) -> None:
    """LadderFilter's mode (a choice of six) was the one built-in knob a plugin could not hold. It is a parameter a
    host shows by name (pedalboard lists its six values), the export prints its choices, and switching it in the host
    switches the filter as switching it in the chain does."""
    plugin_toolchain()
    chain_file = tmp_path / "tone.toml"
    chain_file.write_text(
        'format = 1\n[[stages]]\ntype = "pedalboard.LadderFilter"\nname = "tone"\n'
        'parameters = { mode = "HPF24", cutoff_hz = 400.0, resonance = 0.4 }\n'
    )
    assert main(["export-plugin", str(chain_file), "-o", str(tmp_path / "out"), "--format", "vst3"]) == 0
    said = capsys.readouterr().out
    assert 'parameter tone.mode ("tone: mode" in a DAW): one of LPF12, HPF12, BPF12, LPF24, HPF24, BPF24, default HPF24' in said
    plugin = pedalboard.load_plugin(str(tmp_path / "out" / "tone.vst3"))
    assert plugin.parameters["tone_mode"].valid_values == ["LPF12", "HPF12", "BPF12", "LPF24", "HPF24", "BPF24"]
    assert plugin.tone_mode == "HPF24"
    mix = make_test_mix(1.0, int(RATE))
    for mode in ("HPF24", "LPF12", "BPF24"):
        chain = load_chain(chain_file)
        chain.parameters["tone.mode"].value = mode
        plugin.tone_mode = mode
        got, want = plugin(mix, RATE), chain(mix, RATE)
        print(f"\n{mode}: {null_db(got, want):.1f} dB")
        assert np.array_equal(got, want), mode
    # soundstage's own view of the plugin, as of any other: a choice by name (it read "24", "range 0..1", a float)
    assert main(["plugin", "info", str(tmp_path / "out" / "tone.vst3")]) == 0
    assert "tone_mode: 'HPF24'  range one of 'LPF12', 'HPF12', 'BPF12', 'LPF24', 'HPF24', 'BPF24'  default 'HPF24'  choice" in (
        capsys.readouterr().out
    )
    # and set by name in a chain file that holds the plugin, it plays as the chain it was made from
    host = tmp_path / "host.toml"
    bundle = tmp_path / "out" / "tone.vst3"
    host.write_text(
        f'format = 1\n[[stages]]\ntype = "plugin"\nname = "tone"\npath = "{bundle}"\nparameters = {{ tone_mode = "LPF12" }}\n'
    )
    chain = load_chain(chain_file)
    chain.parameters["tone.mode"].value = "LPF12"
    assert np.array_equal(load_chain(host)(mix, RATE), chain(mix, RATE))


def test_the_builtins_give_pedalboards_output_to_the_bit_in_an_lv2_host(tmp_path: Path) -> None:
    """LV2 hands the plugin its knobs as floats, unrounded (VST3's normalized values cost the null above its last
    bits): every built-in of tests/export/builtins.toml (Chorus, Phaser and the six modes of LadderFilter, refused
    before, among them) gives pedalboard's own output to the bit, at its settings and with the modulation's knobs
    moved. Identical signals null at the floor null_db reports (about -350 dB); float32 rounding would show near
    -140 dB."""
    plugin_toolchain()
    if not _which("lv2info"):
        if os.environ.get("CI") == "true":
            pytest.fail("lv2info missing in CI: .ci/run must install lilv-utils")
        pytest.skip("lv2info not installed (Debian: apt-get install lilv-utils)")
    chain = ROOT / "tests" / "export" / "builtins.toml"
    lv2 = export_plugin(chain, tmp_path, formats=["lv2"], rates=[RATE]).bundles["lv2"]
    settings_ = [
        *PARTS["builtins"][0],
        {"motion.1.phaser.center_frequency_hz": 333.0, "motion.1.chorus.mix": 0.1, "motion.2.hp12.drive": 1.0},
    ]
    extra = ["--seconds", "3", "--settings", json.dumps(settings_), "--blocks", "32,1000"]
    report = _lv2_host(lv2, "urn:soundstage:builtins", chain, *extra)
    print(f"\nLV2 builtins: {[round(entry['null_db'], 1) for entry in report['settings']]} dB")
    assert report["latency"]["plugin"] == report["latency"]["chain"]
    assert len(report["settings"]) == len(settings_) + 1
    for entry in report["settings"]:
        assert entry["null_db"] <= -300.0, entry


def _which(tool: str) -> bool:
    return shutil.which(tool) is not None


@pytest.mark.parametrize(
    ("stage", "words"),
    [
        ('type = "plugin"\npath = "{gain}"', ["(plugin)", "Spatializer", "beside it in the DAW"]),
        ('type = "CrosstalkCanceller"\ndevice = "studio-5"\nform = "rtf"', ["'rtf'", "form = 'direct'"]),
    ],
)
def test_a_stage_a_plugin_cannot_hold_is_named(tmp_path: Path, stereo_gain_path: Path, stage: str, words: list[str]) -> None:
    plugin_toolchain()
    chain = tmp_path / "refused.toml"
    stage = stage.format(gain=stereo_gain_path)
    chain.write_text(f'format = 1\n[[stages]]\ntype = "Gain"\nname = "trim"\n\n[[stages]]\n{stage}\nname = "room"\n')
    with pytest.raises(ChainError) as caught:
        export_plugin(chain, tmp_path / "out", formats=["vst3"], rates=[RATE])
    message = str(caught.value)
    assert "'room'" in message and str(chain) in message, message
    assert all(word in message for word in words), message
    assert "\n" not in message
    assert not (tmp_path / "out").exists()


def test_bad_output_folder_and_channel_mismatch_are_one_line(tmp_path: Path, capsys) -> None:
    plugin_toolchain()
    trim = tmp_path / "trim.toml"
    trim.write_text('format = 1\n[[stages]]\ntype = "Gain"\nname = "trim"\n')
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["export-plugin", str(trim), "-o", str(blocker / "out"), "--format", "clap", "--rates", "48000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write plugins into" in err and str(blocker) in err
    assert main(["export-plugin", str(trim), "-o", str(blocker), "--format", "clap", "--rates", "48000"]) == 2
    err = capsys.readouterr().err  # before: "... 'a-file': File exists"
    assert f"cannot write plugins into {str(blocker)!r}: it is a file, not a folder; choose another -o\n" in err
    mismatch = tmp_path / "mismatch.toml"
    mismatch.write_text(
        'format = 1\n[[stages]]\ntype = "Gain"\nname = "trim"\n\n[[stages]]\ntype = "Align"\nname = "late"\n'
        "delays_ms = [0.0, 1.0, 2.0]\n"
    )
    assert main(["export-plugin", str(mismatch), "-o", str(tmp_path / "out"), "--format", "clap", "--rates", "48000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(mismatch) in err and "'late'" in err and "3 delays" in err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_an_export_that_fails_in_its_last_format_keeps_every_bundle_and_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """An export with --overwrite replaced each format's bundle as soon as that format was built, so one that failed in
    its last format (the compiler stopped, the disk filled) had already replaced the others: the error said the export
    failed, and the DAW's old VST3 was gone. It also left behind the folders -o had made. Now every format is built
    before any bundle is replaced, and a failed export removes the folders it made."""
    plugin_toolchain()
    trim = tmp_path / "trim.toml"
    trim.write_text('format = 1\n[[stages]]\ntype = "Gain"\nname = "trim"\nparameters = { gain_db = -3.0 }\n')
    out = tmp_path / "plugins"
    assert main(["export-plugin", str(trim), "-o", str(out), "--format", "vst3,clap"]) == 0
    capsys.readouterr()
    before = {path.relative_to(out): path.read_bytes() for path in out.rglob("*") if path.is_file()}
    fails = tmp_path / "bin"  # a g++ that stops on the CLAP build, as a full disk or a broken toolchain would
    fails.mkdir()
    (fails / "g++").write_text(
        '#!/bin/sh\ncase "$*" in *TARGET_CLAP*) echo "g++: error: No space left on device" >&2; exit 1;; esac\n'
        f'exec {shutil.which("g++")} "$@"\n'
    )
    (fails / "g++").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fails}{os.pathsep}{os.environ['PATH']}")
    trim.write_text('format = 1\n[[stages]]\ntype = "Gain"\nname = "trim"\nparameters = { gain_db = -6.0 }\n')
    assert main(["export-plugin", str(trim), "-o", str(out), "--format", "vst3,clap", "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "building the CLAP plugin failed: g++: error: No space left on device" in err
    assert {path.relative_to(out): path.read_bytes() for path in out.rglob("*") if path.is_file()} == before
    assert sorted(path.name for path in out.iterdir()) == ["trim.clap", "trim.vst3"]  # no scratch folder left
    new = tmp_path / "new" / "plugins"
    assert main(["export-plugin", str(trim), "-o", str(new), "--format", "vst3,clap"]) == 2
    assert not (tmp_path / "new").exists()


def _trim_and_a_stand_in_compiler(folder: Path, script: str) -> tuple[Path, str]:
    """A one-knob chain file, and a PATH on which ``g++`` is the shell ``script`` (both in ``folder``); skips where the
    toolchain is missing or the process may use one core only (the formats then compile one after another)."""
    plugin_toolchain()
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core: the formats compile one after another")
    trim = _trim(folder, 0.0)
    (folder / "bin").mkdir()
    (folder / "bin" / "g++").write_text(f"#!/bin/sh\n{script}")
    (folder / "bin" / "g++").chmod(0o755)
    return trim, f"{folder / 'bin'}{os.pathsep}{os.environ['PATH']}"


def test_the_formats_compile_at_once_and_a_failure_is_the_first_format_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """The compiles of an export run at once, up to the cores the process may use; where several fail, the error is
    the first format's in the order asked (--format vst3,clap: the VST3's, though the CLAP's compiler failed first)."""
    log = tmp_path / "calls.log"
    trim, path = _trim_and_a_stand_in_compiler(  # each format's own source fails, the VST3's after 1.5 s, the CLAP's after 0.5 s
        tmp_path,
        'case "$*" in *TARGET_VST3*plugin.cpp*) kind=vst3; wait=1.5;; *TARGET_CLAP*plugin.cpp*) kind=clap; wait=0.5;;'
        " *) exit 0;; esac\n"
        f'echo "start $kind $(date +%s.%N)" >> {log}\nsleep $wait\necho "end $kind $(date +%s.%N)" >> {log}\n'
        'echo "g++: error: $kind broke" >&2\nexit 1\n',
    )
    monkeypatch.setenv("PATH", path)
    monkeypatch.setenv("CCACHE_DISABLE", "1")  # ccache, where installed, calls the stand-in as it is
    assert main(["export-plugin", str(trim), "-o", str(tmp_path / "out"), "--format", "vst3,clap"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "building the VST3 plugin failed: g++: error: vst3 broke" in err, err
    times = {(what, kind): float(at) for what, kind, at in (line.split() for line in log.read_text().splitlines())}
    assert times[("start", "clap")] < times[("end", "vst3")] and times[("start", "vst3")] < times[("end", "clap")], times
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_export_stopped_while_its_formats_compile_ends_them_and_leaves_nothing(tmp_path: Path, signum: int) -> None:
    """Ctrl-C or SIGTERM while the compilers run at once: the export ends within seconds, as one compiling one format
    after another did, and leaves no folder and no compiler running. A compiler's own programs (g++'s cc1plus, here a
    sleep its stand-in starts) end with it: left running, they would hold its pipes and keep the export waiting."""
    started = tmp_path / "started"
    trim, path = _trim_and_a_stand_in_compiler(tmp_path, f'sleep 60 &\necho "$!" >> {started}\nwait\n')  # a long compile
    env = {**os.environ, "PATH": path, "CCACHE_DISABLE": "1"}  # ccache, where installed, calls the stand-in as it is
    command = [sys.executable, "-m", "soundstage.cli", "export-plugin", str(trim), "-o", str(tmp_path / "out")]
    process = subprocess.Popen([*command, "--format", "vst3,clap"], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(started.read_text().split() if started.exists() else []) < 2:
        time.sleep(0.05)
    children = [int(pid) for pid in started.read_text().split()]
    assert len(children) == 2, "no two compilers ran at once"
    stopped = time.monotonic()
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert time.monotonic() - stopped < 10
    assert process.returncode == 128 + signum and "no output was written" in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()
    time.sleep(0.5)
    assert not [pid for pid in children if _running(pid)]


def test_a_second_export_compiles_only_its_program_and_plays_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each format's plugin was one compile of the whole engine with DPF and the program in it (6.5 s a format), and a
    re-export after a knob's change took as long as the first. Now the engine compiles once per export, and every
    compile but the program's goes through ccache: exporting the chain again with another gain finds the engine's, the
    VST3's and DPF's objects in the cache (three hits, no miss), and the plugin plays the new gain, not the first's."""
    plugin_toolchain()
    ccache = tool("ccache")
    monkeypatch.setenv("CCACHE_DIR", str(tmp_path / "ccache"))
    monkeypatch.delenv("CCACHE_DISABLE", raising=False)
    counts = []
    for gain_db in (-6.0, -13.5):
        chain = _trim(tmp_path, gain_db)
        bundle = export_plugin(chain, tmp_path / f"out{gain_db:g}", formats=["vst3"], rates=[RATE]).bundles["vst3"]
        report = subprocess.run([ccache, "--print-stats"], capture_output=True, text=True, check=True).stdout
        stats = {key: int(value) for key, value in (line.split("\t") for line in report.splitlines())}
        counts.append((stats["direct_cache_hit"] + stats["preprocessed_cache_hit"], stats["cache_miss"]))
        level_db = _level_db(bundle)
        print(f"\n{gain_db} dB: plays {level_db:.3f} dB; ccache hits and misses so far {counts[-1]}")
        assert abs(level_db - gain_db) < 0.01
    assert counts == [(0, 3), (3, 3)]  # the engine, the VST3's part and DPF's: compiled once, then found


def test_a_ccache_that_fails_itself_leaves_the_compiler_to_build_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ccache's own failures (a setting it cannot read, a folder it may not write) are not the export's: where ccache
    says so, the compiler runs alone, and the plugin plays."""
    plugin_toolchain()
    tool("ccache")
    (tmp_path / "ccache.conf").write_text("max_size = banana\n")
    monkeypatch.setenv("CCACHE_CONFIGPATH", str(tmp_path / "ccache.conf"))
    monkeypatch.delenv("CCACHE_DISABLE", raising=False)
    broken = subprocess.run(["ccache", "g++", "--version"], capture_output=True, text=True)
    assert broken.returncode != 0 and broken.stderr.startswith("ccache: error:"), broken.stderr
    bundle = export_plugin(_trim(tmp_path, -6.0), tmp_path / "out", formats=["vst3"], rates=[RATE]).bundles["vst3"]
    assert abs(_level_db(bundle) + 6.0) < 0.01


def _trim(folder: Path, gain_db: float) -> Path:
    """A chain file of one Gain (``trim``) at ``gain_db``, in ``folder``."""
    chain = folder / "trim.toml"
    chain.write_text(f'format = 1\n[[stages]]\ntype = "Gain"\nname = "trim"\nparameters = {{ gain_db = {gain_db} }}\n')
    return chain


def _level_db(bundle: Path) -> float:
    """The level of a test mix through the VST3 ``bundle`` against the mix's own, dB."""
    mix = make_test_mix(1.0, int(RATE))
    played = pedalboard.load_plugin(str(bundle))(mix, RATE)
    return float(20 * np.log10(np.sqrt(np.mean(played**2)) / np.sqrt(np.mean(mix**2))))


@pytest.mark.parametrize("plugin_format", ["vst3", "clap"])
def test_a_bundle_another_program_makes_while_the_export_builds_is_kept_without_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, plugin_format: str
) -> None:
    """Without --overwrite the names are free when the export begins; a bundle of the same name that another program
    puts there while the plugins compile (a folder for a VST3, a file for a CLAP) is the user's: it is kept as it was,
    the export says so in one line and puts none of its bundles in place. It was replaced."""
    plugin_toolchain()
    out = tmp_path / "out"
    mine = out / f"trim.{plugin_format}"
    made = f"mkdir -p {mine} && echo mine > {mine}/mine.txt" if plugin_format == "vst3" else f"echo mine > {mine}"
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "g++").write_text(  # the real compiler, after the other program's bundle appears
        f'#!/bin/sh\ncase "$*" in *TARGET_{plugin_format.upper()}*plugin.cpp*) {made};; esac\nexec {tool("g++")} "$@"\n'
    )
    (tmp_path / "bin" / "g++").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CCACHE_DISABLE", "1")  # ccache, where installed, calls the stand-in as it is
    assert main(["export-plugin", str(_trim(tmp_path, -6.0)), "-o", str(out), "--format", "vst3,clap"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{str(mine)!r} appeared while the plugin was built" in err and "--overwrite" in err, err
    assert sorted(path.name for path in out.iterdir()) == [mine.name]  # no other bundle, no scratch folder
    assert (mine / "mine.txt" if plugin_format == "vst3" else mine).read_text() == "mine\n"
    assert plugin_format == "clap" or sorted(path.name for path in mine.iterdir()) == ["mine.txt"]


def test_a_bundle_that_is_a_link_is_replaced_as_a_link_and_what_it_points_to_is_kept(tmp_path: Path) -> None:
    """-o a plugin folder where the bundles are links to a build elsewhere (as one links a build into ~/.vst3): with
    --overwrite the export puts its bundles in place of the links and leaves what they point to as it was. The VST3
    (a folder) failed: "Cannot call rmtree on a symbolic link"."""
    plugin_toolchain()
    elsewhere = export_plugin(_trim(tmp_path, -6.0), tmp_path / "elsewhere", formats=["vst3", "clap"], rates=[RATE])
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    for bundle in elsewhere.bundles.values():
        (plugins / bundle.name).symlink_to(bundle)
    kept = {path: path.read_bytes() for path in (tmp_path / "elsewhere").rglob("*") if path.is_file()}
    made = export_plugin(_trim(tmp_path, -13.5), plugins, formats=["vst3", "clap"], rates=[RATE], overwrite=True)
    assert sorted(path.name for path in plugins.iterdir()) == ["trim.clap", "trim.vst3"]
    assert not any(bundle.is_symlink() for bundle in made.bundles.values())
    assert {path: path.read_bytes() for path in (tmp_path / "elsewhere").rglob("*") if path.is_file()} == kept
    assert abs(_level_db(made.bundles["vst3"]) + 13.5) < 0.01 and abs(_level_db(elsewhere.bundles["vst3"]) + 6.0) < 0.01


def test_exports_of_the_same_bundle_at_once_each_leave_it_whole(tmp_path: Path) -> None:
    """The same export run several times at once into one folder (a second terminal, a build tool that starts it
    again): each ends without an error and the folder holds one whole bundle of each format, nothing beside them. A
    bundle was removed and then moved, two steps another export could come between: this test failed 3 times in 3 on
    that code, an export of the 24 ending "cannot write plugins" ("Directory not empty", "No such file or directory")."""
    plugin_toolchain()
    chain = _trim(tmp_path, -6.0)
    command = [sys.executable, "-m", "soundstage.cli", "export-plugin", str(chain), "-o", str(tmp_path / "plugins")]
    command += ["--format", "vst3,clap", "--overwrite", "--rates", f"{RATE:g}"]
    export_plugin(chain, tmp_path / "plugins", formats=["vst3", "clap"], rates=[RATE])  # its objects into the cache
    for _ in range(3):
        runs = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(8)]
        errors = [run.communicate(timeout=600)[1] for run in runs]
        assert [run.returncode for run in runs] == [0] * 8, errors
        files = sorted(str(path.relative_to(tmp_path / "plugins")) for path in (tmp_path / "plugins").rglob("*"))
        assert files == ["trim.clap", "trim.vst3", "trim.vst3/Contents", "trim.vst3/Contents/x86_64-linux",
                         "trim.vst3/Contents/x86_64-linux/trim.so"], files  # fmt: skip
    assert abs(_level_db(tmp_path / "plugins" / "trim.vst3") + 6.0) < 0.01


def _stop_as_it_goes_in(monkeypatch: pytest.MonkeyPatch, plugin_format: str) -> None:
    """A Ctrl-C (KeyboardInterrupt) at the rename that puts the export's ``plugin_format`` bundle in place."""
    rename = os.rename

    def stopped(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
        if Path(source).parent.name == f"bundle-{plugin_format}":
            raise KeyboardInterrupt
        rename(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "rename", stopped)


def test_an_export_stopped_as_it_puts_a_bundle_in_place_keeps_the_one_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C or SIGTERM between the two renames that put a bundle in place (what is there moved aside, the new one not
    yet in): the bundle that was there goes back, whole, and the export's scratch folder goes. The old bundle was removed
    first (before stop 66), or went with the scratch folder (this stop's first version): the user was left with none."""
    plugin_toolchain()
    plugins = tmp_path / "plugins"
    export_plugin(_trim(tmp_path, -6.0), plugins, formats=["vst3"], rates=[RATE])
    kept = {path: path.read_bytes() for path in plugins.rglob("*") if path.is_file()}
    _stop_as_it_goes_in(monkeypatch, "vst3")
    with pytest.raises(KeyboardInterrupt):
        export_plugin(_trim(tmp_path, -13.5), plugins, formats=["vst3"], rates=[RATE], overwrite=True)
    monkeypatch.undo()
    assert {path: path.read_bytes() for path in plugins.rglob("*") if path.is_file()} == kept
    assert [path.name for path in plugins.iterdir()] == ["trim.vst3"]
    assert abs(_level_db(plugins / "trim.vst3") + 6.0) < 0.01


def test_an_export_stopped_as_it_puts_its_bundles_in_place_leaves_no_empty_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --overwrite, every bundle's name is made empty before the bundles go in (so one another program makes
    meanwhile is seen). Stopped between two of them (Ctrl-C at the CLAP's), the export leaves no empty name that looks
    like a bundle to a DAW's scan (a 0-byte trim.clap); the VST3 already in place is whole and plays. The first
    version of that claim (8921c15) left the empty CLAP behind."""
    plugin_toolchain()
    plugins = tmp_path / "plugins"
    _stop_as_it_goes_in(monkeypatch, "clap")
    with pytest.raises(KeyboardInterrupt):
        export_plugin(_trim(tmp_path, -6.0), plugins, formats=["vst3", "clap"], rates=[RATE])
    monkeypatch.undo()
    assert [path.name for path in plugins.iterdir()] == ["trim.vst3"]
    assert abs(_level_db(plugins / "trim.vst3") + 6.0) < 0.01


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs (it is there and not a zombie that its parent has yet to reap)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_missing_toolchain_is_one_line_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("SOUNDSTAGE_DPF", str(tmp_path / "no-dpf"))
    status = main(["export-plugin", str(ROOT / "chains" / "studio-5-binaural.toml"), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "apt-get install dpf-source" in err and "SOUNDSTAGE_DPF" in err


def test_a_windows_build_without_mingw_or_as_lv2_is_one_line_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    chain = str(ROOT / "chains" / "studio-5-binaural.toml")
    assert main(["export-plugin", chain, "-o", str(tmp_path / "out"), "--platform", "windows", "--format", "lv2"]) == 2
    assert capsys.readouterr().err == (
        "soundstage: error: --format lv2 --platform windows: an LV2 bundle's description is written by loading the "
        "plugin, which a Windows DLL cannot be here; build vst3,clap for Windows (or LV2 for Linux)\n"
    )
    monkeypatch.setenv("PATH", str(tmp_path))  # no compiler at all
    assert main(["export-plugin", chain, "-o", str(tmp_path / "out"), "--platform", "windows"]) == 2
    assert capsys.readouterr().err == (
        "soundstage: error: cannot build plugins: no compiler for Windows: x86_64-w64-mingw32-g++-posix is not on PATH "
        "(Debian/Ubuntu: apt-get install g++-mingw-w64-x86-64-posix)\n"
    )
    assert not (tmp_path / "out").exists()


def test_existing_bundle_is_kept_without_overwrite(bundles: dict[str, dict[str, Path]], tmp_path: Path) -> None:
    vst3 = bundles["studio-5"]["vst3"]
    with pytest.raises(ChainError, match="--overwrite"):
        export_plugin(ROOT / "chains" / "studio-5.toml", vst3.parent, formats=["vst3"], rates=[RATE])
    assert vst3.exists()


def test_command_line_exports_and_lists_the_knobs(tmp_path: Path, capsys) -> None:
    plugin_toolchain()
    chain = tmp_path / "trim.toml"
    chain.write_text(f'format = 1\n[[stages]]\ntype = "Gain"\nname = "trim"\nparameters = {{ gain_db = -3.0 }}\n{ALIGNED}')
    status = main(["export-plugin", str(chain), "-o", str(tmp_path / "out"), "--format", "clap", "--rates", "48000"])
    out = capsys.readouterr().out
    assert status == 0
    assert 'parameter trim.gain_db ("trim: gain" in a DAW): -96..24 dB, default -3' in out
    assert "  bypass: the DAW's own; it plays the input in time (delayed by the latency), crossfading over 20 ms\n" in out
    assert "baked for 48000 Hz; at 8000,12000,16000,24000,32000,64000,96000,192000 Hz it runs those designs resampled" in out
    assert "at other sample rates the plugin is silent (for those a studio runs: --rates 44100,48000,88200,176400)" in out
    assert (tmp_path / "out" / "trim.clap").is_file()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".soundstage-export-")]


def test_an_output_folder_given_relative_to_where_the_user_is_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """`-o plugins` failed: g++ ran in the scratch folder and was given the source relative to where the user was
    ("cc1plus: fatal error: plugins/.soundstage-export-.../plugin.cpp: No such file or directory")."""
    plugin_toolchain()
    monkeypatch.chdir(tmp_path)
    chain = Path("trim.toml")
    chain.write_text('format = 1\n[[stages]]\ntype = "Gain"\nname = "trim"\nparameters = { gain_db = -3.0 }\n')
    status = main(["export-plugin", "trim.toml", "-o", "plugins", "--format", "vst3,lv2,clap", "--rates", "48000"])
    assert status == 0, capsys.readouterr().err
    assert {p.name for p in Path("plugins").iterdir()} == {"trim.vst3", "trim.lv2", "trim.clap"}
    assert (Path("plugins") / "trim.lv2" / "trim.ttl").is_file()
    plugin = pedalboard.load_plugin(str(tmp_path / "plugins" / "trim.vst3"))
    audio = make_test_mix(0.5, int(RATE))
    assert null_db(plugin(audio, RATE), load_chain(chain)(audio, int(RATE))) <= -90.0


def test_a_preset_exported_on_the_listeners_head_nulls_against_the_chain_on_that_head(
    tmp_path: Path, kemar_path: str, capsys
) -> None:
    """``export-plugin studio-5-binaural --hrtf me.sofa``: the plugin is the preset designed and previewed on that
    head (it nulls against the chain loaded with it, which differs from the plain preset), and its saved state
    holds the chain with the head set. A chain with no stage that takes a head is refused in one line."""
    plugin_toolchain()
    shutil.copy(kemar_path, tmp_path / "me.sofa")
    result = export_plugin("studio-5-binaural", tmp_path / "out", formats=["vst3"], rates=[RATE], hrtf=tmp_path / "me.sofa")
    chain = tmp_path / "studio-5-me.toml"
    chain.write_text(result.program.chain_text)
    assert load_chain(chain)[0].hrtf == str(tmp_path / "me.sofa")
    report = _host(result.bundles["vst3"], chain)
    for entry in report["settings"]:
        assert entry["null_db"] <= -90.0, entry
    assert report["state_chain"] == result.program.chain_text
    mix = make_test_mix(1.0, int(RATE))
    on_head, plain = load_chain(chain)(mix, RATE), load_chain("studio-5-binaural")(mix, RATE)
    assert null_db(plain, on_head) >= -20.0  # the head changes the design: not a rounding
    gain = tmp_path / "trim.toml"
    gain.write_text('format = 1\n[[stages]]\ntype = "Gain"\n')
    status = main(["export-plugin", str(gain), "-o", str(tmp_path / "no"), "--hrtf", "model"])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1 and "no stage takes a head" in err
    assert not (tmp_path / "no").exists()


# -- saved state: read back from what hosts write ------------------------------------
def _dpf_block(chain: str, parameters: dict[str, str]) -> bytes:
    state = b"__dpf_state_begin__\x00soundstage_chain\x00" + chain.encode() + b"\x00__dpf_state_end__\x00"
    values = b"".join(k.encode() + b"\x00" + v.encode() + b"\x00" for k, v in parameters.items())
    return state + b"__dpf_parameters_begin__\x00" + values + b"__dpf_parameters_end__\x00"


def _juce_wrap(block: bytes) -> bytes:
    """JUCE's MemoryBlock::toBase64Encoding inside the XML a JUCE host (pedalboard) saves."""
    alphabet = ".ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+"
    bits = int.from_bytes(block, "little")
    count = (len(block) * 8 + 5) // 6
    text = "".join(alphabet[(bits >> (6 * i)) & 63] for i in range(count))
    xml = f'<?xml version="1.0"?> <VST3PluginState><IComponent>{len(block)}.{text}</IComponent></VST3PluginState>'
    return b"VC2!" + len(xml).to_bytes(4, "little") + xml.encode()


def test_state_reads_raw_and_juce_wrapped_blocks() -> None:
    chain = 'format = 1\n[[stages]]\ntype = "Gain"\n# ü\n'
    block = _dpf_block(chain, {"trim_gain_db": "-3.5", "trim_invert": "0"})
    for data in (block, b"VST3....Comp" + block + b"Info", _juce_wrap(block)):
        state = read_plugin_state(data)
        assert state is not None
        assert state.chain == chain
        assert state.parameters == {"trim_gain_db": -3.5, "trim_invert": 0.0}
    assert chain_from_state(b"not a plugin state") is None


def test_command_line_reads_the_chain_back(bundles: dict[str, dict[str, Path]], tmp_path: Path, capsys) -> None:
    """A .vstpreset saved from the exported VST3 (pedalboard writes it as a host does), and the LV2 bundle."""

    plugin = pedalboard.load_plugin(str(bundles["studio-5"]["vst3"]))
    preset = tmp_path / "session.vstpreset"
    preset.write_bytes(plugin.preset_data)
    text = (ROOT / "chains" / "studio-5.toml").read_text()
    assert main(["plugin", "chain", str(preset), "-o", str(tmp_path / "back.toml")]) == 0
    assert (tmp_path / "back.toml").read_text() == text
    assert main(["plugin", "chain", str(preset), "-o", str(tmp_path / "back.toml")]) == 2  # exists: kept
    assert "--overwrite" in capsys.readouterr().err
    assert main(["plugin", "chain", str(bundles["studio-5-binaural"]["lv2"])]) == 0
    assert capsys.readouterr().out == (ROOT / "chains" / "studio-5-binaural.toml").read_text()
    other = tmp_path / "other.vstpreset"
    other.write_bytes(b"VST3" + bytes(60))
    assert main(["plugin", "chain", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no soundstage chain" in err


def test_the_chain_reads_back_from_the_plugin_itself(bundles: dict[str, dict[str, Path]], zam_dir: Path, capsys) -> None:
    """A colleague's exported plugin, with no session that used it: `plugin chain` on a .vst3 or .clap said it "holds
    no soundstage chain (only plugins made by `soundstage export-plugin` save one)" of a plugin soundstage made. It
    now reads the chain file out of the program the binary embeds: the .vst3 bundle, the library inside it, the
    .clap file. A plugin soundstage did not make still says so in one line."""
    binaural = bundles["studio-5-binaural"]
    library = next(path for path in (binaural["vst3"] / "Contents").rglob("*.so"))
    for given_path in (binaural["vst3"], library, binaural["clap"], bundles["studio-5"]["vst3"]):
        assert main(["plugin", "chain", str(given_path)]) == 0, capsys.readouterr().err
        preset = "studio-5" if given_path == bundles["studio-5"]["vst3"] else "studio-5-binaural"
        assert capsys.readouterr().out == (ROOT / "chains" / f"{preset}.toml").read_text()
    for other in (zam_dir / "ZamEQ2.vst3", next((zam_dir / "ZamEQ2.vst3").rglob("*.so"))):
        assert main(["plugin", "chain", str(other)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{other}: holds no soundstage chain" in err


def test_a_chain_refuses_an_exported_plugin_at_a_rate_it_would_be_silent_at(
    bundles: dict[str, dict[str, Path]], tmp_path: Path, capsys
) -> None:
    """An exported plugin put in a chain file (a colleague's preset, or one's own) and run on audio at a rate it was
    not baked for: the output was silence, written without a word. The chain now refuses it in one line naming the
    plugin, its rates and the fix. At twice its rate it plays (resampled); `plugin info` gives the rates."""
    bundle = bundles["studio-5-binaural"]["vst3"]  # baked for 48 kHz only
    chain = tmp_path / "bus.toml"
    chain.write_text(f'format = 1\n[[stages]]\ntype = "plugin"\nname = "device"\npath = "{bundle}"\n')
    for rate in (44100, 96000):
        source = tmp_path / f"in-{rate}.wav"
        soundfile.write(str(source), make_test_mix(0.5, rate).T, rate)
        status = main(["process", str(source), str(tmp_path / f"out-{rate}.wav"), "--chain", str(chain)])
        err = capsys.readouterr().err
        if rate == 44100:
            assert status == 2 and not (tmp_path / f"out-{rate}.wav").exists()
            assert err == (
                f"soundstage: error: plugin {str(bundle)!r} (made by soundstage export-plugin) is baked for 48000 Hz "
                "and would play silence at 44100 Hz: export it again with --rates 44100,48000, or give audio at "
                "8000, 12000, 16000, 24000, 32000, 48000, 64000, 96000, 192000 Hz\n"
            )
        else:
            assert status == 0, err
            out, _ = soundfile.read(str(tmp_path / f"out-{rate}.wav"), dtype="float32")
            assert np.sqrt(np.mean(out**2)) > 0.01
    assert main(["plugin", "info", str(bundle), "--sample-rate", "44100"]) == 0
    assert (
        "made by soundstage export-plugin: baked for 48000 Hz, resampled at 8000,12000,16000,24000,32000,64000,96000,192000 "
        "Hz; at "
        "44100 Hz it plays "
        "silence" in capsys.readouterr().out
    )
    program = exported_program(bundle)
    assert program is not None and program.rates == (48000.0,) and (program.inputs, program.outputs) == (2, 2)
    assert exported_program(bundles["studio-5"]["vst3"]).outputs == 5  # type: ignore[union-attr]


def test_an_exported_plugin_given_as_a_chain_file_names_the_chain_it_holds(
    bundles: dict[str, dict[str, Path]], tmp_path: Path, capsys
) -> None:
    """`process --chain studio-5-binaural.vst3` (the plugin a colleague sent, for the chain file it was made from) said
    "is a folder: give the .toml file (it holds none)". It now says the plugin holds a chain and the command that writes
    it out; the file that command writes runs as the chain. Any other VST3 is told how to go into a chain file."""
    bundle = bundles["studio-5-binaural"]["vst3"]
    source = tmp_path / "in.wav"
    soundfile.write(str(source), make_test_mix(0.5, int(RATE)).T, int(RATE))
    assert main(["process", str(source), str(tmp_path / "out.wav"), "--chain", str(bundle)]) == 2
    assert capsys.readouterr().err == (
        f"soundstage: error: chain file {str(bundle)!r} is a plugin, not a chain file; soundstage made it from one, "
        f"which `soundstage plugin chain {bundle} -o chain.toml` writes out\n"
    )
    assert main(["plugin", "chain", str(bundle), "-o", str(tmp_path / "chain.toml")]) == 0
    assert main(["process", str(source), str(tmp_path / "out.wav"), "--chain", str(tmp_path / "chain.toml")]) == 0
    capsys.readouterr()
    clap = bundles["studio-5-binaural"]["clap"]
    assert main(["export-plugin", str(clap), "-o", str(tmp_path / "again")]) == 2
    assert f"chain file {str(clap)!r} is a plugin, not a chain file; soundstage made it from one" in capsys.readouterr().err


def test_a_run_with_an_exported_plugin_in_its_chain_ends_on_its_own_last_line(
    bundles: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    """`soundstage process` with an exported plugin in its chain printed two "DPF warning: asked to delete component
    while ... still active" lines at exit, after its own: pedalboard releases a VST3's parts in an order DPF remarks on
    (and copes with). The exported plugin now leaves that remark out, so the run ends on soundstage's own line."""
    chain = tmp_path / "chain.toml"
    chain.write_text(f'format = 1\n[[stages]]\ntype = "plugin"\npath = "{bundles["studio-5-binaural"]["vst3"].as_posix()}"\n')
    source = tmp_path / "in.wav"
    soundfile.write(str(source), make_test_mix(0.5, int(RATE)).T, int(RATE))
    command = "import sys; from soundstage.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", command, "process", str(source), str(tmp_path / "out.wav"), "--chain", str(chain)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "plugin")},
        timeout=600,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(f"wrote {tmp_path / 'out.wav'}: 0.50 s, 2 channel(s) at 48000 Hz")


@functools.cache
def _trim_program() -> tuple[str, bytes]:
    """A chain file (not all ASCII; a choice among its knobs, whose names the header carries) and its program."""
    text = (
        'format = 1\n# "é" and all\n[[stages]]\ntype = "Gain"\nname = "trim"\n'
        '[[stages]]\ntype = "pedalboard.LadderFilter"\nname = "tone"\nparameters = { mode = "HPF24" }\n'
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trim.toml"
        path.write_text(text, encoding="utf-8")
        return text, bake(load_chain(path), text, rates=[RATE], source=str(path)).blob


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=300), st.booleans())
def test_the_program_is_found_among_any_bytes(before: bytes, after: bytes, decoy: bool) -> None:
    """The chain text comes out of a program set among arbitrary bytes (the magic itself among them, as the engine's
    code may hold it), and bytes with no whole program give None, never an exception."""
    text, program = _trim_program()
    lead = before + (program[:8] + after[:5] if decoy else b"")
    assert chain_from_binary(lead + program + after) == text
    assert chain_from_binary(lead + program[: len(program) // 2]) is None
    assert chain_from_binary(before + after) is None or MAGIC in before + after


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.binary(max_size=300), st.binary(max_size=300), st.integers(0, 12))
def test_a_midi_map_is_found_among_any_bytes(text: str, before: bytes, after: bytes, cut: int) -> None:
    """The map text a plugin holds comes out from among arbitrary bytes (a magic with a length past the end before
    it), and bytes with none, or with one cut short, give None, never an exception."""
    held = map_bytes(text)
    decoy = MAP_MAGIC + b"\xff\xff\xff\x7f"
    assert read_map(before + decoy + held + after) == text
    assert read_map(held[: len(held) - 1 - cut]) is None
    assert read_map(before + after) is None or MAP_MAGIC in before + after


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_state_reader_never_raises(data: bytes) -> None:
    result = read_plugin_state(data)
    assert result is None or isinstance(result.parameters, dict)
    read_plugin_state(b"VC2!" + data)
    read_plugin_state(b"<IComponent>12." + data + b"</IComponent>")


def test_baked_latency_matches_chain_at_each_rate(tmp_path: Path) -> None:

    path = ROOT / "chains" / "studio-5-binaural.toml"
    chain = load_chain(path)
    program = bake(chain, path.read_text(), rates=[44100.0, 48000.0], source=str(path))
    for rate in (44100.0, 48000.0):
        chain.open_stream(rate, 2)
        assert program.latency[rate] == chain.latency_samples
        chain.reset()
    assert [p.name for p in program.parameters] == ["device.center_amount", "device.center_level_db", "device.width"]
    assert "monitor.rt60_s = 0.4" in program.fixed
    assert np.frombuffer(program.blob[:8], np.uint8).tobytes() == b"SSPLUG02"


def test_a_plugin_exported_with_a_midi_map_gives_the_map_back_with_its_presets_written_in(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """`soundstage plugin map PLUGIN`: the CLAP and the LV2 (its bundle's map.toml, and its binary) keep the map they
    were exported with, the user's comments kept and each program's preset file written in as the values it sets, so
    the map and the chain file `plugin chain` gives back, without the original files, move the chain as the originals
    do (`process --midi --map`: the same samples). A VST3, a plugin exported without a map and a file that is no
    plugin are each refused in one line. Before, the map was not in the plugin."""
    plugin_toolchain()
    chain, midi_map = _midi_chain_files(tmp_path)
    midi_map.write_text(
        "# my controller's knobs\n" + _MIDI_MAP + "channel = 2\n[[programs]]\nprogram = 4\npreset = 'preset.toml'\n"
    )
    out = tmp_path / "out"
    assert main(["export-plugin", str(chain), "-o", str(out), "--rates", "48000", "--map", str(midi_map)]) == 0
    assert "soundstage plugin map PLUGIN" in capsys.readouterr().out
    back = tmp_path / "back"
    back.mkdir()
    assert main(["plugin", "map", str(out / "chain.clap"), "-o", str(back / "map.toml")]) == 0
    assert main(["plugin", "chain", str(out / "chain.clap"), "-o", str(back / "chain.toml")]) == 0
    text = (back / "map.toml").read_text()
    assert text.startswith("# my controller's knobs\n") and "\npreset" not in text and text.count("[programs.values]") == 2
    for also in (out / "chain.lv2" / "chain.so", out / "chain.lv2"):
        capsys.readouterr()
        assert main(["plugin", "map", str(also)]) == 0
        assert capsys.readouterr().out == text
    (out / "chain.lv2" / "map.toml").unlink()  # the LV2's binary holds it too
    assert main(["plugin", "map", str(out / "chain.lv2")]) == 0 and capsys.readouterr().out == text
    _midi_moves(tmp_path, chain, seed=9)
    (tmp_path / "moves.mid").rename(back / "moves.mid")
    soundfile.write(back / "in.wav", make_test_mix(2.0, int(RATE)).T, int(RATE), subtype="FLOAT")
    renders = []
    for folder in (tmp_path, back):
        arguments = ["--chain", str(folder / "chain.toml"), "--midi", str(back / "moves.mid"), "--map", str(folder / "map.toml")]
        assert main(["process", str(back / "in.wav"), str(folder / "moved.wav"), *arguments]) == 0
        renders.append(soundfile.read(folder / "moved.wav", dtype="float32")[0])
        (folder / "preset.toml").unlink(missing_ok=True)  # the map given back needs no preset file
    assert np.array_equal(renders[0], renders[1])
    still = tmp_path / "still"
    assert main(["export-plugin", str(chain), "-o", str(still), "--rates", "48000", "--format", "clap"]) == 0
    capsys.readouterr()
    for plugin, message in (
        (out / "chain.vst3", "a VST3 takes no MIDI map"),
        (still / "chain.clap", "takes no MIDI map: it was exported without --map"),
        (chain, "not a plugin made by `soundstage export-plugin`"),
    ):
        assert main(["plugin", "map", str(plugin)]) == 2
        said = capsys.readouterr().err.strip()
        assert message in said and "\n" not in said and "Traceback" not in said
