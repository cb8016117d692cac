"""Streaming a file through a chain, with safe outputs.

Inputs are read with ``pedalboard.io.AudioFile`` after ``soundfile``
(libsndfile) has confirmed they hold what their headers declare; the formats
libsndfile reads and pedalboard does not (CAF, Wave64) are read with
``soundfile`` behind the same interface (:class:`SoundfileReader`), MPEG
audio (MP3, MP2) as ffmpeg decodes it, counted frame by frame
(:mod:`soundstage.mpeg`) against what the decoders estimate, and what neither
reads (AAC and ALAC in .m4a or .caf, WavPack, AC-3, FLAC in Ogg) with FFmpeg's decoders
through PyAV, the ``formats`` extra (:class:`DecodedReader`). Outputs go
through the output layer (:mod:`soundstage.sinks`): checked before any work,
written to a temporary file beside the target and renamed into place only when
complete, so an error, Ctrl-C or SIGTERM never leaves a half-written file, and
an input is never opened for writing.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import stat
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
from pedalboard.io import AudioFile, ReadableAudioFile, StreamResampler

try:
    import av
except ImportError:  # the "formats" extra is not installed: AAC, ALAC, WavPack, AC-3 are refused with the conversion
    av = None  # type: ignore[assignment]

from soundstage import containers, mpeg, riff, stalls
from soundstage.engine import ChainStream, pump
from soundstage.errors import AudioFileError, AudioInputError, OutputError, ParameterError
from soundstage.files import library_path, missing_hint, on_disk
from soundstage.host.audio import sample_problem
from soundstage.host.chain import Chain
from soundstage.host.processor import Processor
from soundstage.host.routing import Mix
from soundstage.sinks import AudioSink, AudioTarget, audio_target, bext_body, bext_time_reference, wav_chunk

__all__ = [
    "AUDIO_SUFFIXES",
    "CUT_UNKNOWN",
    "BED_MASKS",
    "MAX_TAIL_S",
    "DecodedReader",
    "daw_project",
    "FlacCheck",
    "FullScaleReader",
    "audio_files",
    "bed_problem",
    "check_output_path",
    "check_tail",
    "clock_time",
    "held_frames",
    "missing_frames",
    "missing_words",
    "open_audio",
    "process_file",
    "SoundfileReader",
    "stamp_name",
    "time_reference",
    "unread_stamp",
    "TruncatedReader",
    "WAV_SUFFIXES",
    "first_downmix",
    "wav_channel_mask",
]


#: The audio files a folder contributes (a batch's items, a new session's stems): what :func:`open_audio` reads.
AUDIO_SUFFIXES = (
    *(".wav", ".wave", ".bwf", ".rf64", ".flac", ".aiff", ".aif", ".aifc", ".caf", ".w64", ".mp3", ".ogg", ".opus", ".au"),
    *(".mp2", ".mpga"),  # MPEG audio layer II: broadcast archives
    *(".m4a", ".wv", ".aac", ".ac3"),  # read with the "formats" extra (DecodedReader): AAC, ALAC, WavPack, raw AAC, AC-3
)


def audio_files(folder: Path, *, below: bool = False) -> tuple[list[Path], list[Path]]:
    """The audio files (:data:`AUDIO_SUFFIXES`) in ``folder`` (``below``: in its folders too), in path order, and
    the hidden ones left out: a name or folder starting with ``.`` (macOS writes ``._kick.wav`` beside
    ``kick.wav`` on drives it did not format: metadata, not audio)."""
    found = folder.rglob("*") if below else folder.iterdir()
    files, hidden = [], []
    for path in sorted(found, key=lambda p: p.relative_to(folder).as_posix().lower()):
        if path.suffix.lower() not in AUDIO_SUFFIXES or not path.is_file():
            continue
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            hidden.append(path)
        else:
            files.append(path)
    return files, hidden


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
    stream = mpeg.scan(file) if suffix in MPEG_SUFFIXES else None
    if stream is not None:  # before libsndfile, whose mpg123 prints its doubts of a cut-short stream on stderr
        return _mpeg_reader(file, stream, allow_truncated)
    _refuse_if_libsndfile_loops(file)
    try:
        info: Any = soundfile.info(str(file))
    except Exception as error:
        if suffix in _LIBSNDFILE_SUFFIXES:  # pedalboard would decode another format's data behind such a name
            if _is_text(file):
                raise _text_given(file) from None
            if _is_bw64(file):  # ITU-R BS.2088 (ADM deliveries, Dolby Atmos masters): libsndfile does not read it
                return _closed_if_refused(file, _bw64_reader(file), allow_truncated)
            unpadded = _unpadded_wav(file)  # a pad byte left out before the audio: no other reader finds the audio
            if unpadded is not None:
                return _closed_if_refused(file, _within_reason(file, unpadded), allow_truncated)
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
    unsized = _beyond_its_sizes(file, info, allow_truncated) if info is not None else None
    if unsized is not None:
        return unsized
    return _closed_if_refused(file, _decoder(file, libsndfile_frames=None if info is None else int(info.frames)), allow_truncated)


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
    return _within_reason(file, decoded)


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
        try:  # a format libsndfile reads and pedalboard does not: CAF (Logic, Pro Tools), Sony Wave64 (Reaper, Vegas)
            reader = SoundfileReader(file)
        except Exception:
            if _is_text(file):
                raise _text_given(file) from None
            reader = _ffmpeg_decoded(file)
            if reader is None:
                _refuse_if_cut_before_audio(file)
                reason = str(error).split(": ", 1)[-1] if "Failed to open" in str(error) else str(error)
                formats = [*READ_FORMATS, *(DECODED_FORMATS if av is not None else ())]
                raise AudioFileError(
                    f"input file {str(file)!r} cannot be read as audio: {_first_line(reason).rstrip('.')}; soundstage "
                    f"reads {', '.join(formats[:-1])} and {formats[-1]}: convert it "
                    f"(e.g. ffmpeg -i {file.name} -c:a pcm_s24le {file.stem}.wav)"
                    + ("" if av is not None else f", or pip install 'soundstage[formats]' to read {', '.join(DECODED_FORMATS)}")
                ) from None
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
    bits = _JUCE_SCALED.get(str(reader.file_dtype)) if isinstance(reader, ReadableAudioFile) else None
    return _within_reason(file, reader if bits is None else FullScaleReader(reader, bits))


def _within_reason(file: Path, reader: Any) -> Any:
    """``reader``, or closed and refused where its rate or channel count is out of reason (a damaged header)."""
    rate, channels = float(reader.samplerate), int(reader.num_channels)
    if not (MIN_INPUT_RATE <= rate <= MAX_INPUT_RATE and 1 <= channels <= MAX_INPUT_CHANNELS):
        reader.close()
        raise AudioFileError(
            f"input file {str(file)!r} says {channels} channel(s) at {rate:g} Hz; soundstage reads "
            f"1..{MAX_INPUT_CHANNELS} channels at {MIN_INPUT_RATE:g}..{MAX_INPUT_RATE:g} Hz (a damaged header?)"
        )
    return reader


#: The formats read, as the refusal of another format lists them: pedalboard's and libsndfile's, and what
#: :class:`DecodedReader` adds (the "formats" extra).
READ_FORMATS = ("WAV", "AIFF", "FLAC", "MP3", "Ogg", "Opus", "CAF", "Wave64")
DECODED_FORMATS = ("AAC", "ALAC", "WavPack", "AC-3", "BW64", "FLAC in Ogg")


def _ffmpeg_decoded(file: Path) -> DecodedReader | None:
    """A :class:`DecodedReader` of ``file`` if FFmpeg's decoders (PyAV) find audio in it, else None."""
    if av is None:
        return None
    try:
        return DecodedReader(file)
    except AudioFileError:
        raise
    except Exception:  # not a container FFmpeg knows, or one without audio: the caller refuses it
        return None


