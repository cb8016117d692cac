"""MIDI ports: opened from a spec, and the TCP byte-stream port soundstage brings.

Specs (``open_port``):

- ``NAME`` — a hardware or software port through python-rtmidi (the ``midi``
  extra); a unique part of the name is enough (``"nanoKONTROL"``);
- ``virtual:NAME`` — a virtual port other programs connect to;
- ``jack:...`` / ``alsa:...`` before either — use that MIDI API (default: rtmidi's,
  ALSA on Linux; JACK where there is no ALSA, e.g. a JACK dummy server);
- ``tcp:HOST:PORT`` — connect to a sender of raw MIDI bytes over TCP (mido's
  socket ports speak this), ``tcp-listen:HOST:PORT`` — wait for one to connect.

The TCP port (:class:`TcpMidiPort`) is soundstage's own rather than mido's socket
port: raw byte streams use running status, which mido's socket parser drops, and
a fast sender must not keep a reader with a deadline from checking it; both
need a parser and a read step mido keeps private.
"""

from __future__ import annotations

import os
import select
import socket
import sys
from collections import deque
from collections.abc import Iterator
from typing import Any

import mido

from soundstage.errors import SoundstageError
from soundstage.native import messages_held

__all__ = ["MAX_BYTES_PER_READ", "ByteStreamParser", "TcpMidiPort", "open_port"]


#: How many bytes a socket port reads per receive call before its caller gets control back.
MAX_BYTES_PER_READ = 1024


class ByteStreamParser:
    """A MIDI byte-stream parser that honors running status and counts what it has to drop.

    Raw byte streams (socket ports) may use running status — data bytes that
    reuse the last channel status — which mido's own parser discards. Stray data
    bytes (no status yet), messages cut short by a new status byte, and
    undefined status bytes are dropped and counted in :attr:`discarded`.
    """

    LENGTHS = {0x80: 3, 0x90: 3, 0xA0: 3, 0xB0: 3, 0xC0: 2, 0xD0: 2, 0xE0: 3}
    SYSTEM_LENGTHS = {0xF1: 2, 0xF2: 3, 0xF3: 2, 0xF6: 1}

    def __init__(self) -> None:
        self.messages: deque[Any] = deque()
        self.discarded = 0
        self._running = 0  # channel status for running status, 0 = none
        self._bytes: list[int] = []
        self._length = 0
        self._sysex = False

    def feed(self, data: bytes | bytearray | list[int]) -> None:
        """Feed bytes."""
        for byte in data:
            self.feed_byte(byte)

    def feed_byte(self, byte: int) -> None:
        """Feed one byte (0..255)."""
        if byte >= 0xF8:  # realtime: anywhere, even inside other messages
            self._emit([byte])
        elif byte == 0xF0:
            self._drop_partial()
            self._sysex, self._bytes, self._running = True, [byte], 0
        elif byte == 0xF7:
            if self._sysex:
                self._emit([*self._bytes, byte])
            else:
                self.discarded += 1
            self._sysex, self._bytes = False, []
        elif byte >= 0x80:
            self._status(byte)
        elif self._sysex:
            self._bytes.append(byte)
        else:
            self._data(byte)

    def _status(self, byte: int) -> None:
        """A status byte other than sysex and realtime: starts a message (and may set running status)."""
        self._drop_partial()
        self._sysex = False
        if byte < 0xF0:
            self._running, self._bytes, self._length = byte, [byte], self.LENGTHS[byte & 0xF0]
        elif byte in self.SYSTEM_LENGTHS:
            self._running, self._bytes, self._length = 0, [byte], self.SYSTEM_LENGTHS[byte]
            if self._length == 1:
                self._emit(self._bytes)
                self._bytes = []
        else:  # undefined 0xF4, 0xF5
            self._running, self._bytes = 0, []
            self.discarded += 1

    def _data(self, byte: int) -> None:
        """A data byte outside sysex: completes the message, or starts one under running status."""
        if not self._bytes:
            if not self._running:
                self.discarded += 1  # a stray data byte
                return
            self._bytes, self._length = [self._running], self.LENGTHS[self._running & 0xF0]
        self._bytes.append(byte)
        if len(self._bytes) == self._length:
            self._emit(self._bytes)
            self._bytes = []

    def _drop_partial(self) -> None:
        if self._bytes and not self._sysex:
            self.discarded += len(self._bytes)
        self._bytes = []

    def _emit(self, data: list[int]) -> None:

        try:
            self.messages.append(mido.Message.from_bytes(data))
        except (ValueError, TypeError):
            self.discarded += len(data)

    def __iter__(self) -> Iterator[Any]:
        while self.messages:
            yield self.messages.popleft()


