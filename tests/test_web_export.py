"""`soundstage export-plugin --format web`: the plugin's engine in a web page, run in a real browser (Debian's
chromium, headless, through selenium) against the VST3 built from the same chain and against the chain itself."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pedalboard
import pytest
import scipy.signal
import soundfile
import tomli_w
import tomllib

from export.host import null_db, set_knob
from helpers import open_page, plugin_toolchain, tool, web_toolchain
from midi_ports import GESTURES, cc
from soundstage import Chain, load_chain
from soundstage.analysis.device import reference_for
from soundstage.analysis.loudness import LoudnessMeter
from soundstage.cli import main
from soundstage.export import export_plugin
from soundstage.export.build import bundle_stem
from soundstage.midi import Decoder, add_binding, detect, load_map
from soundstage.midi.live import feedback_messages

ROOT = Path(__file__).resolve().parents[1]
RATE = 48000


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """studio-5-binaural as a VST3 and a page (the plugin at the four default rates, the page at 48 kHz), and studio-5
    (five driver feeds) as a page alone."""
    web_toolchain()
    plugin_toolchain()
    out = tmp_path_factory.mktemp("web")
    return {
        "studio-5-binaural": export_plugin("studio-5-binaural", out, formats=["vst3", "web"]).bundles,
        "studio-5": export_plugin("studio-5", out, formats=["web"]).bundles,
    }


def _mix(seconds: float, channels: int = 2, seed: int = 5) -> np.ndarray:
    """Noise shaped as music is (more low than high), with a level that moves: a test mix at 48 kHz, float32."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal((channels, int(seconds * RATE)))
    shaped = np.cumsum(white, axis=1) * 0.02 + white * 0.05
    shaped -= shaped.mean(axis=1, keepdims=True)
    envelope = 0.5 + 0.5 * np.sin(np.linspace(0, 6 * np.pi, shaped.shape[1]))
    return np.asarray(0.3 * shaped / np.abs(shaped).max() * envelope, np.float32)


#: The page's offline render (``window.soundstage.render``) of base64 float32 channels, its outputs back in base64.
RENDER = """
const [data, count, options] = arguments, done = arguments[arguments.length - 1];
const raw = atob(data), bytes = new Uint8Array(raw.length);
for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
const all = new Float32Array(bytes.buffer), n = all.length / count;
const channels = Array.from({length: count}, (_, c) => all.slice(c * n, (c + 1) * n));
window.soundstage.render(channels, options).then((outputs) => {
  const out = new Float32Array(outputs.length * n);
  outputs.forEach((samples, c) => out.set(samples, c * n));
  const b = new Uint8Array(out.buffer);
  let text = "";
  for (let i = 0; i < b.length; i += 8192) text += String.fromCharCode.apply(null, b.subarray(i, i + 8192));
  done(btoa(text));
}).catch((error) => done("error: " + error.message));
"""


def _render(browser: Any, channels: np.ndarray, options: dict[str, Any] | None = None) -> np.ndarray:
    """The page's offline render (``window.soundstage.render``) of ``channels`` in the page loaded in ``browser``."""
    browser.set_script_timeout(120)
    result = browser.execute_async_script(
        RENDER,
        base64.b64encode(np.ascontiguousarray(channels, "<f4").tobytes()).decode(),
        len(channels),
        options or {},
    )
    assert not result.startswith("error:"), result
    return np.frombuffer(base64.b64decode(result), "<f4").reshape(-1, channels.shape[1])


def _measure(browser: Any, channels: np.ndarray) -> float:
    """The page's own loudness meter (``window.soundstage.measure``) on ``channels``, LUFS."""
    result = browser.execute_script(
        """
        const [data, count] = arguments;
        const raw = atob(data), bytes = new Uint8Array(raw.length);
        for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
        const all = new Float32Array(bytes.buffer), n = all.length / count;
        return window.soundstage.measure(Array.from({length: count}, (_, c) => all.slice(c * n, (c + 1) * n)));
        """,
        base64.b64encode(np.ascontiguousarray(channels, "<f4").tobytes()).decode(),
        len(channels),
    )
    return float(result)


#: The page's loudness meter run offline (``window.soundstage.meterOffline``) on two base64 float32 channels: its
#: last reading.
METER = """
const [data, done] = [arguments[0], arguments[arguments.length - 1]];
const raw = atob(data), bytes = new Uint8Array(raw.length);
for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
const all = new Float32Array(bytes.buffer), n = all.length / 2;
window.soundstage.meterOffline([all.slice(0, n), all.slice(n)]).then(done);
"""


def _last_lufs(channels: np.ndarray, seconds: float) -> float:
    """The loudness of the last ``seconds`` of ``channels`` (48 kHz), K-weighted with soundstage's meter's sections
    (scipy, in doubles) and summed over the channels, as a BS.1771 momentary or short-term meter reads it."""
    weighted = scipy.signal.sosfilt(LoudnessMeter(RATE, len(channels)).sections(), channels.astype(np.float64), axis=1)
    return float(-0.691 + 10 * np.log10((weighted[:, -int(seconds * RATE) :] ** 2).sum(axis=0).mean()))


def _lufs(channels: np.ndarray) -> float:
    meter = LoudnessMeter(RATE, channels.shape[0])
    meter.add(channels)
    return meter.integrated_lufs()


