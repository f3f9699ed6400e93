"""Inflated 3D Inception-V1 (I3D, Carreira & Zisserman 2017), paper 002's clip encoder.

Paper 002 sec. 4.2: the Inception-V1 I3D network, its final classification layer
removed and its 2x7x7 average pooling replaced "with a global average pooling layer",
clips L x 3 x 256 x 128 -> a 1024-d feature (D = 1024).

Layout (I3D's names in brackets): conv1 7^3 stride 2 [Conv3d_1a], maxpool1 1x3x3
stride 1x2x2 [MaxPool3d_2a], conv2 1^3 [Conv3d_2b], conv3 3^3 [Conv3d_2c], maxpool2 1x3x3
stride 1x2x2 [MaxPool3d_3a], inception3a-3b [Mixed_3b-3c], maxpool3 3^3 stride 2
[MaxPool3d_4a], inception4a-4e [Mixed_4b-4f], maxpool4 2^3 stride 2 [MaxPool3d_5a],
inception5a-5b [Mixed_5b-5c]. Each conv is conv (no bias) + BatchNorm (eps 1e-3) + ReLU;
an inception block concatenates 1^3 | 1^3 -> 3^3 | 1^3 -> 3^3 | 3^3 max pool -> 1^3.

The module names follow torchvision's 2D GoogLeNet (the same Inception-V1 with both
"5x5" branches as 3x3, like I3D), so `inflate_state_dict` inflates its state dict
key for key. Padding is symmetric (k // 2) where TensorFlow's I3D pads "SAME".
`width` scales every channel count (a CPU profile: width 1/8 gives D = 128).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

import torch
from torch import nn

from ..engine.checkpoint import load_state_dict
from .clip_backbone import CLIP_BACKBONES, StagedBackbone3d, checked_inserts

# Inception-V1 blocks: (1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5" (a 3x3), pool proj)
INCEPTION_CHANNELS: dict[str, tuple[int, int, int, int, int, int]] = {
    "inception3a": (64, 96, 128, 16, 32, 32),
    "inception3b": (128, 128, 192, 32, 96, 64),
    "inception4a": (192, 96, 208, 16, 48, 64),
    "inception4b": (160, 112, 224, 24, 64, 64),
    "inception4c": (128, 128, 256, 24, 64, 64),
    "inception4d": (112, 144, 288, 32, 64, 64),
    "inception4e": (256, 160, 320, 32, 128, 128),
    "inception5a": (256, 160, 320, 32, 128, 128),
    "inception5b": (384, 192, 384, 48, 128, 128),
}
BN_EPS = 1e-3  # I3D's (and torchvision GoogLeNet's) batch-norm epsilon


def scaled(channels: int, width: float) -> int:
    """A channel count times the width multiplier, at least 1."""
    return max(1, round(channels * width))


class Unit3d(nn.Module):
    """Conv3d (no bias) -> BatchNorm3d -> ReLU, 'same'-size padding k // 2."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 1,
                 stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False)
        self.bn = nn.BatchNorm3d(out_channels, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


class Inception3d(nn.Module):
    """One inflated Inception-V1 block; out_channels = 1x1 + 3x3 + "5x5" + pool proj."""

    def __init__(self, in_channels: int, c1: int, c3r: int, c3: int, c5r: int, c5: int,
                 pool: int) -> None:
        super().__init__()
        self.branch1 = Unit3d(in_channels, c1)
        self.branch2 = nn.Sequential(Unit3d(in_channels, c3r), Unit3d(c3r, c3, 3))
        self.branch3 = nn.Sequential(Unit3d(in_channels, c5r), Unit3d(c5r, c5, 3))
        self.branch4 = nn.Sequential(nn.MaxPool3d(3, 1, 1), Unit3d(in_channels, pool))
        self.out_channels = c1 + c3 + c5 + pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class I3D(StagedBackbone3d):
    """Clips [B, T, 3, H, W] -> maps [B, C', T', H/32, W/32] (C' = 1024 at width 1).

    `inserts` run after named stages (the `clip_backbone` contract).
    """

    def __init__(self, width: float = 1.0, in_channels: int = 3,
                 inserts: Mapping[str, nn.Module] | None = None) -> None:
        super().__init__()
        c64, c192 = scaled(64, width), scaled(192, width)
        stages: dict[str, nn.Module] = {
            "conv1": Unit3d(in_channels, c64, 7, stride=2),
            "maxpool1": nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
            "conv2": Unit3d(c64, c64),
            "conv3": Unit3d(c64, c192, 3),
            "maxpool2": nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        }
        self.stage_channels = {"conv1": c64, "maxpool1": c64, "conv2": c64, "conv3": c192,
                               "maxpool2": c192}
        channels = c192
        for name, block in INCEPTION_CHANNELS.items():
            if name == "inception4a":
                stages["maxpool3"] = nn.MaxPool3d(3, 2, 1)
                self.stage_channels["maxpool3"] = channels
            if name == "inception5a":
                # ceil_mode: a map of odd (or unit) size keeps its last position
                stages["maxpool4"] = nn.MaxPool3d(2, 2, ceil_mode=True)
                self.stage_channels["maxpool4"] = channels
            stages[name] = Inception3d(channels, *(scaled(c, width) for c in block))
            channels = stages[name].out_channels
            self.stage_channels[name] = channels
        for name, stage in stages.items():  # top-level names: torchvision GoogLeNet's keys
            self.add_module(name, stage)
        self.stage_names = tuple(stages)
        self.out_channels = channels
        self.inserts = checked_inserts(inserts, self.stage_channels)

    def temporal_length(self, t: int) -> int:
        # conv1 (stride 2, pad 3), maxpool3 (3, stride 2, pad 1), maxpool4 (2, stride 2,
        # ceil): each halves the length, rounding up
        for _ in range(3):
            t = math.ceil(t / 2)
        return t


class I3DClipEncoder(nn.Module):
    """Paper 002's clip encoder f_xi: I3D, then the global mean over (T', h, w) -> [B, D].

    The mean (not AdaptiveAvgPool3d) keeps the graph exportable by torch's dynamo ONNX
    exporter at any clip size.
    """

    def __init__(self, width: float = 1.0, in_channels: int = 3) -> None:
        super().__init__()
        self.backbone = I3D(width, in_channels)
        self.out_channels = self.backbone.out_channels

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.backbone(clips).mean(dim=(2, 3, 4))


def inflate_conv_weight(weight: torch.Tensor, depth: int) -> torch.Tensor:
    """A 2D kernel [O, I, kh, kw] repeated over `depth` time steps and divided by depth,
    [O, I, depth, kh, kw]: on a temporally constant clip the 3D conv gives the 2D
    conv's response (I3D sec. 2.4, away from the zero-padded first and last frames)."""
    if weight.dim() != 4:
        raise ValueError(f"a 2D conv weight is [O, I, kh, kw], got {tuple(weight.shape)}")
    return weight.unsqueeze(2).repeat(1, 1, depth, 1, 1) / depth


def inflate_state_dict(model: I3D, state_2d: Mapping[str, torch.Tensor]
                       ) -> dict[str, torch.Tensor]:
    """`model`'s state dict with each stage tensor taken from the same key of the 2D
    `state_2d` (torchvision GoogLeNet's): 4-D conv weights inflated to the 3D kernel's
    depth, the rest (batch norm) copied; insert tensors stay as they are.

    Keys of `state_2d` the model lacks (a 2D classifier, auxiliary heads) are ignored; a
    stage key without a 2D tensor, or a shape that does not fit, raises. Load the result
    with `model.load_state_dict`.
    """
    state = model.state_dict()
    stage_keys = [k for k in state if k.split(".", 1)[0] in model.stage_names]
    missing = [k for k in stage_keys if k not in state_2d]
    if missing:
        raise KeyError(f"the 2D state dict lacks {len(missing)} of the model's keys, e.g. "
                       f"{missing[:3]}")
    out = dict(state)
    for key in stage_keys:
        target, value = state[key], state_2d[key]
        if target.dim() == 5 and value.dim() == 4:
            value = inflate_conv_weight(value, target.shape[2])
        if value.shape != target.shape:
            raise ValueError(f"{key}: 2D tensor {tuple(state_2d[key].shape)} does not fit "
                             f"the model's {tuple(target.shape)}")
        out[key] = value.to(target.dtype).clone()
    return out


def load_inflated(model: I3D, path: str | Path) -> None:
    """Load a local 2D Inception-V1 state dict (torchvision GoogLeNet's keys) into `model`,
    inflated (`inflate_state_dict`). Weights-only loading: never an arbitrary pickle, never
    a download. A {"state_dict": ...} / {"model": ...} wrapper is unwrapped."""
    state = load_state_dict(path, "pretrained 2D Inception-V1 weights")
    model.load_state_dict(inflate_state_dict(model, state))


@CLIP_BACKBONES.register("i3d")
def build_i3d(inserts: Mapping[str, nn.Module] | None = None, width: float = 1.0,
              pretrained: str | None = None) -> I3D:
    """The `CLIP_BACKBONES` entry: I3D at `width`; `pretrained` (optional) a local 2D
    Inception-V1 file inflated into it (I3D sec. 2.4's ImageNet bootstrapping; the
    paper's Kinetics-pretrained I3D weights are a different file layout, not read here)."""
    model = I3D(width=width, inserts=inserts)
    if pretrained:
        load_inflated(model, pretrained)
    return model
