"""TensorRT: engine build + execute_async_v3 parity where it can run; elsewhere the reason
is recorded and the benchmark goes on."""

import pytest
import torch

from vreid.export.benchmark import benchmark_backends
from vreid.export.onnx import export_onnx
from vreid.export.tensorrt import tensorrt_status
from vreid.models import MODELS, build_model
from vreid.models.inputs import InputSpec

AVAILABLE, REASON = tensorrt_status()


def test_status_is_a_reason_either_way():
    assert isinstance(AVAILABLE, bool) and REASON
    if not AVAILABLE:
        assert "tensorrt" in REASON.lower() or "cuda" in REASON.lower()


@pytest.mark.skipif(not AVAILABLE, reason=f"TensorRT cannot run here: {REASON}")
@pytest.mark.parametrize("fp16,tolerance", [(False, 1e-3), (True, 5e-2)])
def test_engine_matches_torch(tmp_path, fp16, tolerance):
    from vreid.export.tensorrt import TensorRTRunner, build_engine, tensorrt_parity

    torch.manual_seed(0)
    model = build_model("resnet_tap", num_classes=3, depth=18)
    graph = MODELS.info("resnet_tap").export_graphs(model, InputSpec(32, 16, 2))["embedding"]
    path = export_onnx(graph, tmp_path / "m.onnx")
    engine = build_engine(path, graph, (1, 4, 8), fp16=fp16)
    runner = TensorRTRunner(engine.serialized)
    assert runner(torch.randn(5, 2, 3, 32, 16)).shape == (5, 512)  # inside the dynamic profile
    assert tensorrt_parity(graph, runner, batch_size=3) <= tolerance


@pytest.mark.skipif(AVAILABLE, reason="TensorRT is available: the unavailable path is not taken")
def test_benchmark_records_unavailable_tensorrt_and_goes_on(small_onnx):
    graph, path = small_onnx
    result = benchmark_backends(graph, path, batch_sizes=(1,),
                                backends=("tensorrt", "torch_eager"), warmup=0, iterations=1)
    assert result.status["tensorrt"] == f"unavailable ({REASON})"
    assert result.status["torch_eager"] == "ok" and "tensorrt" not in result.timings
    assert result.metrics()["torch_eager.bs1.clips_per_s"] > 0
