"""Speed of an exported web page's engine in a real browser (headless chromium) against the native plugin of the
same chain in pedalboard, in the same run.

For each preset (studio-5-binaural: stereo -> stereo; studio-5: stereo -> 5 feeds), exported as a VST3 and a web
page at 48 kHz:
  - the page opening from disk until it is ready (the engine and program decoded and checked): target < 2 s;
  - an offline render of noise in the page (its AudioWorklet in an OfflineAudioContext, 128-sample quanta, timed
    inside the browser) and the VST3 in one pedalboard call: real-time factors and their ratio. Target: the page
    >= 10x real time (a browser plays in real time at 1x; the rest is headroom for the tab and the machine).
Each figure is the best of ``--rounds`` runs. Needs g++, dpf-source, clang with the wasm32 libraries, chromium
and chromedriver.

    python benchmarks/web_page.py [--seconds 30] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pedalboard

from soundstage.export import export_plugin, missing_tools

SR = 48000
PRESETS = ("studio-5-binaural", "studio-5")
RENDER = """
const [seconds, done] = arguments;
const n = Math.round(seconds * 48000), config = window.soundstage.config;
const channels = Array.from({length: config.inputs}, () => Float32Array.from({length: n}, () => 0.1 * (Math.random() - 0.5)));
const start = performance.now();
window.soundstage.render(channels).then(() => done((performance.now() - start) / 1000), (e) => done("error: " + e));
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    missing = missing_tools(formats=("vst3", "web"))
    if missing:
        raise SystemExit(f"web page benchmark: {missing}")
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        raise SystemExit("needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver)")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium")
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(shutil.which("chromedriver")))
    driver.set_script_timeout(600)
    audio = (0.05 * np.random.default_rng(0).standard_normal((2, int(args.seconds * SR)))).astype(np.float32)
    print(f"{args.seconds:g} s of noise at 48 kHz, offline; best of {args.rounds}")
    try:
        with tempfile.TemporaryDirectory() as folder:
            for preset in PRESETS:
                result = export_plugin(preset, Path(folder), formats=["vst3", "web"], rates=[48000.0])
                bundles = result.bundles
                opened, page = [], []
                for _ in range(args.rounds):
                    start = time.perf_counter()
                    driver.get(bundles["web"].as_uri())
                    while driver.execute_script("return document.body.dataset.ready") != "true":
                        if time.perf_counter() - start > 60:
                            raise SystemExit(f"{preset}: the page did not become ready in 60 s")
                        time.sleep(0.01)
                    opened.append(time.perf_counter() - start)
                    took = driver.execute_async_script(RENDER, args.seconds)
                    if isinstance(took, str):
                        raise SystemExit(f"{preset}: {took}")
                    page.append(float(took))
                plugin = pedalboard.load_plugin(str(bundles["vst3"]))
                wide = np.zeros((max(result.program.inputs, result.program.outputs), audio.shape[1]), np.float32)
                wide[:2] = audio  # a VST3 that widens runs on one bus width: the mix on its first two channels
                native = []
                for _ in range(args.rounds):
                    start = time.perf_counter()
                    plugin(wide, SR)
                    native.append(time.perf_counter() - start)
                size = bundles["web"].stat().st_size / 2**20
                page_x, native_x = args.seconds / min(page), args.seconds / min(native)
                print(
                    f"{preset}: page ({size:.1f} MB) ready in {min(opened):.2f} s (target < 2 s); renders at "
                    f"{page_x:.0f}x real time (target >= 10x), the VST3 in pedalboard at {native_x:.0f}x: "
                    f"the page takes {native_x / page_x:.2f} times the plugin's time"
                )
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
