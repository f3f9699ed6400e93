"""SE-ResNet: torchvision's ResNet with a squeeze-and-excitation gate in every block.

Paper 004 (sec. 2, Table 2; sec. 6.3, Tables 4-5) uses SE-ResNet50 [19] (Hu et al.,
"Squeeze-and-excitation networks", CVPR 2018) as a frame extractor beside ResNet50; its
"five blocks" are the stem and four stages of SE residual blocks (sec. 5), as here.
Hu et al.'s SE-ResNet module gates the residual branch before the addition with the
identity: squeeze (global average pool) -> FC to C/r -> ReLU -> FC to C -> sigmoid,
a per-channel scale in (0, 1) of the branch output, with r = 16.

Built by modifying torchvision's blocks, not copying them: the last BatchNorm of the
residual branch (`bn3` of a Bottleneck, `bn2` of a BasicBlock) becomes `BatchNormSE`,
a BatchNorm2d followed by the gate. Torchvision's block forward then runs
... -> conv -> BN -> SE -> + identity -> ReLU, Hu et al.'s placement. `BatchNormSE`
keeps BatchNorm2d's own state-dict keys ("layer1.0.bn3.weight", ...), so a torchvision
ResNet file initialises everything but the gates ("layer1.0.bn3.se.fc1.weight", ...),
which the load reports as missing. Torchvision's Bottleneck strides in its 3x3
convolution (ResNet v1.5); the original Caffe ResNet / SE-ResNet models stride in the
first 1x1, so their weights fit the shapes but not exactly the same function.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet

from .backbones import (BACKBONES, ResNetTrunk, load_pretrained, set_last_stride,
                        torchvision_resnet)


class SqueezeExcitation(nn.Module):
    """Channel gate of Hu et al. sec. 3: GAP -> FC(C/r) -> ReLU -> FC(C) -> sigmoid.

    The FCs are 1x1 convolutions on the pooled [N, C, 1, 1] vector (the same map).
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        if reduction < 1 or channels // reduction < 1:
            raise ValueError(f"SE reduction must be in [1, {channels}] for {channels} "
                             f"channels, got {reduction}")
        self.fc1 = nn.Conv2d(channels, channels // reduction, kernel_size=1)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, kernel_size=1)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample, per-channel scales in (0, 1), [N, C, 1, 1]."""
        squeezed = x.mean(dim=(2, 3), keepdim=True)
        return torch.sigmoid(self.fc2(self.relu(self.fc1(squeezed))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class BatchNormSE(nn.BatchNorm2d):
    """The residual branch's last BatchNorm2d, then `SqueezeExcitation` (child `se`)."""

    def __init__(self, num_features: int, reduction: int = 16) -> None:
        super().__init__(num_features)
        self.se = SqueezeExcitation(num_features, reduction)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.se(super().forward(x))


def _last_norm_name(block: nn.Module) -> str:
    if isinstance(block, resnet.Bottleneck):
        return "bn3"
    if isinstance(block, resnet.BasicBlock):
        return "bn2"
    raise TypeError(f"not a torchvision ResNet block: {type(block).__name__}")


def to_se(net: resnet.ResNet, reduction: int = 16) -> resnet.ResNet:
    """Replace, in place, the last BatchNorm of every block's residual branch (layers
    1-4) by `BatchNormSE`, keeping its BatchNorm parameters and statistics."""
    for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
        for block in layer:
            name = _last_norm_name(block)
            norm: nn.BatchNorm2d = getattr(block, name)
            gated = BatchNormSE(norm.num_features, reduction)
            missing, unexpected = gated.load_state_dict(norm.state_dict(), strict=False)
            assert not unexpected and all(key.startswith("se.") for key in missing)
            setattr(block, name, gated)
    return net


def se_resnet_net(depth: int = 18, reduction: int = 16) -> resnet.ResNet:
    """Torchvision's ResNet-`depth` (random weights) turned into SE-ResNet; its
    state-dict layout is the one `pretrained` files of `se_resnet` have."""
    return to_se(torchvision_resnet(depth, "se_resnet"), reduction)


@BACKBONES.register("se_resnet")
def build_se_resnet(
    depth: int = 18, last_stride: int = 1, pretrained: str | None = None,
    reduction: int = 16,
) -> ResNetTrunk:
    """SE-ResNet-`depth` (18/34/50/101); paper 004 uses depth 50. `reduction`: Hu et
    al.'s r (16).

    `pretrained`: a local state dict of the whole network (`se_resnet_net` layout); a
    plain torchvision ResNet file loads all but the gates, reported by name.
    """
    net = se_resnet_net(depth, reduction)
    set_last_stride(net, last_stride)
    if pretrained:
        load_pretrained(net, pretrained)
    return ResNetTrunk(net)
