import pytest
import torch

from vreid.config import DatasetRef, InputConfig, ModelConfig, from_dict
from vreid.models import build_model
from vreid.pipeline.common import load_model, read_configured, save_model

from ..data.readers.conftest import make_ilids, make_market, make_prid  # noqa: F401 (fixtures)


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


def test_model_started_from_init_checkpoint_rebuilds_without_that_file(tmp_path):
    """Paper 001 table V: a model initialised from another model file is saved without the
    kwarg (its weights are in the state dict), so evaluation never reads the init file."""
    from vreid.pipeline.fingerprint import file_digest, upstream_files

    source = tmp_path / "mars.pt"
    save_model(source, build_model("resnet_tap", num_classes=7, depth=18),
               ModelConfig("resnet_tap", {"depth": 18}), 7, InputConfig())
    kwargs = {"depth": 18, "init_checkpoint": str(source)}
    model = build_model("resnet_tap", num_classes=3, **kwargs)
    assert upstream_files(kwargs) == {"init_checkpoint": file_digest(source)}
    save_model(tmp_path / "m.pt", model, ModelConfig("resnet_tap", kwargs), 3, InputConfig())
    source.unlink()
    loaded, state = load_model(tmp_path / "m.pt")
    assert state["model_kwargs"] == {"depth": 18}
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


@pytest.mark.parametrize("reader, make", [("ilids-vid", "make_ilids"), ("prid2011", "make_prid")])
def test_split_id_picks_the_train_test_split_of_a_small_set(request, reader, make):
    root = str(request.getfixturevalue(make)())
    first = read_configured(DatasetRef(reader, root))
    fourth = read_configured(DatasetRef(reader, root, split_id=3))
    assert first.split_info["split_id"] == 0 and fourth.split_info["split_id"] == 3
    assert {t.pid for t in first.query} != {t.pid for t in fourth.query}
    union = read_configured(DatasetRef("union", sources=(DatasetRef(reader, root, split_id=3),)))
    assert [t.meta["orig_pid"] for t in union.query] == [t.pid for t in fourth.query]
    with pytest.raises(ValueError, match="split_id=10 out of range"):
        read_configured(DatasetRef(reader, root, split_id=10))


def test_split_id_is_refused_by_a_dataset_without_splits(make_market):
    root = str(make_market())
    assert read_configured(DatasetRef("market1501", root, split_id=0)).train
    with pytest.raises(ValueError, match=r"market1501 \(.*Market-1501\): split_id 2 given, but "
                                         r"this dataset has one fixed train/test split \(datasets "
                                         r"with splits: ilids-vid, prid2011"):
        read_configured(DatasetRef("market1501", root, split_id=2))
    with pytest.raises(ValueError, match=r"union \(union\): split_id 1 given.*per source"):
        read_configured(DatasetRef("union", split_id=1, sources=(DatasetRef("market1501", root),)))


def test_saved_model_records_its_input_spec_and_old_files_fall_back(tmp_path):
    from vreid.data.transforms import IMAGENET_MEAN, IMAGENET_STD
    from vreid.engine import InputSpec
    from vreid.pipeline.common import saved_input_spec

    save_model(tmp_path / "m.pt", build_model("resnet_tap", num_classes=3),
               ModelConfig("resnet_tap", {}), 3, InputConfig(48, 24, 3))
    _, state = load_model(tmp_path / "m.pt")
    assert state["input"] == {"height": 48, "width": 24, "clip_len": 3,
                              "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    stage = InputConfig(64, 32, 4)  # the config never overrides what the file says
    assert saved_input_spec(state, stage) == InputSpec(48, 24, 3)
    old = {"input": {"height": 48, "width": 24, "clip_len": 3}}  # before mean / std
    assert saved_input_spec(old, stage) == InputSpec(48, 24, 3, IMAGENET_MEAN, IMAGENET_STD)
    assert saved_input_spec({}, stage) == InputSpec(64, 32, 4)
    custom = {"input": {**old["input"], "mean": [0.5] * 3, "std": [0.25] * 3}}
    assert saved_input_spec(custom, stage).mean == (0.5, 0.5, 0.5)


def test_cuda_asked_for_without_a_gpu_is_a_config_error(monkeypatch):
    """Issue 15 item 4: `device: cuda` on a CPU machine was torch's driver traceback."""
    import torch

    from vreid.config import ConfigError
    from vreid.pipeline.common import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="runtime.device: 'cuda' asked for, but torch finds "
                                          "no CUDA device"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu" and resolve_device("cpu").type == "cpu"
