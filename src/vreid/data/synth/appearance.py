"""Identity sampling: the persistent appearance of a synthetic person."""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from .config import Difficulty

__all__ = [
    "Identity",
    "CLOTHING_COLORS",
    "SKIN_TONES",
    "HAIR_COLORS",
    "clothing_palette",
    "sample_identity",
    "jitter_identity",
    "ACCESSORIES",
    "identity_attributes",
]

Color = tuple[int, int, int]

# Ordered so that the first entries are already well spread (a small palette_size
# still contains distinct colours).
CLOTHING_COLORS: tuple[Color, ...] = (
    (25, 25, 28),  # black
    (235, 235, 230),  # white
    (190, 30, 35),  # red
    (35, 60, 150),  # blue
    (120, 120, 125),  # grey
    (40, 120, 55),  # green
    (230, 200, 60),  # yellow
    (30, 35, 70),  # navy
    (200, 110, 40),  # orange
    (120, 70, 40),  # brown
    (200, 170, 130),  # beige
    (110, 45, 130),  # purple
    (230, 140, 170),  # pink
    (70, 170, 190),  # cyan
    (90, 100, 50),  # olive
    (130, 25, 45),  # maroon
    (170, 200, 230),  # light blue
    (60, 60, 65),  # charcoal
    (150, 200, 120),  # light green
    (40, 110, 110),  # teal
    (230, 110, 90),  # salmon
    (160, 160, 90),  # khaki
    (80, 50, 90),  # plum
    (190, 190, 195),  # silver
)

SKIN_TONES: tuple[Color, ...] = (
    (245, 215, 190),
    (230, 190, 155),
    (205, 160, 120),
    (170, 120, 85),
    (125, 85, 60),
    (85, 60, 45),
)

HAIR_COLORS: tuple[Color, ...] = (
    (20, 18, 18),
    (60, 40, 28),
    (110, 75, 45),
    (205, 175, 110),
    (150, 150, 150),
    (140, 60, 30),
)

SHOE_COLORS: tuple[Color, ...] = ((20, 20, 20), (240, 240, 240), (100, 60, 35), (110, 110, 115), (35, 45, 90))
ITEM_COLORS: tuple[Color, ...] = ((20, 20, 22), (70, 70, 75), (120, 70, 40), (35, 60, 150), (190, 30, 35), (40, 120, 55))

TEXTURES = ("plain", "stripes", "checks", "print")
LOWER = ("trousers", "skirt", "dress")
HAIR_LENGTHS = ("short", "medium", "long")


def clothing_palette(size: int) -> tuple[Color, ...]:
    """The first ``size`` clothing colours (beyond 24, more are made by golden-angle hues)."""
    size = max(1, int(size))
    if size <= len(CLOTHING_COLORS):
        return CLOTHING_COLORS[:size]
    extra = []
    for i in range(size - len(CLOTHING_COLORS)):
        h = (i * 0.618033988749895 + 0.11) % 1.0
        s = 0.45 + 0.4 * ((i * 0.37) % 1.0)
        v = 0.35 + 0.55 * ((i * 0.53) % 1.0)
        r, g, b = colorsys.hsv_to_rgb(h, s, v)
        extra.append((int(r * 255), int(g * 255), int(b * 255)))
    return CLOTHING_COLORS + tuple(extra)


@dataclass(frozen=True)
class Identity:
    """Persistent appearance of one person (all colours are RGB 0..255 tuples)."""

    skin: Color
    hair_color: Color
    hair_length: str  # short | medium | long
    upper_color: Color
    upper_color2: Color  # second colour of the texture
    texture: str  # plain | stripes | checks | print
    texture_period: int  # pixels (at 128 px height) of stripes / checks
    sleeve: str  # short | long
    lower: str  # trousers | skirt | dress
    lower_length: float  # trousers: 1.0 long / ~0.6 shorts; skirt / dress hem (fraction of leg)
    lower_color: Color
    shoe_color: Color
    hat: Optional[Color] = None
    sunglasses: bool = False
    scarf: Optional[Color] = None
    coat: Optional[Color] = None
    backpack: Optional[Color] = None
    handbag: Optional[Color] = None
    handbag_side: int = 1  # +1 person's left, -1 person's right
    phone: bool = False
    height_scale: float = 1.0
    width_scale: float = 1.0


