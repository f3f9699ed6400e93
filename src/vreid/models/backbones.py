"""Frame-level CNN trunks built with torchvision's model builders.

A frame trunk maps frames [N, C, H, W] to feature maps [N, D, h, w]. It is a sequence
of named stages (`named_stages()`, applied in order = `forward`) and exposes
`out_channels` and `stage_channels` (channels after each stage), so the clip adapter
(`clip_backbone.FrameBackbone`) can run modules between stages. Weights never come from
the network: `pretrained` is a local file.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import inception, resnet

from ..data.transforms import IMAGENET_MEAN, IMAGENET_STD
from ..engine.checkpoint import load_state_dict
from ..registry import Registry

log = logging.getLogger(__name__)

BACKBONES: Registry = Registry("backbone")

REPORTED_KEYS = 10  # missing / unexpected key names a partial load names, of each kind

_RESNETS = {
    18: resnet.resnet18,
    34: resnet.resnet34,
    50: resnet.resnet50,
    101: resnet.resnet101,
}


def torchvision_resnet(depth: int, name: str = "resnet") -> resnet.ResNet:
    """Torchvision's ResNet-`depth` with random weights; `name` is the trunk, for errors."""
    if depth not in _RESNETS:
        raise ValueError(f"{name} depth must be one of {sorted(_RESNETS)}, got {depth}")
    return _RESNETS[depth](weights=None)


def set_last_stride(net: resnet.ResNet, last_stride: int) -> None:
    """Stride of layer4's first block: 2 as torchvision builds it, or 1 (a map twice as
    tall and wide, as re-ID practice does; paper 001 sec. IV-B, "following [29]")."""
    if last_stride not in (1, 2):
        raise ValueError(f"last_stride must be 1 or 2, got {last_stride}")
    block = net.layer4[0]
    conv = block.conv2 if hasattr(block, "bn3") else block.conv1
    conv.stride = (last_stride, last_stride)
    if block.downsample is not None:
        block.downsample[0].stride = (last_stride, last_stride)


def _key_list(keys: Sequence[str], limit: int = REPORTED_KEYS) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def load_pretrained(module: nn.Module, path: str | Path, ignore: Sequence[str] = ()) -> None:
    """Load a local state dict (weights only, never arbitrary pickles).

    A file wrapped as {"model": ...} or {"state_dict": ...} is unwrapped, and a
    DataParallel "module." prefix on every key is dropped. A partial match loads what
    matches and logs a warning naming the module's keys the file lacks (missing) and the
    file's keys the module lacks (unexpected), up to `REPORTED_KEYS` of each with their
    counts; keys starting with an `ignore` prefix (ones a builder drops on purpose, e.g.
    Inception's auxiliary head) are not reported. No match at all is an error.
    """
    state = load_state_dict(path, "pretrained weights")
    missing, unexpected = module.load_state_dict(state, strict=False)
    loaded = len(state) - len(unexpected)
    if loaded == 0:
        raise ValueError(f"{path}: no tensor matches the backbone's parameters (the file's "
                         f"{len(state)} keys: [{_key_list(list(state))}])")
    missing = [key for key in missing if not key.startswith(tuple(ignore))]
    unexpected = [key for key in unexpected if not key.startswith(tuple(ignore))]
    if missing or unexpected:
        log.warning("%s: loaded %d of %d tensors into %s; %d missing from the file [%s]; "
                    "%d unexpected in it [%s]", path, loaded, len(state),
                    type(module).__name__, len(missing), _key_list(missing),
                    len(unexpected), _key_list(unexpected))


class FrameTrunk(nn.Module):
    """A 2D trunk run as named stages; `forward` is the stages applied in order."""

    out_channels: int
    stage_channels: dict[str, int]

    def named_stages(self) -> list[tuple[str, nn.Module]]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _, stage in self.named_stages():
            x = stage(x)
        return x


