"""ModelInfo: validation, example inputs and the default export graphs."""

import pytest
import torch

from vreid.models.inputs import BATCH_DIM, ExportGraph, InputSpec
from vreid.models.registry import EMBEDDING_GRAPH, MODELS, PER_FRAME_GRAPH, ModelInfo

SPEC = InputSpec(height=8, width=4, clip_len=3)


def test_unknown_scoring_kind_is_refused():
    with pytest.raises(ValueError, match="scoring must be one of.*'pairwise_typo'"):
        ModelInfo(tiny_kwargs={}, scoring="pairwise_typo")


def test_example_inputs_follow_per_frame():
    (clips,) = ModelInfo(tiny_kwargs={}).example_inputs(SPEC, 5)
    (images,) = ModelInfo(tiny_kwargs={}, per_frame=True).example_inputs(SPEC, 5)
    assert clips.shape == (5, 3, 3, 8, 4) and images.shape == (5, 3, 8, 4)


def test_default_graphs_are_the_eval_forward_with_a_dynamic_batch():
    model = torch.nn.Linear(4, 2).train()
    clip = ModelInfo(tiny_kwargs={}).export_graphs(model, SPEC, batch=3)
    assert list(clip) == [EMBEDDING_GRAPH]
    module, inputs, axes = clip[EMBEDDING_GRAPH]
    assert module is model and not model.training
    assert [x.shape for x in inputs] == [(3, 3, 3, 8, 4)] and axes == {"clips": {0: BATCH_DIM}}
    frame = ModelInfo(tiny_kwargs={}, per_frame=True).export_graphs(model, SPEC)
    assert list(frame) == [PER_FRAME_GRAPH]
    assert frame[PER_FRAME_GRAPH].example_inputs[0].shape == (2, 3, 8, 4)
    assert frame[PER_FRAME_GRAPH].dynamic_axes == {"images": {0: BATCH_DIM}}


def test_own_graphs_replace_the_default():
    def graphs(model, spec, batch):
        return {"pair": ExportGraph(model, (torch.zeros(batch, 4), torch.zeros(batch, 4)),
                                    {"query": {0: BATCH_DIM}, "gallery": {0: BATCH_DIM}})}

    info = ModelInfo(tiny_kwargs={}, graphs=graphs)
    assert list(info.export_graphs(torch.nn.Identity(), SPEC, 2)) == ["pair"]


def test_models_registry_refuses_an_entry_without_info():
    with pytest.raises(TypeError, match="model 'bare' must be registered with info=<ModelInfo>"):
        MODELS.register("bare", info={"tiny_kwargs": {}})


# ------------------------------------------------- init_checkpoint (paper 001 table V)

def _tap(num_classes, seed, **kwargs):
    from vreid.models import build_model

    torch.manual_seed(seed)
    return build_model("resnet_tap", num_classes=num_classes, depth=18, **kwargs)


@pytest.mark.parametrize("as_model_file", [True, False])
def test_init_checkpoint_copies_matching_tensors_and_reports_the_rest(tmp_path, caplog,
                                                                      as_model_file):
    """Every tensor whose name and shape match comes from the file; the classifier (other
    identity counts, as MARS -> iLIDS-VID) stays as initialised and is named in a warning."""
    source = _tap(7, seed=0)
    state = source.state_dict()
    state["extra.weight"] = torch.ones(2)  # in the file only
    path = tmp_path / "mars.pt"
    torch.save({"model_name": "resnet_tap", "model_kwargs": {"depth": 18}, "num_classes": 7,
                "state_dict": state} if as_model_file else state, path)
    fresh = _tap(5, seed=1).state_dict()
    with caplog.at_level("WARNING", logger="vreid.models.registry"):
        started = _tap(5, seed=1, init_checkpoint=str(path)).state_dict()
    classifier = "head.classifier.weight"
    for key, value in started.items():
        expected = fresh[key] if key == classifier else state[key]
        assert torch.equal(value, expected), key
    # a real comparison: the two seeds' initialisations differ
    assert any(not torch.equal(fresh[k], state[k]) for k in fresh if k != classifier)
    (record,) = [r for r in caplog.records if "init_checkpoint" in r.getMessage()]
    message = record.getMessage()
    assert str(path) in message and "copied 125 of 126" in message
    assert f"shape differs (1): {classifier}: file (7, 512) vs model (5, 512)" in message
    assert "not in the model (1): extra.weight" in message


def test_init_from_checkpoint_returns_what_it_copied(tmp_path):
    from vreid.models.registry import init_from_checkpoint

    path = tmp_path / "same.pt"
    torch.save(_tap(5, seed=0).state_dict(), path)
    report = init_from_checkpoint(_tap(5, seed=1), path)
    assert len(report.copied) == 126 and report.skipped == ()
    partial = {k: v for k, v in torch.load(path, weights_only=True).items()
               if not k.startswith("head.")}
    torch.save(partial, path)
    report = init_from_checkpoint(_tap(5, seed=1), path)
    assert report.missing and all(k.startswith("head.") for k in report.missing)


def test_init_checkpoint_bad_files_are_clear_errors(tmp_path):
    cases = {
        "garbage.pt": (lambda p: p.write_bytes(b"not a checkpoint"),
                       "garbage.pt: not a loadable weights-only checkpoint"),
        "list.pt": (lambda p: torch.save([torch.zeros(1)], p),
                    "list.pt: not a model file or a state dict"),
        "config.pt": (lambda p: torch.save({"model_name": "resnet_tap"}, p),
                      "config.pt: not a model file or a state dict"),
        "other.pt": (lambda p: torch.save(torch.nn.Linear(3, 2).state_dict(), p),
                     r"init_checkpoint .*other.pt: no tensor of the file matches"),
    }
    for name, (write, message) in cases.items():
        write(tmp_path / name)
        with pytest.raises(ValueError, match=message):
            _tap(5, seed=0, init_checkpoint=str(tmp_path / name))
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        _tap(5, seed=0, init_checkpoint=str(tmp_path / "missing.pt"))


def test_init_checkpoint_loads_weights_only(tmp_path, planted):
    marker, evil = planted
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {"head.bn.weight": torch.ones(512)}, "x": evil}, path)
    with pytest.raises(ValueError, match="evil.pt: not a loadable weights-only checkpoint"):
        _tap(5, seed=0, init_checkpoint=str(path))
    assert not marker.exists()
