"""``Virtualizer``: crosstalk simulation of a stereo pair at +-``azimuth_deg``.

For each input channel the ipsilateral ear gets an all-pass path (a pure delay:
flat magnitude) and the contralateral ear a delayed low-pass path: the head
model's contralateral / ipsilateral magnitude ratio (the head shadow), made
linear-phase, delayed by the model's interaural time difference. On headphones
this is the whole effect; before a crosstalk canceller it defines the ear
signals the device must reproduce.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft

from soundstage.acoustics.geometry import direction
from soundstage.acoustics.head import BlendedSphereHead, HeadAndTorso, HybridSphereHead, RigidSphereHead, SphericalHead
from soundstage.acoustics.hrtf import HeadChoice, HrtfSet
from soundstage.designstore import one_blas_thread
from soundstage.dsp.delay import DelayLine
from soundstage.dsp.fir import CrossfadingFir
from soundstage.dsp.spans import span
from soundstage.host.parameters import ParameterSpec
from soundstage.host.processor import Processor

__all__ = ["Virtualizer", "VirtualizerDesign", "design_virtualizer"]

#: Samples of common delay so the linear-phase contralateral filter is causal, and the filter's length: both
#: at 48 kHz (:func:`~soundstage.dsp.spans.span` gives them at other rates).
BULK_DELAY = 64
TAPS = 256


@dataclass(frozen=True)
class VirtualizerDesign:
    """Filters of a virtualizer.

    Attributes
    ----------
    contralateral : ndarray, shape (taps,)
        Impulse response from an input to the opposite ear (crossfeed 1.0).
    delay_samples : int
        Common delay of both paths; the ipsilateral path is exactly this delay.
    itd_s : float
        Interaural time difference built into the contralateral path, seconds.
    sample_rate : float
        Hz.
    """

    contralateral: np.ndarray
    delay_samples: int
    itd_s: float
    sample_rate: float

    def ear_filters(self, crossfeed: float = 1.0) -> np.ndarray:
        """The full 2x2 filter matrix (ears x inputs, taps) for a crossfeed amount."""
        taps = len(self.contralateral)
        ipsi = np.zeros(taps)
        ipsi[self.delay_samples] = 1.0
        contra = crossfeed * self.contralateral
        return np.array([[ipsi, contra], [contra, ipsi]])


@one_blas_thread()  # the same bits as a stage's design, whatever BLAS's threads (designstore.one_blas_thread)
def design_virtualizer(
    sample_rate: float,
    *,
    azimuth_deg: float = 30.0,
    head_radius_m: float = 0.0875,
    head: HybridSphereHead | SphericalHead | RigidSphereHead | BlendedSphereHead | HeadAndTorso | HrtfSet | None = None,
    taps: int | None = None,
    delay_samples: int | None = None,
) -> VirtualizerDesign:
    """Design the crossfeed path of a virtual speaker pair at +-``azimuth_deg`` (pure function).

    The contralateral filter has the magnitude of the head's contralateral /
    ipsilateral ratio for a source at ``azimuth_deg`` and linear phase, delayed by
    ``delay_samples`` plus the head's ITD. The head is the package's head model
    (:class:`~soundstage.acoustics.head.HybridSphereHead`, ``head_radius_m``) unless
    ``head`` gives another, e.g. a measured :class:`~soundstage.acoustics.hrtf.HrtfSet`
    at ``sample_rate`` (its ITD is the difference of the ears' onsets). Brown & Duda's
    models' ITD is Woodworth's (the path around the sphere); the exact sphere and the
    head model, whose timing is the sphere's, take the complex ear ratio itself.

    Examples
    --------
    >>> design = design_virtualizer(48000)
    >>> round(design.itd_s * 1e6)
    399
    """
    head = head if head is not None else HybridSphereHead(radius_m=head_radius_m)
    n = taps if taps is not None else span(TAPS, sample_rate)
    delay_samples = delay_samples if delay_samples is not None else span(BULK_DELAY, sample_rate)
    frequencies = np.fft.rfftfreq(n, 1 / sample_rate)
    responses = head.ear_responses(frequencies, direction(azimuth_deg)[None])[:, 0]  # (2, F): left (ipsi), right
    if isinstance(head, (SphericalHead, BlendedSphereHead)):  # the head's level ratio, linear phase, the Woodworth ITD
        woodworth = SphericalHead(head.radius_m, head.ear_azimuth_deg)
        theta = woodworth.incidence(direction(azimuth_deg)[None])[:, 0]
        itd = float(woodworth.delay_s(theta[1:2])[0] - woodworth.delay_s(theta[0:1])[0])
        ratio = np.abs(responses[1]) / np.maximum(np.abs(responses[0]), 1e-12)
        spectrum = ratio * np.exp(-2j * np.pi * frequencies * (delay_samples + itd * sample_rate) / sample_rate)
    elif isinstance(head, (HrtfSet, RigidSphereHead, HybridSphereHead, HeadAndTorso)):
        # the complex contra/ipsi ratio: its frequency-dependent ITD
        if isinstance(head, HrtfSet):
            arrival = head.arrival_s(azimuth_deg)
            itd = float(arrival[1] - arrival[0])
        else:  # the exact sphere's delay at 500 Hz, where the ITD is judged (Kuhn: 1.5x Woodworth's below it)
            at = head.ear_responses(np.array([500.0]), direction(azimuth_deg)[None])[:, 0, 0]
            itd = float(np.angle(at[0] / at[1]) / (2 * np.pi * 500.0))
        floor = (1e-3 * np.abs(responses[0]).max()) ** 2
        ratio = responses[1] * np.conj(responses[0]) / (np.abs(responses[0]) ** 2 + floor)
        spectrum = ratio * np.exp(-2j * np.pi * frequencies * delay_samples / sample_rate)
    else:
        raise TypeError(f"design_virtualizer: head must be a head model or an HrtfSet, got {type(head).__name__}")
    impulse = scipy.fft.irfft(spectrum, n=n)
    # taper the far ends (the linear-phase response is short; this removes wrap-around)
    window = np.ones(n)
    fade = delay_samples // 2
    window[:fade] = np.sin(np.linspace(0, np.pi / 2, fade)) ** 2
    window[n - 2 * fade :] = np.cos(np.linspace(0, np.pi / 2, 2 * fade)) ** 2
    return VirtualizerDesign(impulse * window, int(delay_samples), itd, float(sample_rate))


class Virtualizer(Processor):
    """Crosstalk simulation: a stereo pair at +-``azimuth_deg`` heard through a head (model or measured).

    Parameters
    ----------
    hrtf : str
        ``"model"`` (the head model, the default), ``"brown-duda"``, ``"rigid-sphere"``, ``"blended-sphere"``,
        ``"head-and-torso"`` (see :class:`~soundstage.acoustics.hrtf.HeadChoice`), or the path of a SOFA file:
        the level and time differences of a measured (e.g. your own, personalized)
        head instead; of several SOFA files, the first (configuration).
    azimuth_deg : float, 5..90 deg
        Angle of the virtual speakers. Default 30.
    head_radius_m : float, 0.05..0.12 m
        Head radius of the head models (not of a SOFA file). Default 0.0875.
    crossfeed : float, 0..1
        Amount of the contralateral path (0: none, 1: the head model's). Ramps
        over 20 ms when changed.

    Examples
    --------
    >>> import numpy as np
    >>> out = Virtualizer()(np.stack([np.ones(4800), np.zeros(4800)]), 48000)
    >>> out.shape
    (2, 4800)
    """

    config_keys = ("hrtf",)
    input_channels = 2
    #: The FIR engine's partition at 48 kHz, its latency (the same time at other rates: :func:`~soundstage.dsp.spans.span`).
    PARTITION = 256
    output_channels = 2
    parameter_specs = (
        ParameterSpec("azimuth_deg", 30.0, 5.0, 90.0, unit="deg", description="Angle of the virtual speakers"),
        ParameterSpec("head_radius_m", 0.0875, 0.05, 0.12, unit="m", description="Head radius of the model"),
        ParameterSpec("crossfeed", 1.0, 0.0, 1.0, smoothing_ms=20.0, description="Amount of the contralateral path"),
    )

    def __init__(
        self,
        *,
        hrtf: str | Sequence[str] = "model",
        azimuth_deg: float = 30.0,
        head_radius_m: float = 0.0875,
        crossfeed: float = 1.0,
    ) -> None:
        self._heads = HeadChoice(hrtf)  # a bad SOFA file fails here, not mid-stream
        self.hrtf = self._heads.hrtf  # a model or file name, or several files (a tuple)
        super().__init__(azimuth_deg=azimuth_deg, head_radius_m=head_radius_m, crossfeed=crossfeed)
        self._fir: CrossfadingFir | None = None
        self._direct: DelayLine | None = None
        self.partition_size = self.PARTITION  # at 48 kHz until a stream opens at another rate

    def design(self, sample_rate: float) -> VirtualizerDesign:
        """The current design at a sample rate."""
        head = self._heads.head(sample_rate, self.float_value("head_radius_m"))
        return design_virtualizer(sample_rate, azimuth_deg=self.float_value("azimuth_deg"), head=head)

    @property
    def hrtf_source(self) -> str:
        """Where the ears come from, with any conversion (resampling) applied."""
        return self._heads.source(self._sample_rate, self.float_value("head_radius_m"))

    def contralateral_filters(self, sample_rate: float) -> np.ndarray:
        """The filter matrix (2 ears, 2 inputs, taps) the stage's FIR runs: each input's contralateral path."""
        return self._contra_matrix(self.design(sample_rate))

    def _contra_matrix(self, design: VirtualizerDesign) -> np.ndarray:
        h = design.contralateral
        zero = np.zeros_like(h)
        return np.array([[zero, h], [h, zero]])  # left ear <- right input, right ear <- left input

    @property
    def latency_samples(self) -> int:
        return span(BULK_DELAY, self._sample_rate or 48000.0) + self.partition_size

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        self.partition_size = span(self.PARTITION, sample_rate)
        design = self.design(sample_rate)
        self._fir = CrossfadingFir(
            self._contra_matrix(design), partition_size=self.partition_size, fade_samples=int(0.02 * sample_rate)
        )
        self._direct = DelayLine(2, design.delay_samples + self.partition_size)

    def _parameter_changed(self, name: str) -> None:
        if name in ("azimuth_deg", "head_radius_m") and self._fir is not None and self._sample_rate is not None:
            self._fir.set_filters(self._contra_matrix(self.design(self._sample_rate)))

    def _config(self) -> dict[str, Any]:
        return {"hrtf": self.hrtf} if self.hrtf != "model" else {}

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        assert self._fir is not None and self._direct is not None
        crossfeed = self._smoothed("crossfeed", block.shape[1]).astype(np.float32)
        return (self._direct.process(block) + crossfeed * self._fir.process(block)).astype(np.float32)