def _downloaded(browser: Any, name: str) -> Path:
    """The file ``name`` the page saved into the browser's download folder, once complete (30 s at most)."""
    path = Path(browser.downloads) / name
    deadline = time.monotonic() + 30
    while not (path.exists() and not list(path.parent.glob("*.crdownload"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.exists(), sorted(p.name for p in path.parent.iterdir())
    return path


def _config(page: Path) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="config">(.*?)</script>', page.read_text(), re.S)
    assert match is not None
    return dict(json.loads(match.group(1)))


def _knob_values(config: dict[str, Any], moved: dict[str, float]) -> list[float]:
    return [moved.get(parameter["path"], parameter["default"]) for parameter in config["parameters"]]


def test_the_page_plays_what_the_plugin_plays_in_a_real_browser(exported: dict[str, dict[str, Path]], browser: Any) -> None:
    """The page, opened from disk, renders a mix (offline, in the browser's own AudioWorklet, 128-sample quanta) to
    within -180 dB of the VST3 built from the same chain in pedalboard (the same engine; the C libraries' last bits
    of exp and sin differ between glibc and the WebAssembly one), and to within -90 dB of the chain itself (the
    plugins' figure), at the defaults and with the knobs moved; the knobs reach the engine."""
    bundles = exported["studio-5-binaural"]
    config = _config(bundles["web"])
    assert (config["rate"], config["inputs"], config["outputs"]) == (48000.0, 2, 2)
    assert bundles["web"].stat().st_size < 12 * 2**20  # one rate: the plugin's four would be four times the program
    open_page(browser, bundles["web"].as_uri())
    audio = _mix(3.0)
    vst3 = pedalboard.load_plugin(str(bundles["vst3"]))
    chain = load_chain("studio-5-binaural")
    outputs = {}
    # values a float32 knob holds exactly (a VST3's normalized value): the page gets the very number the plugin does
    for label, moved in (("defaults", {}), ("moved", {"device.width": 0.375, "device.center_level_db": -6.0})):
        got = _render(browser, audio, {"values": _knob_values(config, moved)})
        for path, value in moved.items():
            set_knob(vst3, chain, path, value)
        plugin = vst3(audio, RATE)
        want = chain(audio, RATE)
        figures = (null_db(got, plugin), null_db(got, want))
        print(f"\n{label}: page vs VST3 {figures[0]:.1f} dB, page vs chain {figures[1]:.1f} dB")
        assert figures[0] <= -180.0 and figures[1] <= -90.0, label
        outputs[label] = got
    assert null_db(outputs["moved"], outputs["defaults"]) > -40.0  # the knobs moved the page's output
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_firefox_plays_the_page_as_chromium_does(exported: dict[str, dict[str, Path]], browser: Any, firefox: Any) -> None:
    """A second browser engine (Gecko, Firefox ESR, headless) opens the page from disk and renders a mix, device and
    stereo reference, to the very samples Chromium gives (one WebAssembly module, IEEE arithmetic): the page is no
    Chromium page."""
    page = exported["studio-5-binaural"]["web"]
    audio = _mix(2.0, seed=13)
    open_page(browser, page.as_uri())
    firefox.navigate(page.as_uri())
    deadline = time.monotonic() + 30
    while firefox.execute_script("return document.body.dataset.ready") != "true" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert firefox.execute_script("return document.getElementById('error').textContent") == ""
    firefox.timeout.script = 120
    for options in ({"values": _knob_values(_config(page), {"device.width": 0.5})}, {"reference": True}):
        chromium = _render(browser, audio, options)
        result = firefox.execute_async_script(
            RENDER,
            script_args=[base64.b64encode(np.ascontiguousarray(audio, "<f4").tobytes()).decode(), 2, options],
            sandbox=None,  # the page's own window (its soundstage object), not Marionette's sandbox
        )
        assert not result.startswith("error:"), result
        gecko = np.frombuffer(base64.b64decode(result), "<f4").reshape(2, -1)
        print(f"\n{options}: Firefox and Chromium equal: {np.array_equal(gecko, chromium)}; rms {np.sqrt(np.mean(gecko**2)):.4f}")
        assert np.array_equal(gecko, chromium) and np.sqrt(np.mean(gecko**2)) > 0.001


def test_the_pages_bypass_plays_the_mix_in_time_and_crossfades_as_the_plugin(
    exported: dict[str, dict[str, Path]], browser: Any
) -> None:
    """Bypassed from the start the page plays the mix itself (latency taken off: the very samples); engaged at a
    frame it follows the plugin's 20 ms linear crossfade from the chain into the mix."""
    page = exported["studio-5-binaural"]["web"]
    open_page(browser, page.as_uri())
    audio = _mix(1.5, seed=8)
    assert np.array_equal(_render(browser, audio, {"bypass": True}), audio)
    chain_out = _render(browser, audio)
    at = 20480  # a quantum's first frame
    got = _render(browser, audio, {"events": [{"frame": at, "bypass": True}]})
    latency = _config(page)["latency"]  # the switch comes at a frame of the stream; the output is that late
    gain = np.clip((np.arange(audio.shape[1]) + latency - at + 1) / (0.02 * RATE), 0.0, 1.0)
    want = (1 - gain) * chain_out + gain * audio
    error = float(np.abs(got - want).max())
    print(f"\nbypass engaged at frame {at}: within {error:.1e} of the 20 ms crossfade")
    assert error <= 1e-6


def test_a_device_page_gives_every_driver_feed_and_lets_each_be_heard(
    exported: dict[str, dict[str, Path]], browser: Any, tmp_path: Path
) -> None:
    """studio-5's page renders its five driver feeds as the chain does (-90 dB), and offers them to the ear as a
    DAW's monitor would: the first two, each alone, or all summed. A FLAC opened in it is downloaded as a 5-channel
    float WAV that soundfile and ffprobe both read, every frame there, the chain's feeds."""
    page = exported["studio-5"]["web"]
    open_page(browser, page.as_uri())
    audio = _mix(2.0, seed=9)
    got = _render(browser, audio)
    figure = null_db(got, load_chain("studio-5")(audio, RATE))
    print(f"\nstudio-5 page vs chain, five feeds: {figure:.1f} dB")
    assert got.shape[0] == 5 and figure <= -90.0
    choices = browser.execute_script("return [...document.querySelectorAll('#listen option')].map(o => o.textContent)")
    assert choices[0] == "outputs 1 and 2" and choices[-1] == "all 5 outputs summed (mono)" and len(choices) == 7
    assert browser.find_element("id", "listen-row").is_displayed()
    assert not browser.find_element("id", "matching").is_displayed()  # driver feeds are not the mix: no match
    mix = tmp_path / "song.flac"
    soundfile.write(mix, audio.T, RATE, subtype="PCM_24")
    browser.find_element("id", "file").send_keys(str(mix))
    deadline = time.monotonic() + 20
    while browser.find_element("id", "download").get_attribute("disabled") and time.monotonic() < deadline:
        time.sleep(0.05)
    browser.find_element("id", "download").click()
    saved = _downloaded(browser, "song - studio-5.wav")
    data, rate = soundfile.read(saved, dtype="float32", always_2d=True)
    probe = subprocess.run(
        [
            tool("ffprobe"),
            "-v",
            "error",
            "-show_entries",
            "stream=channels,sample_rate,codec_name,duration_ts",
            "-of",
            "json",
            str(saved),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    stream = json.loads(probe.stdout)["streams"][0]
    mix_read, _ = soundfile.read(mix, dtype="float32", always_2d=True)
    figure = null_db(data.T, load_chain("studio-5")(mix_read.T, RATE))
    print(f"downloaded {saved.name}: soundfile {data.shape}, ffprobe {stream}; against the chain {figure:.1f} dB")
    assert data.shape == (audio.shape[1], 5) and rate == RATE and figure <= -90.0
    assert stream == {"codec_name": "pcm_f32le", "sample_rate": "48000", "channels": 5, "duration_ts": audio.shape[1]}


def test_the_pages_ab_is_a_real_stereo_pair_on_the_same_head_matched_in_loudness(
    exported: dict[str, dict[str, Path]], browser: Any, tmp_path: Path
) -> None:
    """A chain that ends in a BinauralMonitor gets the other side of its A/B in the page: a real +-30 degree pair on
    the monitor's head, seat and room, rendered as the Python reference renders it (-90 dB); the page measures
    loudness as soundstage's reports do (within 0.05 LU), and on a mix opened in it lowers the louder side by the
    difference (within 0.05 dB of the Python chains' renders); `a` switches sides. A device's feeds have no A/B."""
    page = exported["studio-5-binaural"]["web"]
    config = _config(page)
    assert config["reference"] is not None and _config(exported["studio-5"]["web"])["reference"] is None
    open_page(browser, page.as_uri())
    audio = _mix(3.0, seed=12)
    chain = load_chain("studio-5-binaural")
    reference = Chain([reference_for(list(chain)[-1])])
    got = _render(browser, audio, {"reference": True})
    want = reference(audio, RATE)
    figure = null_db(got, want)
    page_lufs, python_lufs = _measure(browser, got), _lufs(want)
    print(f"\nstereo reference: page vs Python {figure:.1f} dB; loudness {page_lufs:.3f} vs {python_lufs:.3f} LUFS")
    assert figure <= -90.0 and abs(page_lufs - python_lufs) <= 0.05

    mix = tmp_path / "song.wav"
    soundfile.write(mix, audio.T, RATE, subtype="FLOAT")
    browser.find_element("id", "file").send_keys(str(mix))
    deadline = time.monotonic() + 30
    while "LUFS" not in browser.find_element("id", "match").text and time.monotonic() < deadline:
        time.sleep(0.05)
    text = browser.find_element("id", "match").text
    device_lufs, reference_lufs, mix_lufs = _lufs(chain(audio, RATE)), python_lufs, _lufs(audio)
    gains = browser.execute_script("return window.soundstage.gains")
    quieter = min(device_lufs, reference_lufs, mix_lufs)
    print(f"opened: {text!r}; Python: device {device_lufs:.2f}, reference {reference_lufs:.2f}, mix {mix_lufs:.2f} LUFS")
    for side, lufs in (("device", device_lufs), ("reference", reference_lufs), ("bypass", mix_lufs)):
        assert abs(20 * np.log10(gains[side]) - (quieter - lufs)) <= 0.05, side
    open_page(browser, page.as_uri() + "?match_s=1&download_s=2")  # a long mix: measured on its start, no download
    browser.find_element("id", "file").send_keys(str(mix))
    deadline = time.monotonic() + 30
    while "first 1 s" not in browser.find_element("id", "match").text and time.monotonic() < deadline:
        time.sleep(0.05)
    first = _lufs(chain(audio[:, :RATE], RATE)), _lufs(reference(audio[:, :RATE], RATE))
    short = browser.execute_script("return window.soundstage.loudness")
    print(f"on its first second: {browser.find_element('id', 'match').text!r}; Python {first[0]:.2f}, {first[1]:.2f}")
    assert abs(short["device"] - first[0]) <= 0.05 and abs(short["reference"] - first[1]) <= 0.05
    browser.find_element("id", "download").click()
    assert "3 s is past what the page renders in memory (2 s); render it from disk: soundstage process" in (
        browser.find_element("id", "error").text
    )
    browser.find_element("id", "play").click()
    browser.find_element("tag name", "body").send_keys("a")
    time.sleep(0.3)
    heard = browser.execute_script("const s = window.soundstage.sides; return [s.device.gain.value, s.reference.gain.value]")
    gains = browser.execute_script("return window.soundstage.gains")  # this mix's match (on its first second)
    assert browser.find_element("id", "ab").text == "A/B: stereo reference (a)"
    assert heard[0] == 0.0 and abs(heard[1] - gains["reference"]) <= 1e-6
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_the_pages_loudness_meter_reads_as_soundstages(exported: dict[str, dict[str, Path]], browser: Any) -> None:
    """The page meters what is heard as a BS.1771 meter does, momentary (400 ms) and short-term (3 s): on a 6 s mix,
    its last readings are soundstage's K-weighting (the meter's sections, scipy) over the last 0.4 s and 3 s, within
    0.01 LU."""
    open_page(browser, exported["studio-5-binaural"]["web"].as_uri())
    audio = _mix(6.0, seed=17)
    audio[:, -3 * RATE :] *= np.linspace(1.0, 0.1, 3 * RATE, dtype=np.float32)  # a fade out: the windows differ
    browser.set_script_timeout(60)
    reading = browser.execute_async_script(
        METER,
        base64.b64encode(np.ascontiguousarray(audio, "<f4").tobytes()).decode(),
    )

    def lufs(seconds: float) -> float:
        return _last_lufs(audio, seconds)

    print(f"\npage: {reading}; soundstage: momentary {lufs(0.4):.3f}, short-term {lufs(3.0):.3f} LUFS")
    assert reading["unit"] == 60
    assert abs(reading["momentary"] - lufs(0.4)) <= 0.01 and abs(reading["shortTerm"] - lufs(3.0)) <= 0.01
    assert lufs(0.4) < lufs(3.0) - 3.0  # the momentary window holds the fade's end only


def test_the_pages_bypass_is_heard_at_the_mixs_loudness(tmp_path: Path, browser: Any) -> None:
    """Loudness match (m) on a mastering chain (+4 dB of trim into a limiter): the chain is heard lowered to the mix's
    integrated loudness, as soundstage's meter measures both (within 0.05 dB), the bypass at the mix's own; a knob
    moved is matched again; `m` turns the match off. A device's driver feeds are not the mix: no match offered."""
    web_toolchain()
    page = export_plugin("mastering", tmp_path, formats=["web"]).bundles["web"]
    audio = _mix(6.0, seed=9)
    mix = tmp_path / "mix.wav"
    soundfile.write(mix, audio.T, RATE, subtype="FLOAT")
    open_page(browser, page.as_uri())
    assert browser.find_element("id", "matching").is_displayed()
    browser.find_element("id", "file").send_keys(str(mix))

    def matched() -> dict[str, float]:
        deadline = time.monotonic() + 30
        while "LUFS" not in browser.find_element("id", "match").text and time.monotonic() < deadline:
            time.sleep(0.05)
        return dict(browser.execute_script("return window.soundstage.gains"))

    chain = load_chain("mastering")
    gains, chain_lufs, mix_lufs = matched(), _lufs(chain(audio, RATE)), _lufs(audio)
    print(f"\n{browser.find_element('id', 'match').text!r}; Python: chain {chain_lufs:.2f}, mix {mix_lufs:.2f} LUFS")
    assert chain_lufs > mix_lufs + 2.0 and gains["bypass"] == 1.0
    assert abs(20 * np.log10(gains["device"]) - (mix_lufs - chain_lufs)) <= 0.05

    def heard() -> float:
        time.sleep(0.1)  # the 20 ms ramp
        return float(browser.execute_script("return window.soundstage.sides.device.gain.value"))

    browser.find_element("id", "play").click()
    assert abs(heard() - gains["device"]) <= 1e-6
    body = browser.find_element("tag name", "body")
    body.send_keys("b")
    assert heard() == gains["bypass"]
    body.send_keys("b")
    body.send_keys("m")
    assert heard() == 1.0 and browser.find_element("id", "matching").text == "loudness match: off (m)"
    body.send_keys("m")
    assert abs(heard() - gains["device"]) <= 1e-6
    trim = [p["path"] for p in _config(page)["parameters"]].index("trim.gain_db")
    browser.execute_script("document.getElementById('match').textContent = ''")
    slider = browser.find_element("id", f"knob-{trim}")
    browser.execute_script("arguments[0].value = 0.5; arguments[0].dispatchEvent(new Event('input'))", slider)
    chain.parameters["trim.gain_db"].value = browser.execute_script("return window.soundstage.values[arguments[0]]", trim)
    again, chain_lufs = matched(), _lufs(chain(audio, RATE))
    print(f"trim at {chain.parameters['trim.gain_db'].value:.2f} dB: {browser.find_element('id', 'match').text!r}")
    expected = min(mix_lufs - chain_lufs, 0.0)
    assert abs(20 * np.log10(again["device"]) - expected) <= 0.05
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_the_page_plays_a_file_in_real_time_with_its_knobs_and_bypass(
    exported: dict[str, dict[str, Path]], browser: Any, tmp_path: Path
) -> None:
    """As a user does: a 44.1 kHz WAV that sox made is opened with the page's file button, played in real time (the
    clock moves, the meter shows the music), a knob and the bypass are moved by hand; no console error."""
    sox = tool("sox")
    mix = tmp_path / "mix.wav"
    subprocess.run(
        [sox, "-n", "-r", "44100", "-c", "2", "-b", "24", str(mix), "synth", "4", "pinknoise", "vol", "0.3"], check=True
    )
    open_page(browser, exported["studio-5-binaural"]["web"].as_uri())
    browser.find_element("id", "file").send_keys(str(mix))
    deadline = time.monotonic() + 20
    while browser.find_element("id", "play").get_attribute("disabled") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "mix.wav: 4.0 s, 2 channel(s), played at 48000 Hz" in browser.find_element("id", "loaded").text
    browser.find_element("id", "play").click()
    time.sleep(1.5)
    position = browser.execute_script("return window.soundstage.context.currentTime - window.soundstage.startedAt")
    peak = browser.find_element("id", "peak").text
    print(f"\nplaying: {position:.2f} s on the clock, meter {peak}")
    assert position >= 1.0 and peak.endswith("dBFS") and float(peak.split()[0]) > -40.0
    loudness = browser.find_element("id", "loudness").text  # 1.5 s in: no 3 s window yet
    print(f"loudness while playing: {loudness}")
    assert re.fullmatch(r"momentary -\d+\.\d LUFS, short-term -inf LUFS", loudness), loudness
    slider = browser.find_element("id", "knob-2")  # device: width
    browser.execute_script("arguments[0].value = 0.25; arguments[0].dispatchEvent(new Event('input'))", slider)
    assert browser.find_element("id", "value-2").text == "0.25"
    browser.find_element("tag name", "body").send_keys("b")
    assert browser.find_element("id", "bypass").text == "bypass: on (b)"
    assert browser.execute_script("return window.soundstage.values[2]") == 0.25
    browser.find_element("tag name", "body").send_keys("b")  # bypass off: the download is the chain at width 0.25
    browser.find_element("id", "download").click()
    saved = _downloaded(browser, "mix - studio-5-binaural.wav")
    data, rate = soundfile.read(saved, dtype="float32", always_2d=True)
    decoded = browser.execute_script("const b = window.soundstage.buffer; return [b.length, b.sampleRate, b.numberOfChannels]")
    print(f"downloaded {saved.name}: {data.shape[0]} frames at {rate} Hz, {data.shape[1]} channels")
    assert (rate, data.shape) == (RATE, (decoded[0], 2)) and decoded[1:] == [RATE, 2]
    mix_at_48k = np.asarray(
        browser.execute_script("const b = window.soundstage.buffer; return [...b.getChannelData(0)]"), np.float32
    )
    moved = load_chain("studio-5-binaural")
    moved.parameters["device.width"].value = 0.25
    want = moved(
        np.stack(
            [mix_at_48k, np.asarray(browser.execute_script("return [...window.soundstage.buffer.getChannelData(1)]"), np.float32)]
        ),
        RATE,
    )
    figure = null_db(data.T, want)
    print(f"the download against the chain at width 0.25: {figure:.1f} dB")
    assert figure <= -90.0
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_the_pages_knobs_travel_on_the_parameters_own_scale(tmp_path: Path, browser: Any) -> None:
    """A knob in the page moves its parameter as soundstage's 0..1 position does (``from_normalized``): a cutoff,
    a ratio or a time on a log scale (half-way on a 1..10000 ms release is 100 ms, where a linear slider put 5000 ms),
    a gain on the fader taper, a threshold linearly; a knob set by value shows at its position; double-click: its
    default."""
    web_toolchain()
    page = export_plugin("mastering", tmp_path, formats=["web"]).bundles["web"]
    open_page(browser, page.as_uri())
    config, chain = _config(page), load_chain("mastering")
    scales = {p["path"]: p["scale"] for p in config["parameters"]}
    assert scales == {path: chain.parameters[path].spec.scale for path in scales}
    assert sorted(set(scales.values())) == ["db", "linear", "log"]
    numbers = [(index, knob) for index, knob in enumerate(config["parameters"]) if knob["kind"] == "number"]
    assert len(numbers) == 8
    for index, knob in numbers:
        parameter, slider = chain.parameters[knob["path"]], browser.find_element("id", f"knob-{index}")
        assert float(slider.get_attribute("value")) == pytest.approx(parameter.to_normalized(knob["default"]), abs=1e-12)
        for x in (0.0, 0.1, 0.5, 0.8, 1.0):
            browser.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))", slider, x)
            value = browser.execute_script("return window.soundstage.values[arguments[0]]", index)
            assert value == pytest.approx(parameter.from_normalized(x), rel=1e-12, abs=1e-9), (knob["path"], x)
        browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('dblclick'))", slider)
        assert browser.execute_script("return window.soundstage.values[arguments[0]]", index) == knob["default"]
        assert float(slider.get_attribute("value")) == pytest.approx(parameter.to_normalized(knob["default"]), abs=1e-12)
    release = [p["path"] for p in config["parameters"]].index("limiter.release_ms")
    slider = browser.find_element("id", f"knob-{release}")
    browser.execute_script("arguments[0].value = 0.5; arguments[0].dispatchEvent(new Event('input'))", slider)
    assert browser.find_element("id", f"value-{release}").text == "100 ms"


#: A MIDI controller for the page: ``navigator.requestMIDIAccess`` answers with one input, whose messages the test
#: sends (Chromium's Web MIDI needs an ALSA sequencer, which this machine has not; the page's MIDI code is under test).
FAKE_MIDI = """
window.fakeInput = {name: "test controller", onmidimessage: null};
window.sent = {"test controller": [], "a synth": []};
const output = (name) => ({name, send: (data) => window.sent[name].push(Array.from(data))});
navigator.requestMIDIAccess = async () => ({
  inputs: new Map([["1", window.fakeInput]]),
  outputs: new Map([["1", output("test controller")], ["2", output("a synth")]]),
  onstatechange: null,
});
window.sendMidi = (bytes) => window.fakeInput.onmidimessage({data: new Uint8Array(bytes)});
"""


def _renumbered(messages: list[mido.Message], control: int) -> list[mido.Message]:
    return [message.copy(control=control) for message in messages]


def _learn_gestures() -> dict[str, list[mido.Message]]:
    """A gesture of another kind of control for each of the mastering chain's knobs, each on a control of its own."""
    rpn = [cc(101, 0), cc(100, 5)] + [m for v in (9000, 9100, 9300) for m in (cc(6, v >> 7), cc(38, v & 127))]
    return {
        "rumble.cutoff_frequency_hz": GESTURES["7-bit cc"][0],
        "glue.threshold_db": GESTURES["14-bit pair"][0],
        "trim.gain_db": GESTURES["nrpn"][0],
        "glue.release_ms": GESTURES["relative two's complement"][0],
        "glue.ratio": _renumbered(GESTURES["relative signed bit"][0], 21),
        "glue.attack_ms": _renumbered(GESTURES["relative binary offset"][0], 22),
        "trim.invert": GESTURES["note"][0],
        "limiter.release_ms": GESTURES["pitch bend"][0],
        "limiter.threshold_db": rpn,
    }


def _performance(seed: int) -> list[mido.Message]:
    """A minute's playing on those controls, interleaved: sweeps across each knob (so soft takeover picks them up),
    14-bit pairs, NRPN and RPN data entry and increments, encoder turns both ways, pad presses, the pitch wheel."""
    rng = np.random.default_rng(seed)
    runs = [
        [cc(74, int(v), 2) for v in np.r_[np.arange(0, 128, 9), np.arange(127, -1, -13)]],
        [m for v in np.linspace(0, 16383, 23).astype(int) for m in (cc(7, int(v) >> 7), cc(39, int(v) & 127))],
        [  # as most controllers send an NRPN or RPN: the selection, then the value (and increments)
            m
            for v in np.linspace(16383, 0, 17).astype(int)
            for m in (cc(99, 1000 >> 7), cc(98, 1000 & 127), cc(6, int(v) >> 7), cc(38, int(v) & 127))
        ],
        [cc(99, 1000 >> 7), cc(98, 1000 & 127)] + [cc(96, 0)] * 5 + [cc(97, 0)] * 3,
        [
            m
            for v in np.linspace(0, 16383, 11).astype(int)
            for m in (cc(101, 0), cc(100, 5), cc(6, int(v) >> 7), cc(38, int(v) & 127))
        ],
        [cc(20, int(v)) for v in rng.choice([1, 2, 3, 125, 126, 127], 30)],
        [cc(21, int(v)) for v in rng.choice([1, 2, 65, 66], 30)],
        [cc(22, int(v)) for v in rng.choice([62, 63, 65, 66, 70], 30)],
        [m for _ in range(3) for m in (mido.Message("note_on", note=36, velocity=90), mido.Message("note_off", note=36))],
        [mido.Message("pitchwheel", pitch=int(v)) for v in np.linspace(-8192, 8191, 29).astype(int)],
    ]
    out: list[mido.Message] = []
    while any(runs):
        run = runs[int(rng.integers(len(runs)))]
        out += [run.pop(0) for _ in range(min(len(run), int(rng.integers(1, 6))))]
    return out


def test_a_midi_controller_learned_in_the_page_moves_its_knobs_as_soundstage_would(tmp_path: Path, browser: Any) -> None:
    """MIDI in the page: learn beside a knob, then move a control; nine kinds of control (7- and 14-bit CCs, NRPN,
    RPN, three relative-encoder encodings, a pad, the pitch wheel) learned onto the mastering chain's knobs give the
    very bindings soundstage's own `midi learn` makes of the same gestures (its map, saved from the page, loads in
    soundstage); then 300-odd messages of playing move every knob to the values soundstage's decoder gives for that
    map (soft takeover, encoders, toggles, log and dB curves), message by message; a pad learned onto the bypass
    switches it, from where the mouse left it."""
    web_toolchain()
    page = export_plugin("mastering", tmp_path, formats=["web"]).bundles["web"]
    open_page(browser, page.as_uri())
    browser.execute_script("localStorage.clear()")
    browser.execute_script(FAKE_MIDI)
    browser.find_element("id", "midi").click()
    assert browser.find_element("id", "midi-status").text == "listening to test controller"
    config, chain = _config(page), load_chain("mastering")
    paths = [p["path"] for p in config["parameters"]]
    gestures = _learn_gestures()
    for path, messages in [*gestures.items(), ("bypass", [mido.Message("note_on", note=40, velocity=100)])]:
        target = path if path == "bypass" else str(paths.index(path))
        browser.find_element("css selector", f'button[data-learn="{target}"]').click()
        browser.execute_script("for (const m of arguments[0]) window.sendMidi(m)", [m.bytes() for m in messages])
        deadline = time.monotonic() + 5
        while browser.execute_script("return window.soundstage.midi.learning") is not None and time.monotonic() < deadline:
            time.sleep(0.05)
    labels = browser.execute_script("return [...document.querySelectorAll('button[data-learn]')].map(b => b.textContent)")
    print(f"\nlearned: {labels}")
    browser.find_element("id", "save-map").click()
    saved = _downloaded(browser, "mastering-map.toml")
    for path, messages in gestures.items():
        add_binding(tmp_path / "learned.toml", chain, path, detect(messages))
    assert sorted(load_map(saved, chain).bindings, key=str) == sorted(
        load_map(tmp_path / "learned.toml", chain).bindings, key=str
    )

    decoder = Decoder(load_map(saved, chain), chain)
    performance = _performance(seed=8)
    heard = browser.execute_script(
        "return arguments[0].map((m) => { window.sendMidi(m); return [...window.soundstage.values]; })",
        [m.bytes() for m in performance],
    )
    moved = set()
    for message, page_values in zip(performance, heard):
        for binding, value in decoder.feed(message):
            chain.parameters[binding.target].value = value
            moved.add(binding.target)
        want = [float(chain.parameters[path].value) for path in paths]
        assert page_values == pytest.approx(want, rel=1e-6, abs=1e-6), message
    print(f"{len(performance)} messages, {len(moved)} knobs moved, the page's values as soundstage's decoder gives them")
    assert moved == set(gestures)
    browser.find_element("id", "bypass").click()  # the mouse engages the bypass: the pad's next press flips it back
    assert browser.find_element("id", "bypass").text == "bypass: on (b)"
    for shown in ("bypass: off (b)", "bypass: on (b)"):
        browser.execute_script("window.sendMidi(arguments[0])", mido.Message("note_on", note=40, velocity=100).bytes())
        assert browser.find_element("id", "bypass").text == shown


def test_a_midi_map_given_at_export_drives_the_page(tmp_path: Path, browser: Any, capsys: pytest.CaptureFixture) -> None:
    """`export-plugin --format web --map MAP`: the studio's MIDI map (session_files/demo-map.toml: a 7-bit CC with
    soft takeover, a 14-bit fader on a dB curve) and a program change that recalls a preset move the page's knobs to
    the values soundstage's decoder gives for the same messages; its bindings on what the export fixed (depth,
    distance) are left out, each said in one line; a map without a page is refused."""
    web_toolchain()
    wide = tmp_path / "wide.toml"
    chain_dict = tomllib.loads((ROOT / "chains" / "studio-5.toml").read_text())
    chain_dict["stages"][0]["parameters"] |= {"width": 0.9, "center_level_db": -3.0}
    wide.write_text(tomli_w.dumps(chain_dict))
    midi_map = tmp_path / "map.toml"
    midi_map.write_text(
        (ROOT / "session_files" / "demo-map.toml").read_text() + '\n[[programs]]\nprogram = 3\npreset = "wide.toml"\n'
    )
    assert main(["export-plugin", "studio-5", "--format", "web", "-o", str(tmp_path / "out"), "--map", str(midi_map)]) == 0
    said = capsys.readouterr().out
    print(said)
    assert "MIDI map: device.depth (relative 20) is fixed at export: the export leaves it out" in said
    assert "MIDI map: device.distance_m (nrpn 1000) is fixed at export: the export leaves it out" in said
    page = tmp_path / "out" / "studio-5.html"
    open_page(browser, page.as_uri())
    browser.execute_script("localStorage.clear()")
    open_page(browser, page.as_uri())
    browser.execute_script(FAKE_MIDI)
    browser.find_element("id", "midi").click()
    labels = browser.execute_script("return [...document.querySelectorAll('button[data-learn]')].map(b => b.textContent)")
    assert labels[-3:] == ["learn", "ch1 CC 7/39", "ch1 CC 74"]  # centre amount, centre level, width (the table's order)

    chain = load_chain("studio-5")
    paths = [p["path"] for p in _config(page)["parameters"]]
    decoder = Decoder(load_map(midi_map, chain), chain)
    playing = (
        [cc(74, v) for v in range(0, 128, 11)]
        + [m for v in range(0, 16384, 1111) for m in (cc(7, v >> 7), cc(39, v & 127))]
        + [cc(20, 1)] * 3
        + [mido.Message("program_change", program=3), cc(74, 20), cc(74, 117)]
    )
    heard = browser.execute_script(
        "return arguments[0].map((m) => { window.sendMidi(m); return [...window.soundstage.values]; })",
        [m.bytes() for m in playing],
    )
    for message, page_values in zip(playing, heard):
        for binding, value in decoder.feed(message):
            chain.parameters[binding.target].value = value
        assert page_values == pytest.approx([float(chain.parameters[p].value) for p in paths], rel=1e-6, abs=1e-6), message
    after_program = heard[playing.index(mido.Message("program_change", program=3))]
    assert after_program[paths.index("device.width")] == pytest.approx(0.9)
    assert after_program[paths.index("device.center_level_db")] == pytest.approx(-3.0)
    assert heard[-1][paths.index("device.width")] == pytest.approx(117 / 127)

    # feedback, as `soundstage live --out` sends it: the bound controls to where the knobs are, on the controller's
    # own output (named as its input), not on another device's
    browser.execute_script("window.sent['test controller'] = []")
    knobs = [(paths.index("device.width"), 0.3), (paths.index("device.center_level_db"), 0.77)]
    for index, position in knobs:
        slider = browser.find_element("id", f"knob-{index}")
        browser.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))", slider, position
        )
    values = browser.execute_script("return window.soundstage.values")
    bindings = {binding.target: binding for binding in load_map(midi_map, chain).bindings}
    want = []
    for index, _ in knobs:
        parameter = chain.parameters[paths[index]]
        parameter.value = values[index]
        binding = bindings[paths[index]]
        want += [list(m.bytes()) for m in feedback_messages(binding, binding.position(parameter.value, parameter))]
    sent = browser.execute_script("return window.sent")
    print(f"feedback: {sent['test controller']}")
    assert sent["test controller"] == want and sent["a synth"] == []


