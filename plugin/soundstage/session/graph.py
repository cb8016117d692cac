"""A session as a graph to render: its stems' chains, buses, master and render chains, loaded and checked before any
audio runs, what plays (mute and solo), and the MIDI automation and head track read onto the chains."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from soundstage.acoustics.hrtf import HeadChoice, HrtfError
from soundstage.engine import ChainStream
from soundstage.errors import ChainFileError, ChannelError, SoundstageError
from soundstage.fileio import bed_problem, first_downmix
from soundstage.headtrack import read_head_track
from soundstage.host.automation import late_automation
from soundstage.host.chain import Chain
from soundstage.host.chainfile import NoHeadStageError, head_setting, load_chain
from soundstage.host.parameters import Parameter
from soundstage.midi import automation_events, load_map
from soundstage.session.model import Bus, Render, Session, SessionError, Stem, chain_path
from soundstage.session.stems import StemInfo, timeline_frames

__all__ = [
    "SessionParameters",
    "SessionGraph",
    "load_stem_chains",
    "load_mix_chains",
    "check_chains",
    "load_render_chains",
    "playing_stems",
    "playing_buses",
    "selected_renders",
    "load_automation",
]


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
class SessionGraph:
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


def load_stem_chains(session: Session, stems: list[StemInfo]) -> dict[str, Chain | None]:
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


def load_mix_chains(session: Session) -> tuple[dict[str, Chain | None], Chain | None]:
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
    stem_chains = load_stem_chains(session, stems)
    buses, master = load_mix_chains(session)
    renders = load_render_chains(session)
    chains = [*stem_chains.values(), *buses.values(), master, *(chain for pair in renders.values() for chain in pair)]
    frames = timeline_frames(session, stems, rate)
    graph = SessionGraph(session, rate, stems, stem_chains, buses, master, list(session.renders), renders, frames)
    load_automation(graph)
    return sum(chain is not None for chain in chains), graph.automation_count


def load_render_chains(session: Session, head_key: str = "hrtf") -> dict[str, list[Chain | None]]:
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


def playing_stems(session: Session, stems: list[StemInfo]) -> list[StemInfo]:
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


def playing_buses(session: Session, playing: list[StemInfo]) -> list[Bus]:
    """The buses in the mix: those some playing stem is sent to. One none of whose stems plays (muted, or left out
    by a solo elsewhere) is left out, as a DAW mutes a track that a solo leaves out; taken in, it would deliver no
    samples and hold the whole mix back until the end."""
    sent = {info.stem.bus for info in playing}
    return [bus for bus in session.buses if bus.name in sent]


def selected_renders(session: Session, only: list[str] | None, *, head_given: bool) -> list[Render]:
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


def load_automation(graph: SessionGraph) -> None:
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


def _check_not_late(graph: SessionGraph, source: str, events: list[Any]) -> None:
    """Refuse automation that would move nothing, every change of it after the session's end."""
    problem = late_automation(source, events, graph.frames, graph.rate, "the session's zero (offset_s = 0)")
    if problem is not None:
        raise SessionError(f"{graph.session.file}: {problem}")


def _add_events(graph: SessionGraph, events: list[Any]) -> None:
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
