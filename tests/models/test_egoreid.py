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


def _region_blocks(embedding, n_regions, dim):
    return embedding[:, : n_regions * dim].view(len(embedding), n_regions, dim)


def test_learned_region_weights_act_on_the_test_embedding():
    """Fig. 6b's weights scale the test embedding (sec. 6.1). Before the fix each weighted
    region vector was L2-normalised on its own, which cancelled the weight: perturbing
    the weighting network moved the embedding by ~6e-8 (relative)."""
    torch.manual_seed(0)
    model = build_model("egoreid", num_classes=3, parser=PARSER, channels=8).eval()
    dim = model.video[0].out_channels
    seen = []
    model.weighting.register_forward_hook(lambda m, i, out: seen.append(out))
    clips = torch.randn(2, 4, 3, 32, 16)
    with torch.no_grad():
        before = model(clips)
        # each region block is a unit vector scaled by that region's learned weight
        weights = torch.cat(seen, dim=1)  # [B, R]
        norms = _region_blocks(before, 3, dim).norm(dim=2)
        torch.testing.assert_close(norms, weights)
        for p in model.weighting.parameters():
            p.add_(torch.randn_like(p))
        after = model(clips)
    relative = float((after - before).norm() / before.norm())
    assert relative > 1e-2, relative

    # use_weights=False: the same network without the weighting scales nothing
    plain = build_model("egoreid", num_classes=3, parser=PARSER, channels=8,
                        use_weights=False).eval()
    missing, unexpected = plain.load_state_dict(model.state_dict(), strict=False)
    assert not missing and unexpected and all(k.startswith("weighting.") for k in unexpected)
    with torch.no_grad():
        unweighted = plain(clips)
    blocks = _region_blocks(unweighted, 3, dim)
    torch.testing.assert_close(blocks.norm(dim=2), torch.ones(2, 3))
    torch.testing.assert_close(blocks, torch.nn.functional.normalize(
        _region_blocks(after, 3, dim), dim=2))
    torch.testing.assert_close(unweighted[:, 3 * dim:], after[:, 3 * dim:])  # Gf unweighted


def test_frame_model_has_one_classifier_per_region_and_the_loss_uses_each():
    """Paper 000 sec. 4.2: "a separate classifier for each body region" (not SPReID's one)."""
    from vreid.losses import build_losses

    torch.manual_seed(0)
    model = build_model("egoreid_frame", num_classes=5, parser=PARSER).train()
    assert len(model.classifiers) == 3 and len(set(map(id, model.classifiers))) == 3
    out = model(torch.randn(4, 1, 3, 32, 16))
    channels = model.frames.extractor.out_channels
    assert out["region_logits"].shape == (3, 4, 5)
    assert out["features"].shape == (4, 3 * channels)
    # region r's logits are its own classifier on its own pooled vector
    regions = out["features"].view(4, 3, channels)
    for r in range(3):
        expected = model.classifiers[r](model.region_bn[r](regions[:, r]))
        torch.testing.assert_close(out["region_logits"][r], expected)
    loss = build_losses([{"name": "region_cross_entropy", "kwargs": {"label_smoothing": 0.0}}])
    loss(out, {"labels": torch.tensor([0, 1, 2, 3])})["total"].backward()
    for classifier in model.classifiers:
        assert classifier.weight.grad is not None and classifier.weight.grad.abs().sum() > 0
    assert len(build_model("egoreid_frame", num_classes=5, parser=PARSER,
                           regions=["ub"]).classifiers) == 1
    with torch.no_grad():
        emb = model.eval()(torch.randn(2, 1, 3, 32, 16))
    assert emb.shape == (2, 3 * channels + channels)  # regions + Gf


def test_frame_maps_are_upsampled_to_the_parser_map_size():
    """Paper profile: an OS32 frame extractor, its maps scaled up (bilinear) to the OS16
    parser's map size (sec. 4.1). Here with ResNet-18 trunks: last_stride 2 is OS32."""
    from vreid.data.regions import region_masks_from_logits

    torch.manual_seed(0)
    model = build_model("egoreid_frame", num_classes=3, parser=PARSER, upsample="parser",
                        backbone={"name": "resnet", "depth": 18, "last_stride": 2},
                        parser_size=[96, 48]).eval()
    frames = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        maps, up, masks = model.frames(frames)
        parser_in = torch.nn.functional.interpolate(frames, size=(96, 48), mode="bilinear",
                                                    align_corners=False)
        logits = model.frames.parser.map_logits(parser_in)
    assert maps.shape[-2:] == (2, 1)  # 64x32 at output stride 32
    assert logits.shape[-2:] == (6, 3)  # the parser's OS16 map of its 96x48 input
    assert up.shape[-2:] == masks.shape[-2:] == (6, 3)
    torch.testing.assert_close(up, torch.nn.functional.interpolate(
        maps, size=(6, 3), mode="bilinear", align_corners=False))
    torch.testing.assert_close(masks, region_masks_from_logits(logits))
    video = build_model("egoreid", num_classes=3, parser=PARSER, channels=8, upsample="parser",
                        backbone={"name": "resnet", "depth": 18, "last_stride": 2}).eval()
    assert video(torch.randn(1, 3, 3, 64, 32)).shape == (1, 3 * 16 + 512)
    for bad in ("x2", 0, 1.5):
        with pytest.raises(ValueError, match="upsample must be"):
            build_model("egoreid_frame", num_classes=3, parser=PARSER, upsample=bad)