# the accessories an identity may carry (Difficulty.accessory_rate), in draw order
ACCESSORIES = ("hat", "sunglasses", "scarf", "coat", "backpack", "handbag", "phone")


def identity_attributes(identity: Identity) -> dict[str, bool]:
    """Which accessories the identity carries (a colour or True: carried). Reads the drawn
    identity only: no random draw."""
    # colour fields are None when not carried; sunglasses / phone are booleans
    return {name: getattr(identity, name) not in (None, False) for name in ACCESSORIES}


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def sample_identity(rng: np.random.Generator, difficulty: Difficulty) -> Identity:
    """Draw one identity. Clothing colours come from ``clothing_palette(palette_size)``."""
    pal = clothing_palette(difficulty.palette_size)
    acc = float(difficulty.accessory_rate)

    def chance(p: float) -> bool:
        # always draw, so that the stream does not depend on accessory_rate branches
        return bool(rng.random() < min(1.0, p * acc))

    upper = _pick(rng, pal)
    others = [c for c in pal if c != upper] or [upper]
    upper2 = _pick(rng, others)
    texture = TEXTURES[int(rng.choice(4, p=[0.5, 0.2, 0.15, 0.15]))]
    lower = LOWER[int(rng.choice(3, p=[0.68, 0.18, 0.14]))]
    if lower == "trousers":
        lower_length = 1.0 if rng.random() < 0.8 else float(rng.uniform(0.45, 0.6))
    else:
        lower_length = float(rng.uniform(0.35, 0.7))
    lower_color = _pick(rng, pal)
    skin = _pick(rng, SKIN_TONES)
    hair_color = _pick(rng, HAIR_COLORS)
    hair_length = HAIR_LENGTHS[int(rng.choice(3, p=[0.45, 0.3, 0.25]))]
    sleeve = "long" if rng.random() < 0.55 else "short"
    shoe = _pick(rng, SHOE_COLORS)
    hat_c, scarf_c, coat_c, bp_c, hb_c = (_pick(rng, pal) for _ in range(5))
    has = [chance(p) for p in (0.18, 0.12, 0.12, 0.2, 0.3, 0.2, 0.15)]
    bag_c = _pick(rng, ITEM_COLORS)
    side = 1 if rng.random() < 0.5 else -1
    hs = float(rng.uniform(0.9, 1.04))
    ws = float(rng.uniform(0.85, 1.2))
    return Identity(
        skin=skin,
        hair_color=hair_color,
        hair_length=hair_length,
        upper_color=upper,
        upper_color2=upper2,
        texture=texture,
        texture_period=int(rng.integers(4, 9)),
        sleeve=sleeve,
        lower=lower,
        lower_length=lower_length,
        lower_color=lower_color,
        shoe_color=shoe,
        hat=hat_c if has[0] else None,
        sunglasses=has[1],
        scarf=scarf_c if has[2] else None,
        coat=coat_c if has[3] else None,
        backpack=(bag_c if rng.random() < 0.5 else bp_c) if has[4] else None,
        handbag=hb_c if has[5] else None,
        handbag_side=side,
        phone=has[6],
        height_scale=hs,
        width_scale=ws,
    )


_COLOR_FIELDS = ("upper_color", "upper_color2", "lower_color", "shoe_color", "hat", "scarf", "coat", "backpack", "handbag")


def jitter_identity(identity: Identity, rng: np.random.Generator, amount: float) -> Identity:
    """Per-tracklet small colour noise of the clothes (std ``amount`` * 255 per channel)."""
    if amount <= 0:
        return identity
    changes = {}
    for name in _COLOR_FIELDS:
        c = getattr(identity, name)
        if c is None:
            continue
        shift = rng.normal(0.0, amount * 255.0) + rng.normal(0.0, amount * 255.0 * 0.5, 3)
        changes[name] = tuple(int(v) for v in np.clip(np.asarray(c, float) + shift, 0, 255))
    return replace(identity, **changes)
