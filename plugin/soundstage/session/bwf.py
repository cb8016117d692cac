"""Writing BWF stems (for the demo and the tests) and ``bext`` chunks (for them and for renders).

Why by hand: the field's readers (``wavinfo``) are read-only, and neither
pedalboard.io nor soundfile writes a ``bext`` chunk; the sink inserts it
(:func:`~soundstage.sinks.insert_wav_chunks`; the chunk's layout, EBU Tech 3285, is
:func:`~soundstage.sinks.bext_body`'s); :func:`~soundstage.fileio.time_reference` reads its TimeReference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soundstage.sinks import AudioSink, audio_target, bext_body, insert_wav_chunks

__all__ = ["add_bext", "bext_body", "write_stem"]


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
