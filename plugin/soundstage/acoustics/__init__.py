"""Acoustics: device profiles, head models, measured HRTFs, driver-to-ear transfer, rooms."""
