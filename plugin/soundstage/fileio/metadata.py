"""What an input says beside its audio: its time stamp (a BWF TimeReference, a FLAC's or Ogg's
TIME_REFERENCE) and what its channels are (a WAV's channel mask: a 5.1 or 7.1 bed)."""

from __future__ import annotations

from pathlib import Path

from soundstage import containers
from soundstage.errors import AudioFileError
from soundstage.host.chain import Chain
from soundstage.host.processor import Processor
from soundstage.host.routing import Mix
from soundstage.sinks import AudioTarget, bext_body, bext_time_reference, wav_chunk

__all__ = [
    "OGG_SUFFIXES",
    "time_reference",
    "unread_stamp",
    "clock_time",
    "stamp_name",
    "carried_stamp",
    "BED_MASKS",
    "SPEAKERS",
    "WAV_SUFFIXES",
    "wav_channel_mask",
    "first_downmix",
    "bed_problem",
]


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


def carried_stamp(source: Path, target: AudioTarget) -> tuple[list[tuple[bytes, bytes]], list[tuple[str, str]]]:
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
