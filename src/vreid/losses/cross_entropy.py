"""Label-smoothed identity cross-entropy (Szegedy et al.; paper 001 eq. for L_ID)."""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn


class CrossEntropyLabelSmooth(nn.Module):
    uses = "logits"
    batch_keys = ("labels",)

    def __init__(self, label_smoothing: float = 0.1) -> None:
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> torch.Tensor:
        return F.cross_entropy(outputs[self.uses], batch["labels"],
                               label_smoothing=self.label_smoothing)


class RegionCrossEntropy(nn.Module):
    """EgoReID's loss: one classifier per body region, the mean of their CE losses (sec. 6.1)."""

    uses = "region_logits"
    batch_keys = ("labels",)

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> torch.Tensor:
        # region_logits: [R, B, num_classes]
        losses = [F.cross_entropy(logits, batch["labels"], label_smoothing=self.label_smoothing)
                  for logits in outputs[self.uses]]
        return torch.stack(losses).mean()
