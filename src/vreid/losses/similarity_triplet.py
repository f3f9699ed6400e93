"""Hard-mining triplet loss on negative similarities (paper 002 sec. 3.2, step 2): eq. 7
with the distance d replaced by -psi, psi the model's similarity of two sequences (its
"similarity" output, [B, B] over every pair of the batch's sequences)."""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn


class SimilarityTriplet(nn.Module):
    """[m + max_p(-s_ap) - min_n(-s_an)]_+ = [m - min_p s_ap + max_n s_an]_+ per anchor.

    The paper gives no margin for step 2 (its training details are in a supplementary
    document we do not have); 0.3, the repository's triplet default, on cosine-valued
    similarities in [-1, 1], is our choice. Positives exclude the anchor itself: eq. 7's
    max over p = 1..K includes it, harmless for a distance (d(a, a) = 0 never wins the
    max), but a learned psi(a, a) need not be the largest similarity. Mean over anchors
    (eq. 7 sums; the repository's `triplet` averages, so do we).
    """

    uses = "similarity"
    batch_keys = ("labels",)
    needs_identity_batches = True

    def __init__(self, margin: float = 0.3) -> None:
        super().__init__()
        self.margin = margin

    def forward(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> torch.Tensor:
        s, targets = outputs[self.uses], batch["labels"]
        if s.dim() != 2 or s.shape[0] != s.shape[1] or s.shape[0] != targets.shape[0]:
            raise ValueError(f"expected similarities [B, B] for {targets.shape[0]} labels, "
                             f"got {tuple(s.shape)}")
        d = -s  # sec. 3.2: "euclidean distances replaced by negative clip similarities"
        same = targets.unsqueeze(0) == targets.unsqueeze(1)
        positive = same & ~torch.eye(len(targets), dtype=torch.bool, device=s.device)
        hardest_pos = d.masked_fill(~positive, float("-inf")).amax(dim=1)
        hardest_neg = d.masked_fill(same, float("inf")).amin(dim=1)
        valid = torch.isfinite(hardest_neg) & positive.any(dim=1)
        if not valid.any():
            raise ValueError("similarity triplet needs >= 2 identities with >= 2 samples each")
        return F.relu(hardest_pos - hardest_neg + self.margin)[valid].mean()
