"""A render's files: planned and checked before any audio runs (names, formats, room on the drive, the time stamp),
written to temporaries, an A/B pair matched in loudness under its ceiling, then renamed into place together."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

from soundstage import crashes, stalls
from soundstage.analysis.loudness import LoudnessMeter, TruePeakMeter
from soundstage.errors import OutputError, SoundstageError
from soundstage.fileio import RingMeter
from soundstage.files import amount, appeared_message, library_path, new_temporary, output_name, room_left, why_not_made
from soundstage.host.chain import Chain
from soundstage.session.bwf import bext_body
from soundstage.session.model import Render, Session
from soundstage.session.page import PAGE_NAME
from soundstage.session.stems import StemInfo
from soundstage.sinks import AudioSink, AudioTarget, audio_target, write_failure

__all__ = [
    "Output",
    "failure_reason",
    "REPORT_NAME",
    "OutputPlan",
    "output_folder",
    "plan_outputs",
    "open_outputs",
    "match_ab",
    "CEILING_MARGIN_DB",
    "commit",
    "finalize",
]


@dataclass
class Output:
    """One file of a render.

    Most outputs are written straight into their file through the output layer
    (``sink``) as the render streams. An A/B side cannot be: its gain is known
    only at the end, so it goes to a float ``first_pass`` file first, is metered
    there, and is written through the output layer by :func:`finalize`.
    """

    target: AudioTarget
    render: str
    role: str = ""
    first_pass: Path | None = None
    writer: soundfile.SoundFile | None = None
    loudness: LoudnessMeter | None = None
    peak: TruePeakMeter | None = None
    frames: int = 0
    gain: float = 1.0
    sink: AudioSink | None = None
    #: Replace a file that is at the target when it is committed (``--overwrite``); else one that appeared is kept.
    replace: bool = True
    #: RIFF chunks the finished WAV gets before its audio (a BWF ``bext`` placing it on the stems' timeline).
    chunks: tuple[tuple[bytes, bytes], ...] = ()
    #: Vorbis comments the finished FLAC gets (its ``TIME_REFERENCE``, as the WAV's ``bext``).
    comments: tuple[tuple[str, str], ...] = ()
    #: Samples the file holds (the timeline's); what the render gives past them is heard by ``ring``, not written.
    end: int = field(kw_only=True)
    ring: RingMeter | None = None

    @property
    def channels(self) -> int:
        return self.target.channels

    def open(self, seed: int) -> None:
        """Open the file (an A/B side: a hidden 32-bit float W64 first pass, no 4 GiB limit, in the output folder)."""
        if not self.role:
            self.sink = AudioSink(
                self.target, seed=seed, commit=False, replace=self.replace, chunks=self.chunks, comments=self.comments
            ).open()
            return
        self.first_pass = new_temporary(self.target.path, ".partial.w64")
        self.writer = soundfile.SoundFile(
            library_path(self.first_pass),
            "w",
            samplerate=self.target.sample_rate,
            channels=self.channels,
            subtype="FLOAT",
            format="W64",
        )
        self.loudness = LoudnessMeter(self.target.sample_rate, self.channels)
        self.peak = TruePeakMeter(self.channels)

    @property
    def listening(self) -> bool:
        """Whether the render is still to go on for this file: short of its end, or heard ringing past it."""
        return self.frames < self.end or (self.ring is not None and self.ring.listening)

    @property
    def room(self) -> int:
        """How many more samples the file takes."""
        return max(self.end - self.frames, 0)

    def write(self, block: np.ndarray) -> None:
        """Append the render's next samples: up to :attr:`end` to the file, those past it to :attr:`ring`."""
        room = self.room
        piece, after = block[:, :room], block[:, room:]
        if piece.shape[1] and self.sink is not None:
            self.sink.write(piece)
        elif piece.shape[1]:
            assert self.writer is not None and self.loudness is not None and self.peak is not None
            try:
                self.writer.write(np.ascontiguousarray(piece.T))
            except (OSError, RuntimeError, AssertionError, soundfile.LibsndfileError) as error:
                raise write_failure(self.target.path, error) from None
            self.loudness.add(piece)
            self.peak.add(piece)
        self.frames += piece.shape[1]
        if after.shape[1] and self.ring is not None:
            peak = self.sink.signal_peak if self.sink is not None else self.peak.sample_peak if self.peak else 0.0
            self.ring.hear(after, peak)

    def finish_first_pass(self) -> None:
        if self.sink is not None:
            self.sink.close()
        if self.writer is not None:
            writer, self.writer = self.writer, None
            try:
                writer.close()
            except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
                raise write_failure(self.target.path, error) from None
        if self.peak is not None:
            self.peak.flush()

    def discard(self) -> None:
        """Remove every temporary of this output; its target is left as it was."""
        if self.writer is not None:
            writer, self.writer = self.writer, None
            with contextlib.suppress(Exception):
                writer.close()
        if self.first_pass is not None:
            self.first_pass.unlink(missing_ok=True)
            stalls.discard_temporary(self.first_pass)
        if self.sink is not None:
            self.sink.discard()


