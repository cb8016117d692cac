"""``soundstage analyze crosstalk``: the separation table and plot of a crosstalk canceller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.acoustics.head import HeadModel, HybridSphereHead
from soundstage.acoustics.hrtf import HeadChoice, HrtfSet
from soundstage.acoustics.profiles import Listener, ListeningRegion, load_profile
from soundstage.acoustics.transfer import transfer_matrix
from soundstage.analysis.beam import beam_figures, realized_beam_pattern
from soundstage.analysis.binaural import fractional_octave_bands, ild_db, itd_s, nominal_hz
from soundstage.analysis.crosstalk import (
    RegionSeparation,
    band_target_db,
    center_image_error,
    first_lowest,
    other_listeners,
    plain_stereo_separation_db,
    realized_response,
    region_separation_db,
    separation_db,
)
from soundstage.analysis.device import RegionWidth, ear_cues, program_figures, region_width_cues
from soundstage.errors import SoundstageError
from soundstage.files import atomic_path
from soundstage.host.chain import Chain
from soundstage.stages.beamformer import design_beamformer, design_matrix_mix
from soundstage.stages.crosstalk import DEFAULT_REGION, design_crosstalk_canceller
from soundstage.stages.device import Spatializer
from soundstage.stages.monitors import BinauralMonitor, StereoReference
from soundstage.stages.virtualizer import Virtualizer

__all__ = ["beam_report", "crosstalk_report", "device_report", "plot_format", "virtualizer_report", "zones_report"]


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, or a clear error if it is not installed."""
    try:
        import matplotlib  # noqa: PLC0415 (the optional `plot` extra)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415 (the optional `plot` extra)
    except ImportError:
        raise SoundstageError("plots need matplotlib: pip install 'soundstage[plot]'") from None
    return plt


def plot_format(path: Path) -> str:
    """The image format a plot at ``path`` is written in, by its ending (PNG where it has none); an error in one line
    where matplotlib writes no such format, or is not installed, so that is known before an analysis runs."""
    _pyplot()
    from matplotlib.backend_bases import FigureCanvasBase  # noqa: PLC0415 (`plot` extra; there: _pyplot)

    ending = path.suffix.lstrip(".").lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if ending and ending not in formats:
        raise SoundstageError(
            f"plot file {str(path)!r}: a plot cannot be written as .{ending}; end its name in .png, .svg or .pdf "
            f"(matplotlib writes {', '.join(sorted(formats))})"
        )
    return ending or "png"


def _db(value: float) -> float:
    """A dB figure rounded for a 0.1 dB table, without a "-0.0"."""
    return round(float(value), 1) + 0.0


def _save(plt: Any, figure: Any, path: Path, *, dpi: int) -> None:
    """Write a figure to ``path`` whole or not at all (a partial file is renamed into place), and close it."""
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=dpi, format=plot_format(path))
    finally:
        plt.close(figure)


