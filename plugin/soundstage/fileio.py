"""Streaming a file through a chain, with safe outputs.

Reading and writing go through ``pedalboard.io.AudioFile``. Outputs are written
to a temporary file beside the target and renamed into place only when complete,
so an error or Ctrl-C never leaves a half-written file, and an input is never
opened for writing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from pedalboard.io import AudioFile

from soundstage.errors import AudioFileError, AudioInputError, OutputError
from soundstage.host.processor import Processor

__all__ = ["atomic_output", "audio_writer", "check_output_path", "open_audio", "process_file", "output_bit_depth"]


def open_audio(path: str | os.PathLike[str]) -> Any:
    """Open an audio file for reading, or raise AudioFileError naming it."""
    file = Path(path)
    if not file.exists():
        raise AudioFileError(f"input file {str(file)!r} does not exist")
    if file.is_dir():
        raise AudioFileError(f"input {str(file)!r} is a folder, not an audio file")
    try:
        return AudioFile(str(file))  # a ReadableAudioFile (typed loosely: pedalboard's stubs lack __enter__)
    except Exception as error:  # pedalboard raises ValueError/RuntimeError for bad files
        reason = str(error).split(": ", 1)[-1] if "Failed to open" in str(error) else str(error)
        raise AudioFileError(f"input file {str(file)!r} cannot be read as audio: {reason}") from None


def check_output_path(output: str | os.PathLike[str], *, inputs: list[Path], overwrite: bool, example: str = "out.wav") -> Path:
    """Refuse an output that is an input, exists (without ``overwrite``) or cannot be written.

    ``example`` is the file name suggested when ``output`` is a folder.
    """
    target = Path(output)
    for source in inputs:
        if target.resolve() == source.resolve() or (target.exists() and os.path.samefile(target, source)):
            raise OutputError(f"output {str(target)!r} is the input file; choose another output path (inputs are never written)")
    if target.is_dir():
        raise OutputError(f"output {str(target)!r} is a folder; give a file name such as {str(target / example)!r}")
    if target.exists() and not overwrite:
        raise OutputError(f"output {str(target)!r} already exists; pass --overwrite to replace it")
    folder = target.resolve().parent
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


@contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On any exception (including KeyboardInterrupt) the temporary file is removed
    and ``target`` is left as it was.
    """
    handle, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".partial{target.suffix}", dir=target.resolve().parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def audio_writer(target: Path, sample_rate: float, channels: int, bit_depth: int) -> Iterator[Any]:
    """An ``AudioFile`` writer whose file appears at ``target`` only when the block ends without an error."""
    with atomic_output(target) as temporary:
        writer_file: Any = AudioFile(str(temporary), "w", sample_rate, channels, bit_depth=bit_depth)
        with writer_file as writer:
            yield writer


def output_bit_depth(path: Path, requested: int | None) -> int:
    """The bit depth to write: the request, else 32-bit float for WAV/AIFF and 24 for FLAC."""
    suffix = path.suffix.lower()
    if suffix not in (".wav", ".aif", ".aiff", ".flac"):
        raise OutputError(f"output {str(path)!r}: unsupported format {suffix or '(none)'}; use .wav, .aiff or .flac")
    if requested is None:
        return 24 if suffix == ".flac" else 32
    if requested not in (16, 24, 32) or (suffix == ".flac" and requested == 32):
        allowed = "16 or 24" if suffix == ".flac" else "16, 24 or 32 (float)"
        raise OutputError(f"bit depth {requested} is not available for {suffix}; use {allowed}")
    return requested


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
) -> dict[str, float]:
    """Stream ``input_path`` through ``processor`` into ``output_path``, block by block.

    Memory does not grow with the file's length: one block is in flight at a
    time. The output has the input's length and sample rate (latency is
    compensated) and appears only when complete. ``automation`` events
    (:class:`~soundstage.midi.automation.AutomationEvent`, sorted or not) change
    the processor's parameters at their samples.

    Returns
    -------
    dict
        ``frames``, ``sample_rate``, ``input_channels``, ``output_channels``,
        ``latency_samples``.
    """
    source = Path(input_path)
    target = check_output_path(output_path, inputs=[source], overwrite=overwrite)
    depth = output_bit_depth(target, bit_depth)
    with open_audio(source) as reader:
        rate, channels, frames = float(reader.samplerate), int(reader.num_channels), int(reader.frames)
        if frames == 0:
            raise AudioFileError(f"input file {str(source)!r} has no samples (zero-length input)")
        out_channels = processor.output_channels_for(channels)
        from soundstage.midi.automation import AutomatedStream

        events = [(event.sample, event.target, event.value) for event in automation or []]
        stream = AutomatedStream(processor, rate, events, buffer_size=buffer_size)
        with audio_writer(target, rate, out_channels, depth) as writer:
            position = 0
            while position < frames:
                block = reader.read(min(buffer_size, frames - position))
                if block.shape[1] == 0:
                    raise AudioFileError(f"input file {str(source)!r} ends early at sample {position} of {frames} (truncated?)")
                if not np.isfinite(block).all():
                    channel, sample = np.argwhere(~np.isfinite(block))[0]
                    raise AudioInputError(
                        f"input file {str(source)!r} contains {block[channel, sample]} at channel {channel}, "
                        f"sample {position + sample}; soundstage only processes finite samples"
                    )
                writer.write(stream.process(block))
                position += block.shape[1]
                if progress is not None:
                    progress(block.shape[1])
            writer.write(stream.flush())
    return {
        "frames": float(frames),
        "sample_rate": rate,
        "input_channels": float(channels),
        "output_channels": float(out_channels),
        "latency_samples": float(processor.latency_samples),
    }
