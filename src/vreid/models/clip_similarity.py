"""Learned clip-similarity aggregation, paper 002 sec. 3.1 (eq. 1-6), and its top-t% baseline
(sec. 4.4, eq. 9).

A tracklet is a set of M clip features [M, D] (I3D, one vector per clip of L frames). Two
tracklets are compared through all their M_q x M_g clip pairs:
- learned (eq. 1-4): the pairs are visited one after the other, row-major (query clip i,
  then gallery clip j: t = i * M_g + j + 1); the importance network g_theta scores each
  pair from the difference between the representation pooled so far and the pair's
  combined representation, and the similarity is the importance-weighted mean of the
  pairs' cosines;
- top-t% (eq. 9): the mean cosine of the t% most similar pairs, on linearly projected
  features (the baseline after Chen et al., CVPR 2018).

The recursion is sequential in t (alpha_t depends on r_{t-1}, hence on every earlier
alpha) and runs as a loop of M_q * M_g steps; each step is batched over N tracklet pairs.
The paper trains g_theta on "the similarity scores between all pairs of sequences in the
batch" (sec. 3.2): `sequential_pool_batch` / `LearnedClipSimilarity.score_matrix`. Its
BatchNorm layers need N >= 2 pairs per step in training mode.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

Importance = Callable[[torch.Tensor], torch.Tensor]


class ImportanceMLP(nn.Module):
    """g_theta of eq. 1: [N, D] -> positive importances [N] (or [D] -> a scalar).

    Sec. 4.2: "two hidden layers with 1024 units in both layers", ReLU, "a dropout layer
    with dropout probability 0.5 and a batch normalization layer after both hidden
    layers" (here ReLU -> BatchNorm1d -> Dropout), one output unit through a softplus
    log(1 + exp(x)), which "constraints the importance score to always be positive".
    """

    def __init__(self, dim: int, hidden: int = 1024, dropout: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for d_in in (dim, hidden):
            layers += [nn.Linear(d_in, hidden), nn.ReLU(), nn.BatchNorm1d(hidden),
                       nn.Dropout(dropout)]
        self.hidden = nn.Sequential(*layers)
        self.score = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 1:  # one vector: a batch of one (BatchNorm needs eval mode then)
            return self(x.unsqueeze(0))[0]
        return F.softplus(self.score(self.hidden(x))).squeeze(-1)


def sequential_pool_batch(fq: torch.Tensor, fg: torch.Tensor, importance: Importance
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 1-3 for N tracklet pairs at once.

    fq [N, M_q, D], fg [N, M_g, D] clip features (L2-normalised here: sec. 3.2 normalises
    them before the module, and eq. 4 assumes it); `importance` maps [N, D] -> [N] > 0.
    Returns r_qg [N, D] (eq. 2 at t = M_q * M_g), s [N] (eq. 3) and alphas [N, M_q, M_g]
    (alphas[n, i, j] scored the pair of query clip i and gallery clip j).
    """
    if fq.dim() != 3 or fg.dim() != 3 or fq.shape[0] != fg.shape[0] or fq.shape[2] != fg.shape[2]:
        raise ValueError(f"expected fq [N, M_q, D] and fg [N, M_g, D], got {tuple(fq.shape)} "
                         f"and {tuple(fg.shape)}")
    n, mq, d = fq.shape
    mg = fg.shape[1]
    fq, fg = F.normalize(fq, dim=-1), F.normalize(fg, dim=-1)
    # eq. 1: c_t = f_{q,t} (.) f_{g,t}, all pairs row-major: c[:, i * M_g + j] = fq_i * fg_j
    c = (fq.unsqueeze(2) * fg.unsqueeze(1)).flatten(1, 2)  # [N, T, D], T = M_q * M_g
    # The paper gives eq. 1 for t = 2..M^2 and r_1 = c_1 (sec. 3.1, after eq. 2) but no
    # alpha_1, which A_t needs. Our choice: r_0 = 0, so alpha_1 = g(r_0 - c_1) = g(-c_1)
    # (the first pair is scored by the same network, not a fixed constant whose scale
    # means nothing against g's outputs); eq. 2 then gives r_1 = c_1 as printed.
    r = fq.new_zeros(n, d)
    total = fq.new_zeros(n)  # A_{t-1}
    alphas = []
    for t in range(mq * mg):
        alpha = importance(r - c[:, t])  # eq. 1: alpha_t = g(r_{t-1} - c_t)
        if alpha.shape != (n,):
            raise ValueError(f"importance must map [N, D] to [N], got {tuple(alpha.shape)}")
        new_total = total + alpha  # A_t = sum_{i <= t} alpha_i
        # eq. 2: r_t = (A_{t-1} r_{t-1} + alpha_t c_t) / A_t
        r = (total.unsqueeze(1) * r + alpha.unsqueeze(1) * c[:, t]) / new_total.unsqueeze(1)
        total = new_total
        alphas.append(alpha)
    a = torch.stack(alphas, dim=1)  # [N, T]
    cosine = c.sum(dim=-1)  # f_q . f_g / (|f_q| |f_g|) of each pair (unit features)
    s = (a * cosine).sum(dim=1) / a.sum(dim=1)  # eq. 3: alpha-weighted mean of the cosines
    return r, s, a.view(n, mq, mg)


