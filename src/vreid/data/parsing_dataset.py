"""Image / label-map pairs of a parsing set (LIP layout) as a torch Dataset.

Items are `(image float [3, H, W] ImageNet-normalised, label long [H, W], 0)`, the
shape the segmentation evaluation reads; `parsing_batch` collates them into the trainer's
batch dict (`images`, `labels`). Joint transforms use torchvision
transforms.v2: the label travels as a `tv_tensors.Mask`, so resizing uses nearest
neighbour on it. A horizontal flip also swaps the left/right classes (arms, legs,
shoes), otherwise a mirrored left arm would be labelled "Left-arm" on the right side.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, default_collate
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from .index import ParsingSample
from .readers.lip import check_label_map
from .regions import LEFT_RIGHT_PAIRS
from .transforms import IMAGENET_MEAN, IMAGENET_STD


def swap_left_right(label: torch.Tensor) -> torch.Tensor:
    """Exchange each left class with its right class (after mirroring a label map)."""
    lookup = torch.arange(256, dtype=label.dtype)
    for left, right in LEFT_RIGHT_PAIRS:
        lookup[left], lookup[right] = right, left
    return lookup[label.long()]


class FlipWithLabelSwap(v2.Transform):
    """Mirror image and mask together with probability `p`, swapping left/right labels.

    Draws from torch's global generator, which the trainer reseeds every epoch.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, image: Any, label: tv_tensors.Mask) -> tuple[Any, tv_tensors.Mask]:
        if self.p <= 0 or float(torch.rand(())) >= self.p:
            return image, label
        flipped = TF.horizontal_flip(label)
        return TF.horizontal_flip(image), tv_tensors.wrap(swap_left_right(flipped), like=label)


class ParsingDataset(Dataset):
    def __init__(self, samples: Sequence[ParsingSample], height: int, width: int,
                 train: bool = True, flip: float = 0.5) -> None:
        self.samples = list(samples)
        self.resize = v2.Resize((height, width), antialias=True)
        self.flip = FlipWithLabelSwap(flip if train else 0.0)
        self.to_float = v2.Compose([v2.ToDtype(torch.float32, scale=True),
                                    v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)])

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        sample = self.samples[i]
        with Image.open(sample.image) as img:
            image = tv_tensors.Image(torch.from_numpy(np.asarray(img.convert("RGB")).copy()).permute(2, 0, 1))
        with Image.open(sample.label) as lab:
            raw, mode = np.asarray(lab), lab.mode
        # single-channel, 8-bit (never cast: a 16-bit 256 would wrap to 0), LIP classes
        # or the ignore label, the image's size; DatasetFormatError naming the file
        raw = check_label_map(raw, sample.label, mode,
                              image_size=(image.shape[-1], image.shape[-2]))
        label = tv_tensors.Mask(torch.from_numpy(raw.copy()))
        image, label = self.resize(image, label)
        image, label = self.flip(image, label)
        return self.to_float(image).as_subclass(torch.Tensor), label.as_subclass(torch.Tensor).long(), 0


def parsing_batch(items: Sequence[tuple[torch.Tensor, torch.Tensor, int]]) -> dict[str, torch.Tensor]:
    """Collate for training: the batch dict the trainer and `PixelCrossEntropy` read."""
    images, labels, _ = default_collate(items)
    return {"images": images, "labels": labels}
