"""``soundstage plugin info | chain | map`` (a plugin, and what an exported one holds) and ``soundstage
export-plugin`` (a chain as a VST3, LV2 or CLAP plugin, or a web page)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from soundstage.cli.arguments import RATE, comma_list, given_heads, hrtf_argument, sample_rates

if TYPE_CHECKING:
    from soundstage.export import Export
    from soundstage.export.bake import Program
    from soundstage.exported import EmbeddedProgram

__all__ = ["add_export_plugin", "add_plugin"]


_T = TypeVar("_T")


def _cmd_plugin_info(args: argparse.Namespace) -> int:
    import numpy as np

    from soundstage.exported import exported_program, resampled_rates
    from soundstage.files import on_disk
    from soundstage.host.external import exported_by_soundstage, external_parameters, load_plugin, supported_channel_counts
    from soundstage.host.plugin_parameters import reported_value
    from soundstage.native import release_order_dropped

    source = on_disk(Path(args.path))
    if source.suffix.lower() in (".clap", ".lv2") and source.exists():  # pedalboard hosts neither: read what it holds
        held = _read(source, exported_program)
        if held is not None:
            _say_exported(source, held, args.sample_rate)
            return 0
    plugin = load_plugin(args.path, plugin_name=args.plugin_name, expect="any")
    kind = "instrument" if plugin.is_instrument else "effect"
    counts = sorted(supported_channel_counts(plugin))
    print(f"{plugin.name} ({kind}) by {plugin.manufacturer_name}, version {plugin.version}")
    print(f"  file: {args.path}")
    print(f"  channels: {' or '.join(map(str, counts)) if counts else 'none found'}")
    with release_order_dropped():  # at another rate or block size pedalboard makes the plugin again
        plugin.process(np.zeros((counts[0] if counts else 2, 256), np.float32), args.sample_rate)
    print(f"  latency: {plugin.reported_latency_samples} samples at {args.sample_rate:g} Hz")
    program = exported_by_soundstage(plugin)
    if program is not None and program.any_rate:
        print("  made by soundstage export-plugin: plays at every sample rate (its chain file: soundstage plugin chain PATH)")
    elif program is not None:
        here = "" if program.plays_at(args.sample_rate) else f"; at {args.sample_rate:g} Hz it plays silence"
        print(
            f"  made by soundstage export-plugin: baked for {_hz(program.rates)} Hz, resampled at "
            f"{_hz(resampled_rates(program.rates))} Hz{here} (its chain file: soundstage plugin chain PATH)"
        )
    print("  parameters:")
    for key, parameter in external_parameters(plugin).items():
        unit = f" {parameter.unit}" if parameter.unit else ""
        access = "" if parameter.writable else "  (read-only)"
        shown = parameter.spec.value_text(reported_value(plugin, key, parameter))
        print(
            f"    {key}: {shown}{unit}  range {parameter.spec.range_text()}  "
            f"default {parameter.spec.value_text(parameter.spec.default)}  {parameter.spec.kind}{access}"
        )
    return 0


def _say_exported(source: Path, program: EmbeddedProgram, sample_rate: float) -> None:
    """``plugin info`` of a CLAP or LV2 made by ``soundstage export-plugin``, read from the program it holds (pedalboard
    loads neither format): its channels, latency, rates, MIDI map and knobs."""
    from soundstage.exported import exported_map, resampled_rates
    from soundstage.tomlfile import parse_toml

    kind = "CLAP" if source.suffix.lower() == ".clap" else "LV2"
    print(f"{source.stem} ({kind} effect made by soundstage export-plugin; read from the file: pedalboard hosts VST3)")
    print(f"  file: {source}")
    print(f"  channels: {program.inputs} in, {program.outputs} out")
    if program.any_rate:
        print(f"  latency: {program.latencies[0]} samples at 48000 Hz; it plays at every sample rate")
    else:
        for rate, latency in zip(program.rates, program.latencies):
            print(f"  latency: {latency} samples at {rate:g} Hz")
        here = "" if program.plays_at(sample_rate) else f"; at {sample_rate:g} Hz it plays silence"
        print(f"  baked for {_hz(program.rates)} Hz, resampled at {_hz(resampled_rates(program.rates))} Hz{here}")
    print("  its chain file: soundstage plugin chain PATH")
    text = _read(source, exported_map)
    if text is not None:
        held = parse_toml(text, f"{source}'s MIDI map")
        bindings, programs = len(held.get("bindings", [])), len(held.get("programs", []))
        print(f"  MIDI in: a map of {bindings} binding(s) and {programs} program preset(s) (soundstage plugin map PATH)")
    print("  parameters:")
    for knob in program.knobs:
        unit = f" {knob.unit}" if knob.unit else ""
        if knob.kind == "choice":
            shown, span = knob.choices[min(round(knob.default), len(knob.choices) - 1)], "one of " + ", ".join(knob.choices)
        elif knob.kind == "on/off":
            shown, span = "on" if knob.default >= 0.5 else "off", "on or off"
        else:
            scale = "  log scale" if knob.kind == "log number" else ""
            shown, span = f"{knob.default:.7g}{unit}", f"range {knob.minimum:g}..{knob.maximum:g}{unit}{scale}"
        print(f"    {knob.symbol} ({knob.label!r} in a DAW): default {shown}  {span}")


def _cmd_plugin_chain(args: argparse.Namespace) -> int:
    from soundstage.errors import PluginError
    from soundstage.export.state import chain_from_binary, chain_from_state
    from soundstage.exported import exported_program
    from soundstage.files import missing_hint, on_disk

    source = on_disk(Path(args.state))
    if source.is_dir() and (source / "chain.toml").is_file():  # an exported LV2 bundle
        text: str | None = (source / "chain.toml").read_text()
    elif source.is_file():  # a saved state, or a plugin's binary (a .clap, a bundle's library)
        data = _read(source, Path.read_bytes)
        text = chain_from_state(data) or chain_from_binary(data)
    elif source.is_dir():  # a plugin bundle: a VST3 or macOS CLAP holds its binary below Contents/
        if source.suffix.lower() == ".lv2":
            raise PluginError(
                f"{source}: an LV2 bundle with no chain.toml; only bundles made by `soundstage export-plugin` hold one"
            )
        program = _read(source, exported_program)
        text = program.chain if program is not None else None
    else:
        raise PluginError(
            f"{source}: no such file{missing_hint(source)}; give a .vstpreset, a saved plugin state, or an exported "
            "plugin (.vst3, .clap, .lv2)"
        )
    if text is None:
        raise PluginError(
            f"{source}: holds no soundstage chain; only plugins made by `soundstage export-plugin` and the states "
            "they save hold one"
        )
    return _give_text(text, args.output, overwrite=args.overwrite, what="chain")


def _cmd_plugin_map(args: argparse.Namespace) -> int:
    from soundstage.errors import PluginError
    from soundstage.exported import exported_map, exported_program
    from soundstage.files import missing_hint, on_disk

    source = on_disk(Path(args.plugin))
    if not source.exists():
        raise PluginError(f"{source}: no such file{missing_hint(source)}; give a plugin exported with --map (.clap, .lv2)")
    if source.is_dir() and (source / "map.toml").is_file():  # an exported LV2 bundle
        text: str | None = _read(source / "map.toml", lambda file: file.read_text(encoding="utf-8"))
    else:
        text = _read(source, exported_map)
    if text is None:
        if _read(source, exported_program) is None:
            raise PluginError(f"{source}: not a plugin made by `soundstage export-plugin`; only those hold a MIDI map")
        if source.suffix.lower() == ".vst3":
            raise PluginError(
                f"{source}: a VST3 takes no MIDI map (DPF would move its knobs' IDs); the CLAP or LV2 of an export "
                "with --map holds it: soundstage plugin map PLUGIN.clap"
            )
        raise PluginError(f"{source}: takes no MIDI map: it was exported without --map; export it with --map MAP.toml")
    return _give_text(text, args.output, overwrite=args.overwrite, what="MIDI map")


def _give_text(text: str, output: str | None, *, overwrite: bool, what: str) -> int:
    """``text`` printed, or written to ``output`` (``what`` written to it), an existing file only with ``overwrite``."""
    from soundstage.errors import PluginError
    from soundstage.files import write_text

    if output is None:
        print(text, end="" if text.endswith("\n") else "\n")
        return 0
    target = Path(output)
    if target.exists() and not overwrite:
        raise PluginError(f"{target} exists; pass --overwrite to replace it")
    write_text(target, text)
    print(f"{what} written to {target}")
    return 0


def _read(path: Path, read: Callable[[Path], _T]) -> _T:
    """``read(path)``, an OSError said in one line."""
    from soundstage.errors import PluginError

    try:
        return read(path)
    except OSError as error:
        raise PluginError(f"{path}: cannot be read ({error.strerror or error}); check its permissions") from None


def _cmd_export_plugin(args: argparse.Namespace) -> int:
    from soundstage.export import export_plugin

    result = export_plugin(
        args.chain,
        args.output,
        name=args.name,
        overwrite=args.overwrite,
        hrtf=given_heads(args.hrtf),
        system=args.platform,
        midi_map=args.map,
        **{key: value for key, value in (("formats", args.format), ("rates", args.rates)) if value is not None},
    )
    program = result.program
    latency = ", ".join(f"{samples} samples at {rate:g} Hz" for rate, samples in program.latency.items())
    if program.any_rate:
        latency = f"{next(iter(program.latency.values()))} samples at every rate"
    print(f"{result.name}: {program.inputs} in, {program.outputs} out; latency {latency}")
    for parameter in program.parameters:
        unit = f" {parameter.unit}" if parameter.unit else ""
        span = f"{parameter.minimum:g}..{parameter.maximum:g}{unit}, default {parameter.default:g}"
        if parameter.choices:
            span = f"one of {', '.join(parameter.choices)}, default {parameter.choices[int(parameter.default)]}"
        print(f'  parameter {parameter.name} ("{parameter.label}" in a DAW): {span}')
    if program.fixed:
        print(f"  fixed at export (change them in the chain file and export again): {', '.join(program.fixed)}")
    plugins = [plugin_format for plugin_format in result.bundles if plugin_format != "web"]
    if plugins:
        print("  bypass: the DAW's own; it plays the input in time (delayed by the latency), crossfading over 20 ms")
    if plugins and program.any_rate:
        print("  it plays at every sample rate, as its chain does: no stage of it holds a design made for one rate")
    elif plugins:
        _say_rates(list(program.latency))
    if args.map:
        _say_midi(result, args.map)
    if result.web_program is not None:
        _say_page(result, result.web_program, args.map)
    for note in result.notes:
        print(f"  MIDI map: {note}")
    for plugin_format, bundle in result.bundles.items():
        print(f"  {plugin_format}: {bundle}")
    return 0


def _say_midi(result: Export, midi_map: str) -> None:
    """The export summary's lines on the plugins' MIDI input (``--map``)."""
    if result.midi_formats:
        takes = " and ".join(f.upper() for f in result.midi_formats)
        print(
            f"  MIDI in ({takes}): the bindings of {midi_map} move its knobs, each on the sample its message comes, "
            "from a controller or a MIDI track's automation routed into the plugin; the plugin keeps the map, its "
            "program presets written in (soundstage plugin map PLUGIN)"
        )
    if "vst3" in result.bundles:
        print("  the VST3 takes no MIDI (DPF would move its knobs' IDs): the DAW's own MIDI learn binds its knobs")


def _say_page(result: Export, page: Program, midi_map: str | None) -> None:
    """The export summary's lines on the web page (running ``page``): its size, rate, A/B and MIDI map."""
    from soundstage.export.web import page_rate

    size = result.bundles["web"].stat().st_size / 2**20
    print(
        f"  web page ({size:.1f} MB): open it in a browser, from disk, and drop a mix on it; it runs the chain at "
        f"{page_rate(page):g} Hz (the browser converts the file and its output), with the knobs and "
        "the bypass"
    )
    if result.web_reference is not None:
        print("  its A/B (a): the device against a real +-30 deg stereo pair on the same head, seat and room, in time")
    compared = [
        *(["the stereo reference"] if result.web_reference is not None else []),
        *(["the bypass"] if page.outputs == page.inputs else []),
    ]
    if compared:
        print(
            f"  loudness match (m): the chain and {' and '.join(compared)} heard at the quietest one's integrated "
            "loudness on the mix opened"
        )
    if midi_map:
        print(f"  its MIDI (Web MIDI): the bindings of {midi_map}; learn more in the page, and save them as a map")


