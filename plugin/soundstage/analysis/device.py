"""The device figures of a chain's design, as plain data for the audition page and the report.

For a :class:`~soundstage.stages.device.Spatializer` at its current settings, on
one head (the head the chain's binaural preview uses, or the design's own):

- **separation** against frequency (1/3 octave, 100 Hz-10 kHz) at the design's
  seat, its mean over a :class:`~soundstage.acoustics.profiles.ListeningRegion`
  and its worst seat, beside the same drivers with no cancellation;
- the **beam pattern** of the center path (the beam blended by ``depth``) and of
  the matrix mix, in the horizontal plane, dB re on axis, at 500 Hz-4 kHz;
- a **listening-zone map**: the same filters (designed for one seat) heard from a
  grid of seats around it, mean separation 250 Hz-6.3 kHz;
- **width**: ITD and ILD (1-4 kHz) at the ears for a hard-left, center and
  hard-right source, through the device and through a real stereo pair at
  +-30 degrees (:class:`~soundstage.stages.monitors.StereoReference`) on the same
  head at the same distance.

Everything is computed from the designs, never from the rendered files.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from soundstage import designstore
from soundstage.acoustics.hrtf import HeadChoice
from soundstage.acoustics.profiles import Driver, Listener, ListeningRegion, load_profile
from soundstage.analysis.beam import realized_beam_pattern
from soundstage.analysis.binaural import band_powers, fractional_octave_bands, iacc, ild_db, itd_s
from soundstage.analysis.crosstalk import plain_stereo_separation_db, region_separation_db, seats_separation_db, separation_db
from soundstage.host.chain import Chain
from soundstage.memo import LruCache
from soundstage.stages.beamformer import design_matrix_mix
from soundstage.stages.device import Spatializer
from soundstage.stages.drivers import design_listener
from soundstage.stages.monitors import BinauralMonitor, StereoReference, design_monitor

__all__ = [
    "BEAM_FREQUENCIES_HZ",
    "RegionWidth",
    "IACC_BANDS_HZ",
    "TONAL_OCTAVES_HZ",
    "chain_device_figures",
    "device_figures",
    "device_stages",
    "ear_cues",
    "pink_noise",
    "preview_monitor",
    "program_figures",
    "reference_for",
    "region_width_cues",
    "stages_device_figures",
    "tonal_balance",
    "width_cues",
]

#: The frequencies of the beam pattern (Hz).
BEAM_FREQUENCIES_HZ = (500.0, 1000.0, 2000.0, 4000.0)
#: Seat offsets of the listening-zone map (m): fore-aft (+ = toward the device) and lateral (+ = left).
ZONE_FORE_AFT_M = (-0.5, -0.25, 0.0, 0.25, 0.5)
ZONE_LATERAL_M = tuple(np.round(np.arange(-0.5, 0.501, 0.1), 2))
#: The width probe: two seconds of noise, the first and last 4 000 samples (filter settling) left out.
PROBE_SECONDS, PROBE_EDGE = 2.0, 4000


def _rounded(values: Any, digits: int = 2) -> list[float]:
    return [round(float(v), digits) for v in np.asarray(values, dtype=float).ravel()]


#: The octaves of the tonal-balance check (Hz).
#: Figures already computed, by what they depend on (see :func:`chain_device_figures`).
_FIGURES: LruCache[dict[str, Any]] = LruCache(max_entries=8)
TONAL_OCTAVES_HZ = (63.0, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0)
#: The bands the width of program material is compared in (Hz): interaural cross-correlation (:func:`program_figures`).
IACC_BANDS_HZ = ((500.0, 2000.0), (2000.0, 8000.0))


def reference_for(monitor: BinauralMonitor) -> StereoReference:
    """A real +-30 degree pair heard like ``monitor``: the same head, room, seat, distance and head size."""
    reference = StereoReference(hrtf=monitor.hrtf, room=monitor.room, listener_in_room_m=monitor.listener_in_room_m)
    for name, value in monitor.parameter_values().items():
        setattr(reference, name, value)
    return reference


def pink_noise(samples: int, rng: np.random.Generator) -> np.ndarray:
    """Pink noise (-3 dB per octave from 20 Hz), float32, RMS 0.1."""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    frequencies = np.fft.rfftfreq(samples)
    spectrum /= np.sqrt(np.maximum(frequencies, 20.0 / 48000.0))
    noise = np.fft.irfft(spectrum, n=samples)
    return np.asarray(0.1 * noise / np.sqrt(np.mean(noise**2)), dtype=np.float32)


def tonal_balance(
    spatializer: Spatializer, monitor: BinauralMonitor, sample_rate: float, seconds: float = 4.0
) -> dict[str, list[float]]:
    """The device preview's octave levels against the stereo reference's, mean removed (dB), per program type.

    Pink noise, center-panned (one noise in both channels), decorrelated (two) and
    mixed (the center noise plus the two at the same level), through a copy of the
    device and ``monitor`` and through a :class:`StereoReference` with the same
    head, seat and room; the level of both ears together per octave
    (:data:`TONAL_OCTAVES_HZ`), device minus reference, the mean over the octaves
    removed. 0 everywhere: the A/B compares space, not EQ.
    """
    return program_figures(spatializer, monitor, sample_rate, seconds)[0]


def program_figures(
    spatializer: Spatializer, monitor: BinauralMonitor, sample_rate: float, seconds: float = 4.0
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """:func:`tonal_balance`, and from the same renders the width of the mixed program at the ears: the interaural
    cross-correlation (:func:`~soundstage.analysis.binaural.iacc`, over +-1 ms) of the device preview and of the
    stereo reference in each band of :data:`IACC_BANDS_HZ` (``{"500-2000 Hz": [device, reference], ...}``). The same
    on both: the device's image as wide as a real pair's."""
    device = Chain([copy.deepcopy(spatializer), copy.deepcopy(monitor)])
    reference = reference_for(monitor)
    rng = np.random.default_rng(7)
    n = int(seconds * sample_rate)
    center, left, right = (pink_noise(n, rng) for _ in range(3))
    programs = {
        "center": np.stack([center, center]),
        "decorrelated": np.stack([left, right]),
        "mixed": np.stack([center + left, center + right]) / np.float32(np.sqrt(2.0)),
    }
    octaves = np.array(TONAL_OCTAVES_HZ)
    frequencies = np.fft.rfftfreq(n - 2 * PROBE_EDGE, 1 / sample_rate)
    result: dict[str, list[float]] = {"octaves_hz": list(TONAL_OCTAVES_HZ)}
    correlation: dict[str, list[float]] = {}
    for name, stereo in programs.items():
        levels, heard = [], []
        for render in (device, reference):
            ears = render(stereo, sample_rate)[:, PROBE_EDGE:-PROBE_EDGE].astype(float)
            levels.append(10 * np.log10(band_powers(np.fft.rfft(ears, axis=-1), frequencies, octaves, fraction=1).sum(axis=0)))
            heard.append(ears)
        difference = levels[0] - levels[1]
        result[name] = _rounded(difference - difference.mean())
        if name == "mixed":
            for band in IACC_BANDS_HZ:
                correlation[f"{band[0]:g}-{band[1]:g} Hz"] = _rounded([iacc(ears, sample_rate, band) for ears in heard])
    return result, correlation


def preview_monitor(spatializer: Spatializer, monitor: BinauralMonitor | None) -> BinauralMonitor:
    """The monitor the figures hear the device through: a copy of the chain's, else one on the design's head."""
    if monitor is not None:
        return copy.deepcopy(monitor)
    return BinauralMonitor(device=spatializer.device, hrtf=spatializer.hrtf, distance_m=spatializer.float_value("distance_m"))


def width_cues(spatializer: Spatializer, monitor: BinauralMonitor, sample_rate: float) -> list[dict[str, Any]]:
    """ITD (us) and ILD (dB, mean of the 1-4 kHz 1/3 octaves) at the ears, device against a real +-30 degree pair.

    One row per source: hard left, center, hard right. The device is a copy of
    ``spatializer`` (its designs reused) heard through a copy of ``monitor``; the
    reference is a :class:`StereoReference` with the monitor's head, seat and room.
    Neither argument is run or changed.
    """
    device = Chain([copy.deepcopy(spatializer), copy.deepcopy(monitor)])
    reference = reference_for(monitor)
    return [
        _width_row(source, device(stereo, sample_rate), reference(stereo, sample_rate), sample_rate)
        for source, stereo in _width_programs(sample_rate).items()
    ]


def ear_cues(ears: np.ndarray, sample_rate: float) -> tuple[float, float]:
    """ITD (us) and ILD (dB, mean of the 1-4 kHz 1/3 octaves) of a width probe's ears (2, samples), its first and
    last :data:`PROBE_EDGE` samples (filter settling) left out."""
    ears = ears[:, PROBE_EDGE:-PROBE_EDGE]
    ild = np.mean(ild_db(ears[0], ears[1], sample_rate, fractional_octave_bands(1000, 4000)))
    return itd_s(ears[0], ears[1], sample_rate) * 1e6, float(ild)


def _width_row(source: str, device: np.ndarray, reference: np.ndarray, sample_rate: float) -> dict[str, Any]:
    """One row of :func:`width_cues`: the device's and the reference's ears' cues, rounded to 0.1 us and 0.01 dB."""
    row: dict[str, Any] = {"source": source}
    for label, ears in (("device", device), ("reference", reference)):
        itd, ild = ear_cues(ears, sample_rate)
        row[f"{label}_itd_us"], row[f"{label}_ild_db"] = round(itd, 1), round(ild, 2)
    return row


