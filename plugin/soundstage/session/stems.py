"""Stems on the session timeline: start times from BWF (read with ``wavinfo``), resampling, reading.

A stem's start is its explicit ``offset_s`` if the session gives one; else its BWF
``bext`` TimeReference, relative to the earliest TimeReference among the stems;
else 0. Stems at another sample rate are resampled to the session rate while
they are read (``pedalboard.io`` streaming resampler).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.errors import AudioFileError
from soundstage.fileio import open_audio
from soundstage.session.model import Session, Stem

__all__ = ["StemInfo", "StemReader", "bwf_time_reference", "inspect_stems"]


def check_not_truncated(path: Path) -> None:
    """Raise if a WAV file's data chunk claims more bytes than the file holds (a cut-off export).

    The declared size comes from ``wavinfo``; pedalboard would read such a file
    silently, padding what is missing.
    """
    if path.suffix.lower() not in (".wav", ".bwf"):
        return
    try:
        from wavinfo import WavInfoReader

        declared = int(WavInfoReader(str(path)).data.byte_count)
    except Exception:  # not a RIFF/WAVE file wavinfo understands: the audio reader reports it
        return
    size = path.stat().st_size
    if declared > size - 12:
        raise AudioFileError(
            f"{str(path)!r} is truncated: its header declares {declared} bytes of audio but the file has {size} bytes "
            "in all; export the stem again"
        )


def bwf_time_reference(path: Path) -> int | None:
    """The BWF ``bext`` TimeReference (samples at the file's rate), or None if there is none."""
    if path.suffix.lower() not in (".wav", ".bwf", ".rf64"):
        return None
    try:
        from wavinfo import WavInfoReader

        info = WavInfoReader(str(path))
    except Exception:  # not a RIFF/WAVE file wavinfo understands: the audio reader reports it
        return None
    bext = getattr(info, "bext", None)
    reference = getattr(bext, "time_reference", None) if bext is not None else None
    return int(reference) if reference is not None else None


@dataclass(frozen=True)
class StemInfo:
    """What soundstage found out about a stem."""

    stem: Stem
    path: Path
    sample_rate: float
    channels: int
    frames: int
    file_dtype: str
    time_reference: int | None
    start: int = 0
    start_source: str = "none"
    conversion: str | None = None

    def as_dict(self, session_rate: float) -> dict[str, Any]:
        """For the render report."""
        return {
            "name": self.stem.name,
            "path": str(self.path),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "format": self.file_dtype,
            "offset_s": self.start / session_rate,
            "offset_samples": self.start,
            "offset_from": self.start_source,
            "conversion": self.conversion,
            "length_s": self.frames / self.sample_rate,
        }


def inspect_stems(session: Session) -> tuple[float, list[StemInfo]]:
    """Open every stem (errors name the file), find start times and the session rate."""
    found = []
    for stem in session.stems:
        path = session.resolve(str(stem.path))
        with open_audio(path) as reader:
            check_not_truncated(path)
            rate, channels, frames = float(reader.samplerate), int(reader.num_channels), int(reader.frames)
            dtype = str(reader.file_dtype)
        if frames == 0:
            raise AudioFileError(f"stem {stem.name!r}: {str(path)!r} has no samples")
        found.append(StemInfo(stem, path, rate, channels, frames, dtype, bwf_time_reference(path)))
    session_rate = session.sample_rate or found[0].sample_rate
    stamped = [
        info.time_reference / info.sample_rate for info in found if info.stem.offset_s is None and info.time_reference is not None
    ]
    earliest = min(stamped) if stamped else 0.0
    placed = []
    for info in found:
        if info.stem.offset_s is not None:
            start, source = info.stem.offset_s, "session offset_s"
        elif info.time_reference is not None:
            start, source = info.time_reference / info.sample_rate - earliest, "BWF TimeReference"
        else:
            start, source = 0.0, "none (starts at 0)"
        conversion = None if info.sample_rate == session_rate else f"resampled {info.sample_rate:g} -> {session_rate:g} Hz"
        placed.append(
            StemInfo(
                info.stem,
                info.path,
                info.sample_rate,
                info.channels,
                info.frames,
                info.file_dtype,
                info.time_reference,
                int(round(start * session_rate)),
                source,
                conversion,
            )
        )
    return session_rate, placed


class StemReader:
    """Read a stem block by block on the session timeline: silence before and after it."""

    def __init__(self, info: StemInfo, session_rate: float) -> None:
        self.info = info
        self._file: Any = open_audio(info.path)
        if info.sample_rate != session_rate:
            self._file = self._file.resampled_to(session_rate)
        self.frames = int(self._file.frames)
        self.start = info.start
        self.gain = float(10 ** (info.stem.gain_db / 20))
        self._position = 0  # timeline position of the next sample

    @property
    def end(self) -> int:
        """Timeline position just after the stem's last sample."""
        return self.start + self.frames

    def read(self, count: int) -> np.ndarray:
        """The next ``count`` timeline samples, ``(channels, count)`` float32."""
        out = np.zeros((self.info.channels, count), np.float32)
        first = max(self.start, self._position)
        last = min(self.end, self._position + count)
        if last > first:
            data = self._file.read(last - first)
            if data.shape[1] < last - first:
                raise AudioFileError(f"stem {self.info.stem.name!r}: {str(self.info.path)!r} ends early (truncated?)")
            out[:, first - self._position : last - self._position] = data * self.gain
        self._position += count
        return out

    def close(self) -> None:
        """Close the file."""
        self._file.close()