def _say_rates(baked: list[float]) -> None:
    """The export summary's lines on the rates a plugin baked for ``baked`` plays at, and the ones it does not."""
    from soundstage.export import DEFAULT_RATES, resampled_rates

    resampled = resampled_rates(baked)
    print(f"  baked for {_hz(baked)} Hz; at {_hz(resampled)} Hz it runs those designs resampled")
    usual = [rate for rate in (*DEFAULT_RATES, 176400.0, 192000.0) if rate not in baked and rate not in resampled]
    more = f" (for those a studio runs: --rates {_hz(sorted([*baked, *usual]))})" if usual else ""
    print(f"  at other sample rates the plugin is silent{more}")


def _hz(rates: Sequence[float]) -> str:
    return ",".join(f"{rate:g}" for rate in rates)


def add_plugin(commands: Any) -> None:
    """``soundstage plugin info | chain | map``."""
    plugin = commands.add_parser("plugin", help="inspect external plugins").add_subparsers(dest="plugin_command", required=True)
    info = plugin.add_parser("info", help="list a plugin's parameters with ranges and units")
    info.add_argument("path", help="the .vst3 bundle (or .component on macOS)")
    info.add_argument("--plugin-name", default=None, help="which plugin of a multi-plugin bundle")
    info.add_argument(
        "--sample-rate", type=RATE, default=48000.0, help="the rate to load it at and report its latency for (default 48000 Hz)"
    )
    info.set_defaults(run=_cmd_plugin_info)
    state = plugin.add_parser(
        "chain", help="the chain file an exported plugin was made from (its bundle, or a state it saved: .vstpreset)"
    )
    state.add_argument(
        "state", help="an exported plugin (.vst3, .clap, .lv2), a .vstpreset, or a file of the plugin's saved state"
    )
    state.add_argument("-o", "--output", help="write the chain file here (default: print it)")
    state.add_argument("--overwrite", action="store_true", help="replace an existing -o file")
    state.set_defaults(run=_cmd_plugin_chain)
    held_map = plugin.add_parser(
        "map", help="the MIDI map an exported plugin takes (export-plugin --map), its program presets written in"
    )
    held_map.add_argument("plugin", help="a plugin exported with --map (.clap, .lv2)")
    held_map.add_argument("-o", "--output", help="write the map here (default: print it)")
    held_map.add_argument("--overwrite", action="store_true", help="replace an existing -o file")
    held_map.set_defaults(run=_cmd_plugin_map)


