"""Property-based fuzzing (hypothesis): the TOML loaders and the audio reader raise nothing but
SoundstageError, whatever they are given. 2 000 generated cases each."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soundstage import Chain, Gain, SoundstageError
from soundstage.acoustics.profiles import load_profile
from soundstage.fileio import process_file
from soundstage.host.chainfile import chain_from_dict
from soundstage.midi.maps import map_from_dict
from soundstage.session.model import load_session

# Locally every run explores new cases (a failure is kept in .hypothesis/ and replayed); in CI the
# cases are derived from the test itself, so a run is repeatable and cannot fail by chance.
CASES = settings(
    max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=bool(os.environ.get("CI"))
)

KEYS = st.sampled_from(
    [
        "type",
        "name",
        "parameters",
        "stages",
        "path",
        "channels",
        "stage",
        "branches",
        "gain_db",
        "device",
        "delays_ms",
        "room",
        "format",
        "kind",
        "number",
        "target",
        "min",
        "max",
        "offset_s",
        "renders",
        "stems",
        "bit_depth",
        "drivers",
        "position_m",
        "band_hz",
        "chain",
        "bus",
        "ceiling_dbtp",
        "sample_rate",
        "bindings",
        "items",
        "input",
        "session",
        "output",
        "hrtf",
        "curve",
        "channel",
        "Gain",
        "route",
        "programs",
        "program",
        "preset",
        "values",
        "g.gain_db",
        "g.invert",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["Gain", "route", "Upmix", "Spatializer", "studio-5", "cc", "ab", "wav", "0.gain_db"]),
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(KEYS, inner, max_size=5)), max_leaves=25
)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=6)


def toml_text(document: dict) -> str:  # type: ignore[type-arg]
    import tomli_w

    def clean(value):  # type: ignore[no-untyped-def]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [clean(v) for v in value if v is not None]
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            return float(value)
        return value

    try:
        return tomli_w.dumps(clean(document))
    except (TypeError, ValueError):
        return "x = 1\n"


@CASES
@given(DOCUMENTS)
def test_chain_loader(document: dict) -> None:  # type: ignore[type-arg]
    try:
        chain_from_dict(document)
    except SoundstageError:
        pass


@CASES
@given(DOCUMENTS)
def test_midi_map_loader(document: dict) -> None:  # type: ignore[type-arg]
    try:
        map_from_dict(document, Chain([Gain()], names=["g"]))
    except SoundstageError:
        pass


@CASES
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["program", "values", "preset", "channel"]),
            st.one_of(SCALARS, st.dictionaries(st.sampled_from(["g.gain_db", "g.invert", "0.gain_db", "g", ""]), SCALARS)),
            max_size=4,
        ),
        max_size=3,
    )
)
def test_midi_map_program_values(programs: list) -> None:  # type: ignore[type-arg]
    """``[[programs]]`` tables with ``values`` (and the keys beside it) of any kind: a map or a one-line error."""
    try:
        map_from_dict({"programs": programs}, Chain([Gain()], names=["g"]))
    except SoundstageError as error:
        assert "\n" not in str(error)


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "stems").mkdir()
    soundfile.write(str(folder / "stems" / "s0.wav"), np.zeros((480, 2), np.float32), 48000)
    return folder


def _load_written(path: Path, document: dict, load: Callable[[Path], object]) -> None:  # type: ignore[type-arg]
    """``document`` written as TOML to ``path`` and read by ``load``: a value, or a one-line SoundstageError."""
    path.write_text(toml_text(document))
    try:
        load(path)
    except SoundstageError as error:
        assert "\n" not in str(error)


@CASES
@given(DOCUMENTS)
def test_session_loader(fuzz_folder: Path, document: dict) -> None:  # type: ignore[type-arg]
    _load_written(fuzz_folder / "session.toml", document, load_session)


@CASES
@given(DOCUMENTS)
def test_job_list_loader(fuzz_folder: Path, document: dict) -> None:  # type: ignore[type-arg]
    """A batch job list (items, chains, sessions, heads, outputs): a one-line BatchError or items, never a traceback."""
    from soundstage.batch import load_jobs

    _load_written(fuzz_folder / "jobs.toml", document, load_jobs)


@CASES
@given(
    st.lists(st.sampled_from(["stems", "s0.wav", "Album", "..", ".", "C:", "D:", "", "x"]), max_size=6), st.sampled_from("/\\")
)
def test_a_moved_stems_path_is_found_below_the_session_only(fuzz_folder: Path, parts: list[str], separator: str) -> None:
    """An absolute path of any shape (this system's or a Windows one): what ``moved_path`` finds is a file below the
    folder it searches, never a traceback, never a file outside it (``..`` in the path)."""
    from soundstage.files import moved_path

    text = separator + separator.join(parts) if separator == "/" else "C:" + separator + separator.join(parts)
    found = moved_path(text, fuzz_folder)
    if found is not None:
        assert found.is_file() and found.resolve().is_relative_to(fuzz_folder.resolve())


@CASES
@given(DOCUMENTS)
def test_device_profile_loader(fuzz_folder: Path, document: dict) -> None:  # type: ignore[type-arg]
    _load_written(fuzz_folder / "profile.toml", document, load_profile)


def audio_bytes(file_format: str, subtype: str) -> bytes:
    buffer = io.BytesIO()
    audio = (0.1 * np.random.default_rng(0).standard_normal((2400, 2))).astype(np.float32)
    soundfile.write(buffer, audio, 48000, format=file_format, subtype=subtype)
    return buffer.getvalue()


def piped_rf64_bytes() -> bytes:
    """An RF64 as a writer on a pipe leaves it (ffmpeg -rf64 always -f wav -): ds64's sizes 0, data's 0xFFFFFFFF."""
    unsized = b"\xff\xff\xff\xff"
    ds64 = b"ds64" + (28).to_bytes(4, "little") + bytes(28)
    fmt = b"fmt " + (16).to_bytes(4, "little") + bytes.fromhex("0100 0200 80bb0000 00650400 0600 1800".replace(" ", ""))
    return b"RF64" + unsized + b"WAVE" + ds64 + fmt + b"data" + unsized + audio_bytes("RAW", "PCM_24")


def stereo_8svx_bytes() -> bytes:
    """A stereo 8SVX as sox writes it (IFF: a VHDR, a CHAN of 6, both channels' bytes one after the other in BODY);
    libsndfile writes no stereo 8SVX."""
    samples = (12 * np.random.default_rng(0).standard_normal((2, 2400))).astype(np.int8).tobytes()
    rate, volume = (48000).to_bytes(2, "big"), (0x10000).to_bytes(4, "big")
    vhdr = b"VHDR" + (20).to_bytes(4, "big") + (2400).to_bytes(4, "big") + bytes(8) + rate + b"\x01\x00" + volume
    chan = b"CHAN" + (4).to_bytes(4, "big") + (6).to_bytes(4, "big")
    chunks = b"8SVX" + vhdr + chan + b"BODY" + len(samples).to_bytes(4, "big") + samples
    return b"FORM" + len(chunks).to_bytes(4, "big") + chunks


ORIGINALS = {
    ".wav": audio_bytes("WAV", "PCM_24"),
    ".flac": audio_bytes("FLAC", "PCM_16"),
    ".aiff": audio_bytes("AIFF", "PCM_16"),
    "-piped.wav": piped_rf64_bytes(),
    ".caf": audio_bytes("CAF", "PCM_24"),
    ".w64": audio_bytes("W64", "PCM_16"),
    ".voc": audio_bytes("VOC", "PCM_16"),  # its block sizes decide which reader reads it
    ".8svx": stereo_8svx_bytes(),  # read by FFmpeg
}


@CASES
@pytest.mark.filterwarnings("ignore:.*does not match the MD5 signature its FLAC header holds")  # a damaged FLAC, said
@given(
    suffix=st.sampled_from(sorted(ORIGINALS)),
    edits=st.lists(st.tuples(st.integers(0, 95), st.integers(0, 255)), min_size=1, max_size=8),
    keep=st.one_of(st.none(), st.integers(0, 20000)),
)
def test_audio_reader_with_corrupted_headers(
    fuzz_folder: Path, suffix: str, edits: list[tuple[int, int]], keep: int | None
) -> None:
    data = bytearray(ORIGINALS[suffix])
    for position, value in edits:  # the header lives in the first bytes
        data[position] = value
    if keep is not None:
        data = data[:keep]
    path = fuzz_folder / f"corrupt{suffix}"
    path.write_bytes(bytes(data))
    try:  # the product's whole reading path: open, check, stream through a chain, write
        process_file(Chain([Gain()]), path, fuzz_folder / "out.wav", overwrite=True, buffer_size=1024)
    except SoundstageError:
        return
    written, _ = soundfile.read(str(fuzz_folder / "out.wav"), dtype="float32")  # what it wrote is audio
    assert np.isfinite(written).all() and np.abs(written).max(initial=0.0) <= 1e6


_ANGLES = st.tuples(st.floats(-360.0, 720.0, allow_nan=False), st.floats(-90.0, 90.0, allow_nan=False))


@CASES
@given(
    grid=st.lists(_ANGLES, min_size=1, max_size=60)
    | st.lists(st.floats(0.0, 360.0, allow_nan=False), min_size=1, max_size=40).map(lambda az: [(a, 0.0) for a in az]),
    asked=st.lists(_ANGLES, min_size=1, max_size=8),
)
def test_any_grid_of_directions_gives_convex_weights(grid: list[tuple[float, float]], asked: list[tuple[float, float]]) -> None:
    """Any measurement grid (scattered, one ring, repeated or rounded directions, a handful of points) gives every
    direction weights of measurements that exist, each in 0..1, summing to 1: an HrtfSet never fails or
    extrapolates on its grid's shape."""
    from soundstage.acoustics.hrtf import HrtfSet

    azimuth, elevation = np.array(grid).T
    irs = np.zeros((len(grid), 2, 16))
    irs[:, :, 2] = 1.0
    hrtf = HrtfSet(irs, azimuth % 360.0, elevation, 48000.0)
    for a, e in asked:
        weights = hrtf.weights(a % 360.0, e)
        assert weights and all(0 <= index < len(grid) and -1e-12 <= w <= 1 + 1e-12 for index, w in weights)
        assert sum(w for _, w in weights) == pytest.approx(1.0)
