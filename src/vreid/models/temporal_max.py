"""Second baseline: ResNet + temporal max pooling (TP-max) + BNNeck.

The same clip backbone and head as `resnet_tap`; only the aggregator differs: each
channel keeps its strongest frame response instead of the clip mean (TP-max, the other
simple temporal pooling paper 004 compares against). It is also the worked example of
how a method is added: this module, its registry entry, one config file
(configs/resnet_tmp.yaml) and an import line in models/__init__.py.
"""

from __future__ import annotations

import torch
from torch import nn

from .baseline import FrameCNNVideoModel
from .clip_backbone import build_clip_backbone
from .registry import MODELS, ModelInfo
from .temporal import TEMPORAL


@TEMPORAL.register("max")
class TemporalMaxPooling(nn.Module):
    """Spatial average pooling per frame, then the maximum over time, per channel."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out_channels = channels

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return maps.mean(dim=(3, 4)).amax(dim=2)


@MODELS.register("resnet_tmp", info=ModelInfo(tiny_kwargs={"num_classes": 5, "depth": 18}))
def build_resnet_tmp(num_classes: int, depth: int = 18, last_stride: int = 1,
                     pretrained: str | None = None, neck: str = "bnneck") -> FrameCNNVideoModel:
    """torchvision ResNet + temporal max pooling + BNNeck (`neck`: heads.BNNeck's placement)."""
    backbone = build_clip_backbone("resnet", depth=depth, last_stride=last_stride,
                                   pretrained=pretrained)
    return FrameCNNVideoModel(backbone, TemporalMaxPooling(backbone.out_channels), num_classes,
                              neck=neck)
