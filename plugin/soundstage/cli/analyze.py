"""``soundstage analyze``: the spatial designs measured (crosstalk, beam, zones, the device end to end, the
virtualizer), as tables and plots."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from soundstage.cli.arguments import DISTANCE, ranged, region_arguments
from soundstage.errors import SoundstageError

__all__ = ["add_analyze"]


def _plot_path(args: argparse.Namespace) -> Path | None:
    """The ``--plot`` file, checked before the analysis runs (its folder exists and is writable, matplotlib writes
    its format)."""
    from soundstage.analysis.report import plot_format
    from soundstage.fileio import check_output_path

    if not args.plot:
        return None
    path = check_output_path(args.plot, inputs=[], overwrite=True, example="plot.png")
    plot_format(path)
    return path


def _cmd_analyze_crosstalk(args: argparse.Namespace) -> int:
    from soundstage.acoustics.profiles import ListeningRegion
    from soundstage.analysis.report import crosstalk_report

    region = ListeningRegion(args.region_yaw_deg, args.region_lateral_m, args.region_fore_aft_m)
    plot = _plot_path(args)
    report = crosstalk_report(
        args.device,
        args.distance_m,
        args.hrtf or ["model"],
        design_hrtf=args.design_hrtf,
        region=region,
        robust=not args.seat,
        others=args.other_listeners,
        plot=plot,
    )
    print(report)
    return 0


def _cmd_analyze_beam(args: argparse.Namespace) -> int:
    from soundstage.analysis.report import beam_report

    print(beam_report(args.device, plot=_plot_path(args)))
    return 0


def _cmd_analyze_virtualizer(args: argparse.Namespace) -> int:
    from soundstage.acoustics.hrtf import DEFAULT_SOFA, HEAD_MODELS
    from soundstage.analysis.report import virtualizer_report

    against = None if args.against == "none" else (args.against or str(DEFAULT_SOFA))
    if args.head_radius_m is not None and args.hrtf and args.hrtf not in HEAD_MODELS:
        raise SoundstageError(
            f"--head-radius-m {args.head_radius_m:g} sizes a head model, and --hrtf {args.hrtf!r} is a measured head "
            "of its own size: give one of them"
        )
    print(
        virtualizer_report(
            azimuth_deg=args.azimuth_deg,
            head_radius_m=0.0875 if args.head_radius_m is None else args.head_radius_m,
            hrtf=args.hrtf,
            against=against,
            plot=_plot_path(args),
        )
    )
    return 0


def _cmd_analyze_zones(args: argparse.Namespace) -> int:
    from soundstage.analysis.report import zones_report

    print(zones_report(args.device, hrtf=args.hrtf, plot=_plot_path(args)))
    return 0


def _cmd_analyze_device(args: argparse.Namespace) -> int:
    from soundstage.acoustics.profiles import ListeningRegion
    from soundstage.analysis.report import device_report

    region = ListeningRegion(args.region_yaw_deg, args.region_lateral_m, args.region_fore_aft_m)
    report = device_report(
        args.device,
        hrtf=args.hrtf or ["model"],
        design_hrtf=args.design_hrtf,
        distance_m=args.distance_m,
        region=region,
        plot=_plot_path(args),
    )
    print(report)
    return 0


def add_analyze(commands: Any) -> None:
    """``soundstage analyze crosstalk | beam | zones | device | virtualizer``."""
    analyze = commands.add_parser("analyze", help="measure spatial designs").add_subparsers(dest="analyze_command", required=True)
    crosstalk = analyze.add_parser("crosstalk", help="channel separation of a device's crosstalk canceller per 1/3-octave band")
    crosstalk.add_argument("--device", default="studio-5", help="device profile name or file")
    crosstalk.add_argument("--distance-m", type=DISTANCE, default=2.0, help="listener distance (m)")
    crosstalk.add_argument(
        "--hrtf",
        nargs="+",
        action="extend",
        default=None,
        help="'model' (the default) or SOFA files to evaluate on (e.g. the MIT KEMAR set); several allowed",
    )
    crosstalk.add_argument(
        "--design-hrtf",
        default="model",
        help="design on this SOFA file (personalized) or another head model: "
        "'brown-duda', 'rigid-sphere', 'blended-sphere', 'head-and-torso'",
    )
    region_arguments(crosstalk)
    crosstalk.add_argument(
        "--seat",
        action="store_true",
        help='design the canceller exact at the seat (region = "seat"), not robust over the listening region',
    )
    crosstalk.add_argument(
        "--other-listeners",
        action="store_true",
        help="also on listeners made from each head: 0.9-1.1 times its size (a SOFA set), ears moved 5 deg asymmetrically",
    )
    crosstalk.add_argument("--plot", default=None, help="write separation vs frequency to this PNG (needs matplotlib)")
    crosstalk.set_defaults(run=_cmd_analyze_crosstalk)
    beam = analyze.add_parser("beam", help="the center beam against the matrix mix: nulls, 45 deg level, DI, WNG")
    beam.add_argument("--device", default="studio-5", help="device profile name or file")
    beam.add_argument("--plot", default=None, help="polar plots to this PNG (needs matplotlib)")
    beam.set_defaults(run=_cmd_analyze_beam)
    zones = analyze.add_parser("zones", help="separation over a grid of listener positions")
    zones.add_argument("--device", default="studio-5", help="device profile name or file")
    zones.add_argument("--hrtf", default="model", help="the head to hear it on: a head model's name or a SOFA file")
    zones.add_argument("--plot", default=None, help="the map as a PNG (needs matplotlib)")
    zones.set_defaults(run=_cmd_analyze_zones)
    device_cmd = analyze.add_parser("device", help="end-to-end figures of the device chain in one table")
    device_cmd.add_argument("--device", default="studio-5", help="device profile name or file")
    device_cmd.add_argument(
        "--hrtf",
        nargs="+",
        action="extend",
        default=None,
        help="the heads to hear the device on: 'model' (the default), 'brown-duda', 'rigid-sphere', 'blended-sphere', "
        "'head-and-torso' or SOFA files (e.g. MIT KEMAR); several allowed",
    )
    device_cmd.add_argument(
        "--design-hrtf",
        default="model",
        help="design the device chain on this SOFA file (personalized) or another head model",
    )
    device_cmd.add_argument("--distance-m", type=DISTANCE, default=2.0, help="listener distance (m)")
    region_arguments(device_cmd, what="the seats the figures are also given over (the designs keep their own)")
    device_cmd.add_argument("--plot", default=None, help="separation and width per seat to this PNG (needs matplotlib)")
    device_cmd.set_defaults(run=_cmd_analyze_device)
    virtualizer = analyze.add_parser("virtualizer", help="the Virtualizer's ITD and ILD per octave beside a measured head's")
    virtualizer.add_argument(
        "--azimuth-deg", type=ranged(float, 1, 90, "degrees"), default=30.0, help="angle of the virtual speakers"
    )
    virtualizer.add_argument(
        "--head-radius-m", type=ranged(float, 0.05, 0.12, "m"), default=None, help="head radius of the model (default 0.0875)"
    )
    virtualizer.add_argument(
        "--hrtf",
        default="model",
        help="the head the virtualizer uses: "
        "'model', 'brown-duda', 'rigid-sphere', 'blended-sphere', 'head-and-torso' or a SOFA file",
    )
    virtualizer.add_argument(
        "--against", default=None, help="a SOFA file to compare with (default: the MIT KEMAR set of libmysofa1), or 'none'"
    )
    virtualizer.add_argument("--plot", default=None, help="ILD per 1/3 octave to this PNG (needs matplotlib)")
    virtualizer.set_defaults(run=_cmd_analyze_virtualizer)
