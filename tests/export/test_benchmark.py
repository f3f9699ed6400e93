"""The inference benchmark: timings, flat metrics, ratios, unavailable/failed backends."""

import math

import pytest
import torch

from vreid.export.benchmark import (BenchmarkResult, Timing, benchmark_backends,
                                    describe_machine, format_table, time_calls)


def test_time_calls_excludes_warmup_and_counts_frames():
    calls = []
    timing = time_calls(lambda x: calls.append(x.shape[0]), (torch.zeros(4, 2, 3, 8, 8),),
                        frames_per_clip=2, warmup=3, iterations=5)
    assert len(calls) == 8
    assert timing.batch_size == 4 and timing.frames_per_s == pytest.approx(2 * timing.clips_per_s)
    assert 0 < timing.p50_ms <= timing.p95_ms
    with pytest.raises(ValueError, match="iterations"):
        time_calls(lambda x: x, (torch.zeros(1),), 1, 0, 0)


def test_backends_at_each_batch_size_with_ratios(small_onnx):
    graph, path = small_onnx
    result = benchmark_backends(graph, path, batch_sizes=(1, 4),
                                backends=("torch_eager", "ort_cpu", "ort_cuda"),
                                warmup=1, iterations=2, threads=1)
    assert result.status["torch_eager"] == result.status["ort_cpu"] == "ok"
    if not torch.cuda.is_available():
        assert result.status["ort_cuda"].startswith("unavailable (CUDAExecutionProvider")
    m = result.metrics()
    for backend in ("torch_eager", "ort_cpu"):
        for b in (1, 4):
            assert m[f"{backend}.bs{b}.clips_per_s"] > 0
            assert m[f"{backend}.bs{b}.frames_per_s"] == pytest.approx(
                2 * m[f"{backend}.bs{b}.clips_per_s"], rel=1e-3)
    ratio = m["ratio.ort_cpu_vs_torch_eager.bs4"]
    assert ratio == pytest.approx(m["ort_cpu.bs4.clips_per_s"] / m["torch_eager.bs4.clips_per_s"],
                                  rel=1e-3)
    assert all(isinstance(v, float) and math.isfinite(v) for v in m.values())
    table = format_table(result)
    assert "| ort_cpu | 4 |" in table and "ort_cuda: " + result.status["ort_cuda"] in table


def test_a_failing_backend_is_recorded_and_the_others_run(small_onnx, monkeypatch):
    import vreid.export.benchmark as bench

    def broken(model, **kwargs):
        raise RuntimeError("no C++ compiler\nmore detail")

    monkeypatch.setattr(bench.torch, "compile", broken)
    graph, path = small_onnx
    result = benchmark_backends(graph, path, (1,), ("torch_compile", "ort_cpu"),
                                warmup=0, iterations=1)
    assert result.status["torch_compile"] == "failed (RuntimeError: no C++ compiler)"
    assert result.status["ort_cpu"] == "ok" and "torch_compile" not in result.timings
    assert "ratio.ort_cpu_vs_torch_eager.bs1" not in result.metrics()  # no reference measured


def test_unknown_backend_and_missing_onnx(small_onnx):
    graph, _ = small_onnx
    with pytest.raises(ValueError, match="unknown backend"):
        benchmark_backends(graph, None, (1,), ("torch_fast",))
    result = benchmark_backends(graph, None, (1,), ("ort_cpu",), warmup=0, iterations=1)
    assert result.status["ort_cpu"] == "unavailable (no ONNX file given)"


def test_metrics_keys_are_flat():
    result = BenchmarkResult({"torch_eager": "ok", "ort_cpu": "ok"},
                             {"torch_eager": [Timing(8, 10.0, 40.0, 800.0, 900.0)],
                              "ort_cpu": [Timing(8, 15.0, 60.0, 500.0, 600.0)]})
    m = result.metrics()
    assert m["ratio.ort_cpu_vs_torch_eager.bs8"] == 1.5
    assert m["torch_eager.bs8.p95_ms"] == 900.0 and len(m) == 9


def test_machine_description():
    machine = describe_machine()
    assert machine["cpu_count"] >= 1 and machine["torch"] == torch.__version__
    assert machine["gpu"] == (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")
