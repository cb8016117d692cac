"""What a folder holds for soundstage to read (a batch's items, a new session's stems, and the files it leaves out),
and the DAW projects people give where a session file or a folder of stems is wanted."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

__all__ = ["AUDIO_SUFFIXES", "Listing", "audio_files", "daw_project"]


#: The audio files a folder contributes (a batch's items, a new session's stems), which
#: :func:`~soundstage.fileio.open_audio` reads.
AUDIO_SUFFIXES = (
    *(".wav", ".wave", ".bwf", ".rf64", ".flac", ".aiff", ".aif", ".aifc", ".caf", ".w64", ".mp3", ".ogg", ".opus", ".au"),
    *(".mp2", ".mpga"),  # MPEG audio layer II: broadcast archives
    *(".m4a", ".wv", ".aac", ".ac3"),  # read with the "formats" extra (DecodedReader): AAC, ALAC, WavPack, raw AAC, AC-3
    *(".wma", ".oga", ".mka", ".tta"),  # and Windows Media Audio, FLAC in Ogg, Matroska audio, True Audio
    *(".dsf", ".dff", ".mpc"),  # and DSD (SACD masters: DSF, DSDIFF), Musepack
)


class Listing(NamedTuple):
    """A folder's files as :func:`audio_files` sorts them, each list in path order."""

    files: list[Path]  #: the audio files (:data:`AUDIO_SUFFIXES`)
    hidden: list[Path]  #: audio files left out as hidden
    others: list[Path]  #: the files of no audio suffix, but the hidden ones


def audio_files(folder: Path, *, below: bool = False) -> Listing:
    """The files in ``folder`` (``below``: in its folders too), in path order: the audio files
    (:data:`AUDIO_SUFFIXES`), the hidden audio files left out (a name or folder starting with ``.``: macOS writes
    ``._kick.wav`` beside ``kick.wav`` on drives it did not format: metadata, not audio), and the other files that are
    not hidden (notes, artwork, or audio of a format not listed: a caller says those, not to leave one out in silence)."""
    if below:
        os.scandir(folder).close()  # a folder this user may not read: said (rglob finds nothing in it, in silence)
    found = folder.rglob("*") if below else folder.iterdir()
    listing = Listing([], [], [])
    for path in sorted(found, key=lambda p: p.relative_to(folder).as_posix().lower()):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        audio = path.suffix.lower() in AUDIO_SUFFIXES
        if (audio or not hidden) and path.is_file():
            (listing.others if not audio else listing.hidden if hidden else listing.files).append(path)
    return listing


#: DAW projects people give where a session file or a folder of stems is wanted: how the file begins (None: its
#: suffix alone tells), its suffixes, what it is, and how that DAW writes each track to a file of its own.
_PROJECTS: tuple[tuple[bytes | None, tuple[str, ...], str, str], ...] = (
    (b"<REAPER_PROJECT", (".rpp",), "a REAPER project", "File > Render, Source: Stems (selected tracks)"),
    (None, (".ardour",), "an Ardour session", "Session > Export > Stem Export"),
    (None, (".als",), "an Ableton Live set", "File > Export Audio/Video, Rendered Track: All Individual Tracks"),
    (None, (".logicx",), "a Logic Pro project", "File > Export > All Tracks as Audio Files"),
    (None, (".ptx", ".ptf", ".pts"), "a Pro Tools session", "File > Bounce Tracks, one file per track"),
    (None, (".cpr", ".npr"), "a Cubase or Nuendo project", "File > Export > Audio Mixdown, Channel Batch Export"),
    (None, (".song",), "a Studio One song", "Song > Export Stems"),
    (b"FLhd", (".flp",), "an FL Studio project", "File > Export > WAV file, Split mixer tracks"),
    (None, (".bwproject",), "a Bitwig Studio project", "File > Export Audio, each track"),
    (None, (".aup3", ".aup"), "an Audacity project", "File > Export > Export Multiple"),
    (None, (".band",), "a GarageBand project", "each track soloed, Share > Export Song to Disk"),
    (None, (".aaf", ".omf", ".omfi"), "an AAF/OMF interchange file", "open it in a DAW and export each track as a file"),
)


def daw_project(file: Path) -> tuple[str, str] | None:
    """What DAW's project ``file`` is (``"a REAPER project"``), by how it begins or its suffix, and how that DAW
    writes each of its tracks to a file; None for anything else."""
    suffix, head = file.suffix.lower(), b""
    if file.is_file():  # not a folder (Logic's and GarageBand's projects are: the suffix tells), nor a pipe
        try:
            with file.open("rb") as handle:
                head = handle.read(16)
        except OSError:  # unreadable: the suffix tells
            pass
    for start, suffixes, what, export in _PROJECTS:
        if suffix in suffixes or (start is not None and head.startswith(start)):
            return what, export
    return None
