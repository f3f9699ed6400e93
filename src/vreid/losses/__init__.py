"""Losses, built from config as a list of {name, weight, kwargs} and summed by name.

A loss is called `loss(outputs, batch)`: the model's output dict and the training batch
dict (`clips`, `labels`, `camids`, plus extras the dataset adds). Each loss declares the
model output it consumes (`uses`) and the batch keys it reads (`batch_keys`), so models
return outputs, never losses, a missing input is named, and every term is logged under
its own name.

A loss may own parameters and buffers (a centre loss's centres, OIM's lookup table): they
belong to the trained module tree, so they move with the model, are checkpointed with it
(`CompositeLoss.state_dict`), and are optimized as set by `optimizer_settings` (see
`CompositeLoss.parameter_groups`). A term with a `bind_loss_weight(weight)` method is
told its configured weight (a centre loss undoes it in its centres' own update).
"""

from __future__ import annotations

import inspect
from typing import Any, Iterable, Mapping

import torch
from torch import nn

from ..registry import Registry
from .center import CenterLoss
from .cross_entropy import CrossEntropyLabelSmooth, RegionCrossEntropy
from .erasing_attention import ErasingAttentionLoss
from .oim import OIMLoss
from .ranked_list import RankedListLoss
from .segmentation import PixelCrossEntropy
from .similarity_triplet import SimilarityTriplet
from .triplet import BatchHardTriplet

LOSSES: Registry = Registry("loss")
LOSSES.register("cross_entropy")(CrossEntropyLabelSmooth)
LOSSES.register("triplet")(BatchHardTriplet)
LOSSES.register("pixel_cross_entropy")(PixelCrossEntropy)
LOSSES.register("region_cross_entropy")(RegionCrossEntropy)
LOSSES.register("ranked_list")(RankedListLoss)
LOSSES.register("center")(CenterLoss)
LOSSES.register("erasing_attention")(ErasingAttentionLoss)
LOSSES.register("oim")(OIMLoss)
LOSSES.register("similarity_triplet")(SimilarityTriplet)  # paper 002 step 2

# Keys of a loss's optimizer settings: `kind` ("sgd" | "adam") gives the loss its own
# optimizer; without it the loss's parameters join the main optimizer as their own group.
# `lr`, `weight_decay`, `momentum` override the main optimizer's for that group/optimizer.
OPTIMIZER_SETTING_KEYS = frozenset({"kind", "lr", "weight_decay", "momentum"})


class CompositeLoss(nn.Module):
    """Weighted sum of named loss terms.

    `optimizer_settings[name]` (from config) updates the term's own `optimizer_settings`
    attribute (its defaults, e.g. a paper's separate SGD for its centres).
    """

    def __init__(self, terms: Mapping[str, tuple[float, nn.Module]],
                 optimizer_settings: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        super().__init__()
        self.weights = {name: weight for name, (weight, _) in terms.items()}
        self.terms = nn.ModuleDict({name: module for name, (_, module) in terms.items()})
        self.optimizer_settings: dict[str, dict[str, Any]] = {}
        for name, module in self.terms.items():
            bind = getattr(module, "bind_loss_weight", None)
            if callable(bind):
                bind(self.weights[name])
            settings = {**getattr(module, "optimizer_settings", {}),
                        **(optimizer_settings or {}).get(name, {})}
            unknown = set(settings) - OPTIMIZER_SETTING_KEYS
            if unknown:
                raise ValueError(f"loss {name!r}: unknown optimizer setting(s) {sorted(unknown)}; "
                                 f"allowed: {sorted(OPTIMIZER_SETTING_KEYS)}")
            self.optimizer_settings[name] = settings

    def forward(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict:
        values = {}
        for name, module in self.terms.items():
            if module.uses not in outputs:
                raise KeyError(f"loss {name!r} needs model output {module.uses!r}; "
                               f"the model returned {sorted(outputs)}")
            missing = [k for k in getattr(module, "batch_keys", ()) if k not in batch]
            if missing:
                raise KeyError(f"loss {name!r} needs batch key(s) {missing}; "
                               f"the batch has {sorted(batch)}")
            values[name] = module(outputs, batch)
        values["total"] = sum(self.weights[n] * v for n, v in values.items())
        return values

    @property
    def needs_identity_batches(self) -> bool:
        """Whether a term mines pairs inside the batch (e.g. batch-hard triplet), so that the
        batches must be PK-sampled (P identities x K items); a term says so with a
        `needs_identity_batches = True` class attribute."""
        return any(getattr(m, "needs_identity_batches", False) for m in self.terms.values())

    def parameter_groups(self) -> list[tuple[str, list[nn.Parameter], dict[str, Any]]]:
        """(term name, trainable parameters, optimizer settings) of each term that has any."""
        groups = []
        for name, module in self.terms.items():
            params = [p for p in module.parameters() if p.requires_grad]
            if params:
                groups.append((name, params, dict(self.optimizer_settings[name])))
        return groups


def build_losses(specs: Iterable[Any], num_classes: int | None = None,
                 feature_dim: int | None = None) -> CompositeLoss:
    """`specs`: items with `name`, `weight`, `kwargs` (mappings or config objects).

    `kwargs["optimizer"]`, if given, is the term's optimizer settings (keys in
    OPTIMIZER_SETTING_KEYS) and is not passed to the loss. `num_classes` (the training
    set's identities) and `feature_dim` (the width of the model's metric `features`) are
    passed to a loss whose constructor takes them, unless its kwargs set them.
    """
    terms, settings_by_name = {}, {}
    for spec in specs:
        get = spec.get if isinstance(spec, Mapping) else lambda k, d=None, s=spec: getattr(s, k, d)
        name = get("name")
        if name in terms:
            raise ValueError(f"loss {name!r} listed twice")
        cls = LOSSES.get(name)
        kwargs = dict(get("kwargs") or {})
        settings = kwargs.pop("optimizer", None) or {}
        if not isinstance(settings, Mapping):
            raise ValueError(f"loss {name!r}: kwargs.optimizer must be a mapping, got {settings!r}")
        accepted = inspect.signature(cls).parameters
        for key, value in (("num_classes", num_classes), ("feature_dim", feature_dim)):
            if value is not None and key in accepted:
                kwargs.setdefault(key, value)
        missing = [k for k in ("num_classes", "feature_dim")
                   if k in accepted and accepted[k].default is inspect.Parameter.empty
                   and k not in kwargs]
        if missing:
            raise ValueError(f"loss {name!r} needs {missing} and the builder was not given it "
                             f"(feature_dim comes from the model's `embedding_dim`); set it "
                             f"in the loss's kwargs")
        terms[name] = (float(get("weight", 1.0)), cls(**kwargs))
        settings_by_name[name] = dict(settings)
    if not terms:
        raise ValueError("no loss configured")
    return CompositeLoss(terms, settings_by_name)


__all__ = ["LOSSES", "OPTIMIZER_SETTING_KEYS", "BatchHardTriplet", "CenterLoss", "CompositeLoss",
           "CrossEntropyLabelSmooth", "ErasingAttentionLoss", "OIMLoss", "RankedListLoss",
           "SimilarityTriplet", "build_losses"]