def crosstalk_report(
    device: str,
    distance_m: float,
    hrtf: str | Sequence[str] = "model",
    *,
    design_hrtf: str = "model",
    region: ListeningRegion | None = None,
    robust: bool = True,
    others: bool = False,
    sample_rate: float = 48000.0,
    plot: Path | None = None,
) -> str:
    """The crosstalk analysis of a device at a distance, as text (and a PNG if ``plot``).

    ``hrtf``: the heads to evaluate on beside the design model (``"model"`` or SOFA
    files, one or several); ``design_hrtf``: the head the canceller is designed on
    (the model, or a SOFA file: a personalized design). With a ``region``, the
    separation over its seats (mean, and the worst seat) follows for every head.
    ``robust``: the canceller designed robust over that region (as the stages design it by default; without
    a region, :data:`~soundstage.stages.crosstalk.DEFAULT_REGION`), else exact at the seat. ``others``: also
    on the listeners made from each head (:func:`~soundstage.analysis.crosstalk.other_listeners`: other sizes,
    asymmetric ears), how the design holds on people who are not that head.
    """
    profile = load_profile(device, distance_m=distance_m)
    design_head = HeadChoice(design_hrtf).head(sample_rate)
    design_region = (region or DEFAULT_REGION) if robust else None  # the stages' default; the CLI's --seat: exact
    design = design_crosstalk_canceller(profile, sample_rate=sample_rate, head=design_head, region=design_region)
    model = HybridSphereHead()
    centers, designed = separation_db(
        design.impulse, design.delay_samples, sample_rate, profile, model, low_hz=100, high_hz=10000
    )
    files = [hrtf] if isinstance(hrtf, str) else list(hrtf)
    choices = {_head_label(file, files): HeadChoice(file) for file in files if file != "model"}
    measured = {label: choice.head(sample_rate) for label, choice in choices.items()}
    heads: dict[str, np.ndarray] = {"model": designed}
    for label, head in measured.items():
        heads[label] = separation_db(design.impulse, design.delay_samples, sample_rate, profile, head, low_hz=100, high_hz=10000)[
            1
        ]
    mids = profile.indices("mid")
    left, right = (mids[0], mids[1]) if len(mids) >= 2 else (0, 0)
    plain = plain_stereo_separation_db(profile, next(iter(measured.values()), model), left, right, low_hz=100, high_hz=10000)
    frequencies, response = realized_response(design.impulse, design.delay_samples, sample_rate)
    band = (frequencies >= 100) & (frequencies <= 8000)
    effort = 20 * np.log10(np.abs(response[band]).max())
    designed_on = f"the head model (radius {model.radius_m} m)"
    if isinstance(design_head, HrtfSet):
        designed_on = f"{design_head.source} (personalized)"
    elif design_hrtf != "model":
        designed_on = HeadChoice(design_hrtf).source(sample_rate)
    evaluated_on = ", ".join(choice.source(sample_rate) for choice in choices.values()) or "the design model"
    if design_region is not None:
        designed_on += f", robust over {design_region.describe()}"
    lines = [
        f"crosstalk canceller: {profile.name} at {distance_m:g} m, designed on {designed_on}",
        f"evaluated on: {evaluated_on}",
        f"filters: {design.impulse.shape[-1]} taps, modeling delay {design.delay_samples} samples, "
        f"peak gain {effort:.1f} dB (100 Hz-8 kHz)",
        "",
        f"{'band Hz':>8}  {'target dB':>9}  {'model dB':>8}"
        + "".join(f"  {label + ' dB':>{max(11, len(label) + 3)}}" for label in measured)
        + f"  {'no CTC dB':>9}",
    ]
    wanted = band_target_db(design.frequencies, design.info["target_db"], centers)  # power averages, as separation
    for index, center in enumerate(centers):
        row = f"{nominal_hz(center):8g}  {_db(wanted[index]):9.1f}  {_db(heads['model'][index]):8.1f}"
        row += "".join(f"  {_db(heads[label][index]):{max(11, len(label) + 3)}.1f}" for label in measured)
        lines.append(row + f"  {_db(plain[index]):9.1f}")
    in_band = (centers >= 250) & (centers <= 6400)
    summary = f"mean 250 Hz-6.3 kHz: model {heads['model'][in_band].mean():.1f} dB"
    for label in measured:
        summary += f", {label} {heads[label][in_band].mean():.1f} dB (worst band {heads[label][in_band].min():.1f} dB)"
    lines += ["", summary + f", no CTC {plain[in_band].mean():.1f} dB"]
    if region is not None:
        lines += ["", f"over the listening region ({region.describe()}; {len(region.positions())} seats), 250 Hz-6.3 kHz:"]
        evaluated: dict[str, HeadModel] = {"model": model, **measured}
        for label, seat_head in evaluated.items():
            spread = region_separation_db(design.impulse, design.delay_samples, sample_rate, profile, seat_head, region)
            worst, seat = spread.worst_seat
            x, y, _ = seat.position_m
            lines.append(
                f"  {label}: mean {spread.mean_db:.1f} dB, worst seat {worst:.1f} dB "
                f"(yaw {seat.yaw_deg:+g} deg, {100 * y:+g} cm lateral, {100 * x:+g} cm fore-aft)"
            )
    if others:
        lines += _other_listeners_lines(design, profile, measured or {"model": model}, region, sample_rate)
    if plot is not None:
        curves = [(centers, values, {"marker": "o", "label": f"{label} head"}) for label, values in heads.items()]
        curves.append((centers, plain, {"linestyle": "--", "color": "gray", "label": "no crosstalk cancellation"}))
        _band_plot(
            plot, curves, "channel separation at the ears (dB)", f"Crosstalk cancellation: {profile.name} at {distance_m:g} m"
        )
        lines.append(f"plot: {plot}")
    return "\n".join(lines)


