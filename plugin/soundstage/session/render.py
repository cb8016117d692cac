"""The render engine: stems -> chains -> buses -> master -> renders, streamed from disk.

Every stage streams with soundstage's latency-compensated contract (outputs are
aligned to the timeline; a stream's first calls return fewer samples, ``flush``
returns the rest), so stems stay aligned whatever their chains' latencies.
Memory holds one block per stem and the chains' state, never the session.

Outputs are written to temporary files in the output folder and renamed into
place only when every render is complete; an error or Ctrl-C removes the
temporaries and leaves the folder as it was. Inputs are never opened for writing.

While the audio renders, numpy's and scipy's BLAS pools are held to one thread
(``threadpoolctl``; restored after): the stems' threads are the render's
parallelism, and a BLAS pool on top fights them for the cores and spins between
calls (on two cores it made a design-grid blend 24 times slower, 6.9 ms against
0.29 ms). The ``soundstage`` command does the same through the environment.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import wcwidth
from threadpoolctl import threadpool_limits

from soundstage import stalls
from soundstage.acoustics.hrtf import HeadChoice, HrtfError
from soundstage.analysis.device import device_stages, stages_device_figures
from soundstage.analysis.loudness import LoudnessMeter, TruePeakMeter, short_term_lufs
from soundstage.engine import ChainStream
from soundstage.errors import ChainError, ChainFileError, ChannelError, OutputError, SoundstageError
from soundstage.fileio import bed_problem, first_downmix, missing_words
from soundstage.files import amount, appeared_message, library_path, on_disk, output_name, room_left, why_not_made, write_text
from soundstage.headtrack import read_head_track
from soundstage.host.automation import late_automation
from soundstage.host.chain import Chain, ChainTap
from soundstage.host.chainfile import NoHeadStageError, chain_to_dict, head_setting, load_chain
from soundstage.host.parameters import Parameter
from soundstage.host.routing import external_plugins
from soundstage.midi import automation_events, load_map
from soundstage.session.bwf import bext_body
from soundstage.session.model import Bus, Render, Session, SessionError, Stem, chain_path, load_session
from soundstage.session.page import PAGE_NAME, write_page
from soundstage.session.stems import StemInfo, StemReader, inspect_stems, timeline_frames
from soundstage.sinks import AudioSink, AudioTarget, audio_target, write_failure
from soundstage.stages.device import Spatializer
from soundstage.stages.monitors import BinauralMonitor

#: The most threads the stems' chains run on (at most one per core).
STEM_THREADS = 4

__all__ = ["check_chains", "render_session", "render_summary", "RenderResult", "SessionParameters", "REPORT_NAME"]


class SessionParameters:
    """Every chain of a session as one parameter tree, for MIDI maps and automation.

    Paths: ``stems.NAME.PATH``, ``buses.NAME.PATH``, ``master.PATH``,
    ``renders.NAME.PATH`` (an ab render: ``renders.NAME.a.PATH``, ``renders.NAME.b.PATH``),
    where ``PATH`` is the parameter path inside that chain.
    """

    def __init__(self, chains: dict[str, Chain]) -> None:
        self.chains = chains  # prefix -> chain

    @property
    def parameters(self) -> dict[str, Parameter]:
        """Every parameter by session path."""
        return {f"{prefix}.{path}": p for prefix, chain in self.chains.items() for path, p in chain.parameters.items()}

    def canonical_path(self, path: str) -> str:
        """A path with node indices inside its chain replaced by names."""
        for prefix, chain in self.chains.items():
            if path.startswith(prefix + "."):
                return f"{prefix}.{chain.canonical_path(path[len(prefix) + 1 :])}"
        return path

    def split(self, path: str) -> tuple[str, str]:
        """``(prefix, path inside the chain)`` of a canonical session path."""
        for prefix in sorted(self.chains, key=len, reverse=True):
            if path.startswith(prefix + "."):
                return prefix, path[len(prefix) + 1 :]
        raise KeyError(path)


@dataclass
class _Output:
    """One file of a render.

    Most outputs are written straight into their file through the output layer
    (``sink``) as the render streams. An A/B side cannot be: its gain is known
    only at the end, so it goes to a float ``first_pass`` file first, is metered
    there, and is written through the output layer by :func:`_finalize`.
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

    @property
    def channels(self) -> int:
        return self.target.channels

    def open(self, folder: Path, seed: int) -> None:
        """Open the file (an A/B side: a hidden 32-bit float W64 first pass, no 4 GiB limit, in the output folder)."""
        if not self.role:
            self.sink = AudioSink(
                self.target, seed=seed, commit=False, replace=self.replace, chunks=self.chunks, comments=self.comments
            ).open()
            return
        handle, name = tempfile.mkstemp(prefix=f".{self.target.path.name}.", suffix=".partial.w64", dir=folder)
        os.close(handle)
        self.first_pass = Path(name)
        stalls.add_temporary(self.first_pass)
        self.writer = soundfile.SoundFile(
            library_path(name), "w", samplerate=self.target.sample_rate, channels=self.channels, subtype="FLOAT", format="W64"
        )
        self.loudness = LoudnessMeter(self.target.sample_rate, self.channels)
        self.peak = TruePeakMeter(self.channels)

    def write(self, piece: np.ndarray) -> None:
        if self.sink is not None:
            self.sink.write(piece)
        else:
            assert self.writer is not None and self.loudness is not None and self.peak is not None
            try:
                self.writer.write(np.ascontiguousarray(piece.T))
            except (OSError, RuntimeError, AssertionError, soundfile.LibsndfileError) as error:
                raise write_failure(self.target.path, error) from None
            self.loudness.add(piece)
            self.peak.add(piece)
        self.frames += piece.shape[1]

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


