"""What every build of an export shares: its error, and one compiler call whose failure is one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

from soundstage.errors import SoundstageError

__all__ = ["BuildError", "run"]


class BuildError(SoundstageError):
    """A plugin could not be built (a missing tool, or the compiler failed)."""


def run(command: list[str], what: str, cwd: Path | None = None, hint: str = "") -> None:
    """Run ``command`` (in ``cwd``); if it fails, a :class:`BuildError` naming ``what``, the compiler's first error
    line and ``hint``."""
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()] or ["(no output)"]
        first_error = next((line for line in lines if "error" in line.lower()), lines[-1])  # not the caret line under it
        raise BuildError(f"building {what} failed: {first_error} (command: {' '.join(command[:3])} ...){hint}")
