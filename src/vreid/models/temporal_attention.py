"""Temporal attention (TA) aggregator, paper 001 sec. III-A (eq. 1).

Paper 001 takes its attention "following the settings of [6]" (Gao & Nevatia,
"Revisiting temporal modeling for video-based person ReID", the TA of paper 004's
comparison): "2D convolution with an input dimensionality of 2048 ... outputs are
dimensionality of 256", then "temporal 1D convolution on the frame-level features
generates temporal attentions s_t", then a_t = softmax(s) over the T frames, and
eq. 1 (as printed): F = (1/T) sum_t a_t f_t, f_t the frame's global-average-pooled vector.

Kernel sizes are not printed in paper 001. Gao & Nevatia's released code uses a spatial
conv whose kernel is the whole final map ([7, 4] for 224x112 inputs: one 256-vector per
frame, no padding), a ReLU, a temporal conv of kernel 3 with padding 1 (256 -> 1), a
ReLU, then the softmax; here `spatial_kernel=(h, w)` (the map size) and `temporal_kernel=3`.
The map size depends on the input size, which a model builder does not know: with
`spatial_kernel=None` the spatial conv is 1x1 and its outputs are averaged over the map
(a map-sized kernel whose weights are shared across positions), which runs at any size.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .temporal import TEMPORAL


@TEMPORAL.register("attention")
class TemporalAttention(nn.Module):
    """Clip maps [B, C, T, h, w] -> sum_t a_t f_t / T (or without the 1/T), [B, C].

    `last_weights` holds the attention weights [B, T] of the last forward (they sum to one
    over T), detached: a graph tensor kept on the module would break `copy.deepcopy`. A loss
    on them (paper 001's erasing-attention loss, eq. 12) calls `weights(maps)`.
    """

    def __init__(self, channels: int, mid_channels: int = 256,
                 spatial_kernel: int | Sequence[int] | None = None, temporal_kernel: int = 3,
                 divide_by_t: bool = True, score_relu: bool = True) -> None:
        super().__init__()
        if temporal_kernel % 2 != 1:
            raise ValueError(f"temporal_kernel must be odd (T scores for T frames), got {temporal_kernel}")
        self.out_channels = channels
        self.spatial_kernel = (None if spatial_kernel is None else
                               tuple(spatial_kernel) if isinstance(spatial_kernel, Sequence)
                               else (spatial_kernel, spatial_kernel))
        # spatial conv: channels -> mid_channels, one vector per frame (2048 -> 256 in paper 001)
        self.spatial = nn.Conv2d(channels, mid_channels, self.spatial_kernel or 1)
        # temporal 1D conv over the frames: mid_channels -> one score s_t per frame
        self.temporal = nn.Conv1d(mid_channels, 1, temporal_kernel, padding=temporal_kernel // 2)
        # Eq. 1 as printed has a 1/T in front of the softmax-weighted sum; Gao & Nevatia's
        # code (which paper 001 says it follows) has none: divide_by_t=False is that sum.
        self.divide_by_t = divide_by_t
        self.score_relu = score_relu  # Gao & Nevatia's ReLU on the scores before the softmax
        self.last_weights: torch.Tensor | None = None

    def weights(self, maps: torch.Tensor) -> torch.Tensor:
        """Attention weights a [B, T] of clip maps [B, C, T, h, w]; softmax over T."""
        b, c, t, h, w = maps.shape
        frames = maps.transpose(1, 2).flatten(0, 1)  # [B*T, C, h, w]
        if self.spatial_kernel is not None and (h, w) != self.spatial_kernel:
            raise ValueError(f"spatial_kernel {self.spatial_kernel} must be the map size, "
                             f"got maps of {h}x{w} (or use spatial_kernel=None)")
        spatial = F.relu(self.spatial(frames).mean(dim=(2, 3)))  # [B*T, mid]
        scores = self.temporal(spatial.view(b, t, -1).transpose(1, 2)).squeeze(1)  # [B, T]: s_t
        if self.score_relu:
            scores = F.relu(scores)
        return scores.softmax(dim=1)

    def attend(self, maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The pooled vector [B, C] and the weights a [B, T] it used (with their graph:
        the erasing-attention loss, eq. 12, trains them; `FrameCNNVideoModel` returns
        them as its `attention` output in training)."""
        a = self.weights(maps)
        if not torch.compiler.is_exporting():  # no module state written while tracing
            self.last_weights = a.detach()
        frames = maps.mean(dim=(3, 4))  # [B, C, T]: f_t, the frames' GAP vectors
        pooled = (frames * a.unsqueeze(1)).sum(dim=2)  # eq. 1: sum_t a_t f_t ...
        return (pooled / maps.shape[2] if self.divide_by_t else pooled), a  # ... times 1/T

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.attend(maps)[0]
