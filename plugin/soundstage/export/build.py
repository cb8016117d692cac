"""Build a baked program into plugin bundles with the DISTRHO Plugin Framework and g++.

Against Debian's ``dpf-source`` (``/usr/share/dpf``, or ``SOUNDSTAGE_DPF``), from
this package's ``native/`` sources, compiled at once, one compiler a core: the
engine (``engine.cpp``: ``engine.hpp``, most of the compile time) and the program
blob (``program.cpp``, which embeds it with the assembler's ``.incbin``) once per
export; then each format's own part (``plugin.cpp`` against a generated
``DistrhoPluginInfo.h``) and DPF's; then one link per format. A bundle is one file
and needs nothing at run time. Where ccache is installed, every compile but the
program's goes through it: the engine compiles once per machine, and a re-export
of a chain under the same name compiles its program only.

Bundles, as DAWs look for them on Linux:

- VST3: ``NAME.vst3/Contents/x86_64-linux/NAME.so``
- LV2: ``NAME.lv2/`` with ``NAME.so``, ``manifest.ttl`` and ``NAME.ttl`` (written by
  DPF's ``lv2_ttl_generator``, built here from its source)
- CLAP: ``NAME.clap`` (one shared object)

and for Windows (``system="windows"``), built here with MinGW-w64 and statically
linked, so a Windows DAW needs nothing else:

- VST3: ``NAME.vst3/Contents/x86_64-win/NAME.vst3`` (a DLL)
- CLAP: ``NAME.clap`` (a DLL)

and, for any system, a web page (``web``, built by :mod:`.web`): ``NAME.html``, one self-contained file holding the
same engine built for WebAssembly and the program baked for one rate.

Channel layout: LV2 and CLAP take the chain's channels (stereo in, N out). VST3
hosts (and pedalboard) run a plugin on one bus width, so a chain that widens
(stereo -> N driver feeds) has N inputs and N outputs there; it reads the first
two inputs and ignores the others (put it on an N-channel track with the stereo
mix on its first two channels).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import functools
import hashlib
import os
import platform
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from soundstage.export.bake import Program
from soundstage.export.toolchain import ENGINE_HEADERS, BuildError, builds_running, run, stop_builds
from soundstage.export.web import build_page, missing_web_tools

__all__ = [
    "FORMATS",
    "MIDI_FORMATS",
    "PLATFORMS",
    "WINDOWS_COMPILER",
    "BuildError",
    "build",
    "bundle_stem",
    "compile_command",
    "dpf_root",
    "link_command",
    "missing_tools",
    "object_command",
]

#: The formats: three plugin formats, and a web page that runs the same engine in a browser (any system's).
FORMATS = ("vst3", "lv2", "clap", "web")
_TARGET = {"vst3": "VST3", "lv2": "LV2", "clap": "CLAP"}
#: The systems a plugin is built for, and the formats built for each unless asked (LV2 is left out for Windows: its
#: description is written by loading the plugin, which a Windows DLL cannot be here; the web page is asked for).
PLATFORMS = {"linux": ("vst3", "lv2", "clap"), "windows": ("vst3", "clap")}
#: The formats that take a MIDI map's messages (export-plugin --map). Not the VST3: DPF takes MIDI controllers into one
#: as 2080 hidden parameters ahead of the knobs (VST3's way), which would move every knob's parameter ID, and a session
#: that automates the plugin would lose its lanes when it is exported again with a map.
MIDI_FORMATS = ("lv2", "clap")
#: MinGW-w64's C++ compiler (Debian: g++-mingw-w64-x86-64-posix) builds the Windows DLLs, statically linked.
WINDOWS_COMPILER = "x86_64-w64-mingw32-g++-posix"


def dpf_root() -> Path:
    """Where DPF is looked for: ``SOUNDSTAGE_DPF`` or Debian's ``/usr/share/dpf``."""
    return Path(os.environ.get("SOUNDSTAGE_DPF", "/usr/share/dpf"))


