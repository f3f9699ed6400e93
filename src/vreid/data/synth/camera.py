"""Per-camera nuisance: background, illumination, colour cast, blur, occlusion,
misaligned / truncated crops, low resolution and sensor noise.

A camera gets a fixed :class:`CameraStyle`; each tracklet draws a :class:`Nuisance`
from it (per-tracklet randomness), and :func:`render_frame` renders one frame of a
tracklet with it.  Geometry (placement, occluders) changes the label map too;
photometric effects (:func:`apply_camera`) only change the RGB image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .appearance import CLOTHING_COLORS, ITEM_COLORS, Identity, sample_identity
from .config import Difficulty
from .render import VIEWS, Placement, draw_person

__all__ = [
    "CameraStyle",
    "Nuisance",
    "Occluder",
    "sample_camera_style",
    "sample_nuisance",
    "make_background",
    "apply_camera",
    "render_frame",
]

Color = tuple[int, int, int]

WALL_COLORS: tuple[Color, ...] = (
    (150, 150, 145), (185, 175, 160), (120, 95, 80), (95, 110, 90), (170, 160, 120),
    (110, 115, 125), (200, 195, 185), (135, 90, 70), (80, 85, 80), (160, 140, 110),
)
FLOOR_COLORS: tuple[Color, ...] = (
    (90, 90, 92), (120, 115, 105), (70, 100, 60), (140, 130, 120), (60, 60, 65), (150, 140, 125),
)


@dataclass(frozen=True)
class CameraStyle:
    """Fixed look of one camera."""

    cam: int  # 1-based camera id
    wall: Color
    floor: Color
    horizon: float  # fraction of the height where the floor starts
    gain: float  # brightness gain
    cast: tuple[float, float, float]  # per-channel gains
    blur: float  # multiplies the blur sigma of this camera's blurred tracklets
    low_res: float  # multiplies low_res_prob for this camera (0.5 .. 1.5)
    view_probs: tuple[float, float, float, float]  # front, back, left, right


def sample_camera_style(cam: int, difficulty: Difficulty, rng: np.random.Generator) -> CameraStyle:
    wall = WALL_COLORS[int(rng.integers(len(WALL_COLORS)))]
    floor = FLOOR_COLORS[int(rng.integers(len(FLOOR_COLORS)))]
    wall = tuple(int(v) for v in np.clip(np.asarray(wall) + rng.normal(0, 12, 3), 0, 255))
    ill = difficulty.illumination
    gain = float(math.exp(rng.uniform(-ill, ill)))
    cc = difficulty.color_cast
    cast = tuple(float(1.0 + rng.uniform(-cc, cc)) for _ in range(3))
    vp = rng.dirichlet(np.ones(4)) * 0.8 + 0.05
    vp = vp / vp.sum()
    return CameraStyle(
        cam=int(cam),
        wall=wall,  # type: ignore[arg-type]
        floor=floor,
        horizon=float(rng.uniform(0.55, 0.8)),
        gain=gain,
        cast=cast,  # type: ignore[arg-type]
        blur=float(rng.uniform(0.6, 1.4)),
        low_res=float(rng.uniform(0.5, 1.5)),
        view_probs=tuple(float(v) for v in vp),  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class Occluder:
    """An object (label 0) or another person (its own labels) in front of the target."""

    kind: str  # "object" | "person"
    # object: box in fractions of the frame and its colour
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    color: Color = (0, 0, 0)
    # person
    identity: Optional[Identity] = None
    view: str = "front"
    placement: Placement = Placement()
    phase0: float = 0.0
    speed: float = 0.0
    drift: float = 0.0  # horizontal motion per frame (fraction of width)


@dataclass(frozen=True, eq=False)
class Nuisance:
    """Everything that is fixed along one tracklet."""

    height: int
    width: int
    background: np.ndarray = field(repr=False)  # H x (W + 2 pad) x 3 uint8
    pan: float  # background drift, pixels per frame
    gain: float
    cast: tuple[float, float, float]
    blur_sigma: float  # 0 = sharp
    low_res: float  # downscale factor, 1 = none
    noise: float
    light: np.ndarray = field(repr=False)  # H x W x 3 float32: gain * cast * side-light ramp
    placement: Placement
    frame_jitter: float
    occluder: Optional[Occluder] = None


def make_background(style: CameraStyle, height: int, width: int, clutter: float, rng: np.random.Generator) -> np.ndarray:
    """Camera base colours (wall above the horizon, floor below) plus random clutter shapes."""
    img = Image.new("RGB", (width, height), style.wall)
    d = ImageDraw.Draw(img)
    hy = int(style.horizon * height)
    d.rectangle([0, hy, width, height], fill=style.floor)
    n = int(rng.poisson(12.0 * clutter)) if clutter > 0 else 0
    pal = WALL_COLORS + FLOOR_COLORS + CLOTHING_COLORS
    for _ in range(n):
        c = pal[int(rng.integers(len(pal)))]
        kind = int(rng.integers(4))
        x0 = float(rng.uniform(-0.1, 1.0)) * width
        y0 = float(rng.uniform(-0.1, 0.9)) * height
        if kind == 0:  # window / sign / door
            d.rectangle([x0, y0, x0 + rng.uniform(0.05, 0.4) * width, y0 + rng.uniform(0.05, 0.35) * height], fill=c)
        elif kind == 1:  # pole
            d.rectangle([x0, 0 if rng.random() < 0.5 else y0, x0 + rng.uniform(0.02, 0.06) * width, height], fill=c)
        elif kind == 2:  # bush / blob
            rx, ry = rng.uniform(0.05, 0.25) * width, rng.uniform(0.03, 0.12) * height
            d.ellipse([x0 - rx, y0 - ry, x0 + rx, y0 + ry], fill=c)
        else:  # edge / line
            d.line([x0, y0, x0 + rng.uniform(-0.5, 0.5) * width, y0 + rng.uniform(-0.2, 0.2) * height], fill=c,
                   width=int(rng.integers(1, 4)))
    arr = np.asarray(img, np.float32)
    # vertical light gradient
    arr *= np.linspace(1.05, 0.9, height, dtype=np.float32)[:, None, None]
    return np.clip(arr, 0, 255).astype(np.uint8)


def sample_nuisance(
    style: CameraStyle,
    difficulty: Difficulty,
    height: int,
    width: int,
    rng: np.random.Generator,
    *,
    person_occluders: bool = True,
) -> Nuisance:
    """Per-tracklet nuisance drawn around the camera's fixed style.

    The stream of random draws does not depend on the knob values, so changing one
    knob leaves the other effects of a tracklet unchanged.
    """
    dfc = difficulty
    pad = width // 4
    bg_rng = np.random.default_rng(rng.integers(2**63))
    occ_rng = np.random.default_rng(rng.integers(2**63))
    bg = make_background(style, height, width + 2 * pad, dfc.clutter, bg_rng)
    u = rng.random(8)
    ill = dfc.illumination
    gain = style.gain * math.exp(rng.uniform(-ill, ill) * 0.5)
    cc = dfc.color_cast / 3.0
    cast_t = rng.uniform(-1, 1, 3)
    cast = tuple(float(c * (1.0 + cc * e)) for c, e in zip(style.cast, cast_t))
    sig = float(rng.uniform(0.6, 1.8)) * style.blur
    blur_sigma = sig if u[0] < dfc.blur_prob else 0.0
    lr = float(rng.uniform(2.0, 4.0))
    low_res = lr if u[1] < dfc.low_res_prob * style.low_res else 1.0
    m = dfc.misalign
    e = rng.uniform(-1, 1, 3)
    dx, dy, sc = m * e[0], 0.5 * m * e[1], math.exp(0.5 * m * e[2])
    tr = float(rng.uniform(1.3, 1.8))
    if u[2] < dfc.truncation_prob:
        sc *= tr
        dy = min(dy, 0.0)
    pan = float(rng.uniform(-1.0, 1.0))
    ramp = 0.5 * ill * float(rng.uniform(-1, 1))  # light coming from one side
    light = (np.linspace(1.0 + ramp, 1.0 - ramp, width, dtype=np.float32)[None, :, None]
             * (np.asarray(cast, np.float32) * np.float32(gain))[None, None, :])
    light = np.ascontiguousarray(np.broadcast_to(light, (height, width, 3)), dtype=np.float32)
    # occluder (all draws are made whatever the knob, see docstring)
    occluder = None
    if u[3] < dfc.occlusion_prob:
        if person_occluders and u[4] < 0.5:
            side = 1.0 if u[5] < 0.5 else -1.0
            occluder = Occluder(
                kind="person",
                identity=sample_identity(occ_rng, dfc),
                view=VIEWS[int(occ_rng.integers(4))],
                placement=Placement(side * float(occ_rng.uniform(0.45, 0.7)), float(occ_rng.uniform(-0.05, 0.05)),
                                    float(occ_rng.uniform(0.95, 1.2))),
                phase0=float(occ_rng.uniform(0, 2 * math.pi)),
                speed=float(occ_rng.uniform(0.4, 0.7)),
                drift=float(occ_rng.uniform(-0.01, 0.01)),
            )
        else:
            kind = int(occ_rng.integers(3))
            if kind == 0:  # low box: bench, car, railing
                h = float(occ_rng.uniform(0.2, 0.45))
                box = (float(occ_rng.uniform(-0.3, 0.3)), 1.0 - h, float(occ_rng.uniform(0.7, 1.3)), 1.0)
            elif kind == 1:  # pole / tree
                x = float(occ_rng.uniform(0.1, 0.75))
                box = (x, 0.0, x + float(occ_rng.uniform(0.12, 0.3)), 1.0)
            else:  # sign / board at the side
                side = float(occ_rng.uniform(0, 1)) < 0.5
                w = float(occ_rng.uniform(0.3, 0.5))
                y = float(occ_rng.uniform(0.2, 0.6))
                box = ((0.0, y, w, y + 0.3) if side else (1.0 - w, y, 1.0, y + 0.3))
            pal = ITEM_COLORS + WALL_COLORS
            occluder = Occluder(kind="object", box=box, color=pal[int(occ_rng.integers(len(pal)))],
                                drift=float(occ_rng.uniform(-0.01, 0.01)))
    return Nuisance(
        height=height,
        width=width,
        background=bg,
        pan=pan,
        gain=float(gain),
        cast=cast,  # type: ignore[arg-type]
        blur_sigma=blur_sigma,
        low_res=low_res,
        noise=float(dfc.noise),
        light=light,
        placement=Placement(dx, dy, sc),
        frame_jitter=float(dfc.frame_jitter),
        occluder=occluder,
    )


def apply_camera(image, nuisance: Nuisance, rng: Optional[np.random.Generator] = None) -> Image.Image:
    """Photometric nuisance on the RGB image only (PIL image or HxWx3 uint8 array):
    brightness gain, colour cast and side-light ramp, sensor noise (with ``rng``),
    low resolution and blur.  The label map is unaffected."""
    arr = np.asarray(image)
    h, w = arr.shape[:2]
    f = arr.astype(np.float32)
    f *= nuisance.light
    if nuisance.noise > 0 and rng is not None:
        f += rng.standard_normal((h, w, 3), dtype=np.float32) * np.float32(nuisance.noise)
    np.clip(f, 0, 255, out=f)
    img = Image.fromarray(f.astype(np.uint8), "RGB")
    if nuisance.low_res > 1.0:
        small = (max(4, int(round(w / nuisance.low_res))), max(8, int(round(h / nuisance.low_res))))
        img = img.resize(small, Image.BILINEAR).resize((w, h), Image.BILINEAR)
    if nuisance.blur_sigma > 0:
        img = img.filter(ImageFilter.GaussianBlur(nuisance.blur_sigma))
    return img


def render_frame(
    identity: Optional[Identity],
    view: str,
    phase: float,
    nuisance: Nuisance,
    t: int,
    rng: np.random.Generator,
) -> tuple[Image.Image, np.ndarray]:
    """Frame ``t`` of a tracklet: background, person (None: background only), occluder,
    then the photometric nuisance.  Returns (RGB image, uint8 label map); the label
    map describes the geometry before the photometric nuisance."""
    h, w = nuisance.height, nuisance.width
    pad = (nuisance.background.shape[1] - w) // 2
    off = int(np.clip(round(pad + nuisance.pan * t), 0, 2 * pad))
    out = nuisance.background[:, off:off + w].copy()
    label = np.zeros((h, w), np.uint8)
    fj = nuisance.frame_jitter
    jit = rng.normal(0.0, 1.0, 3)
    if identity is not None:
        pl = nuisance.placement
        pl = Placement(pl.dx + 2.0 * fj * jit[0], pl.dy + fj * jit[1], pl.scale * math.exp(fj * jit[2]))
        rgb, lab, mask = draw_person(identity, view, phase, h, w, pl)
        np.copyto(out, rgb, where=mask[..., None])
        label = lab
    occ = nuisance.occluder
    if occ is not None:
        shift = occ.drift * t
        if occ.kind == "person" and occ.identity is not None:
            p = occ.placement
            rgb, lab, mask = draw_person(occ.identity, occ.view, occ.phase0 + occ.speed * t, h, w,
                                         Placement(p.dx + shift, p.dy, p.scale))
            np.copyto(out, rgb, where=mask[..., None])
            np.copyto(label, lab, where=mask)
        else:
            x0, y0, x1, y1 = occ.box
            xa, xb = int(round((x0 + shift) * w)), int(round((x1 + shift) * w))
            ya, yb = int(round(y0 * h)), int(round(y1 * h))
            xa, xb, ya, yb = max(0, xa), min(w, xb), max(0, ya), min(h, yb)
            if xb > xa and yb > ya:
                out[ya:yb, xa:xb] = occ.color
                label[ya:yb, xa:xb] = 0
    img = apply_camera(out, nuisance, rng)
    return img, label
