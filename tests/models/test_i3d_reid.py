"""Paper 002's registered models: the "i3d" clip backbone (and its inflated 2D weights),
i3d_reid (step 1) and i3d_clip_similarity (step 2: frozen I3D + clip-set similarity,
scored over the cheap top-K), and the step-2 loss (triplet on negative similarities)."""

import pytest
import torch

from vreid.engine.scoring import (ClipSetEncoder, MeanSetScorer, TopKRefinedScorer,
                                  evenly_spaced_clips)
from vreid.losses import LOSSES, build_losses
from vreid.models import CLIP_BACKBONES, MODELS, build_clip_backbone, build_model
from vreid.models.i3d import I3D, inflate_conv_weight
from vreid.models.i3d_reid import IMPORTANCE_GRAPH, PROJECTION_GRAPH
from vreid.models.registry import EMBEDDING_GRAPH

WIDTH = 1 / 16  # D = 64


def _clips(b, t, seed=0):
    return torch.randn(b, t, 3, 32, 16, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------ "i3d" clip backbone

def test_i3d_is_a_clip_backbone_that_video_cnn_takes():
    assert "i3d" in CLIP_BACKBONES
    backbone = build_clip_backbone("i3d", width=WIDTH)
    assert isinstance(backbone, I3D) and backbone.out_channels == 64
    torch.manual_seed(0)
    model = build_model("video_cnn", num_classes=3, backbone="i3d", depth=None,
                        last_stride=None, backbone_kwargs={"width": WIDTH}).eval()
    clips = _clips(2, 4)
    with torch.no_grad():
        out = model(clips)
        expected = model.head(model.backbone(clips).mean(dim=(2, 3, 4)))["embedding"]
    assert out.shape == (2, 64)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)


def _googlenet_like(model, seed=0):
    """A 2D state dict with the I3D's keys: 4-D kernels [O, I, kh, kw], BN copied."""
    g = torch.Generator().manual_seed(seed)
    return {k: (torch.randn(*v.shape[:2], *v.shape[3:], generator=g) if v.dim() == 5
                else v.clone() + 1) for k, v in model.state_dict().items()}


def test_i3d_pretrained_is_a_local_2d_file_inflated(tmp_path):
    state_2d = _googlenet_like(I3D(width=WIDTH))
    state_2d["fc.weight"] = torch.zeros(10, 64)  # a 2D classifier: ignored
    path = tmp_path / "googlenet.pt"
    torch.save(state_2d, path)
    loaded = build_clip_backbone("i3d", width=WIDTH, pretrained=str(path))
    torch.testing.assert_close(loaded.conv1.conv.weight,
                               inflate_conv_weight(state_2d["conv1.conv.weight"], 7))
    assert torch.equal(loaded.inception5b.branch1.bn.running_mean,
                       state_2d["inception5b.branch1.bn.running_mean"])
    # the same file through video_cnn's `pretrained`
    model = build_model("i3d_reid", num_classes=3, width=WIDTH, pretrained=str(path))
    assert torch.equal(model.backbone.conv3.conv.weight, loaded.conv3.conv.weight)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        build_clip_backbone("i3d", width=WIDTH, pretrained=str(tmp_path / "missing.pt"))
    torch.save({k: v for k, v in state_2d.items() if not k.startswith("inception5b")}, path)
    with pytest.raises(KeyError, match="lacks"):
        build_clip_backbone("i3d", width=WIDTH, pretrained=str(path))


def test_i3d_pretrained_loads_weights_only(tmp_path, planted):
    marker, evil = planted
    path = tmp_path / "evil.pt"
    torch.save({"conv1.conv.weight": torch.zeros(1), "x": evil}, path)
    with pytest.raises(Exception, match="[Ww]eights only|weights_only|Unsupported"):
        build_clip_backbone("i3d", width=WIDTH, pretrained=str(path))
    assert not marker.exists()


# ------------------------------------------------------------------ i3d_reid (step 1)

def test_i3d_reid_trains_with_triplet_and_softmax():
    """Eq. 7 (batch-hard triplet on f) + eq. 8 (cross-entropy on the logits)."""
    torch.manual_seed(0)
    model = build_model("i3d_reid", **MODELS.info("i3d_reid").tiny_kwargs).train()
    out = model(_clips(4, 2))
    assert set(out) >= {"features", "logits", "embedding"} and out["logits"].shape == (4, 5)
    losses = build_losses([{"name": "triplet"}, {"name": "cross_entropy"}], num_classes=5)
    values = losses(out, {"labels": torch.tensor([0, 0, 1, 1])})
    assert torch.isfinite(values["total"]) and values["total"] > 0
    values["total"].backward()
    assert model.backbone.conv1.conv.weight.grad is not None


