"""An audio file finished in place once its samples are written: the chunks and comments that place it on a
timeline put in (a WAV's ``bext``, any chunk a DAW reads; a FLAC's Vorbis comments), a WAV kept under 4 GiB
written as plain WAV instead of RF64, a peak chunk's time stamp cleared, and a file a full disk cut short cut back
to its whole samples."""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from soundstage import containers, riff, stalls
from soundstage.files import new_temporary

__all__ = [
    "clear_peak_timestamp",
    "wav_chunk",
    "insert_wav_chunks",
    "add_flac_comments",
    "bext_body",
    "bext_time_reference",
    "rf64_as_wav",
    "cut_wav",
    "cut_aiff",
]


def clear_peak_timestamp(path: Path) -> bool:
    """Zero the time stamp libsndfile writes into a float WAV's ``PEAK`` chunk; whether there was one.

    Without this, the same audio written twice gives two different files (the
    stamp is the wall-clock second of writing), so a file's sha256 could not
    prove that a render is the same. The chunk's peak values stay.
    """
    with path.open("r+b") as file:
        for chunk in riff.chunks(file):
            if chunk.kind == b"data":
                break
            if chunk.kind == b"PEAK" and chunk.size >= 8:
                file.seek(chunk.body + 4)  # after the chunk's version field
                file.write(b"\0\0\0\0")
                return True
    return False


def wav_chunk(path: Path, chunk: bytes, length: int = 1 << 20) -> bytes | None:
    """The first ``length`` bytes of a RIFF / RF64 / BW64 WAV's first ``chunk`` (``b"bext"``, ``b"chna"``), or None
    where the file has none or is no WAV. Chunks after the audio data count (BW64 puts ``chna`` there)."""
    with path.open("rb") as file:
        for found in riff.chunks(file):
            if found.kind == chunk:
                return file.read(min(found.size, length))
    return None


def insert_wav_chunks(path: Path, chunks: Sequence[tuple[bytes, bytes]], *, in_place: bool = False) -> bool:
    """Put ``chunks`` (id, body) before a RIFF WAV's ``data`` chunk; whether it did.

    The file is copied once, through a temporary beside it that replaces it; ``in_place`` (for a file of one's
    own, a sink's temporary) moves its audio along within it instead, so it needs room for the chunks only, not
    for a second copy of the audio. It does not apply to an RF64 file, or to one these chunks would take past 4 GiB.
    """
    blob = b"".join(name + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1) for name, body in chunks)
    size = path.stat().st_size
    with path.open("r+b" if in_place else "rb") as source:
        if riff.wav_form(source) != b"RIFF" or size + len(blob) - 8 > 0xFFFFFFFF:
            return False
        data = next((chunk for chunk in riff.chunks(source) if chunk.kind == b"data"), None)
        if data is None:
            return False
        if in_place:
            _shift_tail(source, data.position, size, blob)
            source.seek(4)
            source.write(struct.pack("<I", size + len(blob) - 8))
            return True
        temporary = new_temporary(path)
        try:
            with open(temporary, "wb") as out:
                out.write(b"RIFF" + struct.pack("<I", size + len(blob) - 8) + b"WAVE")
                source.seek(12)
                out.write(source.read(data.position - 12))
                out.write(blob)
                shutil.copyfileobj(source, out, 1 << 20)
            shutil.copymode(path, temporary)  # the file keeps its permissions (the temporary is made 0600)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        finally:
            stalls.discard_temporary(temporary)
    return True


def _shift_tail(file: BinaryIO, start: int, size: int, blob: bytes) -> None:
    """Move bytes ``start..size`` of ``file`` on by ``len(blob)``, last piece first, and write ``blob`` in the gap.
    The file grows first, so a full disk stops it before anything has moved."""
    file.seek(size)
    file.write(b"\0" * len(blob))
    file.flush()  # a full disk says so here (the kernel takes the room at the write)
    end = size
    while end > start:
        begin = max(start, end - (1 << 20))
        file.seek(begin)
        piece = file.read(end - begin)
        file.seek(begin + len(blob))
        file.write(piece)
        end = begin
    file.seek(start)
    file.write(blob)


def add_flac_comments(path: Path, comments: Sequence[tuple[str, str]]) -> bool:
    """Add Vorbis comments (name, value) to the FLAC ``path`` (a sink's temporary, written by libsndfile: none of
    these names in it yet), in its comment block, or in one made after its stream information; whether it did.
    The audio frames move along within the file, as :func:`insert_wav_chunks` moves a WAV's."""
    entries = [f"{name}={value}".encode() for name, value in comments]
    blob = b"".join(struct.pack("<I", len(entry)) + entry for entry in entries)
    size = path.stat().st_size
    with path.open("r+b") as file:
        if file.read(4) != b"fLaC":
            return False
        blocks = list(containers.flac_blocks(file))
        found = next((block for block in blocks if block.kind == containers.FLAC_VORBIS_COMMENT), None)
        if found is not None:
            file.seek(found.position + 4)
            body = file.read(found.size)
            vendor = int.from_bytes(body[:4], "little")
            count = int.from_bytes(body[4 + vendor : 8 + vendor], "little")
            if len(body) != found.size or found.size + len(blob) >= 1 << 24:
                return False
            _shift_tail(file, found.position + 4 + found.size, size, blob)
            file.seek(found.position + 1)
            file.write((found.size + len(blob)).to_bytes(3, "big"))
            file.seek(found.position + 8 + vendor)
            file.write(struct.pack("<I", count + len(entries)))
            return True
        if not blocks or blocks[0].kind != containers.FLAC_STREAMINFO:
            return False
        first = blocks[0]
        body = struct.pack("<I", len(b"soundstage")) + b"soundstage" + struct.pack("<I", len(entries)) + blob
        flag = 0x80 if first.last else 0  # the comment block is last where the stream information was
        _shift_tail(
            file, 8 + first.size, size, bytes([flag | containers.FLAC_VORBIS_COMMENT]) + len(body).to_bytes(3, "big") + body
        )
        file.seek(4)
        file.write(bytes([containers.FLAC_STREAMINFO]))
    return True


