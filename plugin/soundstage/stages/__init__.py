"""soundstage's stages: one module per stage."""

from __future__ import annotations

from soundstage.host.processor import Processor
from soundstage.stages.gain import Gain

__all__ = ["Gain", "stage_types"]


def stage_types() -> dict[str, type[Processor]]:
    """The stage types a chain file may name, by type name (a new dict each call)."""
    return {cls.type_name: cls for cls in (Gain,)}
