"""Head models: how sound from a direction arrives at each ear.

Every head model answers one question, :meth:`ear_responses`: the complex
frequency response at the left and right ear for plane waves from given
directions, relative to the free field at the center of the head (no head).
Measured HRTFs (:mod:`soundstage.acoustics.hrtf`) answer the same question.

:class:`SphericalHead` is the model of Brown & Duda (1998), "A structural model
for binaural sound synthesis", IEEE Trans. Speech Audio Proc. 6(5): per ear, a
one-pole/one-zero head-shadow filter whose zero moves with the angle of
incidence, and a Woodworth-style delay (the path around the sphere).

:class:`RigidSphereHead` is the exact solution for a plane wave scattered by a
rigid sphere (Rayleigh; as used by Duda & Martens 1998, "Range dependence of the
response of a spherical head model", JASA 104(5)), evaluated at ears on the
sphere's surface. It has what the one-pole model lacks: the low-frequency ITD
is 1.5 times the high-frequency one (Kuhn 1977), the shadow side has its bright
spot, and the head's diffraction ripples through 1-3 kHz, where a canceller for
drivers a few degrees apart works on interaural differences of tens of us.

:class:`BlendedSphereHead` takes each model's level where it is the better one:
the exact sphere's below ``BLEND_HZ[0]`` (1 kHz), where wavelengths are long
against the pinnae and a head scatters like a sphere (its low-frequency level
difference, which the one-pole model underestimates), and Brown & Duda's smooth
shadow above ``BLEND_HZ[1]`` (2 kHz), where a real head's asymmetry and pinnae
wash out the perfect sphere's bright spot and deep diffraction ripples; the level
crossfades in dB over the octave between. Its phase is Brown & Duda's at every
frequency (Woodworth's smooth timing): the exact sphere's phase ripples at 1-2
kHz (a frontal source's group delay at the ears from -66 to +37 us), and a
complex crossfade of the two (-66 to +91 us) put the device chain's beam and
canceller paths 2.3 samples apart at the ears. Neither part is fitted to a
measured head.

:class:`HybridSphereHead`, the package's design head (``hrtf = "model"``), has
:class:`BlendedSphereHead`'s level and the exact sphere's phase at every frequency,
not crossfaded: the low-frequency ITD real heads have. Designed on it and
evaluated on MIT KEMAR, the device's hard-panned sources land 5 us from a real
+-30 degree pair's ITD (Brown & Duda's timing: 51 us short) and the canceller keeps
19.2 dB mean separation at 1 m (17.0); its beam and canceller paths still arrive
within a sample of each other (0.7), as the phase is one model's throughout.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.special

from soundstage.acoustics.geometry import SPEED_OF_SOUND_M_S, direction

__all__ = [
    "BLEND_HZ",
    "BlendedSphereHead",
    "FreeField",
    "HeadAndTorso",
    "HeadModel",
    "HybridSphereHead",
    "RigidSphereHead",
    "SphericalHead",
    "rigid_sphere_surface",
]

#: The octave over which :class:`BlendedSphereHead` goes from the exact sphere to Brown & Duda's model, Hz.
BLEND_HZ = (1000.0, 2000.0)


class HeadModel(Protocol):
    """Anything that gives ear responses for directions (head coordinates)."""

    @property
    def radius_m(self) -> float:
        """Head radius, meters (for the listener-inside check)."""
        ...

    def ear_responses(self, frequencies_hz: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Complex responses, shape (2 ears [left, right], directions, frequencies)."""
        ...


