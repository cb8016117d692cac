"""Shared fixtures: the DPF test plugins (built once per session) and test audio."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# The design store (soundstage.designstore) is off in tests, so each test designs what it checks and
# leaves nothing in the home folder; tests/test_designstore.py turns it on in a temporary folder.
os.environ["SOUNDSTAGE_DESIGN_CACHE"] = "off"

# An export's compiles go through ccache where it is installed (soundstage.export.toolchain). In tests, into a folder of
# the run's own, made by the process that starts the run and shared by its workers (they inherit it), removed at its
# end: the same objects compile once in a run, and nothing is left in the home folder.
if "SOUNDSTAGE_TESTS_CCACHE" not in os.environ:
    os.environ["SOUNDSTAGE_TESTS_CCACHE"] = os.environ["CCACHE_DIR"] = tempfile.mkdtemp(prefix="soundstage-tests-ccache-")
    atexit.register(shutil.rmtree, os.environ["CCACHE_DIR"], ignore_errors=True)


# Where the environment turns Python's bytecode cache off (PYTHONDONTWRITEBYTECODE, as some containers do), each of the
# hundreds of soundstage processes the suite starts (commands, batch workers) would compile the package's modules from
# source again: a tenth of a batch test's time. The run compiles them once, into the __pycache__ folders Python itself
# would write (.gitignore leaves them out), and only what changed since the last run.
if sys.dont_write_bytecode and "SOUNDSTAGE_TESTS_COMPILED" not in os.environ:
    import compileall

    import soundstage

    os.environ["SOUNDSTAGE_TESTS_COMPILED"] = "1"
    compileall.compile_dir(Path(soundstage.__file__).parent, quiet=2)


def _ignored_here_only(_signum: int, _frame: object) -> None:
    """Ignores a signal in the test process, as it was started; its children start with the default (see below)."""


# A suite started with `nohup`, or in the background by a shell without job control (`cmd &` in a script), inherits
# SIGHUP or SIGINT ignored, and so would every soundstage it starts: the tests that stop one with Ctrl-C or a hangup
# could not. A handler in its place keeps the suite itself as it was started, while each child starts with the
# default, as from a terminal (a handler is reset on exec; only "ignored" is inherited).
for _number in (signal.SIGINT, signal.SIGHUP):
    if signal.getsignal(_number) is signal.SIG_IGN:
        signal.signal(_number, _ignored_here_only)


sys.path.insert(0, str(Path(__file__).resolve().parent / "vst3"))
import build as vst3_build  # noqa: E402  (tests/vst3/build.py)

from realtime_lock import pytest_runtest_protocol  # noqa: E402, F401  (a hook: realtime tests run alone)
from worker_groups import (  # noqa: E402, F401  (hooks: tests sharing a fixture share a worker, the rest spread)
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_xdist_make_scheduler,
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's chromium through chromedriver, headless (skips without them; in CI their absence is a failure); what
    a page downloads goes into ``browser.downloads``, a folder of its own."""
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extras") if not missing else None
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no {' or '.join(missing)} in CI: .ci/run must install chromium and chromium-driver")
        pytest.skip(f"the browser tests need {' and '.join(missing)} (Debian: apt-get install chromium chromium-driver)")
    assert webdriver is not None
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.binary_location = shutil.which("chromium")
    downloads = tmp_path_factory.mktemp("downloads")
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(shutil.which("chromedriver")))
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def firefox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A second browser engine: Debian's Firefox ESR, headless, driven over its own Marionette protocol (Mozilla's
    marionette-driver; Debian packages no geckodriver). Skips without them; in CI their absence is a failure."""
    binary = shutil.which("firefox-esr") or shutil.which("firefox")
    marionette = pytest.importorskip("marionette_driver.marionette", reason="marionette-driver is in the test extras")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no Firefox in CI: .ci/run must install firefox-esr")
        pytest.skip("the Firefox tests need Firefox (Debian: apt-get install firefox-esr)")
    profile = tmp_path_factory.mktemp("firefox-profile")
    (profile / "user.js").write_text('user_pref("marionette.port", 0);\n')  # any free port: it writes the one it took
    process = subprocess.Popen(
        [binary, "--headless", "--marionette", "--no-remote", "--profile", str(profile), "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "MarionetteActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.1)
        client = marionette.Marionette(host="127.0.0.1", port=int(port_file.read_text()))
        client.start_session(timeout=60)
        yield client
        client.delete_session()
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def vst3_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder holding SSGain.vst3, SSMono.vst3, SSSynth.vst3, SSPrograms.vst3, built from tests/vst3/.

    Skips (with the reason) where g++ or dpf-source is missing; under CI
    (CI=true) a missing toolchain is a failure instead, so these tests cannot
    silently stop running there.
    """
    reason = vst3_build.missing_tools()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"VST3 test plugins cannot be built in CI: {reason}; .ci/run must install them")
        pytest.skip(f"VST3 test plugins cannot be built: {reason}")
    cache = Path(os.environ.get("SOUNDSTAGE_VST3_CACHE", Path(__file__).resolve().parent / ".vst3-build"))
    vst3_build.build_all(cache)
    return cache


