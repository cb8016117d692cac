"""Files cut short: how much of its audio a file holds against what its header says, in frames and words
(WAV, AIFF, FLAC, MPEG), and a reader that plays what is there and reports the rest."""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from soundstage import containers, riff
from soundstage.errors import AudioFileError
from soundstage.files import library_path

__all__ = [
    "CUT_CAUSE",
    "wav_data_chunk",
    "MAX_BLOCK_PADDING",
    "format_tag",
    "coded_wav_frames",
    "CUT_UNKNOWN",
    "missing_words",
    "missing_frames",
    "held_frames",
    "FlacCheck",
    "TruncatedReader",
]


#: Why files are cut short, as the errors say it.
CUT_CAUSE = " (a disk that filled up, or a copy that did not finish?)"


def wav_data_chunk(file: Path) -> tuple[int | None, int]:
    """A WAV's ``data`` chunk: the size its header gives and the bytes that follow the header to the file's end;
    ``(None, 0)`` for any other file."""
    with open(file, "rb") as stream:
        for chunk in riff.chunks(stream):
            if chunk.kind == b"data":
                return chunk.size, max(0, os.fstat(stream.fileno()).st_size - chunk.body)
    return None, 0


#: The most samples a block-coded WAV's last block pads its music by (an IMA ADPCM block of 2 KiB holds 4089).
MAX_BLOCK_PADDING = 8192


def format_tag(fmt: bytes) -> int:
    """A WAV ``fmt`` chunk's format tag (1 PCM, 3 float, ...): for WAVE_FORMAT_EXTENSIBLE, its sub-format's."""
    tag = int.from_bytes(fmt[:2], "little")
    return int.from_bytes(fmt[24:26], "little") if tag == 0xFFFE and len(fmt) >= 26 else tag


def coded_wav_frames(file: Path) -> int | None:
    """A block-coded WAV's length as its ``fact`` chunk gives it (GSM 6.10, ADPCM: the decoders count whole blocks,
    so the last one's padding reads as music), or None: not a WAV, PCM or float samples, or no fact chunk."""
    tag, fact = None, None
    with open(file, "rb") as stream:
        for chunk in riff.chunks(stream):
            if chunk.kind == b"fmt ":
                tag = format_tag(stream.read(min(chunk.size, 26)))
            elif chunk.kind == b"fact" and chunk.size >= 4:
                fact = int.from_bytes(stream.read(4), "little")
            elif chunk.kind == b"data":
                break
    return fact if tag not in (None, 1, 3) else None  # PCM and float need none, and some writers' are wrong


#: What the reports say of a file cut short that does not say how long it was to be (see :func:`missing_frames`).
CUT_UNKNOWN = "cut short, and how much is missing at its end is unknown (its format does not say how long it was to be)"


def missing_words(seconds: float | None) -> str:
    """How the reports say what a file read with ``allow_truncated`` misses: ``seconds`` at its end, or
    :data:`CUT_UNKNOWN` for None or NaN (see :func:`missing_frames`)."""
    return CUT_UNKNOWN if seconds is None or math.isnan(seconds) else f"{seconds:.3f} s missing at its end"


def missing_frames(reader: Any) -> int | None:
    """Samples per channel missing at the end of what ``reader`` (from :func:`open_audio`) reads: 0 for a whole file,
    None for one cut short that does not say how long it was to be (see :class:`TruncatedReader`)."""
    frames = int(reader.frames)
    declared = getattr(reader, "declared_frames", frames)
    return None if declared is None else max(0, int(declared) - frames)


def held_frames(file: Path, declared: int) -> int:
    """How many samples per channel ``file`` really holds, where its header may declare more.

    libsndfile (``soundfile``) sizes WAV/AIFF data from the file's length, where
    pedalboard takes the header's word and pads; a FLAC's STREAMINFO is checked
    by seeking to its last sample (and, where that fails, by decoding to where
    the stream breaks). Formats libsndfile does not read are taken at their word.
    """
    try:
        info = soundfile.info(str(file))
    except Exception:  # not a format libsndfile reads (pedalboard did): nothing to compare with
        return declared
    if info.format in ("WAV", "WAVEX", "AIFF", "RF64", "W64", "CAF"):
        return min(declared, int(info.frames)) if info.frames > 0 else declared
    if info.format != "FLAC" or declared == 0 or info.frames >= 2**62:
        return declared  # a FLAC written to a pipe gives no length (libsndfile: 2**63 - 1); pedalboard counts its frames
    try:
        with soundfile.SoundFile(str(file)) as flac:
            flac.seek(declared - 1)
            if len(flac.read(1)) == 1:
                return declared
    except Exception:  # a cut-short stream cannot seek to its end
        pass
    count = 0
    try:
        with soundfile.SoundFile(str(file)) as flac:
            for piece in flac.blocks(4096, dtype="float32", always_2d=True):  # a FLAC frame at most, as encoders make them
                count += len(piece)
    except Exception:  # the decoder lost sync where the file breaks: what came before is what it holds
        pass
    return min(count, declared)


