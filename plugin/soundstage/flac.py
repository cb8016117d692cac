"""A FLAC file's structure, read where no library of the field gives it: its metadata blocks (STREAMINFO, the
Vorbis comments), its frames found by their sync codes and checked by their CRCs (where a file cut short ends
its last whole frame), and a signature of its audio (STREAMINFO's MD5)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import soundfile

__all__ = [
    "FlacBlock",
    "FLAC_STREAMINFO",
    "FLAC_VORBIS_COMMENT",
    "flac_blocks",
    "flac_end_at_whole_frames",
    "polynomial_table",
    "flac_signature",
    "flac_comments",
    "vorbis_comments",
]


@dataclass(frozen=True)
class FlacBlock:
    """A FLAC metadata block: where its 4-byte header is, its type, its size (after the header), whether it is last."""

    position: int
    kind: int
    size: int
    last: bool


#: A FLAC's metadata block types: its stream information (first, always) and its Vorbis comments (RFC 9639, 8.1).
FLAC_STREAMINFO, FLAC_VORBIS_COMMENT = 0, 4


def flac_blocks(stream: BinaryIO) -> Iterator[FlacBlock]:
    """The metadata blocks of the FLAC ``stream`` (``fLaC`` at its start, not checked here) whose headers it holds, up
    to the one flagged last; the stream's position moves."""
    length = stream.seek(0, os.SEEK_END)
    position = 4
    while position + 4 <= length:
        stream.seek(position)
        header = stream.read(4)
        block = FlacBlock(position, header[0] & 0x7F, int.from_bytes(header[1:4], "big"), bool(header[0] & 0x80))
        yield block
        if block.last:
            return
        position += 4 + block.size


def flac_end_at_whole_frames(file: Path) -> int | None:
    """End the native FLAC ``file`` after its last whole frame, where a drive that filled under its encoder cut its
    last frame: the file truncated there, its STREAMINFO's sample count set to the samples kept and its MD5
    signature unset (all zeros, as the encoder leaves it until it finishes; one it wrote is of all it was given).
    The samples kept, or None where it is no FLAC file or no whole frame can be told in its last 16 MiB.

    A frame is told whole by its checksums: a header (sync code, RFC 9639 section 9.1) whose CRC-8 holds, followed
    by bytes up to the next such header whose CRC-16 holds; the sync code alone also turns up inside audio data, and
    the first bytes of a cut frame hold their CRC-16 once in 65536 ends, so the frame found must also decode."""
    with open(file, "r+b") as stream:
        if stream.read(4) != b"fLaC":
            return None
        streaminfo, audio = None, None
        for block in flac_blocks(stream):
            if block.kind == FLAC_STREAMINFO and block.size >= 34:
                streaminfo = block.position + 4
            if block.last:
                audio = block.position + 4 + block.size
        length = stream.seek(0, os.SEEK_END)
        if streaminfo is None or audio is None or audio >= length:
            return None
        stream.seek(streaminfo)
        info = stream.read(34)
        block_size = int.from_bytes(info[2:4], "big")
        window = 1 << 16
        while True:
            start = max(audio, length - window)
            stream.seek(start)
            data = stream.read(length - start)
            found = _last_whole_frames(data, block_size, info)
            if found is not None or start == audio or window >= 1 << 24:
                break
            window <<= 2
        if found is None:  # not one whole frame (a FLAC saying 0 samples is one of an unknown length)
            return None
        end, kept = start + found[0], found[1]
        stream.truncate(end)
        packed = int.from_bytes(info[10:18], "big")
        stream.seek(streaminfo + 10)
        stream.write((packed & ~((1 << 36) - 1) | kept).to_bytes(8, "big") + bytes(16))
    return kept


def _last_whole_frames(data: bytes, block_size: int, streaminfo: bytes) -> tuple[int, int] | None:
    """Where in ``data`` (the end of a FLAC stream) its whole frames end, and the samples before that: after the last
    frame whose header checks, whose bytes up to the next checked header (or the end) hold their CRC-16, and which
    decodes (the bytes of a cut frame hold their CRC-16 by chance once in 65536 ends)."""
    headers = [(at, *parsed) for at in _sync_codes(data) if (parsed := _frame_header(data, at, block_size)) is not None]
    # where a frame can end: at a header that checks (the nearest first: one can still be audio data by chance), at
    # the first bytes of one cut too short to check, or at the end
    tail = [at for at in range(max(0, len(data) - 16), len(data)) if data[at : at + 2] in (b"\xff", b"\xff\xf8", b"\xff\xf9")]
    ends = sorted({at for at, _, _ in headers} | set(tail) | {len(data)})
    for at, first, size in reversed(headers):
        for end in ends:
            if end > at and _flac_crc16(data[at:end]) == 0 and _flac_frame_decodes(data[at:end], size, streaminfo):
                return end, first + size
    return None


