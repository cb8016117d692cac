"""What a batch renders: items read from a folder, a glob or a TOML job list.

``soundstage batch JOBS`` takes:

- a folder: every audio file directly in it (:data:`~soundstage.fileio.AUDIO_SUFFIXES`: what
  ``soundstage process`` reads), through ``--chain``; audio in its folders is left out, and said so
  with the glob that takes it;
- a glob (``"masters/*.wav"``), the same way; ``**`` matches folders at any depth
  (``"catalog/**/*.flac"``), and the outputs mirror the folders below the glob's
  fixed part (``catalog/album-1/01.flac`` -> ``album-1/01.wav``, item ``album-1/01``),
  so tracks of the same name on two albums do not meet. In a folder or a glob, what
  soundstage wrote (a folder below holding a batch's manifest or a render's report,
  :func:`soundstage.session.new.without_outputs`) is left out with a warning: a
  command run again does not take its last outputs as items. Given itself, such a
  folder is taken;
- a TOML job list::

      format = 1
      chain = "studio-5"             # the default chain of every item (file or preset name)
      hrtf = "me.sofa"               # optional: the listener's own head for every item (several: a list)

      [[items]]
      input = "songs/one.wav"        # an audio file: processed like `soundstage process`
      output = "one-device.wav"      # optional; default <input stem>.wav in the output folder

      [[items]]
      input = "songs/two.flac"
      chain = "mastering"            # this item's own chain
      tail_s = 3.0                   # seconds rendered after its end, for a reverb's tail (default: the
                                     # list's own tail_s, else 0)

      [[items]]
      session = "album/side-a.toml"  # a session: rendered like `soundstage render`, into <name>/
      hrtf = ["me.sofa", "you.sofa"] # this item's own head

Paths in a job list are relative to it. Every item gets a unique name (its
output's stem, or the session's), the key of its manifest entry.

A head (``hrtf``: SOFA files or a head model's name; ``--hrtf`` for a folder or
a glob, or in place of a job list's own default) goes on every stage of an
item's chain that takes one, as ``soundstage process --hrtf`` does; a session
item renders on it instead of the session's own ``hrtf``. An item's own
``hrtf`` wins over the default, as its ``chain`` does.
"""

from __future__ import annotations

import glob
import os
import shlex
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from soundstage.errors import ParameterError, SoundstageError, first_of
from soundstage.fileio import AUDIO_SUFFIXES, audio_files, check_tail
from soundstage.files import glob_any_form, moved_hint, on_disk, output_name, referenced_path
from soundstage.host.chainfile import find_chain, head_setting
from soundstage.schema import Table, validate
from soundstage.session.model import Tail
from soundstage.session.new import audio_among, without_outputs
from soundstage.tomlfile import read_toml

__all__ = ["AUDIO_SUFFIXES", "BatchError", "BatchItem", "load_jobs"]

#: The most items one batch may hold.
MAX_ITEMS = 1_000_000


class BatchError(SoundstageError, ValueError):
    """A batch that cannot start: no items, a bad job list, two items writing one file."""


@dataclass(frozen=True)
class BatchItem:
    """One item of a batch.

    Attributes
    ----------
    name : str
        Unique within the batch: the key of its manifest entry.
    input : Path
        An audio file (``kind = "process"``) or a session file (``kind = "render"``).
    chain : Path or None
        The chain file of a ``process`` item (a preset resolved to its file).
    output : str
        A ``process`` item's output file name, or a ``render`` item's folder, in the output folder.
    kind : {"process", "render"}
    hrtf : tuple of str
        The listener's head for the item's chain (or session): SOFA files made absolute, or a
        head model's name; empty for the chain's (or session's) own.
    tail_s : float
        A ``process`` item's seconds rendered after the input's end, for the chain's tail (a session's is
        its own ``tail_s``).
    """

    name: str
    input: Path
    chain: Path | None
    output: str
    kind: Literal["process", "render"] = "process"
    hrtf: tuple[str, ...] = ()
    tail_s: float = 0.0


#: A head: one SOFA file (or a head model's name), or several.
Head = (
    Annotated[str, Field(min_length=1, max_length=4096)]
    | Annotated[list[Annotated[str, Field(min_length=1, max_length=4096)]], Field(min_length=1, max_length=16)]
)


