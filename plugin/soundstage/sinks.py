"""The output layer: every file soundstage writes goes through here.

What it guarantees, for audio and for text (reports, chain files, maps, plots):

- **Checked before any work.** :func:`audio_target` refuses a format, channel
  count, bit depth or sample rate the file format cannot hold (FLAC: at most 8
  channels, 16 or 24 bits; WAV/AIFF: 16, 24 or 32-bit float; an AIFF over 4 GiB), and a WAV or AIFF that its
  drive cannot hold (over 4 GiB on a FAT drive, more than the room left), with one line that names the file and
  the fix. A WAV over 4 GiB is written as RF64, as DAWs
  do (libsndfile alone would cap its header and readers would lose the rest).
Files of every kind are written through :mod:`soundstage.files`; this module
adds audio on top:

- **Atomic.** A temporary file is written beside the target (same folder, so
  the rename cannot cross a file system) and renamed onto it only when complete.
  On any failure (an exception, a full disk, Ctrl-C, and SIGTERM/SIGHUP once the
  command line has turned them into exceptions with :func:`signals_as_exceptions`)
  the temporary is removed and nothing appears under the final name. After a
  SIGKILL the final name is still untouched: only a hidden ``.*.partial*`` file
  can be left, which the command line's watcher removes once a plugin is loaded
  (:mod:`soundstage.crashes`).
- **Permissions.** The file gets the mode of the file it replaces, else
  ``0o666`` less the umask, as ``open()`` would give it (``mkstemp`` alone gives
  ``0o600``).
- **Exact dither.** Integer files are quantized here, with TPDF dither of
  +-1 LSB on the ``2**(bits-1)`` grid, and the integers are written as they are
  (``soundfile``/libsndfile: an int32 sample ``q << (32 - bits)`` is stored as
  ``q``). pedalboard's integer writer scales positive samples by
  ``2**(bits-1) - 1`` and negative ones by ``2**(bits-1)``, which re-rounds every
  dithered positive sample; writing integers ourselves avoids that.
- **Placed on the timeline.** A WAV gets the ``bext`` chunk it is given (a
  BWF TimeReference), a FLAC the Vorbis comments (``TIME_REFERENCE``), put in
  when the file is finished: the place a DAW gives it.
- **Measured as written.** Loudness (BS.1770) and true peak are metered on the
  samples that are in the file (after gain, dither and clipping to the integer
  range), so a report never states a peak the file does not hold.

What is done to a file once its samples are written (chunks and comments put in, RF64 made
plain WAV, a file cut back) is :mod:`soundstage.finishing`.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import soundfile

from soundstage import containers, stalls
from soundstage.analysis.loudness import LoudnessMeter, SpectrumMeter, TruePeakMeter
from soundstage.errors import OutputError
from soundstage.files import (
    amount,
    appeared_message,
    drive_of,
    fat_drive,
    file_mode,
    free_space,
    library_path,
    name_refused,
    new_temporary,
    publish,
    room_left,
    set_mode,
)
from soundstage.finishing import (
    add_flac_comments,
    bext_body,
    bext_time_reference,
    clear_peak_timestamp,
    cut_aiff,
    cut_wav,
    insert_wav_chunks,
    rf64_as_wav,
    wav_chunk,
)

__all__ = [
    "AUDIO_FORMATS",
    "AudioSink",
    "AudioTarget",
    "add_flac_comments",
    "audio_target",
    "bext_body",
    "bext_time_reference",
    "clear_peak_timestamp",
    "default_bit_depth",
    "insert_wav_chunks",
    "rf64_as_wav",
    "tpdf_quantize",
    "wav_chunk",
    "write_failure",
    "MAX_CHANNELS",
    "METERING_QUEUE",
    "RATE_RANGE",
]


resource: ModuleType | None
try:
    import resource
except ImportError:  # Windows has no ulimit
    resource = None


#: File suffix -> libsndfile major format.
#: A Broadcast Wave file is a WAV (EBU Tech 3285), whichever of its names a recorder or DAW gives it.
AUDIO_FORMATS = {".wav": "WAV", ".wave": "WAV", ".bwf": "WAV", ".aif": "AIFF", ".aiff": "AIFF", ".aifc": "AIFF", ".flac": "FLAC"}
#: The most channels each format holds (FLAC: 8; libsndfile: 1024 for the others).
MAX_CHANNELS = {"WAV": 1024, "AIFF": 1024, "FLAC": 8}
#: The sample rates each format holds, in Hz (FLAC's STREAMINFO field is 20 bits).
RATE_RANGE = {"WAV": (1, 2**31 - 1), "AIFF": (1, 2**31 - 1), "FLAC": (1, 655_350)}
_SUBTYPES = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}
_HEADER_ROOM = 1024  # bytes for a WAV's or AIFF's header chunks, beside its audio
_FOUR_GIB_LESS_HEADERS = 2**32 - 1 - _HEADER_ROOM  # RIFF and AIFF sizes are 32-bit


#: Blocks a sink's meters may have in flight before a write waits for them.
METERING_QUEUE = 4


@dataclass(frozen=True)
class AudioTarget:
    """An audio file to write, checked: format, channels, bit depth and rate all fit.

    ``bit_depth`` is 16 or 24 (integer PCM) or 32 (IEEE float).
    """

    path: Path
    channels: int
    sample_rate: int
    bit_depth: int
    file_format: str
    open_ended: bool = False  # the length is not known before writing (a live recording)

    @property
    def subtype(self) -> str:
        """The libsndfile subtype: ``PCM_16``, ``PCM_24`` or ``FLOAT``."""
        return _SUBTYPES[self.bit_depth]


def default_bit_depth(path: Path) -> int:
    """32-bit float for WAV/AIFF, 24 for FLAC (which has no float)."""
    return 24 if AUDIO_FORMATS.get(path.suffix.lower()) == "FLAC" else 32


def audio_target(
    path: str | os.PathLike[str],
    *,
    channels: int,
    sample_rate: float,
    bit_depth: int | None = None,
    frames: int | None = None,
) -> AudioTarget:
    """Check that ``path``'s format can hold this audio, before any work starts.

    Parameters
    ----------
    path : path-like
        ``.wav``, ``.aif``/``.aiff`` or ``.flac``.
    channels : int
        Channel count, >= 1.
    sample_rate : float
        A whole number of Hz within the format's range.
    bit_depth : int, optional
        16 or 24 (integer, TPDF-dithered) or 32 (float; WAV/AIFF only). Default:
        32 for WAV/AIFF, 24 for FLAC.
    frames : int, optional
        The length, if known. A WAV over 4 GiB (RIFF sizes are 32-bit) is written as RF64 (EBU Tech 3306, what DAWs
        write past 4 GiB); one of unknown length is written as RF64 that becomes a plain WAV where it ends under 4 GiB.
        An AIFF over 4 GiB is refused.

    Raises
    ------
    OutputError
        Naming the file, the value and what the format allows.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in AUDIO_FORMATS:
        raise OutputError(f"output {str(file)!r}: unsupported format {suffix or '(no suffix)'}; use .wav, .aiff or .flac")
    kind = AUDIO_FORMATS[suffix]
    depth = default_bit_depth(file) if bit_depth is None else bit_depth
    if kind == "FLAC" and depth not in (16, 24):
        raise OutputError(f"output {str(file)!r}: FLAC holds 16 or 24-bit integers, not {depth}; use bit_depth 16 or 24, or .wav")
    if depth not in _SUBTYPES:
        raise OutputError(f"output {str(file)!r}: bit depth {depth!r} is not available; use 16, 24 or 32 (float)")
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or not 1 <= channels <= MAX_CHANNELS[kind]:
        advice = "; write .wav, or route to 8 channels or fewer" if kind == "FLAC" else ""
        raise OutputError(f"output {str(file)!r}: {channels} channels; {kind} holds 1..{MAX_CHANNELS[kind]}{advice}")
    low, high = RATE_RANGE[kind]
    if not np.isfinite(sample_rate) or float(sample_rate) != round(sample_rate) or not low <= sample_rate <= high:
        raise OutputError(f"output {str(file)!r}: sample rate {sample_rate!r} Hz; {kind} holds whole rates {low}..{high} Hz")
    data_bytes = (frames or 0) * channels * depth // 8
    over, size = data_bytes > _FOUR_GIB_LESS_HEADERS, amount(data_bytes)
    if over and kind != "FLAC" and (drive := fat_drive(file.parent)) is not None:
        raise OutputError(
            f"output {str(file)!r} would hold {size}; the drive at {drive!r} is formatted FAT (USB sticks and "
            "cards often are), whose files hold at most 4 GiB: write it to another drive (one formatted exFAT, NTFS, "
            "APFS or ext4), or as .flac (lossless, commonly half the size)"
        )
    if kind == "AIFF" and over:
        raise OutputError(
            f"output {str(file)!r} would hold {size}; an AIFF file holds at most 4 GiB: write .wav (RF64 past 4 GiB) or .flac"
        )
    free = room_left(file.parent) if frames is not None and kind != "FLAC" else None  # a FLAC's size is not known
    if free is not None and data_bytes > free:
        where = drive_of(file.parent)
        raise OutputError(
            f"output {str(file)!r} would hold {size}; the drive{f' at {where[0]!r}' if where else ''} has "
            f"{amount(free)} free: make room on it, or write it to another drive"
        )
    limit = _file_size_limit() if frames is not None and kind != "FLAC" else None
    if limit is not None and data_bytes + _HEADER_ROOM > limit:
        raise OutputError(
            f"output {str(file)!r} would hold {size}; the shell lets a file grow to {amount(limit)} "
            f"(ulimit -f {limit // 1024}): raise the limit (ulimit -f unlimited) and run again"
        )
    if kind == "WAV" and (over or frames is None):
        kind = "RF64"  # past 4 GiB, or of a length not known yet (then a plain WAV where it ends under: AudioSink.close)
    if not soundfile.check_format(kind, _SUBTYPES[depth]):  # pragma: no cover - a libsndfile without FLAC
        raise OutputError(f"output {str(file)!r}: this libsndfile cannot write {kind} {_SUBTYPES[depth]}")
    return AudioTarget(file, int(channels), int(round(sample_rate)), depth, kind, open_ended=frames is None)


