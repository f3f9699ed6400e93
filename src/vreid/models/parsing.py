"""Human-parsing network of EgoReID (paper 000, sec. 4.2 and appendix D).

A dilated trunk with output stride 16 followed by an atrous spatial pyramid pooling
(ASPP) head, trained on LIP's 20 classes. The parser is PER-FRAME: input is an image
batch [B, 3, H, W] (fold a clip's time axis into the batch before calling it).

Contract: train mode returns ``{"seg_logits": [B, num_classes, H, W]}``; eval mode
returns the logits tensor itself. Logits are upsampled bilinearly to the input size.

Trunks:
- ``inception_v3`` (paper profile): torchvision Inception-V3 up to Mixed_7c. Sec. 4.2:
  "output stride reduced from 32 to 16 ... convolutions in the last Inception block
  replaced with dilated convolutions": Mixed_7a loses its stride (its convolutions and
  pool become stride 1 with padding 1, so they keep the map size) and every spatial
  convolution of Mixed_7b / Mixed_7c is dilated by 2. Torchvision keeps Inception's
  unpadded ("valid") stem and reductions, so the map is a little smaller than
  input / 16: 128x64 -> 6x2, 256x128 -> 14x6, 299x299 -> 17x17, 512x512 -> 30x30.
  Inputs need at least 43 pixels per side.
- ``resnet`` (tiny CPU profile): torchvision ResNet-18/34/50 whose last stage has its
  stride removed and its 3x3 convolutions dilated by 2 (DeepLab-style; done by hand
  because torchvision refuses dilation in BasicBlock). Map = ceil(input / 16).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import inception as tv_inception
from torchvision.models import resnet as tv_resnet

from .backbones import load_pretrained
from .registry import MODELS

_RESNETS = {18: tv_resnet.resnet18, 34: tv_resnet.resnet34, 50: tv_resnet.resnet50}


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
            raise ValueError(f"parsing resnet depth must be one of {sorted(_RESNETS)}, got {depth}")
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

    def __init__(self, block: tv_inception.InceptionD) -> None:
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
        net = tv_inception.inception_v3(weights=None, aux_logits=False, init_weights=True)
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


def _conv_bn_relu(cin: int, cout: int, kernel: int = 1, rate: int = 1) -> nn.Sequential:
    pad = 0 if kernel == 1 else rate
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=pad, dilation=rate, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling (sec. 4.2, after Chen et al. [10], DeepLab v3).

    Branches: one 1x1 conv, one 3x3 conv per atrous rate, and image pooling (global
    average -> 1x1 conv -> broadcast back); concatenated, projected by a 1x1 conv.
    The pooling branch has no BatchNorm so a batch of one image can still train.
    """

    def __init__(self, in_channels: int, channels: int, rates: Sequence[int], dropout: float) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [_conv_bn_relu(in_channels, channels)]
            + [_conv_bn_relu(in_channels, channels, 3, int(r)) for r in rates])
        self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, channels, 1),
                                        nn.ReLU(inplace=True))
        self.project = nn.Sequential(_conv_bn_relu(channels * (len(rates) + 2), channels),
                                     nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.image_pool(x).expand(-1, -1, x.shape[-2], x.shape[-1])
        return self.project(torch.cat([b(x) for b in self.branches] + [pooled], 1))


class ParsingNet(nn.Module):
    """Dilated trunk (OS16) + ASPP + 1x1 classifier, logits upsampled to the input size.

    `backbone` and `head` are separate attributes so the trainer can give them the
    paper's different learning rates (appendix D: 0.01 trunk, 0.1 ASPP and classifier).
    """

    def __init__(self, backbone: nn.Module, num_classes: int, aspp_rates: Sequence[int],
                 aspp_channels: int, dropout: float) -> None:
        super().__init__()
        self.backbone = backbone
        self.num_classes = num_classes
        self.head = nn.Sequential(ASPP(backbone.out_channels, aspp_channels, aspp_rates, dropout),
                                  nn.Conv2d(aspp_channels, num_classes, 1))

    def forward(self, images: torch.Tensor):
        if images.dim() != 4:
            raise ValueError(f"ParsingNet is per-frame: expected [B, 3, H, W], got {tuple(images.shape)}")
        logits = self.head(self.backbone(images))
        logits = F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=False)
        return {"seg_logits": logits} if self.training else logits


@MODELS.register("parsing_net")
def build_parsing_net(
    num_classes: int = 20,
    backbone: str = "resnet",
    depth: int = 18,
    aspp_rates: Sequence[int] = (6, 12, 18),
    aspp_channels: int = 256,
    dropout: float = 0.1,
    pretrained: str | None = None,
) -> ParsingNet:
    """`backbone`: "inception_v3" (paper) or "resnet" (`depth` 18/34/50, CPU profile).

    `pretrained`: a local state-dict file of the torchvision classifier (never downloaded).
    Rates (6, 12, 18) are DeepLab v3's for output stride 16.
    """
    if backbone == "inception_v3":
        trunk: nn.Module = InceptionV3OS16(pretrained)
    elif backbone == "resnet":
        trunk = ResNetOS16(depth, pretrained)
    else:
        raise ValueError(f"parsing backbone must be 'inception_v3' or 'resnet', got {backbone!r}")
    return ParsingNet(trunk, num_classes, tuple(int(r) for r in aspp_rates), aspp_channels, dropout)
