"""``soundstage batch`` (many items, in parallel or on a cluster), ``soundstage demo`` and ``soundstage designs``."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from soundstage.cli.arguments import TAIL, given_heads, hrtf_argument, ranged
from soundstage.cli.report import say_hidden
from soundstage.errors import SoundstageError, first_of

__all__ = ["add_batch", "add_demo", "add_designs"]


def _cmd_batch(args: argparse.Namespace) -> int:
    """Exit status: 0 when every item is done (or was, with --resume); 2 + the number of failed items (at most 99)."""
    from tqdm import tqdm

    from soundstage.batch import load_jobs, run_batch
    from soundstage.batch.run import RECYCLE_AFTER
    from soundstage.fileio import audio_files

    if args.scheduler is not None:
        options = [name for name, value in (("--workers", args.workers), ("--recycle-after", args.recycle_after)) if value]
        if options:
            raise SoundstageError(
                f"batch: {' and '.join(options)} set{'s' if len(options) == 1 else ''} the local worker processes; with "
                f"--scheduler the cluster's workers run the items (start them with as many processes as wanted): "
                f"drop {' and '.join(options)}"
            )
    items = load_jobs(args.jobs, chain=args.chain, hrtf=given_heads(args.hrtf), tail_s=args.tail)
    if Path(args.jobs).is_dir():
        say_hidden([path.name for path in audio_files(Path(args.jobs)).hidden], "items")
    out = Path(args.output) if args.output else Path("batch-out")
    terminal = sys.stderr.isatty()
    bar = tqdm(total=len(items), unit="item", disable=not terminal, leave=False)
    hours = [0.0]
    clipped: dict[str, int] = {}
    ringing: dict[str, float] = {}

    def progress(entry: dict[str, Any]) -> None:
        seconds = sum(float(o.get("seconds_of_audio", 0.0)) for o in entry.get("outputs", []))
        over = sum(int(o.get("clipped_samples", 0)) for o in entry.get("outputs", []))
        if over:
            clipped[entry["item"]] = over
        rings = max((float(o.get("ringing_s", 0.0)) for o in entry.get("outputs", [])), default=0.0)
        if rings:
            ringing[entry["item"]] = rings
        hours[0] += seconds / 3600
        bar.update(1)
        bar.set_postfix_str(f"{hours[0]:.2f} h of audio")
        if not terminal:
            what = "done" if entry["status"] == "done" else f"FAILED: {entry.get('reason', '')}"
            print(f"{entry['item']}: {what} ({entry.get('seconds', 0):.1f} s, {entry.get('worker', '-')})", flush=True)

    try:
        result = run_batch(
            items,
            out,
            scheduler=args.scheduler,
            resume=args.resume,
            overwrite=args.overwrite,
            on_entry=progress,
            workers=2 if args.workers is None else args.workers,
            recycle_after=RECYCLE_AFTER if args.recycle_after is None else args.recycle_after,
        )
    finally:
        bar.close()
    print(
        f"batch: {len(result.done)} done, {len(result.skipped)} already done, {len(result.failed)} failed of {len(items)} "
        f"item(s); {result.seconds_of_audio / 3600:.2f} h of audio; manifest {out / 'batch-manifest.jsonl'}"
    )
    if clipped:
        named = first_of([f"{name} ({count})" for name, count in clipped.items()], 5)
        print(
            f"batch: {len(clipped)} item(s) went past full scale, samples clipped (or over, in float files): {named}; "
            "lower the level at the chain's end, or write float WAVs (see the manifest's clipped_samples)"
        )
    if ringing:
        named = first_of([f"{name} ({seconds:.1f} s)" for name, seconds in ringing.items()], 5)
        wanted = math.ceil(((args.tail or 0.0) + max(ringing.values())) * 10) / 10
        print(
            f"batch: the chain still rings where {len(ringing)} item(s) end (a reverb's or a delay's tail, cut), within "
            f"60 dB of the output's peak for: {named}; pass --tail {wanted:g} to render it (a job list's items: a tail that much "
            "longer; a session's: its tail_s; see the manifest's ringing_s)"
        )
    for reason, names in _by_reason(result.failed).items():
        print(f"soundstage: error: {_items(names)} failed: {reason}", file=sys.stderr)
    if result.interrupted:
        print(
            "soundstage: interrupted; the items in flight finished, the rest were not started (--resume goes on)", file=sys.stderr
        )
        return 130
    return min(2 + len(result.failed), 99) if result.failed else 0


def _by_reason(failed: dict[str, str]) -> dict[str, list[str]]:
    """The failed items by their reason, in the order they failed: one line for the items a plugin that hung left
    untried, or a full output drive failed, not one each (10 000 in a catalog)."""
    grouped: dict[str, list[str]] = {}
    for name, reason in failed.items():
        grouped.setdefault(reason, []).append(name)
    return grouped


def _items(names: list[str], shown: int = 5) -> str:
    """``item 'a'``, or ``7 items ('a', 'b', 'c', 'd', 'e' and 2 more)``."""
    if len(names) == 1:
        return f"item {names[0]!r}"
    return f"{len(names)} items ({first_of([repr(name) for name in names], shown)})"


def _cmd_demo(args: argparse.Namespace) -> int:
    from soundstage.demo import run_demo

    return run_demo(Path(args.dir), overwrite=args.overwrite)


def _cmd_designs(args: argparse.Namespace) -> int:

    from soundstage import designstore

    if args.clear:
        removed = designstore.clear_store()
        print(f"design store: removed {removed} file(s)")
    for problem in (designstore.folder_problem(), designstore.limit_problem()):
        if problem:
            print(f"soundstage designs: {problem}", file=sys.stderr)
    folder, count, size, limit = designstore.store_usage()
    if folder is None:
        print(f"design store: off (SOUNDSTAGE_DESIGN_CACHE={os.environ.get('SOUNDSTAGE_DESIGN_CACHE', '')!r})")
    else:
        print(f"design store: {folder}: {count} design(s), {size / 2**20:.1f} MB of {limit / 2**20:.0f} MB")
    return 0


def add_batch(commands: Any) -> None:
    """``soundstage batch``: many items in parallel."""
    batch = commands.add_parser("batch", help="render many items (a folder, a glob or a TOML job list) in parallel")
    batch.add_argument("jobs", help="a folder of audio files, a glob, or a .toml job list")
    batch.add_argument("--chain", default=None, help="chain file or preset for a folder or glob (a job list names its own)")
    hrtf_argument(batch, "every item's chain (or session's render chains; an item's own hrtf wins)")
    batch.add_argument("-o", "--output", default=None, help="output folder (default ./batch-out)")
    batch.add_argument("--workers", type=ranged(int, 1, 256, "workers"), default=None, help="local worker processes (default 2)")
    batch.add_argument("--scheduler", default=None, help="run on this Dask cluster instead (tcp://HOST:PORT; the cluster extra)")
    batch.add_argument("--resume", action="store_true", help="skip items the manifest records as done with the same inputs")
    batch.add_argument("--overwrite", action="store_true", help="replace existing outputs this batch did not write")
    batch.add_argument(
        "--tail",
        type=TAIL,
        default=None,
        metavar="SECONDS",
        help="seconds rendered after each input's end for the chain's tail, a reverb's (a job list's items that give no "
        "tail_s of their own; default: the list's tail_s, else 0)",
    )
    batch.add_argument(
        "--recycle-after",
        type=ranged(int, 1, 10**6, "items"),
        default=None,
        help="replace a local worker after N items (default 50)",
    )
    batch.set_defaults(run=_cmd_batch)


def add_demo(commands: Any) -> None:
    """``soundstage demo``."""
    demo = commands.add_parser("demo", help="generate an example mix and run it through the bundled chain")
    demo.add_argument("dir", nargs="?", default="soundstage-demo", help="output folder (default ./soundstage-demo)")
    demo.add_argument("--overwrite", action="store_true", help="replace the files of an earlier demo in the folder")
    demo.set_defaults(run=_cmd_demo)


def add_designs(commands: Any) -> None:
    """``soundstage designs``: the design store."""
    designs = commands.add_parser(
        "designs", help="where the design store is, what it holds (designs kept between runs), and --clear to empty it"
    )
    designs.add_argument("--clear", action="store_true", help="remove every stored design (they are made again when needed)")
    designs.set_defaults(run=_cmd_designs)
