"""NetVLAD aggregation, the "PersonVLAD" layer of paper 003 (sec. III-B, eq. 3-5).

K cluster centres c_k ("person words") split the descriptor space; each local
descriptor f_b adds its residual f_b - c_k to cell k, weighted by its soft assignment
(eq. 4), and the K residual sums are intra-normalised, stacked and L2-normalised into one
K*D vector (sec. III-B, after eq. 4; KD = 16,384 in the paper).

The soft assignment is written as a 1x1 conv + softmax over the K cells (eq. 5):
a_k(f) = softmax_k(w_k^T f + z_k), initialised from the centres as w_k = 2 alpha c_k,
z_k = -alpha ||c_k||^2 with alpha = 1000 (sec. III-C: "K = 64 and a high value for
alpha = 1000.0"). After that initialisation {w_k, z_k} and {c_k} are separate parameters:
sec. III-C "decouple the parameters {c_k} ... used to compute the soft assignment and the
residual in Eq.(4)".

What the descriptors are is the caller's choice: the input is any map [B, D, ...] whose
trailing dims (time, height, width, or a list of part vectors) are flattened to N
descriptors per sample. Paper 003 sums over "B local convolutional feature cubic
{f_b}" (eq. 3) and also "over the entire temporal extent" (after eq. 4); both are a
flattening of that kind.

Paper 003 prints no L2-normalisation of the input descriptors (the NetVLAD paper's
code normalises them); `normalize_input=False` follows paper 003.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ALPHA = 1000.0  # sec. III-C
NUM_CLUSTERS = 64  # sec. III-C


class NetVLAD(nn.Module):
    """Maps [B, D, ...] -> VLAD vectors [B, K*D] (unit L2 norm), cluster-major blocks."""

    def __init__(self, channels: int, num_clusters: int = NUM_CLUSTERS, alpha: float = ALPHA,
                 normalize_input: bool = False) -> None:
        super().__init__()
        if channels < 1 or num_clusters < 1:
            raise ValueError(f"netvlad: needs channels >= 1 and num_clusters >= 1, got "
                             f"{channels} and {num_clusters}")
        self.channels, self.num_clusters, self.alpha = channels, num_clusters, float(alpha)
        self.normalize_input = normalize_input
        self.out_channels = num_clusters * channels
        # soft assignment: a 1x1 conv over the flattened descriptors (w_k, z_k of eq. 5)
        self.assign = nn.Conv1d(channels, num_clusters, kernel_size=1)
        # residual centres c_k of eq. 4, decoupled from the assignment after init
        self.centres = nn.Parameter(torch.rand(num_clusters, channels))
        self.set_centres(self.centres.detach().clone())

    @torch.no_grad()
    def set_centres(self, centres: torch.Tensor) -> None:
        """Set c_k and re-derive the assignment from them: w_k = 2 alpha c_k,
        z_k = -alpha ||c_k||^2 (eq. 5). E.g. with k-means centres of training descriptors."""
        if centres.shape != self.centres.shape:
            raise ValueError(f"netvlad: centres must be {list(self.centres.shape)}, "
                             f"got {list(centres.shape)}")
        centres = centres.to(self.centres)
        self.centres.copy_(centres)
        self.assign.weight.copy_(2 * self.alpha * centres.unsqueeze(-1))
        self.assign.bias.copy_(-self.alpha * centres.pow(2).sum(dim=1))

    def descriptors(self, maps: torch.Tensor) -> torch.Tensor:
        """[B, D, ...] -> [B, D, N] local descriptors."""
        if maps.dim() < 2 or maps.shape[1] != self.channels:
            raise ValueError(f"netvlad: maps must be [B, {self.channels}, ...], "
                             f"got {list(maps.shape)}")
        x = maps.reshape(maps.shape[0], self.channels, -1)
        return F.normalize(x, dim=1) if self.normalize_input else x

    def assignment(self, maps: torch.Tensor) -> torch.Tensor:
        """Soft assignment a_k(f_b) [B, K, N]; sums to one over K (eq. 5)."""
        return self.assign(self.descriptors(maps)).softmax(dim=1)

    def residual_sums(self, maps: torch.Tensor) -> torch.Tensor:
        """V before normalisation, [B, K, D]: V[k, j] = sum_b a_k(f_b) (f_b(j) - c_k(j)) (eq. 4)."""
        x = self.descriptors(maps)  # [B, D, N]
        a = self.assign(x).softmax(dim=1)  # [B, K, N]
        # sum_b a_kb f_b - (sum_b a_kb) c_k
        return torch.bmm(a, x.transpose(1, 2)) - a.sum(dim=2, keepdim=True) * self.centres

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        v = F.normalize(self.residual_sums(maps), dim=2)  # intra-normalisation per cell
        return F.normalize(v.flatten(1), dim=1)  # stacked, then global L2
