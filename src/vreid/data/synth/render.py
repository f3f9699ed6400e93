"""Drawing one person together with its LIP-order parsing label map.

Every shape is drawn once into a "part index" image (Pillow, mode "L"); each part
index maps to one RGB colour and one LIP class, so the RGB image and the label map
agree pixel for pixel by construction.  Bags and phones are drawn in colour with
label 0 (LIP has no class for them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw

from .appearance import Identity
from .config import RenderConfig

__all__ = [
    "LIP_CLASSES",
    "VIEWS",
    "Placement",
    "draw_person",
    "render_person",
]

LIP_CLASSES: tuple[str, ...] = (
    "Background", "Hat", "Hair", "Glove", "Sunglasses", "UpperClothes", "Dress", "Coat",
    "Socks", "Pants", "Jumpsuits", "Scarf", "Skirt", "Face", "Left-arm", "Right-arm",
    "Left-leg", "Right-leg", "Left-shoe", "Right-shoe",
)
BG, HAT, HAIR, GLOVE, SUNGLASSES, UPPER, DRESS, COAT, SOCKS, PANTS, JUMPSUIT, SCARF, SKIRT, FACE = range(14)
ARM = {"left": 14, "right": 15}
LEG = {"left": 16, "right": 17}
SHOE = {"left": 18, "right": 19}

#: front / back, and side views walking towards the image left or right ("side" = "right").
VIEWS: tuple[str, ...] = ("front", "back", "left", "right")

Pt = tuple[float, float]


@dataclass(frozen=True)
class Placement:
    """Where the person lies in the frame.

    dx, dy: offsets of the body centre / head top, fractions of width / height.
    scale: body size factor (> 1 with the head kept in frame cuts the legs off).
    """

    dx: float = 0.0
    dy: float = 0.0
    scale: float = 1.0


def _shade(c: Sequence[int], f: float) -> tuple[int, int, int]:
    return tuple(int(min(255, max(0, round(v * f)))) for v in c)  # type: ignore[return-value]


class _Painter:
    """Draws parts into an index image; part k -> (colour, class)."""

    def __init__(self, h: int, w: int, cx: float, top: float, s: float, ws: float):
        self.img = Image.new("L", (w, h), 0)
        self.draw = ImageDraw.Draw(self.img)
        self.colors: list[tuple[int, int, int]] = [(0, 0, 0)]
        self.classes: list[int] = [0]
        self.textured: list[int] = []
        self._keys: dict = {}
        self.cx, self.top, self.s, self.ws = cx, top, s, ws

    def part(self, color: Sequence[int], cls: int, textured: bool = False) -> int:
        key = (tuple(int(v) for v in color), cls, textured)
        k = self._keys.get(key)
        if k is None:
            k = len(self.colors)
            if k > 255:
                raise RuntimeError("too many parts")
            self.colors.append(key[0])
            self.classes.append(cls)
            if textured:
                self.textured.append(k)
            self._keys[key] = k
        return k

    def xy(self, p: Pt) -> tuple[float, float]:
        return (self.cx + p[0] * self.s, self.top + p[1] * self.s)

    def px(self, t: float) -> int:
        return max(1, int(round(t * self.s)))

    def poly(self, pts: Sequence[Pt], k: int) -> None:
        self.draw.polygon([self.xy(p) for p in pts], fill=k)

    def ellipse(self, c: Pt, rx: float, ry: float, k: int) -> None:
        x, y = self.xy(c)
        rx, ry = max(0.5, rx * self.s), max(0.5, ry * self.s)
        self.draw.ellipse([x - rx, y - ry, x + rx, y + ry], fill=k)

    def chord(self, c: Pt, rx: float, ry: float, a0: float, a1: float, k: int) -> None:
        x, y = self.xy(c)
        rx, ry = max(0.5, rx * self.s), max(0.5, ry * self.s)
        self.draw.chord([x - rx, y - ry, x + rx, y + ry], a0, a1, fill=k)

    def rect(self, u0: float, v0: float, u1: float, v1: float, k: int) -> None:
        x0, y0 = self.xy((min(u0, u1), min(v0, v1)))
        x1, y1 = self.xy((max(u0, u1), max(v0, v1)))
        self.draw.rectangle([x0, y0, x1, y1], fill=k)

    def limb(self, pts: Sequence[Pt], thick: float, k: int) -> None:
        """A thick polyline with round caps (limbs, straps)."""
        w = self.px(thick)
        xy = [self.xy(p) for p in pts]
        self.draw.line(xy, fill=k, width=w, joint="curve")
        r = w / 2.0
        if w >= 3:
            for x, y in (xy[0], xy[-1]):
                self.draw.ellipse([x - r + 0.5, y - r + 0.5, x + r - 0.5, y + r - 0.5], fill=k)


def _along(pts: Sequence[Pt], frac: float) -> list[Pt]:
    """The polyline from its start to ``frac`` of its length."""
    if frac >= 1.0:
        return list(pts)
    seg = [math.dist(a, b) for a, b in zip(pts[:-1], pts[1:])]
    target = max(0.0, frac) * sum(seg)
    out = [pts[0]]
    for (a, b), L in zip(zip(pts[:-1], pts[1:]), seg):
        if target <= L:
            t = target / L if L > 0 else 0.0
            out.append((a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t))
            return out
        target -= L
        out.append(b)
    return out


def _leg_arm_frontal(side_u: float, phase_s: float, ws: float, arm_sign: float):
    """Leg and arm polylines of one body side in a front / back view."""
    lift = 0.035 * max(0.0, phase_s)
    hip = (side_u * 0.045 * ws, 0.49)
    knee = (side_u * 0.052 * ws, 0.72 - lift * 0.6)
    ankle = (side_u * 0.052 * ws, 0.95 - lift)
    fwd = max(0.0, arm_sign)  # arm swinging towards the camera rises a bit
    sh = (side_u * 0.095 * ws, 0.18)
    elbow = (side_u * 0.118 * ws, 0.335 - 0.015 * fwd)
    wrist = (side_u * (0.118 * ws - 0.012 * fwd), 0.48 - 0.04 * fwd)
    return [hip, knee, ankle], [sh, elbow, wrist]


def _leg_arm_side(d: float, phase: float, ws: float):
    a = 0.42 * math.sin(phase)
    bend = 0.7 * max(0.0, math.cos(phase))
    hip = (0.0, 0.49)
    knee = (hip[0] + d * 0.235 * math.sin(a), hip[1] + 0.235 * math.cos(a))
    b = a - bend
    ankle = (knee[0] + d * 0.235 * math.sin(b), knee[1] + 0.235 * math.cos(b))
    aa = -0.38 * math.sin(phase)
    sh = (0.0, 0.18)
    elbow = (sh[0] + d * 0.155 * math.sin(aa), sh[1] + 0.155 * math.cos(aa))
    fa = aa + 0.25 + 0.2 * max(0.0, -math.sin(phase))
    wrist = (elbow[0] + d * 0.145 * math.sin(fa), elbow[1] + 0.145 * math.cos(fa))
    return [hip, knee, ankle], [sh, elbow, wrist]


def draw_person(
    identity: Identity,
    view: str,
    phase: float,
    height: int,
    width: int,
    placement: Placement = Placement(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw one person on an empty canvas.

    Returns ``(rgb, label, mask)``: HxWx3 uint8 colours (0 where nothing is drawn),
    HxW uint8 LIP labels and the HxW bool mask of drawn pixels (bags included).
    """
    if view == "side":
        view = "right"
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {VIEWS}")
    idt = identity
    ws = idt.width_scale
    s = 0.9 * height * idt.height_scale * placement.scale
    top = 0.5 * (height - 0.9 * height * idt.height_scale) + placement.dy * height
    cx = width / 2.0 + placement.dx * width
    # a gentle vertical bob of the walking cycle
    top -= 0.008 * s * abs(math.cos(phase))
    P = _Painter(height, width, cx, top, s, ws)

    dress = idt.lower == "dress"
    top_cls = DRESS if dress else UPPER
    k_top = P.part(idt.upper_color, top_cls, textured=idt.texture in ("stripes", "checks"))
    k_skin_face = P.part(idt.skin, FACE)
    k_hair = P.part(idt.hair_color, HAIR)
    coat = idt.coat
    sleeve_frac = 0.93 if (idt.sleeve == "long" or coat is not None) else 0.33

    def draw_leg(side: str, pts: list[Pt], dark: float = 1.0) -> None:
        skin = P.part(_shade(idt.skin, dark), LEG[side])
        if idt.lower == "trousers":
            pant = P.part(_shade(idt.lower_color, dark), PANTS)
            if idt.lower_length < 1.0:
                P.limb(pts, 0.058 * ws, skin)
                P.limb(_along(pts, idt.lower_length), 0.07 * ws, pant)
            else:
                P.limb(pts, 0.068 * ws, pant)
        else:
            P.limb(pts, 0.056 * ws, skin)
        ank = pts[-1]
        shoe = P.part(_shade(idt.shoe_color, dark), SHOE[side])
        if view in ("front", "back"):
            P.ellipse((ank[0], ank[1] + 0.025), 0.033 * ws, 0.022, shoe)
        else:
            d = 1.0 if view == "right" else -1.0
            P.ellipse((ank[0] + d * 0.022, ank[1] + 0.028), 0.045, 0.02, shoe)

    def draw_arm(side: str, pts: list[Pt], dark: float = 1.0) -> None:
        skin = P.part(_shade(idt.skin, dark), ARM[side])
        P.limb(pts, 0.04 * ws, skin)
        if coat is not None:
            slv = P.part(_shade(coat, dark), COAT)
        else:
            slv = P.part(_shade(idt.upper_color, dark), top_cls, textured=idt.texture in ("stripes", "checks"))
        P.limb(_along(pts, sleeve_frac), 0.05 * ws, slv)
        w = pts[-1]
        P.ellipse((w[0], w[1] + 0.018), 0.02, 0.024, skin)

    def draw_skirt(u_hip: float, u_off: float = 0.0) -> None:
        if idt.lower == "trousers":
            return
        hem = 0.49 + idt.lower_length * 0.46
        flare = 0.03 + 0.06 * idt.lower_length
        k = P.part(idt.upper_color, DRESS, textured=idt.texture in ("stripes", "checks")) if dress \
            else P.part(idt.lower_color, SKIRT)
        P.poly([(u_off - u_hip, 0.44), (u_off + u_hip, 0.44), (u_off + u_hip + flare, hem), (u_off - u_hip - flare, hem)], k)

    def draw_pelvis(u_hip: float, u_off: float = 0.0) -> None:
        if idt.lower == "trousers":
            k = P.part(idt.lower_color, PANTS)
            P.poly([(u_off - u_hip, 0.44), (u_off + u_hip, 0.44), (u_off + u_hip, 0.55), (u_off - u_hip, 0.55)], k)

    def draw_handbag(u: float) -> None:
        if idt.handbag is None:
            return
        k = P.part(idt.handbag, BG)
        P.limb([(u * 0.6, 0.18), (u, 0.45)], 0.012, k)
        P.rect(u - 0.035, 0.45, u + 0.035, 0.56, k)

    if view in ("front", "back"):
        front = view == "front"
        lsign = 1.0 if front else -1.0  # image-u sign of the person's left side
        sw, hw = 0.108 * ws, 0.085 * ws
        s_ = math.sin(phase)
        legs, arms = {}, {}
        for side, ph in (("left", s_), ("right", -s_)):
            u = lsign if side == "left" else -lsign
            legs[side], arms[side] = _leg_arm_frontal(u, ph, ws, -ph)
        for side in ("left", "right"):
            draw_leg(side, legs[side])
        draw_pelvis(hw * 0.95)
        if not front and idt.hair_length == "long":
            P.rect(-0.05, 0.07, 0.05, 0.27, k_hair)
        # torso
        torso = [(-sw * 0.75, 0.15), (sw * 0.75, 0.15), (sw, 0.175), (hw, 0.51), (-hw, 0.51), (-sw, 0.175)]
        P.poly(torso, k_top)
        if front and idt.texture == "print":
            P.ellipse((0.0, 0.28), 0.035 * ws, 0.035, P.part(idt.upper_color2, top_cls))
        draw_skirt(hw * 0.98)
        if coat is not None:
            kc = P.part(coat, COAT)
            P.poly([(-sw * 0.8, 0.148), (sw * 0.8, 0.148), (sw * 1.06, 0.175), (hw * 1.2, 0.64), (-hw * 1.2, 0.64), (-sw * 1.06, 0.175)], kc)
            if front:
                P.poly([(-0.018, 0.17), (0.018, 0.17), (0.022, 0.5), (-0.022, 0.5)], k_top)
        if idt.backpack is not None:
            kb = P.part(idt.backpack, BG)
            if front:
                for u in (-1, 1):
                    P.limb([(u * 0.07 * ws, 0.165), (u * 0.075 * ws, 0.4)], 0.018, kb)
            else:
                P.rect(-0.075 * ws, 0.19, 0.075 * ws, 0.44, kb)
                P.rect(-0.055 * ws, 0.36, 0.055 * ws, 0.42, P.part(_shade(idt.backpack, 0.7), BG))
        for side in ("left", "right"):
            draw_arm(side, arms[side])
        if idt.scarf is not None:
            ks = P.part(idt.scarf, SCARF)
            P.poly([(-0.055, 0.135), (0.055, 0.135), (0.06, 0.185), (-0.06, 0.185)], ks)
            if front:
                P.rect(0.012, 0.17, 0.045, 0.33, ks)
        # head
        hc = (0.0, 0.072)
        if front:
            P.rect(-0.022, 0.11, 0.022, 0.16, k_skin_face)  # neck
            if idt.hair_length != "short":
                low = 0.13 if idt.hair_length == "medium" else 0.23
                P.poly([(-0.058, 0.06), (0.058, 0.06), (0.062, low), (-0.062, low)], k_hair)
            P.ellipse(hc, 0.047, 0.063, k_skin_face)
            P.chord((0.0, 0.058), 0.053, 0.062, 180, 360, k_hair)
            if idt.sunglasses:
                P.rect(-0.04, 0.058, 0.04, 0.078, P.part((15, 15, 18), SUNGLASSES))
        else:
            P.ellipse((0.0, 0.085), 0.05, 0.075, k_hair)
            if idt.hair_length != "short":
                low = 0.16 if idt.hair_length == "medium" else 0.29
                P.poly([(-0.055, 0.07), (0.055, 0.07), (0.058, low), (-0.058, low)], k_hair)
        if idt.hat is not None:
            kh = P.part(idt.hat, HAT)
            P.chord((0.0, 0.045), 0.056, 0.05, 180, 360, kh)
            P.rect(-0.058, 0.03, 0.058, 0.048, kh)
        if idt.phone and front:
            w = arms["right"][-1]
            P.rect(w[0] - 0.015, w[1] - 0.005, w[0] + 0.015, w[1] + 0.03, P.part((30, 30, 35), BG))
        draw_handbag((lsign if idt.handbag_side > 0 else -lsign) * (sw + 0.05))
    else:
        d = 1.0 if view == "right" else -1.0
        near = "left" if d > 0 else "right"  # walking right -> the camera sees the left side
        far = "right" if near == "left" else "left"
        far_leg, far_arm = _leg_arm_side(d, phase + math.pi, ws)
        near_leg, near_arm = _leg_arm_side(d, phase, ws)
        bag_near = (idt.handbag_side > 0) == (near == "left")
        if idt.handbag is not None and not bag_near:
            draw_handbag(-d * 0.02)
        draw_arm(far, far_arm, 0.8)
        draw_leg(far, far_leg, 0.8)
        draw_leg(near, near_leg)
        if idt.backpack is not None:
            kb = P.part(idt.backpack, BG)
            P.rect(-d * 0.04 * ws, 0.19, -d * 0.125 * ws, 0.44, kb)
        if idt.hair_length == "long":
            P.rect(-d * 0.055, 0.07, -d * 0.015, 0.27, k_hair)
        draw_pelvis(0.058 * ws)
        torso = [(-d * 0.05 * ws, 0.15), (d * 0.045 * ws, 0.15), (d * 0.062 * ws, 0.2), (d * 0.058 * ws, 0.51), (-d * 0.06 * ws, 0.51), (-d * 0.058 * ws, 0.19)]
        P.poly(torso, k_top)
        if idt.texture == "print":
            P.ellipse((d * 0.04 * ws, 0.28), 0.018 * ws, 0.03, P.part(idt.upper_color2, top_cls))
        draw_skirt(0.06 * ws)
        if coat is not None:
            P.poly([(-d * 0.058 * ws, 0.148), (d * 0.05 * ws, 0.148), (d * 0.07 * ws, 0.2), (d * 0.075 * ws, 0.64), (-d * 0.075 * ws, 0.64), (-d * 0.066 * ws, 0.19)], P.part(coat, COAT))
        if idt.scarf is not None:
            P.poly([(-0.045, 0.135), (0.045, 0.135), (0.05, 0.185), (-0.05, 0.185)], P.part(idt.scarf, SCARF))
        P.rect(-0.02, 0.11, 0.02, 0.16, k_skin_face)  # neck
        P.ellipse((d * 0.004, 0.075), 0.05, 0.066, k_hair)
        P.ellipse((d * 0.024, 0.088), 0.027, 0.045, k_skin_face)
        if idt.hair_length != "short":
            P.rect(-d * 0.05, 0.05, -d * 0.01, 0.14 if idt.hair_length == "medium" else 0.2, k_hair)
        if idt.sunglasses:
            P.rect(d * 0.022, 0.06, d * 0.052, 0.078, P.part((15, 15, 18), SUNGLASSES))
        if idt.hat is not None:
            kh = P.part(idt.hat, HAT)
            P.chord((0.0, 0.045), 0.054, 0.05, 180, 360, kh)
            P.rect(0.0, 0.032, d * 0.075, 0.048, kh)
        draw_arm(near, near_arm)
        if idt.phone:
            w = near_arm[-1]
            P.rect(w[0] - 0.012, w[1] - 0.005, w[0] + 0.012, w[1] + 0.03, P.part((30, 30, 35), BG))
        if idt.handbag is not None and bag_near:
            draw_handbag(d * 0.01)

    idx = np.asarray(P.img)
    colors = np.asarray(P.colors, dtype=np.uint8)
    classes = np.asarray(P.classes, dtype=np.uint8)
    rgb = colors[idx]
    label = classes[idx]
    mask = idx != 0
    if P.textured and idt.texture in ("stripes", "checks"):
        tmask = np.isin(idx, P.textured)
        if tmask.any():
            p = max(2, int(round(idt.texture_period * s / 115.0)))
            yy = (np.arange(height)[:, None] - int(top)) // p
            if idt.texture == "stripes":
                pat = (yy % 2 == 1) & np.ones((1, width), bool)
            else:
                xx = (np.arange(width)[None, :] - int(cx)) // p
                pat = (yy + xx) % 2 == 1
            rgb[tmask & pat] = np.asarray(idt.upper_color2, np.uint8)
    return rgb, label, mask


