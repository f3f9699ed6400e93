"""Embedding heads."""

from __future__ import annotations

import torch
from torch import nn

# Where the metric losses read the clip feature (the "features" output); the ID classifier
# and the test embedding always use the BN output.
NECKS = ("bnneck", "before_both")


class BNNeck(nn.Module):
    """Batch-norm neck; the BN bias is frozen at zero, the classifier has no bias.

    `neck` places the BN layer:
    - "bnneck" (Luo et al., "bag of tricks", paper 001's ref. [19]; the default): the
      metric losses (triplet) see the feature before BN, the ID classifier the one after
      it; the classifier is initialised N(0, 0.001^2).
    - "before_both" (paper 001 sec. III-B): BN before both the classifier and the metric
      losses, which the paper reports gives more robust features ("our experiments
      conversely show that adding BNNeck layer before both of the FC layer and DML loss
      functions results in more robust features"); its bias-free classifier is Kaiming
      initialised, as that section says.
    In both the BN'd feature is the test embedding.
    """

    def __init__(self, dim: int, num_classes: int, neck: str = "bnneck") -> None:
        super().__init__()
        if neck not in NECKS:
            raise ValueError(f"neck must be one of {NECKS}, got {neck!r}")
        self.neck = neck
        self.bn = nn.BatchNorm1d(dim)
        self.bn.bias.requires_grad_(False)
        nn.init.constant_(self.bn.weight, 1.0)
        nn.init.constant_(self.bn.bias, 0.0)
        self.classifier = nn.Linear(dim, num_classes, bias=False)
        if neck == "before_both":
            nn.init.kaiming_normal_(self.classifier.weight)
        else:
            nn.init.normal_(self.classifier.weight, std=0.001)

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        embedding = self.bn(features)
        if not self.training:
            return {"embedding": embedding}
        metric = embedding if self.neck == "before_both" else features
        return {"features": metric, "embedding": embedding, "logits": self.classifier(embedding)}
