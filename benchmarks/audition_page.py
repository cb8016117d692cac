"""How fast the demo session's audition page opens in a real browser (headless chromium).

Target (issue 15): under 2 s from the request to a page with every file decoded
and every picture drawn. The demo session is rendered first (not timed).

    python benchmarks/audition_page.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from soundstage.audition import AuditionServer
from soundstage.demo import run_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        raise SystemExit("needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "demo"
        assert run_demo(folder, overwrite=False) == 0
        renders = next(path.parent for path in folder.rglob("index.html"))
        options = Options()
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu"):
            options.add_argument(argument)
        options.binary_location = shutil.which("chromium")
        driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
        times = []
        try:
            with AuditionServer(renders) as server:
                for _ in range(args.rounds):
                    start = time.perf_counter()
                    driver.get(server.url)
                    while driver.execute_script("return document.body.dataset.ready") != "true":
                        if time.perf_counter() - start > 60:
                            raise SystemExit("the page did not become ready in 60 s")
                        time.sleep(0.01)
                    times.append(time.perf_counter() - start)
                files, entries = driver.execute_script("const s = window.soundstage; return [s.decoded.length, s.files.length]")
        finally:
            driver.quit()
    print(
        f"demo audition page: {files} files decoded and drawn ({entries} to choose from) in {min(times):.2f} s "
        f"(best of {len(times)}; target < 2 s)"
    )


if __name__ == "__main__":
    main()
