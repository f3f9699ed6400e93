"""Frame transforms (torchvision transforms.v2), applied with one draw per clip.

v2 transforms treat leading dimensions as a batch with shared random parameters,
so a [T, C, H, W] clip is flipped / cropped / erased the same way in every frame.
"""

from __future__ import annotations

import torch
from torchvision.transforms import v2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def build_transform(
    height: int,
    width: int,
    train: bool,
    flip: float = 0.5,
    pad: int = 0,
    random_erasing: float = 0.0,
    mean: tuple[float, ...] = IMAGENET_MEAN,
    std: tuple[float, ...] = IMAGENET_STD,
) -> v2.Compose:
    """Resize (+ train-time flip / pad-crop / erasing) and normalise with `mean` / `std`
    (per channel, after scaling to [0, 1]); a model file records the pair it trained with."""
    steps: list = [v2.Resize((height, width), antialias=True)]
    if train:
        if flip > 0:
            steps.append(v2.RandomHorizontalFlip(flip))
        if pad > 0:
            steps += [v2.Pad(pad), v2.RandomCrop((height, width))]
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    if train and random_erasing > 0:
        steps.append(v2.RandomErasing(p=random_erasing, value=0))
    return v2.Compose(steps)
