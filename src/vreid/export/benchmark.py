"""Inference throughput and latency of one exported graph across backends, in one run.

Backends: torch eager, torch.compile, ONNX Runtime (CPU, CUDA), TensorRT. A backend that
cannot run on this machine is recorded as `unavailable (<reason>)`, one that breaks as
`failed (<reason>)`; the others are still measured. Warm-up calls are never timed.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..markdown import markdown_table
from ..models.inputs import ExportGraph, random_inputs
from .onnx import ort_session
from .tensorrt import TensorRTRunner, build_engine, tensorrt_status

BACKENDS = ("torch_eager", "torch_compile", "ort_cpu", "ort_cuda", "tensorrt")
REFERENCE = "torch_eager"  # every ratio is `<backend> clips/s / torch eager clips/s`


class BackendUnavailable(RuntimeError):
    """This backend cannot run on this machine (a reason, not a bug)."""


@dataclass
class Timing:
    batch_size: int
    clips_per_s: float
    frames_per_s: float
    p50_ms: float
    p95_ms: float


@dataclass
class BenchmarkResult:
    status: dict[str, str] = field(default_factory=dict)  # backend -> ok/unavailable/failed (...)
    timings: dict[str, list[Timing]] = field(default_factory=dict)

    def metrics(self) -> dict[str, float]:
        """Flat numeric keys (DVC metrics / MLflow), ratios against torch eager included."""
        out: dict[str, float] = {}
        for backend, rows in self.timings.items():
            for t in rows:
                for key in ("clips_per_s", "frames_per_s", "p50_ms", "p95_ms"):
                    out[f"{backend}.bs{t.batch_size}.{key}"] = round(getattr(t, key), 4)
        reference = {t.batch_size: t.clips_per_s for t in self.timings.get(REFERENCE, [])}
        for backend, rows in self.timings.items():
            if backend == REFERENCE:
                continue
            for t in rows:
                if reference.get(t.batch_size):
                    out[f"ratio.{backend}_vs_{REFERENCE}.bs{t.batch_size}"] = round(
                        t.clips_per_s / reference[t.batch_size], 4)
        return out


def describe_machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import onnxruntime as ort

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "gpu": gpu, "python": platform.python_version(), "torch": torch.__version__,
            "onnxruntime": ort.__version__, "platform": platform.platform()}


def time_calls(run: Callable[..., Any], inputs: Sequence[torch.Tensor], frames_per_clip: int,
               warmup: int, iterations: int) -> Timing:
    """Latency of `iterations` calls `run(*inputs)` on one batch after `warmup` untimed calls."""
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    for _ in range(warmup):
        run(*inputs)
    latencies = []
    for _ in range(iterations):
        start = time.perf_counter()
        run(*inputs)
        latencies.append(time.perf_counter() - start)
    batch = inputs[0].shape[0]
    clips_per_s = batch * iterations / sum(latencies)
    return Timing(batch, clips_per_s, clips_per_s * frames_per_clip,
                  float(np.percentile(latencies, 50) * 1e3), float(np.percentile(latencies, 95) * 1e3))


def _torch_runner(model: nn.Module, device: torch.device) -> Callable[..., Any]:
    model = model.eval().to(device)

    def run(*inputs: torch.Tensor) -> Any:
        with torch.inference_mode():
            out = model(*(x.to(device) for x in inputs))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return out

    return run


def _ort_runner(onnx_path: Path, provider: str, threads: int,
                optimization: str) -> Callable[..., Any]:
    import onnxruntime as ort

    if provider not in ort.get_available_providers():
        raise BackendUnavailable(f"{provider} not in this onnxruntime build "
                                 f"(providers: {', '.join(ort.get_available_providers())})")
    session = ort_session(onnx_path, [provider], threads, optimization)
    names = [i.name for i in session.get_inputs()]
    return lambda *inputs: session.run(None, {n: x.numpy() for n, x in zip(names, inputs)})


def make_runner(backend: str, graph: ExportGraph, onnx_path: Path | None,
                batch_sizes: Sequence[int], device: torch.device,
                threads: int = 0, ort_optimization: str = "all") -> Callable[..., Any]:
    """A callable taking the graph's CPU inputs and returning the backend's output
    (synchronised)."""
    model = graph.module
    if backend == "torch_eager":
        return _torch_runner(model, device)
    if backend == "torch_compile":
        # one dynamic-shape graph serves every batch size (no recompilation per size)
        return _torch_runner(torch.compile(model.eval().to(device), dynamic=True), device)
    if backend in ("ort_cpu", "ort_cuda", "tensorrt") and onnx_path is None:
        raise BackendUnavailable("no ONNX file given")
    if backend == "ort_cpu":
        return _ort_runner(onnx_path, "CPUExecutionProvider", threads, ort_optimization)
    if backend == "ort_cuda":
        return _ort_runner(onnx_path, "CUDAExecutionProvider", threads, ort_optimization)
    if backend == "tensorrt":
        available, reason = tensorrt_status()
        if not available:
            raise BackendUnavailable(reason)
        return TensorRTRunner(build_engine(onnx_path, graph, batch_sizes).serialized)
    raise ValueError(f"unknown backend {backend!r}; known: {BACKENDS}")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def benchmark_backends(graph: ExportGraph, onnx_path: str | Path | None,
                       batch_sizes: Sequence[int] = (1, 8, 32),
                       backends: Sequence[str] = BACKENDS, warmup: int = 2,
                       iterations: int = 10, device: str | torch.device = "cpu",
                       threads: int = 0, ort_optimization: str = "all",
                       seed: int = 0) -> BenchmarkResult:
    """Time every backend at every batch size; unavailable/failed backends are recorded.

    `onnx_path` is `graph` exported (ORT and TensorRT run it). Frames per sample: the
    clip length when the first input is a clip batch [B, T, C, H, W], else 1.
    """
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise ValueError(f"unknown backend(s) {unknown}; known: {list(BACKENDS)}")
    device = torch.device(device)
    onnx_path = Path(onnx_path) if onnx_path is not None else None
    generator = torch.Generator().manual_seed(seed)
    batches = {b: random_inputs(graph, b, generator) for b in batch_sizes}
    first = graph.example_inputs[0]
    frames_per_clip = int(first.shape[1]) if first.dim() == 5 else 1
    result = BenchmarkResult()
    for backend in backends:
        try:
            run = make_runner(backend, graph, onnx_path, batch_sizes, device, threads,
                              ort_optimization)
            # torch.compile compiles on its first call: never time that one
            calls = max(warmup, 1) if backend == "torch_compile" else warmup
            rows = [time_calls(run, batches[b], frames_per_clip, calls, iterations)
                    for b in batch_sizes]
        except BackendUnavailable as exc:
            result.status[backend] = f"unavailable ({exc})"
            continue
        except Exception as exc:  # noqa: BLE001  (a broken backend must not stop the others)
            result.status[backend] = f"failed ({_reason(exc)})"
            continue
        result.timings[backend] = rows
        result.status[backend] = "ok"
    return result


def format_table(result: BenchmarkResult) -> str:
    """A Markdown table of the timings plus one line per backend that did not run."""
    metrics = result.metrics()
    cells = []
    for backend, rows in result.timings.items():
        for t in rows:
            ratio = metrics.get(f"ratio.{backend}_vs_{REFERENCE}.bs{t.batch_size}")
            cells.append([backend, t.batch_size, f"{t.clips_per_s:.1f}", f"{t.frames_per_s:.1f}",
                          f"{t.p50_ms:.1f}", f"{t.p95_ms:.1f}",
                          "-" if ratio is None else f"{ratio:.2f}x"])
    lines = [markdown_table(["backend", "batch", "clips/s", "frames/s", "p50 ms", "p95 ms",
                             f"vs {REFERENCE}"], cells)]
    for backend, status in result.status.items():
        if status != "ok":
            lines.append(f"\n{backend}: {status}")
    return "\n".join(lines)
