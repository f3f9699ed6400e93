"""Every registered model: forward in train and eval mode, backward, shapes."""

import pytest
import torch

from vreid.models import BACKBONES, MODELS, TEMPORAL, build_model

# Tiny kwargs per registered model: TINY_MODEL_KWARGS in tests/conftest.py (shared with
# the export tests); `clip_model_name` runs over every model taking clips.


def test_every_registered_model_has_a_tiny_config(tiny_model_kwargs):
    assert set(MODELS.names()) <= set(tiny_model_kwargs)


def test_forward_backward(clip_model_name, tiny_model_kwargs):
    torch.manual_seed(0)
    model = build_model(clip_model_name, num_classes=5, **tiny_model_kwargs[clip_model_name])
    clips = torch.randn(4, 3, 3, 32, 16)
    out = model.train()(clips)
    logits = out["logits"] if "logits" in out else out["region_logits"]
    assert logits.shape[-2:] == (4, 5)
    assert out["features"].shape[0] == 4 and out["embedding"].shape[0] == 4
    logits.sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads)
    emb = model.eval()(clips)
    assert isinstance(emb, torch.Tensor) and emb.shape == out["embedding"].shape


def test_image_batch_is_t_equals_one():
    model = build_model("resnet_tap", num_classes=3).eval()
    assert model(torch.randn(2, 1, 3, 32, 16)).shape == (2, 512)


def test_rejects_four_d_input():
    model = build_model("resnet_tap", num_classes=3)
    with pytest.raises(ValueError, match=r"\[B, T, C, H, W\]"):
        model(torch.randn(2, 3, 32, 16))


def test_last_stride_one_doubles_final_map():
    x = torch.randn(1, 3, 64, 32)
    s1 = BACKBONES.get("resnet")(depth=18, last_stride=1)(x)
    s2 = BACKBONES.get("resnet")(depth=18, last_stride=2)(x)
    assert s1.shape[-2:] == (4, 2) and s2.shape[-2:] == (2, 1)
    assert BACKBONES.get("resnet")(depth=50).out_channels == 2048


def test_pretrained_from_local_file_only(tmp_path):
    src = BACKBONES.get("resnet")(depth=18)
    from torchvision.models import resnet18
    net = resnet18(weights=None)
    path = tmp_path / "r18.pt"
    torch.save(net.state_dict(), path)
    loaded = BACKBONES.get("resnet")(depth=18, pretrained=str(path))
    assert torch.equal(loaded.stem[0].weight, net.conv1.weight)
    assert not torch.equal(src.stem[0].weight, net.conv1.weight)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        BACKBONES.get("resnet")(depth=18, pretrained=str(tmp_path / "missing.pt"))


def test_temporal_average():
    maps = torch.randn(2, 4, 3, 2, 2)  # [B, C, T, h, w]
    frame_vectors = maps.transpose(1, 2).mean(dim=(3, 4))  # [B, T, C]: per-frame GAP
    assert torch.allclose(TEMPORAL.get("avg")(4)(maps), frame_vectors.mean(dim=1))
    assert TEMPORAL.get("avg")(4).out_channels == 4
