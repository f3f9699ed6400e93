"""Frame transforms (torchvision transforms.v2), applied with one draw per clip.

v2 transforms treat leading dimensions as a batch with shared random parameters,
so a [T, C, H, W] clip is flipped / cropped / erased the same way in every frame.
`FrameErasing` is the exception: it erases each frame on its own draw and says which.
"""

from __future__ import annotations

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# torchvision's RandomErasing defaults (area fraction, aspect ratio of the rectangle)
ERASING_SCALE = (0.02, 0.33)
ERASING_RATIO = (0.3, 3.3)


def build_transform(
    height: int,
    width: int,
    train: bool,
    flip: float = 0.5,
    pad: int = 0,
    random_erasing: float = 0.0,
    mean: tuple[float, ...] = IMAGENET_MEAN,
    std: tuple[float, ...] = IMAGENET_STD,
    erasing_scale: tuple[float, float] = ERASING_SCALE,
    erasing_ratio: tuple[float, float] = ERASING_RATIO,
    erasing_value: float = 0.0,
) -> v2.Compose:
    """Resize (+ train-time flip / pad-crop / erasing) and normalise with `mean` / `std`
    (per channel, after scaling to [0, 1]); a model file records the pair it trained with.
    `random_erasing`: probability of one rectangle erased alike in every frame of the clip
    (after normalising, so `erasing_value` 0 is the mean colour)."""
    steps: list = [v2.Resize((height, width), antialias=True)]
    if train:
        if flip > 0:
            steps.append(v2.RandomHorizontalFlip(flip))
        if pad > 0:
            steps += [v2.Pad(pad), v2.RandomCrop((height, width))]
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    if train and random_erasing > 0:
        steps.append(v2.RandomErasing(p=random_erasing, scale=erasing_scale,
                                      ratio=erasing_ratio, value=erasing_value))
    return v2.Compose(steps)


class FrameErasing:
    """Random erasing (Zhong et al.; paper 001's REA) drawn for each frame of a transformed
    clip [T, C, H, W]: frame t is erased with probability `p`, in a rectangle drawn by
    torchvision's `v2.RandomErasing`. Returns the clip and `erased` [T] bool, true for the
    frames that were erased (the erasing-attention loss's labels, eq. 12). A frame whose
    rectangle torchvision fails to draw (it gives up after 10 tries) stays unerased.
    """

    def __init__(self, p: float, scale: tuple[float, float] = ERASING_SCALE,
                 ratio: tuple[float, float] = ERASING_RATIO, value: float = 0.0) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"frame erasing: p must be a probability in [0, 1], got {p}")
        self.p = p
        self.rectangle = v2.RandomErasing(p=1.0, scale=scale, ratio=ratio, value=value)

    def __call__(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if clip.dim() != 4:
            raise ValueError(f"frame erasing: expects a clip [T, C, H, W], got {list(clip.shape)}")
        erased = torch.zeros(len(clip), dtype=torch.bool)
        if self.p == 0:  # no draw at all: the RNG stream is as without erasing
            return clip, erased
        frames = list(clip)
        for t, frame in enumerate(frames):
            if torch.rand(1).item() >= self.p:
                continue
            params = self.rectangle.make_params([frame])
            if params["v"] is not None:  # None: no rectangle fitted, the frame is kept
                frames[t] = F.erase(frame, **params)
                erased[t] = True
        return torch.stack(frames), erased