@dataclass(frozen=True)
class RegionWidth:
    """:func:`width_cues` at every seat of a listening region: the device (designed for the nominal seat) and a real
    +-30 degree pair, both heard from each seat.

    ``rows[i]`` is :func:`width_cues`' rows at ``seats[i]`` (the nominal seat first).
    """

    seats: list[Listener]
    rows: list[list[dict[str, Any]]]

    def errors(self, source: str) -> tuple[np.ndarray, np.ndarray]:
        """Per seat, the device's ITD (us) and ILD (dB) minus the real pair's, for ``source`` ("hard left", ...)."""
        chosen = [next(row for row in rows if row["source"] == source) for rows in self.rows]
        itd = np.array([row["device_itd_us"] - row["reference_itd_us"] for row in chosen])
        ild = np.array([row["device_ild_db"] - row["reference_ild_db"] for row in chosen])
        return itd, ild


def region_width_cues(
    spatializer: Spatializer, monitor: BinauralMonitor, sample_rate: float, region: ListeningRegion
) -> RegionWidth:
    """:func:`width_cues` from every seat of ``region`` around ``monitor``'s listener: the device's design stays
    (it is made for the nominal seat), the listener moves, and the real sources are heard from the same seat:
    for a hard-panned source one speaker of a +-30 degree pair, for the center a speaker where the device
    stands (a real center, as the phantom of a pair moves toward the nearer speaker; at the nominal seat
    both are at 0 us and 0 dB). Free field (a monitor's room is left out of the real center).

    A seat's fore-aft step shortens the monitor's (and the pair's) distance, its lateral step adds to
    ``listener_offset_m``, its yaw to ``listener_yaw_deg``. The device's feeds are computed once per source.
    """
    import scipy.signal  # noqa: PLC0415 (slow to load: on first use)

    device = copy.deepcopy(spatializer)
    programs = _width_programs(sample_rate)
    feeds = {source: device(stereo, sample_rate) for source, stereo in programs.items()}
    distance, offset, yaw = (monitor.float_value(name) for name in ("distance_m", "listener_offset_m", "listener_yaw_deg"))
    seats = region.positions()
    pair = load_profile("stereo-pair", distance_m=distance)
    center = replace(pair, drivers=(Driver("center", "mid", (20.0, 20000.0), azimuth_deg=0.0),))
    rows = []
    for seat in seats:
        heard = copy.deepcopy(monitor)
        seat_distance = distance - seat.position_m[0]
        heard.distance_m = seat_distance
        heard.listener_offset_m = offset + seat.position_m[1]
        heard.listener_yaw_deg = yaw + seat.yaw_deg
        reference = reference_for(heard)
        head, who = heard.head(sample_rate), heard.listener()
        real_center = design_monitor(center.at_distance(seat_distance), head, sample_rate=sample_rate, listener=who).impulse[:, 0]
        seat_rows = []
        for source, stereo in programs.items():
            if source == "center":  # against a real source where the device stands, not the pair's phantom
                real = scipy.signal.fftconvolve(stereo[:1], real_center)[:, : stereo.shape[1]]
            else:
                real = reference(stereo, sample_rate)
            seat_rows.append(_width_row(source, heard(feeds[source], sample_rate), real, sample_rate))
        rows.append(seat_rows)
    return RegionWidth(seats, rows)


