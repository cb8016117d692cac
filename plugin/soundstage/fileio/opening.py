"""Which reader an input needs, and what is refused before any audio is read: a DAW's project, text, a file
cut before its audio, one libsndfile would loop on, a format no reader here knows (each said in one line)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import soundfile
from pedalboard.io import AudioFile, ReadableAudioFile

from soundstage import containers, mpeg, riff, stalls
from soundstage.errors import AudioFileError
from soundstage.fileio.cut import CUT_CAUSE, MAX_BLOCK_PADDING, TruncatedReader, coded_wav_frames, held_frames, wav_data_chunk
from soundstage.fileio.decoded import DecodedReader, decoders_installed
from soundstage.fileio.listing import daw_project
from soundstage.fileio.readers import (
    JUCE_SCALED,
    FullScaleReader,
    MusicReader,
    SoundfileReader,
    beyond_its_sizes,
    float_wave64,
    unpadded_wav,
    within_reason,
)
from soundstage.files import library_path, missing_hint, on_disk
from soundstage.native import messages_held
from soundstage.signatures import kind_of_file

__all__ = ["open_audio", "READ_FORMATS", "DECODED_FORMATS", "MPEG_SUFFIXES"]


def open_audio(path: str | os.PathLike[str], *, allow_truncated: bool = False) -> Any:
    """Open an audio file for reading, or raise AudioFileError naming it.

    The file is read whole or refused: one that holds fewer samples than its
    header declares (a cut-off WAV/AIFF export, a FLAC cut short) raises
    :class:`AudioFileError` saying both figures, unless ``allow_truncated``; then
    the reader's ``frames`` is what the file holds and ``declared_frames`` what
    its header says.
    """
    file = _input_file(path)
    with stalls.watched(file, "opening", limit_s=stalls.open_limit_s(file)):
        return _opened(file, allow_truncated)


def _opened(file: Path, allow_truncated: bool) -> Any:
    """:func:`open_audio` of an existing file (under the watch for decoders that never return)."""
    if isinstance(library_path(file), bytes):
        return _through_plain_name(file, allow_truncated)
    suffix = file.suffix.lower()
    apart = _read_apart(file, suffix, allow_truncated)
    if apart is not None:
        return apart
    _refuse_if_libsndfile_loops(file)
    try:
        with messages_held():  # libsndfile's mpg123 prints its search for a frame in what is no MP3: dropped
            info: Any = soundfile.info(str(file))
    except Exception as error:
        if suffix in _LIBSNDFILE_SUFFIXES:  # pedalboard would decode another format's data behind such a name
            if _is_text(file):
                raise _text_given(file) from None
            _refuse_if_not_audio(file)
            if _is_bw64(file):  # ITU-R BS.2088 (ADM deliveries, Dolby Atmos masters): libsndfile does not read it
                return _closed_if_refused(file, _bw64_reader(file), allow_truncated)
            unpadded = unpadded_wav(file)  # a pad byte left out before the audio: no other reader finds the audio
            if unpadded is not None:
                return _closed_if_refused(file, within_reason(file, unpadded), allow_truncated)
            # a WAV of a codec libsndfile lacks (G.722 and G.726 from telephone and dictation recorders, Yamaha
            # ADPCM): FFmpeg's decoders, which read the codec its format tag names, if they decode it whole (one that
            # breaks off is no WAV these decoders read: refused as below)
            decoded = _ffmpeg_decoded(file) if _is_riff_wave(file) else None
            if decoded is not None and 0 < decoded.frames == decoded.declared_frames:
                return _closed_if_refused(file, decoded, allow_truncated)
            if decoded is not None:
                decoded.close()
            _refuse_if_cut_before_audio(file)
            raise AudioFileError(
                f"input file {str(file)!r} cannot be read as audio: "
                f"{_first_line(str(error)).rstrip('.') or 'not a ' + suffix + ' file'}; if another program plays it, "
                f"convert it (e.g. ffmpeg -i {file.name} -c:a pcm_s24le {file.stem}-pcm.wav)"
            ) from None
        info = None  # not a format libsndfile reads: pedalboard's to judge
    stream = mpeg.scan(file) if info is not None and info.format == "MP3" else None
    if stream is not None:
        return _mpeg_reader(file, stream, allow_truncated)
    unsized = beyond_its_sizes(file, info, allow_truncated) if info is not None else None
    if unsized is not None:
        return unsized
    return _closed_if_refused(file, _decoder(file, libsndfile_frames=None if info is None else int(info.frames)), allow_truncated)


def _read_apart(file: Path, suffix: str, allow_truncated: bool) -> Any:
    """A reader of a file libsndfile must not be asked about, or None: an MPEG stream (its mpg123 prints its doubts
    of one cut short on stderr), a Wave64 of floats as FFmpeg writes it (read as integers: noise)."""
    stream = mpeg.scan(file) if suffix in MPEG_SUFFIXES else None
    if stream is not None:
        return _mpeg_reader(file, stream, allow_truncated)
    floats = float_wave64(file)
    return None if floats is None else _closed_if_refused(file, within_reason(file, floats), allow_truncated)


def _closed_if_refused(file: Path, reader: Any, allow_truncated: bool) -> Any:
    """:func:`_whole_or_refused`, the reader closed if it is refused."""
    try:
        return _whole_or_refused(file, reader, allow_truncated)
    except BaseException:
        reader.close()
        raise


def _input_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a file there is something to read in (as the file system spells it), or AudioFileError saying what
    it is instead."""
    file = on_disk(Path(path))
    if str(path) == "-" and not file.exists():
        raise AudioFileError(
            "input '-': standard input is read by soundstage process alone (soundstage process - OUT); "
            "save it to a file first, e.g. ffmpeg -i ... -c:a pcm_s24le in.wav, and give that"
        )
    if not file.exists():
        raise AudioFileError(f"input file {str(file)!r} does not exist{missing_hint(file)}")
    if (project := daw_project(file)) is not None:
        raise AudioFileError(
            f"input file {str(file)!r} is {project[0]}, which soundstage does not read; render its mix to a WAV file "
            "in the DAW and give that"
        )
    if file.is_dir():
        raise AudioFileError(f"input {str(file)!r} is a folder, not an audio file")
    if stat.S_ISFIFO(file.stat().st_mode):
        raise AudioFileError(
            f"input {str(file)!r} is a pipe, which the decoders cannot seek in; save what it gives to a file and give "
            "that (soundstage process keeps it in a temporary file itself)"
        )
    if file.stat().st_size == 0:
        raise AudioFileError(f"input file {str(file)!r} is empty (0 bytes; an export that did not finish?); export it again")
    return file


