"""Test helpers for BWF stems (re-exported from the package's writer)."""

from soundstage.session.bwf import add_bext, write_stem

__all__ = ["add_bext", "write_stem"]
