"""Frame trunks: named stages compose to the forward pass, declared stage channels hold."""

import pytest
import torch

from vreid.models import BACKBONES

# (name, kwargs, frame size) per registered trunk; Inception needs >= 43 px per side
TRUNKS = [("resnet", {"depth": 18}, (32, 16)), ("resnet", {"depth": 50}, (32, 16)),
          ("resnet_dilated", {"depth": 18}, (32, 16)), ("inception_v3", {}, (48, 48))]


def test_every_trunk_is_covered():
    assert {name for name, _, _ in TRUNKS} == set(BACKBONES.names())


@pytest.mark.parametrize("name,kwargs,size", TRUNKS)
def test_stages_compose_to_forward_with_declared_channels(name, kwargs, size):
    torch.manual_seed(0)
    trunk = BACKBONES.get(name)(**kwargs).eval()
    x = torch.randn(2, 3, *size)
    stages = trunk.named_stages()
    assert [n for n, _ in stages] == list(trunk.stage_channels)
    y = x
    with torch.no_grad():
        for stage_name, stage in stages:
            y = stage(y)
            assert y.shape[1] == trunk.stage_channels[stage_name], stage_name
        # the layout every caller used before stages existed (stem + stages, or body)
        old = trunk.stages(trunk.stem(x)) if hasattr(trunk, "stem") else trunk.body(x)
        assert torch.equal(trunk(x), old) and torch.equal(y, old)
    assert y.shape[1] == trunk.out_channels


def test_resnet_stage_names():
    trunk = BACKBONES.get("resnet")(depth=18)
    assert list(trunk.stage_channels) == ["stem", "layer1", "layer2", "layer3", "layer4"]
    assert trunk.stage_channels["layer3"] == 256