class ItemTable(Table):
    """One ``[[items]]`` table of a job list."""

    input: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    session: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    chain: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    output: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    hrtf: Head | None = None
    tail_s: Tail | None = None


class JobFile(Table):
    """A whole job list."""

    format: Literal[1] = 1
    chain: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    hrtf: Head | None = None
    tail_s: Tail | None = None
    items: Annotated[list[ItemTable], Field(min_length=1, max_length=MAX_ITEMS)]


def load_jobs(
    jobs: str | os.PathLike[str],
    *,
    chain: str | None = None,
    hrtf: str | Sequence[str] | None = None,
    tail_s: float | None = None,
) -> list[BatchItem]:
    """The items of a folder, a glob or a job list (see the module docstring).

    ``chain``, ``hrtf`` (SOFA files from the working folder, or a head model's name) and ``tail_s`` are
    the default of every item: a folder's or glob's, or in place of a job list's own.

    Raises
    ------
    BatchError
        Naming the job list's key, or what is missing (no files matched, no chain).
    """
    text = str(jobs)
    path = on_disk(Path(jobs))
    head = _head(hrtf, Path.cwd())
    if tail_s is not None:
        try:
            check_tail(tail_s)
        except ParameterError as error:
            raise BatchError(f"batch: {error}") from None
    if path.suffix == ".toml" and path.is_file():
        items = _job_list(path, chain, head, tail_s)
    else:
        others: list[Path] = []
        if path.is_dir():
            files, others = _folder_files(path, text)
            where, base = f"folder {text!r}", path
        elif any(c in text for c in "*?["):
            matched = sorted(path for path in map(Path, glob_any_form(text)) if path.is_file())
            files = [path for path in matched if path.suffix.lower() in AUDIO_SUFFIXES]
            others = [path for path in matched if path.suffix.lower() not in AUDIO_SUFFIXES]
            where, base = f"glob {text!r}", on_disk(_fixed_part(text))  # as the matches spell it
        else:
            raise BatchError(f"batch: {text!r} is not a folder, a glob or a .toml job list")
        if not files:
            hint = _bracket_hint(text) if where.startswith("glob") else ""
            raise BatchError(f"batch: the {where} holds no audio files ({', '.join(AUDIO_SUFFIXES)}){hint}")
        files, outputs, others = without_outputs(base, files, others=others)  # run again over its folder: not its outputs
        shown = first_of(outputs)
        if not files:
            raise BatchError(f"batch: the {where} holds only what soundstage wrote ({shown}); to process that, give its folder")
        if outputs:
            warnings.warn(
                f"batch: left out what soundstage wrote in the {where} ({shown}): a render's or a batch's outputs, "
                "not items; to process them, give their folder itself",
                stacklevel=2,
            )
        if others:  # a catalog's .ape or .dsf is no item: said, not left out in silence
            names = [Path(os.path.relpath(path, base)).as_posix() for path in others]
            warnings.warn(
                f"batch: left out {len(others)} file(s) of no audio format it takes in the {where} ({first_of(names)}); "
                + (
                    audio_among(base, others)
                    or "one that is audio: convert it to WAV or FLAC, or give it as an item's input in a job list "
                    "(FFmpeg may read it)"
                ),
                stacklevel=2,
            )
        if chain is None:
            raise BatchError(f"batch: the {where} names audio files only; give the chain with --chain FILE (or a preset)")
        chain_file = find_chain(chain)
        names = _distinct([_mirrored(file, base) for file in files], files)
        items = [
            BatchItem(name, file, chain_file, f"{name}.wav", hrtf=head, tail_s=tail_s or 0.0)
            for name, file in zip(names, files, strict=True)
        ]
    _check_unique(items)
    return items


