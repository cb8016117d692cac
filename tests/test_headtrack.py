"""Head tracking: OSC over a real UDP socket moves the listener parameters; a recorded track is automation."""

from __future__ import annotations

import math
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st
from pythonosc.osc_message_builder import OscMessageBuilder

from soundstage import Chain, CrosstalkCanceller, Spatializer
from soundstage.headtrack import HeadTracker, HeadTrackError, pose_from_osc, pose_targets, read_head_track
from soundstage.stages.monitors import BinauralMonitor

SR = 48000.0


def _osc(address: str, *values: float) -> bytes:
    builder = OscMessageBuilder(address=address)
    for value in values:
        builder.add_arg(value)
    return builder.build().dgram


def test_the_message_forms_head_trackers_send() -> None:
    assert pose_from_osc("/SceneRotator/ypr", [12.5, 3.0, -1.0]) == {"yaw_deg": 12.5}
    assert pose_from_osc("/yaw", [-20]) == {"yaw_deg": -20.0}
    half = math.radians(30.0) / 2  # a turn of 30 deg about +z
    quaternion = pose_from_osc("/SceneRotator/quaternions", [math.cos(half), 0.0, 0.0, math.sin(half)])
    assert quaternion is not None and abs(quaternion["yaw_deg"] - 30.0) < 1e-9
    assert pose_from_osc("/tracker/xyz", [0.1, -0.05, 0.0]) == {"x_m": 0.1, "y_m": -0.05}
    assert pose_from_osc("/ypr", [1.0]) is None and pose_from_osc("/yaw", ["left"]) is None
    assert pose_from_osc("/yaw", [float("nan")]) is None and pose_from_osc("/quat", [0, 0, 0, 0]) is None
    assert pose_from_osc("/volume", [0.5]) == {}


def test_a_tracker_on_a_real_socket_moves_the_design_and_the_output() -> None:
    """Another process sends yaw over UDP on the loopback; the canceller's yaw follows and its output changes."""
    chain = Chain([CrosstalkCanceller(device="studio-5"), BinauralMonitor()])
    assert set(pose_targets(chain.parameters).values()) == {"yaw_deg", "x_m", "y_m"}
    tracker = HeadTracker(chain.parameters, 0).start()
    try:
        port = tracker.address[1]
        audio = (0.1 * np.random.default_rng(0).standard_normal((2, 9600))).astype(np.float32)
        before = chain(audio, SR)
        sender = (
            "import socket, sys; from pythonosc.udp_client import SimpleUDPClient; "
            f"c = SimpleUDPClient('127.0.0.1', {port}); c.send_message('/SceneRotator/ypr', [10.0, 0.0, 0.0]); "
            f"socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'not osc at all', ('127.0.0.1', {port})); "
            "c.send_message('/SceneRotator/ypr', [25.0, 1.0, 2.0])"
        )
        subprocess.run([sys.executable, "-c", sender], check=True, timeout=60)
        deadline = time.monotonic() + 10
        while tracker.received < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        applied = tracker.apply_pending()
    finally:
        tracker.stop()
    assert tracker.received == 3 and tracker.malformed == 1  # counted, never raised
    assert applied == {"crosstalk_canceller.listener_yaw_deg": 25.0, "binaural_monitor.listener_yaw_deg": 25.0}  # last wins
    assert chain[0].listener_yaw_deg == 25.0 and chain[1].listener_yaw_deg == 25.0
    after = chain(audio, SR)
    change_db = 10 * np.log10(np.sum((after - before) ** 2) / np.sum(before**2))
    print(f"yaw 0 -> 25 deg: the preview changes by {change_db:.1f} dB (error energy re signal)")
    assert change_db > -20.0


def test_a_tracker_clamps_to_the_parameter_range_and_turns_the_sign() -> None:
    chain = Chain([Spatializer()])
    tracker = HeadTracker(chain.parameters, 0, yaw_sign=-1.0)
    try:
        tracker.feed(_osc("/yaw", 30.0))
        tracker.feed(_osc("/position", 2.0, -0.25))  # OSC floats are 32-bit: values exact in them
        applied = tracker.apply_pending()
    finally:
        tracker.stop()
    assert applied == {"spatializer.listener_x_m": 0.5, "spatializer.listener_y_m": -0.25, "spatializer.listener_yaw_deg": -30.0}


