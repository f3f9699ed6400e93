"""LIP's 20 parsing classes and their grouping into EgoReID's three body regions.

EgoReID (paper 000, sec. 4.2 and sec. 5 "Training the Network") groups the parser's
LIP classes into three region masks: foreground, upper body and lower body.

====  ============  ==========  ==========  ==========
id    LIP class     foreground  upper body  lower body
====  ============  ==========  ==========  ==========
0     Background
1     Hat           x           x
2     Hair          x           x
3     Glove         x           x
4     Sunglasses    x           x
5     UpperClothes  x           x
6     Dress         x           x           x
7     Coat          x           x
8     Socks         x                       x
9     Pants         x                       x
10    Jumpsuits     x           x           x
11    Scarf         x           x
12    Skirt         x                       x
13    Face          x           x
14    Left-arm      x           x
15    Right-arm     x           x
16    Left-leg      x                       x
17    Right-leg     x                       x
18    Left-shoe     x                       x
19    Right-shoe    x                       x
====  ============  ==========  ==========  ==========

Choice for Dress and Jumpsuits: both garments cover the torso AND the legs, and a
class label cannot say which of their pixels lie where, so they count in BOTH the
upper- and the lower-body region (the regions may overlap; foreground overlaps both
anyway). Putting them in one region only would leave the other region nearly empty
for everyone wearing one.
"""

from __future__ import annotations

import torch

from .synth.render import LIP_CLASSES  # the one definition of LIP's class order

NUM_LIP_CLASSES = len(LIP_CLASSES)
IGNORE_LABEL = 255

#: Left/right class pairs, swapped when an image is mirrored.
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = ((14, 15), (16, 17), (18, 19))

REGION_NAMES: tuple[str, ...] = ("foreground", "upper_body", "lower_body")
REGION_CLASSES: dict[str, tuple[int, ...]] = {
    "foreground": tuple(range(1, NUM_LIP_CLASSES)),
    "upper_body": (1, 2, 3, 4, 5, 6, 7, 10, 11, 13, 14, 15),
    "lower_body": (6, 8, 9, 10, 12, 16, 17, 18, 19),
}


def region_matrix(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """[3, 20] 0/1 matrix: row r marks the LIP classes of region r."""
    matrix = torch.zeros(len(REGION_NAMES), NUM_LIP_CLASSES, dtype=dtype)
    for r, name in enumerate(REGION_NAMES):
        matrix[r, list(REGION_CLASSES[name])] = 1
    return matrix


def region_masks(parsing: torch.Tensor) -> torch.Tensor:
    """Region masks [B, 3, H, W] in the order of `REGION_NAMES`.

    `parsing` is either an integer label map [B, H, W] (binary masks; the ignore label
    255 belongs to no region) or a class-probability map [B, 20, H, W] (e.g. a softmax of
    the parser's logits): a soft mask is the sum of its classes' probabilities.
    """
    if not parsing.is_floating_point():
        if parsing.dim() != 3:
            raise ValueError(f"a label map must be [B, H, W], got {tuple(parsing.shape)}")
        valid = (parsing >= 0) & (parsing < NUM_LIP_CLASSES)
        onehot = torch.nn.functional.one_hot(torch.where(valid, parsing, 0).long(), NUM_LIP_CLASSES)
        onehot = onehot.permute(0, 3, 1, 2).float() * valid.unsqueeze(1)
        return torch.einsum("bchw,rc->brhw", onehot, region_matrix())
    if parsing.dim() != 4 or parsing.shape[1] != NUM_LIP_CLASSES:
        raise ValueError(f"a probability map must be [B, {NUM_LIP_CLASSES}, H, W], got {tuple(parsing.shape)}")
    return torch.einsum("bchw,rc->brhw", parsing, region_matrix(parsing.dtype).to(parsing.device))


def region_masks_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Soft region masks [B, 3, H, W] from parser logits [B, 20, H, W]: `region_masks` of
    their softmax over the classes, written as exp / sum (same values to float rounding)
    so that the exported graph has no channel-axis Softmax, which ONNX Runtime's CPU
    kernel runs through a transpose (14 % of the default model's inference time)."""
    if logits.dim() != 4 or logits.shape[1] != NUM_LIP_CLASSES:
        raise ValueError(f"logits must be [B, {NUM_LIP_CLASSES}, H, W], got {tuple(logits.shape)}")
    e = (logits - logits.amax(dim=1, keepdim=True)).exp()
    return region_masks(e) / e.sum(dim=1, keepdim=True)
