"""Query-gallery distances, computed in chunks to bound memory."""

from __future__ import annotations

import torch
import torch.nn.functional as F

METRICS = ("euclidean", "cosine")


def compute_distance(
    a: torch.Tensor, b: torch.Tensor, metric: str = "euclidean", chunk: int = 4096
) -> torch.Tensor:
    """[N, D] x [M, D] -> [N, M]: squared euclidean, or cosine distance (1 - cos)."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be [N, D] and [M, D], got {tuple(a.shape)}, {tuple(b.shape)}")
    a, b = a.float(), b.float()
    if metric == "cosine":
        a, b = F.normalize(a, dim=1), F.normalize(b, dim=1)
    b_sq = b.pow(2).sum(1)
    out = torch.empty(a.shape[0], b.shape[0], dtype=torch.float32, device=a.device)
    for start in range(0, a.shape[0], chunk):
        part = a[start : start + chunk]
        block = out[start : start + chunk]  # written in place: no N x M temporaries
        torch.mm(part, b.t(), out=block)
        if metric == "cosine":
            block.neg_().add_(1.0)
        else:  # |a|^2 + |b|^2 - 2 a.b
            block.mul_(-2.0).add_(part.pow(2).sum(1, keepdim=True)).add_(b_sq).clamp_min_(0)
    return out
