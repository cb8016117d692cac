"""Every public name is importable and documented."""

import importlib

import pytest

import soundstage


@pytest.mark.parametrize("name", soundstage.__all__)
def test_public_name_imports_and_has_a_docstring(name: str) -> None:
    module = importlib.import_module("soundstage")
    assert hasattr(module, name)
    value = getattr(module, name)
    if callable(value) and name not in ("ANY",):
        assert (value.__doc__ or "").strip(), f"{name} has no docstring"


def test_package_is_typed() -> None:
    from pathlib import Path

    assert (Path(soundstage.__file__).parent / "py.typed").exists()


def _modules() -> list[str]:
    import pkgutil

    return sorted(info.name for info in pkgutil.walk_packages(soundstage.__path__, "soundstage."))


@pytest.mark.parametrize("module_name", _modules())
def test_docstring_examples_run(module_name: str) -> None:
    """The Examples sections are runnable: every doctest in the package passes."""
    import doctest

    result = doctest.testmod(importlib.import_module(module_name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
