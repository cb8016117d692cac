"""Writing BWF stems (for the demo and the tests) and ``bext`` chunks (for them and for renders).

Why by hand: the field's readers (``wavinfo``) are read-only, and neither
pedalboard.io nor soundfile writes a ``bext`` chunk; the sink inserts it
(:func:`~soundstage.sinks.insert_wav_chunks`). Layout per EBU Tech 3285: description 256, originator
32, originator reference 32, date 10, time 8, TimeReference (uint64: samples
since midnight), version, UMID 64, reserved 190. Reading goes through ``wavinfo``.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from soundstage.sinks import AudioSink, audio_target, insert_wav_chunks

__all__ = ["add_bext", "bext_body", "write_stem"]


def bext_body(time_reference: int, *, description: str, date: str = "", time: str = "") -> bytes:
    """A ``bext`` chunk's body (EBU Tech 3285 version 1) from soundstage, placing the file at ``time_reference``
    samples since midnight; ``date`` ``yyyy-mm-dd`` and ``time`` ``hh:mm:ss``, or left empty (zeros)."""
    return (
        description.encode("ascii", "replace")[:256].ljust(256, b"\0")
        + b"soundstage".ljust(32, b"\0")
        + b"".ljust(32, b"\0")
        + date.encode("ascii")[:10].ljust(10, b"\0")
        + time.encode("ascii")[:8].ljust(8, b"\0")
        + struct.pack("<Q", int(time_reference))
        + struct.pack("<H", 1)
        + b"\0" * 64
        + b"\0" * 190
    )


def _stem_bext(time_reference: int, description: str) -> tuple[bytes, bytes]:
    """The ``bext`` chunk of a stem a DAW placed at ``time_reference`` (samples), with a fixed date for stable bytes."""
    return (b"bext", bext_body(time_reference, description=description, date="2026-01-01", time="00:00:00"))


def add_bext(path: Path, time_reference: int, *, description: str = "soundstage stem") -> None:
    """Insert a ``bext`` chunk with ``time_reference`` (samples) before the audio data of a WAV written elsewhere."""
    if not insert_wav_chunks(path, [_stem_bext(time_reference, description)]):
        raise ValueError(f"{path} is not a RIFF/WAVE file")


def write_stem(path: Path, audio: np.ndarray, rate: int, *, bit_depth: int = 24, time_reference: int | None = None) -> Path:
    """Write ``audio`` (channels, n) and optionally stamp a BWF TimeReference (WAV only)."""
    target = audio_target(path, channels=audio.shape[0], sample_rate=rate, bit_depth=bit_depth, frames=audio.shape[1])
    chunks = [] if time_reference is None else [_stem_bext(time_reference, "soundstage stem")]
    with AudioSink(target, chunks=chunks) as writer:
        writer.write(np.asarray(audio, np.float32))
    return path
