"""How the ``soundstage`` command reads its arguments: a parser whose errors are one line naming the option or
command meant, the types of its numbers (a range and a unit each), and the options several commands share."""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from soundstage.errors import SoundstageError

__all__ = [
    "BLOCK",
    "DISTANCE",
    "PORT_FORMS",
    "RATE",
    "SECONDS",
    "TAIL",
    "CommandParser",
    "comma_list",
    "given_heads",
    "hrtf_argument",
    "ranged",
    "region_arguments",
    "sample_rates",
]


class CommandParser(argparse.ArgumentParser):
    """argparse with soundstage's one-line errors (argparse prints its usage first, then the error), which name an
    option or command given misspelt and the one meant: argparse said "the following arguments are required:
    --chain" of ``--chian mastering``, and nothing of the option it did not know."""

    _given: Sequence[str] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._options: list[str] = []  # what this command takes (argparse keeps its own privately)
        self._greedy: list[str] = []  # its options that take every name after them (nargs "+")
        self._commands: dict[str, argparse.ArgumentParser] = {}
        super().__init__(*args, **kwargs)  # which adds -h and --help

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self._options.extend(action.option_strings)
        if action.nargs in ("+", "*"):
            self._greedy.extend(action.option_strings)
        return action

    def add_subparsers(self, **kwargs: Any) -> Any:
        commands = super().add_subparsers(**kwargs)
        self._commands = commands.choices
        return commands

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self._given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        misspelt, prog = self._misspelt()
        if not misspelt and message.startswith("the following arguments are required"):
            misspelt = self._swallowed()
        self.exit(2, f"soundstage: error: {misspelt or message}; see '{prog} --help'\n")

    def _swallowed(self) -> str:
        """For arguments found missing, where an option that takes every name after it (``--hrtf me.sofa in.wav
        out.wav``) took them: which it took, and how to give it; else ``""``."""
        given = self._given[: self._given.index("--")] if "--" in self._given else self._given
        for index, token in enumerate(given):
            if token in self._greedy:
                taken = list(itertools.takewhile(lambda item: not item.startswith("-"), given[index + 1 :]))
                if len({Path(item).suffix.lower() for item in taken}) > 1:  # files of other kinds among them
                    names = ", ".join(repr(item) for item in taken)
                    return (
                        f"{token} took {names}: it takes every name after it, up to the next option; give {token} "
                        f"after the input and output, or end its list with -- ({token} {taken[0]} -- IN OUT)"
                    )
        return ""

    def _misspelt(self) -> tuple[str, str]:
        """The first option given that its command does not know but one of its own is close to, or a command given
        that one is close to, with the one meant; else ``""``. And the name of the command the tokens given name (the
        subcommand whose options were not recognized, not ``soundstage``)."""
        import difflib

        given = self._given[: self._given.index("--")] if "--" in self._given else self._given
        parser: CommandParser = self
        for token in given:  # down to the (sub)command the tokens name
            if not parser._commands or token.startswith("-"):
                continue
            if token in parser._commands:
                parser = parser._commands[token]  # type: ignore[assignment]  # made by add_subparsers: a CommandParser
                continue
            close = difflib.get_close_matches(token, list(parser._commands), n=1, cutoff=0.7)
            if close:
                names = ", ".join(parser._commands)
                return f"unknown command {token!r} (did you mean {close[0]!r}? commands: {names})", parser.prog
            break
        known = sorted(parser._options)
        for token in given:
            name = token.split("=", 1)[0]
            if name.startswith("-") and name not in known and not name.lstrip("-").replace(".", "").isdigit():
                close = difflib.get_close_matches(name if name.startswith("--") else "-" + name, known, n=1, cutoff=0.8)
                if close:
                    return f"unknown option {name!r} (did you mean {close[0]!r}?)", parser.prog
        return "", parser.prog