#: DAW projects people give where a session file or a folder of stems is wanted: how the file begins (None: its
#: suffix alone tells), its suffixes, what it is, and how that DAW writes each track to a file of its own.
_PROJECTS: tuple[tuple[bytes | None, tuple[str, ...], str, str], ...] = (
    (b"<REAPER_PROJECT", (".rpp",), "a REAPER project", "File > Render, Source: Stems (selected tracks)"),
    (None, (".ardour",), "an Ardour session", "Session > Export > Stem Export"),
    (None, (".als",), "an Ableton Live set", "File > Export Audio/Video, Rendered Track: All Individual Tracks"),
    (None, (".logicx",), "a Logic Pro project", "File > Export > All Tracks as Audio Files"),
    (None, (".ptx", ".ptf", ".pts"), "a Pro Tools session", "File > Bounce Tracks, one file per track"),
    (None, (".cpr", ".npr"), "a Cubase or Nuendo project", "File > Export > Audio Mixdown, Channel Batch Export"),
    (None, (".song",), "a Studio One song", "Song > Export Stems"),
    (b"FLhd", (".flp",), "an FL Studio project", "File > Export > WAV file, Split mixer tracks"),
    (None, (".bwproject",), "a Bitwig Studio project", "File > Export Audio, each track"),
    (None, (".aup3", ".aup"), "an Audacity project", "File > Export > Export Multiple"),
    (None, (".band",), "a GarageBand project", "each track soloed, Share > Export Song to Disk"),
    (None, (".aaf", ".omf", ".omfi"), "an AAF/OMF interchange file", "open it in a DAW and export each track as a file"),
)


