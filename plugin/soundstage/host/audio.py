"""Validation of audio arrays at the edge of the host.

soundstage works on ``(channels, samples)`` float32 arrays, as pedalboard does.
These helpers turn what a user passes into that layout, or raise an
:class:`~soundstage.errors.AudioInputError` that names the shape or the bad sample.
"""

from __future__ import annotations

import math

import numpy as np

from soundstage.errors import AudioInputError

__all__ = ["MAX_CHANNELS", "MAX_SAMPLE", "as_audio", "check_sample_rate", "db_to_gain", "gain_to_db", "sample_problem"]

#: More channels than this in the first axis means the array is almost certainly
#: ``(samples, channels)``; soundstage refuses to guess and says so.
MAX_CHANNELS = 64
#: The largest sample magnitude taken (+120 dBFS). Float audio may pass full scale, by tens of dB at most; values
#: near this are a damaged file or data that is not audio, and through filters they overflow to inf and NaN.
MAX_SAMPLE = 1e6


def sample_problem(audio: np.ndarray, first_sample: int = 0) -> str | None:
    """What is wrong with the samples of ``audio`` (channels, samples), in words, or None: the first NaN or inf,
    else the first sample beyond :data:`MAX_SAMPLE`, with its channel and sample (counted from ``first_sample``:
    a block's place in a file). One pass when all is well."""
    if audio.size == 0:
        return None
    peak = float(np.max(np.abs(audio)))
    if peak <= MAX_SAMPLE:
        return None
    bad = ~np.isfinite(audio)
    if bad.any():
        channel, sample = np.argwhere(bad)[0]
        return (
            f"contains {audio[channel, sample]} at channel {channel}, sample {first_sample + sample}; "
            "soundstage only processes finite samples"
        )
    channel, sample = np.argwhere(np.abs(audio) > MAX_SAMPLE)[0]
    value = float(audio[channel, sample])
    return (
        f"contains {value:g} at channel {channel}, sample {first_sample + sample} ({20 * math.log10(abs(value)):+.0f} dBFS); "
        f"soundstage takes samples within +-{MAX_SAMPLE:g} (+120 dBFS): values like that are a damaged file or not audio"
    )


def db_to_gain(gain_db: float) -> float:
    """Convert decibels to a linear amplitude factor: ``10 ** (gain_db / 20)``."""
    return float(10.0 ** (gain_db / 20.0))


def gain_to_db(gain: float) -> float:
    """Convert a linear amplitude factor to decibels (``-inf`` for 0)."""
    return float(20.0 * math.log10(gain)) if gain > 0 else -math.inf


def check_sample_rate(sample_rate: float, *, owner: str) -> float:
    """Return ``sample_rate`` as a float, or raise if it is not a positive finite number."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: sample_rate must be a number in Hz, got {type(sample_rate).__name__}")
    rate = float(sample_rate)
    if not math.isfinite(rate) or rate <= 0:
        raise AudioInputError(f"{owner}: sample_rate={sample_rate!r} Hz is not a positive finite number")
    return rate


def as_audio(
    input_array: object,
    *,
    owner: str,
    expected_channels: int | None = None,
    check_finite: bool = True,
) -> np.ndarray:
    """Return ``input_array`` as a C-contiguous float32 ``(channels, samples)`` array.

    Parameters
    ----------
    input_array : array_like, shape (samples,) or (channels, samples)
        1-D input is mono. 2-D input is always ``(channels, samples)``.
    owner : str
        The name used in error messages (the stage or chain being called).
    expected_channels : int or None
        The channel count the caller needs, used to explain a transposed array.
    check_finite : bool
        Raise on NaN or Inf, naming the first bad channel and sample.

    Raises
    ------
    TypeError
        If the array is not floating point (integer PCM is refused, with the scale to divide by).
    AudioInputError
        If it is empty, non-finite, of more than two dimensions, or of a shape
        whose layout is ambiguous, e.g. ``(2, 2)``, or that looks transposed.
    """
    array = np.asarray(input_array)
    if array.dtype.kind in "iu":  # integer PCM: its scale is the format's, not -1..1 (pedalboard refuses it too)
        half = f"2**{8 * array.dtype.itemsize - 1}"
        scaled = f"audio / {half}" if array.dtype.kind == "i" else f"(audio - {half}) / {half}"
        raise TypeError(
            f"{owner}: audio is {array.dtype} (integer PCM); soundstage processes floating-point audio in -1..1: pass {scaled}"
        )
    if array.dtype.kind != "f":
        raise TypeError(f"{owner}: audio must be a float array, got dtype {array.dtype}")
    if array.ndim == 1:
        array = array[np.newaxis, :]
    elif array.ndim != 2:
        raise AudioInputError(
            f"{owner}: audio of shape {array.shape} has {array.ndim} dimensions; pass (samples,) for mono or (channels, samples)"
        )
    channels, samples = array.shape
    if samples == 0 or channels == 0:
        raise AudioInputError(f"{owner}: audio of shape {array.shape} is empty (zero-length input)")
    if channels == samples and channels > 1:
        raise AudioInputError(
            f"{owner}: audio of shape {array.shape} is ambiguous: it could be (channels, samples) or "
            "(samples, channels); soundstage expects (channels, samples), so pass at least "
            f"{channels + 1} samples at once, or process fewer channels"
        )
    if channels > MAX_CHANNELS or (
        expected_channels is not None and channels != expected_channels and samples == expected_channels
    ):
        raise AudioInputError(
            f"{owner}: audio of shape {array.shape} looks like (samples, channels); "
            "soundstage expects (channels, samples): pass audio.T"
        )
    audio = np.ascontiguousarray(array, dtype=np.float32)
    problem = sample_problem(audio) if check_finite else None
    if problem is not None:
        hint = " (check the source for NaN/Inf)" if problem.endswith("finite samples") else ""
        raise AudioInputError(f"{owner}: audio {problem}{hint}")
    return audio
