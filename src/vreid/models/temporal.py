"""Aggregators: clip maps [B, C, T, h, w] (a clip backbone's output) -> clip vector [B, D].

An aggregator is built from the backbone's channel count and exposes `out_channels` (D),
the size of the vector it returns.
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import Registry

TEMPORAL: Registry = Registry("temporal aggregator")


@TEMPORAL.register("avg")
class TemporalAveragePooling(nn.Module):
    """Spatial average pooling per frame, then temporal average pooling (TP-avg, paper 004)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out_channels = channels

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        # space first, then time: the order (and so the float sums) of frame GAP + TP-avg
        return maps.mean(dim=(3, 4)).mean(dim=2)
