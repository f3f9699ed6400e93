"""The clip backbone contract, its 2D adapter and its builder.

A clip backbone maps clips [B, T, C, H, W] to maps [B, C', T', h, w] and exposes:
- `out_channels` (C') and `stage_channels` ({stage name: channels after that stage});
- `temporal_length(t)`: T' for a clip of t frames (t for a 2D trunk; I3D / C3D pool time);
- `inserts`: modules run after named stages ({"layer3": module}). An insert receives the
  maps of the whole clip, [B, C, T, h, w], and returns the same shape, so it can mix
  frames (COSAM, paper 004 sec. 4, sits "between the L-th and (L+1)-th CNN blocks"; its
  blocks 4 and 5 are ResNet's "layer3" and "layer4", block 1 being the "stem").

A 2D trunk of `BACKBONES` becomes a clip backbone through `FrameBackbone` (T folded into
the batch, the trunk run stage by stage, T unfolded at inserts and at the end; its maps
are a transposed view of the frame maps, not contiguous). A native clip backbone (I3D,
C3D) subclasses `ClipBackbone` and registers in `CLIP_BACKBONES` a builder taking
`inserts=` and its own keyword arguments; `build_clip_backbone` looks there first, then
wraps a `BACKBONES` trunk. (EgoReID calls
its 2D trunk directly: the parser's region masks need per-frame maps [N, C, h, w].)
"""

from __future__ import annotations

from typing import Iterable, Mapping

import torch
from torch import nn

from ..registry import Registry
from .backbones import BACKBONES, FrameTrunk

CLIP_BACKBONES: Registry = Registry("clip backbone")


class ClipBackbone(nn.Module):
    """Base of every clip backbone; see the module docstring for the contract."""

    out_channels: int
    stage_channels: dict[str, int]
    inserts: nn.ModuleDict

    def temporal_length(self, t: int) -> int:
        raise NotImplementedError

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class StagedBackbone3d(ClipBackbone):
    """A native 3D backbone: named 3D stages (`stage_names`, its child modules) applied in
    order to [B, C, T, H, W], each followed by its insert if one is given (C3D, I3D)."""

    stage_names: tuple[str, ...]

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        if clips.dim() != 5:
            raise ValueError(f"{type(self).__name__.lower()}: expected clips [B, T, C, H, W], "
                             f"got {tuple(clips.shape)}")
        x = clips.transpose(1, 2)  # [B, C, T, H, W]
        for name in self.stage_names:
            x = getattr(self, name)(x)
            if name in self.inserts:
                x = self.inserts[name](x)
        return x


def checked_inserts(inserts: Mapping[str, nn.Module] | None,
                    stage_names: Iterable[str]) -> nn.ModuleDict:
    """`inserts` as a ModuleDict, refusing a stage name the backbone does not have."""
    inserts = dict(inserts or {})
    names = list(stage_names)
    unknown = [name for name in inserts if name not in names]
    if unknown:
        raise ValueError(f"cannot insert after {unknown}: the backbone's stages are {names}")
    return nn.ModuleDict(inserts)


def unfold_time(frames: torch.Tensor, t: int) -> torch.Tensor:
    """[B*T, C, h, w] -> [B, C, T, h, w] (a view: no copy)."""
    return frames.view(-1, t, *frames.shape[1:]).transpose(1, 2)


def fold_time(maps: torch.Tensor) -> torch.Tensor:
    """[B, C, T, h, w] -> [B*T, C, h, w]."""
    return maps.transpose(1, 2).flatten(0, 1)


class FrameBackbone(ClipBackbone):
    """A 2D frame trunk as a clip backbone: every frame through the trunk, T' = T."""

    def __init__(self, trunk: FrameTrunk, inserts: Mapping[str, nn.Module] | None = None) -> None:
        super().__init__()
        self.trunk = trunk
        self.inserts = checked_inserts(inserts, trunk.stage_channels)
        self.out_channels = trunk.out_channels
        self.stage_channels = dict(trunk.stage_channels)

    def temporal_length(self, t: int) -> int:
        return t

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        t = clips.shape[1]
        x = clips.flatten(0, 1)
        for name, stage in self.trunk.named_stages():
            x = stage(x)
            if name in self.inserts:
                x = fold_time(self.inserts[name](unfold_time(x, t)))
        return unfold_time(x, t)


def build_clip_backbone(name: str, inserts: Mapping[str, nn.Module] | None = None,
                        **kwargs) -> ClipBackbone:
    """A `CLIP_BACKBONES` entry, or a `BACKBONES` frame trunk wrapped in `FrameBackbone`."""
    if name in CLIP_BACKBONES and name in BACKBONES:
        raise KeyError(f"backbone {name!r} is registered both as a clip and a frame backbone")
    if name in CLIP_BACKBONES:
        return CLIP_BACKBONES.get(name)(inserts=inserts, **kwargs)
    if name in BACKBONES:
        return FrameBackbone(BACKBONES.get(name)(**kwargs), inserts)
    raise KeyError(f"unknown backbone {name!r}; clip backbones: {CLIP_BACKBONES.names()}, "
                   f"frame trunks: {BACKBONES.names()}")