@dataclass
class _Graph:
    """What a render runs: the session's chains, the renders wanted, the automation per chain."""

    session: Session
    rate: float
    stems: list[StemInfo]
    stem_chains: dict[str, Chain | None]
    bus_chains: dict[str, Chain | None]
    master: Chain | None
    renders: list[Render]
    render_chains: dict[str, list[Chain | None]]
    #: The timeline's length in samples at ``rate`` (:func:`~soundstage.session.stems.timeline_frames`).
    frames: int
    events: dict[str, list[tuple[int, str, Any]]] = field(default_factory=dict)
    automation_count: int = 0

    def stream(self, prefix: str, chain: Chain | None) -> ChainStream | None:
        """A stream for a chain, with its automation."""
        return ChainStream(chain, self.rate, self.events.get(prefix, [])) if chain is not None else None

    def tree(self) -> SessionParameters:
        """The session's parameter tree (every chain loaded, selected renders or not)."""
        chains: dict[str, Chain] = {}
        for name, chain in self.stem_chains.items():
            if chain is not None:
                chains[f"stems.{name}"] = chain
        for name, chain in self.bus_chains.items():
            if chain is not None:
                chains[f"buses.{name}"] = chain
        if self.master is not None:
            chains["master"] = self.master
        for name, pair in self.render_chains.items():
            labels = ["a", "b"] if len(pair) == 2 else [""]
            for label, chain in zip(labels, pair):
                if chain is not None:
                    chains[f"renders.{name}.{label}" if label else f"renders.{name}"] = chain
        return SessionParameters(chains)


@dataclass
class RenderResult:
    """What a render produced: files and the report."""

    outputs: list[Path]
    report: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # render name -> one-line reason


def _resolve_chain(session: Session, name: str, *, head: str | list[str] | None = None, where: str = "") -> Chain:
    """The chain ``name`` names (a file from the session's folder, or a preset), on ``head`` if one is given (a
    render's chain on the session's ``hrtf``: :func:`_session_head`; ``where`` is the session's key that names it)."""
    try:
        return load_chain(chain_path(session.folder, name), hrtf=head)
    except SessionError:
        raise
    except NoHeadStageError:
        raise SessionError(
            f"{session.file}: {where}: chain {name!r} has no stage that takes a head, so hrtf = "
            f"{list(session.hrtf)!r} would change nothing; give it a chain with a Spatializer, monitor or reference"
        ) from None
    except ChainFileError as error:  # not there, or not a chain: named by the session's key that names it
        raise SessionError(f"{session.file}: {where}: {error}") from None
    except Exception as error:
        if isinstance(error, (OSError,)):
            raise SessionError(f"{session.file}: chain {name!r}: {error}") from None
        raise


def _session_head(session: Session, key: str = "hrtf") -> str | list[str] | None:
    """The session's ``hrtf`` as a stage setting (files from the session's folder), its files read and checked
    once here, so a missing or damaged one is named by ``key`` (the session's, or where a head given for the
    render came from); None without one."""
    if not session.hrtf:
        return None
    head = head_setting(session.hrtf, base=session.folder)
    try:
        HeadChoice(head)
    except HrtfError as error:
        raise SessionError(f"{session.file}: {key}: {error}") from None
    return head


def _file_name(render: Render, suffix: str = "") -> str:
    extension = {"wav": ".wav", "flac": ".flac", "aiff": ".aiff"}[render.file_format]
    return f"{render.name}{suffix}{extension}"


def _reason(error: BaseException) -> str:
    """One line for a render that failed: the error's message, or its type and first line for a bug."""
    text = str(error).strip().splitlines()
    line = text[0] if text else ""
    return line if isinstance(error, SoundstageError) else f"{type(error).__name__}: {line}"


def _stem_chains(session: Session, stems: list[StemInfo]) -> dict[str, Chain | None]:
    """Each stem's chain (None: none), checked to take the stem and give mono or stereo."""
    keys = {stem.name: f"stems[{index}].chain" for index, stem in enumerate(session.stems)}
    chains = {
        info.stem.name: (_resolve_chain(session, info.stem.chain, where=keys[info.stem.name]) if info.stem.chain else None)
        for info in stems
    }
    for info in stems:
        chain = chains[info.stem.name]
        downmix = first_downmix(chain) if chain is not None else None
        problem = bed_problem(info.path, info.channels, downmix) if downmix is not None else None
        if problem is not None:
            raise ChannelError(f"{session.file}: stem {info.stem.name!r} ({str(info.path)!r}): {problem}")
        try:
            channels = chain.output_channels_for(info.channels) if chain is not None else info.channels
        except ChannelError as error:
            raise ChannelError(f"{session.file}: stem {info.stem.name!r} ({info.channels} channels): {error}") from None
        if channels > 2:
            raise ChannelError(
                f"{session.file}: stem {info.stem.name!r} comes out with {channels} channels; a stem enters the mix as mono or "
                "stereo: end its chain with Route(channels=[0, 1]) (or give it a chain that folds down)"
            )
    return chains


def _mix_chains(session: Session) -> tuple[dict[str, Chain | None], Chain | None]:
    """The buses' chains and the master's."""
    buses = {
        bus.name: (_resolve_chain(session, bus.chain, where=f"buses[{index}].chain") if bus.chain else None)
        for index, bus in enumerate(session.buses)
    }
    return buses, (_resolve_chain(session, session.master_chain, where="master.chain") if session.master_chain else None)