def test_firefox_reads_midi_saves_the_chain_and_meters_as_chromium_does(tmp_path: Path, browser: Any, firefox: Any) -> None:
    """The page's MIDI, its saved chain and its loudness meter in Gecko too (Firefox ESR): the demo map given at
    export, played by the same messages, moves the knobs to the values soundstage's decoder gives (1e-6); the chain
    saved there loads in soundstage at the page's values; its meter (a worklet with no output) reads what
    soundstage's K-weighting gives (0.01 LU), as in Chromium."""
    web_toolchain()
    page = export_plugin("studio-5", tmp_path, formats=["web"], midi_map=ROOT / "session_files" / "demo-map.toml").bundles["web"]
    firefox.navigate(page.as_uri())
    deadline = time.monotonic() + 30
    while firefox.execute_script("return document.body.dataset.ready") != "true" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert firefox.execute_script("return document.getElementById('error').textContent") == ""
    firefox.execute_script("localStorage.clear();" + FAKE_MIDI, sandbox=None)
    firefox.timeout.script = 30
    status = firefox.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "connectMidi().then(() => done(document.getElementById('midi-status').textContent));",
        sandbox=None,
    )
    assert status == "listening to test controller"
    chain = load_chain("studio-5")
    paths = [p["path"] for p in _config(page)["parameters"]]
    decoder = Decoder(load_map(ROOT / "session_files" / "demo-map.toml", chain), chain)
    playing = [cc(74, v) for v in range(0, 128, 9)] + [m for v in range(0, 16384, 997) for m in (cc(7, v >> 7), cc(39, v & 127))]
    heard = firefox.execute_script(
        "return arguments[0].map((m) => { window.sendMidi(m); return [...window.soundstage.values]; })",
        script_args=[[list(m.bytes()) for m in playing]],
        sandbox=None,
    )
    for message, page_values in zip(playing, heard):
        for binding, value in decoder.feed(message):
            chain.parameters[binding.target].value = value
        assert page_values == pytest.approx([float(chain.parameters[p].value) for p in paths], rel=1e-6, abs=1e-6), message
    saved = tmp_path / "saved.toml"
    saved.write_text(firefox.execute_script("return window.soundstage.chainText()", sandbox=None))
    loaded = load_chain(saved)
    for path, value in zip(paths, heard[-1]):
        assert loaded.parameters[path].value == value, path
    print(f"\nFirefox: {len(playing)} messages as soundstage decodes them; its saved chain loads at {heard[-1]}")
    audio = _mix(4.0, seed=23)  # its loudness meter (a worklet with no output) meters as soundstage does
    reading = firefox.execute_async_script(
        METER,
        script_args=[base64.b64encode(np.ascontiguousarray(audio, "<f4").tobytes()).decode()],
        sandbox=None,
    )
    want = [_last_lufs(audio, seconds) for seconds in (0.4, 3.0)]
    print(f"Firefox's meter: {reading}; soundstage: {want}")
    assert reading is not None and reading["unit"] == 40
    assert abs(reading["momentary"] - want[0]) <= 0.01 and abs(reading["shortTerm"] - want[1]) <= 0.01