@dataclass(frozen=True)
class SphericalHead:
    """Brown & Duda's spherical head.

    Parameters
    ----------
    radius_m : float
        Head radius, 0.0875 m by default.
    ear_azimuth_deg : float
        Ears at +-this azimuth (90: on the interaural axis).
    alpha_min : float
        Depth of the head shadow (0.1 in Brown & Duda: -20 dB at high frequency).
    theta_min_deg : float
        Incidence angle of the deepest shadow (150 deg).

    Notes
    -----
    For an ear and an angle of incidence theta (between the source direction and
    the ear's outward axis), the shadow filter is
    ``H(w) = (1 + j alpha(theta) w / (2 w0)) / (1 + j w / (2 w0))`` with
    ``w0 = c / a`` and ``alpha(theta) = (1 + alpha_min/2) + (1 - alpha_min/2) cos(pi theta / theta_min)``,
    and the delay is ``-(a/c) cos(theta)`` for theta < 90 deg, ``(a/c)(theta - pi/2)`` beyond.
    """

    radius_m: float = 0.0875
    ear_azimuth_deg: float = 90.0
    alpha_min: float = 0.1
    theta_min_deg: float = 150.0

    @property
    def w0(self) -> float:
        """``c / a``, rad/s."""
        return SPEED_OF_SOUND_M_S / self.radius_m

    def ear_axes(self) -> np.ndarray:
        """Outward ear directions (head coordinates), shape (2, 3): left, right."""
        return np.array([direction(self.ear_azimuth_deg), direction(-self.ear_azimuth_deg)])

    def incidence(self, directions: np.ndarray) -> np.ndarray:
        """Angle between each ear axis and each direction, radians, shape (2, D)."""
        units = np.atleast_2d(directions)
        units = units / np.linalg.norm(units, axis=1, keepdims=True)
        return np.arccos(np.clip(self.ear_axes() @ units.T, -1.0, 1.0))

    def alpha(self, theta: np.ndarray) -> np.ndarray:
        """Zero coefficient of the shadow filter at incidence ``theta`` (radians)."""
        theta_min = np.deg2rad(self.theta_min_deg)
        return (1 + self.alpha_min / 2) + (1 - self.alpha_min / 2) * np.cos(theta / theta_min * np.pi)

    def delay_s(self, theta: np.ndarray) -> np.ndarray:
        """Arrival time relative to the head center (seconds) at incidence ``theta``."""
        a_over_c = self.radius_m / SPEED_OF_SOUND_M_S
        return np.where(theta < np.pi / 2, -a_over_c * np.cos(theta), a_over_c * (theta - np.pi / 2))

    def ear_responses(self, frequencies_hz: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Complex ear responses, shape (2, D, F), relative to the free field at the head center."""
        w = 2 * np.pi * np.asarray(frequencies_hz, dtype=float)
        theta = self.incidence(directions)  # (2, D)
        alpha = self.alpha(theta)[:, :, None]
        x = 1j * w[None, None, :] / (2 * self.w0)
        shadow = (1 + alpha * x) / (1 + x)
        delay = np.exp(-1j * w[None, None, :] * self.delay_s(theta)[:, :, None])
        return shadow * delay

    def shadow_level(self, frequencies_hz: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """``|ear_responses|`` without their phase (the delay is a pure phase), shape (2, D, F)."""
        y2 = (2 * np.pi * np.asarray(frequencies_hz, dtype=float) / (2 * self.w0)) ** 2
        alpha2 = self.alpha(self.incidence(directions))[:, :, None] ** 2
        return np.asarray(np.sqrt((1 + alpha2 * y2) / (1 + y2)))

    def shadow_ba(self, theta: float, sample_rate: float) -> tuple[np.ndarray, np.ndarray]:
        """Digital (bilinear) coefficients of the shadow filter at incidence ``theta`` radians."""
        from scipy.signal import bilinear  # noqa: PLC0415 (slow to load: on first use)

        alpha = float(self.alpha(np.asarray(theta)))
        tau = 1 / (2 * self.w0)
        b, a = bilinear([alpha * tau, 1.0], [tau, 1.0], fs=sample_rate)
        return np.asarray(b), np.asarray(a)


@functools.lru_cache(maxsize=8)
def _series_coefficients(ka_bytes: bytes) -> np.ndarray:
    """The series' coefficients ``(2m+1) i^(m+1) / (h_m'(ka) (ka)^2)``, shape (F, M); cached per frequency grid.

    ``h_m``, the spherical Hankel function of the first kind, by its upward recurrence
    ``h_{m+1} = (2m+1)/x h_m - h_{m-1}`` from ``h_0 = -i e^{ix}/x`` and ``h_1 = -e^{ix}(x+i)/x^2``,
    and ``h_m' = h_{m-1} - (m+1)/x h_m`` (``h_0' = -h_1``). Upward is stable for ``h_m`` (its growing
    part ``y_m`` dominates, and the coefficient is ``1/h_m'``): within 1e-13 of scipy's
    ``spherical_jn``/``spherical_yn``, which take 40 times as long (tests/test_rigid_sphere.py).
    """
    ka = np.frombuffer(ka_bytes, dtype=float)
    count = int(np.ceil(ka.max(initial=0.0))) + 30
    x = np.maximum(ka, 1e-9)
    derivative = np.empty((len(x), count), complex)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        wave = np.exp(1j * x)
        previous, current = -1j * wave / x, -wave * (x + 1j) / x**2  # h_0, h_1
        derivative[:, 0] = -current
        for m in range(1, count):
            derivative[:, m] = previous - (m + 1) / x * current
            previous, current = current, (2 * m + 1) / x * current - previous
        orders = np.arange(count)
        coefficients = (2 * orders + 1) * (1j) ** (orders + 1) / derivative / x[:, None] ** 2
    coefficients = np.where(np.isfinite(coefficients), coefficients, 0.0)  # a term whose h' overflows is 0
    coefficients.setflags(write=False)
    return np.asarray(coefficients)


def rigid_sphere_surface(ka: np.ndarray, cos_incidence: np.ndarray) -> np.ndarray:
    """Pressure on a rigid sphere's surface for a plane wave, re the free field at its center, shape (D, F).

    ``ka``: wave number times radius, per frequency; ``cos_incidence``: cosine of the
    angle between the direction the wave comes from and the surface point, per
    direction (1: the point faces the source). The series

    .. math:: p = \\frac{1}{(ka)^2} \\sum_m \\frac{(2m+1)\\, i^{m+1} P_m(-\\cos\\theta)}{h_m'(ka)}

    (``h_m`` the spherical Hankel function of the first kind, ``exp(-i w t)``) is
    summed to ``ka + 30`` terms; returned in the engineering sign convention of the
    rest of the package (a delay ``t`` is ``exp(-j w t)``). ``ka = 0`` gives 1.
    """
    ka = np.ascontiguousarray(np.atleast_1d(np.asarray(ka, dtype=float)))
    coefficients = _series_coefficients(ka.tobytes())
    cos_theta = -np.atleast_1d(np.asarray(cos_incidence, dtype=float))  # the series' angle is from the propagation direction
    legendre = np.stack([scipy.special.eval_legendre(k, cos_theta) for k in range(coefficients.shape[1])], axis=-1)
    surface = np.conj(legendre @ coefficients.T)  # (D, F), to exp(+j w t)
    surface[:, ka < 1e-6] = 1.0
    return np.asarray(surface)


@dataclass(frozen=True)
class RigidSphereHead:
    """A rigid sphere with the ears on its surface: the exact plane-wave solution (:func:`rigid_sphere_surface`).

    Parameters
    ----------
    radius_m : float
        Head radius, 0.0875 m by default.
    ear_azimuth_deg : float
        Ears at +-this azimuth on the horizontal great circle (90: on the
        interaural axis; Brown & Duda place them about 10 degrees behind it).
    """

    radius_m: float = 0.0875
    ear_azimuth_deg: float = 90.0

    def ear_axes(self) -> np.ndarray:
        """Outward ear directions (head coordinates), shape (2, 3): left, right."""
        return np.array([direction(self.ear_azimuth_deg), direction(-self.ear_azimuth_deg)])

    def ear_responses(self, frequencies_hz: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Complex ear responses, shape (2, D, F), relative to the free field at the head center."""
        units = np.atleast_2d(np.asarray(directions, dtype=float))
        units = units / np.linalg.norm(units, axis=1, keepdims=True)
        ka = 2 * np.pi * np.atleast_1d(np.asarray(frequencies_hz, dtype=float)) * self.radius_m / SPEED_OF_SOUND_M_S
        return np.stack([rigid_sphere_surface(ka, units @ axis) for axis in self.ear_axes()])


@dataclass(frozen=True)
class BlendedSphereHead:
    """The exact rigid sphere's level below 1 kHz, Brown & Duda's head above 2 kHz and its phase throughout (module notes).

    Parameters
    ----------
    radius_m : float
        Head radius of both parts, 0.0875 m by default.
    ear_azimuth_deg : float
        Ears at +-this azimuth, both parts.

    Examples
    --------
    >>> import numpy as np
    >>> head, front = BlendedSphereHead(), np.array([[1.0, 0.0, 0.0]])
    >>> low = np.array([200.0, 8000.0])
    >>> bool(np.allclose(np.abs(head.ear_responses(low[:1], front)), np.abs(RigidSphereHead().ear_responses(low[:1], front))))
    True
    >>> bool(np.allclose(head.ear_responses(low[1:], front), SphericalHead().ear_responses(low[1:], front)))
    True
    """

    radius_m: float = 0.0875
    ear_azimuth_deg: float = 90.0

    def ear_responses(self, frequencies_hz: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Complex ear responses, shape (2, D, F), relative to the free field at the head center."""
        f = np.atleast_1d(np.asarray(frequencies_hz, dtype=float))
        shadow = SphericalHead(self.radius_m, self.ear_azimuth_deg).ear_responses(f, directions)
        out = np.array(shadow)
        below = _sphere_share(f) > 0.0
        if below.any():  # the level crossfades in dB; the phase is Brown & Duda's everywhere (smooth: Woodworth)
            sphere = RigidSphereHead(self.radius_m, self.ear_azimuth_deg).ear_responses(f[below], directions)
            out[:, :, below] = _blend_level(f[below], sphere, shadow[:, :, below]) * np.exp(1j * np.angle(shadow[:, :, below]))
        return out


def _sphere_share(f: np.ndarray) -> np.ndarray:
    """The exact sphere's share of the blended level per frequency: 1 below ``BLEND_HZ``, 0 above, smooth between."""
    low, high = BLEND_HZ
    t = np.clip(np.log2(np.maximum(f, 1e-3) / low) / np.log2(high / low), 0.0, 1.0)
    return np.asarray(1.0 - t * t * (3 - 2 * t))


def _blend_level(f: np.ndarray, sphere: np.ndarray, shadow: np.ndarray) -> np.ndarray:
    """The level crossfaded in dB from the sphere's (below ``BLEND_HZ``) to Brown & Duda's shadow's (above)."""
    share = _sphere_share(f)
    return np.asarray(
        np.exp(share * np.log(np.maximum(np.abs(sphere), 1e-12)) + (1.0 - share) * np.log(np.maximum(np.abs(shadow), 1e-12)))
    )


@dataclass(frozen=True)
class HybridSphereHead:
    """The exact rigid sphere's timing throughout, its level below 1 kHz, Brown & Duda's level above 2 kHz.

    The design head of the package (``hrtf = "model"``; module notes). Its phase is the
    exact sphere's at every frequency: a real head's low-frequency ITD is about 1.5
    times the high-frequency one (Kuhn 1977), which Woodworth's formula (Brown & Duda's
    phase, :class:`BlendedSphereHead`'s) misses, and it is those tens of microseconds a
    canceller for drivers a few degrees apart works on. Its level is
    :class:`BlendedSphereHead`'s: the sphere's where a head scatters like one, Brown &
    Duda's smooth shadow above 2 kHz, where a real head's pinnae and asymmetry wash out
    the perfect sphere's bright spot (the level crossfades in dB over ``BLEND_HZ``; the
    phase is not crossfaded, so no two timings are mixed). Neither part is fitted to a
    measured head.

    Parameters
    ----------
    radius_m : float
        Head radius of both parts, 0.0875 m by default.
    ear_azimuth_deg : float
        Ears at +-this azimuth, both parts.

    Examples
    --------
    >>> import numpy as np
    >>> head, front = HybridSphereHead(), np.array([[0.5, 0.5, 0.0]])
    >>> f = np.array([500.0, 8000.0])
    >>> sphere, shadow = RigidSphereHead().ear_responses(f, front), SphericalHead().ear_responses(f, front)
    >>> bool(np.allclose(np.angle(head.ear_responses(f, front)), np.angle(sphere)))
    True
    >>> bool(np.allclose(np.abs(head.ear_responses(f, front))[..., 1], np.abs(shadow)[..., 1]))
    True
    """

    radius_m: float = 0.0875
    ear_azimuth_deg: float = 90.0

    def ear_responses(self, frequencies_hz: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Complex ear responses, shape (2, D, F), relative to the free field at the head center."""
        f = np.atleast_1d(np.asarray(frequencies_hz, dtype=float))
        sphere = RigidSphereHead(self.radius_m, self.ear_azimuth_deg).ear_responses(f, directions)
        level = SphericalHead(self.radius_m, self.ear_azimuth_deg).shadow_level(f, directions)
        below = _sphere_share(f) > 0.0  # elsewhere the level is the shadow's alone
        level[:, :, below] = _blend_level(f[below], sphere[:, :, below], level[:, :, below])
        return np.asarray(sphere * (level / np.maximum(np.abs(sphere), 1e-300)))


@dataclass(frozen=True)
class HeadAndTorso:
    """:class:`HybridSphereHead` above a spherical torso: the head's response plus the torso's reflection.

    The geometry of Algazi, Duda et al.'s "snowman" (2002, JASA 112(5)): a sphere
    for the head, a larger sphere below it for the torso. The reflection is
    ray-traced, as in their structural version of it: a plane wave from the
    source reaches the torso, is reflected at the point where incidence and
    reflection angles are equal (the path through the head's center is the
    shortest over the torso's surface, Fermat), and arrives at the head as a plane
    wave from that point, which the head then scatters like any other
    (:class:`HybridSphereHead`'s response for that direction). Its amplitude is
    geometric acoustics' spreading of a plane wave reflected by a sphere (the
    reflected wavefront's radii ``b cos(i) / 2`` and ``b / (2 cos(i))`` at the
    point, ``b`` the torso's radius, ``i`` the angle of incidence), rigid, with a
    second-order high-pass at ``k b = 1`` (about 320 Hz) where the torso becomes
    small against the wavelength and stops reflecting like a mirror. A source
    whose wave cannot reach a reflecting point facing the head (from well below)
    gets none; the torso's shadow for such sources is not modeled.

    For a source in the horizontal plane the reflection arrives 0.37 ms after the
    direct sound, 11 dB down (before the head's response): a ripple of about
    +-2 dB with its first dip near 1.4 kHz, where a canceller and a phantom
    center's comb are at work. Its dimensions are an adult's proportions, not
    fitted to a measured head.

    Parameters
    ----------
    radius_m, ear_azimuth_deg : float
        The head's, as :class:`HybridSphereHead`'s.
    torso_radius_m : float
        Radius of the torso sphere, 0.169 m (Algazi, Duda et al.'s).
    torso_below_m : float
        From the ears' height down to the top of the torso (the shoulders' height), 0.17 m.

    Examples
    --------
    >>> import numpy as np
    >>> front = np.array([[1.0, 0.0, 0.0]])
    >>> delay_s, level, _ = HeadAndTorso().reflection(front)
    >>> round(float(delay_s[0]) * 1e3, 2), round(float(20 * np.log10(level[0])), 1)
    (0.37, -11.4)
    """

    radius_m: float = 0.0875
    ear_azimuth_deg: float = 90.0
    torso_radius_m: float = 0.169
    torso_below_m: float = 0.17

    def reflection(self, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per direction the torso reflection's delay at the head center (s, after the direct sound), its
        geometric amplitude (0 where there is none) and the unit direction it arrives from, shapes (D,), (D,), (D, 3)."""
        units = np.atleast_2d(np.asarray(directions, dtype=float))
        units = units / np.linalg.norm(units, axis=1, keepdims=True)
        b, below = self.torso_radius_m, self.torso_below_m + self.torso_radius_m  # torso center at (0, 0, -below)
        # the torso is round about the vertical: the reflecting point lies in the vertical plane of the source
        horizontal, up = np.hypot(units[:, 0], units[:, 1]), units[:, 2]
        polar = np.linspace(-np.pi / 2, np.pi, 3601)  # from the torso's top, toward the source positive
        across, height = b * np.sin(polar), -below + b * np.cos(polar)
        length = -(horizontal[:, None] * across[None] + up[:, None] * height[None]) + np.hypot(across, height)[None]
        best = np.argmin(length, axis=1)
        # refine each minimum with a parabola through its neighbors
        inner = np.clip(best, 1, len(polar) - 2)
        left, middle, right = (length[np.arange(len(units)), inner + k] for k in (-1, 0, 1))
        curvature = left - 2 * middle + right
        shift = np.where(curvature > 0, 0.5 * (left - right) / np.where(curvature > 0, curvature, 1.0), 0.0)
        angle = polar[inner] + np.clip(shift, -1.0, 1.0) * (polar[1] - polar[0])
        point = np.stack([b * np.sin(angle), -below + b * np.cos(angle)], axis=1)  # (across, height)
        path = -(horizontal * point[:, 0] + up * point[:, 1]) + np.linalg.norm(point, axis=1)
        normal = np.stack([np.sin(angle), np.cos(angle)], axis=1)
        cos_incidence = normal[:, 0] * horizontal + normal[:, 1] * up
        distance = np.linalg.norm(point, axis=1)
        toward_head = -(normal * point).sum(axis=1) / distance  # the reflected ray leaves the surface outward
        reaches = (cos_incidence > 1e-3) & (toward_head > 1e-3)
        cos_i = np.maximum(cos_incidence, 1e-3)
        rho1, rho2 = b * cos_i / 2, b / (2 * cos_i)
        level = np.where(reaches, np.sqrt(rho1 * rho2 / ((rho1 + distance) * (rho2 + distance))), 0.0)
        azimuth = np.arctan2(units[:, 1], units[:, 0])
        arrival = (
            np.stack([np.cos(azimuth) * point[:, 0], np.sin(azimuth) * point[:, 0], point[:, 1]], axis=1) / distance[:, None]
        )
        return path / SPEED_OF_SOUND_M_S, level, arrival

    def ear_responses(self, frequencies_hz: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Complex ear responses, shape (2, D, F), relative to the free field at the head center."""
        f = np.atleast_1d(np.asarray(frequencies_hz, dtype=float))
        units = np.atleast_2d(np.asarray(directions, dtype=float))
        head = HybridSphereHead(self.radius_m, self.ear_azimuth_deg)
        delay_s, level, arrival = self.reflection(units)
        kb = 1j * 2 * np.pi * f * self.torso_radius_m / SPEED_OF_SOUND_M_S
        high_pass = (kb / (1 + kb)) ** 2
        reflected = level[:, None] * high_pass[None] * np.exp(-2j * np.pi * f[None] * delay_s[:, None])  # (D, F)
        return np.asarray(head.ear_responses(f, units) + reflected[None] * head.ear_responses(f, arrival))


@dataclass(frozen=True)
class FreeField:
    """No head: both "ears" hear the free field at the head center (for level measurements)."""

    radius_m: float = 0.0

    def ear_responses(self, frequencies_hz: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Unit responses, shape (2, D, F)."""
        return np.ones((2, len(np.atleast_2d(directions)), len(np.atleast_1d(frequencies_hz))), complex)
