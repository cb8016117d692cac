"""Build the DPF test plugins into VST3 bundles (used by tests/conftest.py).

Run on its own to build them into a folder:  python tests/vst3/build.py OUTDIR

Each plugin is one g++ call against Debian's dpf-source (/usr/share/dpf); bundles
are cached by a hash of the sources and the compiler, so a second run is instant.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from soundstage.export.build import compile_command

HERE = Path(__file__).resolve().parent
DPF = Path(os.environ.get("SOUNDSTAGE_DPF", "/usr/share/dpf"))
PLUGINS = {"ssgain": "SSGain", "ssmono": "SSMono", "sssynth": "SSSynth", "ssprograms": "SSPrograms", "sscrash": "SSCrash"}


def missing_tools() -> str | None:
    """Why the plugins cannot be built here, or None if they can."""
    if shutil.which("g++") is None:
        return "g++ is not installed (Debian: apt-get install g++)"
    if not (DPF / "distrho" / "DistrhoPluginMain.cpp").exists():
        return f"the DISTRHO Plugin Framework is not at {DPF} (Debian: apt-get install dpf-source)"
    return None


def _digest(source_dir: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(source_dir.iterdir()):
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    digest.update(str(DPF).encode())
    return digest.hexdigest()[:16]


def build_plugin(key: str, out_dir: Path) -> Path:
    """Build one plugin (if its cached bundle is stale) and return the .vst3 bundle path."""
    name = PLUGINS[key]
    source_dir = HERE / key
    bundle = out_dir / f"{name}.vst3"
    binary = bundle / "Contents" / "x86_64-linux" / f"{name}.so"
    stamp = bundle / ".source-digest"
    digest = _digest(source_dir)
    if binary.exists() and stamp.exists() and stamp.read_text() == digest:
        return bundle
    if bundle.exists():
        shutil.rmtree(bundle)
    binary.parent.mkdir(parents=True)
    command = compile_command("vst3", [source_dir / f"{key}.cpp"], [source_dir], {}, binary)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"building {name}.vst3 failed:\n{' '.join(command)}\n{result.stderr[-4000:]}")
    stamp.write_text(digest)
    return bundle


def build_all(out_dir: Path) -> dict[str, Path]:
    """Build every test plugin into ``out_dir``; returns key -> bundle path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".lock", "a") as lock:  # test workers side by side: one builds, the others wait and find it built
        fcntl.flock(lock, fcntl.LOCK_EX)
        return {key: build_plugin(key, out_dir) for key in PLUGINS}


if __name__ == "__main__":
    reason = missing_tools()
    if reason:
        sys.exit(f"cannot build: {reason}")
    for key, path in build_all(Path(sys.argv[1] if len(sys.argv) > 1 else HERE.parent / ".vst3-build")).items():
        print(key, path)
