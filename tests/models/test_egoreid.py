"""EgoReID: frozen parts get no gradient and keep their statistics; shapes; checkpoints."""

import pytest
import torch

from vreid.config import InputConfig, ModelConfig
from vreid.models import build_model
from vreid.models.egoreid import masked_average
from vreid.pipeline.common import save_model

PARSER = {"backbone": "resnet", "depth": 18, "aspp_rates": [1, 2], "aspp_channels": 8}


def grads_of(module):
    return [p.grad for p in module.parameters()]


def test_video_model_freezes_parser_and_extractor():
    torch.manual_seed(0)
    model = build_model("egoreid", num_classes=3, parser=PARSER, channels=8).train()
    bn = next(m for m in model.frames.extractor.modules() if isinstance(m, torch.nn.BatchNorm2d))
    before = bn.running_mean.clone()
    out = model(torch.randn(2, 4, 3, 32, 16))
    out["region_logits"].sum().backward()
    assert all(g is None for g in grads_of(model.frames.parser))
    assert all(g is None for g in grads_of(model.frames.extractor))
    assert all(g is not None for g in grads_of(model.video))
    assert torch.equal(bn.running_mean, before)  # frozen BN stays in eval mode
    assert out["region_logits"].shape == (3, 2, 3)


def test_frame_model_trains_extractor_not_parser():
    model = build_model("egoreid_frame", num_classes=3, parser=PARSER).train()
    model(torch.randn(4, 1, 3, 32, 16))["logits"].sum().backward()
    assert all(g is None for g in grads_of(model.frames.parser))
    assert any(g is not None for g in grads_of(model.frames.extractor))


@pytest.mark.parametrize("kwargs,dim", [
    ({}, 3 * 16 + 512),                                           # fg, ub, lb (multi-scale) + Gf
    ({"regions": ["ub"], "use_global": False}, 16),
    ({"multi_scale": False, "use_weights": False}, 3 * 8 + 512),
])
def test_embedding_size_follows_switches(kwargs, dim):
    model = build_model("egoreid", num_classes=3, parser=PARSER, channels=8, **kwargs).eval()
    assert model(torch.randn(1, 3, 3, 32, 16)).shape == (1, dim)


def test_masked_average_is_region_mean():
    maps = torch.arange(8.0).view(1, 2, 2, 2)
    masks = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]]])
    pooled = masked_average(maps, masks)
    assert torch.allclose(pooled[0, 0], torch.tensor([0.0, 4.0]))
    assert torch.allclose(pooled[0, 1], maps.mean(dim=(2, 3))[0])


def test_checkpoints_of_earlier_stages_load_and_mismatch_is_named(tmp_path):
    parser = build_model("parsing_net", num_classes=20, **PARSER)
    path = tmp_path / "parsing.pt"
    save_model(path, parser, ModelConfig("parsing_net", PARSER), 20, InputConfig())
    model = build_model("egoreid_frame", num_classes=3, parser=PARSER, parser_checkpoint=str(path))
    assert torch.equal(model.frames.parser.head[1].weight, parser.head[1].weight)
    other = dict(PARSER, aspp_channels=16)
    with pytest.raises(ValueError, match="parsing.pt: parser weights do not fit"):
        build_model("egoreid_frame", num_classes=3, parser=other, parser_checkpoint=str(path))
