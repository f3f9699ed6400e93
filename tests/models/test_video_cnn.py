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