def _bw64_reader(file: Path) -> DecodedReader:
    """FFmpeg's reader of a BW64 file, or AudioFileError with the extra that reads it and the conversion."""
    decoded = _ffmpeg_decoded(file)
    if decoded is None:
        raise AudioFileError(
            f"input file {str(file)!r} is a BW64 file (ITU-R BS.2088, an ADM delivery), which is read with "
            "pip install 'soundstage[formats]'; or convert it "
            f"(e.g. ffmpeg -i {file.name} -c:a pcm_s24le -rf64 auto {file.stem}-rf64.wav)"
        )
    return within_reason(file, decoded)


def _through_plain_name(file: Path, allow_truncated: bool) -> Any:
    """:func:`open_audio` of a file whose name is not UTF-8 (see :func:`~soundstage.files.library_path`), through a
    symbolic link with a plain name in a private folder, removed once the file is open (the reader keeps it open).
    Errors name the file as given."""
    suffix = file.suffix if isinstance(library_path(file.suffix), str) else ""
    folder = Path(tempfile.mkdtemp(prefix="soundstage-input-"))
    link = folder / f"soundstage-plain-name{suffix}"  # a stem found in no message but as this file's
    try:
        try:
            os.symlink(os.path.abspath(file), link)
        except OSError as error:
            raise AudioFileError(
                f"input file {str(file)!r} has a name that is not UTF-8, which the decoders do not take, and it cannot "
                f"be linked under a plain one ({error.strerror or error}); rename it in UTF-8"
            ) from None
        return open_audio(link, allow_truncated=allow_truncated)
    except AudioFileError as error:
        message = str(error).replace(repr(str(link)), repr(str(file))).replace(str(link), str(file))
        raise AudioFileError(message.replace(link.stem, file.stem)) from None
    finally:
        link.unlink(missing_ok=True)
        folder.rmdir()