def _other_listeners_lines(
    design: Any, profile: Any, heads: Mapping[str, HeadModel], region: ListeningRegion | None, sample_rate: float
) -> list[str]:
    """The ``others`` section of :func:`crosstalk_report`: per head, each listener made from it, at the seat (mean,
    worst band) and over the region (mean, worst seat)."""
    lines = ["", "on other listeners made from each head (250 Hz-6.3 kHz; at the seat: mean / worst band"]
    lines[-1] += "; over the region: mean / worst seat)" if region is not None else ")"
    for label, head in heads.items():
        lines.append(f"  {label}:")
        for name, other in other_listeners(head):
            args = (design.impulse, design.delay_samples, sample_rate, profile, other)
            bands = separation_db(*args)[1]
            row = f"    {name + ':':32s} {bands.mean():5.1f} / {bands.min():5.1f} dB"
            if region is not None:
                spread = region_separation_db(*args, region)
                row += f";  {spread.mean_db:5.1f} / {spread.worst_seat[0]:5.1f} dB"
            lines.append(row)
    return lines


def _head_label(file: str, files: list[str]) -> str:
    """A column label for a measured head: "measured" when it is the only one, else its file's stem."""
    measured = [f for f in files if f != "model"]
    return "measured" if len(measured) == 1 else Path(file).stem[:20]


