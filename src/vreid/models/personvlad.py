"""3D PersonVLAD (paper 003, Fig. 2): C3D -> 3D part alignment -> NetVLAD -> classifier.

Clips [B, T, 3, H, W] go through the C3D trunk (`c3d.py`, sec. III-A) to the pool5
cubic F [C, L, h, w]; B part maps re-weight it (eq. 1-2, `part_align3d.py`); the part
features are aggregated into one vector v per clip, and an identity classifier scores v.

What NetVLAD aggregates (ambiguous in the paper; our choice, `descriptors`):
- "parts" (default): one descriptor per part, f_b = the global average of the part cubic
  F_b over (l, x, y). Eq. 3 sums over b = 1..B only and treats "each feature cubic
  f_b in R^D" (papers/003 line 111) as one descriptor; Fig. 3 (line 91): "A global
  pooling is performed ... on the attentive part"; and line 128: "The summing operation
  over all regions is able to aggregate all local features over the entire video
  because the 3D ConvNets are designed to be convolutional sampling across all frames".
  KD = 16,384 (line 128) with K = 64 gives D = 256, pool5's channel count: the
  descriptors are C-dimensional part vectors.
- "local": every part-weighted local descriptor f_b(:, l, x, y), N = B L h w per clip
  (line 119: "The difference vectors are then summed across the entire temporal
  extent").

Ablations (kwargs): `aggregation` "avg" / "max" (sec. III-B a), line 136-138: the part
cubic's global average / max pooling, then a per-branch FC + ReLU "do not share
parameters", concatenated, f = [f_1; ...; f_B]; the paper's two FCs per branch
(W_FC_b^T W^6_FC_b) are one FC here); `parts` "stripe" / "grid" (sec. IV-B, Table III,
line 245: "dividing the frame box into 5 horizontal stripes or 5 x 5 grids to form the
region maps ... used to replace the part masks"). A fixed region map is, at each pool5
cell, the fraction of the cell inside the region (`partition_masks`): a 0/1 mask when the
map size is a multiple of 5, and the maps of all regions sum to one everywhere.

Head: v (unit L2 norm for NetVLAD) is the clip feature, as in the paper (the 16,384-d
descriptor is used with Euclidean distance, line 203/245); `reduce_dim` adds a linear
dimension reduction (not in the paper) and `neck="bnneck"` a BNNeck (`heads.py`; not in
the paper). The training outputs: "features" (for OIM eq. 6 / triplet), "embedding",
"logits" (for cross_entropy); eval: the embedding [B, D].
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .c3d import C3D
from .heads import BNNeck
from .netvlad import ALPHA, NUM_CLUSTERS, NetVLAD
from .part_align3d import NUM_PARTS, PartAlign3d
from .registry import MODELS, ModelInfo

AGGREGATIONS = ("netvlad", "avg", "max")
PART_KINDS = ("learned", "stripe", "grid")
DESCRIPTORS = ("parts", "local")
NECKS = ("none", "bnneck")
PARTITION = 5  # Table III: 5 horizontal stripes, 5 x 5 grid (line 245)


def _interval_overlap(cells: int, parts: int, device: torch.device | None = None) -> torch.Tensor:
    """[parts, cells]: the fraction of map cell i (of `cells` equal cells along an axis)
    that lies in region b (of `parts` equal regions along the same axis). Integer
    arithmetic in units of 1 / (cells * parts), so divisible sizes give exact 0/1."""
    i = torch.arange(cells, device=device)
    b = torch.arange(parts, device=device)
    lo = torch.maximum(i[None, :] * parts, b[:, None] * cells)
    hi = torch.minimum((i[None, :] + 1) * parts, (b[:, None] + 1) * cells)
    return (hi - lo).clamp(min=0).float() / parts


def partition_masks(kind: str, height: int, width: int,
                    device: torch.device | None = None) -> torch.Tensor:
    """Fixed region maps [P, h, w] of a map of `height` x `width`: "stripe" -> 5
    horizontal stripes (top to bottom), "grid" -> 5 x 5 cells (row-major)."""
    rows = _interval_overlap(height, PARTITION, device)  # [5, h]
    if kind == "stripe":
        return rows[:, :, None].expand(PARTITION, height, width)
    if kind == "grid":
        cols = _interval_overlap(width, PARTITION, device)  # [5, w]
        return (rows[:, None, :, None] * cols[None, :, None, :]).reshape(
            PARTITION * PARTITION, height, width)
    raise ValueError(f"partition kind must be 'stripe' or 'grid', got {kind!r}")


class PlainHead(nn.Module):
    """No neck: the feature is the embedding; a linear identity classifier on it."""

    def __init__(self, dim: int, num_classes: int) -> None:
        super().__init__()
        self.classifier = nn.Linear(dim, num_classes)

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        if not self.training:
            return {"embedding": features}
        return {"features": features, "embedding": features,
                "logits": self.classifier(features)}


class PersonVLAD3d(nn.Module):
    """Clips [B, T, C, H, W] -> a dict of outputs in training, the embedding [B, D] in eval."""

    def __init__(self, num_classes: int, width: float = 1.0, num_parts: int = NUM_PARTS,
                 parts: str = "learned", aggregation: str = "netvlad",
                 descriptors: str = "parts", num_clusters: int = NUM_CLUSTERS,
                 alpha: float = ALPHA, part_dim: int = 128, reduce_dim: int | None = None,
                 neck: str = "none", in_channels: int = 3) -> None:
        super().__init__()
        for key, value, allowed in (("aggregation", aggregation, AGGREGATIONS),
                                    ("parts", parts, PART_KINDS),
                                    ("descriptors", descriptors, DESCRIPTORS),
                                    ("neck", neck, NECKS)):
            if value not in allowed:
                raise ValueError(f"personvlad3d: {key} must be one of {allowed}, got {value!r}")
        if descriptors == "local" and aggregation != "netvlad":
            raise ValueError("personvlad3d: descriptors='local' is for aggregation='netvlad' "
                             "(avg / max pool each part cubic to one vector)")
        self.aggregation, self.parts_kind, self.descriptors = aggregation, parts, descriptors
        self.backbone = C3D(width=width, in_channels=in_channels)
        channels = self.backbone.out_channels
        if parts == "learned":
            self.part_align = PartAlign3d(channels, num_parts)  # eq. 1-2
            self.num_parts = num_parts
        else:  # Table III: fixed region maps replace the learned ones (num_parts unused)
            self.part_align = None
            self.num_parts = PARTITION if parts == "stripe" else PARTITION * PARTITION
        if aggregation == "netvlad":
            self.vlad = NetVLAD(channels, num_clusters, alpha=alpha)  # eq. 3-5
            dim = self.vlad.out_channels
        else:  # per-branch FC, unshared (line 138): weight [P, C, d]
            self.part_fc_weight = nn.Parameter(torch.empty(self.num_parts, channels, part_dim))
            self.part_fc_bias = nn.Parameter(torch.zeros(self.num_parts, part_dim))
            bound = channels ** -0.5  # nn.Linear's default init, fan-in C per branch
            nn.init.uniform_(self.part_fc_weight, -bound, bound)
            nn.init.uniform_(self.part_fc_bias, -bound, bound)
            dim = self.num_parts * part_dim
        self.reduce = nn.Linear(dim, reduce_dim) if reduce_dim else None
        dim = reduce_dim or dim
        self.head = BNNeck(dim, num_classes) if neck == "bnneck" else PlainHead(dim, num_classes)
        self.embedding_dim = dim

    def part_masks(self, maps: torch.Tensor) -> torch.Tensor:
        """[N, P, L, h, w] learned part maps (eq. 1), or [1, P, 1, h, w] fixed ones."""
        if self.part_align is not None:
            return self.part_align.part_maps(maps)
        h, w = maps.shape[-2:]
        return partition_masks(self.parts_kind, h, w, maps.device).to(maps.dtype)[None, :, None]

    def pooled(self, maps: torch.Tensor) -> torch.Tensor:
        """Clip feature before the head: [N, K*C] (NetVLAD) or [N, P*d] (avg / max)."""
        masks = self.part_masks(maps)
        parts = maps.unsqueeze(1) * masks.unsqueeze(2)  # eq. 2: f_b = f * m_b, [N, P, C, L, h, w]
        if self.aggregation == "netvlad":
            if self.descriptors == "parts":  # f_b = AvePooling(F_b): B descriptors (eq. 3)
                return self.vlad(parts.mean(dim=(3, 4, 5)).transpose(1, 2))  # [N, C, P]
            return self.vlad(parts.transpose(1, 2))  # [N, C, P, L, h, w]: all local ones
        if self.aggregation == "avg":
            bars = parts.mean(dim=(3, 4, 5))  # f_bar_b = AvePooling(F_b) (line 136)
        else:
            bars = parts.flatten(3).amax(dim=3)  # f_bar_b = MaxPooling(F_b) (line 138)
        fc = torch.einsum("npc,pcd->npd", bars, self.part_fc_weight) + self.part_fc_bias
        return torch.relu(fc).flatten(1)  # f = [f_1; ...; f_B]

    def forward(self, clips: torch.Tensor) -> Any:
        if clips.dim() != 5:
            raise ValueError(f"expected clips [B, T, C, H, W], got shape {tuple(clips.shape)}")
        features = self.pooled(self.backbone(clips))
        if self.reduce is not None:
            features = self.reduce(features)
        outputs = self.head(features)
        return outputs if self.training else outputs["embedding"]


# Tiny instance: width 1/16 (16 channels), 3 parts, 4 clusters; alpha 1 (not 1000) so the
# ONNX Runtime parity is not at the mercy of a saturated softmax.
@MODELS.register("personvlad3d", info=ModelInfo(tiny_kwargs={
    "num_classes": 5, "width": 0.0625, "num_parts": 3, "num_clusters": 4, "alpha": 1.0}))
def build_personvlad3d(num_classes: int, width: float = 1.0, num_parts: int = NUM_PARTS,
                       parts: str = "learned", aggregation: str = "netvlad",
                       descriptors: str = "parts", num_clusters: int = NUM_CLUSTERS,
                       alpha: float = ALPHA, part_dim: int = 128,
                       reduce_dim: int | None = None, neck: str = "none",
                       in_channels: int = 3) -> PersonVLAD3d:
    """Paper 003's 3D PersonVLAD; defaults are the paper's (B = 6, K = 64, alpha = 1000,
    C3D widths 64-256: a 16,384-d clip descriptor)."""
    return PersonVLAD3d(num_classes, width=width, num_parts=num_parts, parts=parts,
                        aggregation=aggregation, descriptors=descriptors,
                        num_clusters=num_clusters, alpha=alpha, part_dim=part_dim,
                        reduce_dim=reduce_dim, neck=neck, in_channels=in_channels)
