"""``Upmix``: stereo -> left, right, center (2 -> 3), streaming in the STFT domain.

The center is the part of the mid signal ``(L + R) / 2`` that is common to both
channels at equal level, decided per time-frequency bin (after Avendano & Jot,
"A frequency-domain approach to multichannel upmix", JAES 52(7), 2004) from
recursively smoothed auto- and cross-spectra:

- inter-channel coherence ``|Phi_LR| / sqrt(Phi_LL Phi_RR)``: low for ambience and
  reverb (decorrelated), so they stay out of the center;
- level balance ``2 sqrt(Phi_LL Phi_RR) / (Phi_LL + Phi_RR)``: 1 for a source at the
  center, lower the further it is panned; ``center_width_db`` says how far a
  source may be panned and still count as center.

The center mask is the product of both gates (smooth steps), times
``center_amount`` and the band limits. ``L' = L - C`` and ``R' = R - C`` in the
time domain, so folding the three back down, ``L' + C`` and ``R' + C``,
reproduces the input exactly whatever the settings.
"""

from __future__ import annotations

import numpy as np

from soundstage.dsp.delay import DelayLine
from soundstage.dsp.spans import span
from soundstage.dsp.stft import StreamingStft
from soundstage.host.parameters import ParameterSpec
from soundstage.host.processor import Processor

__all__ = ["Upmix", "center_mask", "frame_sizes"]

#: The STFT's frame and hop at 48 kHz: 43 and 21 ms, bins 23.4 Hz apart; the same times at other rates
#: (:func:`frame_sizes`), so the masks are decided on the same spectra.
FFT_SIZE = 2048
HOP = 1024


def frame_sizes(sample_rate: float) -> tuple[int, int]:
    """The upmix's FFT size and hop, in samples at ``sample_rate`` (:func:`~soundstage.dsp.spans.span`)."""
    return span(FFT_SIZE, sample_rate), span(HOP, sample_rate)


def _smoothstep(x: np.ndarray, low: float, high: float) -> np.ndarray:
    t = np.asarray((x - low) / max(high - low, 1e-9))  # an array (out= below), also for a scalar x
    np.minimum(np.maximum(t, 0.0, out=t), 1.0, out=t)  # np.clip's result, without its overhead (a frame at a time)
    return t * t * (3 - 2 * t)


def _balance(level_difference_db: float) -> float:
    """Level balance of a coherent source panned ``level_difference_db`` off center."""
    r = 10 ** (level_difference_db / 20)
    return float(2 * r / (1 + r * r))


def center_mask(
    phi_ll: np.ndarray, phi_rr: np.ndarray, phi_lr: np.ndarray, *, width_db: float, amount: float = 1.0
) -> np.ndarray:
    """The center share of each bin (0..1) from smoothed auto- and cross-spectra (pure function)."""
    eps = 1e-20
    product = phi_ll * phi_rr
    coherence = np.abs(phi_lr) / np.sqrt(product + eps)
    balance = 2 * np.sqrt(product) / (phi_ll + phi_rr + eps)
    width = max(width_db, 0.1)
    pan_gate = _smoothstep(balance, _balance(2 * width), _balance(width))
    coherence_gate = _smoothstep(coherence, 0.6, 0.9)
    return np.asarray(amount * pan_gate * coherence_gate)


