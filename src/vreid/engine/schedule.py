"""Optimizers and the learning-rate schedule: linear warm-up, then step decay per epoch."""

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


def make_optimizer(kind: str, params, lr: float, weight_decay: float,
                   momentum: float = 0.9) -> torch.optim.Optimizer:
    """Adam, or Nesterov SGD (the papers' choice); `params` may be parameter groups."""
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                               nesterov=True)
    raise ValueError(f"optimizer must be 'adam' or 'sgd', got {kind!r}")