def _file_name(render: Render, suffix: str = "") -> str:
    extension = {"wav": ".wav", "flac": ".flac", "aiff": ".aiff"}[render.file_format]
    return f"{render.name}{suffix}{extension}"


def failure_reason(error: BaseException) -> str:
    """One line for a render that failed: the error's message, or its type and first line for a bug."""
    text = str(error).strip().splitlines()
    line = text[0] if text else ""
    return line if isinstance(error, SoundstageError) else f"{type(error).__name__}: {line}"


#: The file every render writes beside its outputs.
REPORT_NAME = "render-report.json"


@dataclass
class OutputPlan:
    """The checked outputs of every render to run, and the renders refused before any work."""

    outputs: dict[str, list[Output]]
    failures: dict[str, str]
    #: Device renders: the loudness of their driver feeds summed to mono (the page's "drivers summed").
    summed: dict[str, LoudnessMeter] = field(default_factory=dict)

    def fail(self, render: str, error: BaseException) -> None:
        """Mark a render failed and remove what it has written so far."""
        self.failures.setdefault(render, failure_reason(error))
        for output in self.outputs.get(render, []):
            output.discard()


@contextlib.contextmanager
def output_folder(folder: Path) -> Iterator[None]:
    """The output folder, checked and made if missing; made here and left empty (the render failed before writing,
    or every render was refused), it is removed again: a render that wrote nothing leaves nothing."""
    made = not folder.exists()
    _prepare_folder(folder)
    if made:
        crashes.made_folder(folder)  # and where a plugin crashes the process
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if made and not any(folder.iterdir()):
                folder.rmdir()
        if made:
            crashes.made_folder(folder, made=False)


def _prepare_folder(folder: Path) -> None:
    if not folder.exists():
        parent = folder.resolve().parent
        if not parent.is_dir():
            what = "is a file, not a folder" if parent.exists() else "does not exist"
            raise OutputError(f"output folder {str(folder)!r}: its parent {str(parent)!r} {what}")
        try:
            folder.mkdir()
        except OSError as error:
            why = why_not_made(folder, error, "choose another -o")
            raise OutputError(f"output folder {str(folder)!r} cannot be created{why}") from None
    if not folder.is_dir():
        raise OutputError(f"output folder {str(folder)!r} is a file; choose another -o")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise OutputError(f"output folder {str(folder)!r} is not writable ({error.strerror}); choose another -o") from None


def _output_files(render: Render, chain: Chain | None) -> list[tuple[str, int, str]]:
    """``(file name, channels, role)`` of each file a render writes."""
    if render.kind == "ab":
        return [(_file_name(render, "-A"), 2, "A"), (_file_name(render, "-B"), 2, "B")]
    channels = 2 if chain is None else chain.output_channels_for(2)
    if render.per_driver and channels > 1:
        labels = getattr(chain[-1], "driver_names", None) if chain is not None and len(chain) else None
        labels = list(labels) if labels and len(labels) == channels else [str(i) for i in range(channels)]
        return [(_file_name(render, f"-{label}"), 1, "") for label in labels]
    return [(_file_name(render), channels, "")]


def _timeline_origin(stems: list[StemInfo], rate: float) -> int | None:
    """Where the session's zero is on the DAW's timeline (samples at ``rate`` since midnight) when a stem is placed by
    its time reference (BWF, FLAC or Ogg), else None: the earliest stamped stem starts at the session's zero."""
    for info in stems:
        if info.stem.offset_s is None and info.time_reference is not None:
            return round(info.time_reference / info.sample_rate * rate) - info.start
    return None


def _stamp(render: Render, origin: int) -> tuple[tuple[bytes, bytes], ...]:
    return ((b"bext", bext_body(origin, description=f"soundstage render {render.name}")),)