def tpdf_quantize(block: np.ndarray, bit_depth: int, rng: np.random.Generator) -> np.ndarray:
    """Integers on the ``2**(bit_depth-1)`` grid with TPDF dither, clipped to the format's range.

    .. math:: q = \\mathrm{clip}\\big(\\lfloor x\\,2^{b-1} + u_1 - u_2 + \\tfrac12 \\rfloor,\\; -2^{b-1},\\; 2^{b-1}-1\\big),
              \\quad u_1, u_2 \\sim U[0, 1)

    The error ``q - x 2**(b-1)`` has zero mean and lies within +-1.5 LSB
    (the clip at the top of the scale takes at most 1 LSB off +1.0 FS).

    Returns
    -------
    numpy.ndarray
        ``int32``, the same shape as ``block``.
    """
    scale = float(2 ** (bit_depth - 1))
    # u1 and u2 drawn in float32 (steps of 2**-24 LSB; half the cost of float64 draws), the sum in float64
    noise = rng.random(block.shape, dtype=np.float32)
    noise -= rng.random(block.shape, dtype=np.float32)
    quantized = np.multiply(block, scale, dtype=np.float64)
    quantized += noise
    quantized += 0.5
    np.floor(quantized, out=quantized)
    np.clip(quantized, -scale, scale - 1, out=quantized)
    return quantized.astype(np.int32)