def test_a_chain_without_listener_parameters_is_refused() -> None:
    with pytest.raises(HeadTrackError, match="no listener parameters"):
        HeadTracker(Chain([]).parameters, 0)


def test_a_recorded_track_is_automation(tmp_path: Path) -> None:
    """soundstage process --head-track: the output is the same until the first move, different after it."""
    mix = (0.1 * np.random.default_rng(1).standard_normal((3 * int(SR), 2))).astype(np.float32)
    soundfile.write(tmp_path / "mix.wav", mix, int(SR), subtype="FLOAT")
    (tmp_path / "track.csv").write_text("time_s,yaw_deg,y_m\n0,0,0\n1.5,20,0.05\n2.0,25,0.05\n")
    plain = [sys.executable, "-m", "soundstage.cli", "process", str(tmp_path / "mix.wav")]
    chain = ["--chain", "studio-5-binaural"]
    subprocess.run([*plain, str(tmp_path / "plain.wav"), *chain], check=True, capture_output=True, timeout=300)
    result = subprocess.run(
        [*plain, str(tmp_path / "tracked.wav"), *chain, "--head-track", str(tmp_path / "track.csv")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "head track: 12 listener parameter change(s)" in result.stdout  # 3 rows x (2 yaw, listener_y_m, offset)
    a, _ = soundfile.read(tmp_path / "plain.wav", dtype="float32")
    b, _ = soundfile.read(tmp_path / "tracked.wav", dtype="float32")
    move = int(1.5 * SR)
    before = np.abs(a[: move - 12000] - b[: move - 12000]).max()  # less the chain's look-ahead and crossfade
    after_db = 10 * np.log10(np.sum((a[move + 4800 :] - b[move + 4800 :]) ** 2) / np.sum(a[move + 4800 :] ** 2))
    print(f"head track: before the move at most {before:.1e} apart; after it {after_db:.1f} dB of difference")
    assert before <= 1e-5 and after_db > -20.0


def test_a_track_written_with_spaces_after_the_commas_reads_the_same(tmp_path: Path) -> None:
    """Spreadsheets and hand-written CSV put a space after each comma, in the header too: the same events."""
    parameters = Chain([Spatializer()]).parameters
    tight, spaced = tmp_path / "tight.csv", tmp_path / "spaced.csv"
    tight.write_text("time_s,yaw_deg,y_m\n0,0,0\n0.5,12.5,0.04\n")
    spaced.write_text("time_s, yaw_deg , y_m\n0, 0, 0\n0.5, 12.5 ,0.04\n")
    expected = read_head_track(tight, parameters, SR)
    assert read_head_track(spaced, parameters, SR) == expected
    assert [(e.sample, e.value) for e in expected if e.target.endswith("listener_yaw_deg")] == [(0, 0.0), (int(0.5 * SR), 12.5)]


@pytest.mark.parametrize(
    "text",
    [
        "time_s;yaw_deg;y_m\n0;0;0\n0,5;12,5;0,04\n",  # a spreadsheet's export where the decimal mark is a comma
        "time_s\tyaw_deg\ty_m\n0\t0\t0\n0.5\t12.5\t0.04\n",  # tab-separated
        '\ufeff"time_s","yaw_deg","y_m"\r\n0,0,0\r\n0.5,12.5,0.04\r\n',  # Excel's "CSV UTF-8": BOM, quotes, CRLF
        "Time_s,Yaw_deg,Y_m\n0,0,0\n0.5,12.5,0.04\n",  # capitalized names (before: refused, "needs a header")
        "time_s,yaw_deg,y_m\n0,0,0\n\n0.5,12.5,0.04\n,,\n , ,\n",  # blank and empty rows (before: ",," was refused)
        "time_ms,yaw_deg,y_m\n0,0,0\n500,12.5,0.04\n",  # a tracker's milliseconds (before: refused, "needs a header")
        "time_ms;yaw_deg;y_m\n0;0;0\n500;12,5;0,04\n",
    ],
)
def test_a_track_exported_by_other_programs_reads_the_same(tmp_path: Path, text: str) -> None:
    parameters = Chain([Spatializer()]).parameters
    tight, other = tmp_path / "tight.csv", tmp_path / "other.csv"
    tight.write_text("time_s,yaw_deg,y_m\n0,0,0\n0.5,12.5,0.04\n")
    other.write_bytes(text.encode("utf-8"))
    assert read_head_track(other, parameters, SR) == read_head_track(tight, parameters, SR)


def test_what_a_track_gives_and_nothing_uses_is_said(tmp_path: Path) -> None:
    """A head tracker's export has pitch and roll beside yaw, and may turn further than the chain's range: the
    columns nothing reads, and the values held at the range's limit, are each said in one warning (before: silence)."""
    parameters = Chain([Spatializer()]).parameters
    path, plain = tmp_path / "tracker.csv", tmp_path / "plain.csv"
    path.write_text("time_s,yaw_deg,pitch_deg,roll_deg\n0,0,4,1\n0.5,100,2,1\n1,-135,0,0\n1.5,20,0,0\n")
    plain.write_text("time_s,yaw_deg\n0,0\n0.5,90\n1,-90\n1.5,20\n")
    with pytest.warns(UserWarning) as caught:
        events = read_head_track(path, parameters, SR)
    assert [str(w.message) for w in caught] == [
        f"{path}: column(s) pitch_deg, roll_deg not used: a head track moves the listener by time_s, yaw_deg, x_m and "
        "y_m (the designs keep the head level)",
        f"{path}: yaw_deg beyond the chain's -90..90 deg on 2 line(s) (first: line 3); held at the limit",
    ]
    assert events == read_head_track(plain, parameters, SR)  # the values held at +-90 deg; no warning for this one
    timed = tmp_path / "timed.csv"  # a tracker's milliseconds: the warning names the clock the file uses
    timed.write_text("time_ms,yaw_deg,pitch_deg\n0,0,4\n500,10,2\n")
    with pytest.warns(UserWarning, match=r"not used: a head track moves the listener by time_ms, yaw_deg, x_m and y_m"):
        read_head_track(timed, parameters, SR)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,yaw\n0,1\n", r"needs a header with time_s \(or time_ms\) and yaw_deg"),
        ("time_ms,yaw_deg\n1000,1\n500,2\n", r"line 3: time_ms = 500 goes back in time"),
        ("time_ms,yaw_deg\n0,1\n1e305,2\n", r"line 3: time_ms = 1e\+305 is past the end of any session; times are milliseconds"),
        ("time_s,yaw_deg\n0,1\n1e305,2\n", r"line 3: time_s = 1e\+305 is past the end of any session"),
        ("time_s;yaw_deg\n0;1\n1.234,5;2\n", r"line 3: time_s = '1.234,5' is not a number"),
        ("time_s,yaw_deg\n0,1\n0.5,left\n", r"line 3: yaw_deg = 'left' is not a number"),
        ("time_s,yaw_deg\n1,1\n0.5,2\n", r"line 3: time_s = 0.5 goes back in time"),
        ("time_s,yaw_deg\n0,nan\n", r"line 2: yaw_deg = 'nan' is not a number"),
        ("time_s,yaw_deg\n\n0,1\n\n1,x\n", r"line 5: yaw_deg = 'x' is not a number"),  # before: "line 3"
        ("time_s,yaw_deg\n0,1\n1,\n", r"line 3: yaw_deg = '' is not a number"),  # one cell empty: not a row to skip
    ],
)
def test_a_bad_track_gets_one_line_naming_file_line_and_value(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "track.csv"
    path.write_text(text)
    with pytest.raises(HeadTrackError, match=message) as caught:
        read_head_track(path, Chain([Spatializer()]).parameters, SR)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_as_a_track_is_read_or_refused_cleanly(text: str) -> None:
    parameters = Chain([Spatializer()]).parameters
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as handle:
        handle.write(text)
    try:
        events = read_head_track(handle.name, parameters, SR)
        assert all(e.sample >= 0 for e in events)
    except HeadTrackError as error:
        assert "\n" not in str(error)
    finally:
        Path(handle.name).unlink()


@pytest.mark.filterwarnings("ignore:.*held at the limit")  # any numbers: most yaws are beyond the range
@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(allow_nan=False), st.floats()), max_size=6), st.sampled_from([",", ";", "\t"]))
def test_any_numbers_in_a_track_are_read_or_refused_cleanly(rows: list[tuple[float, float]], separator: str) -> None:
    """Times and yaws of any size and sign, in any of the separators: events inside the ranges, or one line."""
    import tempfile

    parameters = Chain([Spatializer()]).parameters
    text = separator.join(["time_s", "yaw_deg"]) + "\n" + "".join(f"{t!r}{separator}{y!r}\n" for t, y in rows)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as handle:
        handle.write(text)
    try:
        events = read_head_track(handle.name, parameters, SR)
        assert len(events) == len(rows) and all(e.sample >= 0 for e in events)
        spec = parameters[events[0].target].spec if events else None
        assert spec is None or all(float(spec.minimum) <= e.value <= float(spec.maximum) for e in events)
    except HeadTrackError as error:
        assert "\n" not in str(error) and handle.name in str(error)
    finally:
        Path(handle.name).unlink()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_packet_is_taken_or_counted(data: bytes) -> None:
    tracker = HeadTracker(Chain([Spatializer()]).parameters, 0)
    try:
        tracker.feed(data)
        tracker.feed(_osc("/yaw", 5.0))
        assert tracker.apply_pending()["spatializer.listener_yaw_deg"] == 5.0
    finally:
        tracker.stop()


