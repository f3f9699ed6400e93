"""ONNX export of a model's inference graph (clip batch -> embedding) and its parity check.

The dynamo exporter (`torch.onnx.export(..., dynamo=True)`, needs onnxscript) traces the
eval-mode forward with `torch.export`; the batch axis is exported as a dynamic dimension.
onnx / onnxruntime are imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

INPUT_NAME = "clips"
OUTPUT_NAME = "embedding"
# ONNX Runtime's graph optimisation levels by name (params.yaml spells them this way).
ORT_OPT_LEVELS = ("disable", "basic", "extended", "all")


def export_onnx(model: nn.Module, sample_shape: Sequence[int], path: str | Path,
                opset: int = 18, export_batch: int = 2) -> Path:
    """Write `model`'s eval graph for inputs [B, *sample_shape] to `path`.

    The batch axis is dynamic; `export_batch` is the example batch traced (>= 2: torch.export
    specialises sizes 0 and 1). The export stage writes to a temporary name and renames
    the file once its parity is checked (vreid.pipeline.export).
    """
    if export_batch < 2:
        raise ValueError(f"export_batch must be >= 2 (torch.export specialises 0/1), got {export_batch}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.randn(export_batch, *sample_shape)
    batch = torch.export.Dim("batch", min=1, max=4096)
    model = model.eval()
    with torch.no_grad():
        program = torch.onnx.export(
            model, (example,), dynamo=True, opset_version=opset,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: batch},),
            external_data=False, verbose=False)
    program.save(str(path))
    return path


def onnx_opset(path: str | Path) -> int:
    """The default-domain opset the ONNX file declares."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def ort_session(path: str | Path, providers: Sequence[str] = ("CPUExecutionProvider",),
                threads: int = 0, optimization: str = "all") -> Any:
    """An ONNX Runtime session; `threads` 0 lets ORT pick (one per physical core)."""
    import onnxruntime as ort

    if optimization not in ORT_OPT_LEVELS:
        raise ValueError(f"ORT graph optimisation must be one of {ORT_OPT_LEVELS}, got {optimization!r}")
    options = ort.SessionOptions()
    options.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[optimization]
    if threads > 0:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    missing = set(providers) - set(ort.get_available_providers())
    if missing:
        raise RuntimeError(f"ONNX Runtime provider(s) {sorted(missing)} not available "
                           f"(have {ort.get_available_providers()})")
    return ort.InferenceSession(str(path), options, providers=list(providers))


def onnx_parity(model: nn.Module, path: str | Path, sample_shape: Sequence[int],
                batch_sizes: Sequence[int] = (1, 3), seed: int = 0) -> dict[int, float]:
    """Max |torch - ORT(CPU)| of the output on one random batch per batch size."""
    generator = torch.Generator().manual_seed(seed)
    session = ort_session(path)
    diffs = {}
    for batch in batch_sizes:
        inputs = torch.randn(batch, *sample_shape, generator=generator)
        with torch.no_grad():
            expected = model.eval()(inputs).numpy()
        got = session.run([OUTPUT_NAME], {INPUT_NAME: inputs.numpy()})[0]
        if got.shape != expected.shape:
            raise ValueError(f"{path}: ONNX output shape {got.shape} != torch {expected.shape} "
                             f"at batch {batch}")
        diffs[batch] = float(np.abs(got - expected).max())
    return diffs
