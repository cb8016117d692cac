"""The readers behind :func:`~soundstage.fileio.open_audio`'s one interface: pedalboard's (held to full scale),
libsndfile's (CAF, Wave64, what pedalboard refuses), FFmpeg's decoders through PyAV, and the WAV files libsndfile
misreads (an RF64 stream from a pipe, sizes past 4 GiB, unpadded chunks), each resampled on request."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
from pedalboard.io import StreamResampler

from soundstage import containers, riff
from soundstage.errors import AudioFileError
from soundstage.fileio.cut import CUT_CAUSE, TruncatedReader, format_tag

__all__ = [
    "float_wave64",
    "within_reason",
    "JUCE_SCALED",
    "FullScaleReader",
    "MusicReader",
    "MIN_INPUT_RATE",
    "MAX_INPUT_RATE",
    "MAX_INPUT_CHANNELS",
    "beyond_its_sizes",
    "unpadded_wav",
    "SoundfileReader",
    "StreamedReader",
]


def within_reason(file: Path, reader: Any) -> Any:
    """``reader``, or closed and refused where its rate or channel count is out of reason (a damaged header)."""
    rate, channels = float(reader.samplerate), int(reader.num_channels)
    if not (MIN_INPUT_RATE <= rate <= MAX_INPUT_RATE and 1 <= channels <= MAX_INPUT_CHANNELS):
        reader.close()
        raise AudioFileError(
            f"input file {str(file)!r} says {channels} channel(s) at {rate:g} Hz; soundstage reads "
            f"1..{MAX_INPUT_CHANNELS} channels at {MIN_INPUT_RATE:g}..{MAX_INPUT_RATE:g} Hz (a damaged header?)"
        )
    return reader


class StreamedReader:
    """What the readers made here share: a context manager, resampled through pedalboard's ``StreamResampler``."""

    samplerate: float

    def close(self) -> None:
        raise NotImplementedError

    def resampled_to(self, rate: float) -> Any:
        """A reader of this audio at ``rate`` (this one at its own rate)."""
        return self if float(rate) == self.samplerate else _ResampledSoundfile(self, float(rate))

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: pedalboard's sample types of the integer files it reads on JUCE's scale (see :class:`FullScaleReader`): their bits.
JUCE_SCALED = {"int8": 8, "int16": 16, "int24": 24}


class FullScaleReader(StreamedReader):
    """pedalboard's reader of an integer PCM file (WAV, AIFF, FLAC of 8, 16 or 24 bits), its samples on the
    ``2**(bits-1)`` scale: -32768 in a 16-bit file is -1.0, full scale, as libsndfile, FFmpeg, SoX and soundstage's
    own writer take it.

    pedalboard (JUCE) divides by ``2**(bits-1) - 1``: -32768 reads as -1.00003, past full scale (a 16-bit master
    limited to full scale is reported clipped when written back), every sample is 0.0003 dB louder (0.07 dB at 8
    bits), and a 24-bit sample lies off the float32 grid it fits on. Its float32 sample is the correctly rounded
    ``q / (2**(bits-1) - 1)``, within 0.25 of a step of ``q`` (a float32 holds 24 bits): rounded to the step, it is
    ``q`` exactly, and ``q / 2**(bits-1)`` is exact in float32.
    """

    def __init__(self, reader: Any, bits: int) -> None:
        self._reader = reader
        self._steps = float(2 ** (bits - 1) - 1)
        self._step = 1.0 / 2 ** (bits - 1)
        self.name, self.file_dtype = reader.name, reader.file_dtype
        self.samplerate, self.num_channels = float(reader.samplerate), int(reader.num_channels)
        self.frames = int(reader.frames)

    def read(self, count: int) -> np.ndarray:
        """The next ``count`` samples (fewer at the end), ``(channels, n)`` float32."""
        if count <= 0:  # pedalboard reads a whole file for 0
            return np.zeros((self.num_channels, 0), np.float32)
        steps = np.multiply(self._reader.read(int(count)), self._steps, dtype=np.float64)
        np.rint(steps, out=steps)
        return np.multiply(steps, self._step, dtype=np.float32)

    def tell(self) -> int:
        return int(self._reader.tell())

    def seek(self, position: int) -> None:
        self._reader.seek(int(position))

    def close(self) -> None:
        self._reader.close()