class FlacCheck:
    """The MD5 signature a FLAC file's STREAMINFO holds of its decoded audio, checked against the samples read.

    A FLAC frame damaged on a disk or in a copy (its sync or its bits) reads through pedalboard's decoder (JUCE's)
    without a word, as silence or shifted audio: every later sample moved, the file as long as ever. The signature is
    the format's own check of that: :meth:`add` takes the blocks read, in order from the first sample, and raises
    :class:`AudioFileError` at the last one where their MD5 is not the file's, naming where libsndfile's decoder loses
    sync (where it does). Only for files of up to 24 bits read whole (float32 holds their integers exactly).
    """

    def __init__(self, file: Path, signature: bytes, bits: int, frames: int, rate: float) -> None:
        self.file, self.signature, self.bits, self.frames, self.rate = file, signature, bits, frames, rate
        self._hash = hashlib.md5(usedforsecurity=False)
        self._count = 0

    @classmethod
    def of(cls, file: Path, reader: Any) -> FlacCheck | None:
        """The check of ``file`` as ``reader`` (from :func:`open_audio`) reads it, or None where there is none to make."""
        if missing_frames(reader) != 0:
            return None
        found = containers.flac_signature(file)  # None for any other format
        if found is None or found[1] > 24:
            return None
        return cls(file, found[0], found[1], int(reader.frames), float(reader.samplerate))

    def add(self, block: np.ndarray) -> None:
        """Take the next ``(channels, n)`` block read; at the file's last sample, compare (AudioFileError if it differs)."""
        # float32 holds these integers exactly (up to 24 bits), so the product is the decoder's integer
        integers = (np.asarray(block, np.float32).T * np.float32(2 ** (self.bits - 1))).astype("<i4", order="C")
        self._hash.update(self._bytes(integers))
        self._count += block.shape[1]
        if self._count == self.frames and self._hash.digest() != self.signature:
            refusal = self._mismatch()
            if refusal is not None:
                raise refusal

    def _bytes(self, integers: np.ndarray) -> bytes:
        """Interleaved integer samples as the signature takes them: little-endian, as many bytes as the bits need."""
        if self.bits <= 16:
            return integers.astype("<i2").tobytes() if self.bits > 8 else integers.astype("i1").tobytes()
        return integers.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()

    def _mismatch(self) -> AudioFileError | None:
        """The samples read do not match the signature: libsndfile's decoder judges. Where it loses sync, the file is
        damaged near there; where it decodes the signature's audio, pedalboard's decoder read it otherwise (refused
        both). Where it decodes every frame to another signature too, the encoder wrote it wrong (or the damage kept
        every frame's checksum): a warning, and the file processed as read."""
        digest, position = hashlib.md5(usedforsecurity=False), 0
        try:
            with soundfile.SoundFile(library_path(self.file)) as flac:
                for piece in flac.blocks(65536, dtype="int32", always_2d=True):  # left-justified in 32 bits
                    digest.update(self._bytes(np.ascontiguousarray(piece >> (32 - self.bits)).astype("<i4")))
                    position += len(piece)
        except Exception:
            return AudioFileError(
                f"input file {str(self.file)!r} is damaged near {position / self.rate:.3f} s (sample {position}): its "
                "audio does not decode to the MD5 signature its FLAC header holds (a frame damaged on a disk or in a "
                "copy; decoders play silence there, or the rest early); export it again"
            )
        if digest.digest() == self.signature:
            return AudioFileError(
                f"input file {str(self.file)!r} reads otherwise in pedalboard's decoder than the MD5 signature its FLAC "
                f"header holds, which libsndfile's matches; convert it (e.g. ffmpeg -i {self.file.name} -c:a pcm_s24le "
                f"{self.file.stem}-pcm.wav)"
            )
        warnings.warn(
            f"input file {str(self.file)!r}: its audio, as every decoder here reads it, does not match the MD5 "
            "signature its FLAC header holds (an encoder that wrote it wrong?); processed as read",
            stacklevel=2,
        )
        return None


class TruncatedReader:
    """A pedalboard reader limited to the samples a truncated file holds (``frames``), with ``declared_frames``: None
    for a file cut short that does not say how long it was to be (an Ogg stream without the page that ends it, an MP3
    without an Info frame that ends inside a frame)."""

    def __init__(self, reader: Any, frames: int, declared_frames: int | None) -> None:
        self._reader = reader
        self.frames = frames
        self.declared_frames = declared_frames
        self._position = 0  # counted here: libsndfile cannot tell() in some codecs' files (GSM 6.10)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def __enter__(self) -> TruncatedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._reader.close()

    def read(self, count: int) -> Any:
        """At most ``count`` samples, never past what the file holds."""
        count = min(count, self.frames - self._position)
        if count <= 0:  # pedalboard reads a whole file for 0
            return np.zeros((int(self._reader.num_channels), 0), np.float32)
        block = self._reader.read(count)
        self._position += block.shape[1]
        return block

    def tell(self) -> int:
        return self._position

    def resampled_to(self, rate: float) -> Any:
        """A resampling reader over the held samples (pedalboard's streaming resampler)."""
        return _ResampledTruncated(self._reader.resampled_to(rate), self.frames / float(self._reader.samplerate))


class _ResampledTruncated:
    """A resampling reader cut at ``seconds``: at most what the resampler gives (pedalboard's gives a sample less
    than the exact ratio for some, 8 kHz to 44.1 kHz among them)."""

    def __init__(self, reader: Any, seconds: float) -> None:
        self._reader = reader
        self.frames = min(int(seconds * float(reader.samplerate)), int(reader.frames))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def read(self, count: int) -> Any:
        wanted = max(0, min(count, self.frames - int(self._reader.tell())))
        if wanted == 0:  # pedalboard's read(0) means "all of it", which its resampler refuses
            return np.zeros((int(self._reader.num_channels), 0), np.float32)
        return self._reader.read(wanted)
