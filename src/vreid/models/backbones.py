"""Frame-level CNN backbones built with torchvision's model builders.

A backbone maps frames [N, C, H, W] to feature maps [N, D, h, w] and exposes
`out_channels`. Weights never come from the network: `pretrained` is a local file.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torchvision.models import resnet

from ..registry import Registry

BACKBONES: Registry = Registry("backbone")

_RESNETS = {
    18: resnet.resnet18,
    34: resnet.resnet34,
    50: resnet.resnet50,
    101: resnet.resnet101,
}


def load_pretrained(module: nn.Module, path: str | Path) -> None:
    """Load a local state dict (weights only, never arbitrary pickles)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained weights not found: {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    missing, unexpected = module.load_state_dict(state, strict=False)
    loaded = len(state) - len(unexpected)
    if loaded == 0:
        raise ValueError(f"{path}: no tensor matches the backbone's parameters")


class ResNetTrunk(nn.Module):
    """A torchvision ResNet without its pooling and classifier."""

    def __init__(self, net: resnet.ResNet, width_stages: int = 4) -> None:
        super().__init__()
        stages = [net.layer1, net.layer2, net.layer3, net.layer4][:width_stages]
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.stages = nn.Sequential(*stages)
        last = stages[-1][-1]
        self.out_channels = (last.bn3 if hasattr(last, "bn3") else last.bn2).num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))


@BACKBONES.register("resnet")
def build_resnet(
    depth: int = 18, last_stride: int = 1, pretrained: str | None = None
) -> ResNetTrunk:
    """ResNet-`depth`; last_stride=1 keeps a larger final map, as re-ID practice does."""
    if depth not in _RESNETS:
        raise ValueError(f"resnet depth must be one of {sorted(_RESNETS)}, got {depth}")
    net = _RESNETS[depth](weights=None)
    if pretrained:
        load_pretrained(net, pretrained)
    if last_stride == 1:
        block = net.layer4[0]
        conv = block.conv2 if hasattr(block, "bn3") else block.conv1
        conv.stride = (1, 1)
        if block.downsample is not None:
            block.downsample[0].stride = (1, 1)
    elif last_stride != 2:
        raise ValueError(f"last_stride must be 1 or 2, got {last_stride}")
    return ResNetTrunk(net)