def test_a_transport_button_learned_in_the_page_plays_and_pauses(tmp_path: Path, browser: Any) -> None:
    """`learn` beside play, then a pad or a transport button (CC 127 on press, 0 on release): each press plays or
    pauses the mix, and the controller's play light follows (note on while playing, off when paused)."""
    web_toolchain()
    page = export_plugin("mastering", tmp_path, formats=["web"]).bundles["web"]
    mix = tmp_path / "mix.wav"
    soundfile.write(mix, _mix(4.0, seed=2).T, RATE, subtype="FLOAT")
    open_page(browser, page.as_uri())
    browser.execute_script("localStorage.clear()")
    browser.execute_script(FAKE_MIDI)
    browser.find_element("id", "midi").click()
    browser.find_element("id", "file").send_keys(str(mix))
    deadline = time.monotonic() + 20
    while browser.find_element("id", "play").get_attribute("disabled") and time.monotonic() < deadline:
        time.sleep(0.05)

    def press(messages: list[mido.Message]) -> bool:
        browser.execute_script("for (const m of arguments[0]) window.sendMidi(m)", [m.bytes() for m in messages])
        time.sleep(0.3)  # play() starts the audio context
        return bool(browser.execute_script("return window.soundstage.playing"))

    pad = [mido.Message("note_on", note=41, velocity=100), mido.Message("note_off", note=41)]
    button = [cc(41, 127), cc(41, 0)]
    for gesture in (pad, button):
        browser.find_element("css selector", 'button[data-learn="play"]').click()
        browser.execute_script("for (const m of arguments[0]) window.sendMidi(m)", [m.bytes() for m in gesture])
        deadline = time.monotonic() + 5
        while browser.execute_script("return window.soundstage.midi.learning") is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        browser.execute_script("window.sent['test controller'] = []")
        assert [press(gesture), press(gesture), press(gesture)] == [True, False, True]
        assert press(gesture) is False
        lights = browser.execute_script("return window.sent['test controller']")
        learned = browser.find_element("css selector", 'button[data-learn="play"]').text
        print(f"\n{learned}: lights {lights}")
        on, off = ([0x90, 41, 127], [0x80, 41, 0]) if gesture is pad else ([0xB0, 41, 127], [0xB0, 41, 0])
        assert lights == [on, off, on, off]


