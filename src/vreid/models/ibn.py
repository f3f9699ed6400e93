"""ResNet-IBN-a: torchvision's ResNet with instance + batch normalisation in layers 1-3.

Paper 001 (sec. III-A, IV-B) takes ResNet50-IBN-a [21] (Pan et al., "Two at once:
enhancing learning and generalization capacities via IBN-Net", ECCV 2018) with last
stride 1 as its frame extractor. IBN-a: in every residual block of layers 1-3 the first
normalisation (`bn1`, after the first convolution) normalises half of its channels per
sample (InstanceNorm, affine) and the rest per batch (BatchNorm); the stem and layer4
stay BatchNorm. Paper 001 (sec. IV-B) picks it for its "ability to maintain effective
discriminative features and eliminate appearance variance".

The trunk is torchvision's ResNet with those `bn1` modules replaced (`ibn_a_resnet`).
The split module names its parts `IN` and `BN`, so its state-dict keys
("layer1.0.bn1.IN.weight", "layer1.0.bn1.BN.running_mean", ...) are those of IBN-Net's
released ResNet-IBN-a files, which `pretrained` can load as they are.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet

from .backbones import (BACKBONES, ResNetTrunk, load_pretrained, set_last_stride,
                        torchvision_resnet)


class InstanceBatchNorm2d(nn.Module):
    """IBN-a's split normalisation: InstanceNorm2d (affine) on the first floor(C/2)
    channels, BatchNorm2d on the other ceil(C/2), outputs concatenated in that order."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels < 2:
            raise ValueError(f"IBN needs at least 2 channels to split, got {channels}")
        self.num_features = channels
        self.half = channels // 2
        self.IN = nn.InstanceNorm2d(self.half, affine=True)
        self.BN = nn.BatchNorm2d(channels - self.half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        instance, batch = torch.split(x, [self.half, self.num_features - self.half], dim=1)
        return torch.cat([self.IN(instance.contiguous()), self.BN(batch.contiguous())], dim=1)


IBN_LAYERS = ("layer1", "layer2", "layer3")  # IBN-a: layer4 and the stem keep BatchNorm


def to_ibn_a(net: resnet.ResNet) -> resnet.ResNet:
    """Replace, in place, `bn1` of every block of layers 1-3 by `InstanceBatchNorm2d`."""
    for layer_name in IBN_LAYERS:
        for block in getattr(net, layer_name):
            block.bn1 = InstanceBatchNorm2d(block.bn1.num_features)
    return net


def ibn_a_resnet(depth: int = 18) -> resnet.ResNet:
    """Torchvision's ResNet-`depth` (random weights) turned into ResNet-IBN-a; its
    state-dict layout is the one `pretrained` files of `resnet_ibn_a` have."""
    return to_ibn_a(torchvision_resnet(depth, "resnet_ibn_a"))


@BACKBONES.register("resnet_ibn_a")
def build_resnet_ibn_a(
    depth: int = 18, last_stride: int = 1, pretrained: str | None = None
) -> ResNetTrunk:
    """ResNet-IBN-a-`depth` (18/34/50/101); paper 001 uses depth 50, last stride 1.

    `pretrained`: a local state dict of the whole network (`ibn_a_resnet` layout, e.g.
    IBN-Net's ImageNet release); a plain torchvision ResNet file loads too, all but the
    split `bn1` of layers 1-3, which the load reports by name.
    """
    net = ibn_a_resnet(depth)
    set_last_stride(net, last_stride)
    if pretrained:
        load_pretrained(net, pretrained)
    return ResNetTrunk(net)