def _resnet_stage_channels(net: resnet.ResNet, layers: int = 4) -> dict[str, int]:
    """Channels after the stem ("stem") and after each residual stage ("layer1".."layer4")."""
    def width(layer: nn.Sequential) -> int:
        last = layer[-1]
        return (last.bn3 if hasattr(last, "bn3") else last.bn2).num_features

    stages = [net.layer1, net.layer2, net.layer3, net.layer4][:layers]
    return {"stem": net.bn1.num_features,
            **{f"layer{i}": width(layer) for i, layer in enumerate(stages, 1)}}


class ResNetTrunk(FrameTrunk):
    """A torchvision ResNet without its pooling and classifier."""

    def __init__(self, net: resnet.ResNet, width_stages: int = 4) -> None:
        super().__init__()
        stages = [net.layer1, net.layer2, net.layer3, net.layer4][:width_stages]
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.stages = nn.Sequential(*stages)
        self.stage_channels = _resnet_stage_channels(net, width_stages)
        self.out_channels = self.stage_channels[f"layer{width_stages}"]

    def named_stages(self) -> list[tuple[str, nn.Module]]:
        return [("stem", self.stem)] + [(f"layer{i}", s) for i, s in enumerate(self.stages, 1)]


@BACKBONES.register("resnet")
def build_resnet(
    depth: int = 18, last_stride: int = 1, pretrained: str | None = None
) -> ResNetTrunk:
    """ResNet-`depth`; last_stride=1 keeps a larger final map, as re-ID practice does."""
    net = torchvision_resnet(depth)
    set_last_stride(net, last_stride)
    if pretrained:
        load_pretrained(net, pretrained)
    return ResNetTrunk(net)


