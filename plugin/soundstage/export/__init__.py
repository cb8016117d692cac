"""Export a chain as a native VST3 / LV2 / CLAP plugin (``soundstage export-plugin``).

:func:`export_plugin` loads a chain file, bakes its designs (:mod:`.bake`) and
builds the bundles (:mod:`.build`); the C++ engine and the DPF wrapper are in
``native/``. No Python runs in the plugin.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from soundstage.analysis.device import reference_for
from soundstage.errors import ChainError
from soundstage.export.bake import EXPORTABLE, Program, bake
from soundstage.export.build import FORMATS, MIDI_FORMATS, PLATFORMS, BuildError, build, bundle_stem, missing_tools
from soundstage.export.midi import midi_header, plugin_midi
from soundstage.export.web import page_chain, page_midi
from soundstage.exported import resampled_rates
from soundstage.host.chain import Chain
from soundstage.host.chainfile import chain_text, chain_to_dict, find_chain, load_chain
from soundstage.midi.maps import load_map, map_text_with_values
from soundstage.stages.monitors import BinauralMonitor

__all__ = [
    "DEFAULT_RATES",
    "EXPORTABLE",
    "FORMATS",
    "PLATFORMS",
    "BuildError",
    "Export",
    "export_plugin",
    "missing_tools",
    "resampled_rates",
    "stereo_reference",
    "web_rate",
]

#: The sample rates a plugin is baked for unless asked otherwise: the sessions a mastering studio runs at.
DEFAULT_RATES = (44100.0, 48000.0, 88200.0, 96000.0)


@dataclass(frozen=True)
class Export:
    """What an export made: the bundles, and the program they run."""

    bundles: dict[str, Path]
    program: Program
    name: str
    #: The program the web page holds (baked for one rate; ``program`` when it is); None when no page was built.
    web_program: Program | None = None
    #: The page's stereo reference (the A side of its A/B), for a chain that ends in a BinauralMonitor.
    web_reference: Program | None = None
    #: What the export left out and says so: a MIDI map's bindings on knobs it fixed.
    notes: list[str] = field(default_factory=list)
    #: The plugin formats that take the MIDI map's messages (``--map``: CLAP and LV2), in the order built.
    midi_formats: tuple[str, ...] = ()


def plugin_name(chain_path: Path, name: str | None) -> str:
    """The name the DAW shows: ``name`` as given (spaces, accents and all; runs of white space and control characters
    made one space), else the chain file's stem. The bundles' file name is :func:`bundle_stem` of it."""
    chosen = name if name is not None else chain_path.stem
    cleaned = " ".join("".join(c if unicodedata.category(c)[0] != "C" else " " for c in chosen).split())[:100].strip()
    if not any(character.isalnum() for character in cleaned):
        raise ChainError(f"--name {chosen!r}: a plugin name needs letters or digits")
    return cleaned


def export_plugin(
    chain_path: str | Path,
    out_dir: str | Path,
    *,
    formats: Sequence[str] | None = None,
    name: str | None = None,
    rates: Sequence[float] = DEFAULT_RATES,
    overwrite: bool = False,
    hrtf: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    system: str = "linux",
    midi_map: str | os.PathLike[str] | None = None,
) -> Export:
    """Bake the chain in ``chain_path`` and build it into plugin bundles in ``out_dir``.

    ``hrtf`` (SOFA files, or a head model's name) puts the listener's own head on every stage of the chain that
    takes one before it is baked (as ``soundstage process --hrtf``): a preset in the DAW designed on that head.
    ``midi_map`` (a soundstage MIDI map of the chain) goes into the CLAP and LV2 plugins and the web page: a
    controller, or a DAW's MIDI automation, moves their knobs as ``soundstage live --map`` and ``process --midi --map``
    would (the plugins on the message's sample: :mod:`~soundstage.export.midi`); bindings on what the export fixes are
    left out, each said in :attr:`Export.notes`. A VST3 takes no MIDI (:data:`~soundstage.export.build.MIDI_FORMATS`).
    """
    path = find_chain(chain_path)
    if system not in PLATFORMS:
        raise ChainError(f"--platform {system}: plugins are built for {' or '.join(PLATFORMS)}")
    formats = PLATFORMS[system] if formats is None else tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ChainError(f"--format {','.join(formats)}: formats are {', '.join(FORMATS)} (comma-separated)")
    if system == "windows" and "lv2" in formats:
        raise ChainError(
            "--format lv2 --platform windows: an LV2 bundle's description is written by loading the plugin, which a "
            "Windows DLL cannot be here; build vst3,clap for Windows (or LV2 for Linux)"
        )
    title = plugin_name(path, name)
    out = Path(out_dir)
    suffix = {"vst3": ".vst3", "lv2": ".lv2", "clap": ".clap", "web": ".html"}
    stem = bundle_stem(title)
    taken = [out / f"{stem}{suffix[f]}" for f in formats if (out / f"{stem}{suffix[f]}").exists()]
    if taken and not overwrite:
        raise ChainError(f"{taken[0]} exists; pass --overwrite to replace it (or choose another -o or --name)")
    if midi_map is not None and not any(f in MIDI_FORMATS or f == "web" for f in formats):
        raise ChainError(
            f"--map {midi_map}: a MIDI map goes into the CLAP and LV2 plugins and the web page; a VST3 takes no MIDI "
            "(DPF would put 2080 hidden controller parameters ahead of its knobs and move their IDs): add clap or lv2 "
            "to --format, or bind the VST3's knobs with the DAW's own MIDI learn"
        )
    missing = missing_tools(system, formats)
    if missing:
        raise BuildError(f"cannot build plugins: {missing}")
    chain = load_chain(path, hrtf=hrtf)
    controls = None if midi_map is None else load_map(Path(midi_map), chain)
    held_text = None if midi_map is None or controls is None else map_text_with_values(Path(midi_map), controls)
    text = chain_text(path, hrtf=hrtf)
    page_rates = [web_rate(rates)] if formats == ("web",) else rates  # a page alone: its one rate only
    program = bake(chain, text, rates=page_rates, source=str(path))
    web, reference = None, None
    if "web" in formats and len(program.latency) > 1:  # beside plugins baked for several rates: the page's own
        web = bake(chain, text, rates=[web_rate(rates)], source=str(path))
    if "web" in formats:
        reference = stereo_reference(chain, [web_rate(rates)], str(path))
    midi, notes = page_midi(controls, web or program, chain) if controls is not None else (None, [])
    header = None
    if controls is not None and any(f in MIDI_FORMATS for f in formats):
        held, plugin_notes = plugin_midi(controls, program, chain, rates)
        header = None if held is None else midi_header(held, program, held_text)
        notes += [note for note in plugin_notes if note not in notes]
    extras = {"midi": midi, "chain_file": page_chain(chain, web or program, path.parent)} if "web" in formats else None
    description = f"soundstage chain {path.name}"
    bundles = build(
        program,
        out,
        name=title,
        description=description,
        formats=formats,
        system=system,
        web_program=web,
        web_reference=reference,
        web_extras=extras,
        overwrite=overwrite,
        midi_header=header,
        midi_map_text=None if header is None else held_text,
    )
    takes_midi = tuple(f for f in formats if f in MIDI_FORMATS) if header is not None else ()
    return Export(bundles, program, title, (web or program) if "web" in formats else None, reference, notes, takes_midi)


def stereo_reference(chain: Chain, rates: Sequence[float], source: str) -> Program | None:
    """For a chain that ends in a :class:`BinauralMonitor` (a device on headphones), the other side of its A/B: a real
    +-30 degree pair heard on the same head, seat and room (:func:`reference_for`, as ``soundstage render`` and
    ``analyze device`` hear it), baked for ``rates``; else None."""
    monitor = list(chain)[-1] if len(chain) else None
    if not isinstance(monitor, BinauralMonitor):
        return None
    reference = Chain([reference_for(monitor)], names=["reference"])
    text = f"# the stereo reference of {Path(source).name}: a +-30 degree pair on the monitor's head\n"
    return bake(reference, text + tomli_w.dumps(chain_to_dict(reference)), rates=rates, source=source)


def web_rate(rates: Sequence[float]) -> float:
    """The one rate the web page is baked for and its browser runs at: 48 kHz (what browsers and their audio
    devices mostly run at) if it is among ``rates``, else the first of them."""
    return 48000.0 if 48000.0 in rates else float(rates[0])
