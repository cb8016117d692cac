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
A Creative VOC file's blocks are counted (:func:`voc_sound_blocks`): libsndfile reads one block of sound only.

A FLAC's Vorbis comments are read too (:func:`~soundstage.flac.flac_comments`): the walk over its metadata blocks
is the cut check's, and none of soundstage's readers gives them (libsndfile gives a few named ones, title and the
like). So are an Ogg file's (:func:`~soundstage.ogg.ogg_comments`: Vorbis, Opus, FLAC in Ogg), from its first
stream's header packets. The FLAC and Ogg structures are :mod:`soundstage.flac` and :mod:`soundstage.ogg`; their
names are offered here too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from soundstage import riff
from soundstage.flac import (
    FLAC_STREAMINFO,
    FLAC_VORBIS_COMMENT,
    FlacBlock,
    flac_blocks,
    flac_comments,
    flac_end_at_whole_frames,
    flac_signature,
)
from soundstage.ogg import ogg_comments, ogg_ended
from soundstage.signatures import HDF5_SIGNATURE

__all__ = [
    "AudioSize",
    "FLAC_STREAMINFO",
    "FLAC_VORBIS_COMMENT",
    "FlacBlock",
    "audio_size",
    "cut_before_audio",
    "flac_blocks",
    "flac_comments",
    "flac_end_at_whole_frames",
    "flac_signature",
    "hdf5_size",
    "hdf5_superblock",
    "dsd_samples",
    "musepack_samples",
    "ogg_comments",
    "ogg_ended",
    "voc_sound_blocks",
    "Wave64Audio",
    "wave64_audio",
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


@dataclass(frozen=True)
class Wave64Audio:
    """Where a Sony Wave64's audio is: its ``fmt`` chunk (the first 26 bytes), the position of its first sample and the
    bytes of audio its header declares, and its ``fact`` chunk's count of samples (None where it has none)."""

    fmt: bytes
    start: int
    size: int
    fact: int | None


def wave64_audio(file: Path) -> Wave64Audio | None:
    """Where the audio of ``file`` is, if it is a Sony Wave64 with a ``data`` chunk after its ``fmt``; else None."""
    with open(file, "rb") as stream:
        head = stream.read(40)
        if head[:16] != _W64_RIFF or head[24:40] != b"wave" + _W64_TAIL:
            return None
        return _w64_walk(stream, stream.seek(0, os.SEEK_END))


def _w64_walk(stream: BinaryIO, length: int) -> Wave64Audio | None:
    """A Wave64's chunks, to its ``data``: each a 16-byte GUID and a 64-bit size (header included), 8-byte aligned."""
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
            return Wave64Audio(fmt, position + 24, size - 24, fact) if len(fmt) >= 16 else None
        position += (size + 7) & ~7
    return None


def _w64_size(stream: BinaryIO, length: int) -> AudioSize | None:
    """A Wave64's ``data`` chunk against what the file holds of it."""
    audio = _w64_walk(stream, length)
    if audio is None:
        return None
    return AudioSize(audio.size, min(audio.size, max(0, length - audio.start)), _frames(audio.fmt, audio.size, audio.fact))


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


#: A Creative VOC file's first bytes; its header's length is at byte 20, its blocks follow.
_VOC_SIGNATURE = b"Creative Voice File\x1a"
#: The types of a VOC block that hold sound: 8-bit data, its continuation, data of any encoding and channels.
_VOC_SOUND = frozenset({1, 2, 9})


def voc_sound_blocks(stream: BinaryIO) -> int | None:
    """How many blocks of sound a Creative VOC file holds (type 1, 2 or 9; Creative's "Voice File Format"), or None
    for a file that is no VOC. FFmpeg writes a block per packet; libsndfile reads the first only, and the headers of
    the rest as samples."""
    stream.seek(0)
    head = stream.read(26)
    if not head.startswith(_VOC_SIGNATURE) or len(head) < 22:
        return None
    at, count = int.from_bytes(head[20:22], "little"), 0
    while True:
        stream.seek(at)
        block = stream.read(4)
        if len(block) < 4 or block[0] == 0:  # the file's end, or the terminator block
            return count
        count += int(block[0] in _VOC_SOUND)
        at += 4 + int.from_bytes(block[1:4], "little")


def dsd_samples(file: Path) -> tuple[int, int] | None:
    """A DSD file's one-bit samples per channel and their rate, as its header declares them: a DSF's (Sony's "DSF File
    Format Specification" 1.01: its ``fmt`` chunk) or an uncompressed DSDIFF's (Philips' "DSDIFF" 1.5: its ``DSD ``
    chunk's size, its ``PROP`` chunk's rate and channels); None for another file (a DST-compressed DSDIFF too)."""
    with open(file, "rb") as stream:
        head = stream.read(72)
        if len(head) >= 72 and head[:4] == b"DSD " and head[28:32] == b"fmt ":
            return int.from_bytes(head[64:72], "little"), int.from_bytes(head[56:60], "little")
        if head[:4] == b"FRM8" and head[12:16] == b"DSD ":
            return _dsdiff_samples(stream, min(16 + int.from_bytes(head[4:12], "big"), stream.seek(0, os.SEEK_END)))
    return None


def _dsdiff_samples(stream: BinaryIO, end: int) -> tuple[int, int] | None:
    """A DSDIFF's chunks after its form header, to its ``DSD `` sound data: each a four-letter ID and a 64-bit
    big-endian size, padded to an even length; ``PROP`` holds ``FS  `` (the rate) and ``CHNL`` (the channels)."""
    position, rate, channels = 16, 0, 0
    while position + 12 <= end:
        stream.seek(position)
        header = stream.read(12)
        kind, size = header[:4], int.from_bytes(header[4:12], "big")
        if kind == b"PROP":
            body = stream.read(min(size, 4096))
            at = 4  # past its property type, "SND "
            while at + 12 <= len(body):
                local, length = body[at : at + 4], int.from_bytes(body[at + 4 : at + 12], "big")
                if local == b"FS  " and length >= 4:
                    rate = int.from_bytes(body[at + 12 : at + 16], "big")
                elif local == b"CHNL" and length >= 2:
                    channels = int.from_bytes(body[at + 12 : at + 14], "big")
                at += 12 + length + (length & 1)
        elif kind == b"DSD ":
            return (size * 8 // channels, rate) if channels and rate else None
        elif kind == b"DST ":  # compressed: its frames, not its size, tell the length
            return None
        position += 12 + size + (size & 1)
    return None


def musepack_samples(file: Path) -> tuple[int, int] | None:
    """A Musepack file's samples per channel and the silence before its music, in samples, as its stream header
    declares them (stream version 8: "MPCK", then packets of a two-letter key and a size; the ``SH`` packet holds a
    CRC, the version, and the two counts as numbers of seven bits a byte, the highest bit set in all but the last);
    None for another file."""
    with open(file, "rb") as stream:
        head = stream.read(64)
    if head[:6] != b"MPCKSH":
        return None
    at, numbers = 6, list[int]()
    while len(numbers) < 3 and at < len(head):  # the packet's size, the sample count, the beginning silence
        value = 0
        while at < len(head):
            value, at = (value << 7) | (head[at] & 0x7F), at + 1
            if not head[at - 1] & 0x80:
                break
        numbers.append(value)
        at += 5 if len(numbers) == 1 else 0  # past the CRC and the stream version
    if len(numbers) < 3 or at > len(head) or numbers[2] > numbers[1]:
        return None
    return numbers[1], numbers[2]
