"""video_cnn: backbone, temporal aggregator and neck picked by kwargs alone."""

import copy

import pytest
import torch

from vreid.losses import BatchHardTriplet
from vreid.losses.cross_entropy import CrossEntropyLabelSmooth
from vreid.models import build_model

TINY = {"num_classes": 3, "depth": 18}
TEMPORAL_CHOICES = {
    "avg": {},
    "max": {},
    "attention": {"mid_channels": 8, "spatial_kernel": [2, 1]},
    "rnn": {"hidden": 16},
}


def test_avg_is_resnet_tap():
    torch.manual_seed(0)
    tap = build_model("resnet_tap", **TINY).eval()
    torch.manual_seed(0)
    generic = build_model("video_cnn", **TINY, temporal="avg").eval()
    assert list(tap.state_dict()) == list(generic.state_dict())
    clips = torch.randn(2, 3, 3, 32, 16)
    with torch.no_grad():
        torch.testing.assert_close(generic(clips), tap(clips), rtol=0, atol=0)


@pytest.mark.parametrize("temporal", sorted(TEMPORAL_CHOICES))
def test_one_training_step_for_each_temporal_choice(temporal):
    torch.manual_seed(0)
    model = build_model("video_cnn", **TINY, temporal=temporal,
                        temporal_kwargs=TEMPORAL_CHOICES[temporal], neck="before_both").train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    batch = {"labels": torch.tensor([0, 0, 1, 1])}
    outputs = model(torch.randn(4, 3, 3, 32, 16))  # T=3, 32x16
    dim = model.embedding_dim
    assert outputs["features"].shape == outputs["embedding"].shape == (4, dim)
    assert dim == (16 if temporal == "rnn" else 512)
    loss = CrossEntropyLabelSmooth()(outputs, batch) + BatchHardTriplet()(outputs, batch)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert any(n.startswith("temporal.") for n in changed) or temporal in ("avg", "max")
    assert any(n.startswith("backbone.") for n in changed)
    assert "head.classifier.weight" in changed
    model = copy.deepcopy(model).eval()  # after a training forward (the trainer may copy it)
    with torch.no_grad():
        assert model(torch.randn(2, 3, 3, 32, 16)).shape == (2, dim)


def test_backbone_without_depth_or_last_stride():
    model = build_model("video_cnn", num_classes=3, backbone="resnet_dilated", last_stride=None)
    assert model.embedding_dim == model.backbone.out_channels


# COSAM (paper 004) on every frame trunk: N = 3 frames of 32x16 (ResNet-18 maps: stem
# 8x4, layer1 8x4, layer2 4x2, layer3 / layer4 2x1 with last stride 1).
COSAM_TINY = {**TINY, "clip_len": 3, "height": 32, "width": 16, "cosam_kwargs": {"reduced_dim": 4}}


@pytest.mark.parametrize("backbone", ["se_resnet", "resnet_ibn_a"])
def test_cosam_on_other_trunks_trains_a_step(backbone):
    torch.manual_seed(0)
    model = build_model("video_cnn", **COSAM_TINY, backbone=backbone,
                        cosam_after=["layer3", "layer4"]).train()
    assert list(model.backbone.inserts) == ["layer3", "layer4"]
    assert type(model.backbone.trunk).__name__ == type(
        build_model("video_cnn", **TINY, backbone=backbone).backbone.trunk).__name__
    mask_conv = model.backbone.inserts["layer4"].spatial.summary.weight
    before = mask_conv.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    batch = {"labels": torch.tensor([0, 0, 1, 1])}
    loss = CrossEntropyLabelSmooth()(model(torch.randn(4, 3, 3, 32, 16)), batch)
    loss.backward()
    assert torch.isfinite(loss) and mask_conv.grad.abs().sum() > 0
    optimizer.step()
    assert not torch.equal(mask_conv, before)
    assert model.eval()(torch.randn(2, 3, 3, 32, 16)).shape == (2, 512)


def test_cosam_after_the_stem_is_paper_block_1():
    torch.manual_seed(0)
    model = build_model("video_cnn", **COSAM_TINY, cosam_after=["stem"]).train()
    (name, cosam), = model.backbone.inserts.items()
    assert name == "stem" and cosam.in_channels == 64 and cosam.map_size == (8, 4)
    assert cosam.spatial.summary.in_channels == (3 - 1) * 8 * 4  # (N-1)*h*w, eq. 1
    outputs = model(torch.randn(2, 3, 3, 32, 16))
    outputs["logits"].sum().backward()
    assert cosam.spatial.summary.weight.grad.abs().sum() > 0


def test_cosam_refuses_a_bad_stage_a_clip_backbone_and_missing_sizes():
    with pytest.raises(ValueError, match=r"cannot insert COSAM after \['block5'\]: the "
                                         r"backbone's stages are \['stem', 'layer1', 'layer2', "
                                         r"'layer3', 'layer4'\]"):
        build_model("video_cnn", **COSAM_TINY, backbone="se_resnet", cosam_after=["block5"])
    with pytest.raises(ValueError, match=r"COSAM needs a 2D frame trunk.*'r2plus1d' is not a "
                                         r"backbone"):
        build_model("video_cnn", **COSAM_TINY, backbone="r2plus1d", cosam_after=["layer3"])
    with pytest.raises(ValueError, match=r"cosam_after=\['layer3'\] needs \['height', 'width'\]"):
        build_model("video_cnn", **TINY, clip_len=4, cosam_after=["layer3"])


def test_no_cosam_ignores_the_input_sizes():
    torch.manual_seed(0)
    plain = build_model("video_cnn", **TINY)
    torch.manual_seed(0)
    sized = build_model("video_cnn", **COSAM_TINY, cosam_after=[])
    assert not sized.backbone.inserts and list(plain.state_dict()) == list(sized.state_dict())


def test_attention_weights_are_a_training_output_that_the_erasing_loss_trains():
    from vreid.losses import build_losses

    torch.manual_seed(0)
    model = build_model("video_cnn", **TINY, temporal="attention",
                        temporal_kwargs=TEMPORAL_CHOICES["attention"]).train()
    outputs = model(torch.randn(2, 3, 3, 32, 16))
    assert outputs["attention"].shape == (2, 3)
    torch.testing.assert_close(outputs["attention"].sum(dim=1), torch.ones(2))
    erased = torch.tensor([[True, False, False], [False, False, True]])
    loss = build_losses([{"name": "erasing_attention"}])(outputs, {"erased": erased})["total"]
    loss.backward()
    assert model.temporal.temporal.weight.grad.abs().sum() > 0  # eq. 12 reaches the scores
    plain = build_model("video_cnn", **TINY, temporal="avg").train()
    assert "attention" not in plain(torch.randn(2, 3, 3, 32, 16))
