"""The benchmark stage: inference throughput and latency of the exported model per backend
-> reports/benchmark.json (flat numeric keys for DVC metrics, plus the machine)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import BenchmarkConfig, RuntimeConfig
from ..engine import MetricLogger, NullLogger
from ..export.benchmark import BenchmarkResult, benchmark_backends, describe_machine
from ..export.onnx import ORT_OPT_LEVELS
from .common import atomic_write_json, resolve_device, set_threads
from .export import load_for_inference


@dataclass
class BenchmarkOutput:
    result: BenchmarkResult
    report_path: Path
    report: dict[str, Any]


def benchmark(cfg: BenchmarkConfig, model_path: str | Path = "models/train_video/model.pt",
              onnx_path: str | Path = "models/export/model.onnx",
              reports_dir: str | Path = "reports", runtime: RuntimeConfig | None = None,
              logger: MetricLogger | None = None) -> BenchmarkOutput:
    """Time each configured backend at each batch size; write reports/benchmark.json."""
    if cfg.ort_optimization not in ORT_OPT_LEVELS:
        raise ValueError(f"benchmark.ort_optimization must be one of {ORT_OPT_LEVELS}, "
                         f"got {cfg.ort_optimization!r}")
    runtime = runtime or RuntimeConfig()
    threads = cfg.threads or runtime.threads
    set_threads(threads)
    logger = logger or NullLogger()
    graph, _ = load_for_inference(model_path)
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise FileNotFoundError(f"ONNX file not found: {onnx_path} (run `vreid export` first)")
    device = resolve_device(runtime.device)
    result = benchmark_backends(graph, onnx_path, cfg.batch_sizes, cfg.backends, cfg.warmup,
                                cfg.iterations, device, threads, cfg.ort_optimization)
    metrics = result.metrics()
    report = {**metrics, "backends": result.status, "machine": describe_machine(),
              "torch_device": str(device), "clip_shape": list(graph.example_inputs[0].shape[1:]),
              "warmup": cfg.warmup, "iterations": cfg.iterations}
    report_path = Path(reports_dir) / "benchmark.json"
    atomic_write_json(report_path, report)
    logger.log_metrics(metrics)
    logger.log_artifact(report_path)
    return BenchmarkOutput(result, report_path, report)