def bext_body(time_reference: int, *, description: str, date: str = "", time: str = "") -> bytes:
    """A ``bext`` chunk's body (EBU Tech 3285 version 1) from soundstage, placing the file at ``time_reference``
    samples since midnight; ``date`` ``yyyy-mm-dd`` and ``time`` ``hh:mm:ss``, or left empty (zeros). Layout:
    description 256, originator 32, originator reference 32, date 10, time 8, TimeReference (uint64), version, UMID
    64, reserved 190."""
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


#: Where a ``bext`` chunk's TimeReference (uint64, little-endian) is in its body.
_BEXT_TIME_REFERENCE = 256 + 32 + 32 + 10 + 8


def bext_time_reference(body: bytes) -> int | None:
    """The TimeReference of a ``bext`` chunk's body, or None where the body is too short to hold one."""
    field = body[_BEXT_TIME_REFERENCE : _BEXT_TIME_REFERENCE + 8]
    return int.from_bytes(field, "little") if len(field) == 8 else None


def rf64_as_wav(path: Path) -> bool:
    """Rewrite the header of an RF64 file that ends under 4 GiB as a plain WAV's, in place; whether it did.

    What libsndfile's auto-downgrade does (soundfile does not reach it): ``RF64`` becomes ``RIFF`` with the file's
    size, the ``ds64`` chunk becomes ``JUNK`` (its bytes stay, padding), and the ``data`` chunk takes the 32-bit
    size ``ds64`` held. The samples are not touched.
    """
    size = path.stat().st_size
    if size - 8 > 0xFFFFFFFF:
        return False
    with path.open("r+b") as file:
        if riff.wav_form(file) != b"RF64":
            return False
        data_size = None
        for chunk in riff.chunks(file):
            if chunk.kind == b"ds64" and chunk.size >= 24:
                data_size = int.from_bytes(file.read(16)[8:16], "little")  # as ds64 holds it, 0 included
                file.seek(chunk.position)
                file.write(b"JUNK")
            elif chunk.kind == b"data":
                if data_size is None or data_size > 0xFFFFFFFF:
                    return False
                file.seek(chunk.position + 4)
                file.write(data_size.to_bytes(4, "little"))
                break
        else:
            return False
        file.seek(0)
        file.write(b"RIFF" + (size - 8).to_bytes(4, "little"))
    return True


def cut_wav(path: Path, frames: int, frame_bytes: int) -> int | None:
    """End the WAV or RF64 at ``path`` after its first ``frames`` (or as many as it holds whole): the file cut there,
    its ``data`` and RIFF sizes (an RF64's ``ds64``) set to match; the frames kept, or None where it has no audio."""
    with path.open("r+b") as file:
        form = riff.wav_form(file)
        walked = list(riff.chunks(file))
        data = next((chunk for chunk in walked if chunk.kind == b"data"), None)
        ds64 = next((chunk for chunk in walked if chunk.kind == b"ds64" and chunk.size >= 28), None)
        if form is None or data is None:
            return None
        frames = min(frames, max(0, file.seek(0, os.SEEK_END) - data.body) // frame_bytes)
        length = frames * frame_bytes
        end = data.body + length + (length & 1)  # an odd-sized chunk is padded to even
        file.truncate(end)
        file.seek(data.position + 4)
        file.write((0xFFFFFFFF if form != b"RIFF" else length).to_bytes(4, "little"))
        if ds64 is not None and form != b"RIFF":
            file.seek(ds64.body)
            file.write((end - 8).to_bytes(8, "little") + length.to_bytes(8, "little") + frames.to_bytes(8, "little"))
        file.seek(4)
        file.write((0xFFFFFFFF if form != b"RIFF" else end - 8).to_bytes(4, "little"))
    return frames


def cut_aiff(path: Path, frames: int, frame_bytes: int) -> int | None:
    """End the AIFF or AIFF-C at ``path`` after its first ``frames`` (or as many as it holds whole): the file cut
    there, its ``SSND``, ``COMM`` frame count and ``FORM`` sizes set to match; the frames kept, or None where it has
    no sound data. Its chunks are big-endian, each padded to an even length."""
    with path.open("r+b") as file:
        head = file.read(12)
        if len(head) < 12 or head[:4] != b"FORM" or head[8:] not in (b"AIFF", b"AIFC"):
            return None
        size = file.seek(0, os.SEEK_END)
        position, comm = 12, None
        while position + 8 <= size:
            file.seek(position)
            kind, length = file.read(4), int.from_bytes(file.read(4), "big")
            if kind == b"COMM" and length >= 6:
                comm = position + 8
            elif kind == b"SSND":
                break
            position += 8 + length + (length & 1)
        else:
            return None
        offset = int.from_bytes(file.read(4), "big")
        audio = position + 16 + offset  # the SSND body: its offset and block size, then the sound data
        if comm is None or audio > size:
            return None
        frames = min(frames, (size - audio) // frame_bytes)
        length = frames * frame_bytes
        end = audio + length + (length & 1)
        file.truncate(end)
        file.seek(position + 4)
        file.write((8 + offset + length).to_bytes(4, "big"))
        file.seek(comm + 2)  # after the channel count
        file.write(frames.to_bytes(4, "big"))
        file.seek(4)
        file.write((end - 8).to_bytes(4, "big"))
    return frames