def check_chains(session: Session, stems: list[StemInfo], rate: float) -> tuple[int, int]:
    """Every chain the session names, found, loaded and checked as a render does (a stem's gives mono or stereo),
    and its automation (the [midi] map and file, the head track) read onto them as a render reads it: how many
    chains, and how many parameter changes. What is wrong is raised naming the session's key (``stems[2].chain``,
    ``renders[0].a``, ``midi``)."""
    stem_chains = _stem_chains(session, stems)
    buses, master = _mix_chains(session)
    renders = _render_chains(session)
    chains = [*stem_chains.values(), *buses.values(), master, *(chain for pair in renders.values() for chain in pair)]
    frames = timeline_frames(session, stems, rate)
    graph = _Graph(session, rate, stems, stem_chains, buses, master, list(session.renders), renders, frames)
    _load_automation(graph)
    return sum(chain is not None for chain in chains), graph.automation_count


def _render_chains(session: Session, head_key: str = "hrtf") -> dict[str, list[Chain | None]]:
    """Every render's chains (A/B: two; a mixdown: none), also of renders not rendered now, so a map may name them."""
    chains: dict[str, list[Chain | None]] = {}
    head = _session_head(session, head_key)
    for index, render in enumerate(session.renders):
        where = f"renders[{index}]"
        if render.kind == "mixdown":
            chains[render.name] = [None]
        elif render.kind == "ab":
            chains[render.name] = [
                _resolve_chain(session, render.a or "", head=head, where=f"{where}.a"),
                _resolve_chain(session, render.b or "", head=head, where=f"{where}.b"),
            ]
        else:
            chains[render.name] = [_resolve_chain(session, render.chain or "", head=head, where=f"{where}.chain")]
    return chains


def _playing(session: Session, stems: list[StemInfo]) -> list[StemInfo]:
    """The stems the mix plays, as a DAW's mute and solo buttons say: with a stem or a bus soloed only the soloed
    stems and the stems sent to a soloed bus, and never a muted stem or one sent to a muted bus. The timeline keeps
    the length of every stem (a muted one too, as a DAW's project does)."""
    buses = {bus.name: bus for bus in session.buses}
    soloed = any(info.stem.solo for info in stems) or any(bus.solo for bus in session.buses)

    def plays(stem: Stem) -> bool:
        bus = buses.get(stem.bus) if stem.bus else None
        if stem.mute or (bus is not None and bus.mute):
            return False
        return not soloed or stem.solo or (bus is not None and bus.solo)

    playing = [info for info in stems if plays(info.stem)]
    if not playing:
        how = "muted or not soloed" if soloed else "muted"
        raise SessionError(
            f"{session.file}: every stem is {how} (a bus's mute and solo count for the stems sent to it); the mix "
            "would be silence: unmute a stem or a bus (mute = false)"
        )
    return playing


def _playing_buses(session: Session, playing: list[StemInfo]) -> list[Bus]:
    """The buses in the mix: those some playing stem is sent to. One none of whose stems plays (muted, or left out
    by a solo elsewhere) is left out, as a DAW mutes a track that a solo leaves out; taken in, it would deliver no
    samples and hold the whole mix back until the end."""
    sent = {info.stem.bus for info in playing}
    return [bus for bus in session.buses if bus.name in sent]


def _selected_renders(session: Session, only: list[str] | None, *, head_given: bool) -> list[Render]:
    """The renders ``only`` names (all without it), each name checked; a head given for mixdowns alone is refused."""
    renders = [r for r in session.renders if not only or r.name in only]
    if only:
        missing = sorted(set(only) - {r.name for r in renders})
        if missing:
            names = [r.name for r in session.renders]
            close = [match for name in missing for match in difflib.get_close_matches(name.lower(), names, n=1)]
            hint = f"; did you mean {' and '.join(map(repr, close))}?" if close else ""
            raise SessionError(
                f"{session.file}: no render named {', '.join(map(repr, missing))} (renders: {', '.join(names)}){hint}"
            )
    if head_given and renders and all(render.kind == "mixdown" for render in renders):
        raise SessionError(
            f"{session.file}: the head given for this render (hrtf, --hrtf) would change nothing: "
            + (f"render {renders[0].name!r} is a mixdown and takes" if len(renders) == 1 else "its renders are mixdowns and take")
            + " no head; give it for a device, binaural, reference or A/B render"
        )
    return renders