def plan_outputs(
    session: Session,
    stems: list[StemInfo],
    renders: list[Render],
    render_chains: dict[str, list[Chain | None]],
    folder: Path,
    overwrite: bool,
    rate: float,
    total: int,
) -> OutputPlan:
    """Check every output before any work: names inside the folder, no two renders on one file, formats."""
    owners: dict[str, str] = {REPORT_NAME.lower(): "the render report", PAGE_NAME.lower(): "the audition page"}
    files: dict[str, list[tuple[str, int, str]]] = {}
    for render in session.renders:  # all of them: renders made by separate --only calls must not collide either
        files[render.name] = _output_files(render, render_chains[render.name][0])
        for name, _, _ in files[render.name]:
            output_name(folder, name, what=f"{session.file}: render {render.name!r}: file")
            owner = owners.setdefault(name.lower(), f"render {render.name!r}")
            if owner != f"render {render.name!r}":
                raise OutputError(
                    f"{session.file}: render {render.name!r} would write {name!r}, which {owner} also writes; "
                    "rename one of the renders"
                )
    inputs = {info.path.resolve() for info in stems} | {session.file.resolve()}
    origin = _timeline_origin(stems, rate)
    plan = OutputPlan({}, {})
    for render in renders:
        outputs = []
        for name, channels, role in files[render.name]:
            target = folder / name
            if target.resolve() in inputs:
                raise OutputError(
                    f"render {render.name!r} would write {str(target)!r}, which is an input of the session; choose another -o"
                )
            try:
                if target.exists() and not overwrite:
                    raise OutputError(f"{str(target)!r} already exists; pass --overwrite to replace it")
                checked = audio_target(target, channels=channels, sample_rate=rate, bit_depth=render.bit_depth, frames=total)
            except OutputError as error:
                plan.failures[render.name] = str(error)
                break
            stamp = () if origin is None or checked.file_format not in ("WAV", "RF64") else _stamp(render, origin)
            comments = (("TIME_REFERENCE", str(origin)),) if origin is not None and checked.file_format == "FLAC" else ()
            outputs.append(
                Output(
                    checked,
                    render.name,
                    role,
                    replace=overwrite,
                    chunks=stamp,
                    comments=comments,
                    end=total,
                    ring=RingMeter(rate),
                )
            )
        else:
            plan.outputs[render.name] = outputs
            if render.kind == "device" and sum(output.channels for output in outputs) > 1:
                plan.summed[render.name] = LoudnessMeter(rate, 1)
    _check_room(plan, folder, total)
    return plan


def _check_room(plan: OutputPlan, folder: Path, total: int) -> None:
    """The renders' files, together, fit the drive (each alone was checked as its target was): the files written
    as the render streams, every A/B side's float first pass, and the largest A/B side being finished from its first
    pass. A FLAC's size is not known before it is written: it counts nothing."""
    planned = [output for outputs in plan.outputs.values() for output in outputs]

    def size(output: Output) -> int:
        target = output.target
        return 0 if target.file_format == "FLAC" else total * target.channels * target.bit_depth // 8

    streamed = sum(size(output) for output in planned if not output.role)
    first_passes = sum(total * output.channels * 4 for output in planned if output.role)
    needed = streamed + first_passes + max((size(output) for output in planned if output.role), default=0)
    free = room_left(folder)
    if free is not None and needed > free:
        raise OutputError(
            f"the renders would take {amount(needed)} in {str(folder)!r} as they are written; its drive has "
            f"{amount(free)} free: make room on it, render fewer at a time (--only NAME), or render to another drive "
            "(-o FOLDER)"
        )


def open_outputs(renders: list[Render], plan: OutputPlan, seed: int) -> None:
    """Open every output of the renders still planned; one that cannot be opened fails its render."""
    for index, (render, output) in enumerate((r, o) for r in renders for o in plan.outputs[r.name]):
        if render.name not in plan.failures:
            try:
                output.open(seed * 1000 + index)
            except OutputError as error:
                plan.fail(render.name, error)
            except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
                plan.fail(render.name, write_failure(output.target.path, error))


