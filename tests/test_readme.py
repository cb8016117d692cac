"""The README stays true: its quickstart commands and its Python example run."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_quickstart_has_exactly_two_commands() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quickstart, flags=re.S)
    assert commands == [
        "python3 -m venv .venv && .venv/bin/python -m pip install -e . && .venv/bin/soundstage demo",
        'python3 -m venv .venv && .venv/bin/python -m pip install -e ".[test]" && .venv/bin/python -m pytest -n auto',
    ]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert 'bash -c "$first"' in ci and 'bash -c "$second"' in ci  # CI runs both, read from this README


def test_python_example_runs(stereo_gain_path: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code = README.split("## In Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    # the example names a commercial limiter; the DPF test plugin stands in for it
    code = code.replace('"/usr/lib/vst3/MyLimiter.vst3"', repr(str(stereo_gain_path)))
    code = code.replace("limiter.ceiling_db", "limiter.gain_db")
    (tmp_path / "chains").mkdir()
    monkeypatch.chdir(tmp_path)
    namespace = {"audio": (0.1 * np.random.default_rng(0).standard_normal((2, 4800))).astype(np.float32)}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["out"].shape == (2, 4800)


def test_spatial_example_runs() -> None:
    from soundstage.acoustics.hrtf import DEFAULT_SOFA

    code = README.split("## Spatial stages", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    if not DEFAULT_SOFA.exists():
        code = code.replace('hrtf="/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa"', 'hrtf="model"')
    namespace = {"stereo": (0.1 * np.random.default_rng(0).standard_normal((2, 9600))).astype(np.float32)}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["feeds"].shape == (5, 9600)
    assert namespace["on_headphones"].shape == (2, 9600) and namespace["reference"].shape == (2, 9600)