def _flac_frame_decodes(frame: bytes, size: int, streaminfo: bytes) -> bool:
    """Whether libFLAC (through libsndfile) decodes the one FLAC ``frame`` of ``size`` samples, given its stream's
    STREAMINFO: a frame cut short whose bytes hold their CRC-16 by chance does not parse to them ("lost sync")."""
    packed = int.from_bytes(streaminfo[10:18], "big") & ~((1 << 36) - 1) | size
    header = b"fLaC" + bytes((0x80, 0, 0, 34)) + streaminfo[:10] + packed.to_bytes(8, "big") + bytes(16)
    try:
        with soundfile.SoundFile(io.BytesIO(header + frame)) as stream:
            return len(stream.read(size, dtype="int32")) == size
    except RuntimeError:  # soundfile.LibsndfileError: "flac decoder lost sync"
        return False


def _sync_codes(data: bytes) -> Iterator[int]:
    at = data.find(b"\xff")
    while at != -1:
        if at + 1 < len(data) and data[at + 1] in (0xF8, 0xF9):
            yield at
        at = data.find(b"\xff", at + 1)


#: A FLAC frame's block size by its 4-bit code (0: reserved; 6, 7: given after the coded number).
_FLAC_BLOCK_SIZES = (0, 192, 576, 1152, 2304, 4608, -8, -16, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)


def _frame_header(data: bytes, at: int, block_size: int) -> tuple[int, int] | None:
    """A FLAC frame header at ``at`` whose CRC-8 holds: the frame's first sample and its block size; None where the
    bytes there are no such header (RFC 9639 section 9.1: codes reserved there, a coded number malformed)."""
    head = data[at : at + 16]
    if len(head) < 6:
        return None
    size_code, rate_code = head[2] >> 4, head[2] & 0x0F
    if size_code == 0 or rate_code == 15 or head[3] >> 4 > 10 or (head[3] >> 1) & 7 == 3 or head[3] & 1:
        return None
    first = head[4]
    extra = 0 if first < 0x80 else next((n for n in range(1, 7) if first & (0x80 >> (n + 1)) == 0), -1)
    if extra < 0 or first & 0xC0 == 0x80 or len(head) < 5 + extra + 1:
        return None
    number = first & (0x7F >> (extra + 1)) if extra else first
    for byte in head[5 : 5 + extra]:
        if byte & 0xC0 != 0x80:
            return None
        number = number << 6 | byte & 0x3F
    end = 5 + extra
    size = _FLAC_BLOCK_SIZES[size_code]
    if size < 0:
        size, end = int.from_bytes(head[end : end - size // 8], "big") + 1, end - size // 8
    end += {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if end >= len(head) or _flac_crc8(head[:end]) != head[end]:
        return None
    variable = head[1] & 1
    return (number if variable else number * block_size), size


def polynomial_table(width: int, polynomial: int) -> list[int]:
    """The byte table of an unreflected CRC of ``width`` bits from 0 (FLAC's CRC-8 and CRC-16, Ogg's CRC-32)."""
    top, mask, table = 1 << (width - 1), (1 << width) - 1, []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ polynomial) if crc & top else crc << 1
        table.append(crc & mask)
    return table


_FLAC_CRC8, _FLAC_CRC16 = polynomial_table(8, 0x07), polynomial_table(16, 0x8005)


def _flac_crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = _FLAC_CRC8[crc ^ byte]
    return crc


def _flac_crc16(data: bytes) -> int:
    """FLAC's frame checksum over ``data``; 0 over a whole frame, its stored CRC-16 included."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _FLAC_CRC16[(crc >> 8) ^ byte]
    return crc


def flac_signature(file: Path) -> tuple[bytes, int] | None:
    """A native FLAC file's MD5 signature of its decoded audio and its bits per sample, from its STREAMINFO; None
    where it has none (an encoder that left it unset, all zeros) or is no FLAC file."""
    with open(file, "rb") as stream:
        if stream.read(4) != b"fLaC":
            return None
        for block in flac_blocks(stream):
            if block.kind == FLAC_STREAMINFO and block.size >= 34:
                stream.seek(block.position + 4)
                body = stream.read(34)
                if len(body) < 34 or not any(body[18:34]):
                    return None
                return body[18:34], ((body[12] & 1) << 4 | body[13] >> 4) + 1
    return None


def flac_comments(file: Path) -> dict[str, str]:
    """The Vorbis comments of the FLAC ``file`` (its ``VORBIS_COMMENT`` block), names upper-cased as the format
    compares them, the first of a repeated name kept; empty for another file, one without them, or one whose block
    is damaged (a comment that runs past its block ends the reading there)."""
    comments: dict[str, str] = {}
    with open(file, "rb") as stream:
        if stream.read(4) != b"fLaC":
            return comments
        for block in flac_blocks(stream):
            if block.kind == FLAC_VORBIS_COMMENT:
                stream.seek(block.position + 4)
                vorbis_comments(stream.read(block.size), comments)
                break
    return comments


def vorbis_comments(block: bytes, into: dict[str, str]) -> None:
    """Read a Vorbis comment block (little-endian lengths: the vendor string, the count, each ``NAME=value``)."""
    position = 4 + int.from_bytes(block[:4], "little")
    count = int.from_bytes(block[position : position + 4], "little")
    position += 4
    for _ in range(count):
        size = int.from_bytes(block[position : position + 4], "little")
        entry = block[position + 4 : position + 4 + size]
        if position + 4 + size > len(block):
            return
        position += 4 + size
        name, equals, value = entry.partition(b"=")
        if equals:
            into.setdefault(name.decode("ascii", errors="replace").upper(), value.decode("utf-8", errors="replace"))
