"""The batch manifest: one JSON line per finished item, appended whole, beside the outputs.

An entry says what went in (the input's sha256, the chain file's, every plugin
file's and every file of the listener's head's sha256, the tail's seconds, the versions of soundstage,
pedalboard and the plugins), what came out (each output's name and sha256, its
integrated loudness and true peak), how long it took and on which worker, or why
it failed. ``--resume`` skips an item whose last entry is ``done`` for the same
input, chain, plugins, head and tail and whose outputs are still there unchanged;
anything else is rendered again.

Each line is written with one ``write`` on a file opened for appending and then
synced, so a batch stopped at any point leaves whole lines (a damaged last line,
from a machine that lost power, is skipped when read).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from soundstage.files import file_mode

__all__ = ["MANIFEST_NAME", "Manifest", "sha256_path"]

#: The manifest's file name in the output folder.
MANIFEST_NAME = "batch-manifest.jsonl"


def sha256_path(path: Path) -> str:
    """sha256 of a file, or of a bundle folder (its files' relative paths and contents, in sorted order)."""
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(file.relative_to(path)).encode("utf-8", "surrogateescape") + b"\0")
            _update(digest, file)
    else:
        _update(digest, path)
    return digest.hexdigest()


def _update(digest: Any, file: Path) -> None:
    with file.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)


class Manifest:
    """The JSON Lines manifest of a batch's output folder."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / MANIFEST_NAME

    def entries(self) -> dict[str, dict[str, Any]]:
        """The last entry of each item, by item name (none if there is no manifest yet)."""
        last: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return last
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash: the item is simply not done
            if isinstance(entry, dict) and isinstance(entry.get("item"), str):
                last[entry["item"]] = entry
        return last

    def append(self, entry: dict[str, Any]) -> None:
        """Append one entry as a whole line (one write, then fsync)."""
        line = (json.dumps(entry, sort_keys=True, allow_nan=False, default=str) + "\n").encode("utf-8")
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, file_mode(self.path))
        try:
            os.write(descriptor, line)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def is_current(self, entry: dict[str, Any] | None, wanted: dict[str, Any], folder: Path) -> bool:
        """Whether ``entry`` records this item done with the same inputs (``wanted``) and outputs still as written."""
        if not entry or entry.get("status") != "done":
            return False
        for key in ("input_sha256", "chain_sha256", "plugins"):
            if entry.get(key) != wanted.get(key):
                return False
        if (entry.get("hrtf") or []) != (wanted.get("hrtf") or []):  # entries from before heads had no "hrtf"
            return False
        if (entry.get("tail_s") or 0.0) != (wanted.get("tail_s") or 0.0):  # nor those from before tails a "tail_s"
            return False
        for output in entry.get("outputs", []):
            file = folder / str(output.get("path", ""))
            if not file.is_file() or sha256_path(file) != output.get("sha256"):
                return False
        return bool(entry.get("outputs"))
