"""Design lengths at any sample rate: what spans a time at 48 kHz spans that time at every rate.

The stages' lengths (a canceller's or a beam's taps, the upmix's frames, a modeling delay) are chosen at
48 kHz; 44.1 kHz shares them. The same number of samples at 96 kHz spans half the time, so a design there
was another design: a beam or a canceller lost its control of the low frequencies (the Beamformer's side
drivers 18-24 dB louder at 63 Hz at 192 kHz, the woofer's crossover 33 dB less steep at 500 Hz) and the
upmix's spectra had half the resolution. :func:`span` gives a length at another rate: the 48 kHz length
times the power of two nearest the rate's ratio to 48 kHz (2 at 88.2 and 96 kHz, 4 at 176.4 and 192 kHz,
8 at 352.8 and 384 kHz), and never less (a rate under 48 kHz keeps the 48 kHz lengths, a longer span).
Powers of two keep the FFT sizes fast and leave the designs at 44.1 and 48 kHz as they were.
"""

from __future__ import annotations

import math

__all__ = ["length_scale", "span"]

#: The rate the stages' lengths are chosen at.
DESIGN_RATE = 48000.0


def length_scale(sample_rate: float) -> int:
    """How many times its 48 kHz length a design takes at ``sample_rate``.

    >>> [length_scale(rate) for rate in (22050, 44100, 48000, 64000, 88200, 96000, 192000, 384000)]
    [1, 1, 1, 1, 2, 2, 4, 8]
    """
    ratio = float(sample_rate) / DESIGN_RATE
    return 2 ** max(0, round(math.log2(ratio))) if ratio > 1.0 else 1


def span(samples: int, sample_rate: float) -> int:
    """``samples`` (a length at 48 kHz) at ``sample_rate``: the same time, in that rate's samples.

    >>> span(2048, 96000), span(2048, 44100)
    (4096, 2048)
    """
    return int(samples) * length_scale(sample_rate)
