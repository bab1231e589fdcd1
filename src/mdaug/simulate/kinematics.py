"""Boulic-Thalmann walking model: joint angles over the gait cycle and joint positions over time.

R. Boulic, N. Magnenat-Thalmann, D. Thalmann, "A global human walking model with real-time kinematic
personification", The Visual Computer 6:344-358, 1990, as used for radar by V.C. Chen, "The
Micro-Doppler Effect in Radar" (2nd ed., 2019), ch. 5. Trajectories are functions of the normalised
cycle phase in [0, 1), periodic smooth (PCHIP) curves through the paper's control points or sinusoids,
with amplitudes that depend on the normalised speed RV = V / Ht.

Scaling (Boulic's appendix, and where public ports go wrong):
    leg height   Ht = 0.491 H (thigh + shank)
    speed        V  = RV * Ht            [m/s]
    cycle length RLc = 1.346 sqrt(RV)   [in units of Ht]; stride RLc * Ht [m]
    cycle period Dc = RLc / RV          [s]
    pelvis translations are in units of Ht and are scaled by it here.
Left limbs run half a cycle after the right ones. Everything is vectorised over time.

Frame: x forward (walking direction), y to the walker's left, z up; origin on the ground below the
pelvis at t = 0. Angles in degrees in the trajectories, radians in the rotations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy.interpolate import PchipInterpolator

from mdaug.config.simulate import ARM_MODES

# Segment lengths as fractions of the body height H (Boulic; Chen table 5.1).
SEGMENT_RATIOS = {
    "head": 0.130, "shoulder_half": 0.1295, "torso": 0.288, "hip_half": 0.0955, "thigh": 0.245,
    "shank": 0.246, "foot": 0.143, "upper_arm": 0.188, "forearm": 0.152,
}


def leg_ratio(ratios: dict[str, float]) -> float:
    """Ht / H: thigh plus shank, as fractions of the body height."""
    return ratios["thigh"] + ratios["shank"]


BASE, NECK = "base", "neck"
"""The joints at the torso's ends (the pelvis's base and the neck), as joint_positions names them."""


def torso_midpoint(joints: dict[str, np.ndarray]) -> np.ndarray:
    """The middle of the torso of joint_positions' joints."""
    return (joints[BASE] + joints[NECK]) / 2


@dataclass(frozen=True)
class Gait:
    """How one person walks: body size, speed and the personal offsets on the Boulic trajectories."""

    height: float = 1.8  # m
    speed: float = 1.3  # m/s, V; RV = V / Ht must lie in (0, 3]
    ratios: dict[str, float] = field(default_factory=lambda: dict(SEGMENT_RATIOS))
    arm_swing: float = 1.0  # multiplies the shoulder swing amplitude
    knee_peak_offset: float = 0.0  # degrees added to the knee's swing-phase peak
    hip_amplitude_offset: float = 0.0  # degrees added to the hip flexion extremes (symmetric)
    cadence: float = 1.0  # multiplies the step rate at a given speed (stride shortens accordingly)
    asymmetry: float = 0.0  # left limbs: amplitude x (1 + asymmetry), phase + 0.5 + asymmetry / 4
    arms: str = "swing"  # what the arms do: one of ARM_MODES

    def length(self, name: str) -> float:
        return self.ratios[name] * self.height

    @property
    def leg_height(self) -> float:
        """Ht = thigh + shank (0.491 H with the standard ratios)."""
        return self.length("thigh") + self.length("shank")

    @property
    def rv(self) -> float:
        return self.speed / self.leg_height

    @property
    def cycle_length(self) -> float:
        """Stride (two steps) in metres: RLc * Ht / cadence."""
        return 1.346 * np.sqrt(self.rv) * self.leg_height / self.cadence

    @property
    def period(self) -> float:
        """Gait cycle duration Dc in seconds: RLc / RV / cadence."""
        return 1.346 * np.sqrt(self.rv) / self.rv / self.cadence

    def __post_init__(self) -> None:
        assert 0 < self.rv <= 3, f"normalised speed RV = V/Ht = {self.rv:.2f} must be in (0, 3]"
        assert self.cadence > 0 and self.height > 0
        assert self.arms in ARM_MODES, f"arms must be one of {ARM_MODES}, got {self.arms!r}"