def render_session(
    session_path: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    only: list[str] | None = None,
    overwrite: bool = False,
    block: int = 65536,
    progress: Callable[[int, int], None] | None = None,
    seed: int = 0,
    allow_truncated: bool = False,
    hrtf: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
) -> RenderResult:
    """Render a session's renders into ``output_dir`` (see the module docstring).

    Every output is checked (name, format, channels, bit depth, rate, an input or
    an existing file in the way) before any audio is processed. A render that is
    refused there, or fails while it runs (a full disk, a plugin error), is listed
    in :attr:`RenderResult.failures` with a one-line reason and leaves no file;
    the other renders go on. ``allow_truncated`` renders stems that hold fewer
    samples than their headers declare, and reports what is missing. ``hrtf``
    (SOFA files from the working folder, or a head model's name) replaces the
    session's own ``hrtf`` for this render: the render chains on that listener's head.

    Raises
    ------
    SessionError, AudioFileError, ChannelError, OutputError
        For what stops every render (a bad session, stem or master chain, two
        renders writing one file, an unwritable folder); nothing is written then.
    """
    started = time.perf_counter()
    session = load_session(Path(session_path))
    if hrtf is not None:
        setting = head_setting(hrtf)
        session = replace(session, hrtf=(setting,) if isinstance(setting, str) else tuple(setting))
    rate, stems = inspect_stems(session, allow_truncated=allow_truncated)
    playing = _playing(session, stems)
    renders = _selected_renders(session, only, head_given=hrtf is not None)
    folder = on_disk(Path(output_dir))
    stem_chains = _stem_chains(session, stems)
    bus_chains, master = _mix_chains(session)
    render_chains = _render_chains(session, "hrtf" if hrtf is None else "the head given for this render (hrtf, --hrtf)")
    total = timeline_frames(session, stems, rate)
    with _output_folder(folder):
        plan = _plan_outputs(session, stems, renders, render_chains, folder, overwrite, rate, total)
        running = [r for r in renders if r.name not in plan.failures]
        graph = _Graph(session, rate, playing, stem_chains, bus_chains, master, running, render_chains, total)
        # the device figures, at the chains' settings before any automation moves them: copies of the stages
        # taken now, figured on a thread of their own while the audio renders
        figuring = ThreadPoolExecutor(1, thread_name_prefix="soundstage-figures")
        figures_job = figuring.submit(_device_figures, _device_figure_stages(graph), rate)
        figuring.shutdown(wait=False)
        _load_automation(graph)
        notes: dict[str, str] = {}
        try:
            if graph.renders:  # every render refused before any work (a WAV over 4 GiB, ...): no audio to make
                with threadpool_limits(limits=1, user_api="blas"):  # the stems' threads are the parallelism (module notes)
                    _run(graph, plan, total, block, progress, seed)
            for render in graph.renders:
                if render.kind == "ab" and render.name not in plan.failures:
                    notes[render.name] = _match_ab(render, plan.outputs[render.name])
            _finalize(graph.renders, plan, seed)
            written = _commit(graph.renders, plan)
        except BaseException:
            for outputs in plan.outputs.values():
                for output in outputs:
                    output.discard()
            figures_job.cancel()
            raise
        figures = figures_job.result()
        report = _report(graph, plan, total, started, notes)
        for entry in report["renders"]:
            entry.update(figures.get(entry["name"], {}))
        if written:  # a call whose every render failed leaves the folder as it was
            write_text(folder / REPORT_NAME, json.dumps(report, indent=2))
            write_page(folder)
        return RenderResult(written, report, dict(plan.failures))


#: The file every render writes beside its outputs.
REPORT_NAME = "render-report.json"


@dataclass
class _Plan:
    """The checked outputs of every render to run, and the renders refused before any work."""

    outputs: dict[str, list[_Output]]
    failures: dict[str, str]
    #: Device renders: the loudness of their driver feeds summed to mono (the page's "drivers summed").
    summed: dict[str, LoudnessMeter] = field(default_factory=dict)

    def fail(self, render: str, error: BaseException) -> None:
        """Mark a render failed and remove what it has written so far."""
        self.failures.setdefault(render, _reason(error))
        for output in self.outputs.get(render, []):
            output.discard()


@contextlib.contextmanager
def _output_folder(folder: Path) -> Iterator[None]:
    """The output folder, checked and made if missing; made here and left empty (the render failed before writing,
    or every render was refused), it is removed again: a render that wrote nothing leaves nothing."""
    made = not folder.exists()
    _prepare_folder(folder)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if made and not any(folder.iterdir()):
                folder.rmdir()


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


def _plan_outputs(
    session: Session,
    stems: list[StemInfo],
    renders: list[Render],
    render_chains: dict[str, list[Chain | None]],
    folder: Path,
    overwrite: bool,
    rate: float,
    total: int,
) -> _Plan:
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
    plan = _Plan({}, {})
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
            outputs.append(_Output(checked, render.name, role, replace=overwrite, chunks=stamp, comments=comments))
        else:
            plan.outputs[render.name] = outputs
            if render.kind == "device" and sum(output.channels for output in outputs) > 1:
                plan.summed[render.name] = LoudnessMeter(rate, 1)
    _check_room(plan, folder, total)
    return plan


def _check_room(plan: _Plan, folder: Path, total: int) -> None:
    """The renders' files, together, fit the drive (each alone was checked as its target was): the files written
    as the render streams, every A/B side's float first pass, and the largest A/B side being finished from its first
    pass. A FLAC's size is not known before it is written: it counts nothing."""
    planned = [output for outputs in plan.outputs.values() for output in outputs]

    def size(output: _Output) -> int:
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


_Stages = tuple[Spatializer, BinauralMonitor | None] | None | Exception


def _device_figure_stages(graph: _Graph) -> dict[str, _Stages]:
    """Per render, copies of its device chain's Spatializer and preview (an A/B: its B side, else its A side),
    None for a render without a Spatializer, or the error that copying them raised."""
    found: dict[str, _Stages] = {}
    for render in graph.renders:
        for chain in reversed(graph.render_chains[render.name]):
            if chain is None:
                continue
            try:
                stages = device_stages(chain)
                found[render.name] = None if stages is None else copy.deepcopy(stages)
            except Exception as error:  # a stage that cannot be copied: reported, never fatal to the render
                found[render.name] = error
            if found[render.name] is not None:
                break
    return found


def _device_figures(stages: dict[str, _Stages], rate: float) -> dict[str, dict[str, Any]]:
    """Per render, ``{"device": figures}`` of its device stages (see :func:`_device_figure_stages`).

    A figure that cannot be computed is reported (``device_figures_error``), never fatal to the render.
    """
    figures: dict[str, dict[str, Any]] = {}
    for name, found in stages.items():
        if found is None:
            continue
        try:
            if isinstance(found, Exception):
                raise found
            figures[name] = {"device": stages_device_figures(*found, rate)}
        except Exception as error:  # runs beside the render: whatever it meets is reported, not raised
            figures[name] = {"device_figures_error": _reason(error)}
    return figures


