"""A real DAW for the tests: Ardour 7, headless (Debian's ``ardour``).

Ardour hosts VST3 and LV2 plugins with its own code (not JUCE's, which pedalboard
uses, nor lilv's alone), compensates the latency a plugin reports, saves a plugin's
knobs and state in its session file, and renders a session with ``ardour7-export``.
:func:`render` makes a session as a user would: one track (mono or stereo) holding
a file's audio, the exported plugin inserted on it with knobs moved and automated
in the DAW, saved to disk; then renders the master bus to a float WAV, loading the
session from disk (so the knobs reach the render through the saved session, as
they do when a session is reopened).

``ardour7-lua`` (Ardour's Lua session tool) makes the session, track and plugin
and moves and automates the knobs by the names the DAW shows. It cannot import
audio without Ardour's editor, so :func:`render` writes the track's region into
the session file: a mono float WAV per channel in the session's audio folder, a
region of them with fades and envelope off, the track's outputs connected to the
master bus, and the session range over the audio. A track with no plugin renders bit for bit what
it holds (``tests/test_daw.py``), so whatever differs is the plugin's.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile

ARDOUR_LUA = "ardour7-lua"
ARDOUR_EXPORT = "ardour7-export"
#: Ardour's VST3 scanner: it indexes a bundle into the cache that Ardour (and ardour7-lua) load plugins from.
VST3_SCANNER = Path("/usr/lib/ardour7/ardour-vst3-scanner")
SESSION = "render"
TRACK = "mix"


def ardour_or_skip() -> None:
    """Skip without Debian's Ardour (fail in CI, whose .ci/run installs it)."""
    missing = [tool for tool in (ARDOUR_LUA, ARDOUR_EXPORT) if shutil.which(tool) is None]
    if not VST3_SCANNER.exists():
        missing.append(str(VST3_SCANNER))
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Ardour missing in CI ({', '.join(missing)}): .ci/run must install it")
        pytest.skip(f"needs Ardour 7 ({', '.join(missing)}; Debian: apt-get install ardour)")


@dataclass
class Insert:
    """An exported plugin on the track: its bundle (``.vst3`` or ``.lv2``), the name it shows, and knobs moved in the
    DAW by the names it shows there (``"device: width"``)."""

    bundle: Path
    name: str
    knobs: dict[str, float] = field(default_factory=dict)
    #: Knobs automated in the DAW (in play): by the name it shows, the steps as (sample on the timeline, value).
    automation: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.bundle.suffix.lstrip(".")


def _environment(home: Path) -> dict[str, str]:
    """Ardour's configuration, caches and plugin folders under ``home``, away from the user's own."""
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
        "VST3_PATH": str(home / "vst3"),
        "LV2_PATH": str(home / "lv2"),
    }


#: The most times :func:`_run` makes a render that Ardour's exporter crashed or hung in.
EXPORT_ATTEMPTS = 4
#: How long one run of Ardour's exporter may take before it is taken for hung (a render here takes 3-30 s; a hang
#: costs this much of the suite before the run is made again).
EXPORT_SECONDS = 90


def _run(command: list[str], env: dict[str, str], cwd: Path, *, retry_crash: Path | None = None) -> str:
    """``command``'s output; it must succeed. With ``retry_crash`` (the file it writes), a run killed by a signal
    (SIGABRT, SIGSEGV) is made again, up to :data:`EXPORT_ATTEMPTS` times, its output removed first: Debian's Ardour
    7.3 ``ardour7-export`` corrupts its heap now and then and dies as it tears its export graph down, after the
    audio ("double free or corruption", "free(): invalid next size", a segmentation fault; the backtraces end in
    ``ARDOUR::ExportGraphBuilder::reset``, ``AudioGrapher::Interleaver``'s release or ``~PortExportChannel``). It
    does so with no plugin at all: here 6 of 41 runs of a mono track with no plugin, 3 of 42 of it through the
    exported VST3, one after another (a 3 s export ends within its first progress line, so whether it died before
    or after the audio cannot be told from its output). It has also hung once, an LV2 render never ending in 600 s
    with two test suites on the machine: a run past :data:`EXPORT_SECONDS` is ended and made again too. A render that
    is wrong for any other reason is not retried, and the tests compare what it wrote to the chain."""
    for attempt in range(1, EXPORT_ATTEMPTS + 1):
        if retry_crash is not None:
            retry_crash.unlink(missing_ok=True)
        try:
            result = subprocess.run(
                command, env=env, cwd=cwd, capture_output=True, text=True, timeout=EXPORT_SECONDS if retry_crash else 600
            )
        except subprocess.TimeoutExpired:
            if retry_crash is None or attempt == EXPORT_ATTEMPTS:
                raise
            print(f"{command[0]} did not end within {EXPORT_SECONDS} s; running it again")
            continue
        output = result.stdout + result.stderr
        if retry_crash is None or result.returncode >= 0 or attempt == EXPORT_ATTEMPTS:
            break
        last = output.strip().splitlines()[-1] if output.strip() else ""
        print(f"{command[0]} died by {signal.Signals(-result.returncode).name} ({last}); running it again")
    assert result.returncode == 0, f"{command[0]} failed (exit {result.returncode}):\n{output[-3000:]}"
    return output


