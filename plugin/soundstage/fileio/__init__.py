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

Here: :func:`process_file` and what it checks of its output and tail. Beside it:
:mod:`~soundstage.fileio.opening` (which reader an input needs, and what is refused
before any audio is read), :mod:`~soundstage.fileio.readers` (the readers), :mod:`~soundstage.fileio.decoded`
(FFmpeg's decoders, the ``formats`` extra),
:mod:`~soundstage.fileio.cut` (files cut short), :mod:`~soundstage.fileio.metadata`
(time stamps, channel masks), :mod:`~soundstage.fileio.listing` (what a folder holds to read, a DAW's project) and
:mod:`~soundstage.fileio.ringing` (a chain still ringing where its output ends).
The names the rest of soundstage uses are offered here too.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from soundstage import containers, mpeg, riff, stalls
from soundstage.engine import ChainStream, pump
from soundstage.errors import AudioFileError, AudioInputError, OutputError, ParameterError
from soundstage.fileio.cut import CUT_UNKNOWN, FlacCheck, TruncatedReader, held_frames, missing_frames, missing_words
from soundstage.fileio.decoded import DecodedReader
from soundstage.fileio.listing import AUDIO_SUFFIXES, Listing, audio_files, daw_project
from soundstage.fileio.metadata import (
    BED_MASKS,
    WAV_SUFFIXES,
    bed_problem,
    carried_stamp,
    clock_time,
    first_downmix,
    stamp_name,
    time_reference,
    unread_stamp,
    wav_channel_mask,
)
from soundstage.fileio.opening import open_audio
from soundstage.fileio.readers import FullScaleReader, SoundfileReader
from soundstage.fileio.ringing import RING_CAP_S, PastTheEnd, RingMeter, ringing_note
from soundstage.files import library_path, missing_hint, on_disk
from soundstage.host.audio import sample_problem
from soundstage.host.chain import Chain
from soundstage.host.processor import Processor
from soundstage.host.routing import Mix
from soundstage.sinks import AudioSink, AudioTarget, audio_target, bext_body, bext_time_reference, wav_chunk

__all__ = [
    "AUDIO_SUFFIXES",
    "Listing",
    "BED_MASKS",
    "CUT_UNKNOWN",
    "DecodedReader",
    "FlacCheck",
    "FullScaleReader",
    "MAX_TAIL_S",
    "RING_CAP_S",
    "RingMeter",
    "ringing_note",
    "SoundfileReader",
    "TruncatedReader",
    "WAV_SUFFIXES",
    "audio_files",
    "bed_problem",
    "check_output_path",
    "check_tail",
    "clock_time",
    "daw_project",
    "first_downmix",
    "held_frames",
    "missing_frames",
    "missing_words",
    "open_audio",
    "process_file",
    "stamp_name",
    "time_reference",
    "unread_stamp",
    "wav_channel_mask",
    "containers",
    "mpeg",
    "riff",
    "library_path",
    "missing_hint",
    "Chain",
    "Mix",
    "AudioTarget",
    "bext_body",
    "bext_time_reference",
    "wav_chunk",
]


def _example_name(folder: Path, inputs: list[Path]) -> str:
    """The output name suggested in ``folder`` for the first of ``inputs``: its stem as a WAV, not the input itself."""
    if not inputs:
        return "out.wav"
    source = Path(inputs[0])
    name = f"{source.stem}.wav"
    if (folder / name).resolve() == on_disk(source).resolve():
        name = f"{source.stem}-processed.wav"
    return name


def check_output_path(output: str | os.PathLike[str], *, inputs: list[Path], overwrite: bool, example: str | None = None) -> Path:
    """Refuse an output that is an input, exists (without ``overwrite``) or cannot be written.

    ``example`` is the file name suggested when ``output`` is a folder: by default the first input's name as a WAV
    (``-processed`` added where that is the input itself), ``out.wav`` without inputs.
    """
    target = on_disk(Path(output))
    if example is None:
        example = _example_name(target, inputs)
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
        played on two channels, else 0.0), ``integrated_lufs`` and
        ``true_peak_dbtp`` of the file as written, and ``ringing_s`` (see :class:`PastTheEnd`: 0.0 where the chain does
        not ring past the output's end).
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
        chunks, comments = carried_stamp(source, checked)
        with AudioSink(checked, replace=overwrite, chunks=chunks, comments=comments) as writer:
            end = PastTheEnd(writer, frames + tail, rate)
            blocks = itertools.chain(
                _checked_blocks(reader, source, frames, buffer_size),
                _silence(channels, tail, buffer_size),
                end.silence(channels, buffer_size),
            )
            steps = None if progress is None else _progress_steps(progress)
            pump(
                (np.repeat(block, 2, axis=0) for block in blocks) if dual_mono else blocks,
                stream,
                [end],
                after_block=None if steps is None else lambda position: steps(min(position, frames + tail)),
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
        "ringing_s": end.ringing_s,
        "signal_peak_dbfs": float(20 * np.log10(writer.signal_peak)) if writer.signal_peak > 0 else -np.inf,
    }