class MusicReader(StreamedReader):
    """pedalboard's reader of a decoded stream from sample ``start`` for ``frames`` samples, behind the reader
    interface; resampled as :class:`SoundfileReader` is."""

    def __init__(self, reader: Any, start: int, frames: int) -> None:
        self._reader = reader
        self.name, self.file_dtype = reader.name, reader.file_dtype
        self.samplerate, self.num_channels = float(reader.samplerate), int(reader.num_channels)
        self.frames = max(0, int(frames))
        self._position = 0
        while start > 0:  # read, not seek: a decoder's seek in a stream of frames may land near, not on, a sample
            skipped = reader.read(min(start, 65536)).shape[1]
            if not skipped:
                break
            start -= skipped

    def read(self, count: int) -> np.ndarray:
        """The next ``count`` samples (fewer at the end), ``(channels, n)`` float32."""
        count = min(int(count), self.frames - self._position)
        if count <= 0:  # pedalboard reads a whole file for 0
            return np.zeros((self.num_channels, 0), np.float32)
        block = self._reader.read(count)
        self._position += block.shape[1]
        return np.asarray(block, np.float32)

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._reader.close()


#: What an input file may say about itself: sample rates and channel counts outside these are damaged headers.
MIN_INPUT_RATE = 1000.0
MAX_INPUT_RATE = 768000.0
MAX_INPUT_CHANNELS = 1024


#: libsndfile's names of the samples a WAV's fmt chunk describes: (format tag, bits per sample) -> subtype.
_WAV_SUBTYPES = {
    (1, 8): "PCM_U8",
    (1, 16): "PCM_16",
    (1, 24): "PCM_24",
    (1, 32): "PCM_32",
    (3, 32): "FLOAT",
    (3, 64): "DOUBLE",
}


def _piped_rf64(file: Path) -> SoundfileReader | None:
    """A reader of an RF64 WAV written to a pipe (``ffmpeg -rf64 always -f wav -``), or None for any other file.

    A writer on a pipe cannot go back to fill in ``ds64``, so the file says it holds no samples, and pedalboard and
    libsndfile read none. Its audio runs from the ``data`` chunk to the file's end, as its ``fmt`` chunk describes
    it; that is read as raw samples (a last frame cut short is left out).
    """
    found = _wav_audio(file)
    if found is None or found[1].size != riff.UNSIZED:
        return None
    return _raw_samples(file, found[0], found[1].body, None)


def beyond_its_sizes(file: Path, info: Any, allow_truncated: bool) -> Any:
    """A reader of a WAV whose header cannot give the size of its audio: an RF64 written to a pipe, a plain WAV over
    4 GiB; None for any other file (``info``: libsndfile's)."""
    if info.format == "RF64" and info.frames == 0:
        piped = _piped_rf64(file)
        return None if piped is None else within_reason(file, piped)
    if info.format in ("WAV", "WAVEX") and file.stat().st_size > 2**32:
        return _wrapped_wav(file, allow_truncated)
    return None


def _wrapped_wav(file: Path, allow_truncated: bool) -> Any:
    """A reader of all the audio of a plain WAV holding over 4 GiB, which its 32-bit ``data`` size cannot give (see
    :func:`riff.chunks`), or None for any other file: pedalboard, libsndfile and FFmpeg stop at the size given, hours
    short of its end. Refused, as a truncated file is, where it is cut short inside its audio."""
    found = _wav_audio(file)
    if found is None or found[1].size <= riff.UNSIZED:
        return None
    fmt, data, _ = found
    reader = _raw_samples(file, fmt, data.body, data.body + data.size)
    if reader is None:
        return None
    reader = within_reason(file, reader)
    declared, rate = data.size // max(1, int.from_bytes(fmt[12:14], "little")), float(reader.samplerate)  # its block align
    if int(reader.frames) == declared:
        return reader
    if allow_truncated:
        return TruncatedReader(reader, int(reader.frames), declared)
    reader.close()
    raise AudioFileError(
        f"input file {str(file)!r} is truncated: its header's sizes, wrapped around past 4 GiB, declare at least "
        f"{declared} samples ({declared / rate:.3f} s) but it holds {reader.frames} ({reader.frames / rate:.3f} s)"
        f"{CUT_CAUSE}; export it again (as RF64: ffmpeg -rf64 auto), or pass --allow-truncated to use what it holds"
    )