# ------------------------------------------------------- i3d_clip_similarity (step 2)

def _step2(**kwargs):
    torch.manual_seed(0)
    return build_model("i3d_clip_similarity", **{**MODELS.info("i3d_clip_similarity").tiny_kwargs,
                                                 **kwargs})


def test_training_sample_is_m_clips_and_the_similarity_is_every_batch_pair():
    model = _step2(clip_len=2).train()
    clips = _clips(3, 6)  # M = 3 clips of L = 2 frames
    out = model(clips)
    assert out["clip_features"].shape == (3, 3, 64) and out["similarity"].shape == (3, 3)
    with torch.no_grad():  # the frozen encoder, clip by clip
        by_hand = torch.stack([model.encode(clips[:, 2 * i: 2 * i + 2]) for i in range(3)], 1)
    torch.testing.assert_close(out["clip_features"], by_hand, rtol=1e-5, atol=1e-6)
    model.similarity.eval()  # deterministic: dropout / batch statistics off
    torch.testing.assert_close(model.similarity.score_matrix(by_hand, by_hand)[0, 2],
                               model.similarity(by_hand[:1], by_hand[2:3])[0])
    with pytest.raises(ValueError, match="clip_len=2 frames; got 5"):
        model(_clips(3, 5))


def test_the_encoder_is_frozen_and_stays_in_eval_mode():
    model = _step2().train()
    assert model.training and not model.backbone.training
    assert not any(p.requires_grad for p in model.backbone.parameters())
    before = model.backbone.conv1.bn.running_mean.clone()
    out = model(_clips(4, 3))
    out["similarity"].sum().backward()
    assert torch.equal(model.backbone.conv1.bn.running_mean, before)  # BN statistics fixed
    assert all(p.grad is not None for p in model.similarity.parameters())
    trainable = _step2(freeze_encoder=False).train()
    assert trainable.backbone.training
    trainable(_clips(4, 3))["similarity"].sum().backward()
    assert trainable.backbone.conv1.conv.weight.grad is not None


def test_step_two_starts_from_a_step_one_file(tmp_path):
    torch.manual_seed(1)
    step1 = build_model("i3d_reid", num_classes=5, width=WIDTH)
    path = tmp_path / "model.pt"
    torch.save(step1.state_dict(), path)
    step2 = _step2(init_checkpoint=str(path))
    for key, value in step1.backbone.state_dict().items():
        assert torch.equal(step2.backbone.state_dict()[key], value), key
    assert not any(p.requires_grad for p in step2.backbone.parameters())


def test_bad_kwargs_are_refused():
    with pytest.raises(ValueError, match="aggregation must be one of"):
        _step2(aggregation="max")
    with pytest.raises(ValueError, match="top_k must be >= 1"):
        _step2(top_k=0)


def test_top_percent_variant_trains_and_exports_its_projection():
    model = _step2(aggregation="top_percent", percent=50, train_percent=100).train()
    out = model(_clips(4, 3))
    out["similarity"].sum().backward()
    assert model.similarity.projection.weight.grad is not None
    graphs = MODELS.info("i3d_clip_similarity").export_graphs(
        model, MODELS.info("i3d_clip_similarity").tiny_input, 2)
    assert list(graphs) == [EMBEDDING_GRAPH, PROJECTION_GRAPH]
    module, (x,), axes = graphs[PROJECTION_GRAPH]
    assert module is model.similarity.projection and x.shape == (2, 64)
    assert not model.training  # exported in eval mode


def test_learned_variant_exports_the_encoder_and_g_theta():
    model = _step2()
    info = MODELS.info("i3d_clip_similarity")
    graphs = info.export_graphs(model, info.tiny_input, 2)
    assert list(graphs) == [EMBEDDING_GRAPH, IMPORTANCE_GRAPH]
    assert graphs[IMPORTANCE_GRAPH].module is model.similarity.importance
    assert graphs[IMPORTANCE_GRAPH].dynamic_axes == {"pair_differences": {0: "batch"}}
    (clips,) = graphs[EMBEDDING_GRAPH].example_inputs
    assert clips.shape[1] == model.clip_len  # clips of L frames, as scoring encodes them
    with torch.no_grad():
        assert graphs[EMBEDDING_GRAPH].module(clips).shape == (2, 64)


