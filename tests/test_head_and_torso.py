"""The head-and-torso model (``hrtf = "head-and-torso"``): the head model above a spherical torso whose
reflection is ray-traced (acoustics/head.py, :class:`HeadAndTorso`). Checked against geometry, not fitted to a
measured head."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage import CrosstalkCanceller, Virtualizer
from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S, direction
from soundstage.acoustics.head import HeadAndTorso, HybridSphereHead
from soundstage.acoustics.profiles import load_profile
from soundstage.analysis.crosstalk import separation_db
from soundstage.stages.crosstalk import design_crosstalk_canceller
from soundstage.stages.device import SEPARATION_PER_WIDTH_DB

MODEL = HeadAndTorso()
CENTER = np.array([0.0, 0.0, -(MODEL.torso_below_m + MODEL.torso_radius_m)])
REFLECTING = [(0.0, 0.0), (30.0, 0.0), (-70.0, 5.0), (150.0, -10.0), (10.0, 40.0), (0.0, 75.0)]


def _torso_point(arrival: np.ndarray) -> np.ndarray:
    """Where the ray from the head center toward ``arrival`` first meets the torso sphere."""
    along = arrival @ CENTER
    return (along - np.sqrt(along**2 - (CENTER @ CENTER - MODEL.torso_radius_m**2))) * arrival


@pytest.mark.parametrize(("azimuth", "elevation"), REFLECTING)
def test_the_reflection_obeys_the_law_of_reflection_and_is_the_shortest_path(azimuth: float, elevation: float) -> None:
    """At the reflecting point the outgoing ray is the incoming one mirrored about the surface normal (within
    0.1 deg), and the path is the shortest via the torso's surface of a brute-force search (within 0.2 mm)."""
    source = direction(azimuth, elevation)
    delay_s, level, arrival = MODEL.reflection(source[None])
    assert level[0] > 0.0
    point = _torso_point(arrival[0])
    normal = (point - CENTER) / MODEL.torso_radius_m
    mirrored = -source - 2 * (-source @ normal) * normal  # the incoming ray's direction of travel, reflected
    outgoing = -point / np.linalg.norm(point)  # from the point toward the head center
    assert np.degrees(np.arccos(np.clip(mirrored @ outgoing, -1.0, 1.0))) <= 0.1
    polar, around = np.meshgrid(np.linspace(0, np.pi, 1801), np.linspace(-np.pi, np.pi, 3601), indexing="ij")
    surface = CENTER + MODEL.torso_radius_m * np.stack(
        [np.sin(polar) * np.cos(around), np.sin(polar) * np.sin(around), np.cos(polar)], axis=-1
    )
    lit = (surface - CENTER) @ source > 0
    paths = -(surface @ source) + np.linalg.norm(surface, axis=-1)
    assert abs(delay_s[0] * SPEED_OF_SOUND_M_S - paths[lit].min()) <= 2e-4


def test_a_source_overhead_reflects_off_the_torsos_top_as_from_a_sphere() -> None:
    """Straight above: the path is twice the ears' height over the torso, the level a sphere's at normal
    incidence, (b/2) / (b/2 + r)."""
    delay_s, level, arrival = MODEL.reflection(direction(0.0, 90.0)[None])
    height, half = MODEL.torso_below_m, MODEL.torso_radius_m / 2
    assert delay_s[0] == pytest.approx(2 * height / SPEED_OF_SOUND_M_S, rel=1e-4)
    assert level[0] == pytest.approx(half / (half + height), rel=1e-3)
    assert arrival[0] == pytest.approx([0.0, 0.0, -1.0], abs=1e-3)


def test_a_source_from_below_gets_no_reflection_and_low_frequencies_are_the_heads() -> None:
    f = np.array([30.0, 60.0, 1000.0, 4000.0])
    below = direction(20.0, -70.0)[None]
    assert MODEL.reflection(below)[1][0] == 0.0
    assert np.allclose(MODEL.ear_responses(f, below), HybridSphereHead().ear_responses(f, below))
    front = direction(0.0, 0.0)[None]
    ratio = np.abs(MODEL.ear_responses(f, front) / HybridSphereHead().ear_responses(f, front))
    assert np.abs(20 * np.log10(ratio[..., :2])).max() <= 0.1  # the torso is small against 6-11 m
    assert np.abs(20 * np.log10(ratio[..., 2:])).max() >= 0.5  # and heard at 1-4 kHz


def test_stages_design_on_it() -> None:
    """``hrtf = "head-and-torso"``: the virtualizer and the canceller design on it; a canceller designed on it
    separates on it as the head model's does on the head model (>= 25 dB mean over 250 Hz-6.3 kHz)."""
    impulse = np.zeros((2, 4800), np.float32)
    impulse[0, 0] = 1.0
    for stage in (Virtualizer(hrtf="head-and-torso"), CrosstalkCanceller(hrtf="head-and-torso")):
        out = stage(impulse, 48000)
        assert np.isfinite(out).all() and np.abs(out).max() > 0.01
    profile = load_profile("studio-5", distance_m=1.0)
    design = design_crosstalk_canceller(profile, head=MODEL, plateau_db=SEPARATION_PER_WIDTH_DB)
    centers, separation = separation_db(design.impulse, design.delay_samples, 48000.0, profile, MODEL)
    band = (centers >= 250) & (centers <= 6400)
    print(f"designed on the head-and-torso model, heard on it: mean {separation[band].mean():.1f} dB")
    assert separation[band].mean() >= 25.0
