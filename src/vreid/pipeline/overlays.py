"""Parsing overlays (paper 000's supplementary style): image | parsing | region masks."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from ..data.index import ParsingSample
from ..data.parsing_dataset import ParsingDataset
from ..data.regions import NUM_LIP_CLASSES, region_masks
from ..data.transforms import IMAGENET_MEAN, IMAGENET_STD
from .common import atomic_write_bytes

# one fixed colour per LIP class (background black), spread around the hue circle
_PALETTE = np.array([[0, 0, 0]] + [
    [int(127 + 127 * np.cos(2 * np.pi * (k / 19 + s / 3))) for s in range(3)]
    for k in range(1, NUM_LIP_CLASSES)], dtype=np.uint8)


@torch.no_grad()
def parsing_overlay(model: torch.nn.Module, samples: Sequence[ParsingSample], height: int,
                    width: int, path: str | Path, rows: int = 4) -> Path:
    """One row per sample: image, predicted parsing, foreground / upper / lower masks."""
    data = ParsingDataset(list(samples)[:rows], height, width, train=False)
    images = torch.stack([data[i][0] for i in range(len(data))])
    probs = torch.softmax(model.eval()(images), dim=1)
    labels = probs.argmax(1).numpy()
    masks = (region_masks(probs).clamp(0, 1) * 255).byte().numpy()
    mean, std = torch.tensor(IMAGENET_MEAN)[:, None, None], torch.tensor(IMAGENET_STD)[:, None, None]
    tiles = []
    for i in range(len(data)):
        rgb = ((images[i] * std + mean).clamp(0, 1) * 255).byte().permute(1, 2, 0).numpy()
        parts = [rgb, _PALETTE[labels[i]]] + [np.repeat(m[..., None], 3, 2) for m in masks[i]]
        tiles.append(np.concatenate(parts, axis=1))
    picture = Image.fromarray(np.concatenate(tiles, axis=0))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)