def _load_automation(graph: _Graph) -> None:
    """Read the session's MIDI automation and head track into per-chain events (nothing if it has neither)."""
    settings = graph.session.midi
    events: list[Any] = []
    if graph.session.head_track is not None:
        tree = graph.tree()
        try:
            track = read_head_track(graph.session.resolve(graph.session.head_track), tree.parameters, graph.rate)
        except SoundstageError as error:
            raise SessionError(f"{graph.session.file}: head_track: {error}") from None
        _check_not_late(graph, f"head_track {graph.session.head_track!r}", track)
        events += track
    if settings is None:
        _add_events(graph, events)
        return
    tree = graph.tree()
    try:
        midi_map = load_map(graph.session.resolve(settings.map), tree)
        midi_events = automation_events(
            graph.session.resolve(settings.automation),
            midi_map,
            tree,
            graph.rate,
            channels=settings.channels,
            tracks=settings.tracks,
        )
    except SoundstageError as error:
        raise SessionError(f"{graph.session.file}: midi: {error}") from None
    _check_not_late(graph, f"midi.automation: MIDI file {settings.automation!r}", midi_events)
    _add_events(graph, events + midi_events)


def _check_not_late(graph: _Graph, source: str, events: list[Any]) -> None:
    """Refuse automation that would move nothing, every change of it after the session's end."""
    problem = late_automation(source, events, graph.frames, graph.rate, "the session's zero (offset_s = 0)")
    if problem is not None:
        raise SessionError(f"{graph.session.file}: {problem}")


def _add_events(graph: _Graph, events: list[Any]) -> None:
    """File the events by chain; the count reported is of those on chains that run (renders left out by --only
    have their events filed, and not counted)."""
    tree = graph.tree()
    idle = {f"renders.{r.name}" for r in graph.session.renders} - {f"renders.{r.name}" for r in graph.renders}
    counted = 0
    for event in events:
        prefix, path = tree.split(event.target)
        graph.events.setdefault(prefix, []).append((event.sample, path, event.value))
        counted += prefix not in idle and prefix.rsplit(".", 1)[0] not in idle  # an A/B side: renders.NAME.a
    graph.automation_count = counted


def _run(
    graph: _Graph,
    plan: _Plan,
    total: int,
    block: int,
    progress: Callable[[int, int], None] | None,
    seed: int,
) -> None:
    """The render: stems -> chains -> buses -> master -> each render's chains -> its files (A/B sides: float temporaries)."""
    session, rate, stems, renders = graph.session, graph.rate, graph.stems, graph.renders
    readers = [StemReader(info, rate) for info in stems]
    stem_streams = [graph.stream(f"stems.{info.stem.name}", graph.stem_chains[info.stem.name]) for info in stems]
    bus_streams = {name: graph.stream(f"buses.{name}", chain) for name, chain in graph.bus_chains.items()}
    master_stream = graph.stream("master", graph.master)
    render_streams = _render_streams(graph, renders)
    _open_outputs(renders, plan, seed)
    position = 0
    pans = {info.stem.name: info.stem.pan_gains for info in stems}
    buses = _playing_buses(session, stems)
    direct = _Mixer([info.stem.name for info in stems if info.stem.bus is None] + [bus.name for bus in buses], pans)
    grouped = {bus.name: _Mixer([info.stem.name for info in stems if info.stem.bus == bus.name], pans) for bus in buses}
    finished = False
    stem_blocks = _StemBlocks(readers, stem_streams)
    writing = _RenderBlocks()
    try:
        stem_blocks.start(min(block, total), block >= total)
        while not finished:
            count = min(block, total - position)
            finished = position + count >= total
            outs = stem_blocks.collect()
            if not finished:  # the stems' next block runs while this one is mixed, mastered and written
                following = min(block, total - position - count)
                stem_blocks.start(following, position + count + following >= total)
            for info, out in zip(stems, outs, strict=True):
                (grouped[info.stem.bus] if info.stem.bus else direct).put(info.stem.name, out)
            for bus in buses:
                summed = grouped[bus.name].take(final=finished)
                direct.put(bus.name, _stage(bus_streams[bus.name], summed, finished))
            master_out = _stage(master_stream, direct.take(final=finished), finished)
            writing.start(renders, render_streams, plan, master_out, finished)
            position += count
            if progress is not None:
                progress(position, total)
        writing.wait()
    finally:
        writing.close()
        stem_blocks.close()
        for reader in readers:
            reader.close()
    for render in renders:
        if render.name in plan.failures:
            continue
        try:
            for output in plan.outputs[render.name]:
                output.finish_first_pass()
        except Exception as error:
            plan.fail(render.name, OutputError(f"render {render.name!r}: {_reason(error)}"))


@dataclass
class _TapStream:
    """A render chain that another render's chain begins with: its output is tapped from that chain as it runs."""

    source: ChainStream
    tap: ChainTap
    channels: int
    pushed: int = 0
    given: int = 0

    def step(self, count: int, final: bool) -> np.ndarray:
        """The tap's output for a timeline block of ``count`` samples that ``source`` has just run."""
        self.pushed += count
        out = self.tap.take()
        if out is None:
            out = np.zeros((self.channels, 0), np.float32)
        if final:  # the source's flush ran past the timeline's end by the rest of its latency
            out = out[:, : self.pushed - self.given]
        self.given += out.shape[1]
        return out


_Stream = ChainStream | _TapStream