def _decoder(file: Path, *, libsndfile_frames: int | None) -> Any:
    """pedalboard's reader of ``file``, or libsndfile's behind the same interface for the formats pedalboard does
    not read; refused where neither reads it or its header is out of reason. ``libsndfile_frames``: the samples
    libsndfile finds in it (None: libsndfile does not read it)."""
    try:
        if _list_past_end(file):  # pedalboard would loop for ever: libsndfile reads it (or the fallbacks below)
            raise ValueError(f"its LIST chunk runs past the end of the file ({file.stat().st_size} bytes)")
        reader: Any = AudioFile(str(file))  # a ReadableAudioFile (typed loosely: pedalboard's stubs lack __enter__)
    except Exception as error:  # pedalboard raises ValueError/RuntimeError for bad files
        reader = _not_by_pedalboard(file, error)
    if int(reader.frames) == 0 and libsndfile_frames and isinstance(reader, ReadableAudioFile):
        reader.close()  # pedalboard stops short of the audio libsndfile finds: a RIFF size too small, a damaged one before it
        reader = SoundfileReader(file)
    if int(reader.frames) == 0 and libsndfile_frames is None and isinstance(reader, ReadableAudioFile) and _is_ogg(file):
        decoded = _ffmpeg_decoded(file)  # FLAC or Speex in Ogg, which pedalboard takes for Vorbis and finds empty
        if decoded is not None and int(decoded.frames) > 0:
            reader.close()
            reader = decoded
        elif decoded is not None:
            decoded.close()
    if int(reader.frames) == 0 and containers.cut_before_audio(file) is not None:
        reader.close()  # a WAV cut inside its data chunk's header: pedalboard and libsndfile read no samples, no error
        _refuse_if_cut_before_audio(file)
    if int(reader.frames) == 0 and libsndfile_frames is None and not isinstance(reader, DecodedReader):
        reader.close()  # pedalboard finds no samples, libsndfile cannot read it
        _refuse_if_cut_before_audio(file)  # an RF64 cut inside its header, say
        raise AudioFileError(
            f"input file {str(file)!r} cannot be decoded here (pedalboard finds no samples in it, and libsndfile "
            f"cannot read it); convert it (e.g. ffmpeg -i {file.name} -c:a pcm_s24le {file.stem}.wav)"
        )
    bits = JUCE_SCALED.get(str(reader.file_dtype)) if isinstance(reader, ReadableAudioFile) else None
    return within_reason(file, reader if bits is None else FullScaleReader(reader, bits))


def _not_by_pedalboard(file: Path, error: Exception) -> Any:
    """The reader of a ``file`` pedalboard does not read (its ``error``): libsndfile's, for a format it reads and
    pedalboard does not (CAF from Logic and Pro Tools, Sony Wave64 from Reaper and Vegas); else FFmpeg's; else the
    file is refused, named by what it is."""
    try:
        return _libsndfile_reader(file)
    except AudioFileError:
        raise
    except Exception:  # libsndfile does not read it either
        pass
    if _is_text(file):
        raise _text_given(file) from None
    _refuse_if_not_audio(file)
    reader = _ffmpeg_decoded(file)
    if reader is None:
        _refuse_if_cut_before_audio(file)
        raise _unreadable(file, error) from None
    return reader


