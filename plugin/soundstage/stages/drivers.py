"""``DriverFeeds``: what every stage whose outputs are a device's driver feeds shares."""

from __future__ import annotations

from soundstage.acoustics.profiles import DeviceProfile

__all__ = ["DriverFeeds"]


class DriverFeeds:
    """Mixin (before :class:`~soundstage.host.processor.Processor`): one output per driver of ``self._profile``."""

    _profile: DeviceProfile

    @property
    def output_channels(self) -> int:
        """One channel per driver of the device profile."""
        return len(self._profile.drivers)

    def output_channels_for(self, num_input_channels: int) -> int:
        """Checks the input count (the processor's rule), then one channel per driver."""
        super().output_channels_for(num_input_channels)  # type: ignore[misc]
        return len(self._profile.drivers)

    @property
    def driver_names(self) -> list[str]:
        """Output channel names: the device's drivers."""
        return list(self._profile.driver_names)
