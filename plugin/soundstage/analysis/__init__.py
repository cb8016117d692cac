"""Analysis: measure designs and renders (bands, ITD, ILD, separation)."""

from soundstage.analysis.binaural import band_power, fractional_octave_bands, ild_db, itd_s

__all__ = ["band_power", "fractional_octave_bands", "ild_db", "itd_s"]
