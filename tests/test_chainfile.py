"""Chain files: lossless round trips for every node type, state in a fresh process, errors."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pedalboard
import pytest

from helpers import STAGES, Lookahead, Split3, Tilt
from soundstage import (
    BinauralMonitor,
    Chain,
    ChainFileError,
    Gain,
    OnChannels,
    Parallel,
    PerChannel,
    PluginError,
    Route,
    Spatializer,
    load_chain,
    load_plugin,
    load_vstpreset,
    save_chain,
    save_vstpreset,
)
from soundstage.host.external import external_parameters

SR = 48000


def every_node_type(stereo_gain_path: Path, mono_path: Path) -> Chain:
    vst = load_plugin(stereo_gain_path)
    external_parameters(vst)["gain_db"].value = -7.25
    external_parameters(vst)["polarity"].value = True
    external_parameters(vst)["delay_samples"].value = 33
    mono = load_plugin(mono_path)
    external_parameters(mono)["smoothing"].value = 0.3
    mono2 = load_plugin(mono_path)
    external_parameters(mono2)["gain_db"].value = -2.5
    ladder = pedalboard.LadderFilter(mode=pedalboard.LadderFilter.Mode.HPF24, cutoff_hz=150.0)
    nested = Chain([Gain(gain_db=-1.0), pedalboard.Chorus(rate_hz=0.7)], names=["pre", "chorus"])
    return Chain(
        [
            Tilt(amount=0.25),
            ladder,
            vst,
            nested,
            Split3(),
            OnChannels(Gain(gain_db=-3.0, invert=True), channels=[2]),
            OnChannels(pedalboard.Compressor(threshold_db=-12.0, ratio=4.0), channels=[0, 1]),
            PerChannel(mono, channels=[0, 2]),
            Parallel([[Route(channels=[0, 1])], [Lookahead(delay_samples=10), Route(channels=[2, 2])]]),
            PerChannel(mono2),
            Route(channels=[1, 0]),
        ],
        names=["tilt", "ladder", "vst", "bus", "split", "center", "comp", "mono", "sum", "mono_all", "swap"],
    )


def test_round_trip_every_node_type_is_bit_identical(
    tmp_path: Path, stereo_gain_path: Path, mono_path: Path, noise: np.ndarray
) -> None:
    chain = every_node_type(stereo_gain_path, mono_path)
    reference = chain(noise, SR)
    assert reference.shape == (2, noise.shape[1])
    file = tmp_path / "everything.toml"
    save_chain(chain, file, description="all node types")
    loaded = load_chain(file, stages=STAGES)
    assert loaded.names == chain.names
    np.testing.assert_array_equal(loaded(noise, SR), reference)
    # saving the loaded chain again gives the same file: nothing drifts
    again = tmp_path / "again.toml"
    save_chain(loaded, again, description="all node types")
    assert again.read_text() == file.read_text()
    assert 'type = "on_channels"' in file.read_text() and "[[stages.branches]]" in file.read_text()


def test_plugin_state_and_parameters_survive_in_a_fresh_process(
    tmp_path: Path, stereo_gain_path: Path, noise: np.ndarray
) -> None:
    vst = load_plugin(stereo_gain_path)
    external_parameters(vst)["gain_db"].value = -12.0
    external_parameters(vst)["delay_samples"].value = 77
    chain = Chain([vst, pedalboard.HighShelfFilter(cutoff_frequency_hz=3000, gain_db=2.0)], names=["vst", "shelf"])
    file = tmp_path / "plugin.toml"
    save_chain(chain, file)
    np.save(tmp_path / "noise.npy", noise)
    np.save(tmp_path / "expected.npy", chain(noise, SR))
    script = textwrap.dedent(
        f"""
        import numpy as np
        from soundstage import load_chain
        chain = load_chain({str(file)!r})
        print(chain.parameter("vst.gain_db").value, chain.parameter("vst.delay_samples").value)
        out = chain(np.load({str(tmp_path / "noise.npy")!r}), {SR})
        print(float(np.abs(out - np.load({str(tmp_path / "expected.npy")!r})).max()))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line and not line.startswith("DPF")]
    gain, delay = map(float, lines[0].split())
    assert gain == pytest.approx(-12.0, abs=0.01) and delay == 77.0
    assert float(lines[1]) == 0.0


