"""Writing BWF test stems: pedalboard writes the audio, this adds the ``bext`` chunk.

Test fixtures only (nothing in the package writes BWF): the ``bext`` layout is
EBU Tech 3285 — description 256, originator 32, reference 32, date 10, time 8,
TimeReference (uint64, samples since midnight), version, UMID 64, reserved 190.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from pedalboard.io import AudioFile


def add_bext(path: Path, time_reference: int) -> None:
    """Insert a bext chunk with ``time_reference`` (samples) right after the WAVE header."""
    data = path.read_bytes()
    body = (
        b"soundstage test stem".ljust(256, b"\0")
        + b"soundstage".ljust(32, b"\0")
        + b"".ljust(32, b"\0")
        + b"2026-11-25"
        + b"00:00:00"
        + struct.pack("<Q", time_reference)
        + struct.pack("<H", 1)
        + b"\0" * 64
        + b"\0" * 190
    )
    riff_body = data[8:12] + b"bext" + struct.pack("<I", len(body)) + body + data[12:]
    path.write_bytes(b"RIFF" + struct.pack("<I", len(riff_body)) + riff_body)


def write_stem(path: Path, audio: np.ndarray, rate: int, *, bit_depth: int = 24, time_reference: int | None = None) -> Path:
    """Write ``audio`` (channels, n) and optionally stamp a BWF TimeReference."""
    with AudioFile(str(path), "w", rate, audio.shape[0], bit_depth=bit_depth) as writer:
        writer.write(audio.astype(np.float32))
    if time_reference is not None:
        add_bext(path, time_reference)
    return path