def _width_programs(sample_rate: float) -> dict[str, np.ndarray]:
    """The width probe's stereo inputs: noise hard left, in both channels (center), hard right."""
    noise = (0.3 * np.random.default_rng(0).standard_normal(int(PROBE_SECONDS * sample_rate))).astype(np.float32)
    silence = np.zeros_like(noise)
    return {
        "hard left": np.stack([noise, silence]),
        "center": np.stack([noise, noise]),
        "hard right": np.stack([silence, noise]),
    }


def device_figures(
    spatializer: Spatializer, monitor: BinauralMonitor | None = None, *, sample_rate: float = 48000.0
) -> dict[str, Any]:
    """The device figures of ``spatializer``'s design at its current settings (JSON-ready).

    Heard on ``monitor``'s head (the chain's binaural preview), or with no monitor on
    the head the design was made on. Neither stage is run or changed.
    """
    monitor = preview_monitor(spatializer, monitor)
    hrtf = monitor.hrtf
    profile = load_profile(spatializer.device, distance_m=spatializer.float_value("distance_m"))
    head = HeadChoice(hrtf).head(sample_rate)
    canceller = spatializer.canceller_design(sample_rate)
    seat = design_listener(spatializer)
    filters = (canceller.impulse, canceller.delay_samples, sample_rate, profile, head)
    centers, at_seat = separation_db(*filters, listener=seat, low_hz=100, high_hz=10000)
    region = ListeningRegion()
    spread = region_separation_db(*filters, region, center=seat, low_hz=100, high_hz=10000)
    mids = profile.indices("mid")
    left, right = (mids[0], mids[1]) if len(mids) >= 2 else (0, 0)
    plain = plain_stereo_separation_db(profile, head, left, right, sample_rate=sample_rate, low_hz=100, high_hz=10000)
    in_band = (centers >= 250) & (centers <= 6400)
    worst = spread.worst_index(in_band)

    azimuths = np.arange(-180.0, 180.1, 5.0)
    beam: dict[str, Any] = {"azimuth_deg": _rounded(azimuths, 1), "frequencies_hz": list(BEAM_FREQUENCIES_HZ)}
    matrix = design_matrix_mix(profile, sample_rate=sample_rate)
    for label, design in (("beam", spatializer.beam_design(sample_rate)), ("matrix", matrix)):
        frequencies, pattern = realized_beam_pattern(design, profile, azimuths)
        on_axis = int(np.argmin(np.abs(azimuths)))
        levels = []
        for frequency in BEAM_FREQUENCIES_HZ:
            row = pattern[int(np.argmin(np.abs(frequencies - frequency)))]
            levels.append(_rounded(20 * np.log10(np.maximum(np.abs(row) / max(abs(row[on_axis]), 1e-12), 1e-3)), 1))
        beam[f"{label}_db"] = levels

    x0, y0, z0 = seat.position_m
    moved = [
        Listener(position_m=(x0 + forward, y0 + lateral, z0), yaw_deg=seat.yaw_deg)
        for forward in ZONE_FORE_AFT_M
        for lateral in ZONE_LATERAL_M
    ]
    zone = seats_separation_db(*filters, moved)[1].mean(axis=1).reshape(len(ZONE_FORE_AFT_M), len(ZONE_LATERAL_M))
    distance = float(np.linalg.norm(profile.center_m - np.asarray(seat.position_m)))
    return {
        "device": spatializer.device,
        "head": "the head model" if hrtf == "model" else hrtf,
        "designed_on": "the head model" if spatializer.hrtf == "model" else spatializer.hrtf,  # a model's name or a file
        "settings": {name: round(float(value), 4) for name, value in spatializer.parameter_values().items()},
        "separation": {
            "hz": _rounded(centers, 1),
            "seat_db": _rounded(at_seat),
            "region_mean_db": _rounded(spread.per_seat_db.mean(axis=0)),
            "region_worst_db": _rounded(spread.per_seat_db[worst]),
            "no_cancellation_db": _rounded(plain),
            "region": region.describe(),
            "mean_250_6300_db": round(float(at_seat[in_band].mean()), 2),
            "region_mean_250_6300_db": round(float(spread.per_seat_db[:, in_band].mean()), 2),
            "worst_seat_250_6300_db": round(float(spread.per_seat_db[worst, in_band].mean()), 2),
        },
        "beam": beam,
        "zone": {
            "distance_m": _rounded(distance - np.asarray(ZONE_FORE_AFT_M), 2),
            "lateral_m": _rounded(ZONE_LATERAL_M, 2),
            "separation_db": [_rounded(row, 1) for row in zone],
        },
        "width": width_cues(spatializer, monitor, sample_rate),
    }