def _libsndfile_reader(file: Path) -> Any:
    """libsndfile's reader of ``file``; FFmpeg's for the files libsndfile reads wrong without a word: a stereo 8SVX
    (sox's: its channels one after the other, which libsndfile takes for interleaved, and reads as noise) and a VOC
    of more than one block of sound (ffmpeg's: libsndfile reads the blocks' headers as samples)."""
    with messages_held():
        reader = SoundfileReader(file)
    if reader.format == "VOC":
        with file.open("rb") as stream:
            misread = (containers.voc_sound_blocks(stream) or 0) > 1
        what = "a VOC file of more than one block"
    else:
        misread, what = reader.format == "SVX" and reader.num_channels > 1, "a stereo 8SVX file"
    if not misread:
        return reader
    reader.close()
    decoded = _ffmpeg_decoded(file)
    if decoded is None:
        raise AudioFileError(
            f"input file {str(file)!r} is {what}, which libsndfile reads wrong; pip install 'soundstage[formats]' to "
            f"read it, or convert it (e.g. ffmpeg -i {file.name} -c:a pcm_s24le {file.stem}.wav)"
        )
    return decoded


def _unreadable(file: Path, error: Exception) -> AudioFileError:
    """The error for a file no reader here reads (pedalboard's ``error``): raw audio, with the sox command that names
    what it holds; any other, with the formats read and the ffmpeg command that converts it."""
    if file.suffix.lower() in _HEADERLESS_SUFFIXES:
        return AudioFileError(
            f"input file {str(file)!r} is raw audio: no header says its rate, channels and encoding; convert it naming "
            f"them (e.g. sox -t raw -r 48000 -e signed -b 24 -c 2 {file.name} {file.stem}.wav)"
        )
    reason = str(error).split(": ", 1)[-1] if "Failed to open" in str(error) else str(error)
    formats = [*READ_FORMATS, *(DECODED_FORMATS if decoders_installed() else ())]
    return AudioFileError(
        f"input file {str(file)!r} cannot be read as audio: {_first_line(reason).rstrip('.')}; soundstage "
        f"reads {', '.join(formats[:-1])} and {formats[-1]}: convert it "
        f"(e.g. ffmpeg -i {file.name} -c:a pcm_s24le {file.stem}.wav)"
        + ("" if decoders_installed() else f", or pip install 'soundstage[formats]' to read {', '.join(DECODED_FORMATS)}")
    )


#: The suffixes of raw (headerless) PCM, which no reader can read without being told its rate, channels and encoding.
_HEADERLESS_SUFFIXES = (".raw", ".pcm")
#: The formats read, as the refusal of another format lists them: pedalboard's and libsndfile's, and what
#: :class:`DecodedReader` adds (the "formats" extra).
READ_FORMATS = ("WAV", "AIFF", "FLAC", "MP3", "Ogg", "Opus", "CAF", "Wave64")
DECODED_FORMATS = ("AAC", "ALAC", "WavPack", "AC-3", "BW64", "FLAC in Ogg", "DSD (DSF, DSDIFF)", "Musepack")


def _ffmpeg_decoded(file: Path) -> DecodedReader | None:
    """A :class:`DecodedReader` of ``file`` if FFmpeg's decoders (PyAV) find audio in it, else None."""
    if not decoders_installed():
        return None
    try:
        return DecodedReader(file)
    except AudioFileError:
        raise
    except Exception:  # not a container FFmpeg knows, or one without audio: the caller refuses it
        return None


def _is_riff_wave(file: Path) -> bool:
    """Whether ``file`` begins as a WAV (RIFF or RF64) file."""
    with open(file, "rb") as stream:
        head = stream.read(12)
    return head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE"


def _is_ogg(file: Path) -> bool:
    """Whether ``file`` begins as an Ogg file (its first page's capture pattern and version 0)."""
    with open(file, "rb") as stream:
        return stream.read(5) == b"OggS\x00"


