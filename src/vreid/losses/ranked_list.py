"""Ranked list loss (Wang et al., CVPR 2019; paper 001 sec. III-C, eq. 5-10).

Every item of the batch is a query in turn. Its positives (same label, itself excluded)
are pulled inside the boundary alpha - margin, its negatives pushed beyond alpha; only
the pairs that break their constraint ("non-trivial", eq. 6-7) contribute:

    L_m(i, j) = (1 - y_ij) [alpha - d_ij]_+ + y_ij [d_ij - (alpha - margin)]_+   (eq. 5)
    L_P(i) = mean of L_m over the non-trivial positives                          (eq. 8)
    L_N(i) = sum over the non-trivial negatives of w_ij / sum(w) * L_m(i, j),
             w_ij = exp(T (alpha - d_ij))                                         (eq. 9)
    L_RLL(i) = L_P(i) + lambda L_N(i)                                            (eq. 10)

averaged over every query of the batch (a query with an empty list adds 0 for it).

Choices where paper 001 is silent (it gives alpha = 2.0, margin 1.3 on MARS / iLIDS-VID
and 0.04 on PRID2011, sec. IV-B, but no temperature, lambda or positive weighting):
 - T = 10 and lambda = 1 are defaults, to be set in config (paper 001 gives neither;
   Wang et al. treat T as a hyper-parameter);
 - positives are NOT weighted: eq. 8 (like Wang et al.'s CVPR loss) is a plain mean;
 - the weights w_ij are constants for the gradient (computed from detached
   distances), as in Wang et al.'s derivation, where they only rank the negatives;
 - w is normalised with a softmax over the non-trivial negatives (the same value as
   eq. 9's w / sum(w), without exp overflow for large T * alpha).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .triplet import pairwise_euclidean


def ranked_list_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    alpha: float = 2.0,
    margin: float = 1.3,
    temperature: float = 10.0,
    lam: float = 1.0,
) -> torch.Tensor:
    """RLL of `embeddings` [B, D] (used as given: normalising is the caller's choice)
    with integer `labels` [B], on Euclidean distances."""
    if embeddings.dim() != 2:
        raise ValueError(f"ranked list loss: embeddings must be [B, D], got {list(embeddings.shape)}")
    if labels.shape != embeddings.shape[:1]:
        raise ValueError(f"ranked list loss: labels {list(labels.shape)} do not match "
                         f"embeddings {list(embeddings.shape)}")
    if not 0 < margin < alpha:
        raise ValueError(f"ranked list loss: needs 0 < margin < alpha, got margin={margin}, "
                         f"alpha={alpha}")
    dist = pairwise_euclidean(embeddings)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    not_self = ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)

    # eq. 6: positives outside alpha - margin; eq. 7: negatives inside alpha
    pos = same & not_self & (dist > alpha - margin)
    neg = ~same & (dist < alpha)

    # eq. 5 / 8: hinge on the positives, mean over each query's non-trivial positives
    pos_hinge = (dist - (alpha - margin)).clamp_min(0) * pos
    loss_p = pos_hinge.sum(dim=1) / pos.sum(dim=1).clamp_min(1)

    # eq. 5 / 9: hinge on the negatives, weighted by exp(T (alpha - d)) normalised per query
    logits = (temperature * (alpha - dist.detach())).masked_fill(~neg, float("-inf"))
    weights = torch.softmax(logits, dim=1).nan_to_num(0.0)  # a query with no negative: 0
    neg_hinge = (alpha - dist).clamp_min(0) * neg
    loss_n = (weights * neg_hinge).sum(dim=1)

    return (loss_p + lam * loss_n).mean()  # eq. 10, averaged over the queries


class RankedListLoss(nn.Module):
    """`ranked_list_loss` on the metric features (pre-BNNeck, as the triplet loss).

    `normalize`: L2-normalise the features first (as the triplet's flag), so distances
    lie in [0, 2], the range alpha = 2.0 and m = 1.3 bound (Wang et al. normalise their
    embeddings; paper 001 does not say). Unnormalised BN'd 512-d features lie ~32 apart:
    then almost no negative is non-trivial (eq. 7)."""

    uses = "features"
    batch_keys = ("labels",)
    # the positive lists come from the batch: it needs K > 1 items per identity
    needs_identity_batches = True

    def __init__(self, alpha: float = 2.0, margin: float = 1.3, temperature: float = 10.0,
                 lam: float = 1.0, normalize: bool = False) -> None:
        super().__init__()
        if not 0 < margin < alpha:
            raise ValueError(f"ranked_list: needs 0 < margin < alpha, got margin={margin}, "
                             f"alpha={alpha}")
        self.alpha, self.margin, self.temperature, self.lam = alpha, margin, temperature, lam
        self.normalize = normalize

    def forward(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> torch.Tensor:
        features = outputs[self.uses]
        if self.normalize:
            features = F.normalize(features, dim=1)
        return ranked_list_loss(features, batch["labels"], self.alpha, self.margin,
                                self.temperature, self.lam)