def daw_project(file: Path) -> tuple[str, str] | None:
    """What DAW's project ``file`` is (``"a REAPER project"``), by how it begins or its suffix, and how that DAW
    writes each of its tracks to a file; None for anything else."""
    suffix, head = file.suffix.lower(), b""
    if file.is_file():  # not a folder (Logic's and GarageBand's projects are: the suffix tells), nor a pipe
        try:
            with file.open("rb") as handle:
                head = handle.read(16)
        except OSError:  # unreadable: the suffix tells
            pass
    for start, suffixes, what, export in _PROJECTS:
        if suffix in suffixes or (start is not None and head.startswith(start)):
            return what, export
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
            f"input file {str(file)!r} is cut short: {cut}, and nothing in it can be read{_CUT_CAUSE}; export it again"
        )


#: Why files are cut short, as the errors say it.
_CUT_CAUSE = " (a disk that filled up, or a copy that did not finish?)"


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
                f"it holds {size.held_bytes}{_CUT_CAUSE}; export it again, or pass --allow-truncated to use what it holds"
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
            f"without the page that ends it{_CUT_CAUSE}; export it again, or pass --allow-truncated to use what it "
            "holds (an Ogg stream does not say how long it was to be)"
        )
    data_size, following = _wav_data_chunk(file) if held < declared or declared == 0 else (None, 0)
    if held < declared and data_size == riff.UNSIZED:  # written to a pipe (ffmpeg -f wav -): it runs to the file's end
        declared = held
    if declared == 0 and data_size == 0 and following > 0:
        raise AudioFileError(
            f"input file {str(file)!r} says it holds no samples, but {following} bytes follow its header (a recording "
            f"that was not finished?); recover them: ffmpeg -i {file.name} -c copy {file.stem}-recovered.wav"
        )
    coded = _coded_wav_frames(file)
    if coded is not None and 0 <= held - coded < MAX_BLOCK_PADDING and held == declared:
        return TruncatedReader(reader, coded, coded)  # a block codec's last block, padded: the fact chunk's count
    if held < declared and (not allow_truncated or held == 0):
        rate = float(reader.samplerate)
        use = ", or pass --allow-truncated to use what it holds (the missing time is reported)" if held else ""
        raise AudioFileError(
            f"input file {str(file)!r} is truncated: its header declares {declared} samples ({declared / rate:.3f} s) "
            f"but it holds {held} ({held / rate:.3f} s){_CUT_CAUSE}; export it again{use}"
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
                f"read{_CUT_CAUSE}; export it again"
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
            f"{held} ({held / rate:.3f} s){_CUT_CAUSE}; export it again"
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
            return TruncatedReader(_MusicReader(reader, start, held), held, None)
        reader.close()
        raise AudioFileError(
            f"input file {str(file)!r} is cut short: it ends inside an MPEG frame, {music / rate:.3f} s in"
            f"{_CUT_CAUSE}; export it again, or pass --allow-truncated to use what it holds (an MP3 without an Info "
            "frame does not say how long it was to be)"
        )
    else:
        return _MusicReader(reader, start, min(music, decoded - start))
    if not allow_truncated or held == 0:  # nothing to allow where it holds nothing
        reader.close()
        use = ", or pass --allow-truncated to use what it reads (the missing time is reported)" if held else ""
        raise AudioFileError(f"input file {str(file)!r} {problem}{use}")
    return TruncatedReader(_MusicReader(reader, start, held), held, declared)


class _StreamedReader:
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
_JUCE_SCALED = {"int8": 8, "int16": 16, "int24": 24}


class FullScaleReader(_StreamedReader):
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


class _MusicReader(_StreamedReader):
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


def _first_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else "(no reason given)"


def _wav_data_chunk(file: Path) -> tuple[int | None, int]:
    """A WAV's ``data`` chunk: the size its header gives and the bytes that follow the header to the file's end;
    ``(None, 0)`` for any other file."""
    with open(file, "rb") as stream:
        for chunk in riff.chunks(stream):
            if chunk.kind == b"data":
                return chunk.size, max(0, os.fstat(stream.fileno()).st_size - chunk.body)
    return None, 0


#: The most samples a block-coded WAV's last block pads its music by (an IMA ADPCM block of 2 KiB holds 4089).
MAX_BLOCK_PADDING = 8192


def _format_tag(fmt: bytes) -> int:
    """A WAV ``fmt`` chunk's format tag (1 PCM, 3 float, ...): for WAVE_FORMAT_EXTENSIBLE, its sub-format's."""
    tag = int.from_bytes(fmt[:2], "little")
    return int.from_bytes(fmt[24:26], "little") if tag == 0xFFFE and len(fmt) >= 26 else tag


def _coded_wav_frames(file: Path) -> int | None:
    """A block-coded WAV's length as its ``fact`` chunk gives it (GSM 6.10, ADPCM: the decoders count whole blocks,
    so the last one's padding reads as music), or None: not a WAV, PCM or float samples, or no fact chunk."""
    tag, fact = None, None
    with open(file, "rb") as stream:
        for chunk in riff.chunks(stream):
            if chunk.kind == b"fmt ":
                tag = _format_tag(stream.read(min(chunk.size, 26)))
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


def _beyond_its_sizes(file: Path, info: Any, allow_truncated: bool) -> Any:
    """A reader of a WAV whose header cannot give the size of its audio: an RF64 written to a pipe, a plain WAV over
    4 GiB; None for any other file (``info``: libsndfile's)."""
    if info.format == "RF64" and info.frames == 0:
        piped = _piped_rf64(file)
        return None if piped is None else _within_reason(file, piped)
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
    reader = _within_reason(file, reader)
    declared, rate = data.size // max(1, int.from_bytes(fmt[12:14], "little")), float(reader.samplerate)  # its block align
    if int(reader.frames) == declared:
        return reader
    if allow_truncated:
        return TruncatedReader(reader, int(reader.frames), declared)
    reader.close()
    raise AudioFileError(
        f"input file {str(file)!r} is truncated: its header's sizes, wrapped around past 4 GiB, declare at least "
        f"{declared} samples ({declared / rate:.3f} s) but it holds {reader.frames} ({reader.frames / rate:.3f} s)"
        f"{_CUT_CAUSE}; export it again (as RF64: ffmpeg -rf64 auto), or pass --allow-truncated to use what it holds"
    )


def _unpadded_wav(file: Path) -> SoundfileReader | None:
    """A reader of a WAV whose writer left out the pad byte after a chunk of odd size before its audio, or None for
    any other file. pedalboard, libsndfile, FFmpeg and SoX look for the next chunk a byte on and find no audio;
    :func:`riff.chunks` finds it where it is (an odd position), and its samples are read raw, as its ``fmt`` chunk
    describes them."""
    found = _wav_audio(file)
    if found is None or not found[2]:
        return None
    fmt, data, _ = found
    return _raw_samples(file, fmt, data.body, data.body + data.size)


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
    tag = _format_tag(fmt)
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


class SoundfileReader(_StreamedReader):
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


#: FFmpeg's names of the raw streams it reads (no container): the length it gives them is guessed from the bitrate, so
#: a variable-rate AAC in ADTS frames (an .aac file, or `ffmpeg -f adts -`) read as cut short of its guess. A Creative
#: VOC file's blocks state no sample count either: FFmpeg guesses one from the file's size, headers included.
#: The codecs FFmpeg decodes here, as their makers write them.
_CODEC_NAMES = {"wavpack": "WavPack", "ac3": "AC-3", "eac3": "E-AC-3", "vorbis": "Vorbis", "opus": "Opus", "speex": "Speex"}
_RAW_STREAMS = frozenset({"aac", "ac3", "eac3", "dts", "truehd", "mlp", "voc"})


class DecodedReader(_StreamedReader):
    """pedalboard's reader interface over FFmpeg's decoders (PyAV, the ``formats`` extra), for what neither pedalboard
    nor libsndfile reads here: AAC and ALAC (.m4a from iTunes, Logic or a client; ALAC in .caf), WavPack, AC-3, FLAC in
    Ogg (.oga).

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
        self._container = av.open(self.name)
        try:
            if not self._container.streams.audio:
                raise ValueError("no audio stream")
            stream = self._container.streams.audio[0]
            self.samplerate = float(stream.rate)
            self.num_channels = int(stream.codec_context.channels)
            stated = None
            raw = self._container.format.name in _RAW_STREAMS  # no container: FFmpeg guesses a length from the bitrate
            if not raw and stream.duration is not None and stream.time_base is not None and stream.duration > 0:
                stated = int(round(float(stream.duration * stream.time_base) * self.samplerate))
            held, broken = 0, None
            try:
                for block in self._blocks():
                    held += block.shape[1]
            except AudioFileError as error:  # undecodable from here on: cut short in transfer, or damaged
                if stated is None:  # a bare stream (AC-3): damaged where a later packet decodes
                    raise self._damaged(held) if self._damaged_inside(stream, held) else error from None
                broken = error if held < stated else None  # past all it states (the end of a last block lost): whole
                if broken is not None and self._damaged_inside(stream, held):
                    raise self._damaged(held) from None
            # a container may state its packets' length (a CAF: up to a packet more than the music) or, shorter, the
            # music's (an MP4's edit list); fewer samples than a packet short of it is a file cut short
            packet = max(int(stream.codec_context.frame_size or 0), 1)
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
        to_float = av.AudioResampler(format="flt", layout=stream.layout, rate=stream.rate)
        channels = self.num_channels
        position = 0
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
                        yield block
            for converted in to_float.resample(None):
                yield np.ascontiguousarray(converted.to_ndarray().reshape(-1, channels).T, np.float32)
        except av.FFmpegError as error:
            why = str(error.strerror or error)
            if why.startswith("Error number"):  # a decoder's own code, which FFmpeg has no words for (AC-3's sync)
                why = f"FFmpeg's error {error.errno}"
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


def check_output_path(output: str | os.PathLike[str], *, inputs: list[Path], overwrite: bool, example: str = "out.wav") -> Path:
    """Refuse an output that is an input, exists (without ``overwrite``) or cannot be written.

    ``example`` is the file name suggested when ``output`` is a folder.
    """
    target = on_disk(Path(output))
    if str(output) == "-":
        raise OutputError(
            "output '-': standard output is written by soundstage process alone (soundstage process IN -, a whole "
            f"WAV once it is complete); give a file, e.g. {example}"
        )
    for source in inputs:
        source = on_disk(source)
        if target.resolve() == source.resolve() or (target.exists() and source.exists() and os.path.samefile(target, source)):
            raise OutputError(f"output {str(target)!r} is the input file; choose another output path (inputs are never written)")
    if target.is_dir():
        raise OutputError(f"output {str(target)!r} is a folder; give a file name such as {str(target / example)!r}")
    if target.exists() and not target.is_file():  # /dev/null, /dev/stdout, a named pipe: what an atomic file cannot be
        raise OutputError(
            f"output {str(target)!r} is a device or pipe, not a file; soundstage writes a file and moves it into place "
            f"when complete: give a file, e.g. {example}"
        )
    if target.exists() and not overwrite:
        raise OutputError(f"output {str(target)!r} already exists; pass --overwrite to replace it")
    folder = target.resolve().parent
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"output folder {str(folder)!r} is a file, not a folder; give another output path")
    if not folder.is_dir():
        raise OutputError(f"output folder {str(folder)!r} does not exist; create it first")
    try:  # os.access says yes to root even where nothing can be created (read-only mounts, /proc)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise OutputError(
            f"output folder {str(folder)!r} is not writable ({error.strerror}); choose another output path"
        ) from None
    return target


def _checked_blocks(reader: Any, source: Path, frames: int, buffer_size: int) -> Iterator[np.ndarray]:
    """The blocks of an input file, each read whole and finite, or an error that names the file and sample."""
    position = 0
    check = FlacCheck.of(source, reader)
    while position < frames:
        try:
            with stalls.watched(source, "reading"):
                block = reader.read(min(buffer_size, frames - position))
        except Exception as error:  # a decoder error in the middle of a damaged file
            raise AudioFileError(
                f"input file {str(source)!r} cannot be read at sample {position}: {error}; export it again"
            ) from None
        if block.shape[1] == 0:
            raise AudioFileError(f"input file {str(source)!r} ends early at sample {position} of {frames} (truncated?)")
        problem = sample_problem(block, first_sample=position)
        if problem is not None:
            raise AudioInputError(f"input file {str(source)!r} {problem}")
        if check is not None:
            check.add(block)
        position += block.shape[1]
        yield block


#: The longest tail a render may add after the input's end (seconds): a hall's reverb is a few.
MAX_TAIL_S = 600.0


def check_tail(tail_s: float) -> None:
    """A ParameterError unless ``tail_s`` is a number of seconds in 0..:data:`MAX_TAIL_S`."""
    if isinstance(tail_s, bool) or not isinstance(tail_s, (int, float)) or not 0.0 <= tail_s <= MAX_TAIL_S:
        raise ParameterError(
            f"tail={tail_s!r}: the seconds rendered after the input's end for the chain's tail, 0..{MAX_TAIL_S:g} "
            "(a reverb's tail is a few)"
        )


def _silence(channels: int, frames: int, buffer_size: int) -> Iterator[np.ndarray]:
    """``frames`` samples of silence on ``channels`` channels, in blocks of at most ``buffer_size``."""
    for start in range(0, frames, buffer_size):
        yield np.zeros((channels, min(buffer_size, frames - start)), np.float32)


def _progress_steps(progress: Callable[[int], None]) -> Callable[[int], None]:
    """``progress(samples done since the last call)`` from the engine's ``after_block(position)``."""
    done = 0

    def step(position: int) -> None:
        nonlocal done
        progress(position - done)
        done = position

    return step


#: The suffixes of Ogg files, whose first stream's comments may hold a time reference (:func:`time_reference`).
OGG_SUFFIXES = (".ogg", ".oga", ".opus")


def time_reference(path: Path) -> int | None:
    """Where the DAW placed the stem ``path`` on its timeline (samples since midnight at the file's rate), or None if
    it does not say: a WAV's BWF ``bext`` TimeReference, or the ``TIME_REFERENCE`` comment of a FLAC or an Ogg Vorbis
    file (FFmpeg carries the WAV's over so when it converts one). An Opus file's is not read: its count is at the rate
    of the file FFmpeg converted, which it does not record (it plays at 48 kHz whatever that rate was;
    :func:`unread_stamp` says so). A comment that is no count of samples raises ``AudioFileError``."""
    suffix = path.suffix.lower()
    if suffix == ".flac":
        return _counted(path, containers.flac_comments(path).get("TIME_REFERENCE"), "metaflac --remove-tag=TIME_REFERENCE")
    if suffix in OGG_SUFFIXES:
        found = containers.ogg_comments(path)
        if found is None or found.codec == "opus":
            return None
        fix = f"ffmpeg -i {path.name} -map_metadata:s:a -1 -c copy {path.stem}-untagged{path.suffix}"
        return _counted(path, found.comments.get("TIME_REFERENCE"), fix)
    if suffix not in (*WAV_SUFFIXES, ".rf64"):
        return None
    bext = wav_chunk(path, b"bext")
    return bext_time_reference(bext) if bext else None


def _counted(path: Path, value: str | None, remover: str) -> int | None:
    """A ``TIME_REFERENCE`` comment's count of samples (None: no comment); one that is no count raises."""
    if value is None:
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 20):  # bext's is 64 bits: 20 digits
        raise AudioFileError(
            f"{str(path)!r}: its TIME_REFERENCE comment is {value!r}, not a count of samples; give the stem "
            f"offset_s (seconds from the session's start) to place it, or correct the comment ({remover} removes it)"
        )
    return int(text)