def test_the_page_says_in_one_line_why_it_has_no_midi(tmp_path: Path, browser: Any) -> None:
    """The real Web MIDI of the browser: refused (headless Chromium grants no permission unasked), granted on a machine
    without the ALSA sequencer (this one: the browser finds no MIDI system), and a browser without Web MIDI (Safari):
    each is one line that says what to do; the knobs and learning still work from the mouse."""
    web_toolchain()
    page = export_plugin("mastering", tmp_path, formats=["web"]).bundles["web"]
    open_page(browser, page.as_uri())

    def status_after_connect() -> str:
        browser.find_element("id", "midi").click()
        deadline = time.monotonic() + 10
        while "learn" in browser.find_element("id", "midi-status").text and time.monotonic() < deadline:
            time.sleep(0.05)
        return str(browser.find_element("id", "midi-status").text)

    browser.execute_cdp_cmd("Browser.grantPermissions", {"permissions": ["midi", "midiSysex"]})  # Chromium asks for both
    try:
        open_page(browser, page.as_uri())
        granted = status_after_connect()
    finally:
        browser.execute_cdp_cmd("Browser.resetPermissions", {})
    sequencer = Path("/dev/snd/seq").exists()
    assert granted.startswith("listening to " if sequencer else "the browser found no MIDI system"), granted
    open_page(browser, page.as_uri())
    refused = status_after_connect()
    print(f"\ngranted: {granted}\nrefused: {refused}")
    assert refused.startswith("MIDI refused (NotAllowedError): allow MIDI for this page"), refused
    open_page(browser, page.as_uri())
    browser.execute_script("delete Navigator.prototype.requestMIDIAccess")
    assert status_after_connect().startswith("this browser has no Web MIDI")


