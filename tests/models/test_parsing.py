"""ParsingNet: shapes and output stride of both trunks, train/eval contract, backward."""

import pytest
import torch

from vreid.models import MODELS, build_model
from vreid.models.backbones import InceptionV3Trunk, ResNetOS16


def test_registered():
    assert "parsing_net" in MODELS


@pytest.mark.parametrize("depth", [18, 50])
def test_resnet_trunk_output_stride_16(depth):
    model = build_model("parsing_net", backbone="resnet", depth=depth, aspp_channels=16)
    x = torch.randn(2, 3, 96, 48)
    feats = model.backbone(x)
    assert feats.shape == (2, model.backbone.out_channels, 6, 3)  # 96/16, 48/16


def test_resnet_train_and_eval_contract():
    torch.manual_seed(0)
    model = build_model("parsing_net", backbone="resnet", depth=18, aspp_rates=(1, 2),
                        aspp_channels=16)
    x = torch.randn(2, 3, 64, 32)
    out = model.train()(x)
    assert set(out) == {"seg_logits"} and out["seg_logits"].shape == (2, 20, 64, 32)
    out["seg_logits"].logsumexp(1).mean().backward()
    assert all(p.grad is not None for p in model.parameters())
    logits = model.eval()(x)
    assert isinstance(logits, torch.Tensor) and logits.shape == (2, 20, 64, 32)


def test_inception_v3_trunk_is_output_stride_16():
    """Torchvision's Inception-V3 uses unpadded convolutions in its stem and reductions,
    so the OS16 map is slightly below input/16: 128x64 -> 6x2 (8x4 nominal)."""
    model = build_model("parsing_net", backbone="inception_v3", num_classes=7,
                        aspp_channels=16).eval()
    x = torch.randn(1, 3, 128, 64)
    with torch.no_grad():
        names = [n for n, _ in model.backbone.named_stages()]
        mixed_6e = model.backbone.body[:names.index("Mixed_6e") + 1](x)  # OS16 before 7a
        feats = model.backbone(x)
        logits = model(x)
    assert mixed_6e.shape[-2:] == (6, 2)
    # Mixed_7a lost its stride and 7b/7c are dilated: the last block keeps the OS16 map
    assert feats.shape == (1, 2048, 6, 2)
    assert logits.shape == (1, 7, 128, 64)
    dilated = [m for m in model.backbone.body.Mixed_7c.modules()
               if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1)]
    assert dilated and all(2 in m.dilation for m in dilated)


def test_rejects_clip_input():
    model = build_model("parsing_net", aspp_channels=8)
    with pytest.raises(ValueError, match="per-frame"):
        model(torch.randn(1, 2, 3, 64, 32))


def test_unknown_backbone():
    with pytest.raises(ValueError, match="inception_v3"):
        build_model("parsing_net", backbone="vgg")


@pytest.mark.parametrize("backbone,trunk", [("resnet", lambda: ResNetOS16(18)),
                                            ("inception_v3", lambda: InceptionV3Trunk(16))])
def test_config_names_build_the_same_trunk_from_backbones(backbone, trunk):
    """`backbone: resnet` / `inception_v3` (params.yaml, configs/) keep their trunk and init."""
    torch.manual_seed(0)
    model = build_model("parsing_net", backbone=backbone, aspp_channels=8)
    torch.manual_seed(0)
    expected = trunk()
    assert type(model.backbone) is type(expected)
    got, want = model.backbone.state_dict(), expected.state_dict()
    assert list(got) == list(want) and all(torch.equal(got[k], want[k]) for k in want)


def test_map_logits_are_the_logits_before_upsampling():
    torch.manual_seed(0)
    model = build_model("parsing_net", backbone="resnet", depth=18, aspp_rates=(1, 2),
                        aspp_channels=8).eval()
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        small = model.map_logits(x)
        full = model(x)
    assert small.shape == (2, 20, 4, 2)  # output stride 16
    expected = torch.nn.functional.interpolate(small, size=(64, 32), mode="bilinear",
                                               align_corners=False)
    assert torch.equal(full, expected)