def match_ab(render: Render, pair: list[Output]) -> str:
    """Match an A/B pair by lowering the louder side; hold both under the render's true-peak ceiling.

    Returns the line the report gives about it.
    """
    a, b = pair
    assert a.loudness is not None and b.loudness is not None and a.peak is not None and b.peak is not None
    la, lb = a.loudness.integrated_lufs(), b.loudness.integrated_lufs()
    gains_db = [0.0, 0.0]
    if np.isfinite(la) and np.isfinite(lb):
        gains_db[0 if la > lb else 1] = -abs(la - lb)
    peaks = [a.peak.true_peak_dbtp, b.peak.true_peak_dbtp]
    ceiling = render.ceiling_dbtp - CEILING_MARGIN_DB
    matched = [peak + gain for peak, gain in zip(peaks, gains_db)]
    over = max(matched) - ceiling
    lines = []
    if max(peaks) > render.ceiling_dbtp:
        side = "A" if peaks[0] >= peaks[1] else "B"
        lines.append(
            f"the mix is over the ceiling: side {side} peaks at {max(peaks):+.2f} dBTP before matching "
            f"(ceiling {render.ceiling_dbtp:+.1f} dBTP); trim the mix by {max(peaks) - render.ceiling_dbtp:.2f} dB "
            "(e.g. a Gain at the end of the master chain)"
        )
    if over > 0:
        gains_db = [gain - over for gain in gains_db]
        lines.append(f"both sides lowered a further {over:.2f} dB to hold the {render.ceiling_dbtp:+.1f} dBTP ceiling")
    a.gain, b.gain = (float(10 ** (gain / 20)) for gain in gains_db)
    louder = "A" if gains_db[0] < gains_db[1] else "B"
    unmeasured = [side for side, level in (("A", la), ("B", lb)) if not np.isfinite(level)]
    if unmeasured:  # it was said to be "matched by lowering the louder side by 0.00 dB"
        lines.insert(
            0,
            f"not loudness-matched: {'side ' + unmeasured[0] + ' has' if len(unmeasured) == 1 else 'sides A and B have'} "
            "no integrated loudness (silent, under "
            "BS.1770's -70 LUFS gate, or shorter than its 0.4 s block)",
        )
    else:
        lines.insert(0, f"matched by lowering the louder side ({louder}) by {abs(gains_db[0] - gains_db[1]):.2f} dB")
    return "; ".join(lines)


#: Head room kept under an A/B ceiling for the dither of the integer file (24-bit: 1e-6 dB; 16-bit: 4e-4 dB).
CEILING_MARGIN_DB = 0.001


def commit(renders: list[Render], plan: OutputPlan) -> list[Path]:
    """Every finished render's files moved onto their names; the files written.

    A render one of whose files appeared while it was written (another program or
    run made it; without ``--overwrite``) fails whole, and that file is kept: found
    before any file of the render moves, or, if it appears between that check and
    its own move, with the render's files moved so far taken back (they are new
    files of this run: without ``--overwrite`` nothing was under their names).
    """
    for render in renders:
        if render.name in plan.failures:
            continue
        for output in plan.outputs[render.name]:
            if not output.replace and os.path.lexists(output.target.path):
                plan.fail(render.name, OutputError(appeared_message(output.target.path)))
                break
    written = []
    for render in renders:
        if render.name in plan.failures:
            continue
        moved: list[tuple[Path, bool]] = []  # (file, whether it replaced one: that one is gone, so this one stays)
        try:
            for output in plan.outputs[render.name]:
                if output.sink is not None:
                    moved.append((output.sink.commit(), output.replace))
        except OutputError as error:  # one that appeared between the check and its move: kept
            for path, replaced in moved:
                if not replaced:
                    path.unlink(missing_ok=True)
            moved = [(path, replaced) for path, replaced in moved if replaced]
            plan.fail(render.name, error)
        written += [path for path, _ in moved]
    return written


def finalize(renders: list[Render], plan: OutputPlan, seed: int) -> None:
    """Second pass of the A/B sides: float temporary -> matching gain -> dither -> the file, through the output layer."""
    index = 0
    for render in renders:
        if render.name in plan.failures:
            continue
        try:
            for output in plan.outputs[render.name]:
                index += 1
                if output.first_pass is None:  # written in the first pass
                    continue
                output.sink = AudioSink(
                    output.target,
                    seed=seed * 1000 + 500 + index,
                    gain=output.gain,
                    commit=False,
                    replace=output.replace,
                    chunks=output.chunks,
                    comments=output.comments,
                ).open()
                with soundfile.SoundFile(library_path(output.first_pass)) as reader:
                    for piece in reader.blocks(65536, dtype="float32", always_2d=True):
                        output.sink.write(piece.T)
                output.sink.close()
                output.first_pass.unlink()
                stalls.discard_temporary(output.first_pass)
                output.first_pass = None
        except Exception as error:  # a full disk on one render's files never stops the others
            plan.fail(render.name, error)