def unpadded_wav(file: Path) -> SoundfileReader | None:
    """A reader of a WAV whose writer left out the pad byte after a chunk of odd size before its audio, or None for
    any other file. pedalboard, libsndfile, FFmpeg and SoX look for the next chunk a byte on and find no audio;
    :func:`riff.chunks` finds it where it is (an odd position), and its samples are read raw, as its ``fmt`` chunk
    describes them."""
    found = _wav_audio(file)
    if found is None or not found[2]:
        return None
    fmt, data, _ = found
    return _raw_samples(file, fmt, data.body, data.body + data.size)


def float_wave64(file: Path) -> SoundfileReader | None:
    """A reader of a Sony Wave64 of float samples in a WAVE_FORMAT_EXTENSIBLE ``fmt`` chunk (as FFmpeg writes one:
    ``ffmpeg -i x -c:a pcm_f32le x.w64``), or None for any other file. libsndfile 1.2 reads such 32-bit floats as
    32-bit integers (loud noise, without a word); the samples are read raw, as the ``fmt`` chunk describes them (64-bit
    ones too, which libsndfile refuses and FFmpeg's decoders read: one reader for both)."""
    audio = containers.wave64_audio(file)
    if audio is None or int.from_bytes(audio.fmt[:2], "little") != 0xFFFE or format_tag(audio.fmt) != 3:
        return None
    return _raw_samples(file, audio.fmt, audio.start, audio.start + audio.size)


def _wav_audio(file: Path) -> tuple[bytes, riff.Chunk, bool] | None:
    """A WAV's ``fmt`` chunk (its first 26 bytes), its ``data`` chunk, and whether a chunk before the audio lies at an
    odd position (a pad byte left out); None where it has no ``data`` chunk after a ``fmt``."""
    with open(file, "rb") as stream:
        fmt, odd = b"", False
        for chunk in riff.chunks(stream):
            odd = odd or bool(chunk.position & 1)
            if chunk.kind == b"fmt ":
                fmt = stream.read(min(chunk.size, 26))
            elif chunk.kind == b"data":
                return (fmt, chunk, odd) if len(fmt) >= 16 else None
    return None


def _raw_samples(file: Path, fmt: bytes, start: int, end: int | None) -> SoundfileReader | None:
    """libsndfile's reader of the samples a WAV ``fmt`` chunk describes in bytes ``start..end`` of ``file`` (to its
    end for None), or None for samples it does not read raw."""
    tag = format_tag(fmt)
    channels, rate, bits = (int.from_bytes(fmt[a:b], "little") for a, b in ((2, 4), (4, 8), (14, 16)))
    subtype = _WAV_SUBTYPES.get((tag, bits))
    if subtype is None or channels < 1 or rate < 1:
        return None
    body = _FileFrom(file, start, end)
    try:
        sound = soundfile.SoundFile(body, format="RAW", subtype=subtype, channels=channels, samplerate=rate, endian="LITTLE")
    except Exception:
        body.close()
        return None
    return SoundfileReader(file, opened=(sound, body))


class _FileFrom:
    """The bytes of a file from ``start`` to ``end`` (its end for None), as a file object of their own (libsndfile
    reads raw samples from the start of what it is given, to its end)."""

    def __init__(self, file: Path, start: int, end: int | None = None) -> None:
        self._stream = open(file, "rb")  # noqa: SIM115 (closed by close(), with the reader)
        self._start = start
        length = self._stream.seek(0, os.SEEK_END)
        self._end = length if end is None else min(end, length)
        self._stream.seek(start)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_CUR:
            target = self._stream.tell() + offset
        elif whence == os.SEEK_END:
            target = self._end + offset
        else:
            target = self._start + offset
        return self._stream.seek(min(max(target, self._start), self._end)) - self._start

    def tell(self) -> int:
        return self._stream.tell() - self._start

    def read(self, size: int = -1) -> bytes:
        left = max(0, self._end - self._stream.tell())
        return self._stream.read(left if size is None or size < 0 else min(size, left))

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        return self._stream.readinto(view[: max(0, self._end - self._stream.tell())])

    def close(self) -> None:
        self._stream.close()


