"""Spatial fidelity on a measured head: the figures of the fidelity issue (13), each beside its target.

Designs are made on a model (``--design-hrtf``: ``model``, ``brown-duda``, ``rigid-sphere``, ``blended-sphere``) and
evaluated on a measured head (``--hrtf``, default MIT KEMAR); the personalized
rows are designed on the measured head itself. Nothing here is fitted to the head
it evaluates on.

    python benchmarks/fidelity.py [--hrtf SET.sofa] [--design-hrtf model|brown-duda|rigid-sphere|blended-sphere]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import sofar

from soundstage import Chain, Spatializer
from soundstage.acoustics.geometry import azimuth_elevation_deg, direction
from soundstage.acoustics.hrtf import DEFAULT_SOFA, HeadChoice, HrtfSet
from soundstage.acoustics.profiles import ListeningRegion, load_profile
from soundstage.analysis.binaural import iacc, ild_db
from soundstage.analysis.crosstalk import MovedEars, other_listeners, region_separation_db, separation_db
from soundstage.analysis.device import TONAL_OCTAVES_HZ, pink_noise, tonal_balance, width_cues
from soundstage.demo import example_mix
from soundstage.stages.crosstalk import design_crosstalk_canceller
from soundstage.stages.device import PERSONAL_SEPARATION_PER_WIDTH_DB, SEPARATION_PER_WIDTH_DB
from soundstage.stages.monitors import BinauralMonitor, StereoReference
from soundstage.stages.virtualizer import design_virtualizer

SR = 48000.0
EDGE = 8000


#: The issue's listening region: +-5 deg yaw, +-5 cm lateral (the designs' default also moves +-5 cm fore-aft).
ISSUE_REGION = ListeningRegion(fore_aft_m=0.0)


def _separation(
    design: object, profile: object, head: object, region_of: ListeningRegion = ISSUE_REGION
) -> tuple[float, float, float, float]:
    args = (design.impulse, design.delay_samples, SR, profile, head)  # type: ignore[attr-defined]
    _, center = separation_db(*args)
    region = region_separation_db(*args, region_of)
    return float(center.mean()), float(center.min()), region.mean_db, region.worst_seat[0]


def measured_set(head: HrtfSet | MovedEars) -> HrtfSet:
    """A listener of :func:`other_listeners` as a measured set on its base's grid (a moved ear's responses
    interpolated at its turned directions), to write as a SOFA file a monitor can load."""
    if isinstance(head, HrtfSet):
        return head
    base = head.head
    assert isinstance(base, HrtfSet)
    irs = np.empty_like(base.irs)
    for m, (azimuth, elevation) in enumerate(zip(base.azimuth_deg, base.elevation_deg)):
        for ear in (0, 1):
            irs[m, ear] = base.hrir(*azimuth_elevation_deg(head.heard_as(ear, direction(azimuth, elevation))[0]))[ear]
    return HrtfSet(irs, base.azimuth_deg, base.elevation_deg, base.sample_rate, f"{base.source} moved", base.radius_m)


def write_sofa(head: HrtfSet, path: Path) -> Path:
    """``head`` as a SimpleFreeFieldHRIR file (sofar), sources 1.4 m away."""
    sofa = sofar.Sofa("SimpleFreeFieldHRIR")
    sofa.Data_IR = head.irs
    sofa.Data_SamplingRate = head.sample_rate
    sofa.SourcePosition = np.stack([head.azimuth_deg, head.elevation_deg, np.full(len(head.azimuth_deg), 1.4)], axis=1)
    sofa.ReceiverPosition = np.array([[0.0, head.radius_m, 0.0], [0.0, -head.radius_m, 0.0]])[:, :, None]
    sofar.write_sofa(str(path), sofa, compression=0)
    return path


def width_on_other_listeners(spatializer: Spatializer, measured: HrtfSet) -> str:
    """Width at 2 m on each of :func:`other_listeners` (written as SOFA files for the monitor): the largest ITD and
    ILD off a real +-30 deg pair on the same listener, hard left and right, and the phantom center's."""
    sides: list[tuple[float, float, str]] = []
    centers: list[tuple[float, float, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        for label, head in other_listeners(measured):
            path = write_sofa(measured_set(head), Path(folder) / "listener.sofa")
            for row in width_cues(spatializer, BinauralMonitor(hrtf=str(path), distance_m=2.0), SR):
                cue = (abs(row["device_itd_us"] - row["reference_itd_us"]), abs(row["device_ild_db"] - row["reference_ild_db"]))
                (centers if row["source"] == "center" else sides).append((*cue, label))
    itd, ild = max(sides), max(sides, key=lambda cue: cue[1])
    center_itd, center_ild = max(centers), max(centers, key=lambda cue: cue[1])
    return (
        f"width at 2 m on the other listeners, worst of {len(sides) // 2}: hard left / right ITD {itd[0]:.0f} us ({itd[2]}), "
        f"ILD {ild[1]:.1f} dB ({ild[2]}); center ITD {center_itd[0]:.0f} us, ILD {center_ild[1]:.1f} dB "
        "(KEMAR's limits 40 us, 2 dB and 20 us, 1 dB; other listeners' goal 60 us, 3 dB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hrtf", default=str(DEFAULT_SOFA), help="the measured head to evaluate on")
    parser.add_argument("--design-hrtf", default="model", help="the model the designs are made on")
    args = parser.parse_args()
    measured = HeadChoice(args.hrtf).head(SR)
    design_head = HeadChoice(args.design_hrtf).head(SR)
    print(f"designed on {args.design_hrtf}, evaluated on {args.hrtf}")

    profile = load_profile("studio-5", distance_m=1.0)
    default = design_crosstalk_canceller(profile, head=design_head, plateau_db=SEPARATION_PER_WIDTH_DB)
    mean, worst_band, region, worst_seat = _separation(default, profile, measured)
    print(
        f"separation at 1 m, 250 Hz-6.3 kHz: mean {mean:.1f} dB (target >= 15), worst band {worst_band:.1f} dB (>= 10); "
        f"region (+-5 deg yaw, +-5 cm lateral) mean {region:.2f} dB (>= 13), worst seat {worst_seat:.2f} dB (>= 10)"
    )
    _, _, region, worst_seat = _separation(default, profile, measured, ListeningRegion())
    print(f"  over the design's region (+-5 cm fore-aft too): mean {region:.2f} dB, worst seat {worst_seat:.2f} dB")
    exact = design_crosstalk_canceller(profile, head=design_head, plateau_db=SEPARATION_PER_WIDTH_DB, region=None)
    mean, worst_band, region, worst_seat = _separation(exact, profile, measured)
    print(
        f'  exact at the seat (region = "seat"): mean {mean:.1f} dB, worst band {worst_band:.1f} dB; '
        f"region mean {region:.1f} dB, worst seat {worst_seat:.1f} dB"
    )
    own = design_crosstalk_canceller(
        profile, head=measured, plateau_db=PERSONAL_SEPARATION_PER_WIDTH_DB, own_ear="head"
    )  # as a Spatializer on it
    mean, _, region, _ = _separation(own, profile, measured)
    print(f"personalized at 1 m: mean {mean:.1f} dB (>= 22), region mean {region:.1f} dB (>= 15)")
    for name, design in (("the default design", default), ('exact at the seat (region = "seat")', exact)):
        rows = []
        for label, other in other_listeners(measured):
            mean, worst_band, region, worst_seat = _separation(design, profile, other)
            rows.append(f"{label}: {mean:.1f} / {worst_band:.1f} / {region:.1f} / {worst_seat:.1f}")
        print(
            f"  {name} on other listeners made from the head (mean / worst band / region mean / worst seat, dB; "
            "their goal: mean >= 12, every band >= 6):\n    " + "\n    ".join(rows)
        )

    spatializer = Spatializer(hrtf=args.design_hrtf, distance_m=2.0)
    monitor = BinauralMonitor(hrtf=args.hrtf, distance_m=2.0)
    for row in width_cues(spatializer, monitor, SR):
        itd = row["device_itd_us"] - row["reference_itd_us"]
        ild = row["device_ild_db"] - row["reference_ild_db"]
        limit = "20 us, 1 dB" if row["source"] == "center" else "40 us, 2 dB"
        print(f"width at 2 m, {row['source']}: ITD {itd:+.0f} us, ILD {ild:+.1f} dB off a real +-30 deg pair (within {limit})")

    if isinstance(measured, HrtfSet):
        print("  " + width_on_other_listeners(spatializer, measured))

    virtual = design_virtualizer(SR, head=design_head)
    impulse = np.zeros(virtual.contralateral.shape)
    impulse[virtual.delay_samples] = 1.0
    octaves = np.array([125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0])
    real = measured.hrir(30.0) if hasattr(measured, "hrir") else None
    if real is not None:
        differences = ild_db(impulse, virtual.contralateral, SR, octaves, fraction=1) - ild_db(
            real[0], real[1], SR, octaves, fraction=1
        )
        print(
            "virtualizer ILD at 30 deg minus the head's, per octave: "
            + ", ".join(f"{f:g} Hz {d:+.1f}" for f, d in zip(octaves, differences))
            + " dB (within 2 dB from 1 kHz, 3 below)"
        )

    ratios = {name: pair_over_front_db(head) for name, head in ((args.design_hrtf, design_head), ("measured", measured))}
    print(
        "a +-30 deg pair's ear power over a source ahead's, per octave "
        + ", ".join(f"{f:g}" for f in TONAL_OCTAVES_HZ)
        + " Hz: "
        + "; ".join(f"{name} " + " ".join(f"{v:+.1f}" for v in values) for name, values in ratios.items())
        + " dB (a device whose sound comes from within +-5 deg hears the difference between heads as tonal balance)"
    )
    for design, label in ((args.design_hrtf, ""), (args.hrtf, " (personalized: designed on the head itself)")):
        balance = tonal_balance(Spatializer(hrtf=design), BinauralMonitor(hrtf=args.hrtf), SR)
        for program in ("center", "decorrelated", "mixed"):
            values = balance[program]
            largest, spread = max(values, key=abs), max(values) - min(values)
            print(f"tonal balance{label}, {program}: largest octave {largest:+.1f} dB, spread {spread:.1f} dB (within +-1.5)")
    for design, label in ((args.design_hrtf, ""), (args.hrtf, " (personalized)")):
        for name, row in interaural_correlation(design, args.hrtf):
            print(f"IACC{label}, {name}: " + "; ".join(row) + " (within 0.05)")
    for label, head in (("the measured head", args.hrtf), ("the design head itself", args.design_hrtf)):
        bands = "; ".join(width_by_band(args.design_hrtf, head))
        print(f"IACC of pink center + sides by band, device / stereo reference, on {label}: {bands}")


def pair_over_front_db(head: object) -> np.ndarray:
    """Per tonal-balance octave, both ears' power from one speaker of a +-30 degree pair over a source ahead's (dB,
    pink-weighted): what the tonal match assumes of the head when its device plays from ahead."""
    f = np.fft.rfftfreq(1 << 14, 1 / SR)[1:]
    ahead, side = (head.ear_responses(f, direction(azimuth)[None, :])[:, 0] for azimuth in (0.0, 30.0))  # type: ignore[attr-defined]
    ratio = []
    for center in TONAL_OCTAVES_HZ:
        band = (f >= center / np.sqrt(2)) & (f < center * np.sqrt(2))
        power = [np.sum(np.abs(ears[:, band]) ** 2 / f[band]) for ears in (side, ahead)]
        ratio.append(10 * np.log10(power[0] / power[1]))
    return np.array(ratio)


def pink_center_and_sides(seconds: float = 6.0) -> np.ndarray:
    """The issue's pink-noise mix, (2, samples) float32: a pink center in both channels plus a pink side in each, the
    three independent (seeded, the same on every run)."""
    rng = np.random.default_rng(11)
    center, left, right = (pink_noise(int(seconds * SR), rng) for _ in range(3))
    return np.stack([center + left, center + right]).astype(np.float32)


def ears_of(design_hrtf: str, hrtf: str, stereo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``stereo`` at the ears of ``hrtf``: through the device designed on ``design_hrtf`` and its binaural preview, and
    through the stereo reference; the filters' edges left out."""
    device = Chain([Spatializer(hrtf=design_hrtf), BinauralMonitor(hrtf=hrtf)])
    audio = np.asarray(stereo, np.float32)
    reference = StereoReference(hrtf=hrtf)
    return device(audio, SR)[:, EDGE:-EDGE].astype(float), reference(audio, SR)[:, EDGE:-EDGE].astype(float)


def interaural_correlation(design_hrtf: str, hrtf: str) -> list[tuple[str, list[str]]]:
    """Per program, the device preview's IACC beside the stereo reference's, in the two bands of the issue."""
    programs = {"demo mix": example_mix(int(SR), seconds=6.0), "pink center + sides": pink_center_and_sides()}
    rows = []
    for name, stereo in programs.items():
        ears = ears_of(design_hrtf, hrtf, stereo)
        row = []
        for band in ((500.0, 2000.0), (2000.0, 8000.0)):
            values = [iacc(heard, SR, band) for heard in ears]
            row.append(f"{band[0]:g}-{band[1]:g} Hz {values[0]:.2f} vs {values[1]:.2f} ({values[0] - values[1]:+.2f})")
        rows.append((name, row))
    return rows


#: Bands that split the issue's 2-8 kHz one at the device's mid / tweeter crossover (7 kHz in studio-5).
WIDTH_BANDS = ((500.0, 1000.0), (1000.0, 2000.0), (2000.0, 4000.0), (4000.0, 6000.0), (6000.0, 8000.0))


def width_by_band(design_hrtf: str, hrtf: str) -> list[str]:
    """The device preview's IACC beside the stereo reference's for :func:`pink_center_and_sides`, per band of
    :data:`WIDTH_BANDS`, heard on ``hrtf``: on the design head itself what remains is the device's, not a head's."""
    device, reference = ears_of(design_hrtf, hrtf, pink_center_and_sides())
    return [
        f"{low / 1000:g}-{high / 1000:g} kHz {iacc(device, SR, (low, high)):.2f} / {iacc(reference, SR, (low, high)):.2f}"
        for low, high in WIDTH_BANDS
    ]


if __name__ == "__main__":
    main()
