"""Walking the chunks of a WAV file (RIFF, RF64 and BW64).

soundfile reads a WAV's audio and a few of its chunks; what it does not expose is read here: a ``bext`` a DAW
stamped, a ``fact`` chunk's sample count, a ``chna`` that makes a WAV an ADM file, the size a ``data`` chunk
declares against what the file holds. :func:`chunks` is the one walk every reader and editor of those uses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["Chunk", "chunks", "wav_form"]

#: The forms of a WAV: classic RIFF, EBU RF64 and ITU-R BS.2088 BW64 (both with 64-bit sizes in ``ds64``).
FORMS = (b"RIFF", b"RF64", b"BW64")

#: The size a 32-bit chunk header gives where the real one is in ``ds64`` (RF64, BW64), or where a WAV written
#: to a pipe, which cannot seek back, says "to the end of the file".
UNSIZED = 0xFFFFFFFF


@dataclass(frozen=True)
class Chunk:
    """One chunk: its four-byte ``kind``, the ``position`` of its 8-byte header in the file and the ``size`` of
    its body (for an RF64 / BW64 ``data`` chunk, the size ``ds64`` gives)."""

    kind: bytes
    position: int
    size: int

    @property
    def body(self) -> int:
        """Where the chunk's body starts."""
        return self.position + 8

    @property
    def end(self) -> int:
        """Where the next chunk starts: past the body and its pad byte (a chunk of odd size is padded to even)."""
        return self.body + self.size + (self.size & 1)


def wav_form(stream: BinaryIO) -> bytes | None:
    """The form of the WAV ``stream`` reads (``b"RIFF"``, ``b"RF64"`` or ``b"BW64"``), or None: not a WAV."""
    stream.seek(0)
    head = stream.read(12)
    return head[:4] if len(head) == 12 and head[:4] in FORMS and head[8:] == b"WAVE" else None


def chunks(stream: BinaryIO) -> Iterator[Chunk]:
    """The chunks of the WAV ``stream`` reads, in file order, up to its end or a header cut short; none where it is
    no WAV.

    Each chunk is given with the stream at its body. The walk seeks to each header itself, so between two steps the
    caller may read or write anywhere in the stream.
    An RF64 / BW64 ``data`` chunk is given the size its ``ds64`` states (unless that is 0: written to a pipe, the
    audio runs to the file's end), so chunks after the audio are found too. A chunk of odd size is followed by a pad
    byte; where a writer left it out (no chunk can start after it, one starts where it should have been), the walk
    takes the next chunk where it is.
    """
    if wav_form(stream) is None:
        return
    length = stream.seek(0, os.SEEK_END)
    position, data_size = 12, None
    while position + 8 <= length:  # a size past the end (a damaged header's, up to 2**64) ends the walk
        stream.seek(position)
        header = stream.read(8)
        if len(header) < 8:
            return
        kind, size = header[:4], int.from_bytes(header[4:], "little")
        if kind == b"ds64" and size >= 24:
            data_size = int.from_bytes(stream.read(24)[8:16], "little")  # after the 64-bit RIFF size
        elif kind == b"data" and size == UNSIZED and data_size:  # 0: written to a pipe, it runs to the end
            size = data_size
        chunk = Chunk(kind, position, size)
        stream.seek(chunk.body)
        yield chunk
        position = chunk.end
        if size & 1 and not _plausible(stream, position, length) and _plausible(stream, position - 1, length):
            position -= 1  # a writer that left out the pad byte of an odd-sized chunk: the next one follows at once


def _plausible(stream: BinaryIO, position: int, length: int) -> bool:
    """Whether a chunk header can be at ``position``: a four-character code of printable ASCII and a size within the
    file (a ``data`` chunk's may run past its end: a file cut short)."""
    if not 0 <= position <= length - 8:  # past the end (a damaged size's, up to 2**64): no header there
        return False
    stream.seek(position)
    header = stream.read(8)
    if not all(0x20 <= byte <= 0x7E for byte in header[:4]):
        return False
    return header[:4] == b"data" or position + 8 + int.from_bytes(header[4:], "little") <= length