def _is_bw64(file: Path) -> bool:
    """Whether ``file`` begins as a BW64 file (ITU-R BS.2088: RF64 under another name)."""
    with open(file, "rb") as stream:
        head = stream.read(12)
    return head[:4] == b"BW64" and head[8:12] == b"WAVE"


def _is_text(file: Path) -> bool:
    """Whether ``file`` begins as UTF-8 text (a TOML, CSV or JSON file given where audio goes)."""
    with open(file, "rb") as stream:
        head = stream.read(4096)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:  # a character cut at the 4096th byte is still text
        text = head[: error.start].decode("utf-8") if error.start > len(head) - 4 else ""
    return bool(text) and all(c.isprintable() or c in "\t\r\n\ufeff" for c in text)


#: What is said beside a file that is no audio, by its category (:data:`~soundstage.signatures.CATEGORIES`).
_NOT_AUDIO_HINTS = {
    "midi": " (a MIDI file of automation goes after --midi)",
    "head": " (a listener's head goes after --hrtf)",
    "archive": " (unpack the audio from it)",
    "preset": " (a plugin's preset goes into the chain file, as its preset)",
}


def _refuse_if_not_audio(file: Path) -> None:
    """Refuse, naming what it is, a file that begins as no audio does (a MIDI file, an archive, a document)."""
    kind = kind_of_file(file)
    if kind is not None and kind.category == "other audio":
        fix = f"convert it to WAV or FLAC (e.g. ffmpeg -i {file.name} -c:a pcm_s24le {file.stem}-pcm.wav) and give that"
        raise AudioFileError(f"input file {str(file)!r} is {kind.name}, a format soundstage does not read; {fix}")
    if kind is not None and not kind.audio:
        hint = _NOT_AUDIO_HINTS.get(kind.category, "")
        raise AudioFileError(f"input file {str(file)!r} is {kind.name}, not audio{hint}; give the audio file")


def _text_given(file: Path) -> AudioFileError:
    """The error for a text file given as audio: a soundstage file in the wrong place, or text saved as audio."""
    suffix = file.suffix.lower()
    why = ""
    if suffix == ".toml":
        why = " (a chain or session file? a chain goes after --chain, a session to soundstage render)"
    elif suffix in (*_LIBSNDFILE_SUFFIXES, ".caf", ".w64", ".ogg", ".opus", *MPEG_SUFFIXES):
        why = " (a web page or an error message saved under an audio file's name?)"
    return AudioFileError(f"input file {str(file)!r} is a text file, not audio{why}; give the audio file")


def _list_past_end(file: Path) -> bool:
    """Whether the WAV ``file`` holds a ``LIST`` chunk that runs past its end: a file cut short inside the markers a
    DAW writes after the audio (``LIST``/``adtl`` labels), or one whose chunk size is damaged. pedalboard's reader
    (JUCE's) loops for ever on such a list of labels, reading nothing at the file's end; libsndfile, FFmpeg and SoX
    read the audio, which is whole."""
    with open(file, "rb") as stream:
        length = os.fstat(stream.fileno()).st_size
        return any(chunk.kind == b"LIST" and chunk.end > length for chunk in riff.chunks(stream))


#: Seconds libsndfile is given to read the header of a WAV whose tags it may read for ever (a header takes it ms).
_LIBSNDFILE_PROBE_S = 5.0


def _refuse_if_libsndfile_loops(file: Path) -> None:
    """AudioFileError where ``file`` is a WAV with a damaged tag that libsndfile would read for ever (see
    :func:`riff.list_entry_stepping_back`), with the FFmpeg command that rewrites it without its tags."""
    with open(file, "rb") as stream:
        found = riff.list_entry_stepping_back(stream)
    if found is None:
        return
    probe = "import sys, soundfile\ntry:\n    soundfile.info(sys.argv[1])\nexcept Exception:\n    pass"
    try:  # whether this step loops is libsndfile's to show: where it does, the probe is killed at its time limit
        subprocess.run([sys.executable, "-c", probe, str(file)], capture_output=True, timeout=_LIBSNDFILE_PROBE_S, check=False)
        return
    except subprocess.TimeoutExpired:
        pass
    chunk, kind, size = found
    raise AudioFileError(
        f"input file {str(file)!r} is damaged: its LIST chunk (tags or labels) at byte {chunk.position} holds an entry "
        f"{kind.decode('latin-1')!r} of {size} bytes, which libsndfile reads for ever; its audio is whole: rewrite it "
        f"without its tags, e.g. ffmpeg -i {file.name} -map_metadata -1 -c copy {file.stem}-mended{file.suffix}"
    )