def ranged(kind: Callable[[str], float], low: float, high: float, unit: str) -> Callable[[str], Any]:
    """An argparse type: a number of ``kind`` within low..high (the message names the range and unit)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {low}..{high} {unit}")
        return value

    parse.__name__ = kind.__name__
    return parse


#: Block sizes (samples).
BLOCK = ranged(int, 1, 2**24, "samples")
#: A tail rendered after the input's end (seconds): soundstage.fileio.MAX_TAIL_S (the CLI imports no module it need not).
TAIL = ranged(float, 0.0, 600.0, "s")
_IN_RANGE_RATE = ranged(float, 8000, 768000, "Hz")


def RATE(text: str) -> float:  # noqa: N802 (an argparse type, named as the others)
    """A sample rate: whole Hz (files and hosts know no other) within 8000..768000."""
    value = _IN_RANGE_RATE(text)
    if not float(value).is_integer():
        raise argparse.ArgumentTypeError(f"{text} is not a whole number of Hz (sample rates are, e.g. 44100 or 48000)")
    return float(value)


#: A listener's distance from the device (m).
DISTANCE = ranged(float, 0.2, 20.0, "m")
#: A time to wait or play (seconds).
SECONDS = ranged(float, 0.001, 86400.0, "s")


#: How a MIDI port is given (soundstage.midi.ports.open_port).
PORT_FORMS = (
    "a port's name or a unique part of it (nanoKONTROL), virtual:NAME (other programs connect to it), jack:NAME or "
    "alsa:NAME (that MIDI API), tcp:HOST:PORT or tcp-listen:HOST:PORT (raw MIDI bytes over TCP)"
)


def comma_list(choices: Sequence[str]) -> Callable[[str], list[str]]:
    """An argparse type: a comma-separated list of ``choices`` (case ignored, each once, in the order given)."""

    def parse(text: str) -> list[str]:
        items = [item.strip().lower() for item in text.split(",") if item.strip()]
        wrong = [item for item in items if item not in choices]
        if wrong or not items:
            raise argparse.ArgumentTypeError(f"{text!r}: choose from {','.join(choices)} (comma-separated)")
        return list(dict.fromkeys(items))  # "clap,clap" is clap once (a second build collided with the first)

    return parse


def sample_rates(text: str) -> list[float]:
    """An argparse type: comma-separated sample rates (:data:`RATE` each), each once."""
    try:
        return list(dict.fromkeys(RATE(item) for item in text.split(",") if item.strip())) or [RATE("")]
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"--rates {text!r}: {error}") from None


def hrtf_argument(parser: argparse.ArgumentParser, where: str = "the chain") -> None:
    """``--hrtf``: the listener's own head for every stage of ``where`` that takes one."""
    parser.add_argument(
        "--hrtf",
        nargs="+",
        action="extend",  # given twice: both count (a later one dropped the earlier silently)
        default=None,
        metavar="SOFA",
        help=f"the listener's own head (SOFA files, or a head model's name) for every stage of {where} that designs "
        "or listens on a head: the device's design and its binaural preview alike",
    )


def region_arguments(parser: argparse.ArgumentParser, what: str = "listening region") -> None:
    """``--region-yaw-deg``, ``--region-lateral-m``, ``--region-fore-aft-m``: a listening region's extents."""
    parser.add_argument("--region-yaw-deg", type=ranged(float, 0, 45, "deg"), default=5.0, help=f"{what}: +-yaw")
    parser.add_argument("--region-lateral-m", type=ranged(float, 0, 0.5, "m"), default=0.05, help=f"{what}: +-lateral offset")
    parser.add_argument("--region-fore-aft-m", type=ranged(float, 0, 0.5, "m"), default=0.05, help=f"{what}: +-fore-aft offset")


def given_heads(heads: list[str] | None) -> list[str] | None:
    """``--hrtf`` as given, each SOFA file checked to exist before any chain loads (an error then names the option,
    not the stage of a preset it was going to)."""

    from soundstage.acoustics.hrtf import HEAD_MODELS, head_hint
    from soundstage.files import missing_hint, on_disk

    for head in heads or ():
        file = on_disk(Path(os.path.expanduser(head)))
        if head not in HEAD_MODELS and not file.is_file():
            hint = "" if file.is_dir() else missing_hint(file)
            if hint:
                raise SoundstageError(f"--hrtf {head!r}: the file does not exist{hint}")
            what = "is a folder" if file.is_dir() else "does not exist"
            raise SoundstageError(
                f"--hrtf {head!r}: the file {what}; give the listener's SOFA file (.sofa), or a head model "
                f"({', '.join(HEAD_MODELS)}){head_hint(head)}"
            )
    return heads
