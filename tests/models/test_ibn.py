"""ResNet-IBN-a (paper 001's frame extractor): split bn1 in layers 1-3, loading, clips."""

import logging

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vreid.models import BACKBONES, build_clip_backbone
from vreid.models.ibn import InstanceBatchNorm2d, ibn_a_resnet


def test_bn1_of_every_block_in_layers_1_to_3_is_split_half_instance_half_batch():
    net = ibn_a_resnet(18)
    for name in ("layer1", "layer2", "layer3"):
        for block in getattr(net, name):
            norm = block.bn1
            assert isinstance(norm, InstanceBatchNorm2d), name
            channels = block.conv1.out_channels
            assert norm.num_features == channels and norm.half == channels // 2
            assert isinstance(norm.IN, nn.InstanceNorm2d) and norm.IN.affine
            assert norm.IN.num_features == channels // 2
            assert isinstance(norm.BN, nn.BatchNorm2d)
            assert norm.BN.num_features == channels - channels // 2
            assert type(block.bn2) is nn.BatchNorm2d  # only the first normalisation
    for block in net.layer4:
        assert type(block.bn1) is nn.BatchNorm2d and type(block.bn2) is nn.BatchNorm2d
    assert type(net.bn1) is nn.BatchNorm2d  # the stem


def test_odd_width_puts_the_floor_half_in_instance_norm():
    norm = InstanceBatchNorm2d(5)
    assert norm.IN.num_features == 2 and norm.BN.num_features == 3
    assert norm(torch.randn(2, 5, 3, 3)).shape == (2, 5, 3, 3)
    with pytest.raises(ValueError, match="at least 2 channels"):
        InstanceBatchNorm2d(1)


@pytest.mark.parametrize("train", [True, False])
def test_first_half_is_normalised_per_sample_the_rest_per_batch(train):
    torch.manual_seed(0)
    norm = InstanceBatchNorm2d(6).train(train)
    with torch.no_grad():  # non-trivial affine parameters and running statistics
        for p in norm.parameters():
            p.uniform_(0.5, 1.5)
        norm.BN.running_mean.uniform_(-1, 1)
    x = torch.randn(3, 6, 5, 4) * 3 + 2
    y = norm(x)
    expected_in = F.instance_norm(x[:, :3], weight=norm.IN.weight, bias=norm.IN.bias)
    assert torch.allclose(y[:, :3], expected_in, atol=1e-5)
    # per sample: sample 0's IN channels ignore the other samples, its BN channels do not
    # (in training; in eval BN uses its running statistics, IN still the sample's own)
    other = x.clone()
    other[1:] = torch.randn(2, 6, 5, 4) * 10 - 5
    y_other = norm(other)
    assert torch.allclose(y_other[0, :3], y[0, :3], atol=1e-5)
    assert torch.allclose(y_other[0, 3:], y[0, 3:], atol=1e-5) != train


@pytest.mark.parametrize("last_stride,size", [(1, (4, 2)), (2, (2, 1))])
def test_last_stride_one_doubles_the_final_map(last_stride, size):
    trunk = BACKBONES.get("resnet_ibn_a")(depth=18, last_stride=last_stride).eval()
    with torch.no_grad():
        assert trunk(torch.randn(1, 3, 64, 32)).shape == (1, 512, *size)


def test_pretrained_round_trips_and_a_renamed_key_is_reported(tmp_path, caplog):
    torch.manual_seed(0)
    net = ibn_a_resnet(18)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_()
    state = net.state_dict()
    assert "layer1.0.bn1.IN.weight" in state and "layer3.1.bn1.BN.running_var" in state
    path = tmp_path / "ibn.pt"
    torch.save(state, path)
    with caplog.at_level(logging.WARNING):
        trunk = BACKBONES.get("resnet_ibn_a")(depth=18, pretrained=str(path))
    assert caplog.records == []
    assert torch.equal(trunk.stem[1].weight, net.bn1.weight)
    assert torch.equal(trunk.stages[0][0].bn1.IN.weight, net.layer1[0].bn1.IN.weight)
    assert torch.equal(trunk.stages[2][1].bn1.BN.running_var, net.layer3[1].bn1.BN.running_var)

    state["layer1.0.bn1.in.weight"] = state.pop("layer1.0.bn1.IN.weight")
    torch.save(state, path)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        BACKBONES.get("resnet_ibn_a")(depth=18, pretrained=str(path))
    message = caplog.records[0].getMessage()
    assert "1 missing from the file [layer1.0.bn1.IN.weight]" in message
    assert "1 unexpected in it [layer1.0.bn1.in.weight]" in message


def test_a_plain_torchvision_resnet_file_reports_the_split_norms(tmp_path, caplog):
    from torchvision.models import resnet18

    path = tmp_path / "r18.pt"
    torch.save(resnet18(weights=None).state_dict(), path)
    with caplog.at_level(logging.WARNING):
        BACKBONES.get("resnet_ibn_a")(depth=18, pretrained=str(path))
    message = caplog.records[0].getMessage()
    assert "layer1.0.bn1.IN.weight" in message and "layer1.0.bn1.running_mean" in message


def test_clip_backbone_maps_clips_to_b_c_t_h_w():
    backbone = build_clip_backbone("resnet_ibn_a", depth=18).eval()
    with torch.no_grad():
        maps = backbone(torch.randn(2, 3, 3, 32, 16))
    assert maps.shape == (2, 512, 3, 2, 1) and backbone.out_channels == 512