def test_file_with_hand_edited_parameter_wins_over_state(tmp_path: Path, stereo_gain_path: Path) -> None:
    vst = load_plugin(stereo_gain_path)
    file = tmp_path / "edit.toml"
    save_chain(Chain([vst], names=["vst"]), file)
    text = file.read_text()
    assert "gain_db = -1e-06" in text or "gain_db = -1.0e-06" in text
    file.write_text(text.replace("gain_db = -1e-06", "gain_db = -20.0").replace("gain_db = -1.0e-06", "gain_db = -20.0"))
    assert load_chain(file).parameter("vst.gain_db").value == pytest.approx(-20.0, abs=0.01)


def test_vstpreset_save_and_load(tmp_path: Path, stereo_gain_path: Path) -> None:
    vst = load_plugin(stereo_gain_path)
    external_parameters(vst)["gain_db"].value = -9.5
    preset = tmp_path / "quiet.vstpreset"
    save_vstpreset(vst, preset)
    assert preset.read_bytes()[:4] == b"VST3"
    fresh = load_plugin(stereo_gain_path)
    load_vstpreset(fresh, preset)
    assert external_parameters(fresh)["gain_db"].value == pytest.approx(-9.5, abs=0.01)
    file = tmp_path / "preset.toml"
    file.write_text(f'[[stages]]\ntype = "plugin"\npath = "{stereo_gain_path}"\npreset = "quiet.vstpreset"\n')
    assert load_chain(file).parameter("0.gain_db").value == pytest.approx(-9.5, abs=0.01)


def test_a_preset_of_another_plugin_or_format_is_named_as_such(tmp_path: Path, stereo_gain_path: Path, mono_path: Path) -> None:
    """A .vstpreset saved from another plugin, or a VST2 .fxp renamed, was refused with the plugin's own words
    ("Failed to set preset data for plugin: ..."), which do not say why; each is named for what it is."""
    preset = tmp_path / "mono.vstpreset"
    save_vstpreset(load_plugin(mono_path), preset)
    data = preset.read_bytes()
    info = b'List<?xml version="1.0"?><MetaInfo><Attribute id="PlugInName" value="SSMono" type="string"/></MetaInfo>'
    preset.write_bytes(data + info)  # the Info chunk a DAW writes (at the end; the chunk list still finds the state)
    gain = load_plugin(stereo_gain_path)
    with pytest.raises(PluginError, match=r"mono\.vstpreset' is of another plugin \(SSMono\), class [0-9A-F]{32}, not "
                       r"SS Test Gain's [0-9A-F]{32}; give it to the stage of the plugin it was saved from"):  # fmt: skip
        load_vstpreset(gain, preset)
    fxp = tmp_path / "old.vstpreset"
    fxp.write_bytes(b"CcnK" + bytes(56))
    with pytest.raises(PluginError, match=r"old\.vstpreset' is not a VST3 preset \(a \.vstpreset starts with 'VST3'; "
                       r"this file with b'CcnK'\)"):  # fmt: skip
        load_vstpreset(gain, fxp)


def test_bundled_presets_load() -> None:
    from soundstage.host.nodes import node_input_channels

    presets = sorted((Path(__file__).resolve().parents[1] / "chains").glob("*.toml"))
    assert presets
    for preset in presets:
        chain = load_chain(preset)
        assert len(chain) > 0
        channels = node_input_channels(chain[0]) or 2  # the fold-downs take their bed's channels
        assert chain(np.zeros((channels, 4800), np.float32), SR).shape[1] == 4800