def _band_plot(path: Path, curves: list[tuple[np.ndarray, np.ndarray, dict[str, Any]]], ylabel: str, title: str) -> None:
    """Values per frequency band on a log axis, one line per (centers, values, matplotlib style) curve."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(8, 4.5))
    for centers, values, style in curves:
        axis.semilogx(centers, values, **style)
    axis.set_xlabel("frequency (Hz, 1/3-octave bands)")
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    _save(plt, figure, path, dpi=110)


def _band_text(band: tuple[float, float] | None) -> str:
    return "" if band is None else f"({band[0]:g}-{band[1]:g} Hz)"


def beam_report(device: str, *, sample_rate: float = 48000.0, plot: Path | None = None) -> str:
    """The center beam of a device against the matrix mix, as text (and polar plots if ``plot``)."""

    profile = load_profile(device)
    beam = design_beamformer(profile, sample_rate=sample_rate)
    matrix = design_matrix_mix(profile, sample_rate=sample_rate)
    centers = fractional_octave_bands(250, 8000)
    b, m = beam_figures(beam, profile, centers), beam_figures(matrix, profile, centers)
    lines = [
        f"center beam: {profile.name}, drivers "
        + ", ".join(f"{profile.drivers[i].name} {_band_text(profile.drivers[i].beam_band)}" for i in beam.active_indices)
        + f"; matrix mix: {', '.join(profile.driver_names[i] for i in matrix.active_indices)} fed equally",
        "null depth at +-90 deg, level at +-45 deg re on axis, directivity index (sphere), front-to-side, white-noise gain",
        "",
        f"{'band Hz':>8} | {'null':>6} {'45deg':>6} {'DI':>5} {'F/S':>5} {'WNG':>6} | "
        f"matrix: {'null':>5} {'45deg':>6} {'DI':>5} {'F/S':>5} {'WNG':>5}",
    ]
    for i, center in enumerate(centers):
        lines.append(
            f"{center:8.0f} | {b.null_depth_db[i]:6.1f} {b.level_45_db[i]:6.1f} {b.directivity_index_db[i]:5.1f} "
            f"{b.front_to_side_db[i]:5.1f} {b.wng_db[i]:6.1f} |         {m.null_depth_db[i]:5.1f} {m.level_45_db[i]:6.1f} "
            f"{m.directivity_index_db[i]:5.1f} {m.front_to_side_db[i]:5.1f} {m.wng_db[i]:5.1f}"
        )
    band = (centers >= 500) & (centers <= 3000)
    lines += [
        "",
        f"0.5-3 kHz: beam null >= {b.null_depth_db[band].min():.1f} dB, front-to-side {b.front_to_side_db[band].mean():.1f} dB, "
        f"DI {b.directivity_index_db[band].mean():.1f} dB; matrix null >= {m.null_depth_db[band].min():.1f} dB, "
        f"front-to-side {m.front_to_side_db[band].mean():.1f} dB, DI {m.directivity_index_db[band].mean():.1f} dB",
    ]
    if plot is not None:
        _polar_plot(plot, beam, matrix, profile)
        lines.append(f"plot: {plot}")
    return "\n".join(lines)


def _polar_plot(path: Path, beam: object, matrix: object, profile: object) -> None:

    plt = _pyplot()
    azimuths = np.arange(-180.0, 181.0, 2.0)
    figure, axes = plt.subplots(1, 4, figsize=(14, 4), subplot_kw={"projection": "polar"})
    for axis, frequency in zip(axes, (500.0, 1000.0, 2000.0, 3000.0)):
        for label, design, style in (("beam", beam, "-"), ("matrix mix", matrix, "--")):
            f, pattern = realized_beam_pattern(design, profile, azimuths)  # type: ignore[arg-type]
            row = int(np.argmin(np.abs(f - frequency)))
            level = 20 * np.log10(np.maximum(np.abs(pattern[row]) / np.abs(pattern[row, azimuths == 0.0][0]), 1e-3))
            axis.plot(np.radians(azimuths), np.maximum(level, -40.0), style, label=label)
        axis.set_title(f"{frequency:g} Hz")
        axis.set_rlim(-40, 6)
        axis.set_theta_zero_location("N")
    axes[0].legend(loc="lower left", fontsize=8)
    figure.suptitle("Center beam vs matrix mix (dB re on axis; 0 deg = toward the listener)")
    figure.tight_layout()
    _save(plt, figure, path, dpi=100)


def zones_report(device: str, *, hrtf: str = "model", sample_rate: float = 48000.0, plot: Path | None = None) -> str:
    """Separation and center-image stability over a grid of listener positions (x 1.5-3 m, y +-0.5 m).

    Separation: the crosstalk canceller designed for each distance, listener moved
    sideways. Center image: the center beam's ear cues minus a point source's at the
    device (ITD us, ILD dB over 1-4 kHz) — how far the phantom center strays from
    the device as the listener moves.
    """

    head = HeadChoice(hrtf).head(sample_rate)
    xs = np.arange(1.5, 3.01, 0.25)
    ys = np.round(np.arange(-0.5, 0.501, 0.05), 3)
    grid = np.zeros((len(xs), len(ys)))
    itd_error, ild_error = np.zeros_like(grid), np.zeros_like(grid)
    beam = design_beamformer(load_profile(device), sample_rate=sample_rate)
    frequencies = realized_response(beam.impulse, beam.delay_samples, sample_rate)[0]  # the grid both figures use
    for i, x in enumerate(xs):
        profile = load_profile(device, distance_m=float(x))
        design = design_crosstalk_canceller(profile, sample_rate=sample_rate)
        for j, y in enumerate(ys):
            listener = Listener(position_m=(0.0, float(y), 0.0))
            plant = transfer_matrix(profile, frequencies, head, listener=listener)  # shared by both figures
            grid[i, j] = separation_db(
                design.impulse, design.delay_samples, sample_rate, profile, head, listener=listener, plant=plant
            )[1].mean()
            itd_error[i, j], ild_error[i, j] = center_image_error(
                beam.impulse, beam.delay_samples, sample_rate, profile, head, listener=listener, plant=plant
            )
    good = grid >= 10.0
    stable = (np.abs(itd_error) <= 20.0) & (np.abs(ild_error) <= 1.0)
    lines = [
        f"listening zone: {device}, canceller designed for each distance, "
        f"evaluated on {'the design model' if hrtf == 'model' else hrtf}",
        "mean separation 250 Hz-6.3 kHz (dB) by distance x (rows) and sideways offset y (columns, m)",
        "",
        "   x \\ y " + " ".join(f"{y:5.2f}" for y in ys[::2]),
    ]
    for i, x in enumerate(xs):
        lines.append(f"{x:8.2f} " + " ".join(f"{v:5.1f}" for v in grid[i, ::2]))
    lines += [
        "",
        "center image vs a source at the device: ITD error (us) / ILD error (dB, 1-4 kHz)",
        "",
        "   x \\ y " + " ".join(f"{y:9.2f}" for y in ys[::4]),
    ]
    for i, x in enumerate(xs):
        lines.append(f"{x:8.2f} " + " ".join(f"{t:4.0f}/{d:4.1f}" for t, d in zip(itd_error[i, ::4], ild_error[i, ::4])))
    lines += [
        "",
        f"fraction of the grid with >= 10 dB separation: {good.mean():.0%}; "
        f"with the center image within 20 us and 1 dB of the device: {stable.mean():.0%} "
        f"(worst {np.abs(itd_error).max():.0f} us, {np.abs(ild_error).max():.1f} dB)",
    ]
    if plot is not None:
        plt = _pyplot()
        figure, (axis, image_axis) = plt.subplots(1, 2, figsize=(13, 4.5))
        extent = (ys[0], ys[-1], xs[0], xs[-1])
        image = axis.imshow(grid, origin="lower", aspect="auto", extent=extent, cmap="viridis", vmin=0, vmax=25)
        axis.contour(ys, xs, grid, levels=[10.0], colors="white")
        axis.set_xlabel("sideways offset y (m, + = left)")
        axis.set_ylabel("listener distance x (m)")
        axis.set_title(f"Separation: {device} (white: 10 dB)")
        figure.colorbar(image, ax=axis, label="mean separation (dB)")
        shift = image_axis.imshow(np.abs(ild_error), origin="lower", aspect="auto", extent=extent, cmap="magma_r", vmin=0, vmax=3)
        image_axis.set_xlabel("sideways offset y (m, + = left)")
        image_axis.set_title("Center image: |ILD error| re a source at the device")
        figure.colorbar(shift, ax=image_axis, label="dB")
        figure.tight_layout()
        _save(plt, figure, plot, dpi=100)
        lines.append(f"plot: {plot}")
    return "\n".join(lines)


def device_report(
    device: str,
    *,
    hrtf: str | Sequence[str] = "model",
    design_hrtf: str = "model",
    distance_m: float = 2.0,
    region: ListeningRegion | None = None,
    sample_rate: float = 48000.0,
    plot: Path | None = None,
) -> str:
    """End-to-end figures of the device chain, per head it is heard on: width and center against real
    loudspeakers, separation and tonal balance, at the seat and over a listening region; and the beam.

    ``design_hrtf``: the head the Spatializer is designed on (a SOFA file: personalized); ``hrtf``: the heads
    it is heard on (one or several); ``region``: the seats the figures are also given over (default: the
    designs' own, +-5 deg yaw, +-5 cm lateral and fore-aft); ``plot``: a PNG of separation and width per seat.
    """
    rate = int(sample_rate)
    source = (0.3 * np.random.default_rng(0).standard_normal(2 * rate)).astype(np.float32)
    profile = load_profile(device, distance_m=distance_m)
    region = region or ListeningRegion()
    mids = profile.indices("mid")
    spatializer = Spatializer(device=device, hrtf=design_hrtf, distance_m=distance_m)
    design = spatializer.canceller_design(sample_rate)

    def cues(render: object, stereo: np.ndarray) -> tuple[float, float]:
        return ear_cues(render(stereo, sample_rate), sample_rate)  # type: ignore[operator]

    files = [hrtf] if isinstance(hrtf, str) else list(hrtf)
    designed_on = "" if design_hrtf == "model" else f", designed on {design_hrtf} (personalized)"
    lines: list[str] = []
    figures: dict[str, tuple[np.ndarray, np.ndarray, RegionSeparation, RegionWidth]] = {}
    for file in files:
        label = "the head model" if file == "model" else file
        monitor = BinauralMonitor(device=device, hrtf=file, distance_m=distance_m)
        reference = StereoReference(hrtf=file, distance_m=distance_m)
        device_chain = Chain([Spatializer(device=device, hrtf=design_hrtf, distance_m=distance_m), monitor])

        def plain(stereo: np.ndarray, rate_hz: float, monitor: BinauralMonitor = monitor) -> np.ndarray:
            feeds = np.zeros((len(profile.drivers), stereo.shape[1]), np.float32)
            if len(mids) >= 2:
                feeds[mids[0]], feeds[mids[1]] = stereo[0], stereo[1]
            return monitor(feeds, rate_hz)

        left, center = np.stack([source, 0 * source]), np.stack([source, source])
        rows = [("hard-left ITD us / ILD 1-4 kHz dB", cues(device_chain, left), cues(reference, left), cues(plain, left))]
        rows.append(("center ITD us / ILD dB", cues(device_chain, center), cues(reference, center), cues(plain, center)))
        head = HeadChoice(file).head(sample_rate)
        filters = (design.impulse, design.delay_samples, sample_rate, profile, head)
        centers, separation = separation_db(*filters, low_hz=100, high_hz=10000)
        spread = region_separation_db(*filters, region, low_hz=100, high_hz=10000)
        width = region_width_cues(spatializer, monitor, sample_rate, region)
        balance, correlation = program_figures(spatializer, monitor, sample_rate)
        figures["model" if file == "model" else Path(file).stem] = (centers, separation, spread, width)
        lines += [
            *([""] if lines else []),
            f"device chain: {device} at {distance_m:g} m{designed_on}, heard through {label}",
            *_cue_lines(rows),
            *_separation_lines(centers, separation, spread),
            *_region_width_lines(width, region),
            *_tonal_lines(balance),
            "",
            "width of the mixed program at the ears: interaural cross-correlation (largest over +-1 ms), device chain / "
            "stereo reference: "
            + "; ".join(f"{band} {pair[0]:.2f} / {pair[1]:.2f} ({pair[0] - pair[1]:+.2f})" for band, pair in correlation.items()),
        ]
    beam = beam_figures(spatializer.beam_design(sample_rate), profile, fractional_octave_bands(500, 3000))
    matrix = beam_figures(design_matrix_mix(profile, sample_rate=sample_rate), profile, fractional_octave_bands(500, 3000))
    lines += [
        "",
        f"center beam 0.5-3 kHz: side null >= {beam.null_depth_db.min():.1f} dB, 45 deg >= {beam.level_45_db.min():.1f} dB, "
        f"front-to-side {beam.front_to_side_db.mean():.1f} dB, DI {beam.directivity_index_db.mean():.1f} dB "
        f"(matrix mix: null {matrix.null_depth_db.min():.1f} dB, front-to-side {matrix.front_to_side_db.mean():.1f} dB, "
        f"DI {matrix.directivity_index_db.mean():.1f} dB)",
    ]
    if plot is not None:
        _device_plot(plot, figures, f"Device chain: {device} at {distance_m:g} m, over {region.describe()}")
        lines.append(f"plot: {plot}")
    return "\n".join(lines)


def _cue_lines(rows: list[tuple[str, tuple[float, float], tuple[float, float], tuple[float, float]]]) -> list[str]:
    """The ITD / ILD table: per source, the device chain's cues beside the stereo reference's and plain side drivers'."""
    lines = ["", f"{'':<36} {'device chain':>16} {'stereo reference':>18} {'plain side drivers':>20}"]
    for row_label, dev, ref, pl in rows:
        lines.append(
            f"{row_label:<36} {round(dev[0]) + 0:7d} / {_db(dev[1]):5.1f}   {round(ref[0]) + 0:9d} / {_db(ref[1]):5.1f}   "
            f"{round(pl[0]) + 0:11d} / {_db(pl[1]):5.1f}"
        )
    return lines


def _separation_lines(centers: np.ndarray, separation: np.ndarray, spread: RegionSeparation) -> list[str]:
    """Crosstalk separation over 250 Hz-6.3 kHz at the seat (mean, worst band) and over the region (mean, worst seat)."""
    in_band = (centers >= 250) & (centers <= 6400)
    seat_means = spread.per_seat_db[:, in_band].mean(axis=1)
    worst = spread.worst_index(in_band)
    return [
        "",
        f"crosstalk separation 250 Hz-6.3 kHz: mean {separation[in_band].mean():.1f} dB, worst band "
        f"{separation[in_band].min():.1f} dB; over the region mean {seat_means.mean():.1f} dB, "
        f"worst seat {seat_means[worst]:.1f} dB ({_seat(spread.seats[worst])})",
    ]


def _region_width_lines(width: RegionWidth, region: ListeningRegion) -> list[str]:
    """Width and center over the region: per source, the device's ITD and ILD minus real loudspeakers' (mean and worst)."""
    lines = [
        "",
        f"over the listening region ({region.describe()}; {len(width.seats)} seats), the device minus real "
        "loudspeakers heard from the same seat (a +-30 deg speaker; for the center, one where the device stands):",
        f"{'source':<12} {'ITD us mean |d|':>16} {'worst':>7}  {'ILD dB mean |d|':>16} {'worst':>7}  at (worst ILD)",
    ]
    for name in ("hard left", "center", "hard right"):
        itd, ild = width.errors(name)
        index = first_lowest(-np.abs(ild))
        lines.append(
            f"{name:<12} {np.abs(itd).mean():16.0f} {itd[first_lowest(-np.abs(itd))]:+7.0f}  {np.abs(ild).mean():16.1f} "
            f"{ild[index]:+7.1f}  {_seat(width.seats[index])}"
        )
    return lines


def _tonal_lines(balance: dict[str, Any]) -> list[str]:
    """The tonal balance against the stereo reference: octave levels minus their mean, per program, and their spread."""
    lines = [
        "",
        "tonal balance against the stereo reference, pink noise, both ears, octave levels minus their mean (dB):",
        f"{'octave Hz':<14}" + "".join(f"{nominal_hz(f):>7g}" for f in balance["octaves_hz"]) + "   spread",
    ]
    for program in ("center", "decorrelated", "mixed"):
        values = balance[program]
        lines.append(f"{program:<14}" + "".join(f"{_db(v):>7.1f}" for v in values) + f"   {max(values) - min(values):6.1f}")
    return lines


def _seat(seat: Listener) -> str:
    """A seat of a listening region, relative to the nominal one."""
    x, y, _ = seat.position_m
    return f"yaw {seat.yaw_deg:+g} deg, {100 * y:+g} cm lateral, {100 * x:+g} cm fore-aft"


def _device_plot(
    path: Path, figures: dict[str, tuple[np.ndarray, np.ndarray, RegionSeparation, RegionWidth]], title: str
) -> None:
    """Separation per band (seat, region mean, worst seat) and the width errors per seat, per head."""
    plt = _pyplot()
    figure, (separation_axis, itd_axis, ild_axis) = plt.subplots(3, 1, figsize=(9, 10))
    for label, (centers, at_seat, spread, width) in figures.items():
        line = separation_axis.semilogx(centers, at_seat, marker="o", label=f"{label}: seat")[0]
        in_band = (centers >= 250) & (centers <= 6400)
        worst = spread.worst_index(in_band)
        color = line.get_color()
        separation_axis.semilogx(
            centers, spread.per_seat_db.mean(axis=0), color=color, linestyle="--", label=f"{label}: region mean"
        )
        separation_axis.semilogx(centers, spread.per_seat_db[worst], color=color, linestyle=":", label=f"{label}: worst seat")
        seats = np.arange(len(width.seats))
        for name, marker in (("hard left", "<"), ("center", "o"), ("hard right", ">")):
            itd, ild = width.errors(name)
            itd_axis.plot(seats, itd, marker=marker, linestyle="", label=f"{label}: {name}")
            ild_axis.plot(seats, ild, marker=marker, linestyle="", label=f"{label}: {name}")
    separation_axis.set(xlabel="frequency (Hz, 1/3-octave bands)", ylabel="separation (dB)", title=title)
    itd_axis.set(ylabel="ITD, device minus real (us)")
    ild_axis.set(xlabel="seat (0: the nominal seat)", ylabel="ILD 1-4 kHz, device minus real (dB)")
    for axis in (separation_axis, itd_axis, ild_axis):
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize="x-small")
    figure.tight_layout()
    _save(plt, figure, path, dpi=110)


