"""The audition page: a render writes it, `soundstage audition` serves its folder on 127.0.0.1 and nothing outside it."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile

from helpers import open_page
from soundstage.audition import AuditionServer
from soundstage.cli import main
from soundstage.errors import SoundstageError
from soundstage.session import render_session

SR = 48000


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("audition")
    noise = np.random.default_rng(3).standard_normal((4 * SR, 2)) * 0.05  # 4 s: short-term loudness needs 3
    soundfile.write(root / "stem.wav", noise, SR)
    (root / "session.toml").write_text(
        'format = 1\nsample_rate = 48000\n[[stems]]\npath = "stem.wav"\n'
        '[[renders]]\nname = "mix"\nkind = "mixdown"\nbit_depth = 24\n'
        '[[renders]]\nname = "ab"\nkind = "ab"\na = "stereo-reference"\nb = "headphones"\nbit_depth = 32\n'
    )
    render_session(root / "session.toml", root / "renders")
    (root / "secret.txt").write_text("not for the page")
    return root / "renders"


def _get(url_port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", url_port, timeout=10)
    connection.putrequest("GET", path, skip_accept_encoding=True)  # sent as given: no client-side normalisation
    connection.endheaders()
    response = connection.getresponse()
    return response.status, response.read()


def test_a_render_writes_a_self_contained_page_and_a_report_it_can_read(rendered: Path) -> None:
    page = (rendered / "index.html").read_text()
    assert "render-report.json" in page and "AudioContext" in page
    script = page.split("<script>")[1].replace("http://www.w3.org/2000/svg", "")  # the SVG namespace: a name, not a fetch
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", script), "the script fetches from the network"
    assert 'rel="stylesheet"' not in page and 'src="http' not in page and 'href="http' not in page  # all inline
    report = json.loads((rendered / "render-report.json").read_text())
    files = {o["file"]: (o["render"], o["role"]) for o in report["outputs"]}
    assert files == {"mix.wav": ("mix", ""), "ab-A.wav": ("ab", "A"), "ab-B.wav": ("ab", "B")}


def test_the_server_serves_the_folder_on_loopback_only(rendered: Path) -> None:
    with AuditionServer(rendered) as server:
        port = server.httpd.server_address[1]
        assert server.httpd.server_address[0] == "127.0.0.1" and server.url == f"http://127.0.0.1:{port}/index.html"
        assert _get(port, "/index.html")[0] == 200
        status, body = _get(port, "/render-report.json")
        assert status == 200 and json.loads(body)["outputs"]
        status, body = _get(port, "/ab-A.wav")
        assert status == 200 and body == (rendered / "ab-A.wav").read_bytes()
        for path in (
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/%252e%252e/secret.txt",
            "/..%2fsecret.txt",
            "/ab-A.wav/../../secret.txt",
        ):
            status, body = _get(port, path)
            assert status == 403 and b"not for the page" not in body, path
        for path in ("//etc/passwd", "/etc/passwd", "/%2Fetc%2Fpasswd"):
            status, body = _get(port, path)
            assert status in (403, 404) and b"root:" not in body, path
        os.symlink(rendered.parent / "secret.txt", rendered / "link.txt")
        try:
            assert _get(port, "/link.txt")[0] == 403  # a link leading out of the folder
        finally:
            (rendered / "link.txt").unlink()
        outside = [a for a in socket.gethostbyname_ex(socket.gethostname())[2] if not a.startswith("127.")]
        for address in outside:  # the machine's other addresses do not reach the server
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()


def test_audition_needs_a_rendered_folder(tmp_path: Path) -> None:
    with pytest.raises(SoundstageError, match=r"index\.html' does not exist; render the session first"):
        AuditionServer(tmp_path)


def test_audition_finds_the_render_from_what_the_user_gives(
    rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The session file, its folder, or the render folder itself (also one written with -o elsewhere) all serve that
    render. A path that does not exist is named as given (before: an index.html in a renders/ folder the user never
    named was said to be missing, and a render folder of another name was not found)."""
    import soundstage.audition

    served: list[Path] = []
    monkeypatch.setattr(soundstage.audition, "serve", lambda folder, **kwargs: served.append(folder.resolve()))
    elsewhere = tmp_path / "mix-v2"
    shutil.copytree(rendered, elsewhere)
    monkeypatch.chdir(rendered.parent)
    for given in ("session.toml", ".", "renders", "renders/", str(elsewhere)):
        assert main(["audition", given, "--no-open"]) == 0, capsys.readouterr().err
    assert served == [rendered] * 4 + [elsewhere]
    # the page itself, or a render beside it (a browser's address, a file name dragged in): the page's folder; any
    # other file is refused in one line (it looked for a renders/ folder beside it)
    for given in ("renders/index.html", str(elsewhere / "mix.wav")):
        assert main(["audition", given, "--no-open"]) == 0, capsys.readouterr().err
    assert served[-2:] == [rendered, elsewhere]
    del served[-2:]
    assert main(["audition", "stem.wav", "--no-open"]) == 2
    assert capsys.readouterr().err == (
        "soundstage: error: audition: 'stem.wav' is not a session file (.toml) nor in a folder a render wrote; give "
        "the session file that was rendered, its folder, or the folder the render wrote (with index.html)\n"
    )
    assert main(["audition", "../no-such-session.toml", "--no-open"]) == 2
    error = capsys.readouterr().err
    assert "audition: '../no-such-session.toml' does not exist; give the session file that was rendered" in error
    assert len(error.strip().splitlines()) == 1
    # -o is where the session's render went; beside a render folder given itself it was ignored in silence, and
    # beside a session that is not there as well
    assert main(["audition", "session.toml", "-o", str(elsewhere), "--no-open"]) == 0
    assert served[-1] == elsewhere
    assert main(["audition", "renders", "-o", str(elsewhere), "--no-open"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"soundstage: error: audition: 'renders' is a render folder itself and -o gives another ({str(elsewhere)!r}); "
        "give one of them"
    )
    assert main(["audition", "no-such.toml", "-o", str(elsewhere), "--no-open"]) == 2
    assert "audition: 'no-such.toml' does not exist" in capsys.readouterr().err
    assert len(served) == 6


def test_ctrl_c_stops_the_page_as_it_says(rendered: Path) -> None:
    """The page says "(Ctrl-C to stop)"; stopping it so was an interruption (exit 130, "interrupted; no output was
    written"). It is now a stop: exit 0."""
    import signal
    import subprocess
    import sys

    server = subprocess.Popen(
        [sys.executable, "-m", "soundstage.cli", "audition", str(rendered), "--no-open"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        assert "(Ctrl-C to stop)" in server.stdout.readline()
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    finally:
        server.kill()
    assert (server.returncode, out.strip(), err) == (0, "audition: stopped", "")


def test_the_page_in_a_real_browser(rendered: Path, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """No console errors; A/B keeps the play position; the matched switch moves the gain by the report's figure."""
    import time

    with AuditionServer(rendered) as server:
        open_page(browser, server.url)
        browser.execute_script("window.soundstage.context.resume()")
        browser.find_element("tag name", "body").send_keys(" ")  # play
        time.sleep(0.5)
        before = browser.execute_script(
            "const s = window.soundstage; return [s.context.currentTime, s.startedAt, s.offset, s.current]"
        )
        browser.find_element("id", "ab").click()
        after = browser.execute_script(
            "const s = window.soundstage; return [s.context.currentTime, s.startedAt, s.offset, s.current]"
        )
        # the position is the context clock minus the start plus the offset: unchanged start and offset, no jump
        jump_ms = 1000 * ((after[0] - after[1] + after[2]) - (before[0] - before[1] + before[2]) - (after[0] - before[0]))
        print(f"A/B switch: position moved {jump_ms:.3f} ms beyond the clock; file {before[3]} -> {after[3]}")
        assert after[3] != before[3] and abs(jump_ms) <= 10.0
        report = json.loads((rendered / "render-report.json").read_text())
        loudness = {o["file"]: o["integrated_lufs"] for o in report["outputs"]}
        current = browser.execute_script("return window.soundstage.files[window.soundstage.current].name")
        expected_db = min(loudness.values()) - loudness[current]
        matched = browser.execute_script("const s = window.soundstage; return s.files[s.current].gain.gain.value")
        browser.find_element("id", "matched").click()
        plain = browser.execute_script("const s = window.soundstage; return s.files[s.current].gain.gain.value")
        change_db = 20 * np.log10(matched / plain)
        print(f"matched switch on {current}: {change_db:.3f} dB (report: {expected_db:.3f} dB)")
        assert abs(change_db - expected_db) <= 0.1
        drawn = browser.execute_script(
            "return ['spectra', 'loudness', 'translation'].map(id => document.querySelectorAll('#' + id + ' polyline').length)"
        )
        rows = browser.execute_script(
            "return ['files', 'stems', 'chains'].map(id => document.querySelectorAll('#' + id + ' tbody tr').length)"
        )
        translation = browser.execute_script("return window.soundstage.translation")
        print(f"pictures (curves): {drawn}; table rows: {rows}; translation spread {translation['spread_db']:.1f} dB")
        assert drawn == [3, 3, 1] and rows == [3, 1, 2]
        assert "spread" in browser.find_element("id", "translation-figure").text
        shot = tmp_path / "audition.png"
        browser.save_screenshot(str(shot))
        print(f"screenshot: {shot}")
        assert shot.stat().st_size > 10_000
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []


@pytest.fixture(scope="module")
def device_rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("audition-device")
    noise = np.random.default_rng(4).standard_normal((3 * SR, 2)) * 0.05
    soundfile.write(root / "stem.wav", noise, SR)
    (root / "session.toml").write_text(
        'format = 1\nsample_rate = 48000\n[[stems]]\npath = "stem.wav"\n'
        '[[renders]]\nname = "feeds"\nkind = "device"\nchain = "studio-5"\nper_driver = true\nbit_depth = 32\n'
        '[[renders]]\nname = "all"\nkind = "device"\nchain = "studio-5"\nbit_depth = 32\n'
    )
    render_session(root / "session.toml", root / "renders")
    return root / "renders"


def test_device_figures_and_driver_feeds_in_a_real_browser(device_rendered: Path, browser) -> None:  # type: ignore[no-untyped-def]
    """Every device figure drawn; one driver or all of them summed plays exactly the files' samples; matched by the report."""

    report = json.loads((device_rendered / "render-report.json").read_text())
    with AuditionServer(device_rendered) as server:
        open_page(browser, server.url)
        counts = browser.execute_script(
            "return [...document.querySelectorAll('#device > div')].map(box => ["
            "box.querySelectorAll('svg[id$=separation] polyline').length, box.querySelectorAll('svg[id$=zone] rect').length,"
            "box.querySelectorAll('svg.beam polygon').length, box.querySelectorAll('table.width tr').length])"
        )
        assert counts == [[4, 55, 8, 4], [4, 55, 8, 4]]  # per device render: 4 curves, 5 x 11 seats, 4 polars x 2, 3 sources
        names = browser.execute_script("return window.soundstage.files.map(f => f.name)")
        # the per-driver render: 5 files and their sum; the 5-channel file: each channel and their sum
        assert names.count("feeds: drivers summed") == 1 and names.count("all: drivers summed") == 1
        assert [n for n in names if n.startswith("all.wav ch")] == [f"all.wav ch {c}" for c in range(1, 6)]
        feeds = {o["file"]: soundfile.read(device_rendered / o["file"], dtype="float32")[0] for o in report["outputs"]}
        per_driver = np.sum([audio for name, audio in feeds.items() if name.startswith("feeds-")], axis=0)
        seconds = 1.0
        n = int(seconds * SR)
        for name, expected in (
            ("feeds: drivers summed", per_driver),
            ("all: drivers summed", feeds["all.wav"].sum(axis=1)),
            ("all.wav ch 2", feeds["all.wav"][:, 1]),
            ("feeds-mid_left.wav", feeds["feeds-mid_left.wav"]),
        ):
            played = np.array(
                browser.execute_async_script(
                    "const done = arguments[arguments.length - 1];"
                    f"window.soundstageRenderEntry(window.soundstage.files.findIndex(f => f.name === {name!r}), {seconds})"
                    ".then(done)"
                )
            )
            error_db = 10 * np.log10(max(np.sum((played - expected[:n]) ** 2), 1e-30) / np.sum(expected[:n] ** 2))
            print(f"{name}: played against the files (soundfile) {error_db:.1f} dB")
            assert error_db <= -100.0, name
        summed = {r["name"]: r["summed_feeds_lufs"] for r in report["renders"]}
        quietest = min([o["integrated_lufs"] for o in report["outputs"] if o["channels"] <= 2] + list(summed.values()))
        index = browser.execute_script("return window.soundstage.files.findIndex(f => f.name === 'feeds: drivers summed')")
        assert browser.execute_script("return window.soundstage.current") != index
        browser.execute_script(f"document.querySelectorAll('#files tbody tr')[{index}].click()")
        gain = browser.execute_script("const s = window.soundstage; return s.files[s.current].gain.gain.value")
        print(f"drivers summed: match {20 * np.log10(gain):.3f} dB (report: {quietest - summed['feeds']:.3f} dB)")
        assert abs(20 * np.log10(gain) - (quietest - summed["feeds"])) <= 0.1
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []


def test_a_render_the_browser_cannot_decode_leaves_the_others_playable(tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]
    """Chromium (and Firefox) do not decode AIFF: one AIFF render stopped the whole page ("EncodingError: Unable to
    decode audio data", nothing playable). Now that file is named with the fix and struck out, and the WAV and FLAC
    renders play their files' samples."""
    import time

    noise = np.random.default_rng(5).standard_normal((2 * SR, 2)) * 0.05
    soundfile.write(tmp_path / "stem.wav", noise, SR)
    (tmp_path / "session.toml").write_text(
        'format = 1\nsample_rate = 48000\n[[stems]]\npath = "stem.wav"\n'
        '[[renders]]\nname = "aiff"\nformat = "aiff"\nbit_depth = 24\n'
        '[[renders]]\nname = "wav"\nbit_depth = 32\n[[renders]]\nname = "flac"\nformat = "flac"\n'
    )
    render_session(tmp_path / "session.toml", tmp_path / "renders")
    with AuditionServer(tmp_path / "renders") as server:
        open_page(browser, server.url)
        error = browser.find_element("id", "error").text
        assert error.startswith("aiff.aiff: this browser does not decode AIFF") and "render it as wav or flac" in error
        names = browser.execute_script("return window.soundstage.files.map(f => [f.name, f.playable])")
        assert names == [["aiff.aiff", False], ["wav.wav", True], ["flac.flac", True]]
        assert browser.execute_script("return document.querySelector('#files tbody tr').classList.contains('unplayable')")
        assert browser.execute_script("return window.soundstage.current") == 1  # a playable file is selected
        for index, name in ((1, "wav.wav"), (2, "flac.flac")):
            played = np.array(browser.execute_async_script(
                f"const done = arguments[0]; window.soundstageRenderEntry({index}, 0.5).then(done)"))  # fmt: skip
            samples = soundfile.read(tmp_path / "renders" / name, dtype="float32")[0][: played.size, 0]
            assert np.abs(played - samples).max() < 1e-6, name
        browser.execute_script("window.soundstage.context.resume()")
        browser.find_element("tag name", "body").send_keys(" ")  # play
        time.sleep(0.3)
        assert browser.execute_script("return window.soundstage.playing") is True
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_past_its_memory_budget_the_page_decodes_what_is_selected(tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]
    """Every file was decoded at the start (float32: an hour-long mix's renders are many GB, past what a tab holds).
    Past the budget (here ?budget_mb=1 for four 1.5 MB files) only the selected pair is decoded, a newly selected
    entry is decoded then, playback going on at the same position, and the least recently used file is released;
    each entry still plays its file's samples."""
    import time

    noise = np.random.default_rng(6).standard_normal((2 * SR, 2)) * 0.05
    soundfile.write(tmp_path / "stem.wav", noise, SR)
    (tmp_path / "session.toml").write_text(
        'format = 1\nsample_rate = 48000\n[[stems]]\npath = "stem.wav"\n'
        + "".join(f'[[renders]]\nname = "r{i}"\nbit_depth = 32\n' for i in range(4))
    )
    render_session(tmp_path / "session.toml", tmp_path / "renders")

    def held() -> list[int]:
        return browser.execute_script("return window.soundstage.decoded.flatMap((d, i) => d.buffer ? [i] : [])")

    def wait(condition: str) -> None:
        deadline = time.monotonic() + 30
        while not browser.execute_script(f"return {condition}") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert browser.execute_script(f"return {condition}"), condition

    with AuditionServer(tmp_path / "renders") as server:
        open_page(browser, server.url + "?budget_mb=1")
        assert browser.execute_script("return window.soundstage.lazy") is True
        assert held() == [0, 1]  # the selected pair only
        browser.execute_script("window.soundstage.context.resume()")
        browser.find_element("tag name", "body").send_keys(" ")  # play
        time.sleep(0.4)
        before = browser.execute_script("const s = window.soundstage; return s.context.currentTime - s.startedAt + s.offset")
        browser.find_elements("css selector", "#files tbody tr")[3].click()
        wait("window.soundstage.current === 3 && window.soundstage.playing")
        after = browser.execute_script(
            "const s = window.soundstage; return [s.context.currentTime - s.startedAt + s.offset, s.offset]"
        )
        assert before - 0.01 <= after[1] < before + 2.0  # goes on from where it was (the clock moves in 10 ms steps)
        assert held() == [0, 3]  # the new one and the one it was; file 1, least recently used, released
        for index in (3, 0):
            played = np.array(browser.execute_async_script(
                f"const done = arguments[0]; window.soundstageRenderEntry({index}, 0.5).then(done)"))  # fmt: skip
            samples = soundfile.read(tmp_path / "renders" / f"r{index}.wav", dtype="float32")[0][: played.size, 0]
            assert np.abs(played - samples).max() < 1e-6, index
        browser.find_element("id", "ab").click()  # back to 0: decoded, switched at once
        assert browser.execute_script("return window.soundstage.current") == 0
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