class AudioSink:
    """Write one checked :class:`AudioTarget` block by block, atomically, metering what is written.

    Use as a context manager: the file appears under its name when the block
    ends without an error (or at :meth:`commit`, with ``commit=False``), never
    before. ``gain`` multiplies every sample before quantization. With
    ``replace=False`` a file that appeared under the name while this one was
    written (another program made it) is kept, and the commit raises
    :class:`OutputError`. ``chunks`` (id, body) go into a WAV before its audio
    data when it is finished (an input's BWF ``bext``: :func:`insert_wav_chunks`); ``comments`` (name, value) go
    into a FLAC's Vorbis comments (``TIME_REFERENCE``: :func:`add_flac_comments`).

    Attributes
    ----------
    frames : int
        Samples per channel written so far.
    loudness : LoudnessMeter
        Integrated loudness of the file's samples.
    peak : TruePeakMeter
        True peak of the file's samples (``peak.flush()`` is called at close).
    clipped : int
        Samples (over all channels) past full scale, ``|x| > 1.0``: an integer file clipped them to its range; a
        float file keeps them, and they clip on any fixed-point playback.
    signal_peak : float
        The largest magnitude given to :meth:`write` (after ``gain``), before any clipping: 1.0 is full scale.
    """

    def __init__(
        self,
        target: AudioTarget,
        *,
        seed: int = 0,
        gain: float = 1.0,
        commit: bool = True,
        replace: bool = True,
        chunks: Sequence[tuple[bytes, bytes]] = (),
        comments: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.target = target
        self.chunks = tuple(chunks)
        self.comments = tuple(comments)
        self.replace = replace
        self.gain = float(gain)
        self.frames = 0
        self.clipped = 0
        self.signal_peak = 0.0
        self.loudness = LoudnessMeter(target.sample_rate, target.channels)
        self.peak = TruePeakMeter(target.channels)
        self.spectrum = SpectrumMeter(target.sample_rate, target.channels)
        self._rng = np.random.default_rng(seed)
        self._auto_commit = commit
        self._scale = float(2 ** (target.bit_depth - 1))
        self._temporary: Path | None = None
        self._file: soundfile.SoundFile | None = None
        # the meters run on a thread of their own, in order, while the caller makes the next block
        self._metering: ThreadPoolExecutor | None = None
        self._metered: collections.deque[Future[None]] = collections.deque()

    def _not_finite(self, data: np.ndarray) -> str:
        """Why a block holding inf or NaN is not written (the caller discards what is written so far)."""
        channel, sample = (int(i) for i in np.argwhere(~np.isfinite(data))[0])
        at = self.frames + sample
        return (
            f"{str(self.target.path)!r}: not written: the output holds {data[channel, sample]} at channel {channel}, "
            f"{at / self.target.sample_rate:.3f} s (sample {at}); a stage ran unstable or a plugin misbehaved there "
            "(a feedback at its top, a filter at an extreme setting): check the chain's settings"
        )

    def _meter(self, written: np.ndarray) -> None:
        self.loudness.add(written)
        self.peak.add(written)
        self.spectrum.add(written)

    def _finish_metering(self) -> None:
        """Wait for the meters (they are complete after :meth:`close`); a meter's error is raised here."""
        if self._metering is not None:
            self._metering.shutdown(wait=True)
            self._metering = None
        while self._metered:
            self._metered.popleft().result()

    def __enter__(self) -> AudioSink:
        return self.open()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: object) -> None:
        if kind is None:
            self.close()
            if self._auto_commit:
                self.commit()
        else:
            self.discard()

    def open(self) -> AudioSink:
        """Create the temporary file (``.NAME.XXXXXXXX.partial`` beside the target)."""
        try:
            self._temporary = new_temporary(self.target.path)
            self._file = soundfile.SoundFile(
                library_path(self._temporary),
                "w",
                samplerate=self.target.sample_rate,
                channels=self.target.channels,
                subtype=self.target.subtype,
                format=self.target.file_format,
            )
        except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
            # before the temporary goes: a full disk is seen full, a file's size limit reached
            failure = write_failure(self.target.path, error, self._temporary)
            self.discard()
            raise failure from None
        return self

    def write(self, block: np.ndarray) -> None:
        """Append ``(channels, n)`` float samples (full scale = 1.0)."""
        if self._file is None:
            raise OutputError(f"{str(self.target.path)!r} is not open for writing")
        data = np.asarray(block, np.float64)
        if data.ndim != 2 or data.shape[0] != self.target.channels:
            raise OutputError(
                f"{str(self.target.path)!r} holds {self.target.channels} channel(s); got a block of shape {data.shape}"
            )
        if not data.shape[1]:
            return
        if self.gain != 1.0:
            data = data * self.gain
        magnitude = np.abs(data)
        peak = float(magnitude.max())
        if not np.isfinite(peak):
            raise OutputError(self._not_finite(data))
        self.signal_peak = max(self.signal_peak, peak)
        self.clipped += int(np.count_nonzero(magnitude > 1.0))  # past full scale (+1.0 itself loses at most 1 LSB)
        if self.target.bit_depth == 32:
            samples: np.ndarray = data.astype(np.float32)
            written = samples.astype(np.float64)
        else:
            integers = tpdf_quantize(data, self.target.bit_depth, self._rng)
            samples = integers << (32 - self.target.bit_depth)
            written = integers / self._scale
        try:
            self._file.write(np.ascontiguousarray(samples.T))
        except (OSError, RuntimeError, AssertionError, soundfile.LibsndfileError) as error:  # short write: assert in soundfile
            raise write_failure(self.target.path, error, self._temporary) from None
        if self._metering is None:
            self._metering = ThreadPoolExecutor(1, thread_name_prefix="soundstage-meter")
        while len(self._metered) >= METERING_QUEUE:  # the meters keep up: a few blocks in flight at most
            self._metered.popleft().result()
        self._metered.append(self._metering.submit(self._meter, written))
        self.frames += data.shape[1]

    def close(self) -> None:
        """Finish the temporary file (flushes; raises OutputError on a full disk) and the meters."""
        self._finish_metering()
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
                if self._temporary is not None:
                    clear_peak_timestamp(self._temporary)
                    if self.target.open_ended:  # RF64 only where it grew past 4 GiB
                        rf64_as_wav(self._temporary)
                    if self.chunks:
                        insert_wav_chunks(self._temporary, self.chunks, in_place=True)  # no room for a copy needed
                    if self.comments:
                        add_flac_comments(self._temporary, self.comments)
            except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
                # before the temporary goes: a full disk is seen full, a file's size limit reached
                failure = write_failure(self.target.path, error, self._temporary)
                self.discard()
                raise failure from None
            self.peak.flush()

    def end_at_written(self) -> bool:
        """After a write that failed (a drive that filled, a limit on a file's size), end the file at the frames
        written before it, so that :meth:`commit` keeps them: a live take up to where the drive filled. The temporary
        is closed, cut after those frames (a FLAC after its last whole frame: its encoder holds the last few thousand
        samples until a frame is full), and its sizes made theirs; whether it could be."""
        if self._temporary is None:
            return False
        with contextlib.suppress(Exception):
            self._finish_metering()
        if self._file is not None:
            file, self._file = self._file, None
            with contextlib.suppress(Exception):  # its header is written in place: it may close on a full drive
                file.close()
        frame_bytes = self.target.channels * self.target.bit_depth // 8
        try:
            if self.target.file_format == "AIFF":
                kept = cut_aiff(self._temporary, self.frames, frame_bytes)
            elif self.target.file_format == "FLAC":
                kept = containers.flac_end_at_whole_frames(self._temporary)
            else:
                kept = cut_wav(self._temporary, self.frames, frame_bytes)
                if kept is not None:
                    rf64_as_wav(self._temporary)
                    clear_peak_timestamp(self._temporary)
            if kept is None:
                return False
            self.frames = kept
        except OSError:
            return False
        with contextlib.suppress(Exception):
            self.peak.flush()
        return True

    def commit(self) -> Path:
        """Give the finished file its mode and move it onto the target name."""
        if self._file is not None:
            self.close()
        if self._temporary is None:
            raise OutputError(f"{str(self.target.path)!r} was not written")
        try:
            set_mode(self._temporary, file_mode(self.target.path))
            publish(self._temporary, self.target.path, replace=self.replace)
        except FileExistsError:
            self.discard()
            raise OutputError(appeared_message(self.target.path)) from None
        except OSError as error:
            self.discard()
            raise OutputError(f"cannot write {str(self.target.path)!r}: {error.strerror or error}") from None
        stalls.discard_temporary(self._temporary)
        self._temporary = None
        return self.target.path

    def discard(self) -> None:
        """Remove the temporary file; the target is left as it was."""
        with contextlib.suppress(Exception):
            self._finish_metering()
        if self._file is not None:
            file, self._file = self._file, None
            with contextlib.suppress(Exception):
                file.close()
        if self._temporary is not None:
            self._temporary.unlink(missing_ok=True)
            stalls.discard_temporary(self._temporary)
            self._temporary = None