def _install(insert: Insert, home: Path, env: dict[str, str]) -> None:
    """The bundle where Ardour looks for its format; a VST3 indexed by Ardour's scanner, as Ardour does at start."""
    folder = home / insert.kind
    folder.mkdir(parents=True, exist_ok=True)
    placed = folder / insert.bundle.name
    if not placed.exists():
        placed.symlink_to(insert.bundle.resolve(), target_is_directory=True)
    if insert.kind == "vst3":
        # Ardour takes an index for its plugin only when the index's time is a whole second past the plugin's binary
        # (st_mtime < the index's, in seconds): scanned within the second it was built in (an export from the compiler
        # cache ends within a second), the plugin is "not found". A user must let that second pass (README).
        built = max(path.stat().st_mtime for path in (placed / "Contents").rglob("*") if path.is_file())
        time.sleep(max(0.0, math.floor(built) + 1.0 - time.time()))
        scanner_env = {**env, "LD_LIBRARY_PATH": str(VST3_SCANNER.parent)}
        _run([str(VST3_SCANNER), "-f", "-q", str(placed)], scanner_env, home)


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def _session_script(folder: Path, rate: int, insert: Insert | None, channels: int) -> str:
    """ardour7-lua: a session with one track of ``channels`` (its outputs stereo), ``insert`` on it with its knobs
    moved and automated, saved."""
    lines = [
        'AudioEngine:set_backend("None (Dummy)", "", "")',
        f"local session = create_session({_lua_string(str(folder))}, {_lua_string(SESSION)}, {rate})",
        "assert(session, 'no session')",
        f"local track = session:new_audio_track({channels}, 2, nil, 1, {_lua_string(TRACK)}, "
        "ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true):front()",
    ]
    if insert is not None:
        kind = {"vst3": "VST3", "lv2": "LV2"}[insert.kind]
        lines += [
            # automation on the timeline in samples (audio time), not in beats
            f"local plugin = ARDOUR.LuaAPI.new_plugin_with_time_domain(session, {_lua_string(insert.name)}, "
            f"ARDOUR.PluginType.{kind}, Temporal.TimeDomain.AudioTime, '')",
            "assert(not plugin:isnil(), 'Ardour did not find the plugin')",
            "track:add_processor_by_index(plugin, 0, nil, true)",
            "local plug = plugin:to_insert():plugin(0)",
            "local function knob(label)",  # by the name the DAW shows, as a user finds it: its number and port
            "  for which = 0, 100000 do",
            "    local id, refs = plug:nth_parameter(which, true)",
            "    if not refs[2] then break end",
            "    local _, d = plug:get_parameter_descriptor(id, ARDOUR.ParameterDescriptor())",
            "    if plug:parameter_is_input(id) and d[2].label == label then return which, id end",
            "  end",
            "  error('the plugin shows no knob ' .. label)",
            "end",
            "local function set_knob(label, value)",
            "  assert(ARDOUR.LuaAPI.set_processor_param(plugin, knob(label), value), 'cannot set ' .. label)",
            "end",
            "local function automate(label, points)",  # steps (discrete), played back
            "  local which, id = knob(label)",
            "  local _, list = ARDOUR.LuaAPI.plugin_automation(plugin, which)",
            "  list:set_interpolation(Evoral.InterpolationStyle.Discrete)",
            "  for _, point in ipairs(points) do list:add(Temporal.timepos_t(point[1]), point[2], false, false) end",
            "  local parameter = Evoral.Parameter(ARDOUR.AutomationType.PluginAutomation, 0, id)",
            "  plugin:to_insert():to_automatable():automation_control(parameter, false)"
            ":set_automation_state(ARDOUR.AutoState.Play)",
            "end",
            *(f"set_knob({_lua_string(label)}, {value!r})" for label, value in insert.knobs.items()),
            *(
                f"automate({_lua_string(label)}, {{{', '.join(f'{{{at}, {value!r}}}' for at, value in points)}}})"
                for label, points in insert.automation.items()
            ),
        ]
    # the engine runs some cycles first: a VST3 takes a knob the host moved at its next process call, and its saved
    # state holds what it has taken (a user who moves a knob and saves leaves it that long and more)
    lines += ["ARDOUR.LuaAPI.usleep(500000)", 'session:save_state("")', "close_session()", "quit()"]
    return "\n".join(lines) + "\n"


