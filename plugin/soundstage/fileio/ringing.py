"""Whether a chain still rings where its output ends (a reverb's or a delay's tail, cut by the rule that an output
is as long as its input): a render goes on past its end, silence in, and what the chain gives there is heard, not
written, until it has been quiet for a while (:class:`RingMeter`); :class:`PastTheEnd` is the sink of
:func:`~soundstage.fileio.process_file` that does so, a session's outputs (:mod:`soundstage.session.outputs`) do the
same each."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from soundstage.sinks import AudioSink

__all__ = [
    "PastTheEnd",
    "RING_CAP_S",
    "RING_DB",
    "RING_FLOOR_DBFS",
    "RING_MIN_S",
    "RING_QUIET_S",
    "RingMeter",
    "ringing_note",
]

#: A chain rings past an output's end while it is within this many dB of the output's peak (RT60's measure).
RING_DB = 60.0
#: Below this level (dBFS) nothing rings, whatever the output's peak: a silent input's output is not heard for noise.
RING_FLOOR_DBFS = -120.0
#: Ringing shorter than this (s) is a filter's, not a tail: not said.
RING_MIN_S = 0.1
#: How long the output past its end must stay quiet (s) before the ringing is taken to have ended (a delay's repeats).
RING_QUIET_S = 2.0
#: How long past its end a chain is heard at most (s).
RING_CAP_S = 30.0


class RingMeter:
    """How long an output stays within :data:`RING_DB` of its peak past its end, from the blocks it gives there
    (:meth:`hear`): ``ringing_s``, counted from the end (0.0 where that is under :data:`RING_MIN_S`, an EQ's or a
    filter's ring; infinite past :data:`RING_CAP_S`, a delay fed back on itself). It has heard enough (``ended``) once
    the output has been quiet for :data:`RING_QUIET_S`, counted in samples: the same whatever the blocks' size."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.past = self.loud = 0  # samples past the end heard; the last of them within RING_DB of the peak
        self.quiet, self.ended = round(RING_QUIET_S * rate), False

    @property
    def listening(self) -> bool:
        """Whether more past the end is to be heard: not yet quiet for long enough, nor heard to the cap."""
        return not self.ended and self.past < round(RING_CAP_S * self.rate)

    def hear(self, after: np.ndarray, peak: float) -> None:
        """The next ``(channels, n)`` samples the output gives past its end; ``peak``: the output's, up to its end."""
        if not after.shape[1] or self.ended:
            return
        floor = max(peak * 10 ** (-RING_DB / 20), 10 ** (RING_FLOOR_DBFS / 20))  # a silent output rings not
        loud = self.past + np.flatnonzero(np.max(np.abs(after), axis=0) > floor)
        # where it was quiet for RING_QUIET_S it has ended, whatever comes after in the same block
        gaps = np.flatnonzero(np.diff(loud, prepend=self.loud - 1) > self.quiet)
        heard = loud[: gaps[0]] if gaps.size else loud
        if heard.size:
            self.loud = int(heard[-1]) + 1
        self.past += after.shape[1]
        self.ended = bool(gaps.size) or self.past - self.loud >= self.quiet

    @property
    def ringing_s(self) -> float:
        """How long past the end the output stays within :data:`RING_DB` of its peak (s)."""
        if self.loud >= round(RING_CAP_S * self.rate):
            return math.inf
        seconds = self.loud / self.rate
        return seconds if seconds >= RING_MIN_S else 0.0


class PastTheEnd:
    """The sink of a render that goes on past its end, silence in, to hear whether the chain still rings there: the
    first ``frames`` samples go to ``sink``; those after to a :class:`RingMeter` (``ringing_s``). :meth:`silence`
    gives the blocks to feed it, as long as the meter listens."""

    def __init__(self, sink: AudioSink, frames: int, rate: float) -> None:
        self.sink, self.left = sink, frames
        self.meter = RingMeter(rate)

    def __call__(self, block: np.ndarray) -> None:
        kept = block[:, : self.left]
        if kept.shape[1]:
            self.sink.write(kept)
            self.left -= kept.shape[1]
        peak = self.sink.signal_peak / self.sink.gain if self.sink.gain else 0.0  # the peak of what it was given
        self.meter.hear(block[:, kept.shape[1] :], peak)

    def silence(self, channels: int, buffer_size: int) -> Iterator[np.ndarray]:
        """Blocks of silence past the end, as long as the chain may still ring."""
        while self.meter.listening:
            yield np.zeros((channels, buffer_size), np.float32)

    @property
    def ringing_s(self) -> float:
        return self.meter.ringing_s


def ringing_note(output: str, ringing_s: float, tail_s: float, asked: Callable[[str], str], *, many: bool = False) -> str:
    """The line saying that the chain still rang ``ringing_s`` past where ``output`` ends (``many``: several outputs,
    ``ringing_s`` the longest), rendered with a tail of ``tail_s``, and how to render its tail: ``asked(seconds)``
    ("pass --tail 4.8")."""
    chain, end, stays = ("the chains", "they end", "they stay") if many else ("the chain", "it ends", "it stays")
    if math.isinf(ringing_s):
        return (
            f"{output}: {chain} still ring{'' if many else 's'} where {end}, and {RING_CAP_S:g} s later (a delay fed back "
            f"on itself?): {'their tails are' if many else 'its tail is'} cut; {asked('SECONDS')} to render as much of "
            "it as you want"
        )
    wanted = math.ceil((tail_s + ringing_s) * 10) / 10
    peak = "their peaks up to" if many else "the output's peak"
    return (
        f"{output}: {chain} still ring{'' if many else 's'} where {end} (a reverb's or a delay's tail, cut): {stays} "
        f"within {RING_DB:g} dB of {peak} {ringing_s:.1f} s longer; {asked(f'{wanted:g}')} to render it"
    )
