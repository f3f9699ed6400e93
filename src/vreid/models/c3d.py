"""C3D-style clip backbone (Tran et al. 2015), the 3D ConvNet trunk of paper 003.

Paper 003 sec. III-A: "5 convolution layers and 5 pooling layers (each convolution layer
is immediately followed by a pooling layer)", "the number of filters for 5 convolution
layers are set to be 64, 128, 256, 256, and 256", all kernels 3x3x3 ("The kernel temporal
depth is d = 3", sec. III-C), stride 1 with "appropriate padding", "All pooling layers are
max pooling with kernel size 2x2x2 (except for the first pooling layer with kernel size
1x2x2)". Fig. 2's caption says "8 convolutions" (the original C3D's conv3-5 have two
convs each); we follow the text's five layers and their filter counts (the ambiguity is
the paper's). Each conv is conv (no bias) + BatchNorm + ReLU: the paper's C3D has no BN;
we add it (our choice: here it trains from scratch, without the Sports-1M C3D weights
the paper starts from, sec. III-C).

Pools use ceil_mode: a map of odd or unit size keeps its last position, so tiny clips of
2-4 frames and small frames still give a non-empty pool5 (16 frames -> T' = 1, as in the
paper's 16-frame clips). Stage names: conv1, pool1, ..., conv5, pool5. `width` scales
every channel count (a CPU profile). No adaptive pooling (ONNX-exportable at any size).
"""

from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import nn

from .clip_backbone import CLIP_BACKBONES, StagedBackbone3d, checked_inserts

CHANNELS = (64, 128, 256, 256, 256)  # paper 003 sec. III-A


def scaled(channels: int, width: float) -> int:
    """A channel count times the width multiplier, at least 1."""
    return max(1, round(channels * width))


class ConvBNReLU3d(nn.Module):
    """3x3x3 conv (stride 1, padding 1, no bias) -> BatchNorm3d -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm3d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


class C3D(StagedBackbone3d):
    """Clips [B, T, C, H, W] -> maps [B, C', T', h, w]: C' = 256 * width,
    T' = T / 16 and h, w = H / 32, W / 32 (each rounded up)."""

    def __init__(self, width: float = 1.0, in_channels: int = 3,
                 channels: tuple[int, ...] = CHANNELS,
                 inserts: Mapping[str, nn.Module] | None = None) -> None:
        super().__init__()
        if width <= 0:
            raise ValueError(f"c3d: width must be > 0, got {width}")
        stages: dict[str, nn.Module] = {}
        self.stage_channels: dict[str, int] = {}
        previous = in_channels
        for i, base in enumerate(channels, start=1):
            out = scaled(base, width)
            stages[f"conv{i}"] = ConvBNReLU3d(previous, out)
            # pool1 1x2x2 keeps time, the others 2x2x2 (sec. III-A)
            kernel = (1, 2, 2) if i == 1 else (2, 2, 2)
            stages[f"pool{i}"] = nn.MaxPool3d(kernel, kernel, ceil_mode=True)
            self.stage_channels[f"conv{i}"] = self.stage_channels[f"pool{i}"] = out
            previous = out
        for name, stage in stages.items():
            self.add_module(name, stage)
        self.stage_names = tuple(stages)
        self.num_temporal_pools = len(channels) - 1
        self.out_channels = previous
        self.inserts = checked_inserts(inserts, self.stage_channels)

    def temporal_length(self, t: int) -> int:
        for _ in range(self.num_temporal_pools):  # pool2..pool5 halve time, rounding up
            t = math.ceil(t / 2)
        return t


@CLIP_BACKBONES.register("c3d")
def build_c3d(width: float = 1.0, in_channels: int = 3,
              inserts: Mapping[str, nn.Module] | None = None) -> C3D:
    return C3D(width=width, in_channels=in_channels, inserts=inserts)
