"""Pixel-wise cross-entropy for the human parser (paper 000, sec. 4.2, trained on LIP)."""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn


class PixelCrossEntropy(nn.Module):
    """Mean cross-entropy over labelled pixels; `ignore_index` pixels (255) are skipped."""

    uses = "seg_logits"
    batch_keys = ("labels",)  # label maps [B, H, W]

    def __init__(self, ignore_index: int = 255) -> None:
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> torch.Tensor:
        seg_logits, labels = outputs[self.uses], batch["labels"]
        if seg_logits.dim() != 4 or labels.shape != (seg_logits.shape[0], *seg_logits.shape[2:]):
            raise ValueError(f"expected logits [B, C, H, W] and labels [B, H, W], got "
                             f"{tuple(seg_logits.shape)} and {tuple(labels.shape)}")
        return F.cross_entropy(seg_logits, labels.long(), ignore_index=self.ignore_index)
