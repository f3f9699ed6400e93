"""The export stage: a model file -> models/export/model.onnx (+ a TensorRT engine where it
can be built) and reports/export.json (opset, parity, TensorRT status)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ExportConfig, RuntimeConfig
from ..engine import MetricLogger, NullLogger
from ..export.onnx import export_onnx, onnx_opset, onnx_parity
from ..export.tensorrt import tensorrt_status
from ..models.inputs import ExportGraph, InputSpec
from ..models.registry import EMBEDDING_GRAPH, MODELS
from .common import atomic_write_bytes, atomic_write_json, load_model, set_threads


@dataclass
class ExportOutput:
    onnx_path: Path
    engine_path: Path | None
    report_path: Path
    report: dict[str, Any]


def load_for_inference(model_path: str | Path,
                       export_batch: int = 2) -> tuple[ExportGraph, dict[str, Any]]:
    """The "embedding" graph of a vreid model file (its registry entry's `export_graphs`
    at the file's input size, examples of `export_batch` samples) and the file's content."""
    model, saved = load_model(model_path)
    inp = saved.get("input")
    if not isinstance(inp, dict) or not {"clip_len", "height", "width"} <= set(inp):
        raise ValueError(f"{model_path}: model file has no input size (input.clip_len/height/width)")
    spec = InputSpec(int(inp["height"]), int(inp["width"]), int(inp["clip_len"]))
    graphs = MODELS.info(saved["model_name"]).export_graphs(model, spec, export_batch)
    if EMBEDDING_GRAPH not in graphs:
        raise ValueError(f"{model_path}: model {saved['model_name']!r} exports no "
                         f"{EMBEDDING_GRAPH!r} graph (it exports {sorted(graphs)})")
    return graphs[EMBEDDING_GRAPH], saved


def _shape_with_axes(graph: ExportGraph) -> list[int | str]:
    """The first input's example shape with its dynamic axes named, e.g. ["batch", 4, 3, 64, 32]."""
    axes = next(iter(graph.dynamic_axes.values()))
    return [axes.get(i, n) for i, n in enumerate(graph.example_inputs[0].shape)]


def _tensorrt_engine(cfg: ExportConfig, graph: ExportGraph, onnx_path: Path,
                     out_dir: Path) -> tuple[dict[str, Any], Path | None]:
    """Build and check an engine when TensorRT can run here; else record why not."""
    if not cfg.tensorrt:
        return {"tensorrt": "skipped (export.tensorrt is false)"}, None
    available, reason = tensorrt_status()
    if not available:
        return {"tensorrt": f"unavailable ({reason})"}, None
    from ..export.tensorrt import TensorRTRunner, build_engine, tensorrt_parity

    try:
        engine = build_engine(onnx_path, graph, cfg.tensorrt_batch_sizes, cfg.tensorrt_fp16)
        runner = TensorRTRunner(engine.serialized)
        diffs = {f"tensorrt_parity.bs{b}.max_abs_diff":
                 tensorrt_parity(graph, runner, b) for b in cfg.parity_batch_sizes}
    except RuntimeError as exc:  # the ONNX file stands; the report says why no engine
        return {"tensorrt": f"failed ({exc})"}, None
    path = out_dir / "model.engine"
    atomic_write_bytes(path, engine.serialized)
    return {"tensorrt": f"ok ({reason}, {engine.precision})", **diffs}, path


def export(cfg: ExportConfig, model_path: str | Path = "models/train_video/model.pt",
           out_dir: str | Path = "models/export", reports_dir: str | Path = "reports",
           runtime: RuntimeConfig | None = None, logger: MetricLogger | None = None) -> ExportOutput:
    """Export the model's "embedding" graph, check ORT parity at `parity_batch_sizes`,
    then publish model.onnx.

    The ONNX file replaces the previous one only once its parity is within tolerance:
    a failed export leaves the last good file in place.
    """
    if cfg.export_batch in cfg.parity_batch_sizes or not cfg.parity_batch_sizes:
        raise ValueError(f"export.parity_batch_sizes {list(cfg.parity_batch_sizes)} must be "
                         f"non-empty and differ from export.export_batch {cfg.export_batch}")
    set_threads(runtime.threads if runtime else 0)
    logger = logger or NullLogger()
    graph, saved = load_for_inference(model_path, cfg.export_batch)
    out_dir, reports = Path(out_dir), Path(reports_dir)
    onnx_path = out_dir / "model.onnx"
    unchecked = out_dir / ".model.onnx.unchecked"
    start = time.perf_counter()
    try:
        export_onnx(graph, unchecked, cfg.opset, output_names=(EMBEDDING_GRAPH,))
        export_s = time.perf_counter() - start
        diffs = onnx_parity(graph, unchecked, cfg.parity_batch_sizes)
        worst = max(diffs.values())
        if worst > cfg.tolerance:
            raise ValueError(f"{model_path}: ONNX Runtime output differs from torch by {worst:.3g} "
                             f"(> export.tolerance {cfg.tolerance:g}); model.onnx not replaced")
        os.replace(unchecked, onnx_path)
    finally:
        unchecked.unlink(missing_ok=True)
    report: dict[str, Any] = {
        "model": str(model_path), "model_name": saved["model_name"],
        "input_shape": _shape_with_axes(graph), "opset": onnx_opset(onnx_path),
        "export_batch": cfg.export_batch, "parity_batch_sizes": list(cfg.parity_batch_sizes),
        "parity_max_abs_diff": worst, "tolerance": cfg.tolerance,
        **{f"parity.bs{b}.max_abs_diff": d for b, d in diffs.items()},
        "onnx_mb": round(onnx_path.stat().st_size / 2**20, 3), "export_s": round(export_s, 2),
    }
    trt_report, engine_path = _tensorrt_engine(cfg, graph, onnx_path, out_dir)
    report.update(trt_report)
    report_path = reports / "export.json"
    atomic_write_json(report_path, report)
    logger.log_metrics({k: v for k, v in report.items()
                        if isinstance(v, (int, float)) and not isinstance(v, bool)})
    logger.log_artifact(report_path)
    return ExportOutput(onnx_path, engine_path, report_path, report)
