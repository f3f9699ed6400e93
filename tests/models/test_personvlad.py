"""3D PersonVLAD (paper 003): shapes, ablation options, fixed partitions, OIM on its output."""

import pytest
import torch

from vreid.losses import build_losses
from vreid.models import MODELS, build_model
from vreid.models.personvlad import PersonVLAD3d, partition_masks

WIDTH = 1 / 16  # C3D pool5: 16 channels
CLIPS = (4, 4, 3, 64, 32)  # B, T, C, H, W -> pool5 [4, 16, 1, 2, 1]


def tiny(**kwargs):
    torch.manual_seed(0)
    args = {"num_classes": 5, "width": WIDTH, "num_parts": 3, "num_clusters": 4,
            "part_dim": 8, **kwargs}
    return build_model("personvlad3d", **args)


def test_paper_defaults_give_a_16384_d_descriptor():
    model = build_model("personvlad3d", num_classes=625)
    assert model.embedding_dim == 64 * 256 == 16384  # KD, paper 003 sec. III-B
    assert model.part_align.num_parts == 6 and model.vlad.alpha == 1000.0
    assert model.head.classifier.out_features == 625


def test_training_outputs_and_eval_embedding():
    model = tiny()
    clips = torch.randn(*CLIPS)
    out = model.train()(clips)
    assert set(out) == {"features", "embedding", "logits"}
    assert out["features"].shape == (4, 4 * 16) and out["logits"].shape == (4, 5)
    # NetVLAD's output: unit L2 norm (intra-normalised, stacked, normalised)
    torch.testing.assert_close(out["features"].norm(dim=1), torch.ones(4))
    with torch.no_grad():
        emb = model.eval()(clips)
    assert emb.shape == (4, model.embedding_dim)


@pytest.mark.parametrize("aggregation", ["netvlad", "avg", "max"])
@pytest.mark.parametrize("parts", ["learned", "stripe", "grid"])
def test_every_option_runs_forward_and_backward(aggregation, parts):
    model = tiny(aggregation=aggregation, parts=parts).train()
    out = model(torch.randn(*CLIPS))
    num_parts = {"learned": 3, "stripe": 5, "grid": 25}[parts]
    dim = 4 * 16 if aggregation == "netvlad" else num_parts * 8
    assert out["features"].shape == (4, dim) == (4, model.embedding_dim)
    (out["features"].sum() + out["logits"].sum()).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing
    assert (model.part_align is None) == (parts != "learned")


def test_local_descriptors_reduce_dim_and_bnneck():
    model = tiny(descriptors="local", reduce_dim=12, neck="bnneck").train()
    out = model(torch.randn(*CLIPS))
    assert out["features"].shape == (4, 12) and out["logits"].shape == (4, 5)
    assert model.eval()(torch.randn(2, 4, 3, 64, 32)).shape == (2, 12)


def test_parts_descriptors_are_the_averaged_part_cubics():
    """eq. 2 then AvePooling per part, then NetVLAD over the B part vectors (eq. 3)."""
    model = tiny(alpha=1.0).eval()  # soft assignments: with all descriptors in one cell,
    clips = torch.randn(2, 4, 3, 64, 32)  # "local" would equal "parts" up to the norm
    with torch.no_grad():
        maps = model.backbone(clips)
        masks = torch.sigmoid(model.part_align.detectors(maps))  # eq. 1
        bars = torch.stack([(maps * masks[:, b:b + 1]).mean(dim=(2, 3, 4))
                            for b in range(3)], dim=2)  # [N, C, B]
        torch.testing.assert_close(model(clips), model.vlad(bars))
        local = tiny(descriptors="local", alpha=1.0).eval()
        local.load_state_dict(model.state_dict())
        assert not torch.allclose(local(clips), model(clips))