POCKETS_SWING = 0.1
"""Share of the shoulder swing left with the hands in the pockets."""
POCKETS_ELBOW_DEG = 20.0
CARRY_SHOULDER_DEG = 15.0
CARRY_ELBOW_DEG = 75.0


def _periodic(xs: list[float], ys: list[float]) -> PchipInterpolator:
    """PCHIP through control points repeated one period either side, so the curve is smooth at 0 = 1."""
    x = np.concatenate([np.asarray(xs) - 1, xs, np.asarray(xs) + 1])
    y = np.tile(np.asarray(ys, dtype=np.float64), 3)
    # a point given at both x and x + 1 (the hip's -0.1 and 0.9) is one point of the periodic curve
    x, first = np.unique(np.round(x, 9), return_index=True)
    return PchipInterpolator(x, y[first])


def _gait_class(rv: float) -> str:
    return "a" if rv < 0.5 else ("b" if rv < 1.3 else "c")


@lru_cache(maxsize=4096)
def _curves(rv: float, knee_offset: float, hip_offset: float) -> dict[str, PchipInterpolator]:
    """The control-point trajectories for one normalised speed (Boulic appendices C and D)."""
    g = _gait_class(rv)
    s = (rv - 1.3) / 1.7  # position within class c
    dsmod = (0.752 * (1.346 * np.sqrt(rv) / rv) - 0.143) / (1.346 * np.sqrt(rv) / rv)  # support / cycle
    if g == "a":
        hip = ([-0.1, 0.5, 0.9], [50 * rv, -30 * rv, 50 * rv])
        knee = ([0.17, 0.4, 0.75, 1.0], [3, 3, 140 * rv, 3])
        ankle = ([0, 0.08, 0.5, dsmod, 0.85], [-3, -30 * rv - 3, 22 * rv - 3, -34 * rv - 3, -3])
        elbow = ([0.05, 0.5, 0.9], [6 * rv + 3, 34 * rv + 3, 10 * rv + 3])
    elif g == "b":
        b = (rv - 0.5) / 0.8
        hip = ([-0.1, 0.5, 0.9], [25, -15, 25])
        knee = ([0.17, 0.4, 0.75, 1.0], [3, 3, 70, 3])
        ankle = ([0, 0.08, 0.5, dsmod, 0.85], [-3, -18, 8, -20, -3])
        elbow = ([0.05, 0.01 * b + 0.5, 0.9], [8 * b + 6, 24 * b + 20, 9 * b + 8])
    else:
        hip = ([0.2 * s - 0.1, 0.5, 0.9], [5 * s + 25, -15, 6 * s + 25])
        knee = ([-0.05 * s + 0.17, 0.4, -0.05 * s + 0.75, -0.03 * s + 1.0], [22 * s + 3, 3, -5 * s + 70, 3 * s + 3])
        ankle = ([0, 0.08, -0.1 * s + 0.5, dsmod, 0.85], [5 * s - 3, 4 * s - 18, -3 * s + 8, -8 * s - 20, 5 * s - 3])
        # public code has (rv - .13) in the last term: a typo for (rv - 1.3), fixed here
        elbow = ([0.05, 0.04 * s + 0.51, -0.1 * s + 0.9], [-6 * s + 14, 26 * s + 44, -6 * s + 17])
    hip = (hip[0], [hip[1][0] + hip_offset, hip[1][1] - hip_offset, hip[1][2] + hip_offset])
    knee = (knee[0], [v + (knee_offset if i == 2 else 0.0) for i, v in enumerate(knee[1])])
    thorax = ([0.1, 0.4, 0.6, 0.9], [4 / 3 * rv, -4.5 / 3 * rv, -4 / 3 * rv, 4.5 / 3 * rv])
    return {"hip": _periodic(*hip), "knee": _periodic(*knee), "ankle": _periodic(*ankle),
            "elbow": _periodic(*elbow), "thorax": _periodic(*thorax)}


