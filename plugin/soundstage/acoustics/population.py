"""The population a robust design holds for: a model head's variants (radius and ear angle about one standard
deviation of measured heads, a torso) and every seat of a listening region; a stage's ``region`` settings, which
name that region."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from soundstage.acoustics.head import HeadAndTorso, HeadModel, HybridSphereHead
from soundstage.acoustics.profiles import Listener, ListeningRegion
from soundstage.errors import ParameterError

__all__ = [
    "DEFAULT_REGION",
    "EAR_SPREAD_DEG",
    "RADIUS_SPREAD",
    "REGIONS",
    "REGION_EXTENTS",
    "head_variants",
    "population",
    "region_extents",
    "region_setting",
    "torso_variant",
]


#: The head variants a model head's robust design holds for: head radius and ear angle about one standard
#: deviation of measured heads either way (radius 8.7 +- 0.6 cm, Algazi et al. 2001; the ears sit several
#: degrees behind the interaural axis, by an amount that varies), each varied alone.
RADIUS_SPREAD, EAR_SPREAD_DEG = 0.07, 6.0


def head_variants(head: HeadModel) -> list[HeadModel]:
    """``head`` and its variants for a robust design: radius and ear angle each varied alone (a model with
    ``radius_m`` and ``ear_azimuth_deg``), and the design head with a torso (:func:`torso_variant`); a measured
    head is the listener's own and is not varied."""
    if not dataclasses.is_dataclass(head) or not hasattr(head, "ear_azimuth_deg"):
        return [head]
    radius, ear = float(head.radius_m), float(head.ear_azimuth_deg)
    torso = torso_variant(head)
    return [
        head,
        *(dataclasses.replace(head, radius_m=radius * (1 + d)) for d in (-RADIUS_SPREAD, RADIUS_SPREAD)),
        *(dataclasses.replace(head, ear_azimuth_deg=ear + d) for d in (-EAR_SPREAD_DEG, EAR_SPREAD_DEG)),
        *([torso] if torso is not None else []),
    ]


def torso_variant(head: HeadModel) -> HeadModel | None:
    """The design head with a torso, or the head-and-torso model without it: every listener has a torso, whose
    reflection (:class:`~soundstage.acoustics.head.HeadAndTorso`, 0.37 ms and about -11 dB for a source in the
    horizontal plane) ripples the plant by +-2 dB from 1.4 kHz up, and a design should hold with it and without.
    None for the other models (Brown & Duda's, the exact sphere's: alternatives to compare, kept as they are).

    Chosen on model heads it was not made on (studio-5 at 1 m, the default design, mean / region mean / worst
    seat, dB; without the variant -> with it): Brown & Duda's 26.7 / 17.0 / 12.0 -> 27.0 / 16.9 / 11.8, the exact
    sphere 28.8 / 17.7 / 12.4 -> 29.1 / 17.6 / 12.2, a smaller head (8 cm) 25.3 / 16.1 / 10.8 -> 25.4 / 16.1 /
    10.7, a smaller torso (14 cm, 15 cm below the ears) 18.1 / 12.6 / 9.8 -> 18.7 / 13.0 / 9.9.
    """
    if isinstance(head, HeadAndTorso):
        return HybridSphereHead(head.radius_m, head.ear_azimuth_deg)
    if isinstance(head, HybridSphereHead):
        return HeadAndTorso(head.radius_m, head.ear_azimuth_deg)
    return None


def population(
    head: HeadModel, listener: Listener, region: ListeningRegion, others: Sequence[HeadModel] = ()
) -> list[tuple[HeadModel, Listener]]:
    """The (head, seat) pairs a robust design holds for, the nominal pair first: the nominal head at every seat
    of the region (27 by default), each of its variants (:func:`head_variants`) at the nominal seat, and each
    of ``others`` (further measured heads: a stage's several SOFA sets) at every seat of the region."""
    seats = region.positions(listener)
    return (
        [(head, seat) for seat in seats]
        + [(variant, listener) for variant in head_variants(head)[1:]]
        + [(other, seat) for other in others for seat in seats]
    )


#: The listening region of a robust design (the default; a stage's ``region = "region"``).
DEFAULT_REGION = ListeningRegion()
#: A stage's ``region`` setting: the design's seat alone (exact there) or the listening region (robust).
REGIONS: dict[str, ListeningRegion | None] = {"seat": None, "region": DEFAULT_REGION}


#: A stage's listening-region extents (configuration keys) -> (the :class:`ListeningRegion` field, least, most, unit).
REGION_EXTENTS: dict[str, tuple[str, float, float, str]] = {
    "region_yaw_deg": ("yaw_deg", 0.0, 45.0, "deg"),
    "region_lateral_m": ("lateral_m", 0.0, 0.5, "m"),
    "region_fore_aft_m": ("fore_aft_m", 0.0, 0.5, "m"),
}


def region_setting(stage: str, value: str, extents: Mapping[str, float] | None = None) -> ListeningRegion | None:
    """The :class:`ListeningRegion` a stage's ``region`` setting names (:data:`REGIONS`), its extents overridden by
    the ``region_*`` keys given (:data:`REGION_EXTENTS`, :func:`region_extents`); a one-line error otherwise."""
    if value not in REGIONS:
        raise ParameterError(
            f"{stage}: region={value!r} is not a region; use 'seat' (exact at the design's seat) or "
            f"'region' (robust over {DEFAULT_REGION.describe()})"
        )
    given = dict(extents or {})
    for key, extent in given.items():
        _, least, most, unit = REGION_EXTENTS[key]
        if isinstance(extent, bool) or not isinstance(extent, (int, float)) or not least <= extent <= most:
            raise ParameterError(f"{stage}: {key}={extent!r} is out of range; give {least:g}..{most:g} {unit} (+- the seat)")
    region = REGIONS[value]
    if region is None:
        if given:
            raise ParameterError(
                f"{stage}: {', '.join(given)} shape the listening region, but region='seat' designs for the seat alone; "
                "use region='region' or drop them"
            )
        return None
    return dataclasses.replace(region, **{REGION_EXTENTS[key][0]: float(extent) for key, extent in given.items()})


def region_extents(stage: object) -> dict[str, float]:
    """The ``region_*`` keys (:data:`REGION_EXTENTS`) a stage was given, by name (None on the stage: the default's)."""
    return {key: value for key in REGION_EXTENTS if (value := getattr(stage, key, None)) is not None}
