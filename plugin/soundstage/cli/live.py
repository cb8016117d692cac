"""``soundstage live`` (a chain in real time, moved by a MIDI controller or a head tracker) and ``soundstage midi
learn | monitor``."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from soundstage.cli.arguments import BLOCK, PORT_FORMS, RATE, SECONDS, given_heads, hrtf_argument, ranged
from soundstage.cli.report import one_line
from soundstage.errors import OutputError, SoundstageError

if TYPE_CHECKING:
    from soundstage.host.chain import Chain

__all__ = ["add_live", "add_midi"]


def _signal_blocks(args: argparse.Namespace, channels: int, rate: float, block: int):
    """Blocks of the input file, or of a generated signal, for ``live``."""
    import numpy as np

    if args.input:
        from soundstage import stalls
        from soundstage.fileio import FlacCheck, open_audio

        with open_audio(args.input) as file:
            reader = file if float(file.samplerate) == rate else file.resampled_to(rate)
            # a FLAC's signature checks what was played at its last sample, as process checks it (not resampled)
            check = FlacCheck.of(Path(args.input), file) if reader is file else None
            end = reader.frames if args.seconds is None else min(reader.frames, round(args.seconds * rate))
            while reader.tell() < end:
                with stalls.watched(Path(args.input), "reading"):
                    block_read = reader.read(min(block, end - reader.tell()))
                    if check is not None:
                        check.add(block_read)
                yield block_read
        return
    rng = np.random.default_rng(0)
    total = round((60.0 if args.seconds is None else args.seconds) * rate)
    phase = 0
    for start in range(0, total, block):
        n = min(block, total - start)
        if args.signal == "sine":
            t = (phase + np.arange(n)) / rate
            mono = 0.25 * np.sin(2 * np.pi * 440.0 * t)
        else:  # white noise, -20 dBFS RMS
            mono = 0.1 * rng.standard_normal(n)
        phase += n
        yield np.repeat(mono[None].astype(np.float32), channels, axis=0)


class _Stop(threading.Event):
    """Set by the first of the signals :func:`_first_signal_stops` takes; ``by`` says which (``"Ctrl-C"``, ``"SIGTERM"``)."""

    by = ""


#: The signals that stop ``live`` and keep its take: Ctrl-C, a kill's or a service manager's SIGTERM, and the SIGHUP of
#: a terminal closed (where the platform has them).
_STOPPING = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def _first_signal_stops(*signums: int) -> Iterator[_Stop]:
    """While ``live`` plays (or ``midi monitor`` listens): the first of ``signums`` (default Ctrl-C) stops it after
    the block it is in, as a DAW's stop does, and what was played and recorded is kept; a second one interrupts
    (nothing kept). A signal the process was started ignoring (Ctrl-C in a background job, SIGHUP under nohup) stays
    ignored."""
    stop = _Stop()
    previous: dict[int, Any] = {}

    def first(signum: int, _frame: object) -> None:
        stop.by = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        stop.set()
        for taken, handler in previous.items():
            signal.signal(taken, handler)

    try:
        for signum in signums or (signal.SIGINT,):
            if signal.getsignal(signum) is not signal.SIG_IGN:
                previous[signum] = signal.signal(signum, first)
    except ValueError:  # not the main thread: the signals are not ours to take
        yield stop
        return
    try:
        yield stop
    finally:
        for taken, handler in previous.items():
            signal.signal(taken, handler)


def _check_live_sources(args: argparse.Namespace) -> None:
    """What moves the chain in ``live``: a MIDI map with its input, a head tracker, or both; the options of one
    given without it (feedback without a map, a yaw sign without a tracker) are refused, not ignored."""
    if bool(args.map) != bool(args.in_port) or not (args.map or args.head_tracker):
        raise SoundstageError(
            "live needs a MIDI map and input (--map MAP.toml --in PORT), a head tracker (--head-tracker udp:PORT), or both"
        )
    if args.out_port and not args.map:
        raise SoundstageError(f"--out {args.out_port}: feedback sends the map's values to a controller; give --map and --in too")
    if args.head_yaw_sign != 1.0 and not args.head_tracker:
        raise SoundstageError("--head-yaw-sign turns a head tracker's yaw; give --head-tracker udp:PORT too")


def _cmd_live(args: argparse.Namespace) -> int:
    import numpy as np

    from soundstage.host.chainfile import find_chain, load_chain
    from soundstage.midi.live import run_live
    from soundstage.midi.maps import load_map

    chain = load_chain(find_chain(args.chain), hrtf=given_heads(args.hrtf))
    _check_live_sources(args)
    midi_map = load_map(args.map, chain) if args.map else None
    tracker_at = _udp_address(args.head_tracker) if args.head_tracker else None
    rate, channels = args.sample_rate or 48000.0, 2
    if args.input:
        from soundstage.fileio import open_audio

        if args.signal:
            raise SoundstageError(f"--signal {args.signal} generates a signal, --input plays '{args.input}': give one of them")
        with open_audio(args.input) as probe:
            rate, channels = args.sample_rate or float(probe.samplerate), int(probe.num_channels)
    outputs = chain.output_channels_for(channels)  # checked before any port opens
    take = _Take()
    with contextlib.ExitStack() as stack:
        sinks = []  # where the processed audio goes: a sound device, a file (both checked before waiting for MIDI)
        if args.play is not None:
            sinks.append(_audio_device(args.play, outputs, rate, stack).write)
        if args.record:
            from soundstage.fileio import check_output_path
            from soundstage.sinks import AudioSink, audio_target

            inputs = [Path(args.input)] if args.input else []
            target = check_output_path(args.record, inputs=inputs, overwrite=args.overwrite)
            recorder = take.recorder = stack.enter_context(AudioSink(audio_target(target, channels=outputs, sample_rate=rate)))
            sinks.append(lambda audio, _rate: take.write(recorder, audio))

        muted = _Muting(rate)

        def deliver(audio: np.ndarray) -> None:
            audio = muted.check(audio)
            for sink in sinks:
                sink(audio, rate)

        control, trackers = _live_sources(args, chain, midi_map, tracker_at, stack, rate)
        stop = take.stop = stack.enter_context(_first_signal_stops(*_STOPPING))

        def show(at: float, applied: dict[str, object]) -> None:
            text = ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in applied.items())
            print(f"{at:8.2f} s  {text}", flush=True)

        with take.kept_on_error():
            stats = run_live(
                chain,
                control,
                itertools.takewhile(lambda _: not stop.is_set(), _signal_blocks(args, channels, rate, args.block)),
                rate,
                on_change=show,
                on_output=deliver,
                trackers=trackers,
            )
    if take.failure is not None:  # the take up to where the drive filled is kept (the sink committed it above)
        raise OutputError(f"{take.failure}; the take's first {take.kept_s:.2f} s are kept in {str(take.path)!r}")
    heard = [f"stopped by {stop.by}{', the take so far kept' if args.record else ''}"] if stop.by else []
    if control is not None:
        heard.append(
            f"{control.received} MIDI message(s), {control.errors} bad, {control.malformed_bytes} malformed byte(s) dropped"
        )
    for tracker in trackers:
        heard.append(f"{tracker.received} head-tracker packet(s), {tracker.malformed} malformed, {tracker.ignored} ignored")
    if muted.blocks:
        heard.append(f"{muted.blocks} block(s) muted (inf or NaN in the chain's output; the first at {muted.first_s:.2f} s)")
    print(
        f"done: {stats.seconds:.1f} s of audio in {stats.wall_seconds:.1f} s; {'; '.join(heard)}; {stats.changes} change(s); "
        f"worst lag {stats.worst_lag_ms:.1f} ms ({stats.late_blocks} late block(s) of {stats.blocks})"
    )
    return 0


class _Take:
    """A live recording that keeps what it holds when the run fails, as a DAW keeps a take: a write that fails (a
    drive that fills) ends the file at the frames written before it and stops the loop, the error raised after the
    file is committed (at once where it cannot be ended so: a FLAC not one frame long); an error elsewhere (an input
    damaged, a device gone, a plugin failing) ends it at what was written (:meth:`kept_on_error`)."""

    def __init__(self) -> None:
        self.recorder: Any = None
        self.stop: threading.Event | None = None
        self.failure: OutputError | None = None
        self.kept_s = 0.0
        self.path: Path | None = None

    def write(self, recorder: Any, audio: Any) -> None:
        if self.failure is not None:
            return
        try:
            recorder.write(audio)
        except OutputError as error:
            if not recorder.end_at_written():
                raise
            self.failure, self.path = error, recorder.target.path
            self.kept_s = recorder.frames / recorder.target.sample_rate
            if self.stop is not None:
                self.stop.set()

    @contextlib.contextmanager
    def kept_on_error(self) -> Iterator[None]:
        """An error raised inside (an input damaged, a device gone, a plugin failing) keeps the take so far: its file
        finished and committed, the error said in one line with what was kept."""
        try:
            yield
        except Exception as error:
            if not self._keep():
                raise
            said = one_line(error) if isinstance(error, SoundstageError) else f"{type(error).__name__}: {one_line(error)}"
            raise SoundstageError(f"{said}; the take's first {self.kept_s:.2f} s are kept in {str(self.path)!r}") from None

    def _keep(self) -> bool:
        """Finish and commit the take as written so far; whether there is one holding audio and it could be."""
        recorder = self.recorder
        if recorder is None or self.failure is not None or not recorder.frames:
            return False
        try:
            recorder.close()
            self.path = recorder.commit()
        except OutputError:
            return False
        self.kept_s = recorder.frames / recorder.target.sample_rate
        return True


def _live_sources(
    args: argparse.Namespace, chain: Chain, midi_map: Any, tracker_at: tuple[str, int] | None, stack: Any, rate: float
) -> tuple[Any, list[Any]]:
    """Start the live MIDI control and the head tracker that ``args`` ask for (stopped when ``stack`` closes)."""
    from soundstage.host.prefetch import DesignWorker
    from soundstage.midi.live import LiveControl, open_port

    control = None
    parameters = chain.parameters
    worker = DesignWorker(parameters)  # filter designs of live changes happen here, never on the audio loop
    stack.callback(worker.stop)
    if midi_map is not None:
        input_port = open_port(args.in_port)
        output_port = open_port(args.out_port, output=True) if args.out_port else None
        control = LiveControl(chain, midi_map, input_port, output_port, worker=worker).start()
        stack.callback(control.stop)
        print(f"live: {args.chain} at {rate:g} Hz, {len(midi_map.bindings)} binding(s); MIDI in {args.in_port}")
        for binding in midi_map.bindings:
            parameter = parameters[binding.target]
            print(f"  {binding.target} = {parameter.value} {parameter.unit}  <- {binding.kind} {binding.number}")
    trackers = []
    if tracker_at is not None:
        from soundstage.headtrack import HeadTracker

        tracker = HeadTracker(parameters, tracker_at[1], host=tracker_at[0], yaw_sign=args.head_yaw_sign, worker=worker).start()
        stack.callback(tracker.stop)
        trackers.append(tracker)
        host, port = tracker.address
        print(f"live: head tracker on udp {host}:{port} (OSC) -> {', '.join(tracker.targets)}", flush=True)
    return control, trackers


def _udp_address(spec: str) -> tuple[str, int]:
    """``udp:PORT`` or ``udp:HOST:PORT`` -> (host, port); the loopback by default."""
    parts = spec.split(":")
    if parts[0] != "udp" or len(parts) not in (2, 3) or not parts[-1].isdigit() or not 0 <= int(parts[-1]) < 65536:
        raise SoundstageError(f"--head-tracker {spec!r}: give udp:PORT (e.g. udp:9000) or udp:HOST:PORT")
    return (parts[1] if len(parts) == 3 else "127.0.0.1"), int(parts[-1])


class _Muting:
    """What ``live`` plays and records: a block of the chain's output that holds inf or NaN (a stage run unstable, a
    plugin misbehaving) is silence instead, so neither a speaker nor the take gets it; the first is said at once."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.frames = 0
        self.blocks = 0
        self.first_s = 0.0

    def check(self, audio: Any) -> Any:
        import numpy as np

        at, self.frames = self.frames, self.frames + audio.shape[1]
        if np.isfinite(audio).all():
            return audio
        if not self.blocks:
            self.first_s = at / self.rate
            print(
                f"{self.first_s:8.2f} s  muted: the chain's output holds inf or NaN (a stage run unstable?); "
                "silence is played and recorded until it is finite again",
                flush=True,
            )
        self.blocks += 1
        return np.zeros_like(audio)


