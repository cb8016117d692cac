"""The audio of a render: stems read in blocks on their threads through their chains, mixed into buses and the
master, and through the render chains into the outputs; a render chain that begins with another's is tapped
from it (:class:`~soundstage.host.chain.ChainTap`), so it runs once."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from soundstage.analysis.loudness import LoudnessMeter
from soundstage.engine import ChainStream
from soundstage.errors import ChainError, ChannelError, OutputError
from soundstage.fileio import RING_CAP_S
from soundstage.host.chain import Chain, ChainTap
from soundstage.host.chainfile import chain_to_dict
from soundstage.host.routing import external_plugins
from soundstage.session.graph import SessionGraph, playing_buses
from soundstage.session.model import Render
from soundstage.session.outputs import Output, OutputPlan, failure_reason, open_outputs
from soundstage.session.stems import StemReader

__all__ = ["STEM_THREADS", "run_audio"]


#: The most threads the stems' chains run on (at most one per core).
STEM_THREADS = 4


def run_audio(
    graph: SessionGraph,
    plan: OutputPlan,
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
    open_outputs(renders, plan, seed)
    position = 0
    pans = {info.stem.name: info.stem.pan_gains for info in stems}
    buses = playing_buses(session, stems)
    direct = _Mixer([info.stem.name for info in stems if info.stem.bus is None] + [bus.name for bus in buses], pans)
    grouped = {bus.name: _Mixer([info.stem.name for info in stems if info.stem.bus == bus.name], pans) for bus in buses}
    # the render goes on past the timeline's end, silence in, while a file may still ring there (heard, not written:
    # Output.write); the chains are flushed at the cap alone, the files being whole once they are heard past their end
    limit = total + round(RING_CAP_S * rate) + block
    finished = False
    stem_blocks = _StemBlocks(readers, stem_streams)
    writing = _RenderBlocks()
    try:
        stem_blocks.start(min(block, limit), block >= limit)
        while not finished:
            count = min(block, limit - position)
            final = position + count >= limit
            # as of the block written before this one (written a block behind): one more block is heard, no harm
            finished = final or (position >= total and not _listening(renders, plan))
            outs = stem_blocks.collect()
            if not finished:  # the stems' next block runs while this one is mixed, mastered and written
                following = min(block, limit - position - count)
                stem_blocks.start(following, position + count + following >= limit)
            for info, out in zip(stems, outs, strict=True):
                (grouped[info.stem.bus] if info.stem.bus else direct).put(info.stem.name, out)
            for bus in buses:
                summed = grouped[bus.name].take(final=final)
                direct.put(bus.name, _stage(bus_streams[bus.name], summed, final))
            master_out = _stage(master_stream, direct.take(final=final), final)
            writing.start(renders, render_streams, plan, master_out, final)
            position += count
            if progress is not None:
                progress(min(position, total), total)
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
            plan.fail(render.name, OutputError(f"render {render.name!r}: {failure_reason(error)}"))


def _listening(renders: list[Render], plan: OutputPlan) -> bool:
    """Whether a render still running is to go on: a file of it short of its end, or heard ringing past it."""
    return any(output.listening for render in renders if render.name not in plan.failures for output in plan.outputs[render.name])


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


def _render_streams(graph: SessionGraph, renders: list[Render]) -> dict[str, list[_Stream | None]]:
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


def _write_renders(
    renders: list[Render], streams: dict[str, list[_Stream | None]], plan: OutputPlan, master: np.ndarray, final: bool
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
    outputs: list[Output],
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
    kept = results[0][:, : outputs[0].room]  # what is past the end is heard, not written nor metered
    if summed is not None and kept.shape[1]:
        summed.add(kept.sum(axis=0, keepdims=True))
    if render.kind == "ab":
        pieces = results
    elif len(outputs) > 1:
        pieces = [results[0][i : i + 1] for i in range(len(outputs))]
    else:
        pieces = [results[0]]
    for piece, output in zip(pieces, outputs):
        if piece.shape[1]:
            output.write(piece)
