"""What every command prints alike: a progress bar, an error as one line, the hidden files a listing left out."""

from __future__ import annotations

import sys

from soundstage.errors import first_of

__all__ = ["one_line", "progress_bar", "say_hidden"]


def progress_bar(total: int, label: str):
    """A progress bar of ``total`` samples on standard error, drawn only where that is a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, unit="sample", unit_scale=True, desc=label, disable=not sys.stderr.isatty(), leave=False)


def one_line(error: BaseException) -> str:
    """An error's message on one line (its type's name where it has none), as the command prints it."""
    text = " ".join(str(error).split("\n"))
    return text.strip() or type(error).__name__


def say_hidden(names: list[str], what: str) -> None:
    """A line naming the hidden audio files a folder's listing left out, if any."""
    if names:
        print(f"left out {len(names)} hidden file(s) ({first_of(names, 3)}): not {what} (macOS writes ._ files beside audio)")
