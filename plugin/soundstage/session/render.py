"""The render engine: stems -> chains -> buses -> master -> renders, streamed from disk.

Every stage streams with soundstage's latency-compensated contract (outputs are
aligned to the timeline; a stream's first calls return fewer samples, ``flush``
returns the rest), so stems stay aligned whatever their chains' latencies.
Memory holds one block per stem and the chains' state, never the session.

Outputs are written to temporary files in the output folder and renamed into
place only when every render is complete; an error or Ctrl-C removes the
temporaries and leaves the folder as it was. Inputs are never opened for writing.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pedalboard.io import AudioFile

from soundstage.analysis.loudness import LoudnessMeter, TruePeakMeter
from soundstage.errors import ChannelError, OutputError, SoundstageError
from soundstage.host.chain import Chain
from soundstage.host.chainfile import load_chain
from soundstage.host.parameters import Parameter
from soundstage.host.processor import Processor
from soundstage.session.model import Render, Session, SessionError, load_session
from soundstage.session.stems import StemInfo, StemReader, inspect_stems

__all__ = ["render_session", "RenderResult", "SessionParameters", "tpdf_quantise"]


def tpdf_quantise(block: np.ndarray, bit_depth: int, rng: np.random.Generator) -> np.ndarray:
    """Quantise to ``bit_depth`` integer steps with TPDF dither (+-1 LSB triangular)."""
    scale = float(2 ** (bit_depth - 1))
    noise = rng.random(block.shape) - rng.random(block.shape)
    return (np.round(block * scale + noise) / scale).astype(np.float32)


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


class _Stream:
    """A processor fed block by block, its aligned outputs collected in a FIFO.

    ``events`` are ``(timeline sample, parameter path, value)``: the stream's input
    is timeline-aligned, so each change lands on its timeline sample
    (:class:`~soundstage.midi.automation.AutomatedStream`).
    """

    def __init__(self, processor: Processor, sample_rate: float, events: list[tuple[int, str, Any]] | None = None) -> None:
        from soundstage.midi.automation import AutomatedStream

        self.processor = processor
        self.stream = AutomatedStream(processor, sample_rate, events or [], buffer_size=65536)
        self.fifo: list[np.ndarray] = []
        self.available = 0

    def push(self, block: np.ndarray) -> None:
        out = self.stream.process(block)
        if out.shape[1]:
            self.fifo.append(out)
            self.available += out.shape[1]

    def finish(self) -> None:
        tail = self.stream.flush()
        if tail.shape[1]:
            self.fifo.append(tail)
            self.available += tail.shape[1]

    def take(self, count: int) -> np.ndarray:
        joined = np.concatenate(self.fifo, axis=1) if len(self.fifo) > 1 else self.fifo[0]
        out, rest = joined[:, :count], joined[:, count:]
        self.fifo = [rest] if rest.shape[1] else []
        self.available -= count
        return out


@dataclass
class _Output:
    """One file being written."""

    target: Path
    temporary: Path
    channels: int
    bit_depth: int
    writer: Any = None
    loudness: LoudnessMeter | None = None
    peak: TruePeakMeter | None = None
    frames: int = 0
    gain: float = 1.0
    render: str = ""
    role: str = ""


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
    events: dict[str, list[tuple[int, str, Any]]] = field(default_factory=dict)
    automation_count: int = 0

    def stream(self, prefix: str, chain: Chain | None) -> _Stream | None:
        """A stream for a chain, with its automation."""
        return _Stream(chain, self.rate, self.events.get(prefix)) if chain is not None else None

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


def _resolve_chain(session: Session, name: str) -> Chain:
    from soundstage.cli import find_chain

    candidate = session.resolve(name)
    path = candidate if candidate.exists() or name.endswith(".toml") or "/" in name else find_chain(name)
    try:
        return load_chain(path)
    except SessionError:
        raise
    except Exception as error:
        if isinstance(error, (OSError,)):
            raise SessionError(f"{session.file}: chain {name!r}: {error}") from None
        raise


def _file_name(render: Render, suffix: str = "") -> str:
    extension = {"wav": ".wav", "flac": ".flac", "aiff": ".aiff"}[render.file_format]
    return f"{render.name}{suffix}{extension}"


def render_session(
    session_path: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    only: list[str] | None = None,
    overwrite: bool = False,
    block: int = 65536,
    progress: Callable[[int, int], None] | None = None,
    seed: int = 0,
) -> RenderResult:
    """Render a session's renders into ``output_dir`` (see the module docstring).

    Raises
    ------
    SessionError, AudioFileError, ChannelError, OutputError
        Naming the file, stem or render and the fix; nothing is written then.
    """
    started = time.perf_counter()
    session = load_session(Path(session_path))
    rate, stems = inspect_stems(session)
    renders = [r for r in session.renders if not only or r.name in only]
    if only:
        missing = sorted(set(only) - {r.name for r in renders})
        if missing:
            known = ", ".join(r.name for r in session.renders)
            raise SessionError(f"{session.file}: no render named {', '.join(map(repr, missing))} (renders: {known})")
    folder = Path(output_dir)
    stem_chains = {info.stem.name: (_resolve_chain(session, info.stem.chain) if info.stem.chain else None) for info in stems}
    for info in stems:  # each stem must come out of its chain as mono or stereo
        chain = stem_chains[info.stem.name]
        try:
            channels = chain.output_channels_for(info.channels) if chain is not None else info.channels
        except ChannelError as error:
            raise ChannelError(f"{session.file}: stem {info.stem.name!r} ({info.channels} channels): {error}") from None
        if channels > 2:
            raise ChannelError(
                f"{session.file}: stem {info.stem.name!r} comes out with {channels} channels; a stem enters the mix as mono or "
                "stereo: end its chain with Route(channels=[0, 1]) (or give it a chain that folds down)"
            )
    bus_chains = {bus.name: (_resolve_chain(session, bus.chain) if bus.chain else None) for bus in session.buses}
    master = _resolve_chain(session, session.master_chain) if session.master_chain else None
    render_chains: dict[str, list[Chain | None]] = {}
    for render in session.renders:  # every render's chains, so a map may name renders not rendered now
        if render.kind == "mixdown":
            render_chains[render.name] = [None]
        elif render.kind == "ab":
            render_chains[render.name] = [_resolve_chain(session, render.a or ""), _resolve_chain(session, render.b or "")]
        else:
            render_chains[render.name] = [_resolve_chain(session, render.chain or "")]
    graph = _Graph(session, rate, stems, stem_chains, bus_chains, master, renders, render_chains)
    _load_automation(graph)
    outputs = _plan_outputs(session, stems, renders, render_chains, folder, overwrite)
    total = max(info.start + int(np.ceil(info.frames * rate / info.sample_rate)) for info in stems)
    try:
        _run(graph, outputs, total, block, progress, seed)
        for output in outputs:  # all complete: move them into place
            os.replace(output.temporary, output.target)
    except BaseException:
        for output in outputs:
            if output.writer is not None:
                try:
                    output.writer.close()
                except Exception:
                    pass
            output.temporary.unlink(missing_ok=True)
        raise
    report = _report(graph, outputs, total, started)
    report_path = folder / "render-report.json"
    temporary = report_path.with_name(".render-report.json.partial")
    temporary.write_text(json.dumps(report, indent=2))
    os.replace(temporary, report_path)
    return RenderResult([o.target for o in outputs], report)


def _plan_outputs(
    session: Session,
    stems: list[StemInfo],
    renders: list[Render],
    render_chains: dict[str, list[Chain | None]],
    folder: Path,
    overwrite: bool,
) -> list[_Output]:
    if not folder.exists():
        parent = folder.resolve().parent
        if not parent.is_dir():
            raise OutputError(f"output folder {str(folder)!r}: its parent {str(parent)!r} does not exist")
        try:
            folder.mkdir()
        except OSError as error:
            raise OutputError(f"output folder {str(folder)!r} cannot be created ({error.strerror}); choose another -o") from None
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise OutputError(f"output folder {str(folder)!r} is not writable ({error.strerror}); choose another -o") from None
    inputs = {info.path.resolve() for info in stems} | {session.file.resolve()}
    outputs = []
    for render in renders:
        chains = render_chains[render.name]
        names: list[tuple[str, int]] = []
        if render.kind == "ab":
            names = [(_file_name(render, "-A"), 2), (_file_name(render, "-B"), 2)]
        else:
            chain = chains[0]
            channels = 2 if chain is None else chain.output_channels_for(2)
            if render.per_driver and channels > 1:
                labels = getattr(chain[-1], "driver_names", None) if chain is not None and len(chain) else None
                labels = labels or [str(i) for i in range(channels)]
                names = [(_file_name(render, f"-{label}"), 1) for label in labels]
            else:
                names = [(_file_name(render), channels)]
        for name, channels in names:
            target = folder / name
            if target.resolve() in inputs:
                raise OutputError(
                    f"render {render.name!r} would write {str(target)!r}, which is an input of the session; choose another -o"
                )
            if target.exists() and not overwrite:
                raise OutputError(f"{str(target)!r} already exists; pass --overwrite to replace it")
            handle, temporary = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".partial{target.suffix}", dir=folder)
            os.close(handle)
            role = name[len(render.name) + 1 : len(render.name) + 2] if render.kind == "ab" else ""
            outputs.append(_Output(target, Path(temporary), channels, render.bit_depth, render=render.name, role=role))
    return outputs


def _load_automation(graph: _Graph) -> None:
    """Read the session's MIDI map and automation file into per-chain events (nothing if no ``[midi]``)."""
    settings = graph.session.midi
    if settings is None:
        return
    from soundstage.midi import automation_events, load_map

    tree = graph.tree()
    try:
        midi_map = load_map(graph.session.resolve(settings.map), tree)
        events = automation_events(
            graph.session.resolve(settings.automation),
            midi_map,
            tree,
            graph.rate,
            channels=settings.channels,
            tracks=settings.tracks,
        )
    except SoundstageError as error:
        raise SessionError(f"{graph.session.file}: midi: {error}") from None
    for event in events:
        prefix, path = tree.split(event.target)
        graph.events.setdefault(prefix, []).append((event.sample, path, event.value))
    graph.automation_count = len(events)


