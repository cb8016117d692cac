"""``soundstage render``, ``soundstage session new | check`` and ``soundstage audition``: sessions of stems."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from soundstage.cli.arguments import hrtf_argument, ranged
from soundstage.cli.report import progress_bar, say_hidden
from soundstage.errors import SoundstageError, first_of

__all__ = ["add_audition", "add_render", "add_session"]


def _cmd_render(args: argparse.Namespace) -> int:
    from soundstage.session.model import session_file
    from soundstage.session.render import render_session, render_summary

    session = session_file(args.session)
    out = Path(args.output) if args.output else session.resolve().parent / "renders"
    bar = progress_bar(1, session.name)

    def progress(position: int, total: int) -> None:
        bar.total = total
        bar.n = position
        bar.refresh()

    try:
        result = render_session(
            session,
            out,
            only=args.only,
            overwrite=args.overwrite,
            progress=progress,
            allow_truncated=args.allow_truncated,
            hrtf=args.hrtf,
        )
    finally:
        bar.close()
    for line in render_summary(result, out):
        print(line)
    for name, reason in result.failures.items():
        print(f"soundstage: error: render {name!r} failed: {reason}", file=sys.stderr)
    return 2 if result.failures else 0


def _cmd_session_new(args: argparse.Namespace) -> int:
    from soundstage.session.new import WIDE_STEM, new_session

    made = new_session(args.folder, output=args.output, overwrite=args.overwrite)
    stems = len(made.session.stems)
    print(
        f"wrote {made.file}: {stems} stem(s) at {made.sample_rate:g} Hz, {made.stamped} placed by their time reference, "
        f"{stems - made.stamped} from the start; {len(made.session.renders)} render(s)"
    )
    for relative in made.truncated:
        print(f"stem {relative} is TRUNCATED (see its comment): render with --allow-truncated, or export it again")
    for relative in made.wide:
        print(f"stem {relative} has more than 2 channels: {WIDE_STEM}")
    unread = dict(made.unread)
    for relative in made.unstamped:
        if relative in unread:
            print(
                f"stem {relative}: {unread[relative]}; it starts with the earliest of the {made.stamped} stem(s) placed "
                "by theirs; give it offset_s (seconds after that one) if it starts elsewhere"
            )
            continue
        print(
            f"stem {relative} has no time reference (BWF, FLAC or Ogg) while {made.stamped} stem(s) have: it starts "
            "with the earliest of them; give it offset_s if it starts elsewhere"
        )
    for left, others in made.pairs:
        if "," not in others:
            print(f"stems {left} and {others} are a split stereo pair: panned hard left and right (pan = -1, 1)")
        else:
            print(f"stems {left}, {others} are a bed exported as mono files: panned and folded down as ITU-R BS.775 does")
    say_hidden(list(made.skipped), "stems")
    if made.others:
        print(
            f"left out {len(made.others)} file(s) of no audio format it takes as a stem ({first_of(made.others)}); "
            + (
                made.audio_among_others
                or "one that is audio: convert it to WAV or FLAC, or give it as a stem's path in the session file (FFmpeg "
                "may read it)"
            )
        )
    if made.outputs:
        print(f"left out what soundstage wrote ({first_of(made.outputs)}): renders and batch outputs, not stems")
    quoted = shlex.quote(str(made.file))  # a folder a DAW named "My Song - stems" pastes into a shell as one word
    print(f"check it: soundstage session check {quoted}; render it: soundstage render {quoted}")
    return 0


def _cmd_session_check(args: argparse.Namespace) -> int:
    import wcwidth

    from soundstage.session.model import load_session
    from soundstage.session.render import check_chains
    from soundstage.session.stems import inspect_stems, timeline_frames

    session = load_session(Path(args.session))
    rate, stems = inspect_stems(session)
    chains, changes = check_chains(session, stems, rate)
    automated = (
        f", automation: {changes} parameter change(s)" if session.midi is not None or session.head_track is not None else ""
    )
    length = timeline_frames(session, stems, rate) / rate
    tail = f" ({session.tail_s:g} s of it the chains' tail)" if session.tail_s else ""
    print(
        f"{session.file}: {len(stems)} stem(s), session rate {rate:g} Hz, length {length:.2f} s{tail}, "
        f"{len(session.renders)} render(s), {chains} chain(s)" + automated
    )
    print(f"{'stem':<16} {'start s':>8} {'from':<20} {'rate':>7} {'ch':>3} {'format':<8} {'length s':>8} {'pan':>5}  chain / bus")
    for info in stems:
        print(
            f"{wcwidth.ljust(info.stem.name, 16)} {info.start / rate:8.3f} {info.start_source:<20} {info.sample_rate:7g} "
            f"{info.channels:>3} "
            f"{info.file_dtype:<8} {info.frames / info.sample_rate:8.2f} {info.stem.pan:>+5.2f}  "
            f"{info.stem.chain or '-'} / {info.stem.bus or 'master'}"
            + "".join(f"  ({flag})" for flag in ("mute", "solo") if getattr(info.stem, flag))
            + (f"  ({info.conversion})" if info.conversion else "")
        )
    for render in session.renders:
        print(f"render {render.name}: {render.kind}, {render.file_format} {render.bit_depth}-bit")
    return 0


def _audition_folder(given: Path) -> Path:
    """The render folder ``soundstage audition PATH`` serves: the folder of a rendered page given itself (or a file in
    it: the page, a render), else the ``renders/`` beside the session file (or inside the session's folder)."""
    from soundstage.session.page import PAGE_NAME

    if given.is_dir():
        rendered = [folder for folder in (given, given / "renders") if (folder / PAGE_NAME).is_file()]
        return rendered[0] if rendered else given / "renders"
    if not given.exists():
        raise SoundstageError(
            f"audition: {str(given)!r} does not exist; give the session file that was rendered, its folder, or the "
            "folder the render wrote (with index.html)"
        )
    if (given.parent / PAGE_NAME).is_file():  # the page itself, or one of the files the render wrote beside it
        return given.parent
    if given.suffix.lower() != ".toml":
        raise SoundstageError(
            f"audition: {str(given)!r} is not a session file (.toml) nor in a folder a render wrote; give the session "
            "file that was rendered, its folder, or the folder the render wrote (with index.html)"
        )
    return given.resolve().parent / "renders"


def _cmd_audition(args: argparse.Namespace) -> int:
    from soundstage.audition import serve
    from soundstage.files import on_disk

    given = on_disk(Path(args.session))
    folder = _audition_folder(given)
    if args.output:
        if folder == given:
            raise SoundstageError(
                f"audition: {args.session!r} is a render folder itself and -o gives another ({args.output!r}); give one of them"
            )
        folder = on_disk(Path(args.output))
    try:
        serve(folder, port=args.port, open_browser=not args.no_open)
    except KeyboardInterrupt:  # Ctrl-C is how the page is stopped, as it says: no interruption of anything
        print("audition: stopped")
    return 0


def add_render(commands: Any) -> None:
    """``soundstage render``: a session's renders."""
    render = commands.add_parser("render", help="render a session's stems through its chains into files")
    render.add_argument("session", help="session file (.toml), or a folder holding a session.toml")
    render.add_argument("-o", "--output", default=None, help="output folder (default: renders/ beside the session)")
    render.add_argument("--only", action="append", default=None, help="render only this (repeatable)")
    render.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    render.add_argument(
        "--allow-truncated", action="store_true", help="render stems that hold less than their headers say (reported)"
    )
    hrtf_argument(render, "the render chains (device, binaural, reference, A/B; instead of the session's hrtf)")
    render.set_defaults(run=_cmd_render)


def add_session(commands: Any) -> None:
    """``soundstage session new | check``."""
    session = commands.add_parser("session", help="write and inspect session files").add_subparsers(
        dest="session_command", required=True
    )
    new = session.add_parser("new", help="write a session file for a folder of exported stems (every audio file in it)")
    new.add_argument("folder", help="the folder the stems were exported into")
    new.add_argument(
        "-o", "--output", default=None, help="the session file, or a folder for its session.toml (default: in the stems' folder)"
    )
    new.add_argument("--overwrite", action="store_true", help="replace an existing session file")
    new.set_defaults(run=_cmd_session_new)
    check = session.add_parser("check", help="validate a session and list its stems with offsets and rates")
    check.add_argument("session", help="session file (.toml), or a folder holding a session.toml")
    check.set_defaults(run=_cmd_session_check)


def add_audition(commands: Any) -> None:
    """``soundstage audition``: a render's audition page."""
    audition = commands.add_parser("audition", help="serve a render's folder on 127.0.0.1 and open its audition page")
    audition.add_argument("session", help="session file (.toml) that was rendered, its folder, or the folder the render wrote")
    audition.add_argument(
        "-o", "--output", default=None, help="the render's output folder (default: renders/ beside the session)"
    )
    audition.add_argument("--port", type=ranged(int, 0, 65535, "port"), default=0, help="port (default: any free one)")
    audition.add_argument("--no-open", action="store_true", help="do not open a browser (print the address only)")
    audition.set_defaults(run=_cmd_audition)
