"""The population a robust design holds for: a model head's variants (radius and ear angle about one standard
deviation of measured heads, a torso) and every seat of a listening region."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from soundstage.acoustics.head import HeadAndTorso, HeadModel, HybridSphereHead
from soundstage.acoustics.profiles import Listener, ListeningRegion

__all__ = ["RADIUS_SPREAD", "EAR_SPREAD_DEG", "head_variants", "torso_variant", "population"]


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
