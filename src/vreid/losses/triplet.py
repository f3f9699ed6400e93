"""Batch-hard triplet loss (Hermans et al., 2017), on the head's "features" output (pre-BN
with the default BNNeck placement, the BN output with paper 001's `neck="before_both"`)."""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn


def pairwise_euclidean(x: torch.Tensor) -> torch.Tensor:
    sq = x.pow(2).sum(dim=1, keepdim=True)
    d2 = sq + sq.t() - 2.0 * (x @ x.t())
    return d2.clamp_min(1e-12).sqrt()


class BatchHardTriplet(nn.Module):
    """For each anchor: hardest positive and hardest negative in the batch (PK sampling)."""

    uses = "features"
    batch_keys = ("labels",)
    # mines positives inside the batch: it needs K > 1 items per identity (PK batches)
    needs_identity_batches = True

    def __init__(self, margin: float = 0.3, normalize: bool = False) -> None:
        super().__init__()
        self.margin = margin
        self.normalize = normalize

    def forward(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> torch.Tensor:
        features, targets = outputs[self.uses], batch["labels"]
        if self.normalize:
            features = F.normalize(features, dim=1)
        dist = pairwise_euclidean(features)
        same = targets.unsqueeze(0) == targets.unsqueeze(1)
        hardest_pos = dist.masked_fill(~same, float("-inf")).amax(dim=1)
        hardest_neg = dist.masked_fill(same, float("inf")).amin(dim=1)
        valid = torch.isfinite(hardest_neg) & (same.sum(dim=1) > 1)
        if not valid.any():
            raise ValueError("batch-hard triplet needs >= 2 identities with >= 2 samples each")
        losses = F.relu(hardest_pos - hardest_neg + self.margin)
        return losses[valid].mean()
