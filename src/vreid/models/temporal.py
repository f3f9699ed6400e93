"""Temporal aggregators: per-frame vectors [B, T, D] -> one clip vector [B, D]."""

from __future__ import annotations

import torch
from torch import nn

from ..registry import Registry

TEMPORAL: Registry = Registry("temporal aggregator")


@TEMPORAL.register("avg")
class TemporalAveragePooling(nn.Module):
    """Temporal average pooling (TP-avg in paper 004's terms)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1)
