"""Third-party VST3 plugins nobody here wrote, as a mastering engineer puts them on a bus: Debian's zam-plugins
(ZaMaximX2, a lookahead maximizer; ZamEQ2, a mono parametric EQ), in chain files, through the command line.

What a plugin reports (its latency, its channel layouts, its state) is its author's, not ours: these tests check
that the chain holds on it: the lookahead compensated to the sample at every rate, a mono plugin run per channel
to the dB its knobs say, the saved state reloading to the same bits in a new process, and any block size giving
the same file.

Each plugin runs in a child process: the ZAM plugins are built with -ffast-math, and loading one sets the
processor to flush subnormal floats to zero for the rest of the process it is loaded in (hypothesis then refuses
to run the tests after them).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile


def soundstage(*args: str) -> subprocess.CompletedProcess[str]:
    """The command line, in a child process."""
    script = "import sys; from soundstage.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300)


def bus_chain(folder: Path, zam_dir: Path, *, eq_per_channel: bool = True) -> Path:
    """A stereo bus: ZamEQ2 (+6 dB at 1 kHz, one octave) on each channel, then ZaMaximX2 (threshold -6 dB)."""
    eq = f'''type = "plugin"
path = "{zam_dir / "ZamEQ2.vst3"}"
parameters = {{ boost_cut_1_db = 6.0, frequency_1_hz = 1000.0, bandwidth_1 = 1.0 }}
'''
    eq_stage = (
        f'[[stages]]\ntype = "per_channel"\nname = "eq"\n[stages.stage]\n{eq}'
        if eq_per_channel
        else f'[[stages]]\nname = "eq"\n{eq}'
    )
    text = f'''format = 1
{eq_stage}
[[stages]]
type = "plugin"
name = "maximizer"
path = "{zam_dir / "ZaMaximX2.vst3"}"
parameters = {{ threshold_db = -6.0, release_ms = 25.0 }}
'''
    path = folder / "bus.toml"
    path.write_text(text)
    return path


def process(chain: Path, source: Path, out: Path, *extra: str) -> None:
    done = soundstage("process", "--chain", str(chain), str(source), str(out), "--overwrite", *extra)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_a_lookahead_maximizer_is_compensated_to_the_sample(tmp_path: Path, zam_dir: Path, rate: int) -> None:
    """Clicks below the threshold come out on their own samples, the file as long as its input."""
    clicks = np.zeros((2 * rate, 2), np.float32)
    at = [rate // 3, rate, 3 * rate // 2]
    clicks[at] = 0.05
    source = tmp_path / "clicks.wav"
    soundfile.write(str(source), clicks, rate, subtype="FLOAT")
    process(bus_chain(tmp_path, zam_dir), source, tmp_path / "out.wav")
    out, out_rate = soundfile.read(str(tmp_path / "out.wav"), dtype="float32")
    assert out_rate == rate and out.shape == clicks.shape
    for channel in (0, 1):
        peaks = sorted(int(i) for i in np.argsort(np.abs(out[:, channel]))[-3:])
        assert peaks == at, f"channel {channel}: clicks at {peaks}, sent at {at}"


def test_a_mono_eq_runs_on_each_channel_to_the_db_its_knobs_say(tmp_path: Path, zam_dir: Path) -> None:
    """PerChannel(ZamEQ2) at +6 dB, 1 kHz: each channel +6 dB there (within 0.3) and flat at 100 Hz (within 0.3).
    The maximizer's threshold is raised out of the way, so only the EQ shapes the level."""
    rate = 48000
    t = np.arange(2 * rate) / rate
    tones = {1000.0: 0, 100.0: 1}  # 1 kHz on the left, 100 Hz on the right: both measured at once, per channel
    source_audio = np.stack([0.05 * np.sin(2 * np.pi * f * t) for f in tones]).T.astype(np.float32)
    source = tmp_path / "tones.wav"
    soundfile.write(str(source), source_audio, rate, subtype="FLOAT")
    chain = bus_chain(tmp_path, zam_dir)
    chain.write_text(chain.read_text().replace("threshold_db = -6.0", "threshold_db = 0.0"))
    process(chain, source, tmp_path / "out.wav")
    out, _ = soundfile.read(str(tmp_path / "out.wav"), dtype="float32")
    middle = slice(rate // 2, 3 * rate // 2)
    gains = [
        20 * np.log10(np.sqrt(np.mean(out[middle, c] ** 2)) / np.sqrt(np.mean(source_audio[middle, c] ** 2))) for c in (0, 1)
    ]
    print(f"gain at 1 kHz (left) {gains[0]:+.2f} dB, at 100 Hz (right) {gains[1]:+.2f} dB")
    assert gains[0] == pytest.approx(6.0, abs=0.3) and gains[1] == pytest.approx(0.0, abs=0.3)


def test_saved_state_reloads_and_any_block_size_gives_the_same_file(tmp_path: Path, zam_dir: Path) -> None:
    """The chain saved from Python (paths, parameters, each plugin's state) renders the same bits in a new process
    (the command line), at block sizes of 1000 and 65536 samples."""
    rate = 44100
    rng = np.random.default_rng(5)
    music = (0.4 * rng.standard_normal((3 * rate, 2))).astype(np.float32)
    source = tmp_path / "music.wav"
    soundfile.write(str(source), music, rate, subtype="FLOAT")
    saved = tmp_path / "saved.toml"
    script = (
        "import sys, numpy as np, soundfile; from soundstage import load_chain, save_chain\n"
        "music, rate = soundfile.read(sys.argv[2], dtype='float32')\n"
        "chain = load_chain(sys.argv[1])\n"
        "np.save(sys.argv[4], chain(music.T.copy(), float(rate)))\n"
        "assert chain.latency_samples > 0  # the maximizer's lookahead, which both compensate\n"
        "save_chain(chain, sys.argv[3])\n"
    )
    arguments = [str(bus_chain(tmp_path, zam_dir)), str(source), str(saved), str(tmp_path / "in_python.npy")]
    done = subprocess.run([sys.executable, "-c", script, *arguments], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    in_python = np.load(tmp_path / "in_python.npy")
    assert "state = " in saved.read_text()
    outputs = []
    for size in ("1000", "65536"):
        process(saved, source, tmp_path / f"out-{size}.wav", "--buffer-size", size)
        outputs.append(soundfile.read(str(tmp_path / f"out-{size}.wav"), dtype="float32")[0])
    assert np.array_equal(outputs[0], outputs[1])
    assert in_python.shape == outputs[0].T.shape and np.array_equal(outputs[0].T, in_python)


def test_a_mono_plugin_on_a_stereo_bus_is_named_with_the_wrapper_to_use(tmp_path: Path, zam_dir: Path) -> None:
    """The mono EQ put straight on the bus ahead of the stereo maximizer: one line saying to run it per channel. Put
    first on a stereo input, it is told how in a chain file's words as well as Python's."""
    chain = bus_chain(tmp_path, zam_dir, eq_per_channel=False)
    source = tmp_path / "in.wav"
    soundfile.write(str(source), np.zeros((4800, 2), np.float32), 48000)
    done = soundstage("process", "--chain", str(chain), str(source), str(tmp_path / "out.wav"))
    assert done.returncode == 2
    error = done.stderr.strip()
    print(error)
    assert "\n" not in error and "'maximizer' (chain[1]) takes 2 channel(s), but gets 1 from 'eq' (chain[0])" in error
    assert "once per channel with PerChannel(ZamEQ2)" in error
    single = bus_chain(tmp_path, zam_dir, eq_per_channel=False)  # the EQ alone on the stereo bus
    single.write_text(single.read_text().split('[[stages]]\ntype = "plugin"\nname = "maximizer"')[0])
    done = soundstage("process", "--chain", str(single), str(source), str(tmp_path / "out.wav"))
    error = done.stderr.strip()
    assert done.returncode == 2 and "'eq' (chain[0]) takes 1 channel(s), but gets 2 from the chain input" in error
    assert 'in a chain file: type = "per_channel", the plugin\'s table as its stage' in error  # the file's words too
    assert '(type = "route", channels = [0])' in error


def test_what_is_not_a_plugin_pedalboard_loads_is_named_with_what_to_give(tmp_path: Path, zam_dir: Path) -> None:
    """A chain's plugin path that is an audio file, a folder, an LV2 bundle, or a folder inside a VST3 bundle said
    "cannot load plugin ...: Failed to load plugin as VST3Plugin. Errors were:" and stopped there. Each is said,
    with what to give; a damaged .vst3 keeps pedalboard's reason, on the one line."""
    audio = tmp_path / "in.wav"
    soundfile.write(str(audio), np.zeros((4800, 2), np.float32), 48000)
    (tmp_path / "Comp.lv2").mkdir()
    (tmp_path / "broken.vst3").write_bytes(b"not a bundle")
    cases = {
        str(audio): "it is a file, not a plugin bundle; give a VST3 plugin (.vst3",
        str(tmp_path): "it is a folder, not a plugin bundle",
        str(tmp_path / "Comp.lv2"): ".lv2 plugins are not hosted (pedalboard hosts VST3, and Audio Units on macOS)",
        str(zam_dir / "ZamEQ2.vst3" / "Contents"): f"it is inside the plugin bundle '{zam_dir / 'ZamEQ2.vst3'}'; give the",
        str(tmp_path / "broken.vst3"): "Unable to scan plugin",
    }
    for path, message in cases.items():
        chain = tmp_path / "bus.toml"
        chain.write_text(f'format = 1\n[[stages]]\ntype = "plugin"\nname = "eq"\npath = "{path}"\n')
        done = soundstage("process", "--chain", str(chain), str(audio), str(tmp_path / "out.wav"))
        error = done.stderr.strip()
        assert done.returncode == 2 and message in error and "\n" not in error.strip(), error
        assert not (tmp_path / "out.wav").exists()


def test_a_plugin_name_the_bundle_does_not_hold_is_refused(tmp_path: Path, zam_dir: Path) -> None:
    """pedalboard picks a plugin by name only in a bundle of several: ZamEQ2.vst3 with plugin_name = "ZamComp" loaded
    the EQ in silence, and the chain ran with another plugin than the one it names. The name is checked (in any
    case, as the bundle spells it or not)."""
    audio = tmp_path / "in.wav"
    soundfile.write(str(audio), np.zeros((4800, 1), np.float32), 48000)
    chain = tmp_path / "bus.toml"
    bundle = zam_dir / "ZamEQ2.vst3"
    chain.write_text(f'format = 1\n[[stages]]\ntype = "plugin"\npath = "{bundle}"\nplugin_name = "ZamComp"\n')
    done = soundstage("process", "--chain", str(chain), str(audio), str(tmp_path / "out.wav"))
    error = done.stderr.strip()
    assert done.returncode == 2 and not (tmp_path / "out.wav").exists()
    assert error.endswith(f"plugin {str(bundle)!r} holds 'ZamEQ2', not 'ZamComp': give plugin_name = 'ZamEQ2', or remove "
                          "plugin_name (it picks one plugin of a bundle of several)"), error  # fmt: skip
    chain.write_text(f'format = 1\n[[stages]]\ntype = "plugin"\npath = "{bundle}"\nplugin_name = "zameq2"\n')
    done = soundstage("process", "--chain", str(chain), str(audio), str(tmp_path / "out.wav"))
    assert done.returncode == 0, done.stderr


def test_what_a_refused_plugin_prints_while_it_loads_is_not_shown(tmp_path: Path, zam_dir: Path) -> None:
    """ZamAutoSat prints 'assertion failure: "read > 0" in file ../../dpf/...' on stderr as it loads. Before a
    refusal that line came first, and soundstage's one-line error after it; what a plugin prints while it loads is
    now held, and dropped when it is refused."""
    done = soundstage("plugin", "info", str(zam_dir / "ZamAutoSat.vst3"), "--plugin-name", "ZamComp")
    lines = done.stderr.splitlines()
    assert done.returncode == 2
    assert lines == [
        f"soundstage: error: plugin {str(zam_dir / 'ZamAutoSat.vst3')!r} holds 'ZamAutoSat', not 'ZamComp': give "
        "plugin_name = 'ZamAutoSat', or remove plugin_name (it picks one plugin of a bundle of several)"
    ]
    loaded = soundstage("plugin", "info", str(zam_dir / "ZamAutoSat.vst3"))
    assert loaded.returncode == 0 and "assertion failure" in loaded.stderr  # loaded, what it printed is kept


def test_a_dpf_plugin_let_go_prints_nothing_after_the_commands_last_line(tmp_path: Path, zam_dir: Path) -> None:
    """A VST3 built with DPF (ZamComp here) prints "DPF warning: asked to delete component while audio processor
    still active (refcount 1)" and a line like it as pedalboard's host lets it go (JUCE's release order meeting
    DPF's check of it). Two such lines per plugin came after soundstage's last line: after "wrote ..." and after a
    one-line error. The command line now lets plugins go with those lines dropped, and only those."""
    comp = f'type = "plugin"\npath = "{zam_dir / "ZamComp.vst3"}"\nparameters = {{ threshold_db = -20.0 }}\n'
    source = tmp_path / "in.wav"
    soundfile.write(str(source), 0.1 * np.random.default_rng(0).standard_normal((9600, 2)), 48000, subtype="PCM_24")
    per_channel = tmp_path / "ok.toml"
    per_channel.write_text(f'[[stages]]\ntype = "per_channel"\n[stages.stage]\n{comp}')
    done = soundstage("process", str(source), str(tmp_path / "out.wav"), "--chain", str(per_channel))
    assert done.returncode == 0 and done.stderr == "", done.stderr  # two instances, one per channel
    assert done.stdout.startswith(f"wrote {tmp_path / 'out.wav'}: 0.20 s, 2 channel(s)")
    straight = tmp_path / "mono.toml"  # the mono plugin straight on the stereo input: refused in one line
    straight.write_text(f"[[stages]]\n{comp}")
    done = soundstage("process", str(source), str(tmp_path / "no.wav"), "--chain", str(straight))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("soundstage: error: 'zamcomp' (chain[0]) takes 1 channel(s), but gets 2")
    done = soundstage("plugin", "info", str(zam_dir / "ZamComp.vst3"))
    assert done.returncode == 0 and done.stderr == "", done.stderr
    # what else a plugin prints is kept: ZamAutoSat's line as it loads
    done = soundstage("plugin", "info", str(zam_dir / "ZamAutoSat.vst3"))
    assert done.returncode == 0 and "assertion failure" in done.stderr and "DPF warning" not in done.stderr


def test_a_dual_mono_strip_of_two_plugins_runs_each_channel_as_the_mono_strip(tmp_path: Path, zam_dir: Path) -> None:
    """per_channel of a nested chain (ZamEQ2 then ZamComp, both mono): each channel of the stereo file comes out as
    the same strip run on that channel alone, to 1e-6. The old code stopped with a traceback ('cannot pickle
    'pedalboard_native.VST3Plugin' object'): a chain was copied per channel through pickle."""
    rate = 48000
    rng = np.random.default_rng(11)
    music = (0.3 * rng.standard_normal((2 * rate, 2))).astype(np.float32)
    music[:, 1] *= 0.25
    strip = f'''{{ type = "plugin", path = "{zam_dir / "ZamEQ2.vst3"}", parameters = {{ boost_cut_1_db = 6.0 }} }},
  {{ type = "plugin", path = "{zam_dir / "ZamComp.vst3"}", parameters = {{ threshold_db = -30.0 }} }},'''
    dual = tmp_path / "dual.toml"
    dual.write_text(f'format = 1\n[[stages]]\ntype = "per_channel"\n[stages.stage]\ntype = "chain"\nstages = [\n  {strip}\n]\n')
    mono = tmp_path / "mono.toml"
    mono.write_text(f'format = 1\n[[stages]]\ntype = "chain"\nstages = [\n  {strip}\n]\n')
    source = tmp_path / "music.wav"
    soundfile.write(str(source), music, rate, subtype="FLOAT")
    process(dual, source, tmp_path / "dual.wav")
    both, _ = soundfile.read(str(tmp_path / "dual.wav"), dtype="float32")
    for channel in (0, 1):
        soundfile.write(str(tmp_path / f"c{channel}.wav"), music[:, channel], rate, subtype="FLOAT")
        process(mono, tmp_path / f"c{channel}.wav", tmp_path / f"c{channel}-out.wav")
        alone, _ = soundfile.read(str(tmp_path / f"c{channel}-out.wav"), dtype="float32")
        assert np.max(np.abs(both[:, channel] - alone)) <= 1e-6, f"channel {channel}"
    assert np.std(both[:, 0]) > 1e-3 and np.std(both[:, 1]) > 1e-3


def _plugin_chain(folder: Path, bundle: Path, *, per_channel: bool) -> Path:
    table = f'type = "plugin"\npath = "{bundle}"\n'
    chain = folder / f"{bundle.stem}-{'per-channel' if per_channel else 'straight'}.toml"
    chain.write_text(f'[[stages]]\ntype = "per_channel"\n[stages.stage]\n{table}' if per_channel else f"[[stages]]\n{table}")
    return chain


def _stereo(folder: Path) -> Path:
    source = folder / "in.wav"
    soundfile.write(str(source), 0.1 * np.random.default_rng(0).standard_normal((9600, 2)), 48000, subtype="PCM_24")
    return source


def test_what_soundstage_asks_a_plugin_by_trial_is_not_shown(tmp_path: Path, zam_dir: Path) -> None:
    """soundstage tries a plugin in seven channel layouts to learn the ones it takes. ZamTube (mono) prints
    'assertion failure: "bufferSize >= 2"' for each it refuses, and pedalboard makes it again for each (two DPF
    release-order lines): 20 lines came before the one-line error of a mono plugin straight on a stereo input, and
    28 came around 'wrote ...' when it ran per channel. Those answers are not news: the output is soundstage's lines
    only."""
    source = _stereo(tmp_path)
    bundle = zam_dir / "ZamTube.vst3"
    done = soundstage(
        "process", str(source), str(tmp_path / "no.wav"), "--chain", str(_plugin_chain(tmp_path, bundle, per_channel=False))
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("soundstage: error: 'zamtube' (chain[0]) takes 1 channel(s), but gets 2")
    done = soundstage(
        "process", str(source), str(tmp_path / "out.wav"), "--chain", str(_plugin_chain(tmp_path, bundle, per_channel=True))
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    out, _ = soundfile.read(str(tmp_path / "out.wav"), dtype="float32")
    assert out.shape == (9600, 2) and np.all(np.std(out, axis=0) > 1e-3)
    done = soundstage("plugin", "info", str(bundle))
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "channels: 1\n" in done.stdout


def test_a_line_a_plugin_prints_again_and_again_is_shown_once_with_its_count(tmp_path: Path, zam_dir: Path) -> None:
    """ZamHeadX2 prints 'convolution: samplerate mismatch preset:48000 host:44100' a dozen times as pedalboard loads
    it (ZamVerb: 20 times, and once each time its program loads as its parameters are read). What a plugin prints is
    kept, a line printed again and again in a row once, with its count."""
    done = soundstage("plugin", "info", str(zam_dir / "ZamHeadX2.vst3"))
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == len(set(lines)), done.stderr
    counted = [line for line in lines if line.startswith("convolution: samplerate mismatch")]
    assert len(counted) == 1 and re.fullmatch(r".* \[the same line (\d+) times in a row\]", counted[0]), lines
    assert int(re.fullmatch(r".* \[the same line (\d+) times in a row\]", counted[0]).group(1)) >= 3  # type: ignore[union-attr]


def test_copies_of_a_plugin_do_not_say_again_what_it_said_as_it_loaded(tmp_path: Path, zam_dir: Path) -> None:
    """ZamAutoSat asserts 'read > 0' as it loads and each time a state is restored into it. Run per channel, its
    copies (loaded again, given the original's state) printed that line eight times in all; now once, as the
    original loads."""
    done = soundstage(
        "process",
        str(_stereo(tmp_path)),
        str(tmp_path / "out.wav"),
        "--chain",
        str(_plugin_chain(tmp_path, zam_dir / "ZamAutoSat.vst3", per_channel=True)),
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("assertion failure") == 1 and done.stderr.count("\n") == 1, done.stderr


#: Run in a process of its own: loading a ZAM plugin sets the process's floating-point unit to flush subnormals (they
#: are built with -ffast-math), which hypothesis, in the tests that run after it in the same worker, refuses.
_RESTORES_SCRIPT = """
import json, sys
import numpy as np
import soundstage.host.routing as routing
from soundstage import load_chain

restored = []
real_restore = routing.restore_state
routing.restore_state = lambda plugin, state, **kw: restored.append(kw["owner"]) or real_restore(plugin, state, **kw)
chain = load_chain(sys.argv[1])
rate = 48000
tone = np.tile(0.05 * np.sin(2 * np.pi * 2000.0 * np.arange(rate) / rate), (4, 1)).astype(np.float32)
chain(tone, rate)
first = len(restored)
chain.parameters["eq.frequency_1_hz"].value = 2000.0
chain.reset()
out = chain(tone, rate)
rms = lambda x: np.sqrt(np.mean(x[:, rate // 2 :] ** 2, axis=1))
print(json.dumps({"first": first, "second": len(restored) - first, "gains": (20 * np.log10(rms(out) / rms(tone))).tolist()}))
"""


def test_per_channel_copies_of_a_plugin_follow_its_state_restoring_each_once(tmp_path: Path, zam_dir: Path) -> None:
    """PerChannel(ZamEQ2) on four channels makes three copies, each loaded with the plugin's state as it is: they
    were given that state a second time in the same preparation (6 restores in a first run, which prepares twice;
    now 3: at the second). A copy made earlier is given it at each preparation (the knob turned in between, the
    copies play it): the four channels then match, to the +6 dB of the boost moved to 2 kHz."""
    eq = tmp_path / "eq.toml"
    eq.write_text(
        f'format = 1\n[[stages]]\ntype = "per_channel"\nname = "eq"\n[stages.stage]\ntype = "plugin"\n'
        f'path = "{zam_dir / "ZamEQ2.vst3"}"\nparameters = {{ boost_cut_1_db = 6.0, frequency_1_hz = 1000.0 }}\n'
    )
    done = subprocess.run([sys.executable, "-c", _RESTORES_SCRIPT, str(eq)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"restores: {found['first']} in the first call, {found['second']} in the second; gains {found['gains']} dB")
    assert (
        found["first"] == 3
    )  # the chain is prepared twice as it first runs: the copies made at the first, restored at the second
    assert np.ptp(found["gains"]) < 0.05 and min(found["gains"]) > 4.0


def test_a_reverbs_tail_cut_at_the_files_end_is_said_with_the_tail_that_renders_it(tmp_path: Path, zam_dir: Path) -> None:
    """ZamVerb on a note that ends 20 ms before the file does: the render stopped at the input's length, its tail cut
    mid-ring (the last 10 ms within 30 dB of its peak), without a word. The note names the ``--tail`` that renders it;
    rendered with it, the file ends 60 dB (within 6) below its peak and nothing is said. A chain that does not ring
    (the maximizer) says nothing."""
    rate = 44100
    note = np.zeros((round(0.12 * rate), 2), np.float32)
    note[: round(0.1 * rate)] = 0.3 * np.sin(2 * np.pi * 440 * np.arange(round(0.1 * rate)) / rate)[:, None]
    source = tmp_path / "note.wav"
    soundfile.write(str(source), note, rate, subtype="FLOAT")
    chain = tmp_path / "verb.toml"
    chain.write_text(f'[[stages]]\ntype = "plugin"\npath = "{zam_dir / "ZamVerb.vst3"}"\n')
    cut = soundstage("process", "--chain", str(chain), str(source), str(tmp_path / "cut.wav"))
    said = re.search(r"stays within 60 dB of the output's peak ([\d.]+) s longer; pass --tail ([\d.]+) to render it", cut.stdout)
    assert cut.returncode == 0 and said is not None, cut.stdout
    out, _ = soundfile.read(str(tmp_path / "cut.wav"), dtype="float32")
    end_db = 20 * np.log10(np.abs(out[-rate // 100 :]).max() / np.abs(out).max())
    print(f"cut: the last 10 ms at {end_db:.1f} dB re its peak; rings {said[1]} s on; --tail {said[2]}")
    assert end_db > -30 and 0.1 <= float(said[1]) <= float(said[2]) < 10
    whole = soundstage("process", "--chain", str(chain), str(source), str(tmp_path / "whole.wav"), "--tail", said[2])
    assert whole.returncode == 0 and "rings" not in whole.stdout, whole.stdout
    out, _ = soundfile.read(str(tmp_path / "whole.wav"), dtype="float32")
    end_db = 20 * np.log10(np.abs(out[-rate // 100 :]).max() / np.abs(out).max())
    print(f"with the tail: the last 10 ms at {end_db:.1f} dB re its peak")
    assert end_db < -54
    dry = soundstage("process", "--chain", str(bus_chain(tmp_path, zam_dir)), str(source), str(tmp_path / "dry.wav"))
    assert dry.returncode == 0 and "rings" not in dry.stdout, dry.stdout
