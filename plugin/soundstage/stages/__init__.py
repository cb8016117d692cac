"""soundstage's stages: one module per stage.

A stage registers itself as a chain-file type when its class is defined
(:meth:`Processor.__init_subclass__ <soundstage.host.processor.Processor.__init_subclass__>`);
:func:`stage_types` lists them. Importing this package defines soundstage's own.
"""

from __future__ import annotations

from soundstage.host.processor import stage_types
from soundstage.stages.align import Align, alignment_samples, design_alignment
from soundstage.stages.beamformer import Beamformer, design_beamformer, design_matrix_mix
from soundstage.stages.crosstalk import CrosstalkCanceller, TargetCurve, design_crosstalk_canceller
from soundstage.stages.device import Spatializer
from soundstage.stages.gain import Gain
from soundstage.stages.monitors import BinauralMonitor, StereoReference, design_monitor
from soundstage.stages.upmix import Upmix
from soundstage.stages.virtualizer import Virtualizer, design_virtualizer

__all__ = [
    "Align",
    "Beamformer",
    "BinauralMonitor",
    "CrosstalkCanceller",
    "Gain",
    "Spatializer",
    "StereoReference",
    "TargetCurve",
    "Upmix",
    "Virtualizer",
    "alignment_samples",
    "design_alignment",
    "design_beamformer",
    "design_crosstalk_canceller",
    "design_matrix_mix",
    "design_monitor",
    "design_virtualizer",
    "stage_types",
]