def _saved_chain(browser: Any, name: str) -> Path:
    """Click "save the chain at these knobs" and wait for the file (``name``.toml) in the download folder."""
    saved = Path(browser.downloads) / f"{name}.toml"
    saved.unlink(missing_ok=True)
    browser.find_element("id", "save-chain").click()
    return _downloaded(browser, saved.name)


def test_the_page_saves_the_chain_at_its_knobs(tmp_path: Path, browser: Any) -> None:
    """ "Save the chain at these knobs" writes a chain file soundstage loads (tomllib, then load_chain) with every knob
    at the very value the page holds (a log, a dB, a linear knob, a switch; choices by name; knobs inside parallel
    branches and on single channels: all 86 of tests/export/builtins.toml), every other setting as the chain had it,
    and the chain's description; what it renders is the page's render at those knobs."""
    web_toolchain()
    chain_file = ROOT / "tests" / "export" / "builtins.toml"
    page = export_plugin(chain_file, tmp_path, formats=["web"]).bundles["web"]
    open_page(browser, page.as_uri())
    config = _config(page)
    rng = np.random.default_rng(3)
    for index, knob in enumerate(config["parameters"]):
        control = browser.find_element("id", f"knob-{index}")
        if knob["kind"] == "choice":
            browser.execute_script(
                "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change'))",
                control,
                str(int(rng.integers(len(knob["choices"])))),
            )
        elif knob["kind"] == "boolean":
            control.click()
        else:
            browser.execute_script(
                "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))", control, float(rng.random())
            )
    values = browser.execute_script("return window.soundstage.values")
    saved = _saved_chain(browser, "builtins")
    original, loaded = load_chain(chain_file), load_chain(saved)
    assert tomllib.loads(saved.read_text())["description"] == tomllib.loads(chain_file.read_text())["description"]
    data, moved = tomllib.loads(saved.read_text()), 0
    for knob, value, slot in zip(config["parameters"], values, config["chain_file"]["slots"]):
        want = knob["choices"][int(value)] if knob["kind"] == "choice" else bool(value) if knob["kind"] == "boolean" else value
        written = data
        for key in slot:
            written = written[key]
        assert written == want, knob["path"]  # the page's double, to the last bit
        assert loaded.parameters[knob["path"]].value == (pytest.approx(want, rel=1e-6) if knob["kind"] == "number" else want)
        moved += loaded.parameters[knob["path"]].value != original.parameters[knob["path"]].value
    knobs = {knob["path"] for knob in config["parameters"]}
    for path, parameter in original.parameters.items():
        if path not in knobs:
            assert loaded.parameters[path].value == parameter.value, path
    print(f"\n{len(values)} knobs, {moved} moved; the saved chain loads with each at the page's value")
    assert len(values) == 86 and moved >= 80
    audio = _mix(1.0, seed=4)
    figure = null_db(_render(browser, audio), loaded(audio, RATE))
    print(f"the page at its knobs vs the saved chain in soundstage: {figure:.1f} dB")
    assert figure <= -100.0


