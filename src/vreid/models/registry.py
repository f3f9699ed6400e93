"""The model registry: one interface, `build_model(name, **kwargs)`."""

from __future__ import annotations

from torch import nn

from ..registry import Registry

MODELS: Registry = Registry("model")


def build_model(name: str, **kwargs) -> nn.Module:
    return MODELS.get(name)(**kwargs)