def _render_streams(graph: _Graph, renders: list[Render]) -> dict[str, list[_Stream | None]]:
    """Each render's chain streams; renders share what their chains have in common.

    Renders that run the same chain with the same automation share one stream. A chain that another
    render's chain begins with (the same stages and settings, the same automation, none after them) runs
    as a tap of that chain (:class:`~soundstage.host.chain.ChainTap`): the demo's driver feeds and its headphone preview
    (the device chain, then the monitor) run the device chain once. An A/B render's sides are usually
    other renders' chains (the demo's: the reference and the preview): each such chain runs once. The
    shared stream's chain stands for all of them in the report.
    """
    entries: list[tuple[str, int, str, Chain | None, list[Any] | None, list[tuple[int, str, Any]]]] = []
    for render in renders:
        labels = ["a", "b"] if render.kind == "ab" else [""]
        for index, (label, chain) in enumerate(zip(labels, graph.render_chains[render.name])):
            prefix = f"renders.{render.name}.{label}" if label else f"renders.{render.name}"
            entries.append((render.name, index, prefix, chain, _stage_tables(chain), graph.events.get(prefix, [])))
    tapped = {spot: _longest_beginning_with(entries, entry) for spot, entry in enumerate(entries)}
    whole: dict[tuple[str, tuple[tuple[int, str, Any], ...]], _Stream] = {}
    found: dict[int, _Stream | None] = {}
    for spot in sorted(range(len(entries)), key=lambda spot: tapped[spot] is not None):  # taps after what they tap
        name, index, prefix, chain, tables, events = entries[spot]
        key = (json.dumps(tables), tuple(events)) if tables is not None else None
        stream = whole.get(key) if key is not None else None
        source = tapped[spot]
        if stream is not None:
            if isinstance(stream, ChainStream) and isinstance(stream.processor, Chain):
                graph.render_chains[name][index] = stream.processor  # the chain that runs
        else:
            if chain is not None and tables is not None and source is not None:
                stream = _tap(found[source], chain, len(tables))
            stream = stream or graph.stream(prefix, chain)
            if key is not None and stream is not None:
                whole[key] = stream
        found[spot] = stream
    streams: dict[str, list[_Stream | None]] = {render.name: [] for render in renders}
    for spot, (name, *_) in enumerate(entries):
        streams[name].append(found[spot])
    return streams


def _tap(source: _Stream | None, chain: Chain, nodes: int) -> _TapStream | None:
    """A tap of ``source``'s chain after its first ``nodes`` nodes, giving what ``chain`` would (None: it cannot
    be tapped there: the point falls inside a run of pedalboard plugins)."""
    if not isinstance(source, ChainStream) or not isinstance(source.processor, Chain):
        return None
    try:
        return _TapStream(source, source.processor.tap(nodes), chain.output_channels_for(2))
    except (ChainError, ChannelError):
        return None


def _longest_beginning_with(entries: list[Any], entry: Any) -> int | None:
    """The longest other render chain that begins with ``entry``'s whole chain and has the same automation, none
    on its other stages (its position in ``entries``; None: none).

    An event on a later stage would split the blocks the tapped stages run in, which moves their output by a
    rounding error: the tap would no longer be the chain alone, bit for bit.
    """
    _, _, _, chain, tables, events = entry
    if chain is None or tables is None:
        return None
    best: int | None = None
    for spot, (_, _, _, other, others, other_events) in enumerate(entries):
        if other is None or others is None or len(others) <= len(tables) or others[: len(tables)] != tables:
            continue
        if other_events != events:
            continue
        if best is None or len(others) > len(entries[best][4]):
            best = spot
    return best


def _stage_tables(chain: Chain | None) -> list[Any] | None:
    """A chain's stages as chain-file tables in canonical form (None: no chain, or a node a chain file cannot hold)."""
    if chain is None:
        return None
    try:
        return list(json.loads(json.dumps(chain_to_dict(chain)["stages"], sort_keys=True, default=repr)))
    except Exception:  # a node that cannot be written to a chain file: not shared
        return None


def _open_outputs(renders: list[Render], plan: _Plan, seed: int) -> None:
    """Open every output of the renders still planned; one that cannot be opened fails its render."""
    for index, (render, output) in enumerate((r, o) for r in renders for o in plan.outputs[r.name]):
        if render.name not in plan.failures:
            try:
                output.open(output.target.path.parent, seed * 1000 + index)
            except OutputError as error:
                plan.fail(render.name, error)
            except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
                plan.fail(render.name, write_failure(output.target.path, error))


def _write_renders(
    renders: list[Render], streams: dict[str, list[_Stream | None]], plan: _Plan, master: np.ndarray, final: bool
) -> None:
    """One master block through every render still running (one failing, e.g. a full disk, never stops the others).

    A stream that renders share (:func:`_render_streams`) steps once per block: its output, or its error, serves each.
    """
    stepped: dict[int, np.ndarray | Exception] = {}
    for render in renders:
        if render.name in plan.failures:
            continue
        try:
            _write_render(
                render, streams[render.name], plan.outputs[render.name], master, final, plan.summed.get(render.name), stepped
            )
        except Exception as error:
            plan.fail(render.name, error)


def _stage(stream: ChainStream | None, audio: np.ndarray, final: bool) -> np.ndarray:
    """What a stream gives for one timeline block (everything it holds at the end); no stream: the block itself."""
    return audio if stream is None else stream.step(audio, final=final)


class _RenderBlocks:
    """The renders' chains and files, a block behind the master: block k's run on a thread of their own while
    the main thread mixes and masters block k + 1 (on one core: at once).

    One block at a time, in order, so every stream and file sees what it would in one thread; the master
    chain and the device chain after it are often the longest two steps of a block, and this puts them on
    both cores.
    """

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="soundstage-renders") if (os.cpu_count() or 1) > 1 else None
        self._running: Future[None] | None = None

    def start(self, *arguments: Any) -> None:
        """Write one master block through the renders (:func:`_write_renders`), once the block before is written."""
        self.wait()
        if self.pool is None:
            _write_renders(*arguments)
        else:
            self._running = self.pool.submit(_write_renders, *arguments)

    def wait(self) -> None:
        """Until the block started last is written (an error it raised is raised here)."""
        running, self._running = self._running, None
        if running is not None:
            running.result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)


