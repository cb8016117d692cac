"""The one walk over a WAV's chunks (soundstage.riff): it takes any bytes, and it finds what other programs wrote."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import tool
from soundstage import riff, sinks


@settings(max_examples=1000, deadline=None)
@given(body=st.binary(max_size=300), form=st.sampled_from([b"RIFF", b"RF64", b"BW64", b"RIFX"]))
def test_the_walk_takes_any_bytes_and_ends(body: bytes, form: bytes) -> None:
    """Whatever follows a WAV's first 12 bytes, the walk raises nothing, moves forward only, stops at the file's end,
    and gives each chunk as its header in the file says (a data chunk's size may come from ds64)."""
    data = form + len(body).to_bytes(4, "little") + b"WAVE" + body
    stream = io.BytesIO(data)
    found = list(riff.chunks(stream))
    if form == b"RIFX":  # big-endian RIFF: not a form this reads
        assert found == []
        return
    positions = [chunk.position for chunk in found]
    assert positions == sorted(set(positions)) and all(12 <= p <= len(data) - 8 for p in positions)
    for chunk in found:
        assert data[chunk.position : chunk.position + 4] == chunk.kind
        declared = int.from_bytes(data[chunk.position + 4 : chunk.position + 8], "little")
        assert chunk.size == declared or (form != b"RIFF" and chunk.kind == b"data" and declared == riff.UNSIZED)


@settings(max_examples=300, deadline=None)
@given(size=st.integers(0, 2**64 - 1) | st.integers(1, 40), audio=st.binary(max_size=40).map(lambda b: b[: len(b) // 2 * 2]))
def test_a_data_size_in_ds64_past_the_files_end_ends_the_walk(size: int, audio: bytes) -> None:
    """An RF64 whose ds64 gives the audio any 64-bit size (a damaged file's, or a pipe's 0): the walk gives ds64 and the
    data chunk, and the chunk after the audio where the size leads to it. A size of 2**63 or more raised ValueError
    from the seek (found by tests/test_fuzz.py), and `process` printed a traceback."""
    ds64 = b"ds64" + (28).to_bytes(4, "little") + bytes(8) + size.to_bytes(8, "little") + bytes(12)
    data = b"RF64" + riff.UNSIZED.to_bytes(4, "little") + b"WAVE" + ds64 + b"data" + riff.UNSIZED.to_bytes(4, "little")
    data += audio + b"LIST" + bytes(4)
    kinds = [chunk.kind for chunk in riff.chunks(io.BytesIO(data))]
    assert kinds[:2] == [b"ds64", b"data"]
    if size == len(audio) > 0:  # 0 is a pipe's: the audio runs to the file's end
        assert kinds[2:] == [b"LIST"]
    elif size > len(audio) + 8:
        assert kinds[2:] == []


def test_the_chunks_ffmpeg_and_libsndfile_write_are_found(tmp_path: Path) -> None:
    """A WAV from libsndfile (fmt, PEAK for float, data) and an RF64 from ffmpeg (ds64, fmt, LIST, data) with a chunk
    after its audio: the walk finds each chunk where the bytes are, and the RF64's data size is what ds64 says."""
    soundfile.write(str(tmp_path / "f.wav"), np.zeros((1000, 2), np.float32), 48000, subtype="FLOAT")
    with (tmp_path / "f.wav").open("rb") as stream:
        kinds = [chunk.kind for chunk in riff.chunks(stream)]
    assert kinds[0] == b"fmt " and b"PEAK" in kinds and kinds[-1] == b"data"
    noise = ["-f", "lavfi", "-i", "anoisesrc=d=0.25:r=48000:a=0.1", "-ac", "2", "-c:a", "pcm_s24le"]
    subprocess.run([tool("ffmpeg"), "-v", "error", *noise, "-rf64", "always", str(tmp_path / "r.wav")], check=True)
    tail = b"chna" + (4).to_bytes(4, "little") + b"\1\0\1\0"
    (tmp_path / "r.wav").write_bytes((tmp_path / "r.wav").read_bytes() + tail)
    with (tmp_path / "r.wav").open("rb") as stream:
        assert riff.wav_form(stream) == b"RF64"
        found = {chunk.kind: chunk for chunk in riff.chunks(stream)}
        assert list(found) == [b"ds64", b"fmt ", b"LIST", b"data", b"chna"]
        assert found[b"data"].size == 12000 * 2 * 3  # 0.25 s of 2 x 24 bits at 48 kHz, as ds64 has it
        assert found[b"chna"].position == (tmp_path / "r.wav").stat().st_size - len(tail)
        bodies = {chunk.kind: stream.read(4) for chunk in riff.chunks(stream)}  # each given with the stream at its body
    assert bodies[b"chna"] == b"\1\0\1\0" and bodies[b"fmt "][:2] == b"\xfe\xff"  # WAVE_FORMAT_EXTENSIBLE


def test_an_rf64_that_fits_becomes_a_wav_with_the_data_size_ds64_held(tmp_path: Path) -> None:
    """rf64_as_wav writes the data size ds64 holds into the data chunk, 0 included (an RF64 whose ds64 says 0 and
    whose data header says 0xFFFFFFFF is empty, not "to the end of the file")."""
    from soundstage.sinks import rf64_as_wav

    for frames in (0, 10):
        path = tmp_path / f"{frames}.wav"
        with soundfile.SoundFile(str(path), "w", 48000, 2, "PCM_24", format="RF64") as file:
            file.write(np.zeros((frames, 2)))
        assert rf64_as_wav(path)
        with path.open("rb") as stream:
            assert riff.wav_form(stream) == b"RIFF"
            sizes = {chunk.kind: chunk.size for chunk in riff.chunks(stream)}
        assert sizes[b"data"] == frames * 2 * 3 and b"JUNK" in sizes and b"ds64" not in sizes
        assert soundfile.info(str(path)).frames == frames


@settings(max_examples=60, deadline=None)
@given(
    frames=st.integers(0, 300_000),  # past the 1 MiB pieces the audio moves in
    channels=st.integers(1, 3),
    extra=st.binary(max_size=41),  # a chunk before the audio, odd sizes padded
    bodies=st.lists(st.binary(max_size=700), min_size=1, max_size=3),
)
def test_chunks_go_in_alike_in_place_and_by_a_copy(
    tmp_path_factory, frames: int, channels: int, extra: bytes, bodies: list[bytes]
) -> None:
    """A sink's temporary gets its chunks in place (moving the audio along: no room for a second copy needed); a file
    written elsewhere gets them through a copy. Both give the same bytes, which soundfile reads as the same audio and
    the walk finds the chunks in, before the data chunk."""
    folder = tmp_path_factory.mktemp("chunks")
    audio = np.random.default_rng(frames).integers(-32768, 32767, (frames, channels), dtype=np.int16)
    plain = folder / "plain.wav"
    soundfile.write(str(plain), audio, 48000, subtype="PCM_16")
    data = plain.read_bytes()
    if extra:  # another program's chunk, before fmt's data (RIFF allows any order)
        chunk = b"LIST" + len(extra).to_bytes(4, "little") + extra + b"\0" * (len(extra) & 1)
        data = data[:12] + chunk + data[12:]
        data = data[:4] + (len(data) - 8).to_bytes(4, "little") + data[8:]
    chunks = [(b"bext" if index == 0 else b"iXML", body) for index, body in enumerate(bodies)]
    copied, moved = folder / "copied.wav", folder / "moved.wav"
    copied.write_bytes(data)
    moved.write_bytes(data)
    assert sinks.insert_wav_chunks(copied, chunks)
    assert sinks.insert_wav_chunks(moved, chunks, in_place=True)
    assert moved.read_bytes() == copied.read_bytes()
    read, _ = soundfile.read(str(moved), dtype="int16", always_2d=True)
    assert np.array_equal(read, audio)
    with moved.open("rb") as file:
        kinds = [chunk.kind for chunk in riff.chunks(file)]
    assert kinds.index(b"data") > max(kinds.index(b"bext"), kinds.index(b"iXML") if len(bodies) > 1 else 0)


def test_a_run_of_zero_bytes_is_passed_and_a_header_naming_no_chunk_ends_the_walk() -> None:
    """Zero bytes between chunks (a gap a writer left; pedalboard and FFmpeg walk through it) are passed over, however
    many, and the chunk after them is found where it is. A header that is no four-character code ends the walk, as it
    ends libsndfile's: before, the walk went on through the samples past a wrong size, 8 bytes at a time where they
    were silent (minutes for a long recording)."""
    fmt = b"fmt " + (16).to_bytes(4, "little") + bytes(16)
    data = b"data" + (4).to_bytes(4, "little") + bytes(4)
    tags = b"LIST" + (4).to_bytes(4, "little") + b"INFO"
    for gap in (8, 16, 4096, 3 * 2**20 + 8):
        body = b"WAVE" + fmt + data + bytes(gap) + tags
        found = list(riff.chunks(io.BytesIO(b"RIFF" + len(body).to_bytes(4, "little") + body)))
        assert [(chunk.kind, chunk.position) for chunk in found] == [(b"fmt ", 12), (b"data", 36), (b"LIST", 48 + gap)]
    body = b"WAVE" + fmt + data + b"\x01\x00\xfe\xff" + (2).to_bytes(4, "little") + bytes(2) + tags
    found = list(riff.chunks(io.BytesIO(b"RIFF" + len(body).to_bytes(4, "little") + body)))
    assert [chunk.kind for chunk in found] == [b"fmt ", b"data"]
