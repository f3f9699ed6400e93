"""Weighted centre loss (Wen et al., ECCV 2016; paper 001 sec. III-C, eq. 11 and 13).

    center_L = 1/2 sum_{i=1..B} ||f_i - c_{y_i}||^2                              (eq. 11)

"Weighted", as paper 001 uses it: the term enters the total loss scaled by beta (eq. 13,
beta = 5e-5 in sec. IV-B, following Luo et al.'s bag of tricks [19]; beta is this term's
`weight` in config), while the centres are updated by their OWN SGD step that beta does
not shrink: "the parameters of the classes in the mini-batch are updated in each
iteration by averaging the features of these classes" (sec. III-C). That is Wen et
al.'s centre update (their eq. 4), which this term hands its optimizer as the centres'
gradient:

    delta c_j = sum_{i: y_i = j} (c_j - f_i) / (1 + n_j),   c_j <- c_j - lr * delta c_j

with lr 0.5, the centre learning rate of Luo et al. [19] (paper 001 gives none). The
features get the gradient of beta * eq. 11, i.e. beta (f_i - c_{y_i}). The composite
loss tells the term its weight (`bind_loss_weight`) so the centres' step can undo it,
as Luo et al. rescale the centre gradient by 1 / beta.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn


def centre_update(features: torch.Tensor, labels: torch.Tensor,
                  centres: torch.Tensor) -> torch.Tensor:
    """Wen et al.'s eq. 4 for every centre ([C, D]; zero for classes not in the batch)."""
    counts = torch.bincount(labels, minlength=len(centres)).to(centres.dtype)
    sums = torch.zeros_like(centres).index_add_(0, labels, features)
    return (counts[:, None] * centres - sums) / (1 + counts[:, None])


class CenterLoss(nn.Module):
    """Eq. 11 on the metric features; learnable centres [num_classes, feature_dim]."""

    uses = "features"
    batch_keys = ("labels",)

    def __init__(self, num_classes: int, feature_dim: int, reduction: str = "sum") -> None:
        super().__init__()
        if num_classes < 1 or feature_dim < 1:
            raise ValueError(f"center loss: needs num_classes >= 1 and feature_dim >= 1, got "
                             f"{num_classes} and {feature_dim}")
        if reduction not in ("sum", "mean"):
            raise ValueError(f"center loss: reduction must be 'sum' (eq. 11) or 'mean', "
                             f"got {reduction!r}")
        self.reduction = reduction
        self.centres = nn.Parameter(torch.randn(num_classes, feature_dim))
        # the paper's own SGD for the centres (plain SGD, Luo et al.'s lr 0.5); config's
        # kwargs.optimizer overrides
        self.optimizer_settings = {"kind": "sgd", "lr": 0.5, "momentum": 0.0,
                                   "weight_decay": 0.0}
        self.loss_weight = 1.0

    def bind_loss_weight(self, weight: float) -> None:
        """The weight (beta) the composite loss scales this term by; the centres' gradient
        is divided by it (a zero weight leaves the centres still)."""
        self.loss_weight = float(weight)

    def forward(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> torch.Tensor:
        features, labels = outputs[self.uses].float(), batch["labels"]
        num_classes, dim = self.centres.shape
        if features.dim() != 2 or features.shape[1] != dim:
            raise ValueError(f"center loss: features must be [B, {dim}] (feature_dim), got "
                             f"{list(features.shape)}")
        if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"center loss: labels must lie in [0, {num_classes}), got "
                             f"{labels.min().item()}..{labels.max().item()}")
        centres = self.centres.detach()
        # eq. 11; the features' gradient only (the centres follow their own update below)
        value = 0.5 * (features - centres[labels]).pow(2).sum()
        if self.reduction == "mean":
            value = value / max(len(labels), 1)
        if not self.centres.requires_grad:
            return value
        # zero-valued term whose gradient on the centres is delta c / weight: after the
        # composite's * weight, the centres' optimizer sees Wen et al.'s delta c itself
        scale = 1.0 / self.loss_weight if self.loss_weight != 0 else 0.0
        delta = centre_update(features.detach(), labels, centres) * scale
        surrogate = (self.centres * delta).sum()
        return value + (surrogate - surrogate.detach())  # exactly + 0 in value