class _StemBlocks:
    """The next timeline block of every stem, read and through its chain (mono or stereo: the mixer puts mono on both sides).

    The stems' chains are independent: they run on the machine's cores (pedalboard and numpy let go of
    the interpreter while they work), and come back in the session's order, so the sum does not depend
    on the timing. A chain holding an external plugin runs on the render's own thread (see ``here``).
    """

    def __init__(self, readers: list[StemReader], streams: list[ChainStream | None]) -> None:
        self.readers, self.streams = readers, streams
        # a chain holding a plugin runs on the thread that loaded it: JUCE (pedalboard's plugin host) makes and remakes
        # a plugin (at a reset, a per-channel copy) only on the thread that made the first
        self.here = [stream is not None and bool(external_plugins(stream.processor)) for stream in streams]
        workers = min(self.here.count(False), os.cpu_count() or 1, STEM_THREADS)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="soundstage-stem") if workers > 1 else None
        self._started: list[Future[np.ndarray] | None] | tuple[int, bool] | None = None
        self._block = (0, False)

    def _one(self, index: int, count: int, final: bool) -> np.ndarray:
        return _stage(self.streams[index], self.readers[index].read(count), final)

    def start(self, count: int, final: bool) -> None:
        """Start the next block of every stem (those run here, or on one thread: when it is collected)."""
        self._block = (count, final)
        if self.pool is None:
            self._started = (count, final)
        else:
            pool = self.pool
            self._started = [None if here else pool.submit(self._one, i, count, final) for i, here in enumerate(self.here)]

    def collect(self) -> list[np.ndarray]:
        """The block started last, in the session's order (a stem's error is raised here)."""
        started, self._started = self._started, None
        if isinstance(started, tuple):
            return [self._one(i, *started) for i in range(len(self.readers))]
        assert started is not None, "collect() without start()"
        return [self._one(i, *self._block) if future is None else future.result() for i, future in enumerate(started)]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)


class _Mixer:
    """Sums timeline-aligned sources that deliver at different paces (their chains' latencies), each panned."""

    def __init__(self, names: list[str], pans: dict[str, tuple[float, float]] | None = None) -> None:
        self.fifos: dict[str, list[np.ndarray]] = {name: [] for name in names}
        self.pans = {name: gains for name, gains in (pans or {}).items() if gains != (1.0, 1.0)}  # (left, right) gains

    def put(self, name: str, audio: np.ndarray) -> None:
        if audio.shape[1]:
            self.fifos[name].append(audio)

    def take(self, *, final: bool) -> np.ndarray:
        """The stereo sum of what every source has delivered (everything, once all are final); mono is on both sides."""
        lengths = [sum(piece.shape[1] for piece in pieces) for pieces in self.fifos.values()]
        ready = (max(lengths) if final else min(lengths)) if lengths else 0
        total = np.zeros((2, ready), np.float32)
        for name, pieces in self.fifos.items():
            position, rest = 0, []
            gains = self.pans.get(name)
            for piece in pieces:  # added in place: no copy of what a source delivered
                used = min(piece.shape[1], ready - position)
                if gains is None:
                    total[:, position : position + used] += piece[:, :used]
                else:  # mono on both sides, or stereo side by side, each side at its gain
                    for side, gain in enumerate(gains):
                        total[side, position : position + used] += np.float32(gain) * piece[min(side, piece.shape[0] - 1), :used]
                if used < piece.shape[1]:
                    rest.append(piece[:, used:])
                position += used
            self.fifos[name] = rest
        return total


def _write_render(
    render: Render,
    streams: list[_Stream | None],
    outputs: list[_Output],
    master: np.ndarray,
    final: bool,
    summed: LoudnessMeter | None,
    stepped: dict[int, np.ndarray | Exception],
) -> None:
    """Run one render's chains on a master block and append the results to its files (``summed``: meter their sum;
    ``stepped``: the outputs of the streams already stepped for this block, by ``id``)."""

    def step(stream: _Stream | None) -> np.ndarray:
        if stream is None:
            return master
        if id(stream) not in stepped:
            try:
                if isinstance(stream, _TapStream):
                    step(stream.source)  # the chain it taps runs this block first (its error is the tap's)
                    stepped[id(stream)] = stream.step(master.shape[1], final)
                else:
                    stepped[id(stream)] = _stage(stream, master, final)
            except Exception as error:
                stepped[id(stream)] = error
        result = stepped[id(stream)]
        if isinstance(result, Exception):
            raise result
        return result

    results = [step(stream) for stream in streams]
    if summed is not None and results[0].shape[1]:
        summed.add(results[0].sum(axis=0, keepdims=True))
    if render.kind == "ab":
        pieces = results
    elif len(outputs) > 1:
        pieces = [results[0][i : i + 1] for i in range(len(outputs))]
    else:
        pieces = [results[0]]
    for piece, output in zip(pieces, outputs):
        if piece.shape[1]:
            output.write(piece)


def _match_ab(render: Render, pair: list[_Output]) -> str:
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


def _commit(renders: list[Render], plan: _Plan) -> list[Path]:
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


def _finalize(renders: list[Render], plan: _Plan, seed: int) -> None:
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