def render_person(
    identity: Identity,
    view: str,
    phase: float,
    render: RenderConfig = RenderConfig(),
    rng: Optional[np.random.Generator] = None,
    *,
    background: Optional[np.ndarray] = None,
    placement: Optional[Placement] = None,
) -> tuple[Image.Image, np.ndarray]:
    """Render ``identity`` walking (cycle phase ``phase`` in radians) seen from ``view``.

    Returns the RGB image and the uint8 HxW LIP label map of the same size.  The
    background is ``background`` (HxWx3 uint8) or a plain grey; ``rng``, when given,
    adds a small random scale / position jitter.  No camera nuisance is applied.
    """
    h, w = render.height, render.width
    pl = placement or Placement()
    if rng is not None:
        pl = Placement(pl.dx + rng.normal(0, 0.02), pl.dy + rng.normal(0, 0.01), pl.scale * math.exp(rng.normal(0, 0.02)))
    rgb, label, mask = draw_person(identity, view, phase, h, w, pl)
    if background is None:
        bg = np.full((h, w, 3), 128, np.uint8)
    else:
        bg = np.asarray(background, np.uint8)
        if bg.shape != (h, w, 3):
            raise ValueError(f"background must be {(h, w, 3)}, got {bg.shape}")
    out = bg.copy()
    np.copyto(out, rgb, where=mask[..., None])
    return Image.fromarray(out, "RGB"), label