def _folder_files(folder: Path, text: str) -> tuple[list[Path], list[Path]]:
    """A folder's items: its own audio files, not the hidden ones (macOS's ``._kick.wav`` beside ``kick.wav`` is
    metadata), and its other files (left out, with a warning). Audio in its folders is left out with a warning, or,
    where it is all there is, refused, either with the glob that takes it."""
    listing = audio_files(folder, below=True)
    files = [path for path in listing.files if path.parent == folder]
    others = [path for path in listing.others if path.parent == folder]
    nested = without_outputs(folder, [path for path in listing.files if path.parent != folder]).files
    below = [path.relative_to(folder).as_posix() for path in nested]  # a catalog's albums: not missed unheard
    if below:
        glob_text = shlex.quote(os.path.join(text, "**", "*"))
        if not files:
            raise BatchError(
                f"batch: the folder {text!r} holds no audio files itself, its folders hold {len(below)} "
                f"(the first {below[0]!r}); a folder's items are its own files: to take those below, give the "
                f"glob {glob_text} in place of {text!r} (the outputs mirror the folders)"
            )
        warnings.warn(
            f"batch: left out {len(below)} audio file(s) in the folders of {text!r} (the first {below[0]!r}): "
            f"a folder's items are its own files; to take those below too, give the glob {glob_text} in place "
            f"of {text!r}",
            stacklevel=3,
        )
    return files, others


def _plain(name: str, what: str) -> str:
    """``name`` if it is a plain file name (see :func:`soundstage.files.output_name`), else an OutputError."""
    return output_name(Path("."), name, what=what).name


def _stem(file: Path) -> str:
    return _plain(file.stem or "item", "item")


def _bracket_hint(pattern: str) -> str:
    """``"; ..."`` for a glob that matched nothing because a folder's name holds brackets (``[2024] Album``), which a
    glob reads as a set of characters; else ``""``."""
    parts = Path(pattern).parts
    for count in range(len(parts), 0, -1):
        prefix = Path(*parts[:count])
        if "[" in str(prefix) and prefix.exists():
            escaped = str(Path(glob.escape(str(prefix)), *parts[count:]))
            return f"; {str(prefix)!r} is there, but a glob reads [...] as one character of a set: write {escaped!r}"
    return ""


def _fixed_part(pattern: str) -> Path:
    """The folders of a glob before its first wildcard (``catalog/**/*.wav`` -> ``catalog``)."""
    parts = Path(pattern).parts
    fixed = next((i for i, part in enumerate(parts) if any(c in part for c in "*?[")), len(parts))
    return Path(*parts[:fixed]) if fixed else Path(".")


def _mirrored(file: Path, base: Path) -> str:
    """An item's name: its path below ``base`` without the suffix, each folder a plain name (``album-1/01``)."""
    try:
        folders = file.parent.relative_to(base).parts
    except ValueError:  # a glob reaching above its fixed part ("../x/*.wav" keeps its base; "*/../*" may not)
        folders = ()
    return "/".join([*(_plain(folder, "item folder") for folder in folders), _stem(file)])


def _distinct(names: list[str], files: list[Path]) -> list[str]:
    """Item names, those that two files share (``song.wav`` and ``song.flac``: a delivery in two formats) each with
    its file's suffix (``song.wav``, ``song.flac``: outputs ``song.wav.wav``, ``song.flac.wav``)."""
    counts = Counter(name.lower() for name in names)
    suffixed = Counter(f"{name}{file.suffix}".lower() for name, file in zip(names, files, strict=True))
    return [  # not where the suffix tells nothing apart (Take.wav, take.wav): those are refused as they are
        f"{name}{file.suffix.lower()}" if counts[name.lower()] > 1 and suffixed[f"{name}{file.suffix}".lower()] == 1 else name
        for name, file in zip(names, files, strict=True)
    ]


def _head(hrtf: str | Sequence[str] | None, base: Path) -> tuple[str, ...]:
    """A head given as a setting (files from ``base``, model names as they are), as a tuple; empty for none."""
    if hrtf is None:
        return ()
    setting = head_setting(hrtf, base)
    return (setting,) if isinstance(setting, str) else tuple(setting)


