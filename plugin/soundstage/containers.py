"""What an audio file's container says of its audio, against what the file holds: the sign of a file cut short.

A file cut short (a disk that filled up under the writer, a copy or download that stopped) keeps the header it was
written with. Where that header sizes the audio, the cut shows as fewer bytes than it declares: a WAV's ``data``
chunk (RIFF, RF64, BW64), a Sony Wave64's and a CAF's. libsndfile and FFmpeg read such a file to where it stops,
without a word, for Wave64, CAF and the WAVs of block codecs (ADPCM, GSM). Where no header sizes the audio, the
container's own structure shows the cut: an Ogg stream ends on a page marked as its end, an MP4 holds an index
(``moov``) without which its audio cannot be found, and a WAV's audio follows its header. No library of the field
reports any of this (soundfile, pedalboard and PyAV read what they can), so it is read here.

An HDF5 file (a SOFA set of head-related responses is netCDF-4, which is HDF5) states its own length in its
superblock: :func:`hdf5_size`, :func:`hdf5_superblock` (the HDF5 library says only "HDF error" of a download that stopped).

A FLAC's Vorbis comments are read here too (:func:`flac_comments`): the walk over its metadata blocks is the cut
check's, and none of soundstage's readers gives them (libsndfile gives a few named ones, title and the like). So are
an Ogg file's (:func:`ogg_comments`: Vorbis, Opus, FLAC in Ogg), from its first stream's header packets.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import soundfile

from soundstage import riff

__all__ = [
    "FLAC_STREAMINFO",
    "FLAC_VORBIS_COMMENT",
    "AudioSize",
    "FlacBlock",
    "audio_size",
    "cut_before_audio",
    "flac_blocks",
    "flac_comments",
    "flac_end_at_whole_frames",
    "flac_signature",
    "hdf5_size",
    "hdf5_superblock",
    "ogg_comments",
    "ogg_ended",
]


@dataclass(frozen=True)
class AudioSize:
    """The audio a container declares (``declared_bytes``; ``declared_frames``, samples per channel, where its header
    gives them exactly) and ``held_bytes`` of it the file holds."""

    declared_bytes: int
    held_bytes: int
    declared_frames: int | None

    @property
    def cut(self) -> bool:
        """Whether the file ends before the audio its header declares."""
        return self.held_bytes < self.declared_bytes


#: WAVE format tags whose samples are a fixed number of bytes per frame (``block_align``): PCM, float, A-law, mu-law.
_FRAME_CODED = (1, 3, 6, 7)
#: Wave64's GUIDs: a chunk's is its four-character code followed by these 12 bytes (its RIFF, ``riff``'s by another).
_W64_TAIL = bytes.fromhex("f3acd3118cd100c04f8edb8a")
_W64_RIFF = b"riff" + bytes.fromhex("2e91cf11a5d628db04c10000")


def audio_size(file: Path) -> AudioSize | None:
    """The audio ``file``'s header declares against what it holds, for a WAV (RIFF, RF64, BW64), a Sony Wave64 or a
    CAF; None for another file, or one whose header does not size its audio (written to a pipe: it runs to the end)."""
    with open(file, "rb") as stream:
        head = stream.read(40)
        length = stream.seek(0, os.SEEK_END)
        if head[:4] in riff.FORMS and head[8:12] == b"WAVE":
            return _wav_size(stream, length)
        if head[:16] == _W64_RIFF and head[24:40] == b"wave" + _W64_TAIL:
            return _w64_size(stream, length)
        if head[:4] == b"caff":
            return _caf_size(stream, length)
    return None


def _frames(fmt: bytes, size: int, fact: int | None) -> int | None:
    """Samples per channel in ``size`` bytes of audio a WAVE ``fmt`` describes: exact for frame-coded samples, the
    ``fact`` chunk's count for a block codec, else None."""
    if len(fmt) < 16:
        return None
    tag = int.from_bytes(fmt[:2], "little")
    if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
        tag = int.from_bytes(fmt[24:26], "little")
    align = int.from_bytes(fmt[12:14], "little")
    if tag in _FRAME_CODED and align > 0:
        return size // align
    return fact


def _wav_size(stream: BinaryIO, length: int) -> AudioSize | None:
    fmt, fact = b"", None
    for chunk in riff.chunks(stream):
        if chunk.kind == b"fmt ":
            fmt = stream.read(min(chunk.size, 26))
        elif chunk.kind == b"fact" and chunk.size >= 4:
            fact = int.from_bytes(stream.read(4), "little")
        elif chunk.kind == b"data":
            if chunk.size in (0, riff.UNSIZED):  # a writer that never came back to size it: it runs to the end
                return None
            held = min(chunk.size, max(0, length - chunk.body))
            return AudioSize(chunk.size, held, _frames(fmt, chunk.size, fact))
    return None


