"""A session's [midi] table: a map over every chain of the session, automation applied on the timeline."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest
from pedalboard.io import AudioFile

from bwf import write_stem
from soundstage import Chain, Gain, load_plugin, save_chain
from soundstage.host.automation import GRANULARITY_SAMPLES
from soundstage.host.external import external_parameters
from soundstage.session import SessionError, render_session

SR = 48000


def automation_file(path: Path) -> tuple[float, float]:
    """120 BPM, 90 BPM from beat 4; CC 8 -> 0 at beat 2, CC 7 -> 0 at beat 7. Returns both times in seconds."""
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0))
    track.append(mido.Message("control_change", control=7, value=127, time=0))
    track.append(mido.Message("control_change", control=8, value=127, time=0))
    track.append(mido.Message("control_change", control=8, value=0, time=2 * 480))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90), time=2 * 480))
    track.append(mido.Message("control_change", control=7, value=0, time=3 * 480))
    midi.save(str(path))
    return 2 * 60 / 120, 4 * 60 / 120 + 3 * 60 / 90


@pytest.fixture
def session(tmp_path: Path, stereo_gain_path: Path) -> tuple[Path, float, float]:
    write_stem(tmp_path / "tone.wav", np.full((2, 5 * SR), 0.5, np.float32), SR, bit_depth=32)
    latent = load_plugin(stereo_gain_path)
    external_parameters(latent)["delay_samples"].value = 777  # the plugin after it and the master hear the stem 777 late
    save_chain(Chain([latent, load_plugin(stereo_gain_path)]), tmp_path / "latent.toml")
    save_chain(Chain([Gain()], names=["level"]), tmp_path / "master.toml")
    plugin_step, master_step = automation_file(tmp_path / "automation.mid")
    (tmp_path / "map.toml").write_text(
        '[[bindings]]\ntarget = "master.level.gain_db"\nkind = "cc"\nnumber = 7\nmin = -20.0\nmax = 0.0\n'
        '[[bindings]]\ntarget = "stems.tone.1.gain_db"\nkind = "cc"\nnumber = 8\nmin = -6.0\nmax = 0.0\n'
    )
    (tmp_path / "session.toml").write_text(
        '[[stems]]\npath = "tone.wav"\nchain = "latent.toml"\n[master]\nchain = "master.toml"\n'
        '[midi]\nmap = "map.toml"\nautomation = "automation.mid"\n'
        '[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 32\n'
    )
    return tmp_path / "session.toml", plugin_step, master_step


def test_automation_lands_on_the_timeline(session: tuple[Path, float, float], tmp_path: Path) -> None:
    path, plugin_step, master_step = session
    result = render_session(path, tmp_path / "out", block=10000)
    with AudioFile(str(tmp_path / "out" / "mix.wav")) as reader:
        mix = reader.read(reader.frames)[0]
    # the stem's second VST3 (after a 777-sample one) drops 6 dB at beat 2, within the pedalboard granularity ...
    first = int(np.argmax(mix < 0.5 * 0.999))
    assert abs(first - plugin_step * SR) <= GRANULARITY_SAMPLES
    assert mix[first + 100] == pytest.approx(0.5 * 10 ** (-6 / 20), rel=1e-4)
    # ... and the master's soundstage gain ramps from -0 dB to -20 dB starting at beat 7 (+-1 ms), after a 777-sample chain
    second = int(np.argmax(mix < 0.5 * 10 ** (-6 / 20) * 0.999))
    assert abs(second / SR - master_step) <= 0.001
    assert mix[-1] == pytest.approx(0.5 * 10 ** (-26 / 20), rel=1e-4)
    assert result.report["automation"]["parameter_changes"] == 4


def test_automation_is_block_size_invariant(session: tuple[Path, float, float], tmp_path: Path) -> None:
    path, _, _ = session
    mixes = []
    for block in (4096, 65536):
        render_session(path, tmp_path / f"out{block}", block=block)
        with AudioFile(str(tmp_path / f"out{block}" / "mix.wav")) as reader:
            mixes.append(reader.read(reader.frames))
    assert np.abs(mixes[0] - mixes[1]).max() <= 1e-6


def test_a_map_naming_no_parameter_of_the_session_is_refused(session: tuple[Path, float, float], tmp_path: Path) -> None:
    path, _, _ = session
    (tmp_path / "map.toml").write_text('[[bindings]]\ntarget = "master.levle.gain_db"\nkind = "cc"\nnumber = 7\n')
    with pytest.raises(SessionError, match=r"session.toml: midi: .*map.toml: bindings\[0\]\.target: .*'master.level.gain_db'"):
        render_session(path, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    (tmp_path / "session.toml").write_text('[[stems]]\npath = "tone.wav"\n[midi]\nmap = "map.toml"\n')
    with pytest.raises(SessionError, match=r"midi.automation: automation is required"):
        render_session(path, tmp_path / "out")


@pytest.mark.parametrize(
    ("filters", "error"),
    [
        ("tracks = [1]", r"midi: tracks: MIDI file '.*automation\.mid' has 1 track\(s\), numbered 0\.\.0 from the first; it has no track 1"),
        ("channels = [2]", r"midi: channels: MIDI file '.*automation\.mid' has no message on channel\(s\) 2 \(its messages are on "
                           r"channel\(s\) 1\); give the channels the controllers were recorded on"),
    ],
)  # fmt: skip
def test_a_filter_that_takes_no_automation_is_refused_and_leaves_no_folder(
    session: tuple[Path, float, float], tmp_path: Path, filters: str, error: str
) -> None:
    """A track the file does not have (counted from 0; a DAW counts from 1) or a channel none of its messages is on
    took no automation at all, and the mix rendered unautomated ("0 parameter change(s)"). The output folder the
    render made was left behind, empty."""
    path, _, _ = session
    path.write_text(path.read_text().replace('automation = "automation.mid"\n', f'automation = "automation.mid"\n{filters}\n'))
    with pytest.raises(SessionError, match=error):
        render_session(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_filters_that_take_automation_are_honored(session: tuple[Path, float, float], tmp_path: Path) -> None:
    path, _, _ = session
    path.write_text(
        path.read_text().replace(
            'automation = "automation.mid"\n', 'automation = "automation.mid"\ntracks = [0]\nchannels = [1, 2]\n'
        )
    )
    assert render_session(path, tmp_path / "out").report["automation"]["parameter_changes"] == 4


@pytest.mark.filterwarnings("ignore:.*the same control as another binding")  # one control moves two renders' levels
def test_a_render_left_out_by_only_has_its_automation_left_out_of_the_count(
    session: tuple[Path, float, float], tmp_path: Path
) -> None:
    """The report's count of parameter changes is of the chains that ran: a render not selected by --only runs no
    chain, and its automation moves nothing."""
    path, _, _ = session
    with (tmp_path / "map.toml").open("a") as map_file:
        map_file.write('[[bindings]]\ntarget = "renders.quiet.level.gain_db"\nkind = "cc"\nnumber = 8\nmin = -6.0\nmax = 0.0\n')
        map_file.write('[[bindings]]\ntarget = "renders.ab.b.level.gain_db"\nkind = "cc"\nnumber = 7\nmin = -6.0\nmax = 0.0\n')
    with path.open("a") as session_file:
        session_file.write('[[renders]]\nname = "quiet"\nkind = "reference"\nchain = "master.toml"\n')
        session_file.write('[[renders]]\nname = "ab"\nkind = "ab"\na = "master.toml"\nb = "master.toml"\n')
    assert render_session(path, tmp_path / "all").report["automation"]["parameter_changes"] == 8
    for only, changes in ((["mix"], 4), (["mix", "quiet"], 6), (["ab"], 6)):
        result = render_session(path, tmp_path / "-".join(only), only=only)
        assert result.report["automation"]["parameter_changes"] == changes, only