def missing_tools(system: str = "linux", formats: tuple[str, ...] | None = None) -> str | None:
    """What this machine lacks to build ``formats`` (default: the plugin formats of ``system``, a key of
    :data:`PLATFORMS`), with how to install it; None when it has everything."""
    formats = PLATFORMS.get(system, ()) if formats is None else formats
    if "web" in formats and (missing := missing_web_tools()):
        return missing
    if not any(plugin_format != "web" for plugin_format in formats):
        return None
    if system == "windows" and shutil.which(WINDOWS_COMPILER) is None:
        return (
            f"no compiler for Windows: {WINDOWS_COMPILER} is not on PATH "
            "(Debian/Ubuntu: apt-get install g++-mingw-w64-x86-64-posix)"
        )
    if system != "windows" and shutil.which("g++") is None:
        return "no C++ compiler: g++ is not on PATH (Debian/Ubuntu: apt-get install g++)"
    if not (dpf_root() / "distrho" / "DistrhoPluginMain.cpp").exists():
        return (
            f"the DISTRHO Plugin Framework is not at {dpf_root()} (Debian/Ubuntu: apt-get install dpf-source; "
            "or set SOUNDSTAGE_DPF to a DPF checkout)"
        )
    if platform.system() != "Linux":
        return f"plugins are built on Linux only for now (this is {platform.system()})"
    return None


def bundle_stem(name: str) -> str:
    """The bundles' file name for a plugin named ``name``: ASCII letters, digits, ``-`` and ``_`` (accents
    transliterated: "Café Röhre" gives "Cafe-Rohre"), at most 100 characters; a name with no Latin letters or digits
    gets one from its hash."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", ascii_name).strip("-")[:100].strip("-")
    return stem or "soundstage-" + hashlib.sha256(name.encode()).hexdigest()[:8]


def _slug(name: str) -> str:
    """The plugin's URI and ID part: its bundle stem in lower case."""
    return bundle_stem(name).lower().replace("_", "-")


def _c_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _info_header(program: Program, name: str, description: str, plugin_format: str, *, midi: bool = False) -> str:
    slug = _slug(name)
    digest = hashlib.sha256(slug.encode()).digest()
    letters = "".join(chr(ord("a") + byte % 26) for byte in digest[:3])
    inputs = program.inputs
    if plugin_format == "vst3" and program.outputs > program.inputs:
        inputs = program.outputs  # one bus width (see the module docstring)
    lines = {
        "DISTRHO_PLUGIN_BRAND": _c_string("soundstage"),
        "DISTRHO_PLUGIN_NAME": _c_string(name),
        "DISTRHO_PLUGIN_URI": _c_string(f"urn:soundstage:{slug}"),
        "DISTRHO_PLUGIN_CLAP_ID": _c_string(f"org.soundstage.{slug}"),
        "DISTRHO_PLUGIN_LABEL": _c_string(slug.replace("-", "_")),
        "DISTRHO_PLUGIN_DESCRIPTION": _c_string(description),
        "DISTRHO_PLUGIN_BRAND_ID": "Sstg",
        "DISTRHO_PLUGIN_UNIQUE_ID": "S" + letters,
        "DISTRHO_PLUGIN_ID_CHARS": "'S', " + ", ".join(f"'{c}'" for c in letters),
        "DISTRHO_PLUGIN_HAS_UI": "0",
        "DISTRHO_PLUGIN_IS_RT_SAFE": "1",
        "DISTRHO_PLUGIN_NUM_INPUTS": str(inputs),
        "DISTRHO_PLUGIN_NUM_OUTPUTS": str(program.outputs),
        "DISTRHO_PLUGIN_WANT_LATENCY": "1",
        # a MIDI map (--map): MIDI in, its messages cutting the block (plugin.cpp, midi_map.hpp)
        "DISTRHO_PLUGIN_WANT_MIDI_INPUT": "1" if midi else "0",
        # LV2: no state (it would add an atom port that simple hosts such as lv2apply refuse); the
        # host saves the control ports, and the bundle holds the chain file as chain.toml
        "DISTRHO_PLUGIN_WANT_STATE": "0" if plugin_format == "lv2" else "1",
        "DISTRHO_PLUGIN_WANT_FULL_STATE": "0" if plugin_format == "lv2" else "1",
        "DISTRHO_PLUGIN_VST3_CATEGORIES": _c_string("Fx|Spatial"),
        "DISTRHO_PLUGIN_LV2_CATEGORY": _c_string("lv2:SpatialPlugin"),
        "DISTRHO_PLUGIN_CLAP_FEATURES": '"audio-effect", "surround"',
    }
    body = "\n".join(f"#define {key} {value}" for key, value in lines.items())
    return f"// Generated by soundstage export-plugin.\n#pragma once\n{body}\n"