def _refuse_if_cut_before_audio(file: Path) -> None:
    """AudioFileError saying how ``file`` is cut short where that is why nothing reads it (see
    :func:`~soundstage.containers.cut_before_audio`)."""
    cut = containers.cut_before_audio(file)
    if cut is not None:
        raise AudioFileError(
            f"input file {str(file)!r} is cut short: {cut}, and nothing in it can be read{CUT_CAUSE}; export it again"
        )


def _whole_or_refused(file: Path, reader: Any, allow_truncated: bool) -> Any:
    """``reader`` limited to what ``file`` holds; refused where that is less than its header declares (unless
    ``allow_truncated``) or where its header says nothing of the audio behind it."""
    declared = int(reader.frames)
    if isinstance(reader, DecodedReader):  # counted by decoding it: what it holds against what its container states
        declared, held = reader.declared_frames, reader.frames
    else:
        held = held_frames(file, declared)
    size = containers.audio_size(file)  # a WAV, Wave64 or CAF whose audio stops short of the size its header gives
    if size is not None and size.cut:
        held = min(held, int(reader.frames))
        if size.declared_frames is None and not allow_truncated:
            raise AudioFileError(
                f"input file {str(file)!r} is truncated: its header declares {size.declared_bytes} bytes of audio but "
                f"it holds {size.held_bytes}{CUT_CAUSE}; export it again, or pass --allow-truncated to use what it holds"
            )
        declared = max(declared, size.declared_frames or held)
    ogg_cut = containers.ogg_ended(file) is False
    if held == 0 and (declared > 0 or ogg_cut):  # nothing to allow
        _refuse_if_cut_before_audio(file)
    if ogg_cut:
        if allow_truncated:
            return TruncatedReader(reader, held, None)
        raise AudioFileError(
            f"input file {str(file)!r} is cut short: its Ogg stream stops at {held / float(reader.samplerate):.3f} s, "
            f"without the page that ends it{CUT_CAUSE}; export it again, or pass --allow-truncated to use what it "
            "holds (an Ogg stream does not say how long it was to be)"
        )
    data_size, following = wav_data_chunk(file) if held < declared or declared == 0 else (None, 0)
    if held < declared and data_size == riff.UNSIZED:  # written to a pipe (ffmpeg -f wav -): it runs to the file's end
        declared = held
    if declared == 0 and data_size == 0 and following > 0:
        raise AudioFileError(
            f"input file {str(file)!r} says it holds no samples, but {following} bytes follow its header (a recording "
            f"that was not finished?); recover them: ffmpeg -i {file.name} -c copy {file.stem}-recovered.wav"
        )
    coded = coded_wav_frames(file)
    if coded is not None and 0 <= held - coded < MAX_BLOCK_PADDING and held == declared:
        return TruncatedReader(reader, coded, coded)  # a block codec's last block, padded: the fact chunk's count
    if held < declared and (not allow_truncated or held == 0):
        rate = float(reader.samplerate)
        use = ", or pass --allow-truncated to use what it holds (the missing time is reported)" if held else ""
        raise AudioFileError(
            f"input file {str(file)!r} is truncated: its header declares {declared} samples ({declared / rate:.3f} s) "
            f"but it holds {held} ({held / rate:.3f} s){CUT_CAUSE}; export it again{use}"
        )
    return TruncatedReader(reader, held, declared) if held < max(int(reader.frames), declared) else reader


