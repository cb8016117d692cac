"""Monitors: hear a device (or a stereo pair) on headphones.

``BinauralMonitor`` (N driver feeds -> 2 ears) places the device at a listener
position and renders what reaches the ears through a head model or measured
HRTFs, in free field. ``StereoReference`` (2 -> 2 ears) is the same for a pair of
loudspeakers at +-30 degrees: the reference a device should mirror, the A side of
an A/B.

The common propagation delay (that of the nearest driver) is removed and the
level is referenced to the listener distance (a driver at the device center
arrives at 0 dB); relative delays and levels between drivers are kept.
A sample-rate mismatch between a SOFA file and the audio is resolved by
resampling the HRIRs (the monitor's ``hrtf_source`` says so).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft

from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S
from soundstage.acoustics.head import HeadModel
from soundstage.acoustics.hrtf import HeadChoice
from soundstage.acoustics.profiles import DeviceProfile, Listener, device_setting, load_profile
from soundstage.acoustics.room import ShoeboxRoom, room_transfer_matrix
from soundstage.acoustics.transfer import transfer_matrix
from soundstage.designstore import one_blas_thread
from soundstage.dsp.fir import CrossfadingFir
from soundstage.dsp.spans import span
from soundstage.errors import ParameterError
from soundstage.host.parameters import ParameterSpec
from soundstage.host.processor import Processor

__all__ = ["BinauralMonitor", "MonitorFilters", "StereoReference", "design_monitor"]

#: Lengths at 48 kHz (:func:`~soundstage.dsp.spans.span` gives them at other rates): the free field's
#: filters, a room's (0.34 s: the image sources up to order 10 in a living room), the common delay.
TAPS = 1024
ROOM_TAPS = 16384
BULK_DELAY = 64


@dataclass(frozen=True)
class MonitorFilters:
    """Driver -> ear impulse responses, shape (2, drivers, taps), time zero at ``delay_samples``."""

    impulse: np.ndarray
    delay_samples: int
    sample_rate: float


@one_blas_thread()  # the same bits as a stage's design, whatever BLAS's threads (designstore.one_blas_thread)
def design_monitor(
    profile: DeviceProfile,
    head: HeadModel,
    *,
    sample_rate: float = 48000.0,
    listener: Listener | None = None,
    room: ShoeboxRoom | None = None,
    taps: int | None = None,
    delay_samples: int | None = None,
) -> MonitorFilters:
    """Impulse responses from every driver to both ears, in free field or a room (pure function).

    Examples
    --------
    >>> from soundstage.acoustics.head import SphericalHead
    >>> from soundstage.acoustics.profiles import load_profile
    >>> filters = design_monitor(load_profile("stereo-pair"), SphericalHead())
    >>> filters.impulse.shape
    (2, 2, 1024)
    """
    who = listener or Listener()
    taps = taps or span(ROOM_TAPS if room is not None else TAPS, sample_rate)
    delay_samples = delay_samples if delay_samples is not None else span(BULK_DELAY, sample_rate)
    frequencies = np.fft.rfftfreq(taps, 1 / sample_rate)
    if room is None:
        plant = transfer_matrix(profile, frequencies, head, listener=who)  # (F, 2, N)
    else:
        plant = room_transfer_matrix(profile, frequencies, head, room, listener=who, sample_rate=sample_rate)
    nearest = np.linalg.norm(profile.world_positions() - np.asarray(who.position_m), axis=1).min()
    shift = np.exp(2j * np.pi * frequencies * (nearest / SPEED_OF_SOUND_M_S - delay_samples / sample_rate))
    impulse = scipy.fft.irfft(plant * shift[:, None, None], n=taps, axis=0)  # (taps, 2, N)
    fade = taps // 8
    impulse[taps - fade :] *= np.cos(np.linspace(0, np.pi / 2, fade))[:, None, None] ** 2
    return MonitorFilters(np.ascontiguousarray(impulse.transpose(1, 2, 0)), delay_samples, float(sample_rate))


class BinauralMonitor(Processor):
    """The device at a listener position, on headphones: N driver feeds -> 2 ear signals.

    Parameters
    ----------
    device : str
        Device profile name or file (configuration).
    hrtf : str or list of str
        ``"model"`` (the head model), another model's name or the path of a SOFA file; of several
        SOFA files, the first (configuration).
    distance_m : float, 0.3..10 m
        Listener distance.
    listener_offset_m : float, -1..1 m
        Listener's sideways offset (+ is to the left).
    listener_yaw_deg : float, -90..90 deg
        Head rotation (+ turns left).
    head_radius_m : float
        Head radius of the model (``hrtf = "model"`` only).
    room : list of 3 floats, optional
        A shoebox room (length, width, height in m) simulated with pyroomacoustics
        (configuration; ``pip install 'soundstage[room]'``). Default: free field.
    listener_in_room_m : list of 3 floats
        Where the listener's head is in the room (configuration).
    rt60_s : float, 0.1..2 s
        Reverberation time of the room.
    """

    type_name = "BinauralMonitor"
    #: The FIR engine's partition at 48 kHz, its latency (the same time at other rates: :func:`~soundstage.dsp.spans.span`).
    PARTITION = 256
    config_keys = ("device", "hrtf", "room", "listener_in_room_m")
    output_channels = 2
    parameter_specs = (
        ParameterSpec("distance_m", 2.0, 0.3, 10.0, unit="m", description="Listener distance"),
        ParameterSpec("listener_offset_m", 0.0, -1.0, 1.0, unit="m", description="Sideways offset, + to the left"),
        ParameterSpec("listener_yaw_deg", 0.0, -90.0, 90.0, unit="deg", description="Head rotation, + to the left"),
        ParameterSpec("head_radius_m", 0.0875, 0.05, 0.12, unit="m", description="Head radius of the model"),
        ParameterSpec("rt60_s", 0.4, 0.1, 2.0, unit="s", description="Reverberation time of the room (with a room)"),
    )
    design_parameters = ("distance_m", "listener_offset_m", "listener_yaw_deg", "head_radius_m", "rt60_s")
    default_device = "studio-5"

    def __init__(
        self,
        *,
        device: str | None = None,
        hrtf: str | Sequence[str] = "model",
        distance_m: float = 2.0,
        listener_offset_m: float = 0.0,
        listener_yaw_deg: float = 0.0,
        head_radius_m: float = 0.0875,
        room: list[float] | None = None,
        listener_in_room_m: list[float] | None = None,
        rt60_s: float = 0.4,
    ) -> None:
        self.device = device_setting(device or self.default_device)
        self.room = None if room is None else [float(v) for v in room]
        self.listener_in_room_m = [float(v) for v in (listener_in_room_m or [1.5, (self.room or [0, 4.0])[1] / 2, 1.2])]
        if self.room is not None and (len(self.room) != 3 or not all(1.0 <= v <= 50.0 for v in self.room)):
            raise ParameterError(f"{self.type_name}: room={room!r} must be [length, width, height], each 1..50 m")
        self._profile = load_profile(self.device)
        self._heads = HeadChoice(hrtf)  # a bad SOFA file fails here, not mid-stream
        self.hrtf = self._heads.hrtf  # a model or file name, or several files (a tuple)
        super().__init__(
            distance_m=distance_m,
            listener_offset_m=listener_offset_m,
            listener_yaw_deg=listener_yaw_deg,
            head_radius_m=head_radius_m,
        )
        self.partition_size = self.PARTITION  # at 48 kHz until a stream opens at another rate
        self._fir: CrossfadingFir | None = None

    @property
    def input_channels(self) -> int:  # type: ignore[override]
        return len(self._profile.drivers)

    def head(self, sample_rate: float) -> HeadModel:
        """The head the monitor listens with at a sample rate (HRIRs resampled if needed)."""
        return self._heads.head(sample_rate, self.float_value("head_radius_m"))

    @property
    def hrtf_source(self) -> str:
        """Where the ears come from, with any conversion (resampling) applied."""
        return self._heads.source(self._sample_rate, self.float_value("head_radius_m"))

    def listener(self) -> Listener:
        """The listener position of the current parameters."""
        return Listener(
            position_m=(0.0, self.float_value("listener_offset_m"), 0.0), yaw_deg=self.float_value("listener_yaw_deg")
        )

    def design(self, sample_rate: float) -> MonitorFilters:
        """The design for the current parameters (memoised: a reset does not redesign)."""
        return self._memoised(sample_rate, self._design)

    def _design(self, sample_rate: float) -> MonitorFilters:
        """Driver -> ear filters for the current parameters."""
        profile = self._profile.at_distance(self.float_value("distance_m"))
        room = None
        if self.room is not None:
            room = ShoeboxRoom(
                (self.room[0], self.room[1], self.room[2]),
                self.float_value("rt60_s"),
                (self.listener_in_room_m[0], self.listener_in_room_m[1], self.listener_in_room_m[2]),
            )
        return design_monitor(profile, self.head(sample_rate), sample_rate=sample_rate, listener=self.listener(), room=room)

    @property
    def latency_samples(self) -> int:
        return span(BULK_DELAY, self._sample_rate or 48000.0) + self.partition_size

    def _prepare(self, sample_rate: float, num_channels: int) -> None:
        self.partition_size = span(self.PARTITION, sample_rate)
        self._fir = CrossfadingFir(
            self.design(sample_rate).impulse, partition_size=self.partition_size, fade_samples=int(0.05 * sample_rate)
        )

    def _parameter_changed(self, name: str) -> None:
        if self._fir is not None and self._sample_rate is not None:
            self._fir.set_filters(self.design(self._sample_rate).impulse)

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        assert self._fir is not None
        return self._fir.process(block)

    def design_identity(self) -> tuple[Any, ...]:
        """What this monitor's designs depend on besides its knobs, by content: the device profile's values
        and the heads' (:meth:`HeadChoice.identity`); the room and seat are in its configuration."""
        return (dataclasses.replace(self._profile, source=""), self._heads.identity())

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.device != self.default_device:
            config["device"] = self.device
        if self.hrtf != "model":
            config["hrtf"] = self.hrtf
        if self.room is not None:
            config["room"] = self.room
            config["listener_in_room_m"] = self.listener_in_room_m
        return config


class StereoReference(BinauralMonitor):
    """A stereo pair at +-30 degrees on headphones (2 -> 2 ears): the reference of an A/B.

    Same parameters as :class:`BinauralMonitor`, with the ``stereo-pair`` device.

    Examples
    --------
    >>> import numpy as np
    >>> StereoReference()(np.zeros((2, 4800)), 48000).shape
    (2, 4800)
    """

    type_name = "StereoReference"
    default_device = "stereo-pair"
