"""MPEG audio streams (MP3, MP2) counted frame by frame.

A decoder sizes an MP3 from its Xing/Info (or VBRI) frame where the encoder wrote one, and otherwise estimates it
from the file's size and its first frame's bitrate; libsndfile and pedalboard both stop reading at that estimate,
so a variable-bitrate stream without such a frame reads short, silently. Walking the frame headers (ISO/IEC 11172-3
and 13818-3) gives what the stream really holds. No library of the field counts frames exactly (mutagen estimates
as the decoders do), so this is written here.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MpegStream", "scan"]

#: Bitrates (kbit/s) by header index 1..14, for (MPEG-1?, layer).
_BITRATES = {
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
#: Sample rates by header index 0..2, for the version bits (3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5).
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}

#: The samples an MPEG layer III decoder's synthesis filterbank delays its output by (LAME's gapless convention).
DECODER_DELAY = 529

#: How far past the ID3v2 tag the first frame may start (encoders' and taggers' padding).
_SEARCH_BYTES = 1 << 16


@dataclass(frozen=True)
class MpegStream:
    """What an MPEG audio stream holds: ``frames`` audio frames (a leading Xing/Info/VBRI frame not counted) of
    ``samples_per_frame`` samples per channel at ``sample_rate``; ``info_frame`` says an encoder's Xing/Info/VBRI
    frame leads it (the decoders then know its length and, from LAME's, its gapless trim)."""

    frames: int
    samples_per_frame: int
    sample_rate: int
    info_frame: bool
    gapless: tuple[int, int] | None = None  # LAME's encoder delay and padding, in samples, where its tag gives them
    cut_off: bool = False  # the file ends inside a frame: cut short (a disk that filled up, a copy that stopped)
    #: What the Xing/Info tag declares, where it does: the audio frames (LAME's count, its own frame left out) and the
    #: bytes from the tag's frame on; and the bytes the file holds from there.
    declared: tuple[int | None, int | None] = (None, None)
    held_bytes: int = 0

    @property
    def frames_missing(self) -> int:
        """The audio frames the Xing/Info tag declares that the file does not hold; 0 where it holds them all, or no tag
        says. One frame short counts only where the tag's byte count says so too: an encoder that counts its tag's
        frame among the audio declares one more than a whole file holds."""
        frames, size = self.declared
        missing = 0 if frames is None else frames - self.frames
        if missing == 1 and (size is None or self.held_bytes >= size):
            return 0
        return max(0, missing)

    @property
    def samples(self) -> int:
        """Samples per channel the frames decode to, before any gapless trim."""
        return self.frames * self.samples_per_frame

    @property
    def music(self) -> tuple[int, int]:
        """Where the music is in the decoded samples: (first sample, count), LAME's gapless trim applied as ffmpeg and
        mpg123 apply it (the encoder's delay plus the decoder's 529 samples ahead, the padding off the end)."""
        if self.gapless is None:
            return 0, self.samples
        delay, padding = self.gapless
        return min(delay + DECODER_DELAY, self.samples), max(0, self.samples - delay - padding)


@dataclass(frozen=True)
class _Header:
    version: int
    layer: int
    sample_rate: int
    length: int
    samples: int
    mono: bool


def _header(data: bytes | mmap.mmap, at: int) -> _Header | None:
    """The frame header at byte ``at``, or None where none is (free-format frames included: they cannot be sized)."""
    if at + 4 > len(data) or data[at] != 0xFF or data[at + 1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (data[at + 1] >> 3) & 3, (data[at + 1] >> 1) & 3
    bitrate_index, rate_index, padding = data[at + 2] >> 4, (data[at + 2] >> 2) & 3, (data[at + 2] >> 1) & 1
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    layer, mpeg1 = 4 - layer_bits, version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_index - 1] * 1000
    rate = _RATES[version][rate_index]
    if layer == 1:
        length, samples = (12 * bitrate // rate + padding) * 4, 384
    else:
        per_frame = 1152 if layer == 2 or mpeg1 else 576
        length, samples = per_frame // 8 * bitrate // rate + padding, per_frame
    return _Header(version, layer, rate, length, samples, data[at + 3] >> 6 == 3)


def _id3_end(data: bytes | mmap.mmap) -> int:
    """Where the audio may start: after an ID3v2 tag (its size is four 7-bit bytes; a footer adds 10)."""
    if len(data) < 10 or data[:3] != b"ID3" or any(byte & 0x80 for byte in data[6:10]):
        return 0
    size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
    return 10 + size + (10 if data[5] & 0x10 else 0)


def _xing_at(at: int, header: _Header) -> int:
    """Where a Xing/Info tag starts in the frame at ``at``: after its header and side information."""
    side = (32 if not header.mono else 17) if header.version == 3 else (17 if not header.mono else 9)
    return at + 4 + side


def _is_info_frame(data: bytes | mmap.mmap, at: int, header: _Header) -> bool:
    """Whether the frame at ``at`` is an encoder's Xing/Info or VBRI frame."""
    tag = _xing_at(at, header)
    return data[tag : tag + 4] in (b"Xing", b"Info") or data[at + 36 : at + 40] == b"VBRI"


def _synced(data: bytes | mmap.mmap, at: int, rate: int | None = None) -> _Header | None:
    """The frame header at ``at`` where a real stream goes on from it: the next frame's header follows (or the file
    ends), at the same rate (``rate``, where given)."""
    header = _header(data, at)
    if header is None or (rate is not None and header.sample_rate != rate):
        return None
    if at == _id3_end(data) and at + header.length > len(data):
        return header  # where the audio starts, a first frame cut off: a file cut short in it
    after = at + header.length
    if len(data) - after < 4 and data[after : after + 1] == b"\xff":
        return header  # the next frame's header cut off: a file cut short after its first frame
    following = _header(data, after)
    if after != len(data) and (following is None or following.sample_rate != header.sample_rate):
        return None  # a false sync: real frames follow one another
    return header


def _resync(data: bytes | mmap.mmap, at: int, rate: int) -> int | None:
    """Where the stream goes on after damage or a tag at ``at``, as decoders find it; None where it does not."""
    position = data.find(b"\xff", at + 1)
    while position != -1:
        if _synced(data, position, rate) is not None:
            return position
        position = data.find(b"\xff", position + 1)
    return None


def _gapless(data: bytes | mmap.mmap, at: int, header: _Header) -> tuple[int, int] | None:
    """The encoder delay and padding of the LAME tag in the Xing/Info frame at ``at`` (None where it has none): after
    "Xing"/"Info", its flags and the fields they announce (frames, bytes, a 100-byte TOC, quality), the LAME
    extension holds them 21 bytes in, as two 12-bit numbers."""
    tag = _xing_at(at, header)
    if header.layer != 3 or data[tag : tag + 4] not in (b"Xing", b"Info") or tag + 8 > len(data):
        return None
    flags = int.from_bytes(data[tag + 4 : tag + 8], "big")
    extension = tag + 8 + 4 * bool(flags & 1) + 4 * bool(flags & 2) + 100 * bool(flags & 4) + 4 * bool(flags & 8)
    field = data[extension + 21 : extension + 24]
    if len(field) < 3 or not data[extension : extension + 4].isalpha() or extension + 24 > at + header.length:
        return None  # no LAME extension (an encoder's string such as "LAME" or "Lavc" starts it)
    return (field[0] << 4) | (field[1] >> 4), ((field[1] & 0x0F) << 8) | field[2]


def _xing_counts(data: bytes | mmap.mmap, at: int, header: _Header) -> tuple[int | None, int | None]:
    """The frames and bytes a Xing/Info tag in the frame at ``at`` declares (its flags say which it holds)."""
    tag = _xing_at(at, header)
    if data[tag : tag + 4] not in (b"Xing", b"Info") or tag + 16 > len(data):
        return None, None
    flags = int.from_bytes(data[tag + 4 : tag + 8], "big")
    frames = int.from_bytes(data[tag + 8 : tag + 12], "big") if flags & 1 else None
    size = int.from_bytes(data[tag + 8 + 4 * bool(flags & 1) : tag + 12 + 4 * bool(flags & 1)], "big") if flags & 2 else None
    return frames, size


def _walk(data: bytes | mmap.mmap) -> MpegStream | None:
    start = _id3_end(data)
    for first in range(start, min(len(data), start + _SEARCH_BYTES)):
        header = _synced(data, first)
        if header is None:
            continue
        frames, at, cut_off = 0, first, False
        while at < len(data):
            if data[at : at + 3] == b"ID3":  # files joined end to end (cat a.mp3 b.mp3): each keeps its tag
                at += _id3_end(data[at : at + 10]) or 3
            frame = _header(data, at)
            if frame is None or frame.sample_rate != header.sample_rate:
                resumed = _resync(data, at, header.sample_rate)  # a damaged frame, or tags at the end (ID3v1, APE)
                if resumed is None:
                    cut_off = len(data) - at < 4 and data[at : at + 1] == b"\xff"  # a frame header cut off
                    break
                at, frame = resumed, _header(data, resumed)
                assert frame is not None
            if at + frame.length > len(data):
                cut_off = True  # a last frame cut off: decoders drop it
                break
            if at == first or not _is_info_frame(data, at, frame):  # a joined file's Info frame is no audio
                frames += 1
            at += frame.length
        info = _is_info_frame(data, first, header)
        gapless = _gapless(data, first, header)
        audio = frames - int(info and frames > 0)  # an Info frame cut off where it starts was not counted
        declared = _xing_counts(data, first, header) if info else (None, None)
        return MpegStream(audio, header.samples, header.sample_rate, info, gapless, cut_off, declared, len(data) - first)
    return None


def scan(path: str | os.PathLike[str]) -> MpegStream | None:
    """The MPEG audio stream in ``path``, counted frame by frame, or None where the file holds none."""
    with open(Path(path), "rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return None
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _walk(data)