def gait_curves(gait: Gait) -> dict[str, PchipInterpolator]:
    """The trajectories of one gait (cached: a recording evaluates them for both sides and the pelvis)."""
    return _curves(round(gait.rv, 4), round(gait.knee_peak_offset, 3), round(gait.hip_amplitude_offset, 3))


def joint_angles(phase: np.ndarray, gait: Gait, side_gain: float = 1.0) -> dict[str, np.ndarray]:
    """Joint angles in degrees at cycle `phase` (any real numbers; taken mod 1) for one side."""
    rv = gait.rv
    p = np.mod(phase, 1.0)
    c = gait_curves(gait)
    a_sh = 9.88 * rv * gait.arm_swing * side_gain * (POCKETS_SWING if gait.arms == "pockets" else 1.0)
    shoulder, elbow = 3 - a_sh / 2 - a_sh * np.cos(2 * np.pi * p), c["elbow"](p)
    if gait.arms == "pockets":
        elbow = np.full_like(p, POCKETS_ELBOW_DEG)
    elif gait.arms == "carry":
        shoulder, elbow = np.full_like(p, CARRY_SHOULDER_DEG), np.full_like(p, CARRY_ELBOW_DEG)
    return {
        "hip": c["hip"](p) * side_gain,
        "knee": c["knee"](p) * side_gain,
        "ankle": c["ankle"](p),
        "shoulder": shoulder,
        "elbow": elbow,
    }


def pelvis_motion(phase: np.ndarray, gait: Gait) -> dict[str, np.ndarray]:
    """Pelvis translations (m, already scaled by Ht) and rotations (degrees) at cycle `phase`."""
    rv, ht = gait.rv, gait.leg_height
    p = np.mod(phase, 1.0)
    g = _gait_class(rv)
    dc = 1.346 * np.sqrt(rv) / rv
    dsmod = (0.752 * dc - 0.143) / dc
    av = 0.015 * rv
    al = -0.128 * rv**2 + 0.128 * rv if g == "a" else -0.032
    aa = -0.084 * rv**2 + 0.084 * rv if g == "a" else -0.021
    a1 = -8 * rv**2 + 8 * rv if g == "a" else 2.0
    a2 = 0.01 * rv
    # list (rotation left/right): piecewise cosines over the cycle (Boulic appendix B)
    tilt = np.select(
        [p < 0.15, p < 0.5, p < 0.65],
        [-a2 + a2 * np.cos(2 * np.pi * 10 * p / 3), -a2 - a2 * np.cos(2 * np.pi * 10 * (p - 0.15) / 7),
         a2 - a2 * np.cos(2 * np.pi * 10 * (p - 0.5) / 3)],
        a2 + a2 * np.cos(2 * np.pi * 10 * (p - 0.65) / 7),
    )
    return {
        "vertical": ht * (-av + av * np.sin(2 * np.pi * (2 * p - 0.35))),
        "lateral": ht * al * np.sin(2 * np.pi * (p - 0.1)),
        "forward": ht * aa * np.sin(2 * np.pi * (2 * p + 2 * (0.625 - dsmod))),
        "lean": -a1 + a1 * np.sin(2 * np.pi * (2 * p - 0.1)),  # rotation forward/backward
        "tilt": tilt,  # rotation left/right
        "torsion": -4 * rv * np.cos(2 * np.pi * p),
        "thorax": gait_curves(gait)["thorax"](p),  # thorax torsion against the pelvis
    }


