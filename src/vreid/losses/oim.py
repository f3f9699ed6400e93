"""Online Instance Matching (OIM) loss (Xiao et al., CVPR 2017; paper 003 sec. III-C, eq. 6).

    p_i = exp(e_i^T v / tau) / (sum_j exp(e_j^T v / tau) + sum_k exp(u_k^T v / tau))  (eq. 6)

and the loss is -log p_y of each labelled sample. E [C, D] is a lookup table of the C
labelled identities' features, U [Q, D] a circular queue of unlabelled features from
recent mini-batches. Paper 003: "the temperature scalar is set to be 0.1 and Q is set to
be 5,000". E and U are not learned by gradient: after each training forward (Xiao et
al.), a labelled sample x of identity y updates e_y <- gamma e_y + (1 - gamma) x, then
e_y is L2-normalised; an unlabelled sample is pushed into the queue, overwriting the
oldest entry. gamma = 0.5 is Xiao et al.'s value; paper 003 prints none. Features are
L2-normalised first (the PersonVLAD output already is, sec. III-B).

Both tables and the queue's write pointer and fill count are buffers: they move with the
model and are saved in checkpoints (`CompositeLoss.state_dict`). Queue slots never
written are left out of eq. 6's sum (not counted as zero vectors, which would add
exp(0) = 1 each to the partition function).

"Unlabelled" here means a batch label < 0. On MARS-layout data (the MARS reader) junk
tracklets (pid -1) are skipped and distractors (pid 0) appear only in the test split, so
a MARS training batch is all labelled (labels 0..C-1 after relabelling) and eq. 6 reduces
to the lookup-table term; a dataset that wants distractor tracklets in the queue gives
them label -1. Paper 003's sub-sampling of the partition function (sec. IV, Fig. 10) is
not implemented.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

TEMPERATURE = 0.1  # sec. III-C
QUEUE_SIZE = 5000  # sec. III-C
MOMENTUM = 0.5  # Xiao et al.'s lookup-table momentum (paper 003 prints none)


class OIMLoss(nn.Module):
    """Eq. 6 on the metric features; lookup table [num_classes, feature_dim] and a queue."""

    uses = "features"
    batch_keys = ("labels",)

    def __init__(self, num_classes: int, feature_dim: int, temperature: float = TEMPERATURE,
                 queue_size: int = QUEUE_SIZE, momentum: float = MOMENTUM) -> None:
        super().__init__()
        if num_classes < 1 or feature_dim < 1 or queue_size < 0:
            raise ValueError(f"oim loss: needs num_classes >= 1, feature_dim >= 1 and "
                             f"queue_size >= 0, got {num_classes}, {feature_dim}, {queue_size}")
        if temperature <= 0 or not 0.0 <= momentum <= 1.0:
            raise ValueError(f"oim loss: needs temperature > 0 and momentum in [0, 1], got "
                             f"{temperature} and {momentum}")
        self.temperature, self.momentum = float(temperature), float(momentum)
        self.register_buffer("lookup", torch.zeros(num_classes, feature_dim))  # E
        self.register_buffer("queue", torch.zeros(queue_size, feature_dim))  # U
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))  # next write
        self.register_buffer("queue_count", torch.zeros((), dtype=torch.long))  # filled slots

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """[B, C + filled Q] scores e_j^T v / tau, then u_k^T v / tau (eq. 6's exponents)."""
        # cat copies: autograd keeps the copy for the backward while `update` writes the
        # buffers in place
        tables = torch.cat([self.lookup, self.queue[:int(self.queue_count)]])
        return features @ tables.t() / self.temperature

    @torch.no_grad()
    def update(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """Lookup-table momentum update for labels >= 0 (in batch order, so a repeated
        identity is updated once per sample), queue push for labels < 0."""
        for x, y in zip(features[labels >= 0], labels[labels >= 0].tolist()):
            self.lookup[y] = F.normalize(self.momentum * self.lookup[y] + (1 - self.momentum) * x,
                                         dim=0)
        self.enqueue(features[labels < 0])

    @torch.no_grad()
    def enqueue(self, features: torch.Tensor) -> None:
        """Write [n, D] features at the pointer, wrapping around (circular queue)."""
        size, n = len(self.queue), len(features)
        if size == 0 or n == 0:
            return
        kept = features[-size:]  # of more than Q at once only the last Q survive
        start = (int(self.queue_ptr) + n - len(kept)) % size
        slots = (start + torch.arange(len(kept), device=self.queue.device)) % size
        self.queue[slots] = kept.to(self.queue.dtype)
        self.queue_ptr.fill_((start + len(kept)) % size)
        self.queue_count.fill_(min(int(self.queue_count) + n, size))

    def forward(self, outputs: Mapping[str, Any], batch: Mapping[str, Any]) -> torch.Tensor:
        features, labels = outputs[self.uses].float(), batch["labels"]
        num_classes, dim = self.lookup.shape
        if features.dim() != 2 or features.shape[1] != dim:
            raise ValueError(f"oim loss: features must be [B, {dim}] (feature_dim), got "
                             f"{list(features.shape)}")
        if len(labels) and labels.max() >= num_classes:
            raise ValueError(f"oim loss: labels must be < {num_classes} (negative = unlabelled), "
                             f"got {labels.max().item()}")
        features = F.normalize(features, dim=1)
        labelled = labels >= 0
        if labelled.any():
            # eq. 6: -log p_y, averaged over the labelled samples
            value = F.cross_entropy(self.logits(features[labelled]), labels[labelled])
        else:
            value = features.sum() * 0.0
        if self.training and not torch.compiler.is_exporting():
            self.update(features.detach(), labels)
        return value