#: What every compile of a plugin's sources is given.
_OPTIONS = [
    "-std=c++17",
    "-O3",  # the multiply-adds and FFT butterflies vectorize (SSE2, any x86-64; no -march: the bundle must run anywhere)
    "-fcx-limited-range",  # complex products as the textbook formula, not the C99 NaN-recovering call
    "-fvisibility=hidden",
]


def _compiler(system: str) -> tuple[list[str], list[str]]:
    """The C++ compiler for ``system`` and its target's options (as DPF's makefiles give them)."""
    if system == "windows":
        return [WINDOWS_COMPILER], ["-mstackrealign", "-D__STDC_FORMAT_MACROS=1", "-D__USE_MINGW_ANSI_STDIO=1"]
    return ["g++"], ["-fPIC"]


def _link_options(plugin_format: str, system: str) -> list[str]:
    """What the link of a ``plugin_format`` plugin for ``system`` is given: DPF's list of the symbols it exports."""
    symbols = dpf_root() / "utils" / "symbols"
    if system == "windows":  # statically linked: the DLL needs no other
        return [str(symbols / f"{plugin_format}.def"), "-static", "-static-libgcc", "-static-libstdc++"]
    return [f"-Wl,--version-script={symbols / f'{plugin_format}.version'}"]


def _dpf_options(plugin_format: str, includes: list[Path], defines: dict[str, str], preinclude: Path | None) -> list[str]:
    """The options of a source built against DPF as a ``plugin_format`` plugin."""
    return [
        f"-DDISTRHO_PLUGIN_TARGET_{_TARGET[plugin_format]}",
        *(f"-D{key}={value}" for key, value in defines.items()),
        *(f"-I{folder}" for folder in includes),
        f"-I{dpf_root() / 'distrho'}",
        *(("-include", str(preinclude)) if preinclude else ()),
    ]


def compile_command(
    plugin_format: str,
    sources: list[Path],
    includes: list[Path],
    defines: dict[str, str],
    output: Path,
    *,
    preinclude: Path | None = None,
    system: str = "linux",
) -> list[str]:
    """The one g++ call that builds a DPF plugin of ``plugin_format`` (vst3, lv2, clap) from ``sources``, for
    ``system`` (linux: an ELF shared object, with g++; windows: a DLL, with MinGW-w64, as DPF's makefiles build one).

    ``includes`` must hold the plugin's ``DistrhoPluginInfo.h``; DPF's own sources
    and its symbol list for the format come from :func:`dpf_root`. ``preinclude`` is
    read before every source, DPF's too (``g++ -include``).
    """
    compiler, target = _compiler(system)
    return [
        *compiler,
        *_OPTIONS,
        "-shared",
        *target,
        *_dpf_options(plugin_format, includes, defines, preinclude),
        *(str(source) for source in sources),
        str(dpf_root() / "distrho" / "DistrhoPluginMain.cpp"),
        *_link_options(plugin_format, system),
        "-o",
        str(output),
    ]


