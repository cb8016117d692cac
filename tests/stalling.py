"""A decoder that loops for ever, for tests/test_stalls.py: libsndfile 1.2 walking a LIST of tags whose one entry's
size reads as a step back (found by a run of 5000 damaged WAVs; soundstage refuses such a file before it opens it).
Here it stands in for a read that never returns: `loop_in_reads` makes every pedalboard read of the process run that
walk, in C, at 100% of a core, as a decoder looping on damaged data does."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import soundfile
from pedalboard.io import ReadableAudioFile

from soundstage import stalls
from soundstage.batch.worker import Task, run_task


def looping_wav(path: Path) -> Path:
    """Write a 1 s WAV (FFmpeg's) whose LIST of tags libsndfile reads for ever to ``path``."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "anoisesrc=d=1:r=48000:a=0.3", "-ac", "2",
                    "-metadata", "title=Lead vocal", "-c:a", "pcm_s16le", str(path)], check=True)  # fmt: skip
    body = b"INFO" + b"inst" + (2**32 - 8).to_bytes(4, "little") + bytes(8)  # the entry's size: itself again
    data = path.read_bytes() + b"LIST" + len(body).to_bytes(4, "little") + body
    path.write_bytes(data[:4] + (len(data) - 8).to_bytes(4, "little") + data[8:])
    return path


def loop_in_reads(looping: Path, limit_s: float) -> None:
    """From now on, every read of a pedalboard reader in this process loops in libsndfile (on ``looping``); the
    watch's limit for a read is ``limit_s`` CPU seconds."""
    stalls.READ_LIMIT_S = limit_s
    info = soundfile.info

    def read(self: Any, *_: Any) -> Any:
        info(str(looping))  # never returns
        raise AssertionError("libsndfile returned")

    ReadableAudioFile.read = read  # type: ignore[method-assign]


def loop_in_item01(task: Task) -> dict[str, Any]:
    """A batch worker function: item01's reads loop (the looping file is ``damaged/looping.wav`` beside the inputs'
    folder); the others render as usual."""
    if task.item == "item01":
        loop_in_reads(Path(task.input).parent.parent / "damaged" / "looping.wav", limit_s=2.0)
    return run_task(task)


def loop_in_opens(looping: Path, limit_s: float) -> None:
    """From now on, libsndfile's first look at a file (``soundfile.info``, which soundstage makes while it holds what
    C libraries print) loops on ``looping``; the watch's limit for a read or an open is ``limit_s`` CPU seconds."""
    stalls.READ_LIMIT_S = limit_s
    info = soundfile.info

    def first_look(*_: Any, **__: Any) -> Any:
        print("looping", flush=True)  # for a test to signal the process in the loop, not before
        info(str(looping))  # never returns
        raise AssertionError("libsndfile returned")

    soundfile.info = first_look


def hang_limit_3_s(task: Task) -> dict[str, Any]:
    """A batch worker function: an item with 3 s for a call into plugins (a hung plugin seen in 3 s, not 5 minutes)."""
    stalls.PLUGIN_LIMIT_S = 3.0
    return run_task(task)