def _dilate(conv: nn.Conv2d, rate: int) -> None:
    """Dilate a conv along each axis whose kernel is wider than 1, keeping the map size."""
    kh, kw = conv.kernel_size
    conv.dilation = (rate if kh > 1 else 1, rate if kw > 1 else 1)
    conv.padding = (rate * (kh // 2), rate * (kw // 2))


class ResNetOS16(FrameTrunk):
    """ResNet trunk whose last stage is stride-free and dilated: output stride 16."""

    def __init__(self, depth: int = 18, pretrained: str | None = None) -> None:
        super().__init__()
        net = torchvision_resnet(depth)
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
        self.stage_channels = _resnet_stage_channels(net)
        self.out_channels = self.stage_channels["layer4"]

    def named_stages(self) -> list[tuple[str, nn.Module]]:
        # body keeps its flat layout (state-dict keys of existing parser / extractor files)
        return [("stem", self.body[:4])] + [(f"layer{i}", self.body[3 + i]) for i in range(1, 5)]


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


class InceptionInputTransform(nn.Module):
    """Torchvision's Inception input transform, as a per-channel affine map.

    Torchvision builds `inception_v3` with `transform_input=True` when it loads its
    ImageNet weights: those weights expect pixels scaled to [-1, 1], while our frames are
    normalised with the ImageNet mean / std (`data.transforms`). The map undoes that
    normalisation and applies (p - 0.5) / 0.5: x * std / 0.5 + (mean - 0.5) / 0.5.
    Disabled, it is the identity. Scale and shift are persistent buffers, so a model
    file carries the setting its weights were trained with: a later stage that loads
    them (`extractor_checkpoint`, `parser_checkpoint`) or a rebuilt model file (which
    drops `pretrained`) applies the same transform without being told again.
    """

    def __init__(self, enabled: bool) -> None:
        super().__init__()
        mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        scale = std / 0.5 if enabled else torch.ones(3)
        shift = (mean - 0.5) / 0.5 if enabled else torch.zeros(3)
        self.register_buffer("scale", scale.view(1, 3, 1, 1))
        self.register_buffer("shift", shift.view(1, 3, 1, 1))

    @property
    def enabled(self) -> bool:
        return not (torch.all(self.scale == 1) and torch.all(self.shift == 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


class InceptionV3Trunk(FrameTrunk):
    """Inception-V3 trunk up to Mixed_7c, output stride 32 (plain) or 16 (sec. 4.2).

    Stages: the input transform ("transform_input", see `InceptionInputTransform`),
    then every layer of torchvision's Inception3 up to Mixed_7c, named as there.
    Output stride 16 (the parser's trunk): Mixed_7a loses its stride and the spatial
    convolutions of Mixed_7b / 7c are dilated by 2. Output stride 32: the layers as
    torchvision builds them (paper 000 sec. 4.1, the frame-level feature extractor).
    """

    # stage -> output channels, as torchvision's Inception3 builds them
    _CHANNELS = {"transform_input": 3, "Conv2d_1a_3x3": 32, "Conv2d_2a_3x3": 32,
                 "Conv2d_2b_3x3": 64, "maxpool1": 64,
                 "Conv2d_3b_1x1": 80, "Conv2d_4a_3x3": 192, "maxpool2": 192, "Mixed_5b": 256,
                 "Mixed_5c": 288, "Mixed_5d": 288, "Mixed_6a": 768, "Mixed_6b": 768,
                 "Mixed_6c": 768, "Mixed_6d": 768, "Mixed_6e": 768, "Mixed_7a": 1280,
                 "Mixed_7b": 2048, "Mixed_7c": 2048}
    _LAST = ("Mixed_7a", "Mixed_7b", "Mixed_7c")  # changed for output stride 16

    def __init__(self, output_stride: int = 16, pretrained: str | None = None,
                 transform_input: bool | None = None) -> None:
        super().__init__()
        if output_stride not in (16, 32):
            raise ValueError(f"inception_v3 output_stride must be 16 or 32, got {output_stride}")
        net = inception.inception_v3(weights=None, aux_logits=False, init_weights=True)
        if pretrained:  # torchvision's ImageNet file has the auxiliary head we leave out
            load_pretrained(net, pretrained, ignore=("AuxLogits.",))
        if transform_input is None:  # as torchvision does when it loads ImageNet weights
            transform_input = bool(pretrained)
        layers: list[tuple[str, nn.Module]] = [
            ("transform_input", InceptionInputTransform(transform_input))]
        layers += [(name, getattr(net, name)) for name in self._CHANNELS
                   if name != "transform_input" and (output_stride == 32 or name not in self._LAST)]
        if output_stride == 16:
            layers.append(("Mixed_7a", _StrideFreeReductionB(net.Mixed_7a)))
            for name in ("Mixed_7b", "Mixed_7c"):
                block = getattr(net, name)
                for conv in (m for m in block.modules() if isinstance(m, nn.Conv2d)):
                    if conv.kernel_size != (1, 1):
                        _dilate(conv, 2)
                layers.append((name, block))
        self.output_stride = output_stride
        self.body = nn.Sequential(OrderedDict(layers))
        self.stage_channels = dict(self._CHANNELS)
        self.out_channels = self._CHANNELS["Mixed_7c"]

    def named_stages(self) -> list[tuple[str, nn.Module]]:
        return list(self.body.named_children())


@BACKBONES.register("resnet_dilated")
def build_resnet_dilated(depth: int = 18, pretrained: str | None = None) -> ResNetOS16:
    """ResNet with a dilated, stride-free last stage (output stride 16, DeepLab-style)."""
    return ResNetOS16(depth, pretrained)


@BACKBONES.register("inception_v3")
def build_inception_v3(output_stride: int = 16, pretrained: str | None = None,
                       transform_input: bool | None = None) -> InceptionV3Trunk:
    """Inception-V3 up to Mixed_7c. Paper 000: output stride 32 for the frame extractor
    (sec. 4.1), 16 for the parser (sec. 4.2; the parser's builder asks for it). The
    default stays 16, what `{name: inception_v3}` has always built.

    `transform_input`: None follows `pretrained` (torchvision applies its input transform
    with its ImageNet weights); see `InceptionInputTransform`.
    """
    return InceptionV3Trunk(output_stride, pretrained, transform_input)
