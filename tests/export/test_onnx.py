"""Every graph of every registered model exports to ONNX (dynamic axes as declared) and
matches ONNX Runtime; the graphs come from the model's registry entry (`ModelInfo`)."""

import onnx
import pytest
import torch

from vreid.export.onnx import export_onnx, onnx_opset, onnx_parity, ort_session
from vreid.models import MODELS, build_model
from vreid.models.inputs import BATCH_DIM, ExportGraph

from .conftest import SMALL_SHAPE, clip_graph

EXPORT_BATCH = 2


@pytest.mark.parametrize("name", MODELS.names())
def test_every_graph_of_every_registered_model_exports_with_parity(name, tmp_path):
    torch.manual_seed(0)
    info = MODELS.info(name)
    model = build_model(name, **info.tiny_kwargs)
    graphs = info.export_graphs(model, info.tiny_input, EXPORT_BATCH)
    assert graphs, f"{name} exports no graph"
    for graph_name, graph in graphs.items():
        path = export_onnx(graph, tmp_path / f"{graph_name}.onnx", opset=18,
                           output_names=(graph_name,))
        assert onnx_opset(path) >= 18
        exported = onnx.load(str(path)).graph
        assert [i.name for i in exported.input] == list(graph.dynamic_axes)
        assert exported.output[0].name == graph_name
        for onnx_input, axes in zip(exported.input, graph.dynamic_axes.values()):
            dims = onnx_input.type.tensor_type.shape.dim
            for axis in axes:  # dynamic: a named dimension, no fixed size
                assert dims[axis].dim_param and not dims[axis].HasField("dim_value")
        diffs = onnx_parity(graph, path, batch_sizes=(1, 3))  # not the export batch
        assert set(diffs) == {1, 3}
        assert max(diffs.values()) <= 1e-4, (graph_name, diffs)


def test_two_input_graph_shares_the_batch_dimension(tmp_path):
    class Pair(torch.nn.Module):
        def forward(self, query, gallery):
            return (query * gallery).sum(1), query - gallery

    graph = ExportGraph(Pair(), (torch.randn(2, 4), torch.randn(2, 4)),
                        {"query": {0: BATCH_DIM}, "gallery": {0: BATCH_DIM}})
    path = export_onnx(graph, tmp_path / "pair.onnx", output_names=("score", "diff"))
    assert [o.name for o in onnx.load(str(path)).graph.output] == ["score", "diff"]
    assert max(onnx_parity(graph, path, (1, 5)).values()) <= 1e-6


def test_parity_detects_a_different_model(small_onnx, clip_mean):
    graph, path = small_onnx
    assert max(onnx_parity(graph, path, (3,)).values()) <= 1e-5
    other = graph._replace(module=clip_mean().eval())  # other weights
    assert max(onnx_parity(other, path, (3,)).values()) > 1e-3


def test_export_batch_below_two_is_refused(tmp_path, clip_mean):
    with pytest.raises(ValueError, match="export_batch must be >= 2"):
        export_onnx(clip_graph(clip_mean(), export_batch=1), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_dynamic_axes_must_name_every_input(tmp_path, clip_mean):
    graph = ExportGraph(clip_mean(), (torch.randn(2, *SMALL_SHAPE),), {})
    with pytest.raises(ValueError, match="dynamic_axes must name each of the 1 input"):
        export_onnx(graph, tmp_path / "m.onnx")


def test_ort_session_refuses_unknown_level_and_missing_provider(small_onnx):
    _, path = small_onnx
    with pytest.raises(ValueError, match="optimisation"):
        ort_session(path, optimization="max")
    with pytest.raises(RuntimeError, match="NoSuchExecutionProvider"):
        ort_session(path, providers=["NoSuchExecutionProvider"])
    assert ort_session(path, threads=1).get_inputs()[0].name == "clips"


def test_video_cnn_with_the_lstm_aggregator_exports_with_parity(tmp_path):
    """The registry-wide test exports video_cnn's tiny (attention) instance; this one its
    LSTM variant (torch.export traces nn.LSTM; T is fixed at export, only the batch is dynamic)."""
    torch.manual_seed(0)
    info = MODELS.info("video_cnn")
    model = build_model("video_cnn", num_classes=5, depth=18, temporal="rnn",
                        temporal_kwargs={"hidden": 16})
    graph = info.export_graphs(model, info.tiny_input, EXPORT_BATCH)["embedding"]
    path = export_onnx(graph, tmp_path / "rnn.onnx", opset=18)
    assert max(onnx_parity(graph, path, batch_sizes=(1, 3)).values()) <= 1e-4