class TcpMidiPort:
    """A MIDI port over TCP: raw MIDI bytes both ways, parsed with running status.

    Has the part of mido's port interface soundstage uses: ``receive(block=...)``,
    ``poll()``, ``iter_pending()``, ``send(message)``, ``close()``, ``closed``; and
    ``malformed_bytes``, the bytes the parser had to drop.
    """

    def __init__(self, connection: socket.socket, name: str) -> None:
        self.name = name
        self.parser = ByteStreamParser()
        self.closed = False
        self._connection = connection

    @classmethod
    def connect(cls, host: str, port: int) -> TcpMidiPort:
        """Connect to a sender (or receiver) listening at ``host:port``."""
        return cls(socket.create_connection((host, port)), f"tcp:{host}:{port}")

    @classmethod
    def listen(cls, host: str, port: int) -> TcpMidiPort:
        """Wait at ``host:port`` for one peer to connect; the port talks to it."""
        with socket.create_server((host, port)) as server:
            connection, _ = server.accept()
        return cls(connection, f"tcp-listen:{host}:{port}")

    @property
    def malformed_bytes(self) -> int:
        """Bytes dropped as malformed so far (stray data bytes, cut messages, undefined status)."""
        return self.parser.discarded

    def _read(self) -> None:
        """Parse what has arrived, at most ``MAX_BYTES_PER_READ`` bytes, without waiting."""
        if self.closed:
            return
        readable, _, _ = select.select([self._connection], [], [], 0)
        if not readable:
            return
        data = self._connection.recv(MAX_BYTES_PER_READ)
        if not data:  # the other end has disconnected
            self.close()
            return
        self.parser.feed(data)

    def receive(self, block: bool = True) -> Any:
        """The next message; None if there is none and ``block`` is False (or the peer has gone)."""
        while True:
            self._read()
            if self.parser.messages:
                return self.parser.messages.popleft()
            if not block or self.closed:
                return None
            select.select([self._connection], [], [], 0.05)

    def poll(self) -> Any:
        """The next message, or None."""
        return self.receive(block=False)

    def iter_pending(self) -> Iterator[Any]:
        """Every message that has arrived."""
        while (message := self.poll()) is not None:
            yield message

    def send(self, message: Any) -> None:
        """Send a mido message as its bytes."""
        self._connection.sendall(bytes(message.bytes()))

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if not self.closed:
            self.closed = True
            self._connection.close()

    def __enter__(self) -> TcpMidiPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_port(spec: str, *, output: bool = False) -> Any:
    """Open a MIDI port from a spec (see the module docstring)."""
    with messages_held():
        return _open_port(spec, output=output)


def _open_port(spec: str, *, output: bool) -> Any:
    try:
        if spec.startswith("tcp-listen:"):
            host, port = spec.removeprefix("tcp-listen:").rsplit(":", 1)
            return TcpMidiPort.listen(host, int(port))
        if spec.startswith("tcp:"):
            host, port = spec.removeprefix("tcp:").rsplit(":", 1)
            return TcpMidiPort.connect(host, int(port))
        api, rest = None, spec
        for prefix, name in (("jack:", "UNIX_JACK"), ("alsa:", "LINUX_ALSA")):
            if spec.startswith(prefix):
                api, rest = name, spec.removeprefix(prefix)
        if api is None and sys.platform.startswith("linux") and not os.path.exists("/dev/snd/seq"):
            api = "UNIX_JACK"  # no ALSA sequencer on this machine: JACK is the only MIDI system there can be
        backend = mido.Backend(f"mido.backends.rtmidi/{api}" if api else "mido.backends.rtmidi", load=True)
        if rest.startswith("virtual:"):
            name = rest.removeprefix("virtual:")
            return backend.open_output(name, virtual=True) if output else backend.open_input(name, virtual=True)
        names = backend.get_output_names() if output else backend.get_input_names()
        return backend.open_output(_port_name(rest, names)) if output else backend.open_input(_port_name(rest, names))
    except SoundstageError:
        raise
    except (OSError, ValueError, ImportError, SystemError) as error:
        raise SoundstageError(f"MIDI port {spec!r} cannot be opened: {error}") from None


def _port_name(wanted: str, names: list[str]) -> str:
    """The port called ``wanted``, or the only one whose name contains it."""
    if wanted in names:
        return wanted
    matches = [name for name in names if wanted.lower() in name.lower()]
    if len(matches) == 1:
        return matches[0]
    listing = ", ".join(repr(n) for n in names) or "none"
    which = "several ports match" if matches else "no port matches"
    raise SoundstageError(f"MIDI port {wanted!r}: {which} (ports: {listing}); give more of the name, or virtual:NAME")