def object_command(
    source: str | Path,
    output: str | Path,
    *,
    system: str = "linux",
    plugin_format: str | None = None,
    includes: list[Path] | None = None,
    defines: dict[str, str] | None = None,
    preinclude: Path | None = None,
) -> list[str]:
    """The compiler call that makes one object file of a plugin for ``system``: with ``plugin_format``, a source built
    against DPF as :func:`compile_command` builds it; without, a source that needs no DPF (the engine, the program)."""
    compiler, target = _compiler(system)
    if plugin_format:
        options = _dpf_options(plugin_format, includes or [], defines or {}, preinclude)
    else:
        options = [*(f"-D{key}={value}" for key, value in (defines or {}).items()), *(f"-I{f}" for f in includes or [])]
    return [*compiler, *_OPTIONS, *target, "-c", *options, str(source), "-o", str(output)]


def link_command(objects: Sequence[str | Path], output: str | Path, plugin_format: str, *, system: str = "linux") -> list[str]:
    """The call that links a ``plugin_format`` plugin for ``system`` from its object files."""
    compiler, target = _compiler(system)
    return [*compiler, "-shared", *target, *map(str, objects), *_link_options(plugin_format, system), "-o", str(output)]


def _ttl_generator(work: Path) -> Path:
    source = dpf_root() / "utils" / "lv2-ttl-generator" / "lv2_ttl_generator.c"
    if not source.exists():
        raise BuildError(f"DPF's LV2 ttl generator source is not at {source} (install dpf-source)")
    tool = work / "lv2_ttl_generator"
    compiler = shutil.which("gcc") or "g++"
    run([compiler, "-x", "c", str(source), "-o", str(tool), "-ldl"], "the LV2 ttl generator")
    return tool


def build(
    program: Program,
    out_dir: Path,
    *,
    name: str,
    description: str,
    formats: tuple[str, ...],
    system: str = "linux",
    web_program: Program | None = None,
    web_reference: Program | None = None,
    web_extras: dict[str, Any] | None = None,
    overwrite: bool = True,
    midi_header: str | None = None,
    midi_map_text: str | None = None,
) -> dict[str, Path]:
    """Compile ``program`` into one bundle per format in ``out_dir``, for ``system``; returns format -> bundle path.
    The web page holds ``web_program`` (default ``program``): baked for one rate, as a browser runs one;
    ``web_reference``, if given, the other side of its A/B (baked for the same rate); and ``web_extras``, what else
    it holds (:func:`~soundstage.export.web.web_page`: a MIDI map, the chain file). ``midi_header``, if given, is a
    MIDI map the plugins of :data:`MIDI_FORMATS` take (:func:`~soundstage.export.midi.midi_header`): they get a MIDI
    input; ``midi_map_text``, the map's text, which the header holds too, and an LV2 bundle as ``map.toml``.

    A bundle is built in a scratch folder inside ``out_dir`` and moved into place
    when complete: a failed build leaves no half bundle and keeps what was there. Without ``overwrite``, a bundle of
    the same name that another program made there while the export built is kept, and the export puts none in place.
    """
    missing = missing_tools(system, formats)
    if missing:
        raise BuildError(f"cannot build plugins: {missing}")
    if out_dir.exists() and not out_dir.is_dir():
        raise BuildError(f"cannot write plugins into {str(out_dir)!r}: it is a file, not a folder; choose another -o")
    made = [folder for folder in (out_dir, *out_dir.parents) if not folder.exists()]  # the deepest first
    try:
        return _build(
            program,
            out_dir,
            name=name,
            description=description,
            formats=formats,
            system=system,
            web=(web_program or program, web_reference, web_extras),
            overwrite=overwrite,
            midi=midi_header,
            midi_text=midi_map_text,
        )
    except OSError as error:
        raise BuildError(f"cannot write plugins into {str(out_dir)!r}: {error.strerror or error}") from None
    finally:  # a failed export leaves no folder it made: rmdir takes them only while empty (nothing built)
        for folder in made:
            with contextlib.suppress(OSError):
                folder.rmdir()