BAD_FILES = {
    "unknown_type": ('[[stages]]\ntype = "Gian"\n', r"stages\[0\]\.type: unknown stage type 'Gian'; did you mean 'Gain'"),
    "unknown_parameter": (
        '[[stages]]\ntype = "Gain"\nparameters = { gain = 1.0 }\n',
        r"stages\[0\]\.parameters\.gain: Gain has no parameter 'gain'; did you mean 'gain_db'",
    ),
    "out_of_range": (
        '[[stages]]\ntype = "Gain"\nparameters = { gain_db = 40.0 }\n',
        r"stages\[0\]\.parameters\.gain_db: Gain\.gain_db=40\.0 is outside -96\.\.24 dB",
    ),
    "wrong_kind": (
        '[[stages]]\ntype = "Gain"\nparameters = { invert = "yes" }\n',
        r"stages\[0\]\.parameters\.invert: Gain\.invert='yes': expected true or false",
    ),
    "builtin_range": (
        '[[stages]]\ntype = "pedalboard.Compressor"\nparameters = { ratio = 0.5 }\n',
        r"parameters\.ratio: pedalboard\.Compressor\.ratio=0\.5 is outside 1\.\.100",
    ),
    "unsupported_builtin": ('[[stages]]\ntype = "pedalboard.Convolution"\n', r"unsupported built-in 'pedalboard\.Convolution'"),
    "missing_plugin": (
        '[[stages]]\ntype = "plugin"\npath = "nowhere/Limiter.vst3"\n',
        r"stages\[0\]\.path: plugin file 'nowhere/Limiter\.vst3' does not exist",
    ),
    "unknown_key": (
        '[[stages]]\ntype = "Gain"\nparamters = {}\n',
        r"stages\[0\]\.paramters: unknown key 'paramters' for Gain; did you mean 'parameters'",
    ),
    "bad_channels": (
        '[[stages]]\ntype = "route"\nchannels = [0, -1]\n',
        r"stages\[0\]\.channels\[1\]: -1 is not allowed: at least 0",
    ),
    "not_toml": ("[[stages]\ntype = 'Gain'\n", r"not valid TOML"),
    "channel_mismatch": (
        '[[stages]]\ntype = "route"\nchannels = [0, 1, 2]\n[[stages]]\ntype = "Split3"\n',
        r"stages\[1\]: 'split3' \(chain\[1\]\) takes 2 channel\(s\), but gets 3",
    ),
    "format": ("format = 9\n", r"format: format = 9 is not allowed: one of 1"),
    "hrtf_not_files": (
        '[[stages]]\ntype = "Spatializer"\nhrtf = [1, 2]\n',
        r"stages\[0\]\.hrtf: hrtf = \[1, 2\] is not allowed: a head model's name or a SOFA file, or a list of 1 to 16",
    ),
    "hrtf_empty_list": ('[[stages]]\ntype = "CrosstalkCanceller"\nhrtf = []\n', r"stages\[0\]\.hrtf: hrtf = \[\] is not allowed"),
    "hrtf_model_in_a_list": (
        '[[stages]]\ntype = "Spatializer"\nhrtf = ["model", "x.sofa"]\n',
        r"stages\[0\]: hrtf=\['model', 'x\.sofa'\]: several heads must be SOFA files; 'model' is a head model",
    ),
    "region_extent_range": (
        '[[stages]]\ntype = "Spatializer"\nregion_yaw_deg = 90\n',
        r"stages\[0\]\.region_yaw_deg: region_yaw_deg = 90 is not allowed: at most 45",
    ),
    "region_extent_at_the_seat": (
        '[[stages]]\ntype = "CrosstalkCanceller"\nregion = "seat"\nregion_lateral_m = 0.1\n',
        r"stages\[0\]: CrosstalkCanceller: region_lateral_m shape the listening region, but region='seat'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_chain_file_errors_name_file_key_and_value(tmp_path: Path, case: str) -> None:
    text, message = BAD_FILES[case]
    file = tmp_path / f"{case}.toml"
    file.write_text(text)
    with pytest.raises(ChainFileError, match=message) as error:
        load_chain(file, stages=STAGES)
    assert str(file) in str(error.value)


def test_files_are_data_only(tmp_path: Path) -> None:
    file = tmp_path / "evil.toml"
    file.write_text("[[stages]]\ntype = \"__import__('os').system('touch pwned')\"\n")
    with pytest.raises(ChainFileError, match="unknown stage type"):
        load_chain(file)
    file.write_text('[[stages]]\ntype = "pedalboard.load_plugin"\n')
    with pytest.raises(ChainFileError, match="unsupported built-in"):
        load_chain(file)
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_saving_a_plugin_loaded_by_pedalboard_explains_the_fix(tmp_path: Path, stereo_gain_path: Path) -> None:
    chain = Chain([pedalboard.load_plugin(str(stereo_gain_path))])
    with pytest.raises(ChainFileError, match=r"load it with soundstage\.load_plugin\(path\)"):
        save_chain(chain, tmp_path / "x.toml")
    assert not (tmp_path / "x.toml").exists()


def test_old_british_keys_load_with_one_deprecation_warning(tmp_path: Path) -> None:
    """pedalboard spells Chorus's centre_delay_ms British; chain files say center_delay_ms, and the old key still loads."""
    import warnings

    from soundstage.errors import SoundstageDeprecationWarning
    from soundstage.host import chainfile

    chainfile._WARNED_KEYS.discard("centre_delay_ms")
    file = tmp_path / "old.toml"
    file.write_text('format = 1\n[[stages]]\ntype = "pedalboard.Chorus"\nparameters = { centre_delay_ms = 12.5 }\n')
    with pytest.warns(
        SoundstageDeprecationWarning,
        match=r"stages\[0\]\.parameters\.centre_delay_ms: 'centre_delay_ms' is deprecated, write 'center_delay_ms'",
    ):
        chain = load_chain(file)
    assert chain.parameters["chorus.center_delay_ms"].value == 12.5 and chain[0].centre_delay_ms == 12.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second load of an old key is silent
        load_chain(file)
    saved = tmp_path / "new.toml"
    save_chain(chain, saved)
    assert "center_delay_ms = 12.5" in saved.read_text() and "centre" not in saved.read_text()
    file.write_text(
        'format = 1\n[[stages]]\ntype = "pedalboard.Chorus"\nparameters = { centre_delay_ms = 12.5, center_delay_ms = 3.0 }\n'
    )
    with pytest.raises(
        ChainFileError, match=r"'centre_delay_ms' is the old name of 'center_delay_ms', which is given too; keep one"
    ):
        load_chain(file)


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"),  # Notepad's "UTF-8 with BOM", CRLF
        lambda text: text.encode("utf-16"),  # a Windows PowerShell 5 redirect: UTF-16 with its byte-order mark
        lambda text: text.encode("utf-16-be"),  # no mark: not UTF-8, refused in one line below
    ],
)
def test_a_chain_file_saved_by_windows_editors_loads_the_same(tmp_path: Path, encode: object) -> None:
    from soundstage.host.chainfile import chain_to_dict
    from soundstage.session import load_session

    text = 'format = 1\n# a comment\n[[stages]]\ntype = "Gain"\nname = "trim"\nparameters = { gain_db = -3.0 }\n'
    plain, other = tmp_path / "plain.toml", tmp_path / "other.toml"
    plain.write_text(text)
    data = encode(text)  # type: ignore[operator]
    other.write_bytes(data)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:3] == b"\xef\xbb\xbf":
        assert chain_to_dict(load_chain(other)) == chain_to_dict(load_chain(plain))
        session = tmp_path / "session.toml"
        session.write_bytes(encode("format = 1\n[[stems]]\npath = 'a.wav'\n"))  # type: ignore[operator]
        assert Path(load_session(session).stems[0].path).name == "a.wav"
    else:
        with pytest.raises(ChainFileError, match=r"other\.toml") as caught:
            load_chain(other)
        assert "\n" not in str(caught.value)


