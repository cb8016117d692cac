"""SOFA files (AES69) of head-related responses, read with ``sofar``: what is given instead of one is named (audio,
an archive, a folder, a file cut short or damaged), and the measurements are checked (positions, responses) and
brought to impulse responses per direction and ear: ``Data.Delay`` applied, a transfer-function set's spectra
transformed, a near-field set read at each direction's farthest distance, silent tails cut."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.fft

from soundstage import containers
from soundstage.acoustics.geometry import azimuth_elevation_deg, direction
from soundstage.errors import SoundstageError
from soundstage.signatures import HEAD_BYTES, file_kind

if TYPE_CHECKING:
    import sofar

__all__ = [
    "DEFAULT_SOFA",
    "HrtfError",
    "MAX_DATA_DELAY_SAMPLES",
    "FRACTIONAL_MARGIN",
    "with_delays",
    "TF_RATES",
    "TF_LEAD_S",
    "impulses_from_spectra",
    "responses",
    "source_directions",
    "SAME_DISTANCE_RATIO",
    "farthest_per_direction",
    "without_silent_tail",
    "check_positions",
    "check_measurements",
    "receiver_sides",
    "read_sofa",
    "check_container",
]


#: Where Debian's libmysofa1 installs the MIT KEMAR set.
DEFAULT_SOFA = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")


class HrtfError(SoundstageError, ValueError):
    """A SOFA file is missing, unreadable, or does not hold HRIRs."""


#: Delays ``Data.Delay`` may hold, in samples: beyond, it is a damaged file, not a head.
MAX_DATA_DELAY_SAMPLES = 4096
#: Samples of room kept before and after the responses for the ringing of a fractional ``Data.Delay``.
FRACTIONAL_MARGIN = 32


def with_delays(irs: np.ndarray, delays: object, file: Path) -> np.ndarray:
    """The impulse responses with the SOFA file's ``Data.Delay`` applied: the broadband delay per ear (``(1, 2)``)
    or per measurement and ear (``(M, 2)``), in samples, that sets which store minimum-phase responses keep apart
    (the 3D Tune-In Toolkit's, for one). The responses grow by as much as the delays push them past their length; a
    fractional delay is applied exactly in the frequency domain (on responses padded so that nothing wraps round).
    """
    if delays is None:
        return irs
    values = np.asarray(delays, dtype=float)
    count = irs.shape[0]
    if values.size not in (2, 2 * count) or not np.all(np.isfinite(values)):
        raise HrtfError(
            f"SOFA file {str(file)!r}: Data_Delay has shape {values.shape}; expected (1, 2) or ({count}, 2) delays in samples"
        )
    values = np.broadcast_to(values.reshape(-1, 2), (count, 2))
    if not values.any():
        return irs
    if values.min() < 0 or values.max() > MAX_DATA_DELAY_SAMPLES:
        raise HrtfError(
            f"SOFA file {str(file)!r}: Data_Delay holds {values.min():g} .. {values.max():g} samples; "
            f"delays are 0 .. {MAX_DATA_DELAY_SAMPLES} samples (a damaged file?)"
        )
    fraction = values - np.floor(values)
    # a fractional delay rings before and after the response: room for it, the same for every response (the frontal
    # measurement sets time zero, so a delay common to all of them changes nothing)
    lead = FRACTIONAL_MARGIN if fraction.any() else 0
    whole = np.floor(values).astype(int) + lead
    length = irs.shape[2] + int(np.ceil(values.max())) + 2 * lead
    out = np.zeros((count, 2, length))
    for m, ear in np.ndindex(count, 2):
        out[m, ear, whole[m, ear] : whole[m, ear] + irs.shape[2]] = irs[m, ear]
    if not fraction.any():  # whole samples: no longer than the file's responses unless a delay pushes one past
        used = np.flatnonzero(out.any(axis=(0, 1)))
        return out[..., : max(irs.shape[2], int(used[-1]) + 1 if used.size else 0)]
    n = 2 * length  # padded: the shifted responses do not wrap round
    spectra = np.fft.rfft(out, n=n, axis=-1) * np.exp(-2j * np.pi * np.fft.rfftfreq(n) * fraction[..., None])
    return np.fft.irfft(spectra, n=n, axis=-1)[..., :length]


#: Sample rates a set of transfer functions is turned into impulse responses at: the lowest whose band holds them.
TF_RATES = (44100.0, 48000.0, 88200.0, 96000.0, 192000.0)
#: The delay added to transfer functions referenced to the head's center (their near ear leads it), seconds.
TF_LEAD_S = 0.002


def impulses_from_spectra(sofa: sofar.Sofa, file: Path) -> tuple[np.ndarray, float]:
    """A SimpleFreeFieldHRTF file's spectra (``Data.Real``, ``Data.Imag`` at the frequencies ``N``) as impulse
    responses, and their sample rate.

    Magnitude and unwrapped phase are interpolated onto an FFT grid as fine as the file's finest step, at the
    lowest of :data:`TF_RATES` whose band holds the file's frequencies (the magnitude is held flat from the lowest
    given frequency down to 0 Hz and from the highest up), and :data:`TF_LEAD_S` of delay makes them causal.
    """
    real, imag = np.asarray(sofa.Data_Real, dtype=float), np.asarray(sofa.Data_Imag, dtype=float)
    frequencies = np.asarray(getattr(sofa, "N", []), dtype=float).ravel()
    if real.shape != imag.shape or real.ndim != 3 or real.shape[-1] != len(frequencies) or len(frequencies) < 2:
        raise HrtfError(
            f"SOFA file {str(file)!r}: Data_Real {real.shape} and Data_Imag {imag.shape} do not match the "
            f"{len(frequencies)} frequencies of N; expected (measurements, 2 ears, frequencies) each"
        )
    if real.shape[1] != 2:
        raise HrtfError(f"SOFA file {str(file)!r} holds transfer functions for {real.shape[1]} receiver(s); expected 2 ears")
    order = np.argsort(frequencies)
    frequencies, spectra = frequencies[order], (real + 1j * imag)[..., order]
    steps = np.diff(frequencies)
    if not np.all(np.isfinite(spectra)) or frequencies[0] < 0 or steps.min() <= 0:
        raise HrtfError(f"SOFA file {str(file)!r}: N must hold distinct frequencies >= 0 Hz and the data finite numbers")
    rate = next((r for r in TF_RATES if r / 2 >= frequencies[-1] - 1e-6), None)
    if rate is None:
        raise HrtfError(f"SOFA file {str(file)!r}: N reaches {frequencies[-1]:g} Hz; at most {TF_RATES[-1] / 2:g} Hz")
    n = 2 ** int(np.ceil(np.log2(max(2 * rate / steps.min(), 256))))
    grid = np.fft.rfftfreq(n, 1 / rate)
    magnitude = np.abs(spectra)
    phase = np.unwrap(np.angle(spectra), axis=-1)
    if frequencies[0] > 0:  # the phase heads to 0 at 0 Hz: a real response
        phase = phase - 2 * np.pi * np.round(phase[..., :1] / (2 * np.pi))
        frequencies = np.concatenate([[0.0], frequencies])
        magnitude = np.concatenate([magnitude[..., :1], magnitude], axis=-1)
        phase = np.concatenate([np.zeros(phase.shape[:-1] + (1,)), phase], axis=-1)

    def along(values: np.ndarray) -> np.ndarray:
        flat = values.reshape(-1, values.shape[-1])
        return np.stack([np.interp(grid, frequencies, row) for row in flat]).reshape(values.shape[:-1] + (len(grid),))

    spectrum = along(magnitude) * np.exp(1j * (along(phase) - 2 * np.pi * grid * TF_LEAD_S))
    spectrum[..., -1] = spectrum[..., -1].real  # Nyquist of a real signal
    return np.asarray(scipy.fft.irfft(spectrum, n=n, axis=-1)), rate


def responses(sofa: sofar.Sofa, file: Path) -> tuple[np.ndarray, float]:
    """The set's responses (measurements, 2 ears, taps) and their sample rate: a FIR set's ``Data.IR`` (one emitter
    of a FreeFieldHRIR), a TF set's spectra as :func:`impulses_from_spectra` makes them; ``Data.Delay`` not yet
    applied (:func:`with_delays`)."""
    data_type = str(getattr(sofa, "GLOBAL_DataType", ""))
    irs = getattr(sofa, "Data_IR", None)
    if data_type.startswith("TF") and getattr(sofa, "Data_Real", None) is not None:
        irs, rate = impulses_from_spectra(sofa, file)  # SimpleFreeFieldHRTF: Mesh2HRTF's output, for one
    elif not data_type.startswith("FIR") or irs is None:
        raise HrtfError(
            f"SOFA file {str(file)!r} holds {data_type or 'no'} data, not head-related impulse responses "
            "(FIR) or transfer functions (TF)"
        )
    else:
        irs = np.asarray(irs, dtype=float)
        if irs.ndim == 4:  # FreeFieldHRIR (AES69-2022, FIR-E): measurements, ears, taps, emitters
            if irs.shape[3] != 1:
                raise HrtfError(
                    f"SOFA file {str(file)!r} holds {irs.shape[3]} emitters per measurement; soundstage reads one "
                    "source per measurement (SimpleFreeFieldHRIR, or FreeFieldHRIR with one emitter)"
                )
            irs = irs[..., 0]
        rate = float(np.asarray(sofa.Data_SamplingRate).ravel()[0])
    if irs.ndim != 3 or irs.shape[1] != 2:
        raise HrtfError(f"SOFA file {str(file)!r}: the responses have shape {irs.shape}; expected (measurements, 2 ears, taps)")
    return irs, rate


def source_directions(sofa: sofar.Sofa, count: int, file: Path) -> tuple[np.ndarray, np.ndarray]:
    """Each of the ``count`` measurements' direction (azimuth, elevation in degrees; (M, 2)) and distance (meters;
    1 where a spherical position gives none), from ``SourcePosition`` in spherical or cartesian coordinates."""
    positions = np.asarray(sofa.SourcePosition, dtype=float)
    check_positions(positions, count, file)
    if str(getattr(sofa, "SourcePosition_Type", "spherical")).startswith("cartesian"):
        return np.array([azimuth_elevation_deg(p) for p in positions]), np.linalg.norm(positions, axis=1)
    distances = positions[:, 2] if positions.shape[1] > 2 else np.ones(len(positions))
    return positions[:, :2], distances


#: Distances within this ratio of each other are one distance (a rig's loudspeakers are not all equally far).
SAME_DISTANCE_RATIO = 1.05


def farthest_per_direction(angles: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """Which measurements to keep (M,): where a direction was measured at several distances (a near-field set),
    only its farthest, the nearest to the far field the designs assume (the device's own distance is added by
    the transfer model); else all of them. Directions are the same to 0.01 degree (azimuth modulo 360)."""
    keep = np.ones(len(angles), bool)
    if np.all(distances <= distances.min() * SAME_DISTANCE_RATIO):
        return keep
    keys = np.round(np.column_stack([np.asarray(angles[:, 0], float) % 360.0, angles[:, 1]]) * 100).astype(np.int64)
    _, group = np.unique(keys, axis=0, return_inverse=True)
    group = np.ravel(group)
    farthest = np.zeros(group.max() + 1)
    np.maximum.at(farthest, group, distances)
    return np.asarray(distances * SAME_DISTANCE_RATIO >= farthest[group])


def without_silent_tail(irs: np.ndarray) -> np.ndarray:
    """``irs`` up to the last sample any response holds above -180 dB re the set's peak (a float32 sample resolves
    about -144 dB of its peak): a set padded with zeros to a longer length (8192 taps for KEMAR's 512) is the same
    head, and costs every design in proportion to its length. A measurement's noise tail is kept as measured."""
    magnitude = np.abs(irs)
    audible = np.flatnonzero(magnitude.max(axis=(0, 1)) > 1e-9 * magnitude.max())
    return irs[..., : int(audible[-1]) + 1] if audible.size else irs


def check_positions(positions: np.ndarray, count: int, file: Path) -> None:
    """Refuse source positions that are not one finite position per measurement."""
    if positions.ndim != 2 or positions.shape[0] != count or positions.shape[1] < 2:
        raise HrtfError(
            f"SOFA file {str(file)!r}: SourcePosition has shape {positions.shape}; expected ({count}, 3), "
            "one position per measurement"
        )
    if not np.isfinite(positions).all():
        index = int(np.argwhere(~np.isfinite(positions))[0][0])
        raise HrtfError(
            f"SOFA file {str(file)!r}: measurement {index}'s SourcePosition is {positions[index].tolist()}; the file is damaged"
        )


def check_measurements(irs: np.ndarray, angles: np.ndarray, file: Path) -> None:
    """Refuse a set with a NaN or inf sample, or an ear's response that is all zeros: each would put NaN, or
    silence, into every design that reads that direction."""

    def where(m: int, ear: int) -> str:
        return f"measurement {m} (azimuth {angles[m, 0]:g}, elevation {angles[m, 1]:g} deg), {('left', 'right')[ear]} ear"

    if not np.isfinite(irs).all():
        m, ear, sample = (int(v) for v in np.argwhere(~np.isfinite(irs))[0])
        value = irs[m, ear, sample]
        raise HrtfError(f"SOFA file {str(file)!r}: {where(m, ear)}, sample {sample} holds {value}; the file is damaged")
    silent = ~np.any(irs != 0.0, axis=-1)
    if silent.any():
        m, ear = (int(v) for v in np.argwhere(silent)[0])
        raise HrtfError(
            f"SOFA file {str(file)!r}: {where(m, ear)} is all zeros; the file is damaged (or that measurement failed: remove it)"
        )


def receiver_sides(sofa: sofar.Sofa) -> np.ndarray | None:
    """The y coordinate (meters, + left) of each of the two receivers of a SOFA file, or None if it does not say."""
    positions = np.asarray(getattr(sofa, "ReceiverPosition", np.zeros((0, 3))), dtype=float)
    if positions.ndim == 3:  # (R, C, I) or (R, C, M): the first
        positions = positions[:, :, 0]
    if positions.shape != (2, 3):
        return None
    if str(getattr(sofa, "ReceiverPosition_Type", "cartesian")).startswith("spherical"):
        return np.array([radius * direction(azimuth, elevation)[1] for azimuth, elevation, radius in positions])
    return positions[:, 1]


#: What is said beside what else people give for a head (:func:`~soundstage.signatures.file_kind`).
_HINTS = {"a zip archive": " (unpack the .sofa file from it)", "a MATLAB file": " (save the set as SOFA: SOFAsave)"}


def read_sofa(file: Path) -> sofar.Sofa:
    """``file`` read with sofar, whatever its name: sofar reads ``NAME.sofa`` for any ``NAME.EXT`` (``me.SOFA``
    would be missing on a case-sensitive disk, or another file), so another name is read through a link named
    ``.sofa`` (a copy where links are not allowed)."""
    if file.suffix == ".sofa":
        return _sofar_read(file, file)
    with tempfile.TemporaryDirectory(prefix="soundstage-sofa-") as folder:
        alias = Path(folder) / "head.sofa"
        try:
            alias.symlink_to(file.resolve())
        except OSError:
            shutil.copyfile(file, alias)
        return _sofar_read(alias, file)


def _sofar_read(path: Path, file: Path) -> sofar.Sofa:
    """The set at ``path`` (``file``, as the user named it, for messages). A convention or version sofar does not
    know (SimpleFreeFieldHRIR 0.6 from an early SOFA API, a newer AES69 revision) is read as plain netCDF data:
    the variables soundstage reads keep their names across versions, and are checked below as in any set."""
    import sofar  # noqa: PLC0415 (slow to load: on first use)

    try:
        try:
            return sofar.read_sofa(str(path), verify=False, verbose=False)
        except ValueError as error:
            if "not a valid SOFA Convention" not in str(error):
                raise
        return sofar.read_sofa_as_netcdf(str(path))
    except AttributeError as error:  # netCDF4: a global attribute SOFA requires is not there
        if "SOFAConventions" in str(error) or "Attribute not found" in str(error):
            raise HrtfError(f"SOFA file {str(file)!r} is a netCDF file but no SOFA file (it has no SOFAConventions)") from None
        raise _unread(file, error) from None
    except Exception as error:  # netCDF4/sofar raise OSError, ValueError, KeyError ...
        raise _unread(file, error) from None


def _unread(file: Path, error: Exception) -> HrtfError:
    """The error for a SOFA file the netCDF library could not read: damaged, where the library says its structures
    do not hold together ("NetCDF: HDF error"); else in the library's words."""
    why = str(error).split(": '")[0]  # netCDF4 adds the path it was given (a link's, for another name)
    if "NetCDF: " not in why:
        return HrtfError(f"SOFA file {str(file)!r} cannot be read: {error}")
    return HrtfError(
        f"SOFA file {str(file)!r} is damaged: the netCDF library cannot read it ({why.split('] ')[-1]}); copy it again "
        "from where it came from"
    )


def check_container(file: Path) -> None:
    """Refuse, naming what it is, a file that is no SOFA container (an audio file, an archive, text), or one cut
    short of the length its HDF5 superblock states, before the netCDF reader gives its own words for it."""
    try:
        with file.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
            stated, held = containers.hdf5_size(handle), os.fstat(handle.fileno()).st_size
            if stated is not None and held < stated:
                raise HrtfError(
                    f"SOFA file {str(file)!r} is cut short: it holds {held} of the {stated} bytes its HDF5 superblock "
                    "states (a download or copy that did not finish?); copy it again"
                )
            given = file_kind(head)
            if (given is not None and given.category == "head") or containers.hdf5_superblock(handle) is not None:
                return  # netCDF-4 (HDF5, maybe behind a user block) or classic netCDF
    except OSError as error:
        raise HrtfError(f"SOFA file {str(file)!r} cannot be read: {error.strerror or error}") from None
    if not head:
        raise HrtfError(f"SOFA file {str(file)!r} is empty; give a SOFA (AES69) file")
    kind = None if given is None else given.name + _HINTS.get(given.name, "")
    if kind is None:
        printable = all(32 <= byte < 127 or byte in (9, 10, 13) for byte in head)
        kind = "text" if printable else "no SOFA container (netCDF-4/HDF5)"
    raise HrtfError(f"SOFA file {str(file)!r} is {kind}, not a SOFA (AES69) file of head-related responses")