def _sets(sizes, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 64, generator=g) for n in sizes]


def test_scoring_ranks_by_the_mean_and_rescores_the_top_k_with_psi():
    model = _step2(top_k=2, num_clips=3).eval()
    scoring = model.tracklet_scoring("cosine")
    assert scoring.encoder == ClipSetEncoder(clip_len=1)  # the model's L, not the stage's
    assert isinstance(scoring.scorer, TopKRefinedScorer) and scoring.scorer.top_k == 2
    query, gallery = _sets([4, 1], 0), _sets([2, 5, 3, 7, 1], 1)
    d = scoring.scorer.distance(query, gallery)
    assert d.shape == (2, 5)
    cheap = MeanSetScorer("cosine").distance(query, gallery)
    with torch.no_grad():
        psi = model.similarity.score_matrix(
            torch.stack([evenly_spaced_clips(s, 3) for s in query]),
            torch.stack([evenly_spaced_clips(s, 3) for s in gallery]))
    for i in range(2):
        near = torch.sort(cheap[i], stable=True).indices
        torch.testing.assert_close(d[i, near[:2]], 1 - psi[i, near[:2]], rtol=1e-5, atol=1e-6)
        assert d[i, near[2:]].min() > d[i, near[:2]].max()
    # top_k >= the gallery: psi alone
    everything = _step2(top_k=10, num_clips=3).eval().tracklet_scoring("euclidean")
    torch.testing.assert_close(everything.scorer.distance(query, gallery), 1 - psi,
                               rtol=1e-5, atol=1e-6)


# ------------------------------------------------------- the step-2 loss

def test_similarity_triplet_is_eq_7_on_negative_similarities():
    loss = LOSSES.get("similarity_triplet")(margin=0.1)
    s = torch.tensor([[0.9, 0.5, 0.6, 0.1],
                      [0.5, 0.9, 0.2, 0.3],
                      [0.6, 0.2, 0.9, 0.4],
                      [0.1, 0.3, 0.4, 0.9]])
    labels = torch.tensor([0, 0, 1, 1])
    # anchor 0: hardest positive s=0.5 (not itself), hardest negative s=0.6 -> 0.1 - 0.5 + 0.6
    # anchor 1: 0.1 - 0.5 + 0.3; anchor 2: 0.1 - 0.4 + 0.6; anchor 3: 0.1 - 0.4 + 0.3 = 0
    expected = torch.tensor([0.2, -0.1, 0.3, 0.0]).clamp_min(0).mean()
    torch.testing.assert_close(loss({"similarity": s}, {"labels": labels}), expected)
    with pytest.raises(ValueError, match=">= 2 identities with >= 2 samples"):
        loss({"similarity": s}, {"labels": torch.tensor([0, 1, 2, 3])})
    with pytest.raises(ValueError, match=r"similarities \[B, B\]"):
        loss({"similarity": s[:3]}, {"labels": labels})
    assert loss.uses == "similarity" and loss.needs_identity_batches


def test_similarity_triplet_trains_step_two_end_to_end():
    model = _step2().train()
    losses = build_losses([{"name": "similarity_triplet"}])
    values = losses(model(_clips(4, 3)), {"labels": torch.tensor([0, 0, 1, 1])})
    values["total"].backward()
    assert torch.isfinite(values["total"])
    assert model.similarity.importance.score.weight.grad is not None


def test_the_trainer_runs_step_two_and_leaves_the_encoder_untouched():
    """One epoch of the project's Trainer: psi's weights move, the frozen I3D's do not."""
    from vreid.engine import Trainer
    from vreid.engine.schedule import warmup_multistep

    model = _step2()
    criterion = build_losses([{"name": "similarity_triplet"}])
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=0.1, weight_decay=5e-4)
    scheduler = warmup_multistep(optimizer, 0, 1.0, [], 0.1)
    labels = torch.tensor([0, 0, 1, 1])
    loader = [{"clips": _clips(4, 3, seed=s), "labels": labels} for s in range(2)]
    encoder = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    scorer = {k: v.clone() for k, v in model.similarity.state_dict().items()}
    metrics = Trainer(model, criterion, optimizer, scheduler, loader).train_epoch(0)
    assert "loss_similarity_triplet" in metrics and "accuracy" not in metrics
    assert all(torch.equal(model.backbone.state_dict()[k], v) for k, v in encoder.items())
    assert any(not torch.equal(model.similarity.state_dict()[k], v) for k, v in scorer.items())
