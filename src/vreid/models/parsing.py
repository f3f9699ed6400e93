"""Human-parsing network of EgoReID (paper 000, sec. 4.2 and appendix D).

A dilated trunk with output stride 16 followed by an atrous spatial pyramid pooling
(ASPP) head, trained on LIP's 20 classes. The parser is PER-FRAME: input is an image
batch [B, 3, H, W] (fold a clip's time axis into the batch before calling it).

Contract: train mode returns ``{"seg_logits": [B, num_classes, H, W]}``; eval mode
returns the logits tensor itself. Logits are upsampled bilinearly to the input size.

Trunks:
- ``inception_v3`` (paper profile): torchvision Inception-V3 up to Mixed_7c
  (BACKBONES' ``inception_v3`` at ``output_stride=16``; with ImageNet weights it applies
  torchvision's input transform, see ``backbones.InceptionInputTransform``). Sec. 4.2:
  "output stride reduced from 32 to 16 ... convolutions in the last Inception block
  replaced with dilated convolutions": Mixed_7a loses its stride (its convolutions and
  pool become stride 1 with padding 1, so they keep the map size) and every spatial
  convolution of Mixed_7b / Mixed_7c is dilated by 2. Torchvision keeps Inception's
  unpadded ("valid") stem and reductions, so the map is a little smaller than
  input / 16: 128x64 -> 6x2, 256x128 -> 14x6, 299x299 -> 17x17, 512x512 -> 30x30.
  Inputs need at least 43 pixels per side.
- ``resnet`` (tiny CPU profile; BACKBONES' ``resnet_dilated``): torchvision
  ResNet-18/34/50 whose last stage has its stride removed and its 3x3 convolutions
  dilated by 2 (DeepLab-style; done by hand because torchvision refuses dilation in
  BasicBlock). Map = ceil(input / 16).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import BACKBONES
from .registry import MODELS, ModelInfo

# The parser's `backbone` value -> (BACKBONES trunk, whether `depth` is passed to it,
# fixed trunk kwargs). ASPP's rates assume output stride 16, so only OS16 trunks are
# offered; "resnet" keeps meaning the dilated ResNet, as params.yaml and configs/ have
# always written it.
PARSER_TRUNKS: dict[str, tuple[str, bool, dict]] = {
    "inception_v3": ("inception_v3", False, {"output_stride": 16}),
    "resnet": ("resnet_dilated", True, {}),
}

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

    def map_logits(self, images: torch.Tensor) -> torch.Tensor:
        """Logits at the trunk's map size (output stride 16), before upsampling."""
        if images.dim() != 4:
            raise ValueError(f"ParsingNet is per-frame: expected [B, 3, H, W], got {tuple(images.shape)}")
        return self.head(self.backbone(images))

    def forward(self, images: torch.Tensor):
        logits = self.map_logits(images)
        logits = F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=False)
        return {"seg_logits": logits} if self.training else logits


@MODELS.register("parsing_net", info=ModelInfo(
    tiny_kwargs={"backbone": "resnet", "depth": 18, "aspp_rates": [1, 2], "aspp_channels": 8},
    per_frame=True, scoring=None))
def build_parsing_net(
    num_classes: int = 20,
    backbone: str = "resnet",
    depth: int = 18,
    aspp_rates: Sequence[int] = (6, 12, 18),
    aspp_channels: int = 256,
    dropout: float = 0.1,
    pretrained: str | None = None,
) -> ParsingNet:
    """`backbone`: a PARSER_TRUNKS name: "inception_v3" (paper) or "resnet" (`depth`
    18/34/50, CPU profile).

    `pretrained`: a local state-dict file of the torchvision classifier (never downloaded).
    Rates (6, 12, 18) are DeepLab v3's for output stride 16.
    """
    if backbone not in PARSER_TRUNKS:
        raise ValueError(f"parsing backbone must be one of {sorted(PARSER_TRUNKS)}, "
                         f"got {backbone!r}")
    trunk_name, takes_depth, fixed = PARSER_TRUNKS[backbone]
    kwargs = {**fixed, **({"depth": depth} if takes_depth else {})}
    trunk = BACKBONES.get(trunk_name)(pretrained=pretrained, **kwargs)
    return ParsingNet(trunk, num_classes, tuple(int(r) for r in aspp_rates), aspp_channels, dropout)