def _run(
    graph: _Graph,
    outputs: list[_Output],
    total: int,
    block: int,
    progress: Callable[[int, int], None] | None,
    seed: int,
) -> None:
    session, rate, stems, renders = graph.session, graph.rate, graph.stems, graph.renders
    rng = np.random.default_rng(seed)
    readers = [StemReader(info, rate) for info in stems]
    stem_streams = [graph.stream(f"stems.{info.stem.name}", graph.stem_chains[info.stem.name]) for info in stems]
    bus_streams = {name: graph.stream(f"buses.{name}", chain) for name, chain in graph.bus_chains.items()}
    master_stream = graph.stream("master", graph.master)
    render_streams = [
        [
            graph.stream(f"renders.{r.name}.{label}" if label else f"renders.{r.name}", chain)
            for label, chain in zip(["a", "b"] if r.kind == "ab" else [""], graph.render_chains[r.name])
        ]
        for r in renders
    ]
    # first pass writes 32-bit float temporaries; integer renders are quantised in the second pass
    for output in outputs:
        output.writer = AudioFile(str(output.temporary), "w", rate, output.channels, bit_depth=32)
        output.loudness = LoudnessMeter(rate, output.channels)
        output.peak = TruePeakMeter(output.channels)
    position = 0

    def stage(stream: _Stream | None, audio: np.ndarray, final: bool) -> np.ndarray:
        if stream is None:
            return audio
        if audio.shape[1]:
            stream.push(audio)
        if final:
            stream.finish()
        return stream.take(stream.available) if stream.available else np.zeros((stream_channels(stream, audio), 0), np.float32)

    def stream_channels(stream: _Stream, audio: np.ndarray) -> int:
        return stream.processor.output_channels_for(audio.shape[0])

    direct = _Mixer([info.stem.name for info in stems if info.stem.bus is None] + [bus.name for bus in session.buses])
    grouped = {bus.name: _Mixer([info.stem.name for info in stems if info.stem.bus == bus.name]) for bus in session.buses}
    finished = False
    while not finished:
        count = min(block, total - position)
        finished = position + count >= total
        for info, reader, stream in zip(stems, readers, stem_streams):
            audio = reader.read(count)
            out = stage(stream, audio, finished)
            if out.shape[0] == 1:
                out = np.repeat(out, 2, axis=0)
            (grouped[info.stem.bus] if info.stem.bus else direct).put(info.stem.name, out)
        for bus in session.buses:
            summed = grouped[bus.name].take(final=finished)
            direct.put(bus.name, stage(bus_streams[bus.name], summed, finished))
        mix = direct.take(final=finished)
        master_out = stage(master_stream, mix, finished)
        _write_renders(renders, render_streams, outputs, master_out, finished, stage)
        position += count
        if progress is not None:
            progress(position, total)
    for reader in readers:
        reader.close()
    for output in outputs:
        output.writer.close()
        assert output.peak is not None
        output.peak.flush()
    _match_ab(renders, outputs)
    _finalise(outputs, rng)


