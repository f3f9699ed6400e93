"""C3D clip backbone (paper 003 sec. III-A): layout, shapes on tiny clips, inserts, ONNX."""

import pytest
import torch

from vreid.models import CLIP_BACKBONES, build_clip_backbone
from vreid.models.c3d import C3D, CHANNELS, scaled
from vreid.models.inputs import BATCH_DIM, ExportGraph

WIDTH = 1 / 16  # 4 .. 16 channels


class ShapeProbe(torch.nn.Module):
    """An identity insert that records the maps it sees."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen = tuple(x.shape)
        return x


def test_full_width_layout_is_the_papers():
    backbone = C3D()
    assert CHANNELS == (64, 128, 256, 256, 256)
    assert [backbone.stage_channels[f"conv{i}"] for i in range(1, 6)] == list(CHANNELS)
    assert backbone.out_channels == 256
    assert backbone.stage_names == tuple(n for i in range(1, 6) for n in (f"conv{i}", f"pool{i}"))
    for i in range(1, 6):
        conv = getattr(backbone, f"conv{i}").conv
        assert conv.kernel_size == (3, 3, 3) and conv.stride == (1, 1, 1)
        assert conv.padding == (1, 1, 1)
        pool = getattr(backbone, f"pool{i}")
        assert isinstance(pool, torch.nn.MaxPool3d)
        assert tuple(pool.kernel_size) == ((1, 2, 2) if i == 1 else (2, 2, 2))
    assert C3D(width=0.25).out_channels == 64 and scaled(64, WIDTH) == 4


def test_shapes_and_temporal_length_on_tiny_and_paper_clips():
    torch.manual_seed(0)
    probe = ShapeProbe()
    backbone = C3D(width=WIDTH, inserts={"pool1": probe}).eval()
    with torch.no_grad():
        for t in (1, 2, 3, 4, 16):
            maps = backbone(torch.randn(2, t, 3, 64, 32))  # [B, T, C, H, W]
            assert maps.shape == (2, backbone.out_channels, backbone.temporal_length(t), 2, 1)
            assert probe.seen == (2, scaled(64, WIDTH), t, 32, 16)  # pool1 keeps time
        # odd sizes round up (ceil_mode): 36 -> 18, 9, 5, 3, 2; 20 -> 10, 5, 3, 2, 1
        assert backbone(torch.randn(1, 5, 3, 36, 20)).shape[2:] == (1, 2, 1)
    assert [backbone.temporal_length(t) for t in (1, 2, 4, 16, 17, 32)] == [1, 1, 1, 1, 2, 2]


def test_registered_as_a_clip_backbone_with_inserts():
    assert "c3d" in CLIP_BACKBONES
    probe = ShapeProbe()
    backbone = build_clip_backbone("c3d", width=WIDTH, inserts={"conv5": probe})
    out = backbone(torch.randn(1, 4, 3, 32, 16))
    assert probe.seen == (1, scaled(256, WIDTH), 1, 2, 1) and out.shape == (1, 16, 1, 1, 1)
    with pytest.raises(ValueError, match="cannot insert after"):
        C3D(width=WIDTH, inserts={"layer3": ShapeProbe()})
    with pytest.raises(ValueError, match=r"\[B, T, C, H, W\]"):
        backbone(torch.randn(1, 3, 32, 16))


def test_backward_reaches_every_parameter():
    backbone = C3D(width=WIDTH).train()
    backbone(torch.randn(2, 3, 3, 32, 16)).sum().backward()
    assert all(p.grad is not None for p in backbone.parameters())


def test_onnx_export_of_odd_sizes_matches_onnx_runtime(tmp_path):
    from vreid.export.onnx import export_onnx, onnx_parity
    torch.manual_seed(0)
    graph = ExportGraph(C3D(width=WIDTH).eval(), (torch.randn(2, 3, 3, 36, 20),),
                        {"clips": {0: BATCH_DIM}})
    path = export_onnx(graph, tmp_path / "c3d.onnx")
    assert max(onnx_parity(graph, path, batch_sizes=(1, 3)).values()) <= 1e-4