def unread_stamp(path: Path) -> str | None:
    """Why a time reference ``path`` holds is not read, for the stems placed without it: an Opus file's
    ``TIME_REFERENCE`` counts at a rate the file does not say (its seconds at 44.1 and 48 kHz given); else None."""
    if path.suffix.lower() not in OGG_SUFFIXES:
        return None
    found = containers.ogg_comments(path)
    value = found.comments.get("TIME_REFERENCE", "").strip() if found is not None and found.codec == "opus" else ""
    if not (value.isascii() and value.isdigit() and len(value) <= 20):
        return None
    count = int(value)
    return (
        f"its TIME_REFERENCE comment ({count} samples) counts at the rate of the file it was converted from, which an "
        f"Opus file does not record ({clock_time(count / 44100)} at 44.1 kHz, {clock_time(count / 48000)} at 48 kHz)"
    )


def clock_time(seconds: float) -> str:
    """A time of day on a DAW's timeline as hours, minutes and seconds to the ms: ``01:00:02.000``."""
    hours, rest = divmod(seconds, 3600.0)
    minutes, rest = divmod(rest, 60.0)
    return f"{int(hours):02d}:{int(minutes):02d}:{rest:06.3f}"


def stamp_name(path: Path) -> str:
    """What a stem's time reference is called in its format, for the messages and the render report."""
    suffix = path.suffix.lower()
    if suffix == ".flac":
        return "FLAC TIME_REFERENCE"
    return "Ogg TIME_REFERENCE" if suffix in OGG_SUFFIXES else "BWF TimeReference"


