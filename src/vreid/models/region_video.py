"""EgoReID's video feature module (paper 000, sec. 4.3, fig. 4 and appendix D fig. 6).

Per body region: three 3D-conv blocks with 1x1x3 kernels (time x height x width =
3x1x1 here), temporal stride 2, weights NOT shared across regions; the intermediate
and the last block's outputs are averaged over time and concatenated (multi-scale).
A feature-weighting module of three 2D convolutions, SHARED across regions, turns
each region's map into one learned weight that scales its pooled vector.
"""

from __future__ import annotations

import torch
from torch import nn


class RegionVideoModule(nn.Module):
    """[B, C, T, h, w] region feature maps -> [B, out_channels, h, w] (sec. 4.3)."""

    def __init__(self, in_channels: int, channels: int, num_blocks: int = 3,
                 temporal_kernel: int = 3, temporal_stride: int = 2,
                 multi_scale: bool = True) -> None:
        super().__init__()
        if num_blocks < 2 and multi_scale:
            raise ValueError("multi-scale needs at least two blocks (intermediate + last)")
        self.blocks = nn.ModuleList()
        for i in range(num_blocks):
            self.blocks.append(nn.Sequential(
                nn.Conv3d(in_channels if i == 0 else channels, channels,
                          kernel_size=(temporal_kernel, 1, 1), stride=(temporal_stride, 1, 1),
                          padding=(temporal_kernel // 2, 0, 0), bias=False),
                nn.BatchNorm3d(channels),
                nn.ReLU(inplace=True),
            ))
        self.multi_scale = multi_scale
        self.out_channels = channels * (2 if multi_scale else 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = []
        for block in self.blocks:
            x = block(x)
            outputs.append(x)
        # appendix D: temporal average pooling, then intermediate ++ last (multi-scale)
        kept = outputs[-2:] if self.multi_scale else outputs[-1:]
        return torch.cat([o.mean(dim=2) for o in kept], dim=1)


class FeatureWeighting(nn.Module):
    """Three 2D convolutions -> GAP -> sigmoid: one weight per region map (fig. 6b).

    One instance is shared by every region, as in the paper.
    """

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        mid = max(channels // reduction, 8)
        low = max(mid // reduction, 4)
        self.convs = nn.Sequential(
            nn.Conv2d(channels, mid, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(mid, low, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(low, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.convs(x).mean(dim=(2, 3)))  # [B, 1]