def _audio_device(name: str, channels: int, rate: float, stack: contextlib.ExitStack):
    """An output stream on a sound device through pedalboard (``""``: the default device)."""
    from pedalboard.io import AudioStream

    devices = list(AudioStream.output_device_names)
    if not devices:
        raise SoundstageError("--play: this machine has no audio output device (pedalboard lists none); use --record FILE")
    device = name or AudioStream.default_output_device_name or devices[0]
    if device not in devices:
        raise SoundstageError(f"--play: no output device {device!r} (devices: {', '.join(map(repr, devices))})")
    try:
        stream = AudioStream(output_device_name=device, sample_rate=rate, num_output_channels=channels)
    except Exception as error:  # the device refuses the rate or channel count
        raise SoundstageError(
            f"--play: {device!r} cannot play {channels} channel(s) at {rate:g} Hz ({error}); "
            "a device chain's driver feeds need a multichannel interface, or use a binaural chain on headphones"
        ) from None
    stack.callback(stream.close)
    return stream


def _cmd_midi_learn(args: argparse.Namespace) -> int:
    from soundstage.host.chainfile import find_chain, load_chain
    from soundstage.midi.learn import learn
    from soundstage.midi.live import open_port

    chain = load_chain(find_chain(args.chain))
    if Path(args.map).exists():  # a broken map is reported before the user moves a control
        from soundstage.midi.maps import load_map

        load_map(args.map, chain)
    port = open_port(args.in_port)
    print(f"move the control for {args.param} (turn an encoder clockwise) ...", flush=True)
    entry = learn(chain, args.map, args.param, port, timeout_s=args.timeout, keep=args.keep)
    details = ", ".join(f"{k} = {v!r}" for k, v in entry.items() if k != "target")
    print(f"learned {entry['target']}: {details}; written to {args.map}")
    return 0


