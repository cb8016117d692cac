"""``soundstage analyze crosstalk``: the separation table and plot of a crosstalk canceller."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soundstage.acoustics.head import SphericalHead
from soundstage.acoustics.hrtf import HrtfSet
from soundstage.acoustics.profiles import load_profile
from soundstage.analysis.crosstalk import plain_stereo_separation_db, realised_response, separation_db
from soundstage.errors import SoundstageError
from soundstage.stages.crosstalk import design_crosstalk_canceller

__all__ = ["crosstalk_report"]


def crosstalk_report(
    device: str, distance_m: float, hrtf: str = "model", *, sample_rate: float = 48000.0, plot: Path | None = None
) -> str:
    """The crosstalk analysis of a device at a distance, as text (and a PNG if ``plot``)."""
    profile = load_profile(device, distance_m=distance_m)
    design = design_crosstalk_canceller(profile, sample_rate=sample_rate)
    model = SphericalHead()
    centres, designed = separation_db(
        design.impulse, design.modelling_delay, sample_rate, profile, model, low_hz=100, high_hz=10000
    )
    heads = {"model": designed}
    if hrtf != "model":
        measured_head = HrtfSet.from_sofa(hrtf, sample_rate=sample_rate)
        heads["measured"] = separation_db(
            design.impulse, design.modelling_delay, sample_rate, profile, measured_head, low_hz=100, high_hz=10000
        )[1]
    mids = profile.indices("mid")
    left, right = (mids[0], mids[1]) if len(mids) >= 2 else (0, 0)
    plain = plain_stereo_separation_db(
        profile, measured_head if hrtf != "model" else model, left, right, low_hz=100, high_hz=10000
    )
    frequencies, response = realised_response(design.impulse, design.modelling_delay, sample_rate)
    band = (frequencies >= 100) & (frequencies <= 8000)
    effort = 20 * np.log10(np.abs(response[band]).max())
    lines = [
        f"crosstalk canceller: {profile.name} at {distance_m:g} m, designed on the spherical head (radius {model.radius_m} m)",
        f"evaluated on: {'the design model' if hrtf == 'model' else measured_head.source}",
        f"filters: {design.impulse.shape[-1]} taps, modelling delay {design.modelling_delay} samples, "
        f"peak gain {effort:.1f} dB (100 Hz-8 kHz)",
        "",
        f"{'band Hz':>8}  {'target dB':>9}  {'model dB':>8}"
        + (f"  {'measured dB':>11}" if "measured" in heads else "")
        + f"  {'no CTC dB':>9}",
    ]
    target = design.info["target_db"]
    f = design.frequencies
    for index, centre in enumerate(centres):
        wanted = float(np.mean(target[(f >= centre / 10**0.05) & (f < centre * 10**0.05)]))
        row = f"{centre:8.0f}  {wanted:9.1f}  {heads['model'][index]:8.1f}"
        if "measured" in heads:
            row += f"  {heads['measured'][index]:11.1f}"
        lines.append(row + f"  {plain[index]:9.1f}")
    in_band = (centres >= 250) & (centres <= 6400)
    summary = f"mean 250 Hz-6.3 kHz: model {heads['model'][in_band].mean():.1f} dB"
    if "measured" in heads:
        summary += f", measured {heads['measured'][in_band].mean():.1f} dB (worst band {heads['measured'][in_band].min():.1f} dB)"
    lines += ["", summary + f", no CTC {plain[in_band].mean():.1f} dB"]
    if plot is not None:
        _plot(plot, centres, heads, plain, f"{profile.name} at {distance_m:g} m")
        lines.append(f"plot: {plot}")
    return "\n".join(lines)


def _plot(path: Path, centres: np.ndarray, heads: dict[str, np.ndarray], plain: np.ndarray, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SoundstageError("plots need matplotlib: pip install 'soundstage[plot]'") from None
    figure, axis = plt.subplots(figsize=(8, 4.5))
    for label, values in heads.items():
        axis.semilogx(centres, values, marker="o", label=f"{label} head")
    axis.semilogx(centres, plain, linestyle="--", color="grey", label="no crosstalk cancellation")
    axis.set_xlabel("frequency (Hz, 1/3-octave bands)")
    axis.set_ylabel("channel separation at the ears (dB)")
    axis.set_title(f"Crosstalk cancellation: {title}")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    temporary = path.with_name(f".{path.name}.partial.png")
    figure.savefig(temporary, dpi=110)
    plt.close(figure)
    temporary.replace(path)