def _jack_running() -> bool:
    if shutil.which("jack_wait") is None:
        return False
    probe = subprocess.run(["jack_wait", "-c"], capture_output=True, text=True, timeout=10)
    return "running" in probe.stdout and "not running" not in probe.stdout


@pytest.fixture(scope="session")
def jack_server() -> Iterator[None]:
    """A JACK server for real MIDI ports: the one running, or a dummy-driver one started here.

    Skips (with the reason) without ``jackd`` (Debian ``jackd2``); under CI a
    missing server is a failure: .ci/run installs and starts it.
    """
    if _jack_running():
        yield
        return
    if shutil.which("jackd") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no JACK server in CI: .ci/run must install jackd2 and start jackd")
        pytest.skip("needs a JACK server for real MIDI ports (Debian jackd2: jackd --no-realtime -d dummy)")
    server = subprocess.Popen(
        ["jackd", "--no-realtime", "-d", "dummy", "-r", "48000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 15
    while not _jack_running():
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            pytest.fail("jackd --no-realtime -d dummy did not start")
        time.sleep(0.2)
    yield
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def stereo_gain_path(vst3_dir: Path) -> Path:
    return vst3_dir / "SSGain.vst3"


@pytest.fixture
def mono_path(vst3_dir: Path) -> Path:
    return vst3_dir / "SSMono.vst3"


@pytest.fixture
def synth_path(vst3_dir: Path) -> Path:
    return vst3_dir / "SSSynth.vst3"


@pytest.fixture
def programs_path(vst3_dir: Path) -> Path:
    """A stereo gain with one program that takes 20 ms to load (tests/vst3/ssprograms)."""
    return vst3_dir / "SSPrograms.vst3"


#: Third-party VST3 plugins nobody here wrote: Debian's zam-plugins (Damien Zammit's ZAM suite, built with DPF).
ZAM_VST3 = Path("/usr/lib/vst3")


@pytest.fixture(scope="session")
def zam_dir() -> Path:
    """The folder of the ZAM VST3 plugins (skips without Debian's zam-plugins; fails in CI, where .ci/run installs it)."""
    if not all((ZAM_VST3 / f"{name}.vst3").is_dir() for name in ("ZaMaximX2", "ZamEQ2")):
        if os.environ.get("CI") == "true":
            pytest.fail(f"zam-plugins missing in CI (no ZaMaximX2.vst3 in {ZAM_VST3}): .ci/run must install it")
        pytest.skip(f"needs third-party VST3 plugins in {ZAM_VST3} (Debian: apt-get install zam-plugins)")
    return ZAM_VST3


@pytest.fixture(scope="session")
def kemar_path() -> str:
    """The MIT KEMAR SOFA file from Debian's libmysofa1 (skips without it; fails in CI)."""
    from soundstage.acoustics.hrtf import DEFAULT_SOFA

    if not DEFAULT_SOFA.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{DEFAULT_SOFA} missing in CI: .ci/run must install libmysofa1")
        pytest.skip(f"MIT KEMAR SOFA not at {DEFAULT_SOFA} (Debian: apt-get install libmysofa1)")
    return str(DEFAULT_SOFA)


@pytest.fixture
def noise() -> np.ndarray:
    """Two channels of 0.5 s of white noise at -10 dBFS RMS, float32, seeded."""
    rng = np.random.default_rng(1234)
    return (0.316 * rng.standard_normal((2, 24000))).astype(np.float32)
