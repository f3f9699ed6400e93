"""Frame-level CNN backbones built with torchvision's model builders.

A backbone maps frames [N, C, H, W] to feature maps [N, D, h, w] and exposes
`out_channels`. Weights never come from the network: `pretrained` is a local file.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import inception, resnet

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


def _dilate(conv: nn.Conv2d, rate: int) -> None:
    """Dilate a conv along each axis whose kernel is wider than 1, keeping the map size."""
    kh, kw = conv.kernel_size
    conv.dilation = (rate if kh > 1 else 1, rate if kw > 1 else 1)
    conv.padding = (rate * (kh // 2), rate * (kw // 2))


class ResNetOS16(nn.Module):
    """ResNet trunk whose last stage is stride-free and dilated: output stride 16."""

    def __init__(self, depth: int = 18, pretrained: str | None = None) -> None:
        super().__init__()
        if depth not in _RESNETS:
            raise ValueError(f"resnet depth must be one of {sorted(_RESNETS)}, got {depth}")
        net = _RESNETS[depth](weights=None)
        if pretrained:
            load_pretrained(net, pretrained)
        for block in net.layer4:
            for conv in (m for m in block.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)):
                if conv.stride == (2, 2):
                    conv.stride = (1, 1)  # the stride-carrying conv keeps rate 1 (DeepLab)
                else:
                    _dilate(conv, 2)
            if block.downsample is not None:
                block.downsample[0].stride = (1, 1)
        self.body = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool,
                                  net.layer1, net.layer2, net.layer3, net.layer4)
        last = net.layer4[-1]
        self.out_channels = (last.bn3 if hasattr(last, "bn3") else last.bn2).num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _StrideFreeReductionB(nn.Module):
    """Mixed_7a (InceptionD) rebuilt with stride 1 and padding 1: sec. 4.2, OS 32 -> 16.

    Reuses the original convolutions (and so their weights); only strides, paddings and
    the pool change.
    """

    def __init__(self, block: inception.InceptionD) -> None:
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = block.branch3x3_1, block.branch3x3_2
        self.branch7x7x3_1, self.branch7x7x3_2 = block.branch7x7x3_1, block.branch7x7x3_2
        self.branch7x7x3_3, self.branch7x7x3_4 = block.branch7x7x3_3, block.branch7x7x3_4
        for conv in (self.branch3x3_2.conv, self.branch7x7x3_4.conv):
            conv.stride, conv.padding = (1, 1), (1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch3x3_2(self.branch3x3_1(x))
        b = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        c = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        return torch.cat([a, b, c], 1)


class InceptionV3OS16(nn.Module):
    """Inception-V3 trunk up to Mixed_7c with output stride 16 (sec. 4.2)."""

    _STEM = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1",
             "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a",
             "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e")

    def __init__(self, pretrained: str | None = None) -> None:
        super().__init__()
        net = inception.inception_v3(weights=None, aux_logits=False, init_weights=True)
        if pretrained:
            load_pretrained(net, pretrained)
        layers = [(name, getattr(net, name)) for name in self._STEM]
        layers.append(("Mixed_7a", _StrideFreeReductionB(net.Mixed_7a)))
        for name in ("Mixed_7b", "Mixed_7c"):
            block = getattr(net, name)
            for conv in (m for m in block.modules() if isinstance(m, nn.Conv2d)):
                if conv.kernel_size != (1, 1):
                    _dilate(conv, 2)
            layers.append((name, block))
        self.body = nn.Sequential(OrderedDict(layers))
        self.out_channels = 2048

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@BACKBONES.register("resnet_dilated")
def build_resnet_dilated(depth: int = 18, pretrained: str | None = None) -> ResNetOS16:
    """ResNet with a dilated, stride-free last stage (output stride 16, DeepLab-style)."""
    return ResNetOS16(depth, pretrained)


@BACKBONES.register("inception_v3")
def build_inception_v3(pretrained: str | None = None) -> InceptionV3OS16:
    """Inception-V3 up to Mixed_7c, output stride 16 (paper 000's frame extractor / parser)."""
    return InceptionV3OS16(pretrained)
