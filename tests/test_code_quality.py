"""The package stays typed (mypy) and lint-clean (ruff), as STYLE.md asks."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_is_clean() -> None:
    pytest.importorskip("mypy", reason="mypy is in the test extras: pip install -e '.[test]'")
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean() -> None:
    # the venv's own ruff first: the README runs `.venv/bin/python -m pytest` without activating the venv
    beside = Path(sys.executable).parent / "ruff"
    ruff = str(beside) if beside.is_file() else shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is in the test extras: pip install -e '.[test]'")
    result = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


#: STYLE.md #11: small modules with one topic each ("aim well under ~600 lines"); one that grows past is split by topic.
MODULE_LINES = 600


#: What codespell reads: all the project writes for its users and maintainers but the tests (which spell keys wrong and
#: British on purpose, to check what soundstage says to them).
SPELLED = ["plugin/soundstage", "chains", "session_files", "README.md", "pyproject.toml", "benchmarks", ".ci"]


def test_one_spelling_and_no_typos() -> None:
    """STYLE.md #20, one spelling in names, keys and messages: American ("center", not "centre"; a message said
    "the device's centre" and another "0 (centre)"), and no typos; codespell's dictionaries, set in pyproject.toml."""
    beside = Path(sys.executable).parent / "codespell"
    codespell = str(beside) if beside.is_file() else shutil.which("codespell")
    if codespell is None:
        pytest.skip("codespell is in the test extras: pip install -e '.[test]'")
    result = subprocess.run([codespell, *SPELLED], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_module_is_small() -> None:
    """Every Python module of the package, and every C++ and JavaScript source of the exported plugin and page, is under
    :data:`MODULE_LINES` lines (cli.py had grown to 1857, fileio.py to 1562, session/render.py to 1313,
    export/native/engine.hpp to 2367)."""
    package = ROOT / "plugin" / "soundstage"
    sources = sorted(path for pattern in ("*.py", "*.hpp", "*.cpp", "*.js") for path in package.rglob(pattern))
    big = [
        f"{path.relative_to(package)}: {count} lines"
        for path in sources
        if (count := len(path.read_text(encoding="utf-8").splitlines())) >= MODULE_LINES
    ]
    assert sources and big == []


def test_the_native_sources_keep_to_the_line_length() -> None:
    """The exported plugin's C++ and the web page's HTML and JavaScript keep to ruff's 130 characters a line."""
    native = ROOT / "plugin" / "soundstage" / "export" / "native"
    long = [
        f"{path.name}:{number}"
        for path in sorted(native.iterdir())
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if len(line) > 130
    ]
    assert long == []


def test_the_layer_contracts_hold() -> None:
    """pyproject.toml's import-linter contracts: layers that only look down, no cycle among siblings."""
    pytest.importorskip("importlinter", reason="import-linter is in the test extras: pip install -e '.[test]'")
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT / "plugin")}
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0 and "0 broken" in result.stdout, result.stdout + result.stderr


def test_the_import_graph_has_no_cycle() -> None:
    """Between any two modules of the package (not only siblings): no way back from an import."""
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (test extras)")
    sys.path.insert(0, str(ROOT / "plugin"))
    graph = grimp.build_graph("soundstage")
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.append(" -> ".join([importer, *back]))
    assert not cycles, "\n".join(cycles)


def _function_level_imports() -> list[str]:
    """``module:line name`` of every import inside a function of the package."""
    import ast

    found = []
    for file in sorted((ROOT / "plugin" / "soundstage").rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        name = inner.module if isinstance(inner, ast.ImportFrom) else inner.names[0].name
                        found.append(f"{file.relative_to(ROOT)}:{inner.lineno} {name}")
    return found


def test_imports_sit_at_the_top_of_modules() -> None:
    """STYLE.md #15: no imports inside functions, except optional extras (matplotlib, pyroomacoustics, dask.distributed),
    libraries slow to load (scipy.signal, scipy.spatial, pyloudnorm, sofar: loaded on first use, so that a refused
    command says so at once) and the command line, which imports a subcommand's layers when that subcommand runs (a
    fast --help)."""
    optional = ("matplotlib", "pyroomacoustics", "distributed")
    slow = ("scipy.signal", "scipy.spatial", "scipy.fft", "pyloudnorm", "sofar")
    allowed = [
        entry
        for entry in _function_level_imports()
        if not entry.startswith("plugin/soundstage/cli/") and not entry.split()[-1].startswith(optional + slow)
    ]
    assert allowed == []


#: Names Python documents as public despite their underscore: os._exit ends a process whose thread is stuck in C
#: (soundstage.stalls), where sys.exit would wait for it.
DOCUMENTED_UNDERSCORES = {"os._exit"}
#: Other libraries' internals reached on purpose, each because their public API has no way to what it does:
#: pedalboard's list of a plugin's parameters (soundstage.host.external reads a costly one at fewer values than the
#: 1001 pedalboard's public ``parameters`` reads every one at: ZamVerb's load 100 s -> 3.4 s).
THIRD_PARTY_INTERNALS = {"plugin._parameters"}


def _private_reaches() -> list[str]:
    """Underscore names used outside the module that defines them (STYLE.md #16: a leading underscore means this module only).

    Flags ``from soundstage.x import _name`` and ``obj._name`` where ``obj`` is not
    ``self``/``cls``/``super()`` and ``_name`` is not defined in the same module
    (so other libraries' private attributes are flagged too). Protected hooks a
    subclass overrides (``self._process_block``) are the class's own business.
    """
    import ast

    found = []
    for file in sorted((ROOT / "plugin" / "soundstage").rglob("*.py")):
        tree = ast.parse(file.read_text())
        own = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
        for node in ast.walk(tree):
            where = f"{file.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("soundstage"):
                found += [f"{where} imports {node.module}.{alias.name}" for alias in node.names if alias.name.startswith("_")]
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                base = node.value
                if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                    continue
                if isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "super":
                    continue
                if node.attr not in own and ast.unparse(node) not in DOCUMENTED_UNDERSCORES | THIRD_PARTY_INTERNALS:
                    found.append(f"{where} {ast.unparse(node)}")
    return found


def test_public_is_public() -> None:
    assert _private_reaches() == []


def test_every_folder_of_the_package_is_listed_for_the_wheel() -> None:
    """pyproject.toml's packages name every folder of plugin/soundstage, data folders too (the device profiles, the
    plugins' sources): setuptools warns that a later version leaves out a folder it finds but is not told of."""
    from soundstage.tomlfile import parse_toml

    project = parse_toml((ROOT / "pyproject.toml").read_text(), "pyproject.toml")
    listed = set(project["tool"]["setuptools"]["packages"])
    package = ROOT / "plugin" / "soundstage"
    folders = {
        ".".join(("soundstage", *folder.relative_to(package).parts))
        for folder in [package, *package.rglob("*")]
        if folder.is_dir() and folder.name != "__pycache__"
    }
    assert folders - listed == set()
