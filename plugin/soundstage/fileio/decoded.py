"""FFmpeg's decoders behind pedalboard's reader interface (PyAV, the ``formats`` extra): what neither pedalboard nor
libsndfile reads here, with what FFmpeg states of a file's length checked against what it decodes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

try:
    import av
except ImportError:  # the "formats" extra is not installed: AAC, ALAC, WavPack, AC-3 are refused with the conversion
    av = None  # type: ignore[assignment]

from soundstage import containers
from soundstage.errors import AudioFileError
from soundstage.fileio.readers import MAX_INPUT_RATE, StreamedReader

__all__ = ["DecodedReader", "decoders_installed"]


def decoders_installed() -> bool:
    """True where PyAV (the ``formats`` extra) is installed: :class:`DecodedReader` reads what FFmpeg decodes (AAC,
    ALAC, WavPack, AC-3, BW64, DSD, Musepack ...); without it those are refused with the conversion to make."""
    return av is not None


#: The codecs FFmpeg decodes here, as their makers write them.
_CODEC_NAMES = {
    **{"wavpack": "WavPack", "ac3": "AC-3", "eac3": "E-AC-3", "vorbis": "Vorbis", "opus": "Opus", "speex": "Speex"},
    **{name: "DSD" for name in ("dsd_lsbf", "dsd_msbf", "dsd_lsbf_planar", "dsd_msbf_planar")},
    "mpc8": "Musepack",
}
#: FFmpeg's names of the raw streams it reads (no container): the length it gives them is guessed from the bitrate, so
#: a variable-rate AAC in ADTS frames (an .aac file, or `ffmpeg -f adts -`) read as cut short of its guess. A Creative
#: VOC file's blocks state no sample count either: FFmpeg guesses one from the file's size, headers included.
_RAW_STREAMS = frozenset({"aac", "ac3", "eac3", "dts", "truehd", "mlp", "voc"})
#: Samples Musepack's synthesis filter gives before the music (its decoder's MPC_DECODER_SYNTH_DELAY).
_MUSEPACK_DELAY = 481
#: FFmpeg's demuxers of the files music comes in, each known by a header or a run of frames. Any other is a guess
#: FFmpeg makes of bytes it cannot place (a headerless dual-mono .raw file probes as a console game's ADPCM, "adp": 1 s
#: of 16-bit stereo read as 3.5 s of noise), so it is not read: the file is refused as no audio soundstage reads.
_DEMUXERS = frozenset(
    {
        *("aac", "ac3", "aiff", "amr", "amrnb", "amrwb", "ape", "asf", "au", "avi", "caf", "dsf", "dts", "dtshd"),
        *("eac3", "flac", "iff", "loas", "matroska,webm", "mlp", "mov,mp4,m4a,3gp,3g2,mj2", "mp3", "mpc", "mpc8"),
        *("ogg", "shn", "tak", "truehd", "tta", "voc", "w64", "wav", "wsd", "wv", "xwma"),
    }
)


class DecodedReader(StreamedReader):
    """pedalboard's reader interface over FFmpeg's decoders (PyAV, the ``formats`` extra), for what neither pedalboard
    nor libsndfile reads here: AAC and ALAC (.m4a from iTunes, Logic or a client; ALAC in .caf), WavPack, AC-3, FLAC in
    Ogg (.oga), DSD (a DSF or DSDIFF, an SACD master: as PCM at an eighth of its rate, 352.8 kHz of DSD64), Musepack.

    The samples are the decoder's: an AAC encoder's priming at the start is dropped (the stream says how much), and
    the length is cut to the container's stated duration where the decoder gives more (an MP4's edit list: the
    encoder's padding at the end). The length is counted by decoding the file once when it is opened: a container's
    duration is the length it states, not what its packets hold. A file that decodes to fewer samples than its
    container states (by more than a packet; or that stops decoding before it) is truncated (``declared_frames``);
    one that stops decoding where its container states no length is refused, naming the sample.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        assert av is not None
        self.name = str(path)
        self._packets_end = self._largest_packet = 0  # bytes: the end of the last packet read, the largest packet
        self._timeline_end = 0  # samples: where the packets read end on the container's timeline
        self._lag: int | None = None  # samples: a packet's place on that timeline less the samples decoded before it
        self._lost_at: int | None = None  # samples decoded when the lag first grew by half a packet: one was dropped
        self._skip = 0  # samples the decoder gives before the music (see _stated)
        self._container = av.open(self.name)
        try:
            if self._container.format.name not in _DEMUXERS:
                raise ValueError(f"FFmpeg only guesses it is {self._container.format.long_name}")
            if not self._container.streams.audio:
                raise ValueError("no audio stream")
            stream = self._container.streams.audio[0]
            self.samplerate = float(stream.rate)
            while self.samplerate > MAX_INPUT_RATE and stream.codec_context.name.startswith("dsd"):
                self.samplerate /= 2  # DSD256 and up decode at an eighth of their rate, 1.4 MHz: halved, by FFmpeg's resampler
            self.num_channels = int(stream.codec_context.channels)
            stated = self._stated(stream)
            held, broken, largest = 0, None, 0
            try:
                for block in self._blocks():
                    held += block.shape[1]
                    largest = max(largest, block.shape[1])
            except AudioFileError as error:  # undecodable from here on: cut short in transfer, or damaged
                if stated is None:  # a bare stream (AC-3): damaged where a later packet decodes
                    raise self._damaged(held) if self._damaged_inside(stream, held) else error from None
                broken = error if held < stated else None  # past all it states (the end of a last block lost): whole
                if broken is not None and self._damaged_inside(stream, held):
                    raise self._damaged(held) from None
            # a container may state its packets' length (a CAF: up to a packet more than the music) or, shorter, the
            # music's (an MP4's edit list); fewer samples than a packet short of it is a file cut short
            packet = max(int(stream.codec_context.frame_size or 0), 1)
            if self._container.format.name == "asf":  # WMA: an ASF file states a length past what FFmpeg decodes, by
                packet = 2 * max(packet, largest)  # its decoder's delay of a frame and a millisecond's rounding
            cut = stated is not None and (broken is not None or held < stated - packet)
            if cut and broken is None and stated is not None and self._timeline_end >= stated - packet:
                # every packet to the end of what the container states was there, and fewer samples decoded: the
                # decoder dropped a damaged one without an error (FFmpeg's ALAC), the file is not cut short
                raise self._damaged(held if self._lost_at is None else self._lost_at)
            self.frames = held if stated is None or cut else min(held, stated)
            self.declared_frames = stated if cut and stated is not None else self.frames
            name = stream.codec_context.format.name if stream.codec_context.format is not None else "flt"
            integers = {"s16": 16, "s16p": 16, "s32": 32, "s32p": 32, "u8": 8, "u8p": 8}  # what the decoder gives
            self.file_dtype = f"int{integers[name]}" if name in integers else "float32"
        except BaseException:
            self._container.close()
            raise
        self._container.close()  # decoded once to count: read from a fresh demuxer and decoder
        self._container = av.open(self.name)
        self._decoded = self._blocks()
        self._ready = np.zeros((self.num_channels, 0), np.float32)
        self._position = 0

    def _stated(self, stream: Any) -> int | None:
        """The length the file states (samples per channel); None for a bare stream, whose length FFmpeg guesses from
        its bitrate. Where FFmpeg's is wrong the file's header is read: a DSD file's (FFmpeg gives what the file
        holds: a DSF's last block whole, zeros past the music; a DSDIFF cut short, as long as it is) and a Musepack
        file's (FFmpeg's is some 20 % short; and its decoder gives its synthesis filter's delay and the encoder's
        silence first, which are dropped, as Musepack's own decoder drops them)."""
        kind, file = self._container.format.name, Path(self.name)
        dsd = containers.dsd_samples(file) if kind in ("dsf", "iff") else None
        if dsd is not None and dsd[1] > 0:  # one-bit samples at their own rate: the decoder gives an eighth
            return dsd[0] * round(self.samplerate) // dsd[1]
        musepack = containers.musepack_samples(file) if kind == "mpc8" else None
        if musepack is not None:
            self._skip = _MUSEPACK_DELAY + musepack[1]
            return musepack[0] - musepack[1]
        if kind not in _RAW_STREAMS and stream.duration is not None and stream.time_base is not None and stream.duration > 0:
            return int(round(float(stream.duration * stream.time_base) * self.samplerate))
        return None

    def _place(self, packet: Any, decoded: int) -> None:
        """Keep where ``packet`` sits on the container's timeline against the ``decoded`` samples before it: the lag
        between the two is settled once audio comes out (a decoder's delay: AAC's first packet gives none), and
        grows by a packet where the decoder dropped one."""
        start = round(float(packet.pts * packet.time_base) * self.samplerate)
        length = round(float(packet.duration * packet.time_base) * self.samplerate)
        self._timeline_end = max(self._timeline_end, start + length)
        if decoded == 0:
            return
        lag = start - decoded
        if self._lag is None:
            self._lag = lag
        elif self._lost_at is None and lag - self._lag > length // 2:
            self._lost_at = decoded

    def _damaged_inside(self, stream: Any, held: int) -> bool:
        """Whether the file goes on past a packet the decoder could not decode (``held`` samples in): a later packet
        decodes (FFmpeg's players skip the damaged one, and play the rest early), or, some audio decoded before, the
        container breaks off more than two of its largest packets before the file's end (a WavPack block whose
        header is damaged; a cut leaves part of one). Not a file cut short there, nor one of a codec no decoder here
        reads (every packet fails: AAC in a WAV)."""
        try:
            for packet in self._container.demux(stream):
                if not packet.size:
                    continue
                try:
                    if packet.decode():
                        return True
                except av.FFmpegError:
                    continue
        except av.FFmpegError:  # the container itself breaks off
            return held > 0 and os.path.getsize(self.name) - self._packets_end > 2 * max(self._largest_packet, 1)
        return False

    def _damaged(self, held: int) -> AudioFileError:
        name = self._container.streams.audio[0].codec_context.name
        codec = _CODEC_NAMES.get(name, name.upper())
        return AudioFileError(
            f"input file {self.name!r} is damaged at {held / self.samplerate:.3f} s (sample {held}): its {codec} audio "
            "cannot be decoded there, though the file goes on past it (not cut short: players skip the damaged part, "
            "and play the rest early); export it again"
        )

    def _blocks(self) -> Iterator[np.ndarray]:
        """The decoded stream from its start, in float32 blocks ``(channels, n)``; AudioFileError where it breaks."""
        container = self._container
        stream = container.streams.audio[0]
        # interleaved float: a planar frame of more than 8 channels crashes PyAV's to_ndarray (it reads past
        # AVFrame's 8 data pointers), so the channels are split here
        to_float = av.AudioResampler(format="flt", layout=stream.layout, rate=round(self.samplerate))
        channels = self.num_channels
        position, skip = 0, self._skip
        try:
            for packet in container.demux(stream):  # what container.decode does, with the packets' places kept
                if packet.size and packet.pos is not None:
                    self._packets_end = max(self._packets_end, int(packet.pos) + int(packet.size))
                    self._largest_packet = max(self._largest_packet, int(packet.size))
                if packet.size and packet.pts is not None and packet.duration and packet.time_base is not None:
                    self._place(packet, position)
                for frame in packet.decode():
                    for converted in to_float.resample(frame):
                        block = np.ascontiguousarray(converted.to_ndarray().reshape(-1, channels).T, np.float32)
                        position += block.shape[1]
                        block, skip = block[:, skip:], max(0, skip - block.shape[1])
                        if block.shape[1]:
                            yield block
            for converted in to_float.resample(None):
                yield np.ascontiguousarray(converted.to_ndarray().reshape(-1, channels).T, np.float32)[:, skip:]
        except av.FFmpegError as error:
            why = str(error.strerror or error)
            if why.startswith("Error number"):  # a decoder's own code, which FFmpeg has no words for (AC-3's sync)
                why = f"FFmpeg's error {error.errno}"
            if position == 0:  # not a sample: no audio of this kind at all (a file of another kind under its name)
                raise AudioFileError(
                    f"input file {self.name!r} holds no audio that decodes (FFmpeg takes it for "
                    f"{container.format.long_name}: {why}); export it again"
                ) from None
            raise AudioFileError(
                f"input file {self.name!r} cannot be decoded at sample {position}: {why}; export it again"
            ) from None

    def read(self, count: int) -> np.ndarray:
        """The next ``count`` samples (fewer at the end), ``(channels, n)`` float32."""
        count = max(0, min(int(count), self.frames - self._position))
        pieces, have = [self._ready], self._ready.shape[1]
        while have < count:
            block = next(self._decoded, None)
            if block is None:
                break
            pieces.append(block)
            have += block.shape[1]
        ready = np.concatenate(pieces, axis=1) if len(pieces) > 1 else self._ready
        out, self._ready = ready[:, :count], ready[:, count:]
        self._position += out.shape[1]
        return np.ascontiguousarray(out)

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._container.close()