@pytest.mark.realtime  # the new yaw's designs must be made while the 6 s play: alone, not beside another test's load
def test_soundstage_live_follows_a_head_tracker() -> None:
    """The command: a head tracker alone (no MIDI) moves the chain live; bad packets are counted in the summary."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "soundstage.cli",
            "live",
            "--chain",
            "studio-5-binaural",
            "--head-tracker",
            "udp:0",
            "--seconds",
            "6",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = ""
        while "head tracker on udp" not in line:
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else "the command ended"
        port = int(line.split("udp ")[1].split(" ")[0].rsplit(":", 1)[1])
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        time.sleep(0.5)
        for yaw in (5.0, 10.0, 15.0):
            sender.sendto(_osc("/SceneRotator/ypr", yaw, 0.0, 0.0), ("127.0.0.1", port))
            time.sleep(0.2)
        sender.sendto(b"\x00garbage", ("127.0.0.1", port))
        sender.close()
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "device.listener_yaw_deg = 15" in out and "monitor.listener_yaw_deg = 15" in out
    assert "4 head-tracker packet(s), 1 malformed, 0 ignored" in out


def _live(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "soundstage.cli", "live", "--chain", "studio-5-binaural", "--head-tracker", "udp:0"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=300)


def test_live_plays_a_file_at_the_rate_and_for_the_seconds_asked(tmp_path: Path) -> None:
    """``live --input`` honours ``--sample-rate`` (the file is resampled, not re-clocked) and ``--seconds``
    (the first seconds of the file), and refuses ``--signal`` beside a file. These were ignored in silence:
    the take came out at the file's rate and length."""
    t = np.arange(int(2 * SR)) / SR
    soundfile.write(tmp_path / "tone.wav", np.stack([0.25 * np.sin(2 * np.pi * 1000.0 * t)] * 2).T, int(SR))
    done = _live("--input", str(tmp_path / "tone.wav"), "--sample-rate", "44100", "--seconds", "0.5",
                 "--record", str(tmp_path / "take.wav"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    take, rate = soundfile.read(tmp_path / "take.wav")
    assert (rate, take.shape) == (44100, (22050, 2))
    spectrum = np.abs(np.fft.rfft(take[4410:, 0] * np.hanning(take.shape[0] - 4410)))
    peak_hz = np.argmax(spectrum) * rate / (take.shape[0] - 4410)
    assert peak_hz == pytest.approx(1000.0, abs=5.0)  # played at 44.1 kHz without resampling it would be 919 Hz
    refused = _live("--input", str(tmp_path / "tone.wav"), "--signal", "sine")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"soundstage: error: --signal sine generates a signal, --input plays '{tmp_path / 'tone.wav'}': give one of them"
    ]


@pytest.mark.parametrize(("signum", "said"), [("SIGINT", "Ctrl-C"), ("SIGTERM", "SIGTERM"), ("SIGHUP", "SIGHUP")])
def test_ctrl_c_stops_live_and_keeps_the_take(tmp_path: Path, signum: str, said: str) -> None:
    """Ctrl-C is how a live run is stopped (a DAW's stop): it discarded the whole --record take ("interrupted; no
    output was written"). The first Ctrl-C now ends the run after the block it is in, and the take so far is kept,
    as long as the summary says was played. So do a kill's SIGTERM and a closed terminal's SIGHUP, which discarded
    the take ("terminated by SIGTERM; no output was written") until this stop."""
    import signal

    process = subprocess.Popen(
        [sys.executable, "-m", "soundstage.cli", "live", "--chain", "studio-5-binaural", "--head-tracker", "udp:0",
         "--seconds", "60", "--record", str(tmp_path / "take.wav")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        while "head tracker on udp" not in (line := process.stdout.readline()):
            assert line, process.stderr.read() if process.stderr else "the command ended"
        time.sleep(6.0)  # the design, then some seconds of audio
        process.send_signal(getattr(signal, signum))
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    done = next(line for line in out.splitlines() if line.startswith("done:"))
    assert f"stopped by {said}, the take so far kept" in done
    played = float(done.split("done: ")[1].split(" s of audio")[0])
    take, rate = soundfile.read(tmp_path / "take.wav")
    assert 0.5 <= played <= 30.0 and take.shape[0] / rate == pytest.approx(played, abs=0.051)
    assert [p.name for p in tmp_path.iterdir()] == ["take.wav"]  # no temporary left


def test_a_session_applies_its_head_track_to_every_listener(tmp_path: Path) -> None:
    from soundstage.session import render_session
    from soundstage.session.model import SessionError

    mix = (0.1 * np.random.default_rng(2).standard_normal((2 * int(SR), 2))).astype(np.float32)
    soundfile.write(tmp_path / "mix.wav", mix, int(SR), subtype="FLOAT")
    (tmp_path / "head.csv").write_text("time_s,yaw_deg\n0.5,15\n")
    session = 'format = 1\nhead_track = "head.csv"\n[[stems]]\npath = "mix.wav"\n'
    session += '[[renders]]\nname = "preview"\nkind = "binaural"\nbit_depth = 32\n'
    (tmp_path / "session.toml").write_text(session)
    report = render_session(tmp_path / "session.toml", tmp_path / "out").report
    assert report["automation"]["head_track"] == "head.csv"
    assert report["automation"]["parameter_changes"] == 2  # the device's design and the monitor's head
    (tmp_path / "head.csv").write_text("time_s,yaw_deg\n0.5,x\n")
    with pytest.raises(SessionError, match=r"session\.toml: head_track: .*head\.csv: line 2: yaw_deg = 'x' is not a number"):
        render_session(tmp_path / "session.toml", tmp_path / "out2")


def test_an_audio_file_given_as_the_track_is_named_as_not_text(tmp_path: Path) -> None:
    """A WAV (written by soundfile) passed for --head-track: one line saying what it is and what a head track is; bytes
    of no kind soundstage knows: where they are not text."""
    wav = tmp_path / "take.wav"
    soundfile.write(wav, np.full((4800, 2), 0.25, np.float32), int(SR), subtype="PCM_24")
    with pytest.raises(HeadTrackError, match=r"take\.wav: a WAV file, not a head track; a head track is a CSV"):
        read_head_track(wav, Chain([Spatializer()]).parameters, SR)
    data = tmp_path / "data.csv"
    data.write_bytes(b"time_s,yaw_deg\n0,\xb1\x02\n")
    with pytest.raises(HeadTrackError, match=r"data\.csv: not a text file \(byte 0xb1 at 17\); a head track is a CSV"):
        read_head_track(data, Chain([Spatializer()]).parameters, SR)
