"""SE-ResNet (paper 004's frame extractor): gates on the residual branch, loading, clips."""

import logging

import pytest
import torch
from torch import nn
from torchvision.models import resnet

from vreid.models import BACKBONES, build_clip_backbone
from vreid.models.se import BatchNormSE, SqueezeExcitation, se_resnet_net


@pytest.mark.parametrize("depth,last", [(18, "bn2"), (50, "bn3")])
def test_every_block_gates_its_last_norm(depth, last):
    net = se_resnet_net(depth)
    blocks = [b for layer in (net.layer1, net.layer2, net.layer3, net.layer4) for b in layer]
    assert len(blocks) == {18: 8, 50: 16}[depth]
    for block in blocks:
        norm = getattr(block, last)
        assert isinstance(norm, BatchNormSE) and isinstance(norm.se, SqueezeExcitation)
        channels = norm.num_features
        assert norm.se.fc1.in_channels == channels and norm.se.fc1.out_channels == channels // 16
        assert norm.se.fc2.out_channels == channels
        # the other norms stay plain BatchNorm
        others = [m for n, m in block.named_modules() if isinstance(m, nn.BatchNorm2d)
                  and n != last and not n.startswith(f"{last}.")]
        assert all(type(m) is nn.BatchNorm2d for m in others)
    assert type(net.bn1) is nn.BatchNorm2d  # the stem


def test_gate_scales_the_residual_branch_before_the_addition():
    """Hu et al.'s SE-ResNet module: relu(identity + branch * gate(branch))."""
    torch.manual_seed(0)
    net = se_resnet_net(18).eval()
    block: resnet.BasicBlock = net.layer2[0]  # with a downsampling identity
    x = torch.randn(2, 64, 8, 4)
    with torch.no_grad():
        first = block.relu(block.bn1(block.conv1(x)))
        branch = nn.BatchNorm2d.forward(block.bn2, block.conv2(first))  # BN without the gate
        gate = block.bn2.se.gate(branch)
        identity = block.downsample(x)
        out = block(x)
    assert gate.shape == (2, 128, 1, 1)
    assert bool((gate > 0).all() and (gate < 1).all())
    assert not torch.allclose(gate[0], gate[1])  # per sample
    assert torch.allclose(out, torch.relu(branch * gate + identity), atol=1e-6)
    assert not torch.allclose(out, torch.relu(branch + identity), atol=1e-3)


def test_squeeze_excitation_sizes_and_bad_reduction():
    se = SqueezeExcitation(32, reduction=8)
    assert se.fc1.out_channels == 4
    x = torch.randn(3, 32, 4, 2)
    assert se(x).shape == x.shape
    with pytest.raises(ValueError, match="SE reduction must be in"):
        SqueezeExcitation(8, reduction=16)
    with pytest.raises(ValueError, match="SE reduction must be in"):
        BACKBONES.get("se_resnet")(depth=18, reduction=0)


@pytest.mark.parametrize("last_stride,size", [(1, (4, 2)), (2, (2, 1))])
def test_last_stride_one_doubles_the_final_map(last_stride, size):
    trunk = BACKBONES.get("se_resnet")(depth=18, last_stride=last_stride).eval()
    with torch.no_grad():
        assert trunk(torch.randn(1, 3, 64, 32)).shape == (1, 512, *size)


def test_pretrained_round_trips_and_a_renamed_key_is_reported(tmp_path, caplog):
    torch.manual_seed(0)
    net = se_resnet_net(18)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_()
    state = net.state_dict()
    assert "layer1.0.bn2.weight" in state and "layer4.1.bn2.se.fc2.bias" in state
    path = tmp_path / "se.pt"
    torch.save(state, path)
    with caplog.at_level(logging.WARNING):
        trunk = BACKBONES.get("se_resnet")(depth=18, pretrained=str(path)).eval()
    assert caplog.records == []
    assert torch.equal(trunk.stages[3][1].bn2.se.fc2.bias, net.layer4[1].bn2.se.fc2.bias)
    assert torch.equal(trunk.stages[0][0].bn2.weight, net.layer1[0].bn2.weight)
    x = torch.randn(1, 3, 32, 16)
    with torch.no_grad():
        reference = nn.Sequential(*list(net.children())[:-2]).eval()
        set_stride = BACKBONES.get("se_resnet")(depth=18, last_stride=2, pretrained=str(path))
        assert torch.allclose(set_stride.eval()(x), reference(x), atol=1e-5)

    state["layer2.1.bn2.se.fc1.kernel"] = state.pop("layer2.1.bn2.se.fc1.weight")
    torch.save(state, path)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        BACKBONES.get("se_resnet")(depth=18, pretrained=str(path))
    message = caplog.records[0].getMessage()
    assert "1 missing from the file [layer2.1.bn2.se.fc1.weight]" in message
    assert "1 unexpected in it [layer2.1.bn2.se.fc1.kernel]" in message


def test_a_plain_torchvision_resnet_file_loads_all_but_the_gates(tmp_path, caplog):
    plain = resnet.resnet18(weights=None)
    with torch.no_grad():
        plain.layer3[1].bn2.weight.normal_()
    path = tmp_path / "r18.pt"
    torch.save(plain.state_dict(), path)
    with caplog.at_level(logging.WARNING):
        trunk = BACKBONES.get("se_resnet")(depth=18, pretrained=str(path))
    assert torch.equal(trunk.stages[2][1].bn2.weight, plain.layer3[1].bn2.weight)
    message = caplog.records[0].getMessage()
    assert "32 missing from the file [layer1.0.bn2.se.fc1.weight" in message  # 8 blocks x 4
    assert "0 unexpected" in message


def test_clip_backbone_maps_clips_to_b_c_t_h_w():
    backbone = build_clip_backbone("se_resnet", depth=18).eval()
    with torch.no_grad():
        maps = backbone(torch.randn(2, 3, 3, 32, 16))
    assert maps.shape == (2, 512, 3, 2, 1) and backbone.out_channels == 512