def test_the_saved_chains_strings_read_back_as_written(exported: dict[str, dict[str, Path]], browser: Any) -> None:
    """The page writes a chain file's strings (names, descriptions, file paths) as TOML basic strings; what tomllib
    reads back is the very string, for quotes, backslashes, every control character, DEL, line and paragraph
    separators, and 2000 random strings over all of Unicode's planes."""
    open_page(browser, exported["studio-5-binaural"]["web"].as_uri())
    rng = np.random.default_rng(11)
    scalars = np.r_[np.arange(0, 0xD800), np.arange(0xE000, 0x110000)]
    texts = ['"', "\\", "\\u0041", "a\nb", "C:\\mixes\\Café Röhre\\", "\u2028\u2029", "\x7f", "'''\"\"\"", "🎚️ mix"]
    texts += [chr(c) for c in range(0x20)]
    texts += ["".join(map(chr, rng.choice(scalars, int(rng.integers(0, 12))))) for _ in range(2000)]
    written = browser.execute_script("return arguments[0].map(tomlString)", texts)
    for text, toml in zip(texts, written):
        assert tomllib.loads(f"x = {toml}")["x"] == text, (text, toml)


def test_a_file_the_chain_cannot_take_is_named_with_the_fix(
    exported: dict[str, dict[str, Path]], browser: Any, tmp_path: Path
) -> None:
    """A 5.1 file into a stereo chain, a file that is no audio, and what people drop by mistake (a MIDI map, a DAW's
    MIDI file, an empty file): one line naming the file and what to do; a mono file plays on both inputs."""
    surround, junk, mono = tmp_path / "bed.wav", tmp_path / "notes.wav", tmp_path / "voice.wav"
    soundfile.write(surround, np.zeros((4800, 6), np.float32), RATE)
    junk.write_text("not audio")
    midi_file, midi_map, empty = tmp_path / "automation.mid", tmp_path / "my-map.toml", tmp_path / "take.wav"
    song = mido.MidiFile()
    song.tracks.append(mido.MidiTrack([mido.Message("control_change", control=74, value=10)]))
    song.save(midi_file)
    midi_map.write_text((ROOT / "session_files" / "demo-map.toml").read_text())
    empty.write_bytes(b"")
    soundfile.write(mono, np.full(4800, 0.1, np.float32), RATE)
    open_page(browser, exported["studio-5-binaural"]["web"].as_uri())
    for path, words in (
        (surround, "bed.wav: 6 channels, but the chain takes 2; fold it down first"),
        (junk, "notes.wav: this browser cannot decode it; convert it to WAV first"),
        (midi_file, "automation.mid: a MIDI file, not audio; its automation renders from the command line (soundstage"),
        (midi_map, "my-map.toml: a TOML file, not audio; a MIDI map goes into the page at export"),
        (empty, "take.wav: the file is empty (0 bytes)"),
    ):
        browser.execute_script("document.getElementById('error').textContent = ''")
        browser.find_element("id", "file").send_keys(str(path))
        deadline = time.monotonic() + 10
        while not browser.find_element("id", "error").text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert words in browser.find_element("id", "error").text
    browser.find_element("id", "file").send_keys(str(mono))
    deadline = time.monotonic() + 10
    while "voice.wav" not in browser.find_element("id", "loaded").text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert browser.find_element("id", "error").text == ""
    assert "voice.wav: 0.1 s, 1 channel(s)" in browser.find_element("id", "loaded").text
    assert browser.execute_script("return window.soundstage.buffer.numberOfChannels") == 2