def add_export_plugin(commands: Any) -> None:
    """``soundstage export-plugin``: a chain as a plugin or a web page."""
    export = commands.add_parser(
        "export-plugin",
        help="build a chain into a native VST3 / LV2 / CLAP plugin (needs g++ and dpf-source), or a web page that "
        "plays a mix through it in a browser (web; needs clang and the wasm32 libraries)",
    )
    export.add_argument("chain", help="chain file, or the name of a preset in chains/")
    export.add_argument("-o", "--output", required=True, help="folder the plugin bundles go into")
    export.add_argument(
        "--format",
        type=comma_list(("vst3", "lv2", "clap", "web")),
        default=None,
        help="default: vst3,lv2,clap (Windows: vst3,clap); web: a page that runs the chain in a browser",
    )
    export.add_argument(
        "--platform",
        choices=("linux", "windows"),
        default="linux",
        help="the system the plugin runs on (default linux; windows: 64-bit DLLs built with MinGW-w64, "
        "apt-get install g++-mingw-w64-x86-64-posix)",
    )
    export.add_argument("--name", help="plugin name (default: the chain file's name)")
    export.add_argument(
        "--rates", type=sample_rates, default=None, help="sample rates to bake designs for (default 44100,48000,88200,96000)"
    )
    export.add_argument("--overwrite", action="store_true", help="replace bundles of the same name in the folder")
    export.add_argument(
        "--map",
        metavar="MAP.toml",
        help="a MIDI map of the chain (soundstage midi learn): the CLAP and LV2 plugins take MIDI in, and it moves their "
        "knobs on each message's sample; the web page's knobs move by Web MIDI",
    )
    hrtf_argument(export, "the chain (baked into the plugin)")
    export.set_defaults(run=_cmd_export_plugin)
