"""The audition page a render writes beside its files (``index.html``).

The page is one self-contained file shipped in the package (``audition.html``:
HTML, styles and script, nothing fetched from the network). In a browser it
reads ``render-report.json`` and the audio files of its folder, decodes every
file once with Web Audio and plays them all on one clock, each through its own
gain: switching between renders (A/B) keeps the play position, and the
"matched" switch lowers each file to the quietest one's integrated loudness,
from the report's figures. ``soundstage audition`` serves the folder
(browsers do not fetch local files from a ``file://`` page).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from soundstage.files import write_text

__all__ = ["PAGE_NAME", "page_html", "write_page"]

#: The page's file name in a render's output folder.
PAGE_NAME = "index.html"


def page_html() -> str:
    """The audition page, as shipped in the package."""
    return importlib.resources.files("soundstage.session").joinpath("audition.html").read_text(encoding="utf-8")


def write_page(folder: Path) -> Path:
    """Write the audition page into ``folder`` (atomically); its path."""
    target = folder / PAGE_NAME
    write_text(target, page_html())
    return target