def _stages(chain: Chain) -> Iterator[object]:
    """The nodes of a chain in signal order, nested chains opened."""
    for node in chain:
        if isinstance(node, Chain):
            yield from _stages(node)
        else:
            yield node


def device_stages(chain: Chain) -> tuple[Spatializer, BinauralMonitor | None] | None:
    """A chain's first :class:`Spatializer` and the binaural preview after it (None: no Spatializer).

    The preview is the first :class:`BinauralMonitor` after the Spatializer (a
    :class:`StereoReference` is not one); None when there is none.
    """
    stages = list(_stages(chain))
    found = next((i for i, node in enumerate(stages) if isinstance(node, Spatializer)), None)
    if found is None:
        return None
    spatializer = stages[found]
    assert isinstance(spatializer, Spatializer)
    monitor = next(
        (node for node in stages[found + 1 :] if isinstance(node, BinauralMonitor) and not isinstance(node, StereoReference)),
        None,
    )
    return spatializer, monitor


def stages_device_figures(spatializer: Spatializer, monitor: BinauralMonitor | None, sample_rate: float) -> dict[str, Any]:
    """:func:`device_figures`, memoised on both stages' types, configuration and settings (their repr) and the rate.

    A session's renders often share one design: its figures are computed once
    (each caller gets a copy: JSON it may change). The key holds the monitor the
    figures hear the device through (:func:`preview_monitor`): a device render
    (no monitor: the design's head) and its binaural preview on that head share them.
    """
    monitor = preview_monitor(spatializer, monitor)
    key = (repr(spatializer), repr(monitor), float(sample_rate))
    # kept in the design store too, by content: the stages' settings and what their designs depend on
    parts = (*key, spatializer.design_identity(), monitor.design_identity())

    def figures() -> dict[str, Any]:
        return designstore.get_or_make(
            "device-figures",
            parts,
            lambda: device_figures(spatializer, monitor, sample_rate=sample_rate),
            pack=lambda made: {"json": np.array(json.dumps(made))},
            unpack=lambda stored: dict(json.loads(str(stored["json"]))),
        )

    return copy.deepcopy(_FIGURES.get_or_compute(key, figures))


def chain_device_figures(chain: Chain, sample_rate: float) -> dict[str, Any] | None:
    """:func:`device_figures` of a chain's first :class:`Spatializer`, heard through the binaural preview after it.

    ``None`` for a chain with no Spatializer. The preview is the first
    :class:`BinauralMonitor` after the Spatializer (a :class:`StereoReference` is
    not one); without it, the design's own head.
    """
    found = device_stages(chain)
    return None if found is None else stages_device_figures(*found, sample_rate)
