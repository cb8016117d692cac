"""The web page ``soundstage export-plugin --format web`` writes: the plugin's engine in a browser.

``NAME.html`` is one self-contained file: ``native/web.html`` (the page: an AudioWorklet that runs the engine one
render quantum at a time, the chain's knobs, the plugin's bypass, an A/B against the stereo reference, a download),
the engine (``native/engine.hpp`` through ``native/web.cpp``) built for WebAssembly by clang (``wasm32-wasi``, a
reactor: Debian's ``clang``, ``lld`` and the ``wasm32`` C and C++ libraries), and the program baked for one rate,
both in base64. Opened from disk it needs no server and no network.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from soundstage.analysis.loudness import LoudnessMeter
from soundstage.errors import SoundstageError
from soundstage.export.bake import Program
from soundstage.export.toolchain import ENGINE_HEADERS, run
from soundstage.host.chain import Chain
from soundstage.host.chainfile import chain_to_dict
from soundstage.host.parameters import DB_TAPER_EXPONENT
from soundstage.midi.maps import MidiMap, ParameterSource
from soundstage.tomlfile import parse_toml

__all__ = [
    "PAGE_SCRIPTS",
    "WASM_APT",
    "build_page",
    "k_weighting",
    "missing_web_tools",
    "page_chain",
    "page_midi",
    "page_rate",
    "wasm_commands",
    "wasm_compiler",
    "web_page",
]

#: The page's script, in order (web.html holds them as one script): the engine and what it renders, the controls,
#: Web MIDI.
PAGE_SCRIPTS = ("web_page.js", "web_controls.js", "web_midi.js")

#: What Debian and Ubuntu install for the web page's engine: clang, its linker and the wasm32 C/C++ libraries.
WASM_APT = "apt-get install clang lld wasi-libc libc++-dev-wasm32 libclang-rt-dev-wasm32"


def wasm_compiler() -> str | None:
    """The clang++ that builds the web page's engine: ``SOUNDSTAGE_WASM_CXX``, else ``clang++`` or a versioned one
    (Debian's ``clang++-14`` ...) on PATH; None when there is none."""
    chosen = os.environ.get("SOUNDSTAGE_WASM_CXX")
    if chosen:
        return shutil.which(chosen)
    names = ["clang++", *(f"clang++-{version}" for version in range(30, 13, -1))]
    return next((found for found in map(shutil.which, names) if found), None)


def wasi_sysroot() -> Path:
    """Where the wasm32-wasi C library is: ``SOUNDSTAGE_WASI_SYSROOT`` (a wasi-sdk's ``share/wasi-sysroot``), else
    Debian's ``/usr`` (``wasi-libc``)."""
    return Path(os.environ.get("SOUNDSTAGE_WASI_SYSROOT", "/usr"))


def missing_web_tools() -> str | None:
    """What this machine lacks to build the web page, with how to install it; None when it has everything."""
    if wasm_compiler() is None:
        return f"no WebAssembly compiler for the web page: clang++ is not on PATH (Debian/Ubuntu: {WASM_APT})"
    if not (wasi_sysroot() / "lib" / "wasm32-wasi" / "libc.a").exists():
        return (
            f"no WebAssembly C library at {wasi_sysroot()} (Debian/Ubuntu: {WASM_APT}; or set "
            "SOUNDSTAGE_WASI_SYSROOT to a wasi-sdk's share/wasi-sysroot)"
        )
    return None


def build_page(
    work: Path,
    program: Program,
    *,
    name: str,
    stem: str,
    description: str,
    reference: Program | None,
    extras: dict[str, Any] | None = None,
) -> Path:
    """Build the engine into WebAssembly in the scratch folder ``work`` and write ``STEM.html`` there; its path."""
    native = resources.files("soundstage.export") / "native"
    for file in (*ENGINE_HEADERS, "web.cpp"):
        (work / file).write_text((native / file).read_text())
    module = work / "engine.wasm"
    hint = f"; clang needs the wasm32 C and C++ libraries (Debian/Ubuntu: {WASM_APT})"
    compile_engine, link_engine = wasm_commands("web.cpp", "web.o", module)  # the same in every export: ccache keeps it
    run(compile_engine, "the web page's engine (WebAssembly)", cwd=work, hint=hint, cache=True)
    run(link_engine, "the web page's engine (WebAssembly)", cwd=work, hint=hint)
    page = work / f"{stem}.html"
    made = web_page(
        program, module.read_bytes(), name=name, stem=stem, description=description, reference=reference, extras=extras
    )
    page.write_text(made, encoding="utf-8")
    return page


def wasm_commands(source: str | Path, object_file: str | Path, output: str | Path) -> tuple[list[str], list[str]]:
    """The two clang++ calls that build the engine (``native/web.cpp``) into a WebAssembly module for the web page,
    compiling ``source`` into ``object_file`` and linking that into ``output``: a WASI reactor (no main), 128-bit SIMD
    (every browser since 2021-23), no exceptions, no fused multiply-adds (the x86-64 builds have none: the page plays
    what the plugins play)."""
    target = [str(wasm_compiler()), "--target=wasm32-wasi", f"--sysroot={wasi_sysroot()}"]
    compile_source = [
        *target,
        "-std=c++17",
        "-O3",
        "-msimd128",
        "-fno-exceptions",
        "-ffp-contract=off",
        "-c",
        str(source),
        "-o",
        str(object_file),
    ]
    link = [*target, "-mexec-model=reactor", "-Wl,--no-entry", "-Wl,--strip-all", str(object_file), "-o", str(output)]
    return compile_source, link


def web_page(
    program: Program,
    wasm: bytes,
    *,
    name: str,
    description: str,
    reference: Program | None = None,
    extras: dict[str, Any] | None = None,
    stem: str | None = None,
) -> str:
    """The web page: ``native/web.html`` with the program's knobs and channels, the engine and the program (base64)
    filled in. ``program`` is baked for one rate (or for every rate: the page then runs at 48 kHz); ``reference``,
    baked for the same rate, is the A side of the page's loudness-matched A/B. ``extras``: ``midi``, a MIDI map's
    bindings and program presets for the page's knobs (:func:`page_midi`); ``chain_file``, the chain file and where
    each knob's value sits in it (:func:`page_chain`)."""
    baked = next(iter(program.latency))
    config = {
        "name": name,
        "stem": stem or name,  # the files the page saves are named by it (the bundles' plain name)
        "description": description,
        "rate": page_rate(program),
        "inputs": program.inputs,
        "outputs": program.outputs,
        "latency": program.latency[baked],
        "fixed": program.fixed,
        "chain": program.chain_text,
        # BS.1770's K-weighting at the page's rate (pyloudnorm's filters, as soundstage's reports measure loudness):
        # second-order sections b0 b1 b2 1 a1 a2
        "k_weighting": k_weighting(page_rate(program)),
        "reference": None if reference is None else {"latency": next(iter(reference.latency.values()))},
        # a knob's position follows its scale as soundstage's own 0..1 ``normalized`` does (a MIDI map, a DAW's knob)
        "db_taper_exponent": DB_TAPER_EXPONENT,
        "midi": (extras or {}).get("midi") or {"bindings": [], "programs": []},
        "chain_file": (extras or {}).get("chain_file"),
        "parameters": [
            {
                "name": parameter.label,
                "path": parameter.name,
                "symbol": parameter.symbol,
                "unit": parameter.unit,
                "minimum": parameter.minimum,
                "maximum": parameter.maximum,
                "default": parameter.default,
                "kind": "boolean" if parameter.boolean else "choice" if parameter.choices else "number",
                "choices": list(parameter.choices),
                "scale": parameter.scale,
            }
            for parameter in program.parameters
        ],
    }
    native = resources.files("soundstage.export") / "native"
    values = {
        # no "</script>" in a chain's text can close the block
        "CONFIG": json.dumps(config).replace("<", "\\u003c"),
        "WASM": base64.b64encode(wasm).decode(),
        "PROGRAM": base64.b64encode(program.blob).decode(),
        "REFERENCE": base64.b64encode(reference.blob if reference else b"").decode(),
        "WORKLET": (native / "web_worklet.js").read_text(encoding="utf-8"),
        "SCRIPT": "".join((native / part).read_text(encoding="utf-8") + "\n" for part in PAGE_SCRIPTS),
    }
    page = (native / "web.html").read_text(encoding="utf-8")
    return re.sub(r"/\*SSX_([A-Z]+)\*/", lambda mark: values[mark.group(1)], page)  # one pass: nothing filled in is read again


def page_rate(program: Program) -> float:
    """The rate the page runs ``program`` at: the one it is baked for, or 48 kHz for a chain of rate-free stages
    (baked once for every rate, :data:`~soundstage.exported.ANY_RATE`), which plays natively at any."""
    return float(next(iter(program.latency)) or 48000.0)


def k_weighting(rate: float) -> list[list[float]]:
    """BS.1770's K-weighting filter at ``rate`` as soundstage's loudness meter runs it: second-order sections."""
    return [[float(v) for v in row] for row in LoudnessMeter(rate, 1).sections()]


def page_midi(midi_map: MidiMap, program: Program, chain: ParameterSource) -> tuple[dict[str, Any], list[str]]:
    """A MIDI map (:func:`soundstage.midi.load_map`, checked against ``chain``) as the page of ``program`` holds it:
    its bindings on the page's knobs (by index) and its program presets' knob values; and one line for each binding
    or preset value left out (a parameter fixed at export is no knob of the page or the plugins)."""
    knobs = {parameter.name: index for index, parameter in enumerate(program.parameters)}
    notes: list[str] = []
    bindings = []
    for binding in midi_map.bindings:
        if binding.target not in knobs:
            notes.append(f"{binding.target} ({binding.kind} {binding.number}) is fixed at export: the export leaves it out")
            continue
        bindings.append(dataclasses.asdict(binding) | {"target": knobs[binding.target]})  # the fields the page reads
    programs = []
    for preset in midi_map.programs:
        values = []
        for path, value in preset.values:
            if path not in knobs:  # a preset is a whole chain file: what the export fixed, most hold as it is
                if value != chain.parameters[path].value:
                    notes.append(f"program {preset.program} ({preset.preset}): {path} = {value} is fixed at export")
                continue
            parameter = program.parameters[knobs[path]]
            number = parameter.choices.index(str(value)) if parameter.choices else float(value)
            values.append([knobs[path], number])
        programs.append({"program": preset.program, "channel": preset.channel, "values": values})
    return {"bindings": bindings, "programs": programs}, notes


def page_chain(chain: Chain, program: Program, base: Path) -> dict[str, Any] | None:
    """The chain file of ``chain`` as plain data (:func:`~soundstage.host.chainfile.chain_to_dict`, file settings as a
    chain file in ``base`` writes them) and, for each of the page's knobs, where its value sits in it: the page
    writes the chain file at its knobs ("save chain"). None if a knob's value is not where its path says (then the
    page offers no such file rather than a wrong one)."""
    try:
        data = chain_to_dict(chain, base=base)
    except SoundstageError:  # a value no chain file can hold: the page offers no file
        return None
    description = parse_toml(program.chain_text, "the chain file").get("description")
    if isinstance(description, str):
        data = {"format": data["format"], "description": description, "stages": data["stages"]}
    slots = []
    for parameter in program.parameters:
        slot = _slot_in(data["stages"], parameter.name)
        value = _at(data["stages"], slot) if slot is not None else None
        if slot is None or value != chain.parameters[parameter.name].value:
            return None
        slots.append(["stages", *slot])
    return {"data": data, "slots": slots}


def _slot_in(stages: list[dict[str, Any]], path: str) -> list[Any] | None:
    """Where ``path`` (``stage.knob``; nested: ``bus.trim.gain_db``, ``split.0.trim.gain_db``) keeps its value in a
    chain file's ``stages``: keys and indices from there."""
    name, _, rest = path.partition(".")
    index = next((i for i, stage in enumerate(stages) if stage.get("name") == name), None)
    if index is None or not rest:
        return None
    inner = _slot(stages[index], rest)
    return None if inner is None else [index, *inner]


def _slot(node: dict[str, Any], rest: str) -> list[Any] | None:
    kind = node.get("type")
    if kind == "chain":
        inner = _slot_in(node["stages"], rest)
        return None if inner is None else ["stages", *inner]
    if kind == "parallel":
        branch, _, path = rest.partition(".")
        if not branch.isdigit() or int(branch) >= len(node["branches"]):
            return None
        inner = _slot_in(node["branches"][int(branch)]["stages"], path)
        return None if inner is None else ["branches", int(branch), "stages", *inner]
    if kind in ("on_channels", "per_channel"):
        inner = _slot(node["stage"], rest)
        return None if inner is None else ["stage", *inner]
    return ["parameters", rest] if rest in node.get("parameters", {}) else None


def _at(data: Any, slot: list[Any]) -> Any:
    for key in slot:
        data = data[key]
    return data