def _cmd_midi_monitor(args: argparse.Namespace) -> int:
    from soundstage.midi.live import monitor, open_port

    port = open_port(args.in_port)
    with _first_signal_stops() as stop:  # Ctrl-C is how a monitor without --count or --seconds ends
        seen = monitor(port, lambda line: print(line, flush=True), count=args.count, seconds=args.seconds, stopped=stop.is_set)
    dropped = int(getattr(port, "malformed_bytes", 0))
    print(f"{seen} message(s)" + (f", {dropped} malformed byte(s) dropped" if dropped else ""))
    return 0


def add_live(commands: Any) -> None:
    """``soundstage live``: a chain in real time, driven by MIDI or a head tracker."""
    live = commands.add_parser("live", help="process audio in real time while a MIDI controller drives the chain")
    live.add_argument("--chain", required=True, help="chain file, or the name of a preset in chains/")
    live.add_argument("--map", default=None, help="MIDI map (TOML)")
    hrtf_argument(live)
    live.add_argument("--in", dest="in_port", default=None, help=f"MIDI input port: {PORT_FORMS}")
    live.add_argument(
        "--head-tracker",
        default=None,
        metavar="udp:PORT",
        help="OSC head tracker on this UDP port of 127.0.0.1 (udp:HOST:PORT for another address): yaw, quaternion, position",
    )
    live.add_argument(
        "--head-yaw-sign", type=float, choices=(1.0, -1.0), default=1.0, help="-1 for a tracker whose yaw counts clockwise"
    )
    live.add_argument(
        "--out", dest="out_port", default=None, help=f"MIDI output port for feedback (motor faders, LED rings): {PORT_FORMS}"
    )
    live.add_argument("--input", default=None, help="audio file to play through the chain (default: a generated signal)")
    live.add_argument("--signal", choices=("noise", "sine"), default=None, help="generated signal (default noise)")
    live.add_argument(
        "--seconds", type=SECONDS, default=None, help="seconds to play (default: all of --input, or 60 s of the signal)"
    )
    live.add_argument(
        "--sample-rate",
        type=RATE,
        default=None,
        help="rate to run at (default: the --input file's, or 48000 Hz); a file at another rate is resampled",
    )
    live.add_argument("--block", type=BLOCK, default=256, help="block size in samples (default 256)")
    live.add_argument(
        "--play", nargs="?", const="", default=None, metavar="DEVICE", help="play on a sound device (default device if no name)"
    )
    live.add_argument("--record", default=None, metavar="FILE", help="also write what was played to FILE (.wav/.aiff/.flac)")
    live.add_argument("--overwrite", action="store_true", help="replace an existing --record file")
    live.set_defaults(run=_cmd_live)