class _Mixer:
    """Sums timeline-aligned sources that deliver at different paces (their chains' latencies)."""

    def __init__(self, names: list[str]) -> None:
        self.fifos: dict[str, list[np.ndarray]] = {name: [] for name in names}

    def put(self, name: str, audio: np.ndarray) -> None:
        if audio.shape[1]:
            self.fifos[name].append(audio)

    def take(self, *, final: bool) -> np.ndarray:
        """The sum of what every source has delivered (everything, once all are final)."""
        lengths = [sum(piece.shape[1] for piece in pieces) for pieces in self.fifos.values()]
        ready = (max(lengths) if final else min(lengths)) if lengths else 0
        total = np.zeros((2, ready), np.float32)
        for name, pieces in self.fifos.items():
            joined = np.concatenate(pieces, axis=1) if pieces else np.zeros((2, 0), np.float32)
            part = joined[:, :ready]
            total[:, : part.shape[1]] += part
            self.fifos[name] = [joined[:, ready:]] if joined.shape[1] > ready else []
        return total


def _write_renders(
    renders: list[Render],
    render_streams: list[list[_Stream | None]],
    outputs: list[_Output],
    master: np.ndarray,
    finished: bool,
    stage: Callable[[Any, np.ndarray, bool], np.ndarray],
) -> None:
    cursor = 0
    for render, streams in zip(renders, render_streams):
        results = [stage(stream, master, finished) for stream in streams]
        files = 2 if render.kind == "ab" else (len(results[0]) if render.per_driver and results[0].shape[0] > 1 else 1)
        if render.kind == "ab":
            pieces = results
        elif files > 1:
            pieces = [results[0][i : i + 1] for i in range(files)]
        else:
            pieces = [results[0]]
        for piece in pieces:
            output = outputs[cursor]
            cursor += 1
            if piece.shape[1]:
                output.writer.write(piece)
                output.frames += piece.shape[1]
                assert output.loudness is not None and output.peak is not None
                output.loudness.add(piece)
                output.peak.add(piece)


