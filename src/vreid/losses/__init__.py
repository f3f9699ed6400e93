"""Losses, built from config as a list of {name, weight, kwargs} and summed by name.

Each loss declares which model output it consumes (`uses`), so models return outputs,
never losses, and every term is logged under its own name.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import torch
from torch import nn

from ..registry import Registry
from .cross_entropy import CrossEntropyLabelSmooth, RegionCrossEntropy
from .segmentation import PixelCrossEntropy
from .triplet import BatchHardTriplet

LOSSES: Registry = Registry("loss")
LOSSES.register("cross_entropy")(CrossEntropyLabelSmooth)
LOSSES.register("triplet")(BatchHardTriplet)
LOSSES.register("pixel_cross_entropy")(PixelCrossEntropy)
LOSSES.register("region_cross_entropy")(RegionCrossEntropy)


class CompositeLoss(nn.Module):
    def __init__(self, terms: Mapping[str, tuple[float, nn.Module]]) -> None:
        super().__init__()
        self.weights = {name: weight for name, (weight, _) in terms.items()}
        self.terms = nn.ModuleDict({name: module for name, (_, module) in terms.items()})

    def forward(self, outputs: Mapping[str, torch.Tensor], targets: torch.Tensor) -> dict:
        values = {}
        for name, module in self.terms.items():
            if module.uses not in outputs:
                raise KeyError(f"loss {name!r} needs model output {module.uses!r}; "
                               f"the model returned {sorted(outputs)}")
            values[name] = module(outputs[module.uses], targets)
        values["total"] = sum(self.weights[n] * v for n, v in values.items())
        return values


def build_losses(specs: Iterable[Any]) -> CompositeLoss:
    """`specs`: items with `name`, `weight`, `kwargs` (mappings or config objects)."""
    terms = {}
    for spec in specs:
        get = spec.get if isinstance(spec, Mapping) else lambda k, d=None, s=spec: getattr(s, k, d)
        name = get("name")
        if name in terms:
            raise ValueError(f"loss {name!r} listed twice")
        terms[name] = (float(get("weight", 1.0)), LOSSES.get(name)(**(get("kwargs") or {})))
    if not terms:
        raise ValueError("no loss configured")
    return CompositeLoss(terms)


__all__ = ["LOSSES", "BatchHardTriplet", "CompositeLoss", "CrossEntropyLabelSmooth", "build_losses"]
