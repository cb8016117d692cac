"""Read the chain file and the knob values back out of an exported plugin's saved state, and the chain file out of
the plugin's binary itself.

An exported VST3 or CLAP plugin saves, with the host's session, the chain file it
was made from (state key ``soundstage_chain``) and its parameter values (DPF's
state format: NUL-separated ``__dpf_state_begin__`` key/value pairs, then
``__dpf_parameters_begin__`` symbol/value pairs). That block reaches us three ways:

- as it is (a ``.vstpreset`` file's component chunk, a CLAP state stream);
- in a ``.vstpreset`` file (the block sits in its component chunk);
- wrapped by a JUCE host (pedalboard's ``raw_state``): ``VC2!``, a length, and XML
  whose ``<IComponent>`` holds ``SIZE.`` and the bytes in JUCE's base-64 alphabet.

:func:`read_plugin_state` accepts any of them; anything else gives None (never an
exception): the bytes come from files other programs wrote.

The binary of every exported plugin (a ``.clap`` file, the shared library in a ``.vst3`` bundle) also holds the
program it runs (``bake.py``): :func:`chain_from_binary` reads the chain file in it (:mod:`soundstage.exported`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from soundstage.exported import read_program

__all__ = ["PluginState", "chain_from_binary", "chain_from_state", "read_plugin_state"]

_JUCE_ALPHABET = ".ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+"
_JUCE_VALUE = {character: value for value, character in enumerate(_JUCE_ALPHABET)}
_COMPONENT = re.compile(rb"<IComponent>(\d{1,9})\.([^<]*)</IComponent>")
_STATE_BEGIN, _STATE_END = b"__dpf_state_begin__\x00", b"__dpf_state_end__\x00"
_PARAMETERS_BEGIN, _PARAMETERS_END = b"__dpf_parameters_begin__\x00", b"__dpf_parameters_end__\x00"
CHAIN_KEY = "soundstage_chain"


@dataclass(frozen=True)
class PluginState:
    """What an exported plugin saved: its chain file's text and its parameter values by symbol."""

    chain: str | None
    parameters: dict[str, float]


def _juce_base64(size: int, text: bytes) -> bytes | None:
    """JUCE's ``MemoryBlock::fromBase64Encoding``: 6 bits per character, least significant first."""
    out = bytearray(size)
    bit = 0
    for character in text.decode("ascii", "replace"):
        value = _JUCE_VALUE.get(character)
        if value is None:
            return None
        for offset in range(6):
            if value >> offset & 1:
                byte, shift = divmod(bit + offset, 8)
                if byte < size:
                    out[byte] |= 1 << shift
        bit += 6
    return bytes(out)


def _pairs(block: bytes) -> list[tuple[str, str]]:
    fields = block.split(b"\x00")
    if fields and fields[-1] == b"":
        fields.pop()
    text = [field.decode("utf-8", "replace") for field in fields]
    return list(zip(text[0::2], text[1::2], strict=False))


def _between(data: bytes, begin: bytes, end: bytes) -> bytes | None:
    start = data.find(begin)
    if start < 0:
        return None
    start += len(begin)
    stop = data.find(end, start)
    return data[start:stop] if stop >= 0 else None


def read_plugin_state(data: bytes) -> PluginState | None:
    """The chain text and parameter values in a saved state (see the module docstring), or None."""
    raw = bytes(data)
    if _STATE_BEGIN not in raw and _PARAMETERS_BEGIN not in raw:
        match = _COMPONENT.search(raw)
        if match is None:
            return None
        size = int(match.group(1))
        if size > 64 * len(match.group(2)) + 64:  # a declared size the text cannot hold
            return None
        decoded = _juce_base64(size, match.group(2))
        if decoded is None:
            return None
        raw = decoded
    states = _between(raw, _STATE_BEGIN, _STATE_END)
    values = _between(raw, _PARAMETERS_BEGIN, _PARAMETERS_END)
    if states is None and values is None:
        return None
    chain = dict(_pairs(states)).get(CHAIN_KEY) if states is not None else None
    parameters: dict[str, float] = {}
    for symbol, value in _pairs(values or b""):
        try:
            parameters[symbol] = float(value)
        except ValueError:
            continue
    return PluginState(chain, parameters)


def chain_from_state(data: bytes) -> str | None:
    """The chain file an exported plugin was made from, out of its saved state (None if there is none)."""
    state = read_plugin_state(data)
    return state.chain if state else None


def chain_from_binary(data: bytes) -> str | None:
    """The chain file of the program an exported plugin's binary embeds, or None if it holds none (never an
    exception)."""
    program = read_program(data)
    return program.chain if program is not None else None