class Upmix(Processor):
    """Stereo to left, right and center: ``(L, R) -> (L', R', C)`` with ``L' + C = L``, ``R' + C = R``.

    Parameters
    ----------
    center_amount : float, 0..1
        How much of the detected center is extracted.
    center_width_db : float, 0.5..12 dB
        A source panned up to this level difference still counts as center;
        beyond twice this it does not.
    smoothing_ms : float, 5..500 ms
        Time constant of the spectral statistics.
    low_hz, high_hz : float
        Band in which a center is extracted (outside it everything stays in L'/R').

    Examples
    --------
    >>> import numpy as np
    >>> voice = np.sin(np.arange(48000) / 48000 * 2 * np.pi * 440)
    >>> out = Upmix()(np.stack([voice, voice]), 48000)
    >>> out.shape, bool(np.abs(out[2, 4800:-4800] - voice[4800:-4800]).max() < 0.01)
    ((3, 48000), True)
    """

    input_channels = 2
    output_channels = 3
    parameter_specs = (
        ParameterSpec("center_amount", 1.0, 0.0, 1.0, description="Share of the detected center that is extracted"),
        ParameterSpec(
            "center_width_db", 3.0, 0.5, 12.0, unit="dB", description="How far off center a source still counts as center"
        ),
        ParameterSpec("smoothing_ms", 40.0, 5.0, 500.0, unit="ms", scale="log", description="Time constant of the statistics"),
        ParameterSpec("low_hz", 80.0, 20.0, 2000.0, unit="Hz", scale="log", description="Lowest frequency of the center"),
        ParameterSpec("high_hz", 16000.0, 1000.0, 24000.0, unit="Hz", scale="log", description="Highest frequency of the center"),
    )

    def __init__(
        self,
        *,
        center_amount: float = 1.0,
        center_width_db: float = 3.0,
        smoothing_ms: float = 40.0,
        low_hz: float = 80.0,
        high_hz: float = 16000.0,
    ) -> None:
        super().__init__(
            center_amount=center_amount,
            center_width_db=center_width_db,
            smoothing_ms=smoothing_ms,
            low_hz=low_hz,
            high_hz=high_hz,
        )
        self._stft: StreamingStft | None = None
        self._dry: DelayLine | None = None

    @property
    def latency_samples(self) -> int:
        return frame_sizes(self._sample_rate or 48000.0)[0]

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        size, self._hop = frame_sizes(sample_rate)
        self._stft = StreamingStft(2, outputs=1, fft_size=size, hop=self._hop)
        self._dry = DelayLine(2, size)
        self._phi = np.zeros((4, size // 2 + 1), np.float32)  # smoothed Phi_LL, Phi_RR, Re Phi_LR, Im Phi_LR
        self._frequencies = np.fft.rfftfreq(size, 1 / sample_rate)

    def _band(self) -> np.ndarray:
        """The center band weights per bin (cached per sample rate and band limits)."""
        key = (self._sample_rate, self.float_value("low_hz"), self.float_value("high_hz"))
        if getattr(self, "_band_key", None) != key:
            f = np.maximum(self._frequencies, 1.0)
            # rising over the half octave above low_hz, falling over the half octave below high_hz
            self._band_weights = _smoothstep(np.log2(f / key[1]), 0.0, 0.5) * (1 - _smoothstep(np.log2(f / key[2]), -0.5, 0.0))
            self._band_key = key
        return self._band_weights

    def _frames(self, spectra: np.ndarray) -> np.ndarray:
        assert self._sample_rate is not None
        values = self._values
        decay = np.float32(np.exp(-self._hop / (float(values["smoothing_ms"]) * 1e-3 * self._sample_rate)))
        left, right = spectra[:, 0], spectra[:, 1]  # (frames, bins), complex64
        cross = left * np.conj(right)
        # Phi_LL, Phi_RR, Re and Im of Phi_LR: a one-pole average across frames per bin, state carried between
        # calls; written as a loop over frames (vectorized over bins), faster here than scipy's lfilter
        stats = np.empty((left.shape[0], 4, left.shape[1]), left.real.dtype)  # in place: a frame at a time (streaming)
        for row, spectrum in ((0, left), (1, right)):  # has little to compute, much to allocate
            np.square(spectrum.real, out=stats[:, row])
            stats[:, row] += np.square(spectrum.imag)
        stats[:, 2], stats[:, 3] = cross.real, cross.imag
        stats *= np.float32(1.0) - decay
        state = self._phi
        for frame in stats:  # (4, bins) views, smoothed in place
            state *= decay
            state += frame
            frame[...] = state
        mask = center_mask(
            stats[:, 0],
            stats[:, 1],
            # |Phi_LR|, all the mask needs of it; not np.hypot (8x slower in float32): the squares underflow only
            # below 1e-19, bins 250 dB under full scale, where the mask multiplies nothing
            np.sqrt(stats[:, 2] * stats[:, 2] + stats[:, 3] * stats[:, 3]),
            width_db=float(values["center_width_db"]),
            amount=float(values["center_amount"]),
        )
        return ((mask * self._band()).astype(np.float32) * np.float32(0.5) * (left + right))[:, None, :]

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        assert self._stft is not None and self._dry is not None
        center = self._stft.process(block, self._frames)  # (1, n); float32 spectra
        dry = self._dry.process(block)
        out = np.empty((3, block.shape[1]), np.float32)
        np.subtract(dry, center, out=out[:2])
        out[2] = center[0]
        return out


def center_components(mixture: np.ndarray, parts: list[np.ndarray], sample_rate: float, **parameters: float) -> list[np.ndarray]:
    """How much of each part of a mixture ends up in the center (analysis helper).

    Runs :class:`Upmix` on ``mixture`` (2, n), records its center masks, and
    applies the very same masks to each part (2, n) of the mixture: since the
    center is linear in the signal once the masks are fixed, the returned
    center parts (n,) add up to the mixture's center.
    """
    stage = Upmix(**parameters)
    stage.open_stream(float(sample_rate), 2)
    masks: list[np.ndarray] = []
    recording = stage._frames

    def record(spectra: np.ndarray) -> np.ndarray:
        out = recording(spectra)
        mids = 0.5 * (spectra[:, 0] + spectra[:, 1])
        masks.extend(np.where(np.abs(mids) > 0, out[:, 0] / np.where(np.abs(mids) > 0, mids, 1), 0.0))
        return out

    assert stage._stft is not None
    size, hop = frame_sizes(sample_rate)
    padded = np.concatenate([mixture, np.zeros((2, size))], axis=1)
    stage._stft.process(padded, record)
    results = []
    for part in parts:
        replay = iter(masks)
        stft = StreamingStft(2, outputs=1, fft_size=size, hop=hop)

        def apply(spectra: np.ndarray, replay: object = replay) -> np.ndarray:
            mids = 0.5 * (spectra[:, 0] + spectra[:, 1])
            return np.stack([next(replay) * mid for mid in mids])[:, None, :]  # type: ignore[call-overload]

        center = stft.process(np.concatenate([part, np.zeros((2, size))], axis=1), apply)[0]
        results.append(center[size : size + part.shape[1]])
    return results