def _build(
    program: Program,
    out_dir: Path,
    *,
    name: str,
    description: str,
    formats: tuple[str, ...],
    system: str,
    web: tuple[Program, Program | None, dict[str, Any] | None],
    overwrite: bool,
    midi: str | None,
    midi_text: str | None = None,
) -> dict[str, Path]:
    native = resources.files("soundstage.export") / "native"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".soundstage-export-", dir=out_dir) as scratch:
        work = Path(scratch).absolute()  # the compilers run in it: paths given relative to where the user is would not hold
        plugins = [plugin_format for plugin_format in formats if plugin_format != "web"]
        compiles: list[tuple[str, Callable[[], Any]]] = []
        if plugins:
            for file in (*ENGINE_HEADERS, "engine.cpp", "program.cpp", "plugin.cpp", "dpf_messages.hpp"):
                (work / file).write_text((native / file).read_text())
            (work / "program.bin").write_bytes(program.blob)
            if midi is not None:
                (work / "midi_map.hpp").write_text((native / "midi_map.hpp").read_text())
                (work / "midi_map_data.h").write_text(midi)
                if midi_text is not None:  # an LV2 bundle holds it beside chain.toml
                    (work / "map.toml").write_text(midi_text, encoding="utf-8")
            compiles = _shared_compiles(work, system)
        for plugin_format in formats:  # in the order asked: where several fail, the first one's error
            if plugin_format != "web":
                takes_midi = midi is not None and plugin_format in MIDI_FORMATS
                compiles += _format_compiles(
                    program, work, plugin_format, name=name, description=description, system=system, midi=takes_midi
                )
                continue
            page, reference, extras = web
            (work / "web").mkdir()  # a folder of its own: it writes its sources while the plugins compile
            page_call = functools.partial(
                build_page,
                work / "web",
                page,
                name=name,
                stem=bundle_stem(name),
                description=description,
                reference=reference,
                extras=extras,
            )
            compiles.append(("web", page_call))
        made = _at_once(compiles)
        # the plugins' objects compiled (the engine once for every format): each format linked
        links: list[tuple[str, Callable[[], Any]]] = [
            (f, functools.partial(_link_plugin, program, work, f, name=name, system=system)) for f in plugins
        ]
        made.update(_at_once(links))
        built = {plugin_format: made[plugin_format] for plugin_format in formats}
        # every format built: only now is a bundle of the same name replaced, so an export that fails in its last
        # format keeps every bundle that was there
        claimed = [] if overwrite else _claim([(bundle, out_dir / bundle.name) for bundle in built.values()])
        (work / "replaced").mkdir()
        try:
            for plugin_format, bundle in built.items():
                built[plugin_format] = _put_in_place(bundle, out_dir / bundle.name, work / "replaced")
        except BaseException:  # stopped (Ctrl-C, SIGTERM, a disk error): no empty name is left looking like a bundle
            _unclaim(claimed)
            raise
    return built