def virtualizer_report(
    *,
    azimuth_deg: float = 30.0,
    head_radius_m: float = 0.0875,
    hrtf: str = "model",
    against: str | None = None,
    sample_rate: float = 48000.0,
    plot: Path | None = None,
) -> str:
    """The Virtualizer's interaural cues beside a measured head's at the same angle, as text (and a PNG if ``plot``).

    The virtualizer is driven with an impulse on its left input; its two outputs
    are the ears. ITD by cross-correlation (100-1500 Hz), ILD per octave band
    (power averages), the ipsilateral path's flatness over 20 Hz-20 kHz. With
    ``against`` (a SOFA file), the measured HRIR pair at ``azimuth_deg`` gives the
    same figures for comparison.
    """

    stage = Virtualizer(hrtf=hrtf, azimuth_deg=azimuth_deg, head_radius_m=head_radius_m)
    impulse = np.zeros((2, 16384), np.float32)
    impulse[0, 200] = 1.0
    ears = stage(impulse, sample_rate).astype(float)
    octaves = fractional_octave_bands(125, 8000, fraction=1)
    ild = ild_db(ears[0], ears[1], sample_rate, octaves, fraction=1)
    spectrum = np.fft.rfft(ears[0])
    frequencies = np.fft.rfftfreq(ears.shape[1], 1 / sample_rate)
    audible = (frequencies >= 20) & (frequencies <= 20000)
    ipsi_db = 20 * np.log10(np.abs(spectrum[audible]))
    pair = None if against is None else HrtfSet.from_sofa(against, sample_rate=sample_rate).hrir(azimuth_deg)
    lines = [
        f"virtualizer: speakers at +-{azimuth_deg:g} deg, head: {stage.hrtf_source}",
        f"compared with: {against if against is not None else 'nothing (--against SOFA)'}",
        "",
        f"ITD: virtualizer {itd_s(ears[0], ears[1], sample_rate) * 1e6:.0f} us"
        + (f", measured {itd_s(pair[0], pair[1], sample_rate) * 1e6:.0f} us" if pair is not None else ""),
        f"ipsilateral path: {ipsi_db.min():+.2f} to {ipsi_db.max():+.2f} dB over 20 Hz-20 kHz",
        "",
        f"{'octave Hz':>9}  {'virtualizer ILD dB':>18}"
        + (f"  {'measured ILD dB':>15}  {'difference dB':>13}" if pair is not None else ""),
    ]
    measured = None if pair is None else ild_db(pair[0], pair[1], sample_rate, octaves, fraction=1)
    for index, center in enumerate(octaves):
        row = f"{nominal_hz(center):9g}  {ild[index]:18.1f}"
        if measured is not None:
            row += f"  {measured[index]:15.1f}  {ild[index] - measured[index]:+13.1f}"
        lines.append(row)
    if plot is not None:
        thirds = fractional_octave_bands(100, 16000)
        curves = [(thirds, ild_db(ears[0], ears[1], sample_rate, thirds), {"marker": "o", "label": "virtualizer"})]
        if pair is not None:
            curves.append((thirds, ild_db(pair[0], pair[1], sample_rate, thirds), {"marker": "s", "label": "measured head"}))
        _band_plot(plot, curves, "ILD (dB, ipsilateral over contralateral)", f"Virtualizer at +-{azimuth_deg:g} deg")
        lines.append(f"plot: {plot}")
    return "\n".join(lines)
