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