def _match_ab(renders: list[Render], outputs: list[_Output]) -> None:
    """Give each A/B pair's B the gain that matches its integrated loudness to A's."""
    for render in renders:
        if render.kind != "ab":
            continue
        pair = {o.role: o for o in outputs if o.render == render.name}
        a, b = pair["A"], pair["B"]
        assert a.loudness is not None and b.loudness is not None
        la, lb = a.loudness.integrated_lufs(), b.loudness.integrated_lufs()
        if np.isfinite(la) and np.isfinite(lb):
            b.gain = float(10 ** ((la - lb) / 20))


def _finalise(outputs: list[_Output], rng: np.random.Generator) -> None:
    """Second pass over each temporary: apply the A/B gain, quantise with TPDF dither to the file's depth."""
    for output in outputs:
        if output.gain == 1.0 and output.bit_depth == 32 and output.target.suffix.lower() != ".flac":
            continue
        final = output.temporary.with_name(output.temporary.name.replace(".partial", ".final"))
        output.loudness = LoudnessMeter(output.loudness.sample_rate if output.loudness else 48000, output.channels)
        output.peak = TruePeakMeter(output.channels)
        with AudioFile(str(output.temporary)) as reader:
            rate = reader.samplerate
            with AudioFile(str(final), "w", rate, output.channels, bit_depth=output.bit_depth) as writer:
                while reader.tell() < reader.frames:
                    piece = reader.read(65536) * output.gain
                    output.loudness.add(piece)
                    output.peak.add(piece)
                    if output.bit_depth < 32:
                        piece = tpdf_quantise(piece, output.bit_depth, rng)
                    writer.write(piece)
        output.peak.flush()
        os.replace(final, output.temporary)


def _report(graph: _Graph, outputs: list[_Output], total: int, started: float) -> dict[str, Any]:
    session, rate, stems, renders = graph.session, graph.rate, graph.stems, graph.renders
    stem_chains, bus_chains, master, render_chains = graph.stem_chains, graph.bus_chains, graph.master, graph.render_chains

    def latency(chain: Chain | None) -> int:
        return int(chain.latency_samples) if chain is not None else 0

    elapsed = time.perf_counter() - started
    return {
        "session": str(session.file),
        "sample_rate": rate,
        "length_s": total / rate,
        "render_seconds": round(elapsed, 3),
        "speed_x_real_time": round(total / rate / elapsed, 1) if elapsed > 0 else None,
        "stems": [
            info.as_dict(rate) | {"chain": info.stem.chain, "chain_latency_samples": latency(stem_chains[info.stem.name])}
            for info in stems
        ],
        "buses": [{"name": name, "chain_latency_samples": latency(chain)} for name, chain in bus_chains.items()],
        "master": {"chain": session.master_chain, "chain_latency_samples": latency(master)},
        "automation": None
        if session.midi is None
        else {"map": session.midi.map, "file": session.midi.automation, "parameter_changes": graph.automation_count},
        "renders": [
            {"name": render.name, "kind": render.kind, "chain_latency_samples": [latency(c) for c in render_chains[render.name]]}
            for render in renders
        ],
        "outputs": [
            {
                "file": output.target.name,
                "channels": output.channels,
                "bit_depth": output.bit_depth,
                "length_s": output.frames / rate,
                "integrated_lufs": round(output.loudness.integrated_lufs(), 2) if output.loudness else None,
                "true_peak_dbtp": round(output.peak.true_peak_dbtp, 2) if output.peak else None,
                "clipped_samples": output.peak.clipped if output.peak else 0,
                "gain_applied_db": round(20 * np.log10(output.gain), 2),
            }
            for output in outputs
        ],
    }
