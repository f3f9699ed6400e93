"""Baseline video model: clip backbone -> map aggregator -> BNNeck.

`resnet_tap` (and `resnet_tmp`, temporal_max.py) fix the backbone and the aggregator;
`video_cnn` is the same model with both (and the neck placement) picked by its kwargs,
so a config alone chooses e.g. ResNet-50 + temporal attention + paper 001's neck, or
SE-ResNet-50 + COSAM after layer3 and layer4 (paper 004); `resnet_cosam` is its
ResNet + COSAM form with paper 004's defaults.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from .clip_backbone import ClipBackbone, build_clip_backbone
from .cosam import cosam_frame_backbone
from .heads import BNNeck
from .registry import MODELS, ModelInfo
from .temporal import TEMPORAL


class FrameCNNVideoModel(nn.Module):
    """Clip batches [B, T, C, H, W]; a dict of outputs in training, the embedding in eval.

    An image batch is the T=1 case, so image pretraining and video training share it.
    `temporal` takes the backbone's maps [B, C, T', h, w] to one vector per clip; an
    aggregator with frame weights (`attend(maps) -> (vector, weights [B, T'])`, the
    temporal attention) adds them to the training outputs as `attention` (the input of
    paper 001's erasing-attention loss, eq. 12).
    """

    def __init__(self, backbone: ClipBackbone, temporal: nn.Module, num_classes: int,
                 neck: str = "bnneck") -> None:
        super().__init__()
        self.backbone = backbone
        self.temporal = temporal
        self.head = BNNeck(temporal.out_channels, num_classes, neck=neck)
        self.embedding_dim = temporal.out_channels

    def forward(self, clips: torch.Tensor) -> Any:
        if clips.dim() != 5:
            raise ValueError(f"expected clips [B, T, C, H, W], got shape {tuple(clips.shape)}")
        maps = self.backbone(clips)
        attend = getattr(self.temporal, "attend", None)
        if not self.training or attend is None:
            outputs = self.head(self.temporal(maps))
            return outputs if self.training else outputs["embedding"]
        pooled, weights = attend(maps)
        return {**self.head(pooled), "attention": weights}


@MODELS.register("resnet_tap", info=ModelInfo(tiny_kwargs={"num_classes": 5, "depth": 18}))
def build_resnet_tap(
    num_classes: int,
    depth: int = 18,
    last_stride: int = 1,
    temporal: str = "avg",
    pretrained: str | None = None,
    neck: str = "bnneck",
) -> FrameCNNVideoModel:
    """torchvision ResNet + temporal average pooling + BNNeck (the skeleton baseline)."""
    backbone = build_clip_backbone("resnet", depth=depth, last_stride=last_stride,
                                   pretrained=pretrained)
    return FrameCNNVideoModel(backbone, TEMPORAL.get(temporal)(backbone.out_channels), num_classes,
                              neck=neck)


# The tiny instance uses the attention aggregator with the source's map-sized spatial
# kernel: 32x16 inputs, ResNet stride 16 (last stride 1) -> 2x1 maps.
@MODELS.register("video_cnn", info=ModelInfo(tiny_kwargs={
    "num_classes": 5, "depth": 18, "temporal": "attention",
    "temporal_kwargs": {"mid_channels": 16, "spatial_kernel": [2, 1]}, "neck": "before_both"}))
def build_video_cnn(
    num_classes: int,
    backbone: str = "resnet",
    depth: int | None = 18,
    last_stride: int | None = 1,
    temporal: str = "avg",
    temporal_kwargs: dict[str, Any] | None = None,
    neck: str = "bnneck",
    pretrained: str | None = None,
    backbone_kwargs: dict[str, Any] | None = None,
    cosam_after: Sequence[str] = (),
    cosam_kwargs: dict[str, Any] | None = None,
    clip_len: int | None = None,
    height: int | None = None,
    width: int | None = None,
) -> FrameCNNVideoModel:
    """A `build_clip_backbone` backbone + a `TEMPORAL` aggregator + BNNeck (`neck` placement).

    `depth` / `last_stride` are passed to the backbone unless None (a backbone without
    them: set them to None); `backbone_kwargs` adds any other backbone argument.
    `cosam_after` (stage names, e.g. ["layer3", "layer4"] = paper 004's COSAM_{4,5};
    empty = none) puts a COSAM after each of those stages of a frame trunk, built for
    N = `clip_len` frames of `height` x `width`: these three must then be given, equal to
    the stage's `input:` (cosam.py); `cosam_kwargs` go to `COSAM` (reduced_dim, ...).
    """
    kwargs: dict[str, Any] = {"pretrained": pretrained, **(backbone_kwargs or {})}
    for key, value in (("depth", depth), ("last_stride", last_stride)):
        if value is not None:
            kwargs[key] = value
    if cosam_after:
        sizes = {"clip_len": clip_len, "height": height, "width": width}
        missing = [key for key, value in sizes.items() if value is None]
        if missing:
            raise ValueError(f"video_cnn: cosam_after={list(cosam_after)} needs {missing} "
                             f"(the stage's input sizes: each COSAM is built for its map size "
                             f"and N frames)")
        clip_backbone: ClipBackbone = cosam_frame_backbone(
            backbone, list(cosam_after), cosam_kwargs=cosam_kwargs, **sizes, **kwargs)
    else:
        clip_backbone = build_clip_backbone(backbone, **kwargs)
    aggregator = TEMPORAL.get(temporal)(clip_backbone.out_channels, **(temporal_kwargs or {}))
    return FrameCNNVideoModel(clip_backbone, aggregator, num_classes, neck=neck)


@MODELS.register("resnet_cosam", info=ModelInfo(
    tiny_kwargs={"num_classes": 5, "depth": 18, "clip_len": 3, "height": 32, "width": 16,
                 "reduced_dim": 8}))
def build_resnet_cosam(
    num_classes: int,
    depth: int = 50,
    last_stride: int = 1,
    temporal: str = "avg",
    cosam_after: Sequence[str] = ("layer3", "layer4"),
    reduced_dim: int = 256,
    clip_len: int = 4,
    height: int = 256,
    width: int = 128,
    pretrained: str | None = None,
) -> FrameCNNVideoModel:
    """ResNet + COSAM after `cosam_after` + temporal pooling + BNNeck (paper 004, Fig. 5):
    `video_cnn` with these defaults, the paper's (sec. 6.1): ResNet-50, COSAM_{4,5},
    D_R = 256, N = 4 frames of 256 x 128. `clip_len`, `height`, `width` must be the
    stage's input sizes (cosam.py)."""
    return build_video_cnn(num_classes, backbone="resnet", depth=depth, last_stride=last_stride,
                           temporal=temporal, pretrained=pretrained, cosam_after=cosam_after,
                           cosam_kwargs={"reduced_dim": reduced_dim}, clip_len=clip_len,
                           height=height, width=width)
