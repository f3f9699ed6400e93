"""Embedding heads."""

from __future__ import annotations

import torch
from torch import nn


class BNNeck(nn.Module):
    """Batch-norm neck (Luo et al., "bag of tricks"; paper 001 sec. 3).

    The triplet loss sees the feature before BN, the ID classifier the one after it;
    the BN'd feature is the test embedding. The BN bias is frozen at zero.
    """

    def __init__(self, dim: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(dim)
        self.bn.bias.requires_grad_(False)
        nn.init.constant_(self.bn.weight, 1.0)
        nn.init.constant_(self.bn.bias, 0.0)
        self.classifier = nn.Linear(dim, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        embedding = self.bn(features)
        if not self.training:
            return {"embedding": embedding}
        return {"features": features, "embedding": embedding, "logits": self.classifier(embedding)}