def test_stripe_and_grid_masks():
    stripes = partition_masks("stripe", 10, 3)
    assert stripes.shape == (5, 10, 3)
    for b in range(5):
        expected = torch.zeros(10, 3)
        expected[2 * b:2 * b + 2] = 1
        assert torch.equal(stripes[b], expected)
    grid = partition_masks("grid", 10, 5)
    assert grid.shape == (25, 10, 5)
    for r in range(5):
        for c in range(5):
            expected = torch.zeros(10, 5)
            expected[2 * r:2 * r + 2, c] = 1
            assert torch.equal(grid[5 * r + c], expected)
    # maps smaller than the partition: the fraction of each cell inside each stripe
    small = partition_masks("stripe", 2, 1)[:, :, 0]
    torch.testing.assert_close(small, torch.tensor([[0.4, 0], [0.4, 0], [0.2, 0.2], [0, 0.4],
                                                    [0, 0.4]]))
    for kind, h, w in (("stripe", 3, 2), ("grid", 2, 1), ("grid", 7, 3)):
        torch.testing.assert_close(partition_masks(kind, h, w).sum(0), torch.ones(h, w))
    with pytest.raises(ValueError, match="stripe"):
        partition_masks("learned", 2, 1)


def test_stripe_avg_pools_the_stripes():
    model = tiny(parts="stripe", aggregation="avg").eval()
    maps = torch.randn(2, 16, 1, 10, 3)
    bars = torch.stack([maps[:, :, :, 2 * b:2 * b + 2].sum(dim=(2, 3, 4)) / 30
                        for b in range(5)], dim=1)  # [N, 5, C]: the paper's Average_{l,x,y}
    fc = torch.einsum("npc,pcd->npd", bars, model.part_fc_weight) + model.part_fc_bias
    torch.testing.assert_close(model.pooled(maps), torch.relu(fc).flatten(1))


def test_rejects_unknown_options():
    for kwargs in ({"aggregation": "sum"}, {"parts": "pose"}, {"neck": "bn"},
                   {"descriptors": "frames"}, {"descriptors": "local", "aggregation": "avg"}):
        with pytest.raises(ValueError):
            PersonVLAD3d(5, width=WIDTH, **kwargs)
    with pytest.raises(ValueError, match=r"\[B, T, C, H, W\]"):
        tiny()(torch.randn(2, 3, 64, 32))


def test_oim_and_cross_entropy_from_the_registry_on_the_training_output():
    """Losses built as the trainer builds them (pipeline/train.py: build_losses with the
    model's embedding_dim as feature_dim)."""
    model = tiny().train()
    specs = [{"name": "oim", "weight": 1.0, "kwargs": {"queue_size": 8}},
             {"name": "cross_entropy", "weight": 0.5, "kwargs": {}}]
    criterion = build_losses(specs, num_classes=5, feature_dim=model.embedding_dim).train()
    assert criterion.terms["oim"].lookup.shape == (5, model.embedding_dim)
    # the unlabelled sample (-1) goes to OIM's queue (cross_entropy takes labels >= 0 only)
    oim_only = build_losses(specs[:1], num_classes=5, feature_dim=model.embedding_dim).train()
    oim_only(model(torch.randn(*CLIPS)), {"labels": torch.tensor([0, 0, 3, -1])})["total"].backward()
    queue = oim_only.terms["oim"]
    assert int(queue.queue_count) == 1 and queue.queue[0].norm() > 0.99
    model.zero_grad()
    out = model(torch.randn(*CLIPS))
    values = criterion(out, {"labels": torch.tensor([0, 0, 3, 1])})
    assert set(values) == {"oim", "cross_entropy", "total"}
    assert torch.isfinite(values["total"])
    values["total"].backward()
    assert model.backbone.conv1.conv.weight.grad is not None
    oim = criterion.terms["oim"]
    assert int(oim.queue_count) == 0 and oim.lookup[[0, 1, 3]].norm(dim=1).gt(0.99).all()
    assert oim.lookup[[2, 4]].abs().sum() == 0  # only the batch's identities were written
    assert "personvlad3d" in MODELS


@pytest.mark.parametrize("parts, aggregation", [("grid", "avg"), ("stripe", "max")])
def test_fixed_partition_variants_export_with_onnx_runtime_parity(tmp_path, parts, aggregation):
    """The registry-wide export test covers the learned parts; the fixed region maps
    (built from the map size in forward) and avg / max pooling export too."""
    from vreid.export.onnx import export_onnx, onnx_parity
    from vreid.models.inputs import BATCH_DIM, ExportGraph

    model = tiny(parts=parts, aggregation=aggregation).eval()
    graph = ExportGraph(model, (torch.randn(2, 4, 3, 64, 32),), {"clips": {0: BATCH_DIM}})
    path = export_onnx(graph, tmp_path / "personvlad.onnx")
    assert max(onnx_parity(graph, path, batch_sizes=(1, 3)).values()) <= 1e-4
