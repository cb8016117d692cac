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

__all__ = ["Chunk", "chunks", "list_entry_stepping_back", "wav_form"]

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
    audio runs to the file's end), so chunks after the audio are found too; a plain WAV's holding over 4 GiB, which
    its 32-bit size cannot give, the size it has (see :func:`_real_data_size`). A chunk of odd size is followed by a pad
    byte; where a writer left it out (no chunk can start after it, one starts where it should have been), the walk
    takes the next chunk where it is.
    A header that names no chunk (not four printable ASCII characters) ends the walk, as it ends libsndfile's: the
    walk has lost its way, in samples past the size a damaged or wrapped-around header gives. Zero bytes are passed
    over, as the readers that walk on (pedalboard's, FFmpeg's) pass them, at once however many there are.
    """
    form = wav_form(stream)
    if form is None:
        return
    length = stream.seek(0, os.SEEK_END)
    position, data_size = 12, None
    while position + 8 <= length:  # a size past the end (a damaged header's, up to 2**64) ends the walk
        stream.seek(position)
        header = stream.read(8)
        if len(header) < 8:
            return
        if header == bytes(8):  # a run of zero bytes (silence, a gap): 8 at a time, as the others read it
            position += _zero_run(stream, position, length) // 8 * 8
            continue
        kind, size = header[:4], int.from_bytes(header[4:], "little")
        if not _named(kind):
            return
        if kind == b"ds64" and size >= 24:
            data_size = int.from_bytes(stream.read(24)[8:16], "little")  # after the 64-bit RIFF size
        elif kind == b"data" and size == UNSIZED and data_size:  # 0: written to a pipe, it runs to the end
            size = data_size
        elif kind == b"data" and form == b"RIFF" and length - position - 8 > UNSIZED:
            size = _real_data_size(stream, Chunk(kind, position, size), length)
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
    if not _named(header[:4]):
        return False
    return header[:4] == b"data" or position + 8 + int.from_bytes(header[4:], "little") <= length


def _named(kind: bytes) -> bool:
    """Whether ``kind`` names a chunk: four printable ASCII characters (a FOURCC)."""
    return len(kind) == 4 and all(0x20 <= byte <= 0x7E for byte in kind)


def _zero_run(stream: BinaryIO, position: int, length: int) -> int:
    """How many zero bytes follow ``position`` (up to ``length``)."""
    start, zeros = position, bytes(1 << 20)
    stream.seek(position)
    while position < length:
        block = stream.read(min(len(zeros), length - position))
        if not block:
            break
        if block == zeros[: len(block)]:  # compared at memory speed; stripped only where the run ends
            position += len(block)
            continue
        position += len(block) - len(block.lstrip(b"\0"))
        break
    return position - start


def _real_data_size(stream: BinaryIO, data: Chunk, length: int) -> int:
    """The real size of the ``data`` chunk of a plain (RIFF) WAV of ``length`` bytes, over 4 GiB after its header.

    Writers without RF64 write a size past 4 GiB as 0xFFFFFFFF (FFmpeg, libsndfile: the audio runs to the file's end)
    or modulo 2**32 (SoX), and every reader stops there: hours of a long recording are silently left out. Audio whose
    size wrapped around runs on past the size given, so what follows that is no chunk that leads to the file's end;
    the real size is the one given plus whole 4 GiB steps to where the file ends or its chunks after the audio start.
    Where no step gets there, the file is cut short inside its audio: the size is the least it can be, past its end.
    """
    if data.size == UNSIZED:
        return length - data.body
    if _leads_to_end(stream, data.end, length):
        return data.size  # the size given is where the audio ends: chunks follow it to the end
    size = data.size
    while data.end + size - data.size + 2**32 <= length:
        size += 2**32
        if _leads_to_end(stream, data.end + size - data.size, length):
            return size
    return size + 2**32


def _leads_to_end(stream: BinaryIO, position: int, length: int, most: int = 64) -> bool:
    """Whether chunks from ``position`` lead to the file's end (or a pad byte before it)."""
    for _ in range(most):
        if position in (length, length - 1):
            return True
        if not _plausible(stream, position, length):
            return False
        stream.seek(position + 4)
        size = int.from_bytes(stream.read(4), "little")
        position += 8 + size + (size & 1)
    return False


#: The LIST entries libsndfile reads by name (its wavlike.c): it checks their sizes. Any other it steps over by the
#: size its header gives, a 32-bit step that goes back where the size is 2 GiB or more.
_LIBSNDFILE_LIST_ENTRIES = frozenset(
    (b"ISFT", b"ICOP", b"IARL", b"IART", b"ICMT", b"ICRD", b"IENG", b"IGNR", b"INAM", b"IPRD", b"ISBJ", b"ISRC", b"IAUT")
    + (b"ITRK", b"labl", b"DISP", b"ltxt", b"note")
)


def list_entry_stepping_back(stream: BinaryIO) -> tuple[Chunk, bytes, int] | None:
    """The first entry of a ``LIST`` chunk (an INFO tag, an adtl label) whose size, 2 GiB or more, libsndfile takes
    for a step back, as ``(the LIST chunk, the entry's kind, its size)``; None where there is none.

    libsndfile 1.2 walks on for ever where the step lands on an entry it has read (the entry itself, one before it,
    the list's ``INFO``): ``soundfile.info`` never returns, at 100% of a core. No writer gives an entry of a list
    2 GiB: it is a damaged size. The list is walked as libsndfile walks it (``INFO`` and ``adtl`` are four bytes with
    no size; four zero bytes, ``data`` or ``exif`` end its walk). Every such step is given, not only those that
    loop: whether one does is for libsndfile to show (a step back past the list's start ends its walk)."""
    length = stream.seek(0, os.SEEK_END)
    for chunk in chunks(stream):
        if chunk.kind not in (b"LIST", b"INFO"):  # libsndfile reads a bare INFO chunk as a list too
            continue
        at, end = chunk.body, min(chunk.body + chunk.size, length)
        while at + 8 <= end:
            stream.seek(at)
            header = stream.read(8)
            kind, size = header[:4], int.from_bytes(header[4:], "little")
            if kind in (b"INFO", b"adtl"):
                at += 4
                continue
            if kind in (bytes(4), b"data", b"exif"):
                break
            if size >= 2**31 and kind not in _LIBSNDFILE_LIST_ENTRIES:
                return chunk, kind, size
            at += 8 + size + (size & 1)
    return None