class SoundfileReader(StreamedReader):
    """pedalboard's reader interface (``read``, ``tell``, ``frames``, ``resampled_to`` ...) over ``soundfile``, for
    the formats libsndfile reads and pedalboard does not: CAF, Wave64 and others.

    ``resampled_to`` streams through pedalboard's own ``StreamResampler``: the same samples, and as many, as
    pedalboard's resampling reader gives for a format it reads (tested).
    """

    def __init__(self, path: str | os.PathLike[str], *, opened: tuple[soundfile.SoundFile, _FileFrom] | None = None) -> None:
        """``opened``: the file already open, over a file object closed with it (see :func:`_piped_rf64`)."""
        sound, body = opened if opened is not None else (soundfile.SoundFile(str(path)), None)
        self._file = sound
        self._body: _FileFrom | None = body
        self.name = str(path)
        self.format = str(self._file.format)  # libsndfile's name of it: "CAF", "W64", "VOC" ...
        self.samplerate = float(self._file.samplerate)
        self.num_channels = int(self._file.channels)
        self.frames = int(self._file.frames)
        subtype = str(self._file.subtype)
        depth = next((bits for bits in ("8", "16", "24", "32") if subtype.endswith(f"_{bits}")), None)
        self.file_dtype = {"FLOAT": "float32", "DOUBLE": "float64"}.get(subtype, f"int{depth}" if depth else "float32")

    def read(self, count: int) -> np.ndarray:
        """The next ``count`` samples (fewer at the end), ``(channels, n)`` float32."""
        return np.ascontiguousarray(self._file.read(max(0, int(count)), dtype="float32", always_2d=True).T)

    def tell(self) -> int:
        return int(self._file.tell())

    def seek(self, position: int) -> None:
        self._file.seek(int(position))

    def close(self) -> None:
        self._file.close()
        if self._body is not None:
            self._body.close()


class _ResampledSoundfile:
    """A :class:`SoundfileReader` at another rate, streamed (constant memory); ``frames`` as pedalboard counts them."""

    def __init__(self, source: Any, rate: float) -> None:  # a SoundfileReader, or a reader as it is
        self._source = source
        self._resampler = StreamResampler(source.samplerate, rate, source.num_channels)
        self.samplerate = rate
        self.num_channels = source.num_channels
        self.file_dtype = source.file_dtype
        self.name = source.name
        # the count pedalboard's ResampledReadableAudioFile gives: the exact length, less the fraction by which its
        # resampler's output latency rounds up
        length = source.frames * rate / source.samplerate
        latency = self._resampler.input_latency * rate / source.samplerate
        self.frames = int(length - (round(latency) - latency) if latency > 0 else length)
        self._ready = np.zeros((source.num_channels, 0), np.float32)
        self._position = 0
        self._flushed = False

    def read(self, count: int) -> np.ndarray:
        count = max(0, min(int(count), self.frames - self._position))
        pieces = [self._ready]
        have = self._ready.shape[1]
        while have < count and not self._flushed:
            chunk = self._source.read(65536)
            out = self._resampler.process(chunk) if chunk.shape[1] else self._resampler.process()
            self._flushed = not chunk.shape[1]
            pieces.append(out)
            have += out.shape[1]
        ready = np.concatenate(pieces, axis=1) if len(pieces) > 1 else self._ready
        if ready.shape[1] < count:  # the resampler gave fewer than pedalboard counts: silence, as its reader pads
            ready = np.concatenate([ready, np.zeros((self.num_channels, count - ready.shape[1]), np.float32)], axis=1)
        out, self._ready = ready[:, :count], ready[:, count:]
        self._position += count
        return np.ascontiguousarray(out)

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> _ResampledSoundfile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
