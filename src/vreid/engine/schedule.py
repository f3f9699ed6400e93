"""Linear warm-up followed by a step (multi-step) decay, per epoch."""

from __future__ import annotations

from typing import Sequence

import torch


def warmup_multistep(
    optimizer: torch.optim.Optimizer,
    warmup_epochs: int,
    warmup_factor: float,
    milestones: Sequence[int],
    gamma: float,
) -> torch.optim.lr_scheduler.LambdaLR:
    milestones = sorted(milestones)

    def factor(epoch: int) -> float:
        warm = 1.0
        if epoch < warmup_epochs:
            alpha = epoch / warmup_epochs
            warm = warmup_factor * (1 - alpha) + alpha
        return warm * gamma ** sum(epoch >= m for m in milestones)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
