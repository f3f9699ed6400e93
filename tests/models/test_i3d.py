"""Inflated Inception-V1 (I3D), paper 002's clip encoder: shapes, inflation, ONNX export."""

import pytest
import torch
import torch.nn.functional as F
import torchvision

from vreid.models.i3d import (I3D, I3DClipEncoder, inflate_conv_weight, inflate_state_dict,
                              scaled)
from vreid.models.inputs import BATCH_DIM, ExportGraph

WIDTH = 1 / 16  # the smallest profile: D = 64


class ShapeProbe(torch.nn.Module):
    """An identity insert that records the maps it sees."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen = tuple(x.shape)
        return x


def test_forward_shapes_and_temporal_length():
    torch.manual_seed(0)
    probe = ShapeProbe()
    backbone = I3D(width=WIDTH, inserts={"inception4a": probe}).eval()
    assert backbone.out_channels == scaled(384, WIDTH) + 2 * scaled(128, WIDTH) + scaled(384, WIDTH)
    with torch.no_grad():
        for t, t_after_maxpool3 in ((4, 1), (5, 2)):
            maps = backbone(torch.randn(2, t, 3, 64, 32))  # [B, T, C, H, W]
            assert maps.shape == (2, backbone.out_channels, backbone.temporal_length(t), 2, 1)
            # after conv1 and maxpool3 (both stride 2 in time): 1/4 of the time, 1/16 of the space
            assert probe.seen == (2, backbone.stage_channels["inception4a"], t_after_maxpool3, 4, 2)
    assert [backbone.temporal_length(t) for t in (1, 4, 5, 8, 16)] == [1, 1, 1, 1, 2]
    with pytest.raises(ValueError, match="cannot insert after"):
        I3D(width=WIDTH, inserts={"layer3": ShapeProbe()})


def test_full_width_is_inception_v1_with_a_1024_d_feature():
    backbone = I3D()
    assert backbone.out_channels == 1024
    assert backbone.stage_channels["inception3a"] == 256
    assert backbone.stage_channels["inception4e"] == 832
    assert backbone.conv1.conv.weight.shape == (64, 3, 7, 7, 7)


def test_clip_encoder_is_the_global_mean_of_the_maps():
    torch.manual_seed(1)
    encoder = I3DClipEncoder(width=WIDTH).eval()
    clips = torch.randn(2, 4, 3, 32, 16)
    with torch.no_grad():
        feature = encoder(clips)
        maps = encoder.backbone(clips)
    assert feature.shape == (2, encoder.out_channels)
    torch.testing.assert_close(feature, maps.flatten(2).mean(dim=2))


def test_inflated_conv_on_a_constant_clip_is_the_2d_conv_per_frame():
    torch.manual_seed(2)
    weight, bias = torch.randn(4, 3, 3, 3), torch.randn(4)
    frame = torch.randn(2, 3, 6, 5)
    clip = frame.unsqueeze(2).expand(2, 3, 5, 6, 5)  # [B, C, T, H, W], T = 5 equal frames
    out = F.conv3d(clip, inflate_conv_weight(weight, 3), bias, padding=1)
    expected = F.conv2d(frame, weight, bias, padding=1)
    for t in range(1, 4):  # the first and last frames see the temporal zero padding
        torch.testing.assert_close(out[:, :, t], expected)
    assert not torch.allclose(out[:, :, 0], expected)
    with pytest.raises(ValueError, match="2D conv weight"):
        inflate_conv_weight(torch.randn(4, 3, 3), 3)


def test_inflates_torchvision_googlenet_key_for_key():
    torch.manual_seed(3)
    googlenet = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
    state_2d = googlenet.state_dict()
    backbone = I3D()
    backbone.load_state_dict(inflate_state_dict(backbone, state_2d))  # strict: every key
    w2d = state_2d["inception4c.branch2.1.conv.weight"]  # a 3x3 conv
    w3d = backbone.inception4c.branch2[1].conv.weight
    assert w3d.shape == (w2d.shape[0], w2d.shape[1], 3, 3, 3)
    for t in range(3):
        torch.testing.assert_close(w3d[:, :, t], w2d / 3)
    torch.testing.assert_close(backbone.conv1.conv.weight.sum(dim=2), state_2d["conv1.conv.weight"])
    torch.testing.assert_close(backbone.conv3.bn.running_var, state_2d["conv3.bn.running_var"])
    with pytest.raises(ValueError, match="does not fit"):
        inflate_state_dict(I3D(width=0.5), state_2d)
    with pytest.raises(KeyError, match="lacks"):
        inflate_state_dict(backbone, {k: v for k, v in state_2d.items() if "conv2" not in k})


def test_onnx_export_matches_onnx_runtime(tmp_path):
    from vreid.export.onnx import export_onnx, onnx_parity

    torch.manual_seed(4)
    encoder = I3DClipEncoder(width=WIDTH).eval()
    graph = ExportGraph(encoder, (torch.randn(2, 4, 3, 32, 32),), {"clips": {0: BATCH_DIM}})
    path = export_onnx(graph, tmp_path / "i3d.onnx")
    diffs = onnx_parity(graph, path, batch_sizes=(1, 3))
    assert max(diffs.values()) <= 1e-4, diffs
