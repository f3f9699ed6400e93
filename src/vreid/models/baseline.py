"""Baseline video model: clip backbone -> map aggregator -> BNNeck."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .clip_backbone import ClipBackbone, build_clip_backbone
from .heads import BNNeck
from .registry import MODELS, ModelInfo
from .temporal import TEMPORAL


class FrameCNNVideoModel(nn.Module):
    """Clip batches [B, T, C, H, W]; a dict of outputs in training, the embedding in eval.

    An image batch is the T=1 case, so image pretraining and video training share it.
    `temporal` takes the backbone's maps [B, C, T', h, w] to one vector per clip.
    """

    def __init__(self, backbone: ClipBackbone, temporal: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.temporal = temporal
        self.head = BNNeck(temporal.out_channels, num_classes)
        self.embedding_dim = temporal.out_channels

    def forward(self, clips: torch.Tensor) -> Any:
        if clips.dim() != 5:
            raise ValueError(f"expected clips [B, T, C, H, W], got shape {tuple(clips.shape)}")
        outputs = self.head(self.temporal(self.backbone(clips)))
        return outputs if self.training else outputs["embedding"]


@MODELS.register("resnet_tap", info=ModelInfo(tiny_kwargs={"num_classes": 5, "depth": 18}))
def build_resnet_tap(
    num_classes: int,
    depth: int = 18,
    last_stride: int = 1,
    temporal: str = "avg",
    pretrained: str | None = None,
) -> FrameCNNVideoModel:
    """torchvision ResNet + temporal average pooling + BNNeck (the skeleton baseline)."""
    backbone = build_clip_backbone("resnet", depth=depth, last_stride=last_stride,
                                   pretrained=pretrained)
    return FrameCNNVideoModel(backbone, TEMPORAL.get(temporal)(backbone.out_channels), num_classes)