def sequential_pool(fq: torch.Tensor, fg: torch.Tensor, importance: Importance
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 1-3 for one tracklet pair: fq [M_q, D], fg [M_g, D], `importance` [D] -> scalar.

    Returns r_qg [D], s (a 0-d tensor) and alphas [M_q, M_g]; see `sequential_pool_batch`.
    """
    def one_vector(x: torch.Tensor) -> torch.Tensor:  # [1, D] -> [1]
        return importance(x[0]).reshape(1)

    r, s, alphas = sequential_pool_batch(fq.unsqueeze(0), fg.unsqueeze(0), one_vector)
    return r[0], s[0], alphas[0]


def pooled_similarity(r: torch.Tensor) -> torch.Tensor:
    """Eq. 4: s = sum_l r_qg^l, equal to eq. 3 for L2-normalised clip features (eq. 5-6)."""
    return r.sum(dim=-1)


def all_pairs(query: torch.Tensor, gallery: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """query [Q, M_q, D], gallery [G, M_g, D] -> every (q, g) pair, q-major: [Q*G, M, D] each."""
    q, g = query.shape[0], gallery.shape[0]
    return (query.unsqueeze(1).expand(q, g, *query.shape[1:]).flatten(0, 1),
            gallery.unsqueeze(0).expand(q, g, *gallery.shape[1:]).flatten(0, 1))


class LearnedClipSimilarity(nn.Module):
    """Paper 002's similarity psi_Theta of two clip-feature sets (g_theta = `ImportanceMLP`).

    forward(fq [N, M_q, D], fg [N, M_g, D]) -> s [N] (eq. 3; eq. 4 gives the same value);
    `score_matrix` compares every query with every gallery tracklet.
    """

    def __init__(self, dim: int, hidden: int = 1024, dropout: float = 0.5) -> None:
        super().__init__()
        self.importance = ImportanceMLP(dim, hidden, dropout)

    def pool(self, fq: torch.Tensor, fg: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(r_qg [N, D], s [N], alphas [N, M_q, M_g]) of `sequential_pool_batch`."""
        return sequential_pool_batch(fq, fg, self.importance)

    def forward(self, fq: torch.Tensor, fg: torch.Tensor) -> torch.Tensor:
        return self.pool(fq, fg)[1]

    def score_matrix(self, query: torch.Tensor, gallery: torch.Tensor) -> torch.Tensor:
        """query [Q, M_q, D], gallery [G, M_g, D] -> similarities [Q, G]."""
        return self(*all_pairs(query, gallery)).view(query.shape[0], gallery.shape[0])


def top_percent_count(num_pairs: int, percent: float) -> int:
    """|P_t| of eq. 9: ceil(t% of the pairs), at least one (the paper does not round)."""
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    # 1e-9 keeps an exact product (20% of 64 pairs as 12.8, 25% of 64 as 16) off the next integer
    return max(1, math.ceil(percent * num_pairs / 100 - 1e-9))


def top_percent_similarity(fq: torch.Tensor, fg: torch.Tensor, percent: float) -> torch.Tensor:
    """Eq. 9 without the projection: fq [..., M_q, D], fg [..., M_g, D] -> [...].

    The mean cosine of the `top_percent_count` most similar of the M_q x M_g clip pairs
    (leading axes broadcast). Only the selected pairs receive gradients (top-t%-traineval).
    """
    # eq. 9 prints ||f'^i_g|| under f'^i_q . f'^j_g: a typo, the cosine divides by the
    # norm of the j-th gallery clip, ||f'^j_g||.
    cosine = F.normalize(fq, dim=-1) @ F.normalize(fg, dim=-1).transpose(-1, -2)  # [..., M_q, M_g]
    k = top_percent_count(cosine.shape[-2] * cosine.shape[-1], percent)
    return cosine.flatten(-2).topk(k, dim=-1).values.mean(dim=-1)


class TopPercentSimilarity(nn.Module):
    """The top-t% baseline of sec. 4.4: a learned D -> D linear projection, then eq. 9.

    `percent` is t at evaluation. In training, `train_percent` (None: `percent`, the
    top-t%-traineval variant; 100: the mean of all pairs, top-t%-eval, "top-t% similarity
    aggregation only during the evaluation").
    """

    def __init__(self, dim: int, percent: float = 20.0, train_percent: float | None = None) -> None:
        super().__init__()
        self.projection = nn.Linear(dim, dim)
        self.percent = percent
        self.train_percent = percent if train_percent is None else train_percent
        for p in (self.percent, self.train_percent):
            top_percent_count(1, p)  # refuses a percent outside (0, 100] now, not at forward

    def forward(self, fq: torch.Tensor, fg: torch.Tensor) -> torch.Tensor:
        """fq [..., M_q, D], fg [..., M_g, D] -> similarities [...]."""
        percent = self.train_percent if self.training else self.percent
        return top_percent_similarity(self.projection(fq), self.projection(fg), percent)

    def score_matrix(self, query: torch.Tensor, gallery: torch.Tensor) -> torch.Tensor:
        """query [Q, M_q, D], gallery [G, M_g, D] -> similarities [Q, G]."""
        return self(query.unsqueeze(1), gallery.unsqueeze(0))
