"""ONNX export of a model's graph (`ModelInfo.export_graphs`) and its parity check.

The dynamo exporter (`torch.onnx.export(..., dynamo=True)`, needs onnxscript) traces the
graph's module with `torch.export`; the axes its `dynamic_axes` name are exported as
dynamic dimensions. onnx / onnxruntime are imported inside the functions: importing
this module costs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..models.inputs import ExportGraph, random_inputs

OUTPUT_NAME = "embedding"
# ONNX Runtime's graph optimisation levels by name (params.yaml spells them this way).
ORT_OPT_LEVELS = ("disable", "basic", "extended", "all")


def export_onnx(graph: ExportGraph, path: str | Path, opset: int = 18,
                output_names: Sequence[str] = (OUTPUT_NAME,)) -> Path:
    """Write `graph`'s module, traced on its example inputs, to `path`.

    Every axis in `graph.dynamic_axes` is dynamic; its example size must be >= 2 (the
    export batch: torch.export specialises sizes 0 and 1). The export stage writes to a
    temporary name and renames the file once its parity is checked (vreid.pipeline.export).
    """
    module, inputs, axes = graph
    if len(axes) != len(inputs):
        raise ValueError(f"dynamic_axes must name each of the {len(inputs)} input(s) in order, "
                         f"got {list(axes)}")
    for (name, dims), x in zip(axes.items(), inputs):
        small = {d: x.shape[d] for d in dims if x.shape[d] < 2}
        if small:
            raise ValueError(f"input {name!r}: example size(s) {small} on dynamic axes; the "
                             f"export_batch must be >= 2 (torch.export specialises 0/1)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shared: dict[str, Any] = {}  # one torch.export.Dim per dim name, shared across inputs
    dynamic_shapes = tuple(
        {d: shared.setdefault(n, torch.export.Dim(n, min=1, max=4096)) for d, n in dims.items()}
        for dims in axes.values())
    module = module.eval()
    with torch.no_grad():
        program = torch.onnx.export(
            module, tuple(inputs), dynamo=True, opset_version=opset,
            input_names=list(axes), output_names=list(output_names),
            dynamic_shapes=dynamic_shapes, external_data=False, verbose=False)
    program.save(str(path))
    return path


def as_outputs(out: Any) -> list[torch.Tensor]:
    """A module's eval output (one tensor or a tuple of them) as a list of tensors."""
    return [out] if isinstance(out, torch.Tensor) else list(out)


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


def onnx_parity(graph: ExportGraph, path: str | Path, batch_sizes: Sequence[int] = (1, 3),
                seed: int = 0) -> dict[int, float]:
    """Max |torch - ORT(CPU)| over the outputs on one random batch per batch size."""
    generator = torch.Generator().manual_seed(seed)
    session = ort_session(path)
    names = [i.name for i in session.get_inputs()]
    diffs = {}
    for batch in batch_sizes:
        inputs = random_inputs(graph, batch, generator)
        with torch.no_grad():
            expected = [t.numpy() for t in as_outputs(graph.module.eval()(*inputs))]
        got = session.run(None, {n: x.numpy() for n, x in zip(names, inputs)})
        shapes = ([g.shape for g in got], [e.shape for e in expected])
        if shapes[0] != shapes[1]:
            raise ValueError(f"{path}: ONNX output shapes {shapes[0]} != torch {shapes[1]} "
                             f"at batch {batch}")
        diffs[batch] = max(float(np.abs(g - e).max()) for g, e in zip(got, expected))
    return diffs
