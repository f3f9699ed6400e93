"""Export and benchmark stages: reports written, last good output kept, clear errors."""

import json

import pytest
import torch

from vreid.config import BenchmarkConfig, ExportConfig, InputConfig, ModelConfig, RuntimeConfig
from vreid.export.tensorrt import tensorrt_status
from vreid.models import build_model
from vreid.pipeline.benchmark import benchmark
from vreid.pipeline.common import save_model
from vreid.pipeline.export import export

RUNTIME = RuntimeConfig(device="cpu", threads=1)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    work = tmp_path_factory.mktemp("export")
    torch.manual_seed(0)
    model_path = work / "model.pt"
    save_model(model_path, build_model("resnet_tap", num_classes=4, depth=18),
               ModelConfig("resnet_tap", {"depth": 18}), 4, InputConfig(32, 16, 2))
    out = export(ExportConfig(), model_path, work / "models/export", work / "reports", RUNTIME)
    return work, model_path, out


def test_export_writes_onnx_and_report(exported):
    work, model_path, out = exported
    assert out.onnx_path == work / "models/export/model.onnx" and out.onnx_path.is_file()
    report = json.loads((work / "reports/export.json").read_text())
    assert report == json.loads(json.dumps(out.report))
    assert report["opset"] == 18 and report["model_name"] == "resnet_tap"
    assert report["input_shape"] == ["batch", 2, 3, 32, 16]
    assert report["parity_batch_sizes"] == [1, 3] and report["export_batch"] == 2
    assert 0 <= report["parity_max_abs_diff"] <= 1e-4
    assert report["parity_max_abs_diff"] == max(report["parity.bs1.max_abs_diff"],
                                                report["parity.bs3.max_abs_diff"])
    available, reason = tensorrt_status()
    if available:
        assert report["tensorrt"].startswith("ok") and out.engine_path.is_file()
    else:
        assert report["tensorrt"] == f"unavailable ({reason})" and out.engine_path is None
    assert not list((work / "models/export").glob(".*"))  # no temp file left


def test_failed_parity_keeps_the_last_good_onnx(exported, tmp_path):
    work, model_path, out = exported
    before = out.onnx_path.read_bytes()
    with pytest.raises(ValueError, match=r"model\.pt.*export\.tolerance"):
        export(ExportConfig(tolerance=-1.0), model_path, out.onnx_path.parent, tmp_path, RUNTIME)
    assert out.onnx_path.read_bytes() == before and not (tmp_path / "export.json").exists()
    assert not list(out.onnx_path.parent.glob(".*"))


def test_parity_batch_must_differ_from_export_batch(exported, tmp_path):
    _, model_path, _ = exported
    with pytest.raises(ValueError, match="parity_batch_sizes"):
        export(ExportConfig(export_batch=3, parity_batch_sizes=(3,)), model_path, tmp_path, tmp_path)


def test_bad_model_file_names_the_file(tmp_path):
    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="garbage.pt"):
        export(ExportConfig(), bad, tmp_path / "out", tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        export(ExportConfig(), tmp_path / "missing.pt", tmp_path / "out", tmp_path)
    torch.save({"state_dict": {}}, tmp_path / "weights_only.pt")
    with pytest.raises(ValueError, match="weights_only.pt.*not a vreid model file"):
        export(ExportConfig(), tmp_path / "weights_only.pt", tmp_path / "out", tmp_path)
    assert not (tmp_path / "out").exists()


def test_a_model_without_an_embedding_graph_is_refused(tmp_path):
    from vreid.models import MODELS

    kwargs = MODELS.info("parsing_net").tiny_kwargs
    save_model(tmp_path / "parser.pt", build_model("parsing_net", **kwargs),
               ModelConfig("parsing_net", kwargs), 20, InputConfig(32, 16, 1))
    with pytest.raises(ValueError, match=r"parser\.pt: model 'parsing_net' exports no "
                                         r"'embedding' graph \(it exports \['per_frame'\]\)"):
        export(ExportConfig(), tmp_path / "parser.pt", tmp_path / "out", tmp_path)
    assert not (tmp_path / "out").exists()


def test_benchmark_writes_flat_metrics_and_machine(exported, tmp_path):
    work, model_path, out = exported
    cfg = BenchmarkConfig(batch_sizes=(1, 2), warmup=0, iterations=1,
                          backends=("torch_eager", "ort_cpu", "tensorrt"))
    result = benchmark(cfg, model_path, out.onnx_path, tmp_path, RUNTIME)
    report = json.loads((tmp_path / "benchmark.json").read_text())
    numeric = {k: v for k, v in report.items() if "." in k}
    assert numeric == result.result.metrics() and len(numeric) == 2 * 2 * 4 + 2
    assert report["ort_cpu.bs2.frames_per_s"] == pytest.approx(
        2 * report["ort_cpu.bs2.clips_per_s"], rel=1e-3)
    assert "ratio.ort_cpu_vs_torch_eager.bs2" in report
    assert report["backends"]["tensorrt"].startswith(("unavailable (", "ok"))
    assert report["machine"]["cpu_count"] >= 1 and report["clip_shape"] == [2, 3, 32, 16]


def test_benchmark_needs_the_onnx_file(exported, tmp_path):
    _, model_path, _ = exported
    with pytest.raises(FileNotFoundError, match="nowhere.onnx"):
        benchmark(BenchmarkConfig(), model_path, tmp_path / "nowhere.onnx", tmp_path)
    with pytest.raises(ValueError, match="ort_optimization"):
        benchmark(BenchmarkConfig(ort_optimization="max"), model_path, tmp_path / "x.onnx", tmp_path)
