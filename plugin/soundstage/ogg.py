"""An Ogg file's structure: whether its stream ends on the page marked as its end (a file cut short does not), and
its first stream's Vorbis comments (Vorbis, Opus, FLAC in Ogg) from its header packets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from soundstage.flac import FLAC_VORBIS_COMMENT, polynomial_table, vorbis_comments

__all__ = ["ogg_ended", "OggComments", "ogg_comments"]


#: The most bytes an Ogg page takes: a 27-byte header, 255 lacing values and 255 segments of 255 bytes.
_OGG_MAX_PAGE = 27 + 255 + 255 * 255


def ogg_ended(file: Path) -> bool | None:
    """Whether the Ogg ``file`` (Vorbis, Opus, FLAC in Ogg) ends as its writer ended it: on a whole page marked as
    its stream's last (RFC 3533's end-of-stream flag); None where it is not Ogg. A file cut short ends inside a page,
    or on one not so marked."""
    with open(file, "rb") as stream:
        if stream.read(4) != b"OggS":
            return None
        length = stream.seek(0, os.SEEK_END)
        start = max(0, length - 2 * _OGG_MAX_PAGE)
        stream.seek(start)
        tail = stream.read()
    position = len(tail)
    partial = False
    while (position := tail.rfind(b"OggS", 0, position)) >= 0:
        page = _ogg_page(tail, position)
        if page is None:
            continue
        whole, last = page
        if whole:
            return last and not partial
        partial = True
    return False


#: The most bytes of header packets :func:`ogg_comments` reads: comments that hold cover art can take megabytes.
_OGG_MAX_HEADERS = 64 * 2**20


#: An Ogg stream's codec by the start of its first packet, and where its comment packet's comments start.
_OGG_CODECS = ((b"\x01vorbis", "vorbis", 7), (b"OpusHead", "opus", 8), (b"\x7fFLAC", "flac", 4))


@dataclass(frozen=True)
class OggComments:
    """An Ogg file's first stream: its codec (``"vorbis"``, ``"opus"``, ``"flac"``) and its comments, names
    upper-cased as the format compares them, the first of a repeated name kept."""

    codec: str
    comments: dict[str, str]


def ogg_comments(file: Path) -> OggComments | None:
    """The codec and the Vorbis comments of the Ogg ``file``'s first stream (the second of its header packets: a
    Vorbis comment header, ``OpusTags``, or a FLAC-in-Ogg ``VORBIS_COMMENT`` block); None for another file, one of
    another codec, or one whose header packets cannot be read whole (a damaged page: no checksum is checked, a
    page that cannot be a page ends the reading)."""
    packets = _ogg_header_packets(file, 2)
    if not packets:
        return None
    known = next(((codec, offset) for start, codec, offset in _OGG_CODECS if packets[0].startswith(start)), None)
    if known is None:
        return None
    codec, offset = known
    comments: dict[str, str] = {}
    if len(packets) == 2:
        comment = packets[1]
        if codec == "flac" and comment[:1] and comment[0] & 0x7F == FLAC_VORBIS_COMMENT:
            vorbis_comments(comment[offset:], comments)
        elif (codec, comment[:offset]) in (("vorbis", b"\x03vorbis"), ("opus", b"OpusTags")):
            vorbis_comments(comment[offset:], comments)
    return OggComments(codec, comments)


def _ogg_header_packets(file: Path, count: int) -> list[bytes]:
    """The first ``count`` packets of the Ogg ``file``'s first logical stream (fewer where it ends or a page is not
    one first, or they run past :data:`_OGG_MAX_HEADERS`); empty for a file that is not Ogg."""
    packets: list[bytes] = []
    pending = bytearray()
    serial = None
    with open(file, "rb") as stream:
        while len(packets) < count and len(pending) <= _OGG_MAX_HEADERS:
            header = stream.read(27)
            if len(header) < 27 or header[:4] != b"OggS" or header[4] != 0:
                break
            table = stream.read(header[26])
            body = stream.read(sum(table))
            if len(table) < header[26] or len(body) < sum(table):
                break
            if serial is None:
                serial = header[14:18]
            if header[14:18] != serial:  # another stream's page, multiplexed in
                continue
            at = 0
            for lacing in table:
                pending += body[at : at + lacing]
                at += lacing
                if lacing < 255:  # a packet ends here
                    packets.append(bytes(pending))
                    pending.clear()
                    if len(packets) == count:
                        break
    return packets


def _ogg_page(data: bytes, at: int) -> tuple[bool, bool] | None:
    """The Ogg page at ``data[at:]``: (whole, marked as its stream's last), or None where this is no page header (a
    capture pattern inside a packet, or a whole page whose checksum fails)."""
    header = data[at : at + 27]
    if len(header) < 27:
        return (False, False) if header[4:5] in (b"", b"\x00") else None
    if header[4] != 0 or header[5] > 7:
        return None
    segments = header[26]
    table = data[at + 27 : at + 27 + segments]
    end = at + 27 + segments + sum(table)
    if len(table) < segments or end > len(data):
        return False, False
    page = bytearray(data[at:end])
    page[22:26] = b"\x00\x00\x00\x00"
    if _ogg_crc(bytes(page)) != int.from_bytes(header[22:26], "little"):
        return None
    return True, bool(header[5] & 0x04)


_CRC_TABLE = polynomial_table(32, 0x04C11DB7)


def _ogg_crc(page: bytes) -> int:
    """Ogg's page checksum: CRC-32 of polynomial 0x04C11DB7, unreflected, from 0, no final inversion (zlib's crc32 is
    the reflected one)."""
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[(crc >> 24) ^ byte]
    return crc