def _w64_size(stream: BinaryIO, length: int) -> AudioSize | None:
    """A Wave64's ``data`` chunk: chunks of a 16-byte GUID and a 64-bit size (header included), 8-byte aligned."""
    position, fmt, fact = 40, b"", None
    while position + 24 <= length:
        stream.seek(position)
        header = stream.read(24)
        kind, size = header[:4], int.from_bytes(header[16:24], "little")
        if header[4:16] != _W64_TAIL or size < 24:
            return None
        if kind == b"fmt ":
            fmt = stream.read(min(size - 24, 26))
        elif kind == b"fact" and size >= 28:
            fact = int.from_bytes(stream.read(8), "little")
        elif kind == b"data":
            body = size - 24
            return AudioSize(body, min(body, max(0, length - position - 24)), _frames(fmt, body, fact))
        position += (size + 7) & ~7
    return None


def _caf_size(stream: BinaryIO, length: int) -> AudioSize | None:
    """A CAF's ``data`` chunk (after its 4-byte edit count): chunks of a four-character type and a big-endian 64-bit
    size; ``-1`` for the last chunk's size means it runs to the end (a recorder that could not seek back)."""
    position, packet, valid = 8, None, None
    while position + 12 <= length:
        stream.seek(position)
        header = stream.read(12)
        kind, size = header[:4], int.from_bytes(header[4:12], "big", signed=True)
        if kind == b"data":
            if size < 4:
                return None
            held = min(size, max(0, length - position - 12)) - 4
            frames: int | None = (size - 4) // packet[0] * packet[1] if packet else valid
            return AudioSize(size - 4, max(0, held), frames)
        if size < 0:
            return None
        body = stream.read(min(size, 32))
        if kind == b"desc" and len(body) >= 32:
            per_packet, frames_per_packet = (int.from_bytes(body[a : a + 4], "big") for a in (16, 20))
            packet = (per_packet, frames_per_packet) if per_packet and frames_per_packet else None
        elif kind == b"pakt" and len(body) >= 16:
            valid = int.from_bytes(body[8:16], "big", signed=True)
        position += 12 + size
    return None


def cut_before_audio(file: Path) -> str | None:
    """How ``file`` is cut short, in words for the error message where no decoder can read it; None where its
    container does not show it cut. A WAV that ends inside its header (before its ``data`` chunk, and short of its
    RIFF size); a FLAC inside its metadata; a WAV, Wave64 or CAF short of the audio its header declares (a CAF of
    ALAC or AAC keeps its packet table after the audio); an MP4 / M4A inside a box, before its index (``moov``, which
    encoders write last) is whole; an Ogg file without the page that ends its stream."""
    never = "inside its header: its audio ('data' chunk) never starts"
    with open(file, "rb") as stream:
        head = stream.read(24)
        length = stream.seek(0, os.SEEK_END)
        if head[:4] in riff.FORMS and head[8:12] == b"WAVE":
            stated = int.from_bytes(head[4:8], "little") + 8  # RF64 and BW64: 0xFFFFFFFF, the real size in ds64
            if stated > length and not any(chunk.kind == b"data" for chunk in riff.chunks(stream)):
                return f"it ends after {length} bytes, {never}"
        elif head[:16] == _W64_RIFF and int.from_bytes(head[16:24], "little") > length and audio_size(file) is None:
            return f"it ends after {length} bytes, {never}"
        elif head[:4] == b"fLaC":
            return _flac_cut(stream, length)
        elif head[4:8] == b"ftyp":
            return _mp4_cut(stream, length)
        elif head[:4] == b"caff":
            chunk = _caf_cut(stream, length)
            if chunk == "":
                return f"it ends after {length} bytes, {never}"
            if chunk is not None:
                return f"it ends inside its {chunk!r} chunk"
    size = audio_size(file)
    if size is not None and size.cut:
        return f"its header declares {size.declared_bytes} bytes of audio, and it holds {size.held_bytes}"
    if ogg_ended(file) is False:
        return f"its Ogg stream stops after {length} bytes, without the page that ends it"
    return None


def _caf_cut(stream: BinaryIO, length: int) -> str | None:
    """The type of the CAF chunk ``stream`` ends inside (after its audio: ALAC's or AAC's packet table); ``""`` where
    it ends between chunks before its audio (``data``, which every CAF holds) starts; else None."""
    position, audio = 8, False
    while position + 12 <= length:
        stream.seek(position)
        header = stream.read(12)
        size = int.from_bytes(header[4:12], "big", signed=True)
        audio = audio or header[:4] == b"data"
        if size < 0:
            return None  # runs to the end
        position += 12 + size
        if position > length:
            return header[:4].decode("latin-1")
    if position < length:  # a chunk's header cut off
        stream.seek(position)
        return stream.read(4).decode("latin-1")
    return None if audio else ""