#: Suffixes of MPEG audio files: pedalboard decodes a file by its name, libsndfile by its content.
MPEG_SUFFIXES = (".mp3", ".mp2", ".mpga")


#: Suffixes of the formats libsndfile must confirm before pedalboard, which goes by the name, decodes them.
_LIBSNDFILE_SUFFIXES = (".wav", ".wave", ".bwf", ".flac", ".aif", ".aiff", ".aifc")


def _mpeg_reader(file: Path, stream: mpeg.MpegStream, allow_truncated: bool) -> Any:
    """A reader of the music in the MPEG audio ``file``: the samples ffmpeg and players give.

    pedalboard decodes (it resyncs past damage and tags, as ffmpeg does); LAME's gapless trim, which it does not
    apply, is applied here from the stream's tag (:attr:`~soundstage.mpeg.MpegStream.music`). The stream's length
    is what its frames hold, counted: a decoder's own is an estimate where no Info frame states it (a
    variable-bitrate stream without one), and it stops there. A file holding fewer frames than its Info frame
    declares is truncated; one whose decoder stops short of its frames (no Info frame, or files joined end to end)
    is refused, as a truncated file is.
    """
    try:
        reader: Any = AudioFile(str(file))
    except Exception as error:
        if stream.cut_off and stream.frames <= 1:
            raise AudioFileError(
                f"input file {str(file)!r} is cut short: it ends inside its first MPEG frames, and nothing in it can be "
                f"read{CUT_CAUSE}; export it again"
            ) from None
        raise AudioFileError(
            f"input file {str(file)!r} cannot be read as MPEG audio: {_first_line(str(error)).rstrip('.')}; "
            f"convert it (e.g. ffmpeg -i {file.name} -c:a pcm_s24le {file.stem}.wav)"
        ) from None
    rate, decoded = float(reader.samplerate), int(reader.frames)
    start, music = stream.music
    delay, padding = stream.gapless or (0, 0)
    lost = 2 * stream.samples_per_frame  # frames a decoder may drop: a damaged one (and the one before), a last one
    if stream.info_frame and (decoded > stream.samples + lost or stream.cut_off or stream.frames_missing):  # not all there
        declared, held = decoded - delay - padding, max(0, stream.samples - start)
        problem = (
            f"is truncated: its Info frame declares {declared} samples ({declared / rate:.3f} s) but it holds "
            f"{held} ({held / rate:.3f} s){CUT_CAUSE}; export it again"
        )
    elif decoded < stream.samples - lost:
        declared, held = music, max(0, decoded - start)
        problem = (
            f"holds {declared / rate:.3f} s of MPEG audio but its decoder reads {held / rate:.3f} s (a "
            "variable-bitrate MP3 without an Info frame, or files joined end to end); convert it "
            f"(e.g. ffmpeg -i {file.name} -c:a pcm_s24le {file.stem}.wav)"
        )
    elif stream.cut_off and not stream.info_frame:  # no Info frame says how long it was
        if allow_truncated:
            held = min(music, decoded - start)
            return TruncatedReader(MusicReader(reader, start, held), held, None)
        reader.close()
        raise AudioFileError(
            f"input file {str(file)!r} is cut short: it ends inside an MPEG frame, {music / rate:.3f} s in"
            f"{CUT_CAUSE}; export it again, or pass --allow-truncated to use what it holds (an MP3 without an Info "
            "frame does not say how long it was to be)"
        )
    else:
        return MusicReader(reader, start, min(music, decoded - start))
    if not allow_truncated or held == 0:  # nothing to allow where it holds nothing
        reader.close()
        use = ", or pass --allow-truncated to use what it reads (the missing time is reported)" if held else ""
        raise AudioFileError(f"input file {str(file)!r} {problem}{use}")
    return TruncatedReader(MusicReader(reader, start, held), held, declared)


def _first_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else "(no reason given)"
