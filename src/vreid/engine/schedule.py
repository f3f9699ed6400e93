"""Optimizers and the learning-rate schedule: linear warm-up, then step decay per epoch."""

from __future__ import annotations

from typing import Any, Iterable, Protocol, Sequence

import torch
from torch import nn


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
                   momentum: float = 0.9, adam_eps: float = 1e-8) -> torch.optim.Optimizer:
    """Adam (`adam_eps`: its epsilon, torch's 1e-8 by default; paper 003 sec. III-C uses
    1e-4), or Nesterov SGD (the papers' choice; plain SGD at momentum 0, as a centre
    loss's own update uses); `params` may be parameter groups."""
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, eps=adam_eps)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                               nesterov=momentum > 0)
    raise ValueError(f"optimizer must be 'adam' or 'sgd', got {kind!r}")


class HasParameterGroups(Protocol):
    """What `make_optimizers` needs of a criterion (`losses.CompositeLoss` has it)."""

    def parameter_groups(self) -> list[tuple[str, list[nn.Parameter], dict[str, Any]]]: ...


def make_optimizers(kind: str, model_params: Iterable, criterion: HasParameterGroups, lr: float,
                    weight_decay: float, momentum: float = 0.9, adam_eps: float = 1e-8
                    ) -> tuple[torch.optim.Optimizer, dict[str, torch.optim.Optimizer]]:
    """The main optimizer and the loss terms' own optimizers ({term name: optimizer}).

    `model_params`: the model's parameters or parameter groups, kept first and unchanged,
    so with a parameterless criterion this is `make_optimizer(kind, model_params, ...)`.
    A loss term with parameters joins the main optimizer as one more group (and follows
    its schedule), with its `lr` / `weight_decay` / `momentum` settings overriding; a term
    whose settings name a `kind` gets its own optimizer instead (not scheduled).
    """
    groups = list(model_params)
    loss_groups, own = [], {}
    for name, params, settings in criterion.parameter_groups():
        own_kind = settings.pop("kind", None)
        if own_kind is None:
            loss_groups.append({"params": params, **settings})
            continue
        try:
            own[name] = make_optimizer(own_kind, params, settings.get("lr", lr),
                                       settings.get("weight_decay", weight_decay),
                                       settings.get("momentum", momentum))
        except ValueError as exc:
            raise ValueError(f"loss {name!r}: {exc}") from None
    if loss_groups:
        if groups and not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        groups += loss_groups
    return make_optimizer(kind, groups, lr, weight_decay, momentum, adam_eps), own