def _rot(axis: str, deg: np.ndarray) -> np.ndarray:
    """(T, 3, 3) right-handed rotations about a body axis by `deg` degrees."""
    a = np.deg2rad(np.asarray(deg, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    rows = {"x": [[o, z, z], [z, c, -s], [z, s, c]],
            "y": [[c, z, s], [z, o, z], [-s, z, c]],
            "z": [[c, -s, z], [s, c, z], [z, z, o]]}[axis]
    return np.stack([np.stack(r, -1) for r in rows], -2)


def _flex(deg: np.ndarray) -> np.ndarray:
    """Sagittal flexion: a positive angle swings a downward limb forward (+x), i.e. about -y."""
    return _rot("y", -np.asarray(deg))


def _apply(rotation: np.ndarray, offset) -> np.ndarray:
    return np.einsum("tij,j->ti", rotation, np.asarray(offset, dtype=np.float64))


JOINTS = ("base", "neck", "head_top", "shoulder_r", "shoulder_l", "elbow_r", "elbow_l", "hand_r", "hand_l",
          "hip_r", "hip_l", "knee_r", "knee_l", "ankle_r", "ankle_l", "toe_r", "toe_l")


def joint_positions(t: np.ndarray, gait: Gait, phase0: float = 0.0, progress: bool = True) -> dict[str, np.ndarray]:
    """Joint positions (T, 3) in metres at times `t` (s) in the walker's frame.

    With `progress` the body moves forward at `gait.speed` (a walk over ground); without it the body
    stays in place (a treadmill).
    """
    t = np.asarray(t, dtype=np.float64)
    phase = phase0 + t / gait.period
    L = gait.length
    pel = pelvis_motion(phase, gait)
    r_pelvis = _rot("z", pel["torsion"]) @ _rot("x", -pel["tilt"])
    r_thorax = _rot("z", pel["thorax"]) @ _flex(pel["lean"])  # lean <= 0: a forward lean of up to 2 * a1 degrees
    base = np.stack([pel["forward"] + (gait.speed * t if progress else 0.0), pel["lateral"],
                     gait.leg_height + pel["vertical"]], -1)
    out = {BASE: base, NECK: base + _apply(r_thorax, [0, 0, L("torso")]),
           "head_top": base + _apply(r_thorax, [0, 0, L("torso") + L("head")])}
    for side, sign, offset, gain in (("r", -1.0, 0.0, 1.0), ("l", 1.0, 0.5 + gait.asymmetry / 4, 1.0 + gait.asymmetry)):
        ang = joint_angles(phase + offset, gait, side_gain=gain)
        hip = base + _apply(r_pelvis, [0, sign * L("hip_half"), 0])
        r_thigh = r_pelvis @ _flex(ang["hip"])
        r_shank = r_thigh @ _flex(-ang["knee"])  # the knee bends the shank backwards
        r_foot = r_shank @ _flex(ang["ankle"])  # positive ankle angle lifts the toe
        knee = hip + _apply(r_thigh, [0, 0, -L("thigh")])
        ankle = knee + _apply(r_shank, [0, 0, -L("shank")])
        shoulder = base + _apply(r_thorax, [0, sign * L("shoulder_half"), L("torso")])
        r_upper = r_thorax @ _flex(ang["shoulder"])
        r_fore = r_upper @ _flex(ang["elbow"])  # the elbow bends the forearm forwards
        elbow = shoulder + _apply(r_upper, [0, 0, -L("upper_arm")])
        out |= {f"hip_{side}": hip, f"knee_{side}": knee, f"ankle_{side}": ankle,
                f"toe_{side}": ankle + _apply(r_foot, [L("foot"), 0, 0]),
                f"shoulder_{side}": shoulder, f"elbow_{side}": elbow,
                f"hand_{side}": elbow + _apply(r_fore, [0, 0, -L("forearm")])}
    return out