def test_a_file_saved_in_windows_1252_is_named_as_such_with_where(tmp_path: Path) -> None:
    """A chain or session file saved by an editor in the system's 8-bit encoding (Notepad's "ANSI"): the error says so,
    where, and the fix (it said "not a text file", as for a WAV given as a chain)."""
    from soundstage.session import SessionError, load_session

    chain = tmp_path / "chain.toml"
    chain.write_bytes('# Mastering für Café\n[[stages]]\ntype = "Gain"\nparameters = { gain_db = -1.0 }\n'.encode("cp1252"))
    with pytest.raises(ChainFileError) as caught:
        load_chain(chain)
    assert str(caught.value) == (
        f"chain file {str(chain)!r} is not UTF-8 text (byte 0xfc at line 1, column 14, 'ü' in Windows-1252): "
        "save it as UTF-8, as TOML files are"
    )
    session = tmp_path / "session.toml"
    session.write_bytes('[[stems]]\npath = "stems/mix.wav"\nname = "voix–lead"\n'.encode("cp1252"))
    with pytest.raises(SessionError, match=r"is not UTF-8 text \(byte 0x96 at line 3, column 13, '–' in Windows-1252\)"):
        load_session(session)


def test_an_audio_file_given_as_the_chain_is_named_as_not_text(tmp_path: Path) -> None:
    """A WAV (written by soundfile) passed for --chain: one line naming the file, what it is and the fix, not a codec's
    message; bytes of no kind soundstage knows: where they are not text."""
    import soundfile

    wav = tmp_path / "mix.wav"
    soundfile.write(wav, np.full((4800, 2), 0.25, np.float32), 48000, subtype="PCM_24")
    with pytest.raises(ChainFileError) as caught:
        load_chain(wav)
    assert re.fullmatch(r"chain file '.*mix\.wav' is a WAV file, not TOML text; give the \.toml file", str(caught.value))
    data = tmp_path / "data.toml"
    data.write_bytes(b"[[stages]]\n\x00\xb1\x02")
    with pytest.raises(ChainFileError) as caught:
        load_chain(data)
    assert re.fullmatch(
        r"chain file '.*data\.toml' is not a text file \(byte 0xb1 at 12\): give the \.toml file", str(caught.value)
    )