def _flac_cut(stream: BinaryIO, length: int) -> str | None:
    """A FLAC's metadata blocks (a byte of type, the last one's flagged, and a 24-bit size) run past its end."""
    for block in flac_blocks(stream):
        if block.position + 4 + block.size > length:
            break
        if block.last:
            return None  # the last metadata block: the audio follows
    return f"it ends after {length} bytes, inside its header (metadata blocks), before any audio"


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


def _polynomial_table(width: int, polynomial: int) -> list[int]:
    """The byte table of an unreflected CRC of ``width`` bits from 0 (FLAC's CRC-8 and CRC-16, Ogg's CRC-32)."""
    top, mask, table = 1 << (width - 1), (1 << width) - 1, []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ polynomial) if crc & top else crc << 1
        table.append(crc & mask)
    return table


_FLAC_CRC8, _FLAC_CRC16 = _polynomial_table(8, 0x07), _polynomial_table(16, 0x8005)


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
                _vorbis_comments(stream.read(block.size), comments)
                break
    return comments


def _vorbis_comments(block: bytes, into: dict[str, str]) -> None:
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


def _mp4_cut(stream: BinaryIO, length: int) -> str | None:
    """An MP4's top-level boxes (32-bit size and type; size 1: a 64-bit size follows; 0: to the end)."""
    position, found = 0, set()
    while position + 8 <= length:
        stream.seek(position)
        header = stream.read(16)
        size, kind = int.from_bytes(header[:4], "big"), header[4:8]
        if size == 1 and len(header) == 16:
            size = int.from_bytes(header[8:16], "big")
        elif size == 0:
            size = length - position
        if size < 8:
            return None  # not boxes: not for this reader to judge
        if position + size > length and b"moov" not in found:
            if kind == b"moov":
                return "it ends inside its index ('moov' box), which an MP4 keeps at its end"
            name = kind.decode("latin-1")
            return f"it ends inside its {name!r} box, before the index ('moov' box) an MP4 keeps at its end"
        found.add(kind)
        position += size
    if b"moov" not in found:  # it ends between boxes, or inside a box's header, and the index never came
        return f"it ends after {length} bytes, before the index ('moov' box) an MP4 keeps at its end"
    return None


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
            _vorbis_comments(comment[offset:], comments)
        elif (codec, comment[:offset]) in (("vorbis", b"\x03vorbis"), ("opus", b"OpusTags")):
            _vorbis_comments(comment[offset:], comments)
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


_CRC_TABLE = _polynomial_table(32, 0x04C11DB7)


def _ogg_crc(page: bytes) -> int:
    """Ogg's page checksum: CRC-32 of polynomial 0x04C11DB7, unreflected, from 0, no final inversion (zlib's crc32 is
    the reflected one)."""
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[(crc >> 24) ^ byte]
    return crc


#: An HDF5 file's signature, at its start or after a user block of 512, 1024, 2048 ... bytes.
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def hdf5_superblock(stream: BinaryIO) -> int | None:
    """Where an HDF5 file's superblock starts: at 0, or after a user block (512, 1024, 2048 ... bytes, up to 1 MiB:
    the HDF5 File Format Specification 3.0, section II.A); None where ``stream`` holds no HDF5 signature there."""
    at = 0
    while at <= 1 << 20:
        stream.seek(at)
        if stream.read(8) == HDF5_SIGNATURE:
            return at
        at = 512 if at == 0 else at * 2
    return None


def hdf5_size(stream: BinaryIO) -> int | None:
    """The length in bytes an HDF5 file's superblock states (its base address plus its end-of-file address), or
    None where ``stream`` holds no superblock this reads (versions 0 to 3, the HDF5 File Format Specification 3.0,
    section II.A; see :func:`hdf5_superblock`)."""
    at = hdf5_superblock(stream)
    if at is None:
        return None
    stream.seek(at)
    head = stream.read(48)
    version = head[8] if len(head) > 8 else None
    if version in (0, 1):
        offsets = head[13]
        fields = 24 if version == 0 else 28  # base, free-space, end-of-file addresses follow
    elif version in (2, 3):
        offsets = head[9]
        fields = 12  # base, superblock extension, end-of-file addresses follow
    else:
        return None
    if offsets not in (2, 4, 8) or len(head) < fields + 3 * offsets:
        return None
    base = int.from_bytes(head[fields : fields + offsets], "little")
    end = int.from_bytes(head[fields + 2 * offsets : fields + 3 * offsets], "little")
    undefined = (1 << (8 * offsets)) - 1
    return None if undefined in (base, end) else base + end