def _carried_stamp(source: Path, target: AudioTarget) -> tuple[list[tuple[bytes, bytes]], list[tuple[str, str]]]:
    """What of an input's place on a DAW's timeline its processed file carries (the output is aligned to the input,
    latency compensated): a WAV output a WAV input's whole BWF ``bext`` chunk, or one made from a FLAC's
    ``TIME_REFERENCE``; a FLAC output the time reference as its ``TIME_REFERENCE`` comment. An AIFF has no place for
    it. A stamp that cannot be read is not carried (the audio reader has what it needs)."""
    try:
        reference = time_reference(source)
        bext = wav_chunk(source, b"bext") if reference is not None and target.file_format in ("WAV", "RF64") else None
    except (OSError, AudioFileError):  # read through a symbolic link or gone meanwhile; a comment that is no number
        return [], []
    if reference is None:
        return [], []
    if target.file_format in ("WAV", "RF64"):
        return [(b"bext", bext or bext_body(reference, description=f"soundstage process {source.name}"))], []
    if target.file_format == "FLAC":
        return [], [("TIME_REFERENCE", str(reference))]
    return [], []


#: The WAV channel masks (WAVE_FORMAT_EXTENSIBLE) of the layouts each fold-down takes: 5.1 with back or side
#: surrounds, 7.1 and 7.1 wide (the last pair front left / right of center: to the left and right, as 7.1's sides;
#: libsndfile's mask for any 8 channels).
BED_MASKS = {"5.1": (0x3F, 0x60F), "7.1": (0x63F, 0xFF)}
#: The speakers of a WAV channel mask, by bit.
SPEAKERS = ("FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC", "BC", "SL", "SR", "TC", "TFL", "TFC", "TFR", "TBL", "TBC", "TBR")
#: The suffixes of RIFF/WAVE files (their channel masks and chunks are read).
WAV_SUFFIXES = (".wav", ".wave", ".bwf")