def test_stages_take_paths_as_pathlib_paths_and_save_them(tmp_path: Path) -> None:
    """``hrtf=`` and ``device=`` given as :class:`pathlib.Path` (as scripts build them) work as their text does, and
    the chain saves and loads (was: "hrtf=PosixPath(...) must be a head model's name ..." and a TOML writer's
    TypeError)."""
    import soundstage
    from soundstage import Beamformer, BinauralMonitor, CrosstalkCanceller, Spatializer, save_chain
    from soundstage.host.chainfile import chain_to_dict

    sofa = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")
    if not sofa.is_file():
        pytest.skip("needs libmysofa1's MIT KEMAR set (.ci/run installs it)")
    profile = tmp_path / "my device.toml"
    profile.write_text((Path(soundstage.__file__).parent / "acoustics" / "devices" / "studio-5.toml").read_text())
    stages = [Spatializer(device=profile, hrtf=sofa), CrosstalkCanceller(device=profile, hrtf=[sofa]), Beamformer(device=profile)]
    monitor = BinauralMonitor(device=profile, hrtf=sofa)
    for stage in [*stages, monitor]:
        assert stage.device == str(profile) and getattr(stage, "hrtf", str(sofa)) == str(sofa)
    by_text = Spatializer(device=str(profile), hrtf=str(sofa))
    mix = np.random.default_rng(0).standard_normal((2, 4800)).astype(np.float32) * 0.1
    assert np.array_equal(stages[0](mix, 48000), by_text(mix, 48000))
    save_chain(Chain([stages[0], monitor]), tmp_path / "chain.toml")
    again = load_chain(tmp_path / "chain.toml")
    assert chain_to_dict(again) == chain_to_dict(Chain([by_text, BinauralMonitor(device=str(profile), hrtf=str(sofa))]))


