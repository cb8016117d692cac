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

import numpy as np
import pedalboard
import pytest
import soundfile

from export.host import null_db, set_knob
from helpers import open_page, plugin_toolchain, tool, web_toolchain
from soundstage import Chain, load_chain
from soundstage.analysis.device import reference_for
from soundstage.analysis.loudness import LoudnessMeter
from soundstage.cli import main
from soundstage.export import export_plugin

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
    device_lufs, reference_lufs = _lufs(chain(audio, RATE)), python_lufs
    gains = browser.execute_script("return window.soundstage.gains")
    quieter = min(device_lufs, reference_lufs)
    print(f"opened: {text!r}; Python: device {device_lufs:.2f}, reference {reference_lufs:.2f} LUFS")
    for side, lufs in (("device", device_lufs), ("reference", reference_lufs)):
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


def test_a_file_the_chain_cannot_take_is_named_with_the_fix(
    exported: dict[str, dict[str, Path]], browser: Any, tmp_path: Path
) -> None:
    """A 5.1 file into a stereo chain, and a file that is no audio: one line naming the file and what to do; a mono
    file plays on both inputs (dual mono)."""
    surround, junk, mono = tmp_path / "bed.wav", tmp_path / "notes.wav", tmp_path / "voice.wav"
    soundfile.write(surround, np.zeros((4800, 6), np.float32), RATE)
    junk.write_text("not audio")
    soundfile.write(mono, np.full(4800, 0.1, np.float32), RATE)
    open_page(browser, exported["studio-5-binaural"]["web"].as_uri())
    for path, words in (
        (surround, "bed.wav: 6 channels, but the chain takes 2; fold it down first"),
        (junk, "notes.wav: this browser cannot decode it; convert it to WAV first"),
    ):
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
    """A plugin name and a chain file whose text holds `</script>` and an `<img onerror>`: the page opens, shows them
    as text, runs nothing of them; an existing page is kept without --overwrite."""
    web_toolchain()
    chain = tmp_path / "odd.toml"
    chain.write_text(
        'format = 1\ndescription = "</script><img src=x onerror=window.pwned=1>"\n'
        '[[stages]]\ntype = "Gain"\nname = "trim"\nparameters = { gain_db = -3.0 }\n'
    )
    name = "Mix </script><img src=x onerror=window.pwned=1> & Co"
    page = export_plugin(chain, tmp_path / "out", formats=["web"], name=name).bundles["web"]
    open_page(browser, page.as_uri())
    assert browser.execute_script("return window.pwned") is None
    assert browser.find_element("id", "title").text == name
    assert "</script><img src=x onerror=window.pwned=1>" in browser.execute_script(
        "return document.getElementById('chain').textContent"
    )
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