def _claim(places: list[tuple[Path, Path]]) -> list[Path]:
    """Without --overwrite, where nothing was when the export began: for each (bundle, final) of ``places``, ``final``
    made, empty (a folder for a folder bundle, a file for a file bundle), so a bundle another program put there while
    the export built (seconds) is seen, not replaced. The names were checked before the build; one taken since then
    is kept, the empty ones made are removed, and the export puts no bundle in place: all or none. Returns the names
    made."""
    made: list[Path] = []
    try:
        for bundle, final in places:
            try:
                if bundle.is_dir():
                    final.mkdir()
                else:
                    os.close(os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            except FileExistsError:
                raise BuildError(
                    f"{str(final)!r} appeared while the plugin was built (another program made it) and is kept; "
                    "pass --overwrite to replace it, or choose another -o or --name"
                ) from None
            made.append(final)
    except BaseException:  # that error, or Ctrl-C / SIGTERM between two: no empty bundle is left behind
        _unclaim(made)
        raise
    return made


def _unclaim(made: list[Path]) -> None:
    """The names :func:`_claim` made that are still as it made them (an empty folder, an empty file) removed; a
    bundle put there since is kept."""
    for final in made:
        with contextlib.suppress(OSError):  # a folder with a bundle in it is not empty: rmdir leaves it
            if final.is_dir() and not final.is_symlink():
                final.rmdir()
            elif final.is_file() and not final.is_symlink() and final.stat().st_size == 0:
                final.unlink()


def _put_in_place(bundle: Path, final: Path, aside: Path) -> Path:
    """Move ``bundle`` (a file or a folder, built in the scratch folder: the same file system) to ``final``, in place of
    what is there, by renames: what was there (a bundle, or a link to one: the link, not what it points to) is moved
    into the scratch folder ``aside`` first, and goes with it. A DAW that has the old plugin loaded keeps it, and exports
    of the same bundle at once each leave one whole bundle there, the last to end, never one inside another or an
    error (where another export's bundle arrives between the two renames, it is moved aside in turn)."""
    for attempt in range(100):
        moved = aside / f"{attempt}-{final.name}"
        try:
            with contextlib.suppress(FileNotFoundError):
                os.rename(final, moved)
            os.rename(bundle, final)
            return final
        except BaseException as error:
            # stopped between the two renames (Ctrl-C, SIGTERM, a disk error): what was there goes back, not with the
            # scratch folder
            if os.path.lexists(moved) and not os.path.lexists(final):
                os.rename(moved, final)
            if not isinstance(error, OSError) or error.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR, errno.ENOTDIR):
                raise
            # a folder over a folder another export has just put there: again
    raise BuildError(f"cannot put {str(final)!r} in place: other exports of it keep replacing it; run one at a time")


def _shared_compiles(work: Path, system: str) -> list[tuple[str, Callable[[], Any]]]:
    """The compiles every format's plugin links, made once per export in the scratch folder ``work`` (holding the
    sources and ``program.bin``), as (what, call): the engine (most of a build's compile time, and the same in every
    export: a compiler cache keeps it) and the program."""
    engine = object_command("engine.cpp", "engine.o", system=system)
    # the blob by a plain relative name (from the scratch folder): the assembler reads it from a string in a macro,
    # which a comma or quote in the output folder's path would break
    program = object_command("program.cpp", "program.o", system=system, defines={"SSX_PROGRAM": "program.bin"})
    return [
        ("engine", functools.partial(run, engine, "the plugins' engine", cwd=work, cache=True)),
        # never through the cache: the assembler reads the blob (.incbin), which the cache does not see
        ("program", functools.partial(run, program, "the program", cwd=work)),
    ]


def _format_compiles(
    program: Program, work: Path, plugin_format: str, *, name: str, description: str, system: str, midi: bool
) -> list[tuple[str, Callable[[], Any]]]:
    """A format's own two compiles in ``work``: its part of the plugin and DPF's, which hold its name and channel
    counts (its ``DistrhoPluginInfo.h``). Paths are given from ``work``: the compiler cache finds the objects of
    another export's scratch folder."""
    include = work / plugin_format
    include.mkdir()
    (include / "DistrhoPluginInfo.h").write_text(_info_header(program, name, description, plugin_format, midi=midi))
    options: dict[str, Any] = {
        "system": system,
        "plugin_format": plugin_format,
        "includes": [Path(plugin_format), Path(".")],
        "preinclude": Path("dpf_messages.hpp"),
    }
    compiles: list[tuple[str, Callable[[], Any]]] = []
    for source, output in (("plugin.cpp", "plugin.o"), (dpf_root() / "distrho" / "DistrhoPluginMain.cpp", "dpf.o")):
        command = object_command(source, Path(plugin_format) / output, **options)
        compiles.append(
            (plugin_format, functools.partial(run, command, f"the {plugin_format.upper()} plugin", cwd=work, cache=True))
        )
    return compiles