def _add_audio(folder: Path, audio: np.ndarray, rate: int) -> None:
    """The track's region (``audio``, frames x channels) written into the saved session, as an import would leave it."""
    sources = folder / "interchange" / folder.name / "audiofiles"
    sources.mkdir(parents=True, exist_ok=True)
    path = folder / f"{SESSION}.ardour"
    tree = ET.parse(path)
    top = tree.getroot()
    source_ids = []
    for channel in range(audio.shape[1]):
        name = f"{TRACK}-{channel}.wav"
        soundfile.write(sources / name, audio[:, channel], rate, subtype="FLOAT")
        source_ids.append(str(900001 + channel))
        attributes = {"name": name, "type": "audio", "flags": "", "id": source_ids[-1], "channel": "0", "origin": ""}
        ET.SubElement(top.find("Sources"), "Source", attributes)  # type: ignore[arg-type]
    playlists = [p for p in top.iter("Playlist") if p.get("name") == TRACK]
    assert len(playlists) == 1, "the track's playlist is not in the session"
    frames = str(len(audio))
    region = {"name": TRACK, "position": "0", "length": frames, "start": "0", "id": "900010", "type": "audio"}
    region |= {"muted": "0", "opaque": "1", "layer": "0", "channels": str(audio.shape[1]), "scale-amplitude": "1"}
    region |= {
        key: "0" for key in ("envelope-active", "default-fade-in", "default-fade-out", "fade-in-active", "fade-out-active")
    }
    region |= {f"{kind}source-{n}": source for n, source in enumerate(source_ids) for kind in ("", "master-")}
    ET.SubElement(playlists[0], "Region", region)
    ET.SubElement(
        top.find("Locations"),  # type: ignore[arg-type]
        "Location",
        {"id": "900020", "name": "session", "start": "0", "end": frames, "flags": "IsSessionRange", "locked": "0"},
    )
    for port in top.iter("Port"):  # the track into the master bus
        name = port.get("name", "")
        if name.startswith(f"{TRACK}/audio_out "):
            ET.SubElement(port, "Connection", {"other": f"Master/audio_in {name.rsplit(' ', 1)[1]}"})
    tree.write(path, encoding="UTF-8", xml_declaration=True)


def render(work: Path, audio: np.ndarray, rate: int, insert: Insert | None = None) -> np.ndarray:
    """What Ardour's export of the master bus gives (frames x 2, float32) for a track holding ``audio`` (frames x
    channels: a mono or a stereo track) through ``insert``, the session made and rendered in ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    env = _environment(home)
    if insert is not None:
        _install(insert, home, env)
    folder = work / SESSION
    script = work / "session.lua"
    audio = np.asarray(audio, np.float32).reshape(len(audio), -1)
    script.write_text(_session_script(folder, rate, insert, audio.shape[1]), encoding="utf-8")
    output = _run([ARDOUR_LUA, str(script)], env, work)
    assert f"Error: {script}" not in output, f"the session script failed:\n{output[-3000:]}"
    _add_audio(folder, audio, rate)
    out = work / "export.wav"
    _run([ARDOUR_EXPORT, "-b", "float", "-o", str(out), str(folder), SESSION], env, work, retry_crash=out)
    rendered, got_rate = soundfile.read(out, dtype="float32", always_2d=True)
    assert got_rate == rate
    return np.asarray(rendered)


def new_session(work: Path, rate: int = 48000) -> Path:
    """A session as Ardour itself writes it (one stereo track, saved): its ``.ardour`` file, in its folder."""
    ardour_or_skip()
    work.mkdir(parents=True, exist_ok=True)
    env = _environment(work / "home")
    script = work / "session.lua"
    script.write_text(_session_script(work / SESSION, rate, None, 2), encoding="utf-8")
    output = _run([ARDOUR_LUA, str(script)], env, work)
    assert f"Error: {script}" not in output, f"the session script failed:\n{output[-3000:]}"
    return work / SESSION / f"{SESSION}.ardour"