def _report(graph: _Graph, plan: _Plan, total: int, started: float, notes: dict[str, str]) -> dict[str, Any]:
    session, rate, stems, renders = graph.session, graph.rate, graph.stems, graph.renders
    stem_chains, bus_chains, master, render_chains = graph.stem_chains, graph.bus_chains, graph.master, graph.render_chains

    def latency(chain: Chain | None) -> int:
        return int(chain.latency_samples) if chain is not None else 0

    elapsed = time.perf_counter() - started
    playing, mixed = {info.stem.name for info in stems}, {bus.name for bus in _playing_buses(session, stems)}
    outputs = [
        (render.name, output.role, output.sink)
        for render in renders
        if render.name not in plan.failures
        for output in plan.outputs[render.name]
        if output.sink is not None
    ]
    return {
        "session": str(session.file),
        "sample_rate": rate,
        "length_s": total / rate,
        "tail_s": graph.session.tail_s,
        "render_seconds": round(elapsed, 3),
        "speed_x_real_time": round(total / rate / elapsed, 1) if elapsed > 0 else None,
        "stems": [
            info.as_dict(rate) | {"chain": info.stem.chain, "chain_latency_samples": latency(stem_chains[info.stem.name])}
            for info in stems
        ],
        "stems_left_out": [stem.name for stem in session.stems if stem.name not in playing],
        "buses_left_out": [bus.name for bus in session.buses if bus.name not in mixed],
        "buses": [{"name": name, "chain_latency_samples": latency(chain)} for name, chain in bus_chains.items()],
        "master": {"chain": session.master_chain, "chain_latency_samples": latency(master)},
        "hrtf": list(session.hrtf) or None,
        "automation": None
        if session.midi is None and session.head_track is None
        else {
            "map": session.midi.map if session.midi else None,
            "file": session.midi.automation if session.midi else None,
            "head_track": session.head_track,
            "parameter_changes": graph.automation_count,
        },
        "renders": [
            {
                "name": render.name,
                "kind": render.kind,
                "chain_latency_samples": [latency(c) for c in render_chains[render.name]],
                **({"ab": notes[render.name], "ceiling_dbtp": render.ceiling_dbtp} if render.name in notes else {}),
                **(
                    {"summed_feeds_lufs": round(plan.summed[render.name].integrated_lufs(), 2)}
                    if render.name in plan.summed
                    else {}
                ),
            }
            for render in renders
            if render.name not in plan.failures
        ],
        "failures": [{"render": name, "reason": reason} for name, reason in plan.failures.items()],
        "spectrum_hz": outputs[0][2].spectrum.third_octave_db()[0] if outputs else [],
        "outputs": [
            {
                "render": name,
                "role": role,
                "file": sink.target.path.name,
                "channels": sink.target.channels,
                "bit_depth": sink.target.bit_depth,
                "length_s": sink.frames / rate,
                "integrated_lufs": round(sink.loudness.integrated_lufs(), 2),
                "true_peak_dbtp": round(sink.peak.true_peak_dbtp, 2),
                "clipped_samples": sink.clipped,
                "gain_applied_db": round(20 * np.log10(sink.gain), 2),
                "short_term_lufs": short_term_lufs(sink.loudness),
                "spectrum_db": sink.spectrum.third_octave_db()[1],
            }
            for name, role, sink in outputs
        ],
    }


def _stem_lines(stem: dict[str, Any]) -> list[str]:
    """What a render says of a stem (its report entry): a conversion, a stem cut short."""
    lines = [f"stem {stem['name']}: {stem['conversion']}"] if stem["conversion"] else []
    if stem["missing_s"] != 0:  # None: cut short, how much unknown
        lines.append(f"stem {stem['name']}: TRUNCATED, {missing_words(stem['missing_s'])} (--allow-truncated)")
    return lines


def render_summary(result: RenderResult, folder: Path) -> list[str]:
    """The lines a render prints: stem conversions, automation, speed, the table of files, A/B notes, the report.

    Failed renders are not among them: they are errors, one line each, for the caller to print.
    """
    report = result.report
    lines: list[str] = []
    if not result.outputs:  # every render refused before any work: nothing was rendered
        return lines
    for stem in report["stems"]:
        lines.extend(_stem_lines(stem))
    if report.get("stems_left_out"):
        buses = f"; bus(es) {', '.join(report['buses_left_out'])}" if report.get("buses_left_out") else ""
        lines.append(f"left out of the mix (mute / solo): {', '.join(report['stems_left_out'])}{buses}")
    if report.get("automation"):
        automation = report["automation"]
        sources = " and ".join(str(f) for f in (automation["file"], automation.get("head_track")) if f)
        lines.append(f"automation: {automation['parameter_changes']} parameter change(s) from {sources}")
    took = f"{report['render_seconds']:.1f} s ({report['speed_x_real_time']}x real time)"
    tail = f" ({report['tail_s']:g} s of it the chains' tail)" if report.get("tail_s") else ""
    lines.append(f"rendered {report['length_s']:.2f} s{tail} at {report['sample_rate']:g} Hz in {took}")
    lines.append(f"{'file':<32} {'ch':>3} {'bits':>4} {'LUFS':>7} {'dBTP':>7} {'overs':>7} {'gain dB':>7}")
    for output in report["outputs"]:
        lines.append(
            f"{wcwidth.ljust(output['file'], 32)} {output['channels']:>3} {output['bit_depth']:>4} "
            f"{output['integrated_lufs']:>7.1f} "
            f"{output['true_peak_dbtp']:>7.1f} {output['clipped_samples']:>7} {output['gain_applied_db']:>7.2f}"
        )
    for render in report["renders"]:
        if render.get("ab"):
            lines.append(f"{render['name']}: {render['ab']}")
        if render.get("device"):
            separation, left = render["device"]["separation"], render["device"]["width"][0]
            lines.append(
                f"{render['name']}: separation 250 Hz-6.3 kHz {separation['mean_250_6300_db']:.1f} dB at the seat, "
                f"{separation['region_mean_250_6300_db']:.1f} dB over the region (worst seat "
                f"{separation['worst_seat_250_6300_db']:.1f} dB); hard left ITD {left['device_itd_us']:.0f} us, "
                f"ILD {left['device_ild_db']:.1f} dB (a +-30 deg pair: {left['reference_itd_us']:.0f} us, "
                f"{left['reference_ild_db']:.1f} dB) on {render['device']['head']}"
            )
        if render.get("device_figures_error"):
            lines.append(f"{render['name']}: no device figures ({render['device_figures_error']})")
    lines.append(f"report: {folder / REPORT_NAME}")
    return lines
