"""``soundstage session new``: a session file for a folder of stems, as a DAW exports them.

Every audio file below the folder (:data:`~soundstage.fileio.AUDIO_SUFFIXES`)
becomes a stem, in path order. Hidden files and folders are left out (macOS
leaves ``._kick.wav`` beside ``kick.wav`` on drives it does not format: metadata,
not audio), and so is the ``renders/`` folder beside the session file. A stem
stamped with a time reference (a WAV's BWF TimeReference, or a FLAC's
``TIME_REFERENCE`` comment, as FFmpeg carries it over from a WAV) is placed by it
when the session renders; one without starts at the session's start, and where
others are stamped it is named (a stem converted by a program that dropped its
stamp would be silently out of place). The session rate is the rate most stems
have (the others are resampled). The renders are those of ``soundstage demo``:
the mixdown, the studio-5 driver feeds, their headphone preview, the stereo
reference and the loudness-matched A/B. A comment on each stem says what it is
and where it starts, and a stem that holds less than its header declares is
listed, marked, and renders only with ``--allow-truncated``. A 5.1 or 7.1 bed (a WAV or FLAC
of 6 or 8 channels, without a channel mask or with a 5.1 / 7.1 one) gets the fold-down preset as
its chain (``downmix-5.1``, ``downmix-7.1``: ITU-R BS.775); another stem of more than
two channels is listed and marked: it needs a chain that ends in 2 channels.

Nothing is written unless every stem opens and the written file loads back as a
session with the same stems; an existing session file is replaced only with
``overwrite``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import NamedTuple

import tomlkit

from soundstage.errors import AudioFileError, OutputError, first_of
from soundstage.fileio import (
    AUDIO_SUFFIXES,
    BED_MASKS,
    WAV_SUFFIXES,
    audio_files,
    clock_time,
    missing_frames,
    missing_words,
    open_audio,
    stamp_name,
    time_reference,
    unread_stamp,
    wav_channel_mask,
)
from soundstage.files import atomic_path, library_path, on_disk
from soundstage.session.model import MAX_STEMS, SESSION_FILE_NAME, Session, SessionError, daw_project_words, load_session
from soundstage.session.outputs import REPORT_NAME
from soundstage.session.page import PAGE_NAME
from soundstage.session.stems import inspect_stems
from soundstage.signatures import kind_of_file
from soundstage.sinks import wav_chunk

__all__ = ["OUTPUT_MARKERS", "Kept", "NewSession", "audio_among", "new_session", "wav_channel_mask", "without_outputs"]

#: The renders a new session asks for: (name, kind, chain, per_driver, bit depth).
RENDERS = (
    ("mixdown", "mixdown", None, False, 24),
    ("studio-5", "device", "studio-5", True, 24),
    ("binaural", "binaural", "studio-5-binaural", False, 32),
    ("reference", "reference", "stereo-reference", False, 32),
    ("ab", "ab", None, False, 32),
)
#: The fold-down presets of a bed by its channel count, and the WAV channel masks of the layouts each folds
#: (fileio.BED_MASKS). A WAV without a mask, or a FLAC (whose 6 and 8 channels are 5.1 and 7.1 by its format),
#: is taken to be the bed its channel count says.
BEDS = {6: ("downmix-5.1", BED_MASKS["5.1"]), 8: ("downmix-7.1", BED_MASKS["7.1"])}
#: The channel order each fold-down takes (WAV's and DAWs').
DOWNMIX_ORDER = {"downmix-5.1": "L R C LFE Ls Rs", "downmix-7.1": "L R C LFE Lrs Rrs Lss Rss"}
#: What a stem of more than two channels needs before it renders (its comment, and the command's note).
WIDE_STEM = (
    "a stem enters the mix as mono or stereo: give it a chain that ends in 2 channels "
    "(e.g. Route(channels=[0, 1]) keeps the front pair), or export it as stereo"
)
#: The folder a render writes into by default, beside the session file: never stems.
RENDERS_FOLDER = "renders"


@dataclass(frozen=True)
class _Found:
    path: Path
    relative: str
    rate: float
    channels: int
    frames: int
    dtype: str
    missing: int | None  # samples missing at its end (a stem cut short); None: cut short, how much unknown
    time_reference: int | None
    bed: str | None = None
    unread: str | None = None  # why a time reference the file holds is not read (fileio.unread_stamp)


@dataclass(frozen=True)
class NewSession:
    """What :func:`new_session` wrote: the file, the session as it loads, and what it left out (hidden files, and
    folders of renders and batch outputs)."""

    file: Path
    session: Session
    sample_rate: float
    stamped: int
    truncated: tuple[str, ...]
    skipped: tuple[str, ...]
    wide: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()  # multiple-mono tracks: (the left part, the others), each panned and folded
    unstamped: tuple[str, ...] = ()  # stems without a time reference where others have one: they start at 0
    unread: tuple[tuple[str, str], ...] = ()  # stems whose time reference is not read (an Opus file's): (stem, why)
    others: tuple[str, ...] = ()  # files of no audio format it takes as a stem (notes, artwork, an .ape): left out
    audio_among_others: str = ""  # what is audio among them (audio_among)


def new_session(
    folder: str | os.PathLike[str], *, output: str | os.PathLike[str] | None = None, overwrite: bool = False
) -> NewSession:
    """Write a session file for the stems below ``folder`` (``output``, default ``folder/session.toml``; a folder
    given as ``output`` gets its ``session.toml``).

    Raises
    ------
    SessionError
        The folder is no folder or holds no audio, the session file exists (without ``overwrite``).
    OutputError
        The session file cannot be written (a full disk, a folder without write permission).
    AudioFileError
        A stem cannot be read: naming it, and what to do.
    """
    base = on_disk(Path(folder))
    if base.exists() and (project := daw_project_words(base, folder=False)) is not None:  # its stems may be beside it
        raise SessionError(f"session new: {str(base)!r}{project}")
    if not base.is_dir():
        what = "does not exist" if not base.exists() else "is a file, not a folder"
        raise SessionError(f"session new: {str(base)!r} {what}; give the folder the stems were exported into")
    target = on_disk(Path(output)) if output is not None else base / SESSION_FILE_NAME
    if target.is_dir():  # a folder to write the session into, as -o means for render and batch
        target = target / SESSION_FILE_NAME
    if target.suffix.lower() != ".toml":
        raise SessionError(f"session new: {str(target)!r} is no .toml file; name the session file e.g. session.toml")
    if not target.parent.is_dir():
        what = "is a file, not a folder" if target.parent.exists() else "does not exist; create it first"
        raise SessionError(f"session new: the folder of {str(target)!r} {what}")
    if target.exists() and not overwrite:
        raise SessionError(f"session new: {str(target)!r} already exists; pass --overwrite to replace it, or -o another file")
    files, skipped, outputs, other_files = _audio_files(base, target)
    others = tuple(path.relative_to(base).as_posix() for path in other_files)
    if not files:
        raise SessionError(
            f"session new: the folder {str(base)!r} holds no audio files ({', '.join(AUDIO_SUFFIXES)}); export the stems there"
        )
    if len(files) > MAX_STEMS:
        raise SessionError(f"session new: the folder {str(base)!r} holds {len(files)} audio files; a session takes {MAX_STEMS}")
    found = [_inspect(file, target.parent) for file in files]
    rates = Counter(stem.rate for stem in found)
    rate = max(rates, key=lambda r: (rates[r], r))
    text = _document(base, found, rate)
    try:
        with atomic_path(target, replace=overwrite) as temporary:
            temporary.write_text(text, encoding="utf-8")
            try:  # what render will read: the stems found, each placed
                session = dataclasses.replace(load_session(temporary), file=target)
                inspect_stems(session, allow_truncated=True)
            except (SessionError, AudioFileError) as error:
                message = str(error).replace(str(temporary), str(target))
                raise type(error)(f"session new: {message}; nothing was written") from None
    except OSError as error:  # a full disk, a folder that is not writable
        raise OutputError(f"session new: cannot write {str(target)!r}: {error.strerror or error}") from None
    truncated = tuple(stem.relative for stem in found if stem.missing != 0)
    stamped = sum(stem.time_reference is not None for stem in found)
    wide = tuple(stem.relative for stem in found if stem.channels > 2 and stem.bed is None)
    pairs = tuple((found[i].relative, ", ".join(p.others)) for i, p in _multiple_mono(found).items() if p.channel == "l")
    unstamped = tuple(stem.relative for stem in found if stem.time_reference is None) if stamped else ()
    unread = tuple((stem.relative, stem.unread) for stem in found if stem.unread is not None)
    return NewSession(
        target,
        session,
        rate,
        stamped,
        truncated,
        tuple(skipped),
        wide,
        tuple(outputs),
        pairs,
        unstamped,
        unread,
        others,
        audio_among(base, other_files),
    )


#: The files by which a folder is known to hold what soundstage wrote: a render's report, a batch's manifest
#: (:data:`soundstage.batch.manifest.MANIFEST_NAME`; the batch layer is above this one).
OUTPUT_MARKERS = (REPORT_NAME, "batch-manifest.jsonl")


def _audio_files(base: Path, target: Path) -> tuple[list[Path], list[str], tuple[str, ...], list[Path]]:
    """The audio files below ``base`` in path order but those soundstage wrote (:func:`without_outputs`, and the
    session's renders folder); the hidden ones left out; what was left out as soundstage's; the other files, said so
    that a stem in a format it does not list (an .ape, a .dsf) is not missing from the mix in silence."""
    listing = audio_files(base, below=True)
    kept = without_outputs(base, listing.files, also=(target.parent / RENDERS_FOLDER).resolve(), others=listing.others)
    hidden = [path.relative_to(base).as_posix() for path in listing.hidden]
    return kept.files, hidden, tuple(kept.outputs), kept.others


def audio_among(base: Path, others: Sequence[Path]) -> str:
    """What is audio, by how it begins, among files below ``base`` left out as of no audio format it takes: audio it
    reads under another name (a WAV named ``take`` or ``take.wav.bak``), audio of a format it does not read (Monkey's
    Audio, TAK ...), each named with what to do; empty where none is."""
    kinds = [(Path(os.path.relpath(path, base)).as_posix(), kind_of_file(path)) for path in others]
    misnamed = [f"{name} ({kind.name})" for name, kind in kinds if kind is not None and kind.audio]
    unread = [f"{name} ({kind.name})" for name, kind in kinds if kind is not None and kind.category == "other audio"]
    words = []
    if misnamed:
        words.append(f"audio it reads under another name: {first_of(misnamed)}; name it for its format (.wav, .flac ...)")
    if unread:
        words.append(
            f"audio of a format it does not read: {first_of(unread)}; convert it to WAV or FLAC "
            "(e.g. ffmpeg -i IN -c:a pcm_s24le OUT.wav)"
        )
    return "; ".join(words)


class Kept(NamedTuple):
    """What :func:`without_outputs` keeps of what a folder holds."""

    files: list[Path]  #: the audio files that are not soundstage's
    outputs: list[str]  #: what was left out as soundstage's: its folders (``mastered/``), and files in the one given
    others: list[Path]  #: the other files that are not soundstage's, nor a TOML file (its chains, job lists, sessions)


def without_outputs(base: Path, files: list[Path], *, also: Path | None = None, others: Sequence[Path] = ()) -> Kept:
    """``files`` (found below ``base``) but those soundstage wrote, and what was left out as soundstage's
    (``mastered/``, ``mixdown.wav``), so that a folder searched again does not take last time's outputs as input;
    and ``others`` (files of no audio format below ``base``) but soundstage's, judged alike, and its TOML files.

    soundstage's are every file of a folder below ``base`` that holds a render's report or a batch's manifest
    (:data:`OUTPUT_MARKERS`), the files under ``also`` (a session's renders folder), and in ``base`` itself the
    files its own report or manifest names (a render written into the stems' folder: the stems beside them are the
    user's; its report, manifest and audition page), unless those are all the audio there is (a folder of outputs,
    given itself). A file not below ``base`` is kept.
    """
    known: dict[Path, bool] = {}

    def output_folder(path: Path) -> str | None:
        try:
            relative = path.relative_to(base)
        except ValueError:  # a glob reaching above its fixed part ("../x/*.wav")
            return None
        for folder in relative.parents[:-1]:  # below base: a folder of outputs given itself is taken
            if folder not in known:
                known[folder] = any((base / folder / marker).is_file() for marker in OUTPUT_MARKERS)
            if known[folder]:
                return f"{folder.as_posix()}/"
        return relative.as_posix() if relative.as_posix() in listed else None

    def theirs(judged: dict[Path, str | None]) -> list[Path]:
        return [path for path, name in judged.items() if name is None and not (also and path.resolve().is_relative_to(also))]

    def sort() -> tuple[list[Path], list[str]]:
        left = {path: output_folder(path) for path in files}
        return theirs(left), sorted({name for name in left.values() if name})

    listed = _outputs_listed_in(base)
    kept, outputs = sort()
    if not kept and listed:  # nothing but what its report or manifest names: a folder of outputs, given itself
        listed.clear()
        kept, outputs = sort()
    own = (*OUTPUT_MARKERS, PAGE_NAME) if (base / REPORT_NAME).is_file() else OUTPUT_MARKERS
    others = [path for path in others if path.suffix.lower() != ".toml" and not (path.parent == base and path.name in own)]
    return Kept(kept, outputs, theirs({path: output_folder(path) for path in others}))


def _outputs_listed_in(folder: Path) -> set[str]:
    """The files a render's report or a batch's manifest in ``folder`` says were written there (none where there is
    neither, or it cannot be read)."""
    names: set[str] = set()
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError, KeyError, RecursionError):
        report = json.loads((folder / REPORT_NAME).read_text(encoding="utf-8"))
        names.update(str(output["file"]) for output in report["outputs"])
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError, KeyError, RecursionError):
        for line in (folder / OUTPUT_MARKERS[1]).read_text(encoding="utf-8").splitlines():
            names.update(str(output["path"]) for output in json.loads(line).get("outputs", []))
    return names


def _inspect(path: Path, session_folder: Path) -> _Found:
    relative = Path(os.path.relpath(os.path.abspath(path), os.path.abspath(session_folder))).as_posix()  # links kept
    if isinstance(library_path(relative), bytes):  # a session file is UTF-8 text: it cannot name this file
        guess = os.fsencode(relative).decode("cp1252", errors="replace")
        raise SessionError(
            f"session new: stem {relative!r} has a name that is not UTF-8 (made on another system; as Windows-1252 it "
            f"reads {guess!r}), and a session file is UTF-8 text; rename it in UTF-8 "
            "(convmv -f cp1252 -t utf-8 --notest -r FOLDER renames them all)"
        )
    try:
        with open_audio(path, allow_truncated=True) as reader:
            found = _Found(
                path,
                relative,
                float(reader.samplerate),
                int(reader.num_channels),
                int(reader.frames),
                str(reader.file_dtype),
                missing_frames(reader),
                time_reference(path),
                _bed(path, int(reader.num_channels)),
                unread_stamp(path),
            )
    except AudioFileError as error:
        raise AudioFileError(f"session new: stem {relative!r}: {error} (or move it out of the folder)") from None
    if found.frames == 0:
        raise AudioFileError(f"session new: stem {relative!r} has no samples; export it again, or move it out of the folder")
    return found


def _bed(path: Path, channels: int) -> str | None:
    """The fold-down preset of a stem that is a 5.1 or 7.1 bed (:data:`BEDS`), else None. Only WAV and FLAC, whose
    channel orders are WAV's: an AIFF's 6 channels are another layout by its format, a Vorbis file's another order."""
    suffix = path.suffix.lower()
    if channels not in BEDS or suffix not in (*WAV_SUFFIXES, ".flac"):
        return None
    preset, masks = BEDS[channels]
    if suffix in WAV_SUFFIXES and _is_adm(path):  # objects or a bed, as its chna chunk says: not read here
        return None
    mask = wav_channel_mask(path) if suffix in WAV_SUFFIXES else None
    return preset if mask is None or mask in masks else None


def _is_adm(path: Path) -> bool:
    """Whether a WAV is an ADM file (ITU-R BS.2076 in BW64, or a WAV with a ``chna`` chunk): its channels are
    objects or beds as that chunk says, whatever their count or mask."""
    with path.open("rb") as file:
        bw64 = file.read(4) == b"BW64"
    return bw64 or wav_chunk(path, b"chna", 0) is not None


def _names(found: list[_Found]) -> list[str | None]:
    """Per stem the name to write: None where the file's stem (the default name) is unique, else its path."""
    counts = Counter(PureWindowsPath(stem.relative).stem for stem in found)  # the default name, as load_session takes it
    names: list[str | None] = []
    taken = {name for name, count in counts.items() if count == 1}
    for stem in found:
        own = PureWindowsPath(stem.relative).stem
        if counts[own] == 1:
            names.append(None)
            continue
        name = Path(stem.relative).with_suffix("").as_posix().replace("/", "-").lstrip(".-") or own
        candidate, number = name, 2
        while candidate in taken:
            candidate, number = f"{name}-{number}", number + 1
        taken.add(candidate)
        names.append(candidate)
    return names


def _describe(stem: _Found, session_rate: float) -> str:
    channels = {1: "mono", 2: "stereo"}.get(stem.channels, f"{stem.channels} ch")
    text = f"{stem.rate / 1000:g} kHz {channels} {stem.dtype}, {stem.frames / stem.rate:.2f} s"
    if stem.time_reference is not None:
        text += f", {stamp_name(stem.path).split()[0]} start {clock_time(stem.time_reference / stem.rate)}"
    elif stem.unread is not None:
        text += f"; {stem.unread}: starts at 0 (offset_s places it)"
    else:
        text += ", no time reference (BWF, FLAC or Ogg): starts at 0 (offset_s places it)"
    if stem.rate != session_rate:
        text += " (resampled)"
    if stem.missing != 0:  # None: cut short, how much unknown
        missing = None if stem.missing is None else stem.missing / stem.rate
        text += f"; TRUNCATED: {missing_words(missing)} (render with --allow-truncated, or export it again)"
    if stem.bed is not None:
        text += f"; folded down to stereo by {stem.bed} (its channels taken as {DOWNMIX_ORDER[stem.bed]})"
    elif stem.channels > 2:
        text += f"; {WIDE_STEM}"
    return text


#: A mono part of a track a DAW exported as "multiple mono" (Pro Tools: Piano.L.wav and Piano.R.wav, a 5.1 bed as
#: Bed.L, Bed.R, Bed.C, Bed.Lfe, Bed.Ls, Bed.Rs; others write Piano_L, Piano-L or Piano L): the name, the separator
#: and the channel.
_MONO_PART = re.compile(r"^(?P<name>.+?)(?P<separator>[._ -])(?P<channel>[LRC]|lfe|[LR]s|[LR]s[sr]|[LR]rs)$", re.IGNORECASE)

#: How each channel of a multiple-mono export enters a stereo mix: its pan, and its gain in dB (None: left out), as
#: the fold-downs of ITU-R BS.775 do (soundstage.host.routing.DOWNMIXES: center and surrounds at -3 dB, no LFE).
_PART_PLACES = {
    "l": (-1.0, 0.0),
    "r": (1.0, 0.0),
    "c": (0.0, -3.0103),
    "lfe": (0.0, None),
    **{side: (-1.0, -3.0103) for side in ("ls", "lss", "lsr", "lrs")},
    **{side: (1.0, -3.0103) for side in ("rs", "rss", "rsr", "rrs")},
}


@dataclass(frozen=True)
class _Part:
    """A mono file of a multiple-mono export, placed in the stereo mix."""

    pan: float
    gain_db: float | None  # None: left out (an LFE)
    channel: str
    others: tuple[str, ...]  # the paths of the other parts


def _multiple_mono(found: list[_Found]) -> dict[int, _Part]:
    """The parts of tracks exported as multiple mono files, by index. A track is taken when its left and right parts
    are there, every part mono, beside each other and alike (format, rate, length, start)."""
    groups: dict[tuple[str, ...], dict[str, int]] = {}
    for index, stem in enumerate(found):
        match = _MONO_PART.match(stem.path.stem)
        if match and stem.channels == 1:
            key = (str(stem.path.parent), match["name"], match["separator"], stem.path.suffix.lower())
            groups.setdefault(key, {})[match["channel"].lower()] = index
    parts: dict[int, _Part] = {}
    for channels in groups.values():
        members = [found[index] for index in channels.values()]
        alike = len({(stem.rate, stem.frames, stem.time_reference) for stem in members}) == 1
        if "l" in channels and "r" in channels and alike:
            for channel, index in channels.items():
                others = tuple(found[i].relative for i in channels.values() if i != index)
                parts[index] = _Part(*_PART_PLACES[channel], channel, others)
    return parts


def _part_comment(part: _Part) -> str:
    """What a session file says of a part's pan and gain."""
    if len(part.others) == 1:
        return f"the {'left' if part.pan < 0 else 'right'} half of a split stereo pair with {part.others[0]}"
    label = part.channel.upper() if part.channel in ("l", "r", "c", "lfe") else part.channel.capitalize()  # Ls, Lss
    return f"channel {label} of a bed exported as mono files, folded down as ITU-R BS.775 does"


def _document(base: Path, found: list[_Found], rate: float) -> str:
    document = tomlkit.document()
    document.add(tomlkit.comment(f"soundstage session for the stems in {base.resolve()} (soundstage session new)"))
    document.add(tomlkit.comment("paths are relative to this file; check it with: soundstage session check FILE"))
    document["format"] = 1
    document["sample_rate"] = int(rate) if rate == int(rate) else rate
    document["sample_rate"].comment(f"the rate of {'most' if len({s.rate for s in found}) > 1 else 'all'} stems")
    document.add(tomlkit.comment("tail_s = 2.0  # seconds rendered after the last stem ends, for a reverb's tail"))
    stems = tomlkit.aot()
    parts = _multiple_mono(found)
    for index, (stem, name) in enumerate(zip(found, _names(found), strict=True)):
        table = tomlkit.table()
        path = stem.relative if not stem.relative.startswith("~") else f"./{stem.relative}"
        table["path"] = path
        table["path"].comment(_describe(stem, rate))
        if name is not None:
            table["name"] = name
        part = parts.get(index)
        table["gain_db"] = 0.0 if part is None else (-120.0 if part.gain_db is None else part.gain_db)
        if part is not None and part.gain_db is None:
            table["gain_db"].comment("the LFE, left out of a stereo fold-down (ITU-R BS.775); raise it to hear it")
        if part is not None:
            table["pan"] = part.pan
            table["pan"].comment(_part_comment(part))
        if stem.bed is not None:
            table["chain"] = stem.bed
        stems.append(table)
    document["stems"] = stems
    master = tomlkit.table()
    master.add(tomlkit.comment('chain = "mastering"    # a chain on the mix (a chain file or a preset)'))
    document["master"] = master
    renders = tomlkit.aot()
    for name, kind, chain, per_driver, bit_depth in RENDERS:
        table = tomlkit.table()
        table["name"] = name
        table["kind"] = kind
        if chain is not None:
            table["chain"] = chain
        if per_driver:
            table["per_driver"] = True
        table["bit_depth"] = bit_depth
        renders.append(table)
    document["renders"] = renders
    return tomlkit.dumps(document)
