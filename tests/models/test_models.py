"""Every registered model, driven by its registry metadata (`ModelInfo`): built from its
tiny kwargs, forward in train mode (a dict) and eval mode (what its scoring kind says),
backward. The ONNX export of each of its graphs: tests/export/test_onnx.py."""

import pytest
import torch

from vreid.models import BACKBONES, MODELS, TEMPORAL, build_model
from vreid.models.registry import ModelInfo

BATCH = 4


def _tiny(name):
    torch.manual_seed(0)
    info = MODELS.info(name)
    return build_model(name, **info.tiny_kwargs), info


def test_every_registered_model_has_metadata():
    assert MODELS.names()
    for name in MODELS:
        info = MODELS.info(name)
        assert isinstance(info, ModelInfo), name
        assert isinstance(info.tiny_kwargs, dict), name
    with pytest.raises(TypeError, match="'undescribed' must be registered with info=<ModelInfo>"):
        MODELS.register("undescribed")
    assert "undescribed" not in MODELS


@pytest.mark.parametrize("name", MODELS.names())
def test_tiny_instance_needs_no_files(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative checkpoint path in the tiny kwargs would fail here
    model, _ = _tiny(name)
    assert isinstance(model, torch.nn.Module) and not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", MODELS.names())
def test_train_forward_backward(name):
    model, info = _tiny(name)
    out = model.train()(*info.example_inputs(info.tiny_input, BATCH))
    assert isinstance(out, dict) and out, f"{name}: training forward must return a dict of outputs"
    assert all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in out.items())
    floats = [v for v in out.values() if v.is_floating_point()]
    assert floats and all(torch.isfinite(v).all() for v in floats)
    sum(v.sum() for v in floats).backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert trainable
    assert not [n for n, p in trainable.items() if p.grad is None], "parameters outside the graph"


@pytest.mark.parametrize("name", MODELS.names())
def test_eval_output_is_what_the_scoring_kind_says(name):
    model, info = _tiny(name)
    inputs = info.example_inputs(info.tiny_input, BATCH)
    with torch.no_grad():
        out = model.eval()(*inputs)
        alone = model(*(x[:1] for x in inputs))
    assert isinstance(out, torch.Tensor) and out.shape[0] == BATCH and torch.isfinite(out).all()
    # a sample's output does not depend on the others in its batch (gallery encoding)
    torch.testing.assert_close(alone, out[:1], rtol=1e-4, atol=1e-5)
    if info.scoring == "embedding":  # one vector per clip
        assert out.dim() == 2 and out.shape[1] > 0
    # the label says whether score_index asks the model (tracklet_scoring) or uses the default
    own = hasattr(model, "tracklet_scoring")
    assert own == (info.scoring in ("clip_set", "pairwise")), (
        f"{name}: scoring {info.scoring!r} but tracklet_scoring {'defined' if own else 'absent'}")


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
