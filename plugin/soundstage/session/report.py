"""What a render reports: the JSON report beside its files (stems, chains, latencies, loudness, the device figures
of each render's device chain) and the summary the command prints."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import wcwidth

from soundstage.analysis.device import device_stages, stages_device_figures
from soundstage.analysis.loudness import short_term_lufs
from soundstage.errors import first_of
from soundstage.fileio import RING_CAP_S, missing_words, ringing_note
from soundstage.host.chain import Chain
from soundstage.session.graph import SessionGraph, playing_buses
from soundstage.session.outputs import REPORT_NAME, Output, OutputPlan, failure_reason
from soundstage.stages.device import Spatializer
from soundstage.stages.monitors import BinauralMonitor

__all__ = ["RenderResult", "device_figure_stages", "device_figures", "report_of", "render_summary"]


@dataclass
class RenderResult:
    """What a render produced: files and the report."""

    outputs: list[Path]
    report: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # render name -> one-line reason


_Stages = tuple[Spatializer, BinauralMonitor | None] | None | Exception


def device_figure_stages(graph: SessionGraph) -> dict[str, _Stages]:
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


def device_figures(stages: dict[str, _Stages], rate: float) -> dict[str, dict[str, Any]]:
    """Per render, ``{"device": figures}`` of its device stages (see :func:`device_figure_stages`).

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
            figures[name] = {"device_figures_error": failure_reason(error)}
    return figures


def report_of(graph: SessionGraph, plan: OutputPlan, total: int, started: float, notes: dict[str, str]) -> dict[str, Any]:
    """The render report (written as :data:`~soundstage.session.outputs.REPORT_NAME`): the session, its stems and
    chains with their latencies, each render's files with their loudness and peaks, ``total`` timeline samples
    rendered since ``started`` (``time.perf_counter``), and ``notes`` per render."""
    session, rate, stems, renders = graph.session, graph.rate, graph.stems, graph.renders
    stem_chains, bus_chains, master, render_chains = graph.stem_chains, graph.bus_chains, graph.master, graph.render_chains

    def latency(chain: Chain | None) -> int:
        return int(chain.latency_samples) if chain is not None else 0

    elapsed = time.perf_counter() - started
    playing, mixed = {info.stem.name for info in stems}, {bus.name for bus in playing_buses(session, stems)}
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
                "ringing_s": _ringing_s(plan.outputs[render.name]),
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


def _ringing_s(outputs: list[Output]) -> float:
    """How long past its end a render's chains still ring (s; 0.0: they do not, RING_CAP_S: that long or longer)."""
    heard = [output.ring.ringing_s for output in outputs if output.ring is not None]
    return round(min(max(heard, default=0.0), RING_CAP_S), 3)


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
    ringing = {render["name"]: render["ringing_s"] for render in report["renders"] if render.get("ringing_s")}
    if ringing:
        longest = max(ringing.values())
        seconds = math.inf if longest >= RING_CAP_S else longest
        what = f"render {next(iter(ringing))!r}" if len(ringing) == 1 else f"renders {first_of(list(ringing), 6)}"
        asked = "set tail_s = {} in the session file".format
        lines.append(ringing_note(what, seconds, report.get("tail_s") or 0.0, asked, many=len(ringing) > 1))
    lines.append(f"report: {folder / REPORT_NAME}")
    return lines