def wav_channel_mask(path: Path) -> int | None:
    """A WAV's channel mask (WAVE_FORMAT_EXTENSIBLE), or None: a WAV without one."""
    fmt = wav_chunk(path, b"fmt ", 40)
    extensible = fmt is not None and len(fmt) >= 24 and int.from_bytes(fmt[:2], "little") == 0xFFFE
    return int.from_bytes(fmt[20:24], "little") if fmt is not None and extensible else None


def first_downmix(processor: Processor) -> str | None:
    """The fold-down ("5.1", "7.1") a chain begins with, else None."""
    node: Processor = processor
    while isinstance(node, Chain) and len(node) > 0:
        node = node[0]
    return node.downmix if isinstance(node, Mix) else None


def bed_problem(path: Path, channels: int, downmix: str) -> str | None:
    """Why a WAV's channels are not the bed a fold-down takes (its channel mask names every channel, and another
    layout: a 6.0 file's back center would play as the LFE, at -120 dB), else None. A WAV without a mask, with one
    naming fewer speakers than it has channels, or another format is taken to be the bed its channel count says."""
    if path.suffix.lower() not in WAV_SUFFIXES or channels != {"5.1": 6, "7.1": 8}[downmix]:
        return None  # another count: the chain's channel check says so
    mask = wav_channel_mask(path)
    if not mask or mask in BED_MASKS[downmix] or mask.bit_count() != channels:
        return None
    speakers = " ".join(name for bit, name in enumerate(SPEAKERS) if mask >> bit & 1) or f"mask {mask:#x}"
    return (
        f"its channel mask says {speakers} ({mask:#x}), not a {downmix} bed (L R C LFE ...), which the {downmix} "
        'fold-down takes; fold it with a mix matrix of its own (type = "mix", matrix = [[...], [...]])'
    )