def test_a_sofa_set_and_a_device_profile_beside_the_chain_file_are_found_from_any_folder(
    tmp_path: Path, kemar_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``hrtf = "me.sofa"`` and ``device = "desk.toml"`` name files beside the chain file, as a plugin's path
    does; ``~`` is the home folder; saved again into that folder, they stay relative (before: looked up from the
    working folder only, and '~' taken literally)."""
    import shutil

    from soundstage.acoustics.profiles import PROFILE_DIR

    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(kemar_path, folder / "me.sofa")
    shutil.copy(PROFILE_DIR / "studio-5.toml", folder / "desk.toml")
    (tmp_path / "home").mkdir()
    shutil.copy(kemar_path, tmp_path / "home" / "mine.sofa")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (folder / "chain.toml").write_text(
        'format = 1\n[[stages]]\ntype = "Spatializer"\nname = "device"\ndevice = "desk.toml"\nhrtf = "me.sofa"\n'
        '[[stages]]\ntype = "BinauralMonitor"\nname = "monitor"\ndevice = "desk.toml"\nhrtf = "~/mine.sofa"\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    chain = load_chain(folder / "chain.toml")
    assert chain[0].hrtf == str(folder / "me.sofa") and chain[0].device == str(folder / "desk.toml")
    assert chain[1].hrtf == str(tmp_path / "home" / "mine.sofa")
    impulse = np.zeros((2, 4800), np.float32)
    impulse[:, 100] = 1.0
    direct = Chain(
        [Spatializer(device=str(folder / "desk.toml"), hrtf=kemar_path), BinauralMonitor(device="studio-5", hrtf=kemar_path)]
    )
    assert np.array_equal(chain(impulse, 48000), direct(impulse, 48000))
    save_chain(chain, folder / "again.toml")
    text = (folder / "again.toml").read_text()
    assert 'hrtf = "me.sofa"' in text and 'device = "desk.toml"' in text
    assert load_chain(folder / "again.toml")[0].hrtf == str(folder / "me.sofa")


def test_a_presets_file_name_where_there_is_no_such_file_says_to_give_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--chain studio-5.toml`` in a folder without that file: one line pointing at the preset's name (before:
    only "does not exist"); a file of that name in the folder is still the file."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ChainFileError,
        match=r"^chain file 'studio-5\.toml' does not exist here; for the preset of that name, give its name: 'studio-5'$",
    ):
        load_chain("studio-5.toml")
    with pytest.raises(ChainFileError, match=r"chain file 'elsewhere\.toml' does not exist$"):
        load_chain("elsewhere.toml")
    (tmp_path / "studio-5.toml").write_text('format = 1\n[[stages]]\ntype = "Gain"\nname = "mine"\n')
    assert load_chain("studio-5.toml").names == ["mine"]


def test_a_listeners_own_head_makes_a_preset_personal(tmp_path: Path, kemar_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``load_chain(preset, hrtf=...)`` (the CLI's ``--hrtf``): every stage that takes a head gets it, the device's
    design and its binaural preview alike, in nested chains and branches too; the output is the chain built with
    the head given to each stage. A relative path is the working folder's (as typed on a command line), not the
    preset folder's; several files are one population; a head model's name stays a name."""
    import shutil

    shutil.copy(kemar_path, tmp_path / "me.sofa")
    monkeypatch.chdir(tmp_path)
    chain = load_chain("studio-5-binaural", hrtf="me.sofa")
    assert [stage.hrtf for stage in chain] == [str(tmp_path / "me.sofa")] * 2
    impulse = np.zeros((2, 4800), np.float32)
    impulse[:, 100] = 1.0
    direct = Chain([Spatializer(hrtf=kemar_path, distance_m=2.0), BinauralMonitor(device="studio-5", hrtf=kemar_path)])
    assert np.array_equal(chain(impulse, SR), direct(impulse, SR))
    (tmp_path / "nested.toml").write_text(
        textwrap.dedent(
            """
            format = 1
            [[stages]]
            type = "chain"
            [[stages.stages]]
            type = "Virtualizer"
            [[stages]]
            type = "parallel"
            [[stages.branches]]
            [[stages.branches.stages]]
            type = "StereoReference"
            [[stages.branches]]
            [[stages.branches.stages]]
            type = "Gain"
            """
        )
    )
    nested = load_chain(tmp_path / "nested.toml", hrtf=["me.sofa", kemar_path])
    assert nested[0][0].hrtf == (str(tmp_path / "me.sofa"), kemar_path)
    assert nested[1].branches[0][0].hrtf == (str(tmp_path / "me.sofa"), kemar_path)
    assert load_chain(tmp_path / "nested.toml", hrtf="rigid-sphere")[0][0].hrtf == "rigid-sphere"


def test_a_head_for_a_chain_without_a_head_is_refused_in_one_line(kemar_path: str) -> None:
    with pytest.raises(ChainFileError, match=r"mastering.toml: no stage takes a head .* give the head to a chain that has one"):
        load_chain("mastering", hrtf=kemar_path)
