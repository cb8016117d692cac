"""Stems on the session timeline: start times from the DAW's time stamps, resampling, reading.

A stem's start is its explicit ``offset_s`` if the session gives one; else its
time reference (a WAV's BWF ``bext`` TimeReference, or a
FLAC's ``TIME_REFERENCE`` comment), relative to the earliest among the stems;
else 0. Stems at another sample rate are resampled to the session rate while
they are read (``pedalboard.io`` streaming resampler).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soundstage import stalls
from soundstage.errors import AudioFileError, AudioInputError
from soundstage.fileio import FlacCheck, missing_frames, open_audio, stamp_name, time_reference
from soundstage.files import moved_hint, windows_hint
from soundstage.host.audio import sample_problem
from soundstage.session.model import MAX_OFFSET_S, Session, SessionError, Stem

__all__ = ["StemInfo", "StemReader", "inspect_stems", "timeline_frames"]


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
    missing_frames: int | None = 0  # a truncated stem read anyway: missing at its end (None: cut short, how much unknown)

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
            "gain_db": self.stem.gain_db,
            "pan": self.stem.pan,
            "conversion": self.conversion,
            "length_s": self.frames / self.sample_rate,
            "missing_s": None if self.missing_frames is None else self.missing_frames / self.sample_rate,
        }


def timeline_frames(session: Session, stems: list[StemInfo], rate: float) -> int:
    """The render's length at ``rate``: to the end of the last stem (muted ones too, as a DAW's project), then the
    session's ``tail_s`` for the chains' tails."""
    end = max(info.start + int(np.ceil(info.frames * rate / info.sample_rate)) for info in stems)
    return end + round(session.tail_s * rate)


def inspect_stems(session: Session, *, allow_truncated: bool = False) -> tuple[float, list[StemInfo]]:
    """Open every stem (errors name the session, the stem's key and the file), find start times and the session rate.

    A stem that holds fewer samples than its header declares is refused, unless
    ``allow_truncated``: then it is used as it is and ``missing_frames`` says what is missing (None where the stem is
    cut short and does not say how long it was to be: an Ogg stream without its end page).
    """
    found = []
    for index, stem in enumerate(session.stems):
        path = session.resolve(str(stem.path))
        try:
            with open_audio(path, allow_truncated=allow_truncated) as reader:
                rate, channels, frames = float(reader.samplerate), int(reader.num_channels), int(reader.frames)
                missing = missing_frames(reader)
                dtype = str(reader.file_dtype)
            stamp = time_reference(path) if stem.offset_s is None else None  # placed by hand: its stamp is not read
        except AudioFileError as error:
            paths = [str(s.path) for s in session.stems]  # one written on another machine: found below the session
            moved = moved_hint(paths, index, session.folder, owner="session file", key="path", noun="stem")
            hint = (moved or windows_hint(str(stem.path))) if not path.exists() else ""
            raise AudioFileError(f"{session.file}: stems[{index}].path ({stem.name!r}): {error}{hint}") from None
        if frames == 0:
            raise AudioFileError(f"{session.file}: stems[{index}].path ({stem.name!r}): {str(path)!r} has no samples")
        found.append(StemInfo(stem, path, rate, channels, frames, dtype, stamp, missing_frames=missing))
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
            start, source = info.time_reference / info.sample_rate - earliest, stamp_name(info.path)
            if start > MAX_OFFSET_S:  # a stem of another day's export, or a damaged stamp: not this session's timeline
                raise SessionError(
                    f"{session.file}: stem {info.stem.name!r}: its {stamp_name(info.path)} ({info.time_reference} samples) "
                    f"places it {start:.1f} s after the earliest stem, more than the {MAX_OFFSET_S:g} s a session spans; "
                    "give the stem offset_s (seconds from the session's start) to place it by hand, or export it again"
                )
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
                info.missing_frames,
            )
        )
    return session_rate, placed


class StemReader:
    """Read a stem block by block on the session timeline: silence before and after it."""

    def __init__(self, info: StemInfo, session_rate: float) -> None:
        self.info = info
        self._file: Any = open_audio(info.path, allow_truncated=info.missing_frames != 0)
        self._resampled = info.sample_rate != session_rate
        self._check = None if self._resampled else FlacCheck.of(info.path, self._file)  # a damaged frame's sign
        if self._resampled:
            self._file = self._file.resampled_to(session_rate)
        self._session_rate = session_rate
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
        first = max(self.start, self._position)
        last = min(self.end, self._position + count)
        data = None
        if last > first:
            with stalls.watched(self.info.path, "reading"):
                data = self._file.read(last - first)
            if self._check is not None and data.shape[1] == last - first:
                self._check.add(data)
        if data is not None and data.shape[1] < last - first:
            raise AudioFileError(f"stem {self.info.stem.name!r}: {str(self.info.path)!r} ends early (truncated?)")
        problem = sample_problem(data, first_sample=first - self.start) if data is not None else None
        if problem is not None:  # NaN, inf or a damaged float: it would reach the mix as full scale or NaN
            rate = (  # the resampler's filter spreads a bad sample over a few ms, so its place is approximate
                f" (counted at the session's {self._session_rate:g} Hz after resampling from "
                f"{self.info.sample_rate:g} Hz: within a few ms)"
                if self._resampled
                else ""
            )
            raise AudioInputError(f"stem {self.info.stem.name!r}: {str(self.info.path)!r} {problem}{rate}")
        if data is not None and last - first == count:  # all inside the stem: the reader's float32 block, no copy
            out = data if self.gain == 1.0 else np.multiply(data, np.float32(self.gain))
        else:
            out = np.zeros((self.info.channels, count), np.float32)
            if data is not None:
                out[:, first - self._position : last - self._position] = data if self.gain == 1.0 else data * self.gain
        self._position += count
        return out

    def close(self) -> None:
        """Close the file."""
        self._file.close()