def test_the_command_line_writes_the_page_and_says_how_to_use_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    web_toolchain()
    assert main(["export-plugin", "mastering", "-o", str(tmp_path), "--format", "web"]) == 0
    out = capsys.readouterr().out
    assert "web page (" in out and "open it in a browser" in out and f"web: {tmp_path / 'mastering.html'}" in out
    assert "bypass: the DAW's own" not in out  # no plugin was built
    assert "its A/B" not in out  # mastering ends in no BinauralMonitor: no stereo reference
    assert _config(tmp_path / "mastering.html")["rate"] == 48000.0


def test_without_the_webassembly_compiler_the_export_is_one_line_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("SOUNDSTAGE_WASM_CXX", "no-such-clang++")
    assert main(["export-plugin", "mastering", "-o", str(tmp_path / "out"), "--format", "web"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no WebAssembly compiler" in err and "apt-get install clang lld wasi-libc" in err
    assert not (tmp_path / "out").exists()


def test_a_clang_without_the_wasm32_libraries_is_one_line_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """clang is there, but its WebAssembly C library holds no headers (half an install): the compiler's first error
    and the packages that complete it, in one line; nothing is written."""
    web_toolchain()
    sysroot = tmp_path / "sysroot"
    (sysroot / "lib" / "wasm32-wasi").mkdir(parents=True)
    (sysroot / "lib" / "wasm32-wasi" / "libc.a").write_bytes(b"!<arch>\n")
    monkeypatch.setenv("SOUNDSTAGE_WASI_SYSROOT", str(sysroot))
    assert main(["export-plugin", "mastering", "-o", str(tmp_path / "out"), "--format", "web"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "building the web page's engine (WebAssembly) failed:" in err and "file not found" in err
    assert "clang needs the wasm32 C and C++ libraries" in err and "libc++-dev-wasm32" in err
    assert not (tmp_path / "out").exists()


def test_a_name_and_a_chain_that_hold_markup_stay_text_in_the_page(tmp_path: Path, browser: Any) -> None:
    """A plugin name and a chain file whose text holds `</script>`, an `<img onerror>` and the page template's own
    marks: the page opens, shows them as text, runs nothing of them; an existing page is kept without --overwrite.
    The page's scripts hold no `</script` that would end their block early."""
    scripts = sorted((ROOT / "plugin" / "soundstage" / "export" / "native").glob("*.js"))
    assert len(scripts) >= 4
    for script in scripts:
        text = script.read_text()
        assert "</script" not in text.lower() and "/*SSX_" not in text, script.name
    web_toolchain()
    chain = tmp_path / "odd.toml"
    chain.write_text(
        'format = 1\ndescription = "</script><img src=x onerror=window.pwned=1> /*SSX_WASM*/ /*SSX_SCRIPT*/"\n'
        '[[stages]]\ntype = "Gain"\nname = "trim"\nparameters = { gain_db = -3.0 }\n'
    )
    name = "Mix </script><img src=x onerror=window.pwned=1> & Co"
    page = export_plugin(chain, tmp_path / "out", formats=["web"], name=name).bundles["web"]
    open_page(browser, page.as_uri())
    assert browser.execute_script("return window.pwned") is None
    assert browser.find_element("id", "title").text == name
    assert "</script><img src=x onerror=window.pwned=1> /*SSX_WASM*/ /*SSX_SCRIPT*/" in browser.execute_script(
        "return document.getElementById('chain').textContent"
    )
    saved = tomllib.loads(_saved_chain(browser, bundle_stem(name)).read_text())  # the markup is data there too
    assert saved["description"] == "</script><img src=x onerror=window.pwned=1> /*SSX_WASM*/ /*SSX_SCRIPT*/"
    assert saved["stages"][0]["parameters"] == {"gain_db": -3.0, "invert": False}
    before = page.read_bytes()
    with pytest.raises(Exception, match="exists; pass --overwrite"):
        export_plugin(chain, tmp_path / "out", formats=["web"], name=name)
    assert page.read_bytes() == before


def test_every_pedalboard_builtin_plays_in_the_page_as_in_pedalboard(tmp_path: Path, browser: Any) -> None:
    """tests/export/builtins.toml (all 18 of pedalboard's built-ins, JUCE's float32 arithmetic in the engine) in the
    page against the chain in pedalboard: within -110 dB, the Windows build's figure (the C library's `sin`, `tanh`,
    `exp` and `pow` differ in the last bit between glibc and the WebAssembly one)."""
    web_toolchain()
    chain_file = ROOT / "tests" / "export" / "builtins.toml"
    page = export_plugin(chain_file, tmp_path, formats=["web"]).bundles["web"]
    open_page(browser, page.as_uri())
    audio = _mix(2.0, seed=21)
    figure = null_db(_render(browser, audio), load_chain(chain_file)(audio, RATE))
    print(f"\nbuilt-ins in the page vs pedalboard: {figure:.1f} dB")
    assert figure <= -110.0
