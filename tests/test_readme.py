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


PACKAGE = Path(__file__).resolve().parents[1] / "plugin" / "soundstage"


def _top_level_modules() -> set[str]:
    """The package's top-level modules and subpackages, as files and folders (``cli``, ``files.py``)."""
    return {
        path.name
        for path in PACKAGE.iterdir()
        if not path.name.startswith("_") and (path.suffix == ".py" or (path / "__init__.py").exists())
    }


def test_the_path_of_a_sample_names_code_that_exists() -> None:
    """Every module, function and class "The path of a sample" names (``session.stems.StemReader.read``,
    ``stages.crosstalk.design_crosstalk_canceller`` ...) is there: a module split or a name moved shows here
    (it named ``session.render._Mixer`` after the render's streams had moved to ``session.streams``)."""
    import importlib

    diagram = README.split("### The path of a sample", 1)[1].split("```\n", 1)[1].split("```", 1)[0]
    roots = sorted(name.removesuffix(".py") for name in _top_level_modules())
    found_names = re.findall(rf"\b(?:{'|'.join(roots)})(?:\.[A-Za-z_]\w*)+", diagram)
    names = sorted({name for name in found_names if name.rsplit(".", 1)[-1] not in ("toml", "json", "wav")})  # files
    assert len(names) >= 15, names
    missing = []
    for name in names:
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):  # the longest importable module, then attributes
            try:
                found: object = importlib.import_module("soundstage." + ".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            for attribute in parts[cut:]:
                found = getattr(found, attribute, None)
            if found is None:
                missing.append(name)
            break
        else:
            missing.append(name)
    assert missing == []


def test_the_map_of_the_package_names_every_module_and_only_modules_that_exist() -> None:
    """The README's map of the package ("Layers": ``cli/``, ``fileio/``, ``finishing.py`` ...) names files and folders
    that are there, and every top-level module and folder of the package is on it."""
    layers = README.split("### Layers", 1)[1].split("```\n", 1)[1].split("```", 1)[0]
    named = {
        name.strip().rstrip("/")
        for line in layers.splitlines()
        if line[:1].strip()  # a line that starts a row (the rest are its text, indented)
        for name in line.split("  ", 1)[0].split(",")
    }
    missing = sorted(name for name in named if not (PACKAGE / name).exists())
    assert missing == [] and sorted(_top_level_modules() - named) == []
