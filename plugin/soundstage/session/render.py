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

Here: :func:`render_session`, the steps in order. Beside it: :mod:`~soundstage.session.graph`
(the chains loaded and checked, what plays, the automation), :mod:`~soundstage.session.outputs`
(the files planned, checked, matched and committed), :mod:`~soundstage.session.streams` (the
audio, block by block) and :mod:`~soundstage.session.report` (the report and the summary).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from threadpoolctl import threadpool_limits

from soundstage.files import on_disk, write_text
from soundstage.host.chainfile import head_setting
from soundstage.session.graph import (
    SessionGraph,
    SessionParameters,
    check_chains,
    load_automation,
    load_mix_chains,
    load_render_chains,
    load_stem_chains,
    playing_stems,
    selected_renders,
)
from soundstage.session.model import load_session
from soundstage.session.outputs import REPORT_NAME, commit, finalize, match_ab, output_folder, plan_outputs
from soundstage.session.page import write_page
from soundstage.session.report import RenderResult, device_figure_stages, device_figures, render_summary, report_of
from soundstage.session.stems import inspect_stems, timeline_frames
from soundstage.session.streams import run_audio

__all__ = ["REPORT_NAME", "RenderResult", "SessionParameters", "check_chains", "render_session", "render_summary"]


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
    playing = playing_stems(session, stems)
    renders = selected_renders(session, only, head_given=hrtf is not None)
    folder = on_disk(Path(output_dir))
    stem_chains = load_stem_chains(session, stems)
    bus_chains, master = load_mix_chains(session)
    render_chains = load_render_chains(session, "hrtf" if hrtf is None else "the head given for this render (hrtf, --hrtf)")
    total = timeline_frames(session, stems, rate)
    with output_folder(folder):
        plan = plan_outputs(session, stems, renders, render_chains, folder, overwrite, rate, total)
        running = [r for r in renders if r.name not in plan.failures]
        graph = SessionGraph(session, rate, playing, stem_chains, bus_chains, master, running, render_chains, total)
        # the device figures, at the chains' settings before any automation moves them: copies of the stages
        # taken now, figured on a thread of their own while the audio renders
        figuring = ThreadPoolExecutor(1, thread_name_prefix="soundstage-figures")
        figures_job = figuring.submit(device_figures, device_figure_stages(graph), rate)
        figuring.shutdown(wait=False)
        load_automation(graph)
        notes: dict[str, str] = {}
        try:
            if graph.renders:  # every render refused before any work (a WAV over 4 GiB, ...): no audio to make
                with threadpool_limits(limits=1, user_api="blas"):  # the stems' threads are the parallelism (module notes)
                    run_audio(graph, plan, total, block, progress, seed)
            for render in graph.renders:
                if render.kind == "ab" and render.name not in plan.failures:
                    notes[render.name] = match_ab(render, plan.outputs[render.name])
            finalize(graph.renders, plan, seed)
            written = commit(graph.renders, plan)
        except BaseException:
            for outputs in plan.outputs.values():
                for output in outputs:
                    output.discard()
            figures_job.cancel()
            raise
        figures = figures_job.result()
        report = report_of(graph, plan, total, started, notes)
        for entry in report["renders"]:
            entry.update(figures.get(entry["name"], {}))
        if written:  # a call whose every render failed leaves the folder as it was
            write_text(folder / REPORT_NAME, json.dumps(report, indent=2))
            write_page(folder)
        return RenderResult(written, report, dict(plan.failures))
