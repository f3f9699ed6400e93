"""COSAM, the co-segmentation activation module of paper 004 (sec. 4), and its backbone.

COSAM sits between two CNN blocks and sees the maps of the whole N-frame snippet
([B, C, N, h, w], the `inserts` contract of `clip_backbone`). Two steps:
- spatial (sec. 4.1): the maps are reduced to D_R channels (1x1 conv + BN + ReLU); each
  local descriptor of frame n is compared by NCC (eq. 2) with every descriptor of the
  other N-1 frames; per position these (N-1)*h*w values are the cost volume's channels
  (eq. 1), which a 1x1 conv + sigmoid summarises into a mask [h, w] that multiplies the
  frame's ORIGINAL (not reduced) maps;
- channel (sec. 4.2): GAP -> MLP -> sigmoid gives each frame's channel importance; the
  N vectors are averaged and multiply the spatially attended maps.

The cost volume's channel count, (N-1)*h*w, ties the summary conv to N and to the map
size: its weights say which positions of which other frame count for a position. We keep
the paper's choice, a plain 1x1 conv over all of them (as the authors' release, which
builds it from t and the map size), so a COSAM is built for one N and one map size and
refuses any other (a clear error, not a silent broadcast). The model builder measures
the map size after each stage from the input size it is given (`height`, `width`,
`clip_len`, the same values as the stage's `input:`). Pooling the correlations would
lift the restriction but is not what eq. 1 and its summary conv describe.

`cosam_frame_backbone` puts COSAMs after named stages of any `BACKBONES` frame trunk
(resnet, resnet_ibn_a, se_resnet, ...); the models using it are `video_cnn`
(`cosam_after=[...]`) and its fixed form `resnet_cosam` (baseline.py).
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import torch
from torch import nn

from .backbones import BACKBONES, FrameTrunk
from .clip_backbone import CLIP_BACKBONES, FrameBackbone, fold_time, unfold_time

NCC_EPS = 1e-4  # sec. 4.1: "a small value of eps = 1e-4 is added to the sigmas"
_MIN_VAR = 1e-12  # keeps sqrt's gradient finite for a constant descriptor (std ~ 0)


def standardise(x: torch.Tensor, eps: float = NCC_EPS) -> torch.Tensor:
    """Each descriptor (last axis, D values) minus its mean, over its sample std + eps.

    Sample (unbiased, D - 1) standard deviation, as the issue asks; the variance is
    clamped at 1e-12 before the square root so that a constant descriptor (all zero
    after a ReLU) gives zeros and finite gradients, not NaN.
    """
    d = x.shape[-1]
    if d < 2:
        raise ValueError(f"NCC needs descriptors of at least 2 values (sample std), got {d}")
    centred = x - x.mean(dim=-1, keepdim=True)
    var = centred.pow(2).sum(dim=-1, keepdim=True) / (d - 1)
    return centred / (var.clamp_min(_MIN_VAR).sqrt() + eps)


def ncc(x: torch.Tensor, y: torch.Tensor, eps: float = NCC_EPS) -> torch.Tensor:
    """Normalised cross-correlation of every row of x [M, D] with every row of y [K, D].

    Eq. 2: NCC(P, Q) = 1/D * sum_k (P_k - mu_P)(Q_k - mu_Q) / (sigma_P sigma_Q), the
    sigmas being sample stds plus eps. Returns [M, K]. With the unbiased std an identical
    pair gives (D - 1) / D (not exactly 1) and |NCC| <= (D - 1) / D < 1.
    """
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"ncc expects [M, D] and [K, D], got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    return standardise(x, eps) @ standardise(y, eps).T / x.shape[1]


def other_frame_pairs(num_frames: int) -> torch.Tensor:
    """Flat indices n * N + m of the pairs (n, m), m != n, n-major, m ascending (eq. 1)."""
    return torch.tensor([n * num_frames + m for n in range(num_frames)
                         for m in range(num_frames) if m != n], dtype=torch.long)


class CoSegmentationMask(nn.Module):
    """Sec. 4.1: maps of the N frames [B*N, C, h, w] -> one spatial mask each, [B*N, 1, h, w].

    Built for `num_frames` (N >= 2) and `map_size` (h, w): the summary conv reads the
    (N-1)*h*w cost-volume channels of eq. 1 (see the module docstring).
    """

    def __init__(self, in_channels: int, num_frames: int, map_size: tuple[int, int],
                 reduced_dim: int = 256, eps: float = NCC_EPS) -> None:
        super().__init__()
        if num_frames < 2:
            raise ValueError(f"COSAM needs N >= 2 frames: each frame is matched with the "
                             f"other N-1 (eq. 1), got N={num_frames}")
        if reduced_dim < 2:
            raise ValueError(f"COSAM reduced_dim must be >= 2 (NCC's sample std), "
                             f"got {reduced_dim}")
        h, w = map_size
        self.num_frames, self.map_size, self.eps = num_frames, (int(h), int(w)), eps
        # sec. 4.1: D_L -> D_R by 1x1 conv + BatchNorm + ReLU (the BN carries the bias)
        self.reduce = nn.Sequential(nn.Conv2d(in_channels, reduced_dim, 1, bias=False),
                                    nn.BatchNorm2d(reduced_dim), nn.ReLU(inplace=True))
        # sec. 4.1: "summarized by using a 1x1 convolution layer followed by a sigmoid"
        self.summary = nn.Conv2d((num_frames - 1) * h * w, 1, 1)
        self.register_buffer("pairs", other_frame_pairs(num_frames), persistent=False)

    def cost_volume(self, frames: torch.Tensor) -> torch.Tensor:
        """[B*N, C, h, w] -> [B*N, (N-1)*h*w, h, w], eq. 1.

        Channel s*h*w + (y*w + x) at position (i, j) of frame n is
        NCC(F_n^(i,j), F_m^(y,x)), m being the s-th of the other frames in index order.
        """
        n, (h, w) = self.num_frames, self.map_size
        hw = h * w
        reduced = self.reduce(frames)                       # [B*N, D, h, w]
        d = reduced.shape[1]
        z = standardise(reduced.reshape(-1, n, d, hw).transpose(2, 3).reshape(-1, n * hw, d),
                        self.eps)                           # [B, N*hw, D]
        corr = z @ z.transpose(1, 2) / d                    # eq. 2, all pairs [B, N*hw, N*hw]
        corr = corr.reshape(-1, n, hw, n, hw).permute(0, 1, 3, 4, 2)  # [B, n, m, q, p]
        corr = corr.reshape(-1, n * n, hw, hw).index_select(1, self.pairs)  # drop m == n
        return corr.reshape(-1, (n - 1) * hw, h, w)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.summary(self.cost_volume(frames)))


class ChannelConsensus(nn.Module):
    """Sec. 4.2: [B*N, C, h, w] -> channel weights [B*N, C, 1, 1], the clip's mean of
    each frame's sigmoid(MLP(GAP(maps))). The paper gives no MLP widths: C -> hidden ->
    C with a ReLU between."""

    def __init__(self, channels: int, num_frames: int, hidden: int) -> None:
        super().__init__()
        self.num_frames = num_frames
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, channels))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        c = frames.shape[1]
        per_frame = torch.sigmoid(self.mlp(frames.mean(dim=(2, 3))))  # GAP -> MLP -> sigmoid
        common = per_frame.reshape(-1, self.num_frames, c).mean(dim=1, keepdim=True)
        return common.expand(-1, self.num_frames, c).reshape(-1, c, 1, 1)


class COSAM(nn.Module):
    """Co-segmentation activation module (paper 004, sec. 4): [B, C, N, h, w] -> same.

    `mask(maps)` gives the spatial masks [B, 1, N, h, w] (for inspection); `forward`
    applies the mask to the input maps, then the common channel weights.
    """

    def __init__(self, in_channels: int, num_frames: int, map_size: tuple[int, int],
                 reduced_dim: int = 256, mlp_hidden: int | None = None,
                 eps: float = NCC_EPS) -> None:
        super().__init__()
        self.in_channels, self.num_frames = in_channels, num_frames
        self.spatial = CoSegmentationMask(in_channels, num_frames, map_size, reduced_dim, eps)
        self.map_size = self.spatial.map_size
        self.channel = ChannelConsensus(in_channels, num_frames, mlp_hidden or reduced_dim)

    def _frames(self, maps: torch.Tensor) -> torch.Tensor:
        if maps.dim() != 5:
            raise ValueError(f"COSAM expects maps [B, C, N, h, w], got {tuple(maps.shape)}")
        c, n, h, w = maps.shape[1:]
        if (c, n, (h, w)) != (self.in_channels, self.num_frames, self.map_size):
            raise ValueError(
                f"this COSAM is built for {self.in_channels} channels, N={self.num_frames} "
                f"frames and {self.map_size[0]}x{self.map_size[1]} maps (its 1x1 summary conv "
                f"reads (N-1)*h*w correlations), got {c} channels, N={n}, {h}x{w}; build the "
                f"model for the clip length and input size it is run at")
        return fold_time(maps)

    def mask(self, maps: torch.Tensor) -> torch.Tensor:
        return unfold_time(self.spatial(self._frames(maps)), self.num_frames)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        frames = self._frames(maps)
        attended = frames * self.spatial(frames)  # the ORIGINAL maps, masked (sec. 4.1)
        return unfold_time(attended * self.channel(attended), self.num_frames)  # sec. 4.2


def cosam_inserts(stage_channels: Mapping[str, int],
                  after: Iterable[str] = ("layer3", "layer4"), *,
                  map_sizes: Mapping[str, tuple[int, int]], num_frames: int,
                  **kwargs) -> dict[str, nn.Module]:
    """One COSAM after each stage of `after`, at that stage's width and map size, for
    `build_clip_backbone(..., inserts=...)` / `FrameBackbone`. Default: COSAM_{4,5}, the
    paper's best (sec. 6, Table 3), i.e. after ResNet's layer3 and layer4. `kwargs` go to
    `COSAM` (reduced_dim, mlp_hidden, eps)."""
    after = list(after)
    unknown = [name for name in after if name not in stage_channels]
    if unknown:
        raise ValueError(f"cannot insert COSAM after {unknown}: the backbone's stages are "
                         f"{list(stage_channels)}")
    if len(set(after)) != len(after):
        raise ValueError(f"COSAM stages named twice: {after}")
    return {name: COSAM(stage_channels[name], num_frames, map_sizes[name], **kwargs)
            for name in after}


@torch.no_grad()
def stage_map_sizes(trunk: FrameTrunk, height: int, width: int) -> dict[str, tuple[int, int]]:
    """The map size after each stage of `trunk` for height x width frames (one dry run
    of a zero frame in eval mode: no BatchNorm statistics change)."""
    was_training = trunk.training
    trunk.eval()
    try:
        x = torch.zeros(1, 3, height, width)
        sizes = {}
        for name, stage in trunk.named_stages():
            x = stage(x)
            sizes[name] = (int(x.shape[-2]), int(x.shape[-1]))
        return sizes
    finally:
        trunk.train(was_training)


def cosam_frame_backbone(name: str, after: Sequence[str], *, clip_len: int, height: int,
                         width: int, cosam_kwargs: Mapping | None = None,
                         **trunk_kwargs) -> FrameBackbone:
    """The `BACKBONES` trunk `name` (built with `trunk_kwargs`) as a clip backbone with a
    COSAM after each stage of `after` (paper 004 block 1 = "stem", blocks 2-5 =
    "layer1".."layer4" on ResNets), each built for N = `clip_len` frames of
    `height` x `width` (the stage's input sizes). `cosam_kwargs` go to `COSAM`."""
    if name not in BACKBONES:
        where = ("a clip backbone (its maps are not per-frame stages)" if name in CLIP_BACKBONES
                 else "not a backbone")
        raise ValueError(f"COSAM needs a 2D frame trunk, one of {BACKBONES.names()}; "
                         f"{name!r} is {where}")
    trunk = BACKBONES.get(name)(**trunk_kwargs)
    inserts = cosam_inserts(trunk.stage_channels, after, num_frames=clip_len,
                            map_sizes=stage_map_sizes(trunk, height, width),
                            **dict(cosam_kwargs or {}))
    return FrameBackbone(trunk, inserts)