def write_failure(path: Path, error: BaseException, written: Path | None = None) -> OutputError:
    """The error to raise where writing ``path`` (through the file ``written``, its temporary, where given) failed
    with ``error``; asked while the file is still there: a full disk is recognized by the space left, a limit on a
    file's size by the file having grown to it."""
    refused = name_refused(path, error) if isinstance(error, OSError) else None
    return OutputError(f"cannot write {str(path)!r}: {refused or _reason(error, path.parent, written)}")


#: How near a limit on a file's size the file must have grown for a bare "System error." to be put down to it: a
#: failed write leaves the file at the limit, or short of it by what the writer held back (a few FLAC frames).
_NEAR_LIMIT = 8 << 20


def _reason(error: BaseException, folder: Path | None = None, written: Path | None = None) -> str:
    """The first line of an error; libsndfile's bare "System error." gets the cause when the disk is full, or when
    the shell limits the size of a file (``ulimit -f``: a write past it fails with EFBIG, which libsndfile does not
    pass on) and ``written`` has grown to that limit (a file far short of it failed for another reason: a drive
    removed, an I/O error)."""
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    first = str(text).strip().splitlines()
    line = first[0] if first else type(error).__name__
    bare = line.rstrip(".") == "System error"
    free = free_space(folder) if folder is not None and bare else None
    if free is not None and free < 1 << 16:
        return f"{line} No space left on the device ({free} bytes free)"
    limit = _file_size_limit()
    grown = _size(written) if written is not None and bare else None
    near = grown is None or grown + _NEAR_LIMIT >= (limit or 0)
    if limit is not None and ((bare and near) or getattr(error, "errno", None) == errno.EFBIG):
        return (
            f"{line} The shell lets a file grow to {limit} bytes (ulimit -f {limit // 1024}); "
            "raise the limit (ulimit -f unlimited) and run again"
        )
    return line


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _file_size_limit() -> int | None:
    """The largest file this process may write (``ulimit -f``, in bytes), or None where there is no such limit."""
    if resource is None:
        return None
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if soft == resource.RLIM_INFINITY else int(soft)