def _at_once(calls: list[tuple[str, Callable[[], Any]]]) -> dict[str, Any]:
    """Make ``calls`` (what, call) at once, as many as the cores the process may use (each is one long compiler call);
    returns what -> the last of its calls' results. Where several fail, the first one's error in the list; a failed
    call starts no other (the ones running end on their own). Ctrl-C or SIGTERM ends the compilers now, not at their
    end: g++ would run on for seconds."""
    if not calls:
        return {}
    futures: list[concurrent.futures.Future[Any]] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(calls), _cores())) as pool:
        try:
            for _, call in calls:  # the first compilers run while the others are handed over: stopped here too
                futures.append(pool.submit(call))
            _wait(futures, first_error=True)
        except BaseException:  # Ctrl-C, SIGTERM: no call starts, and the compilers end now
            pool.shutdown(wait=False, cancel_futures=True)  # with one handed over as the signal came, not yet listed
            while not all(future.done() for future in futures) or builds_running():  # a step begun as a compiler ended
                stop_builds()
                _wait(futures, seconds=0.1)
            raise
        for future in futures:  # where a call failed, no other starts
            future.cancel()
        _wait(futures)
    errors = [error for future in futures if not future.cancelled() and (error := future.exception()) is not None]
    if errors:
        raise errors[0]
    return {what: future.result() for (what, _), future in zip(calls, futures)}


def _wait(futures: list[concurrent.futures.Future[Any]], *, first_error: bool = False, seconds: float | None = None) -> None:
    """Until every one of ``futures`` is done, or (``first_error``) one has failed, or ``seconds`` have passed. It looks
    every 20 ms rather than in ``concurrent.futures.wait``, which takes the futures' locks one by one: a Ctrl-C or SIGTERM
    that stopped it there could leave it holding some, and then no worker could finish its future again (read in
    CPython's code; the hang seen came from elsewhere, see :func:`_at_once`)."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while not all(future.done() for future in futures):
        failed = (future.done() and not future.cancelled() and future.exception() is not None for future in futures)
        if (first_error and any(failed)) or (deadline is not None and time.monotonic() >= deadline):
            return
        time.sleep(0.02)


def _link_plugin(program: Program, work: Path, plugin_format: str, *, name: str, system: str) -> Path:
    """Link one format's bundle in the scratch folder ``work`` from the objects compiled there; its path."""
    stage = work / f"bundle-{plugin_format}"
    stem = bundle_stem(name)
    if plugin_format == "vst3" and system == "windows":
        bundle = stage / f"{stem}.vst3"
        binary = bundle / "Contents" / "x86_64-win" / f"{stem}.vst3"
    elif plugin_format == "vst3":
        bundle = stage / f"{stem}.vst3"
        binary = bundle / "Contents" / f"{platform.machine()}-linux" / f"{stem}.so"
    elif plugin_format == "lv2":
        bundle = stage / f"{stem}.lv2"
        binary = bundle / f"{stem}.so"
    else:
        bundle = stage / f"{stem}.clap"
        binary = bundle
    binary.parent.mkdir(parents=True, exist_ok=True)
    objects = ["engine.o", "program.o", f"{plugin_format}/plugin.o", f"{plugin_format}/dpf.o"]
    run(link_command(objects, binary, plugin_format, system=system), f"the {plugin_format.upper()} plugin", cwd=work)
    if plugin_format == "lv2":
        run([str(_ttl_generator(work)), f"./{binary.name}"], "the LV2 description (ttl)", cwd=bundle)
        (bundle / "chain.toml").write_text(program.chain_text, encoding="utf-8")
        if (work / "map.toml").is_file():  # the MIDI map it takes (soundstage plugin map)
            shutil.copyfile(work / "map.toml", bundle / "map.toml")
    return bundle


def _cores() -> int:
    """The cores this process may run on (its affinity: a container's or taskset's share, not the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)
