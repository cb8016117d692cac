"""What a file is, by how it begins: for the one-line errors when one kind of file is given where another is wanted
(an audio file after ``--chain``, a MIDI file as the input, a zip archive for a head, a chain file saved as RTF).

Only the first bytes are looked at (:data:`HEAD_BYTES`); a file none of these begins like (text among them) is
``None``, for the reader that wanted it to judge.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

__all__ = ["CATEGORIES", "HDF5_SIGNATURE", "HEAD_BYTES", "FileKind", "file_kind", "kind_of_file"]

#: What a file can be: audio, audio in a format soundstage does not read ("other audio": Monkey's Audio, TAK, ...),
#: MIDI, a head-related set's container (HDF5, netCDF), other numeric data, a plugin's preset, an archive, a document,
#: an image, a program or a video.
CATEGORIES = ("audio", "other audio", "midi", "head", "data", "preset", "archive", "document", "image", "program", "video")
#: How many of a file's first bytes :func:`file_kind` needs.
HEAD_BYTES = 20
#: An HDF5 file's signature (netCDF-4, so SOFA, is HDF5), at its start or after a user block of 512, 1024, 2048 ...
#: bytes (:func:`soundstage.containers.hdf5_superblock`).
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class FileKind(NamedTuple):
    """What a file is: a phrase for a message (``"a MIDI file"``) and its category, one of :data:`CATEGORIES`."""

    name: str
    category: str

    @property
    def audio(self) -> bool:
        """Whether the file holds audio soundstage may read."""
        return self.category == "audio"


#: Signatures at the start of a file, each long enough to hold a byte no text file begins with (but RTF's, which is
#: text; a TOML file cannot begin with "{"): a chain file whose first key is "MZ" or "ID3" is not taken for a program.
_STARTS: tuple[tuple[bytes, FileKind], ...] = (
    (b"RF64\xff\xff\xff\xff", FileKind("a WAV file (RF64)", "audio")),
    (b"BW64\xff\xff\xff\xff", FileKind("a WAV file (BW64)", "audio")),
    (b"fLaC\x00", FileKind("a FLAC file", "audio")),
    (b"fLaC\x80", FileKind("a FLAC file", "audio")),
    (b"OggS\x00", FileKind("an Ogg file", "audio")),
    (b"caff\x00\x01", FileKind("a CAF file", "audio")),
    (b"riff\x2e\x91\xcf\x11", FileKind("a Wave64 file", "audio")),
    (b"ID3\x02", FileKind("an MP3 file", "audio")),
    (b"ID3\x03", FileKind("an MP3 file", "audio")),
    (b"ID3\x04", FileKind("an MP3 file", "audio")),
    (b"\x1aE\xdf\xa3", FileKind("a Matroska or WebM file", "audio")),
    (b"MThd\x00\x00\x00\x06", FileKind("a MIDI file", "midi")),
    (HDF5_SIGNATURE, FileKind("an HDF5 file (a SOFA set?)", "head")),
    (b"CDF\x01", FileKind("a netCDF file", "head")),
    (b"CDF\x02", FileKind("a netCDF file", "head")),
    (b"CDF\x05", FileKind("a netCDF file", "head")),
    (b"VST3\x01\x00\x00\x00", FileKind("a VST3 preset", "preset")),
    (b"PK\x03\x04", FileKind("a zip archive", "archive")),
    (b"PK\x05\x06", FileKind("a zip archive", "archive")),
    (b"\x1f\x8b", FileKind("a gzip archive", "archive")),
    (b"7z\xbc\xaf\x27\x1c", FileKind("a 7-Zip archive", "archive")),
    (b"Rar!\x1a\x07", FileKind("a RAR archive", "archive")),
    (b"%PDF-", FileKind("a PDF document", "document")),
    (b"{\\rtf", FileKind("an RTF document (save it as plain text)", "document")),
    (b"\xd0\xcf\x11\xe0", FileKind("a Microsoft Office document", "document")),
    (b"\x89PNG", FileKind("a PNG image", "image")),
    (b"\xff\xd8\xff", FileKind("a JPEG image", "image")),
    (b"\x7fELF", FileKind("a program or library (ELF)", "program")),
)
#: RIFF and IFF files, by the form their header names at bytes 8-12.
_FORMS = {
    (b"RIFF", b"WAVE"): FileKind("a WAV file", "audio"),
    (b"RIFF", b"RMID"): FileKind("a MIDI file (RMID)", "midi"),
    (b"RIFF", b"AVI "): FileKind("an AVI video", "video"),
    (b"FORM", b"AIFF"): FileKind("an AIFF file", "audio"),
    (b"FORM", b"AIFC"): FileKind("an AIFF file", "audio"),
}


#: Audio whose signature is text (four letters), by the signature, how many bytes after it hold one no text does, what
#: it is, and its category: "audio" (FFmpeg's decoders read it, the "formats" extra) or "other audio" (no reader here
#: takes it: no encoder of it is at hand to test one against).
_LETTERED_AUDIO = (
    (b"DSD ", 8, "a DSD stream file (DSF)", "audio"),  # its 64-bit chunk size, 28
    (b"MPCKSH", 4, "a Musepack file", "audio"),  # stream version 8
    (b"MP+", 1, "a Musepack file (stream version 7)", "other audio"),
    (b"MAC ", 2, "a Monkey's Audio file", "other audio"),  # its version, e.g. 3990
    (b"tBaK", 4, "a TAK file", "other audio"),
    (b"OFR ", 4, "an OptimFROG file", "other audio"),
    (b"ajkg", 1, "a Shorten file", "other audio"),  # its version, 1..3
)


def _binary(part: bytes) -> bool:
    """Whether ``part`` holds a byte no text holds: a control character but tab and line ends, or bytes that are not
    UTF-8 (but for a character cut at the end of ``part``)."""
    return any(b < 0x09 or 0x0E <= b < 0x20 or b == 0x7F for b in part) or (bool(part) and not _decodes(part))


def _decodes(part: bytes) -> bool:
    """Whether ``part`` is UTF-8 text, but for a character cut at its end."""
    try:
        part.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start > len(part) - 4 and error.reason == "unexpected end of data"
    return True


def file_kind(head: bytes) -> FileKind | None:
    """What a file beginning with ``head`` (its first :data:`HEAD_BYTES` bytes, or more) is, or None.

    MPEG audio without a tag is known by its frame sync (11 bits set): ADTS AAC where the layer bits are 00, else
    MP3; a UTF-16 text's byte-order mark (``FF FE``), which also sets them, is not audio.

    Examples
    --------
    >>> file_kind(b"MThd\\x00\\x00\\x00\\x06").name
    'a MIDI file'
    >>> file_kind(b"RIFF\\x24\\x00\\x00\\x00WAVEfmt ").audio
    True
    >>> file_kind(b"[[stages]]") is None
    True
    """
    form = _FORMS.get((head[:4], head[8:12]))
    if form is not None:
        return form
    for start, kind in _STARTS:
        if head.startswith(start):
            return kind
    for start, length, name, category in _LETTERED_AUDIO:  # their four letters are text: a byte after them is not
        if head.startswith(start) and _binary(head[len(start) : len(start) + length]):
            return FileKind(name, category)
    if head[:4] == b"FRM8" and head[12:16] == b"DSD " and _binary(head[4:12]):
        return FileKind("a DSDIFF file", "audio")
    if head.startswith(b"MATLAB ") and b" MAT-file" in head:  # MATLAB 5.0 and 7.3 (HDF5 behind a text header)
        return FileKind("a MATLAB file", "data")
    if head[:2] == b"MZ" and b"\x00" in head[2:HEAD_BYTES]:  # a Windows program's DOS header
        return FileKind("a Windows program or library", "program")
    if head[:3] == b"\x00\x00\x00" and head[4:8] == b"ftyp":  # the first box, a few bytes long
        return FileKind("an MP4 or M4A file", "audio")
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[:2] not in (b"\xff\xfe", b"\xff\xff"):
        return FileKind("an AAC file" if head[1] & 0x06 == 0 else "an MP3 file", "audio")
    return None


def kind_of_file(file: Path) -> FileKind | None:
    """:func:`file_kind` of ``file``'s first bytes; None where it cannot be read."""
    try:
        with file.open("rb") as handle:
            return file_kind(handle.read(HEAD_BYTES))
    except OSError:
        return None