def _job_list(path: Path, chain: str | None, hrtf: tuple[str, ...], tail_s: float | None) -> list[BatchItem]:
    checked = validate(JobFile, read_toml(path, BatchError, "job list"), file=str(path), error=BatchError)
    base = path.resolve().parent
    default = chain or checked.chain
    default_head = hrtf or _head(checked.hrtf, base)
    default_tail = tail_s if tail_s is not None else checked.tail_s
    if chain is not None and all(table.session is not None or table.chain is not None for table in checked.items):
        raise BatchError(
            f"batch: --chain {chain} would change nothing: every item of {path} names its own chain or is a session "
            "(which renders its own chains); drop --chain"
        )
    if tail_s is not None and all(table.session is not None or table.tail_s is not None for table in checked.items):
        raise BatchError(
            f"batch: --tail would change nothing: every item of {path} gives its own tail_s or is a session (whose "
            "tail is its file's tail_s); drop --tail"
        )
    if hrtf and all(table.hrtf is not None for table in checked.items):
        raise BatchError(f"batch: --hrtf would change nothing: every item of {path} names its own head (hrtf); drop --hrtf")
    items = []
    for index, table in enumerate(checked.items):
        where = f"{path}: items[{index}]"
        if (table.input is None) == (table.session is None):
            raise BatchError(f'{where}: give exactly one of input = "audio file" or session = "session.toml"')
        _check_not_moved(checked.items, index, base, where)
        if table.session is not None:
            if table.chain is not None:
                raise BatchError(
                    f"{where}: chain = {table.chain!r} is for an input item; a session renders the chains it names: "
                    "remove chain here (or give the audio file as input)"
                )
            if table.tail_s is not None:
                raise BatchError(
                    f"{where}: tail_s = {table.tail_s:g} is for an input item; a session's tail is the tail_s of its "
                    "own file: set it there"
                )
            session = referenced_path(table.session, base)
            name = _plain(table.output or session.stem, f"{where}.output")
            items.append(BatchItem(name, session, None, name, "render", _head(table.hrtf, base) or default_head))
            continue
        source = referenced_path(str(table.input), base)
        name_of_chain = table.chain or default
        if name_of_chain is None:
            raise BatchError(f'{where}: no chain: give chain = "..." here or at the top of the job list, or --chain')
        relative = _is_relative_file(name_of_chain, base)
        chain_file = find_chain(referenced_path(name_of_chain, base) if relative else name_of_chain)
        output = _plain(table.output or f"{source.stem}.wav", f"{where}.output")
        tail = table.tail_s if table.tail_s is not None else default_tail
        items.append(
            BatchItem(
                Path(output).stem, source, chain_file, output, hrtf=_head(table.hrtf, base) or default_head, tail_s=tail or 0.0
            )
        )
    return items


def _check_not_moved(tables: list[ItemTable], index: int, base: Path, where: str) -> None:
    """A BatchError for an item written with an absolute path that names nothing, whose file is below the job list's
    folder by the end of that path (the list was made where the files were elsewhere: another machine, a folder since
    moved): the relative path to write, and how many more items are so."""
    key = "input" if tables[index].input is not None else "session"
    paths = [str(table.input or table.session) for table in tables]
    hint = moved_hint(paths, index, base, owner="job list", key=key, noun="item")
    if hint:
        raise BatchError(f"{where}.{key}: {paths[index]!r} does not exist{hint}")


def _is_relative_file(name: str, base: Path) -> bool:
    """A chain named by a path relative to the job list (not a preset name)."""
    looks_like_a_path = "/" in name or "\\" in name or name.endswith(".toml")
    return looks_like_a_path and not Path(name).is_absolute() and referenced_path(name, base).exists()


def _check_unique(items: list[BatchItem]) -> None:
    """Every item writes its own output, in any letter case: on a drive that ignores case (macOS's and Windows' own,
    an exFAT or FAT stick) ``Take.wav`` and ``take.wav`` are one file, and the second would replace the first."""
    groups: dict[str, list[BatchItem]] = {}
    for item in items:
        groups.setdefault(item.output.lower(), []).append(item)
    clashing = [group for group in groups.values() if len(group) > 1]
    if not clashing:
        return
    group = clashing[0]
    outputs = sorted({item.output for item in group})
    inputs = ", ".join(repr(str(item.input)) for item in group)
    more = f" (and {len(clashing) - 1} more such group(s))" if len(clashing) > 1 else ""
    if len(outputs) > 1:
        raise BatchError(
            f"batch: items {inputs} would write {', '.join(map(repr, outputs))}{more}, names that differ only in case: "
            "on a drive that ignores case (macOS, Windows, a USB stick) they are one file; rename one of the inputs, "
            "or give them distinct output names in a job list"
        )
    raise BatchError(f"batch: items {inputs} would all write {outputs[0]!r}{more}; give them distinct output names in a job list")