def add_midi(commands: Any) -> None:
    """``soundstage midi learn | monitor``."""
    midi = commands.add_parser("midi", help="MIDI learn and monitor").add_subparsers(dest="midi_command", required=True)
    learn = midi.add_parser("learn", help="bind the next control moved on a port to a parameter, in a map file")
    learn.add_argument("--chain", required=True, help="chain file, or the name of a preset in chains/")
    learn.add_argument("--map", required=True, help="map file to write (created if missing; other bindings kept)")
    learn.add_argument("--param", required=True, help="parameter path, e.g. device.width or 3.gain_db")
    learn.add_argument("--in", dest="in_port", required=True, help=f"MIDI input port: {PORT_FORMS}")
    learn.add_argument("--timeout", type=SECONDS, default=30.0, help="seconds to wait for a control (default 30)")
    learn.add_argument("--keep", action="store_true", help="keep the parameter's earlier bindings (default: replace)")
    learn.set_defaults(run=_cmd_midi_learn)
    monitor = midi.add_parser("monitor", help="print incoming MIDI decoded as maps see it")
    monitor.add_argument("--in", dest="in_port", required=True, help=f"MIDI input port: {PORT_FORMS}")
    monitor.add_argument("--count", type=ranged(int, 1, 2**31, "messages"), default=None, help="stop after this many messages")
    monitor.add_argument("--seconds", type=SECONDS, default=None, help="stop after this many seconds")
    monitor.set_defaults(run=_cmd_midi_monitor)