def process_file(
    processor: Processor,
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    buffer_size: int = 8192,
    overwrite: bool = False,
    bit_depth: int | None = None,
    progress: Callable[[int], None] | None = None,
    automation: list[Any] | None = None,
    allow_truncated: bool = False,
    tail_s: float = 0.0,
) -> dict[str, float]:
    """Stream ``input_path`` through ``processor`` into ``output_path``, block by block.

    Memory does not grow with the file's length: one block is in flight at a
    time. The output has the input's length and sample rate (latency is
    compensated) and appears only when complete; ``tail_s`` seconds of silence
    after the input's end make it that much longer, for the chain's tail (a
    reverb's, a delay's: a DAW render's "tail"). ``automation`` events
    (:class:`~soundstage.host.automation.AutomationEvent`, sorted or not) change
    the processor's parameters at their samples. A mono file into a processor
    that takes two channels plays on both at unity (dual mono), as a DAW's
    stereo track plays a mono clip and a session's mixer puts a mono stem.

    Returns
    -------
    dict
        ``frames`` (the output's: the input's and the tail's), ``sample_rate``, ``input_channels``, ``output_channels``,
        ``latency_samples``, ``bit_depth``, ``missing_seconds`` (of a truncated
        input read with ``allow_truncated``; NaN for one cut short that does not say how long it was to be, see
        :func:`missing_frames`), ``dual_mono`` (1.0 if a mono input
        played on two channels, else 0.0), and ``integrated_lufs`` and
        ``true_peak_dbtp`` of the file as written.
    """
    source = on_disk(Path(input_path))
    target = check_output_path(output_path, inputs=[source], overwrite=overwrite)
    if isinstance(buffer_size, bool) or not isinstance(buffer_size, int) or not 1 <= buffer_size <= 2**24:
        raise ParameterError(f"buffer_size={buffer_size!r} must be a whole number of samples in 1..16777216")
    check_tail(tail_s)
    with open_audio(source, allow_truncated=allow_truncated) as reader:
        rate, channels, frames = float(reader.samplerate), int(reader.num_channels), int(reader.frames)
        tail = round(tail_s * rate)
        missing = missing_frames(reader)
        if frames == 0:
            raise AudioFileError(f"input file {str(source)!r} has no samples (zero-length input)")
        downmix = first_downmix(processor)
        problem = bed_problem(source, channels, downmix) if downmix is not None else None
        if problem is not None:
            raise AudioFileError(f"input file {str(source)!r}: {problem}")
        dual_mono = channels == 1 and processor.input_channels == 2
        out_channels = processor.output_channels_for(2 if dual_mono else channels)
        checked = audio_target(target, channels=out_channels, sample_rate=rate, bit_depth=bit_depth, frames=frames + tail)
        events = [(event.sample, event.target, event.value) for event in automation or []]
        stream = ChainStream(processor, rate, events, buffer_size=buffer_size)
        chunks, comments = _carried_stamp(source, checked)
        with AudioSink(checked, replace=overwrite, chunks=chunks, comments=comments) as writer:
            blocks = itertools.chain(_checked_blocks(reader, source, frames, buffer_size), _silence(channels, tail, buffer_size))
            pump(
                (np.repeat(block, 2, axis=0) for block in blocks) if dual_mono else blocks,
                stream,
                [writer.write],
                after_block=None if progress is None else _progress_steps(progress),
            )
    return {
        "frames": float(frames + tail),
        "tail_frames": float(tail),
        "sample_rate": rate,
        "input_channels": float(channels),
        "output_channels": float(out_channels),
        "latency_samples": float(processor.latency_samples),
        "bit_depth": float(checked.bit_depth),
        "missing_seconds": math.nan if missing is None else missing / rate,
        "dual_mono": float(dual_mono),
        "integrated_lufs": writer.loudness.integrated_lufs(),
        "true_peak_dbtp": writer.peak.true_peak_dbtp,
        "clipped_samples": float(writer.clipped),
        "signal_peak_dbfs": float(20 * np.log10(writer.signal_peak)) if writer.signal_peak > 0 else -np.inf,
    }
