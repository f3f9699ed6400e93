"""The clip backbone contract: 2D adapter, inserts after named stages, a toy 3D backbone."""

import math

import pytest
import torch
from torch import nn

from vreid.models import BACKBONES, CLIP_BACKBONES, TEMPORAL, build_clip_backbone
from vreid.models.baseline import FrameCNNVideoModel
from vreid.models.clip_backbone import ClipBackbone, FrameBackbone, checked_inserts


class Recorder(nn.Module):
    """Identity insert that keeps the shape it was given."""

    def forward(self, maps):
        self.shape = tuple(maps.shape)
        return maps


class TimeMean(nn.Module):
    """An insert that mixes frames: every frame becomes the clip's mean."""

    def forward(self, maps):
        return maps.mean(dim=2, keepdim=True).expand_as(maps)


class Toy3D(ClipBackbone):
    """Two strided 3D convolutions: the smallest native clip backbone."""

    def __init__(self, width: int = 4, inserts=None) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv3d(3, width, 3, stride=2, padding=1), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv3d(width, 2 * width, 3, padding=1), nn.ReLU())
        self.stage_channels = {"conv1": width, "conv2": 2 * width}
        self.out_channels = 2 * width
        self.inserts = checked_inserts(inserts, self.stage_channels)

    def temporal_length(self, t: int) -> int:
        return math.ceil(t / 2)

    def forward(self, clips):
        x = clips.transpose(1, 2)  # [B, C, T, H, W]
        for name in ("conv1", "conv2"):
            x = getattr(self, name)(x)
            if name in self.inserts:
                x = self.inserts[name](x)
        return x


def test_frame_adapter_maps_clips_to_maps():
    torch.manual_seed(0)
    backbone = build_clip_backbone("resnet", depth=18).eval()
    assert isinstance(backbone, FrameBackbone)
    clips = torch.randn(2, 3, 3, 32, 16)
    with torch.no_grad():
        maps = backbone(clips)
        frames = backbone.trunk(clips.flatten(0, 1))
    assert maps.shape == (2, 512, 3, 2, 1) and backbone.out_channels == 512
    assert backbone.temporal_length(3) == 3
    # frame t of clip b is the trunk's map of that frame
    assert torch.equal(maps[1, :, 2], frames[1 * 3 + 2])


def test_insert_sees_the_whole_clip_and_identity_changes_nothing():
    torch.manual_seed(0)
    recorder = Recorder()
    backbone = build_clip_backbone("resnet", depth=18, inserts={"layer3": recorder}).eval()
    clips = torch.randn(2, 3, 3, 32, 16)
    with torch.no_grad():
        maps = backbone(clips)
        plain = FrameBackbone(backbone.trunk).eval()(clips)
    assert recorder.shape == (2, backbone.stage_channels["layer3"], 3, 2, 1)
    assert torch.equal(maps, plain)


def test_insert_can_mix_frames():
    torch.manual_seed(0)
    backbone = build_clip_backbone("resnet", depth=18, inserts={"layer2": TimeMean()}).eval()
    clips = torch.randn(1, 3, 3, 32, 16)
    with torch.no_grad():
        maps = backbone(clips)
    # after the insert every frame is the same, so the later stages give equal frames
    assert torch.allclose(maps[:, :, 0], maps[:, :, 2], atol=1e-6)
    assert not torch.allclose(maps, FrameBackbone(backbone.trunk).eval()(clips))


def test_insert_after_unknown_stage_is_refused():
    with pytest.raises(ValueError, match=r"layer9.*'stem', 'layer1'"):
        build_clip_backbone("resnet", depth=18, inserts={"layer9": nn.Identity()})


def test_insert_parameters_train_with_the_model():
    torch.manual_seed(0)
    insert = nn.Conv3d(256, 256, (3, 1, 1), padding=(1, 0, 0))
    backbone = build_clip_backbone("resnet", depth=18, inserts={"layer3": insert})
    model = FrameCNNVideoModel(backbone, TEMPORAL.get("avg")(backbone.out_channels), 4).train()
    model(torch.randn(2, 3, 3, 32, 16))["logits"].sum().backward()
    assert insert.weight.grad is not None and insert.weight.grad.abs().sum() > 0
    assert any(k.startswith("backbone.inserts.layer3.") for k in model.state_dict())


def test_toy_3d_backbone_runs_through_aggregator_and_baseline_model():
    torch.manual_seed(0)
    recorder = Recorder()
    backbone = Toy3D(inserts={"conv1": recorder})
    clips = torch.randn(2, 5, 3, 16, 8)
    maps = backbone(clips)
    assert maps.shape == (2, backbone.out_channels, backbone.temporal_length(5), 8, 4)
    assert recorder.shape == (2, 4, 3, 8, 4)
    model = FrameCNNVideoModel(backbone, TEMPORAL.get("avg")(backbone.out_channels), 3)
    out = model.train()(clips)
    assert out["logits"].shape == (2, 3) and out["embedding"].shape == (2, 8)
    out["logits"].sum().backward()
    assert backbone.conv1[0].weight.grad is not None
    assert model.eval()(clips).shape == (2, 8)


def test_builder_finds_clip_backbones_first_and_names_both_registries(monkeypatch):
    monkeypatch.setitem(CLIP_BACKBONES._items, "toy3d", Toy3D)
    built = build_clip_backbone("toy3d", width=2, inserts={"conv2": nn.Identity()})
    assert isinstance(built, Toy3D) and built.out_channels == 4 and "conv2" in built.inserts
    with pytest.raises(KeyError, match="clip backbones: .*toy3d.*frame trunks: .*resnet"):
        build_clip_backbone("no_such_3d")
    monkeypatch.setitem(CLIP_BACKBONES._items, "resnet", Toy3D)
    assert "resnet" in BACKBONES
    with pytest.raises(KeyError, match="both as a clip and a frame backbone"):
        build_clip_backbone("resnet")
