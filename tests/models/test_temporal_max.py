"""TP-max: each channel keeps its strongest frame; the model differs from resnet_tap only there."""

import torch

from vreid.models import TEMPORAL, build_model


def test_max_pooling_keeps_the_strongest_frame_per_channel():
    maps = torch.zeros(1, 2, 3, 2, 2)
    maps[0, 0, 1] = 5.0  # channel 0 peaks in frame 1
    maps[0, 1, :, 0, 0] = torch.tensor([4.0, 8.0, -4.0])  # channel 1: GAP per frame 1, 2, -1
    pooled = TEMPORAL.get("max")(2)(maps)
    assert torch.equal(pooled, torch.tensor([[5.0, 2.0]]))


def test_resnet_tmp_shares_resnet_tap_weights_and_differs_in_pooling_only():
    torch.manual_seed(0)
    tap = build_model("resnet_tap", num_classes=3).eval()
    torch.manual_seed(0)
    tmp = build_model("resnet_tmp", num_classes=3).eval()
    assert tap.state_dict().keys() == tmp.state_dict().keys()
    clips = torch.randn(2, 3, 3, 32, 16)
    with torch.no_grad():
        maps = tmp.backbone(clips)
        assert torch.allclose(tmp(clips), tmp.head(maps.mean(dim=(3, 4)).amax(dim=2))["embedding"])
        assert not torch.allclose(tmp(clips), tap(clips))
