import pytest
import torch

from vreid.config import DatasetRef, InputConfig, ModelConfig, from_dict
from vreid.models import build_model
from vreid.pipeline.common import load_model, read_configured, save_model


def test_union_of_configured_sets_offsets_identities(in_prepared):
    market = read_configured(DatasetRef("market1501", "data/synthetic/market1501"))
    mars = read_configured(DatasetRef("mars", "data/synthetic/mars"))
    union_ref = from_dict(DatasetRef, {"name": "union", "sources": [
        {"name": "market1501", "root": "data/synthetic/market1501"},
        {"name": "mars", "root": "data/synthetic/mars"}]})
    union = read_configured(union_ref)
    assert union.num_train_pids == market.num_train_pids + mars.num_train_pids
    assert len(union.train) == len(market.train) + len(mars.train)


def test_saved_model_drops_init_only_kwargs_and_round_trips(tmp_path):
    model = build_model("resnet_tap", num_classes=3)
    cfg = ModelConfig("resnet_tap", {"depth": 18, "pretrained": "/nowhere/weights.pt"})
    save_model(tmp_path / "m.pt", model, cfg, 3, InputConfig())
    loaded, state = load_model(tmp_path / "m.pt")  # would fail if `pretrained` were kept
    assert "pretrained" not in state["model_kwargs"]
    x = torch.randn(1, 2, 3, 32, 16)
    assert torch.equal(model.eval()(x), loaded.eval()(x))


def test_load_model_refuses_a_foreign_file(tmp_path):
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt: not a vreid model file"):
        load_model(tmp_path / "other.pt")


def test_read_configured_holds_out_validation_ids(in_prepared):
    import dataclasses

    from vreid.config import load_params

    ref = load_params("params.yaml").data.video
    full = read_configured(ref)
    val = read_configured(dataclasses.replace(ref, holdout_ids=2))
    held = {t.pid for t in val.gallery}
    assert len(held) == 2 and held <= {t.pid for t in full.train}
    assert held.isdisjoint({t.pid for t in val.train})
    assert held.isdisjoint({t.pid for t in full.gallery})  # never the test identities
