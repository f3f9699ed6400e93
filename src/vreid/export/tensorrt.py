"""TensorRT engines from the exported ONNX file (an optional extra: `pip install vreid[tensorrt]`).

`tensorrt` is imported inside the functions, so this module imports anywhere; callers ask
`tensorrt_status()` first and record its reason when TensorRT cannot run.

Versions: 10.x and 11.x. Both build explicit-batch networks (the only kind since 10.0)
with one optimisation profile over the dynamic batch axis. Precision differs:
- 10.x is weakly typed by default: FP16 kernels are allowed with `BuilderFlag.FP16` when
  the GPU has fast FP16.
- 11.x is always strongly typed: the ONNX graph's types are the engine's types, and the
  precision flags are gone. An fp32 ONNX file gives an fp32 engine (FP16 would need the
  graph converted first, e.g. by ModelOpt AutoCast, which we do not depend on).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from ..models.inputs import ExportGraph, batch_shapes, random_inputs
from .onnx import as_outputs


def _import_tensorrt() -> Any:
    import tensorrt  # noqa: PLC0415  (optional extra)

    return tensorrt


def tensorrt_status() -> tuple[bool, str]:
    """(available, reason): the TensorRT version when usable, else why not."""
    try:
        trt = _import_tensorrt()
    except ImportError as exc:
        return False, f"tensorrt is not installed ({exc}); install the 'tensorrt' extra on a GPU machine"
    major = _major(trt)
    if major < 10:
        return False, f"tensorrt {trt.__version__} is too old (10.x or 11.x needed)"
    if not torch.cuda.is_available():
        return False, f"tensorrt {trt.__version__} found but torch sees no CUDA device"
    return True, f"tensorrt {trt.__version__}"


def _major(trt: Any) -> int:
    return int(str(trt.__version__).split(".")[0])


@dataclass
class Engine:
    serialized: bytes
    precision: str  # "fp16" | "fp32" | "fp32 (strongly typed)"
    version: str


def build_engine(onnx_path: str | Path, graph: ExportGraph,
                 batch_sizes: Sequence[int], fp16: bool = True,
                 workspace_bytes: int = 2 << 30) -> Engine:
    """Serialized engine for `graph`'s inputs, their batch axes from min to max of
    `batch_sizes` (the file's inputs are the graph's, in order)."""
    trt = _import_tensorrt()
    major = _major(trt)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    strongly_typed = major >= 11  # always on in 11.x (the flag is accepted but ignored)
    if strongly_typed and hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"{onnx_path}: TensorRT cannot parse the ONNX file ({errors})")
    if network.num_inputs != len(graph.example_inputs):
        raise RuntimeError(f"{onnx_path}: {network.num_inputs} ONNX input(s), the graph has "
                           f"{len(graph.example_inputs)} ({list(graph.dynamic_axes)})")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    profile = builder.create_optimization_profile()
    lo, hi = min(batch_sizes), max(batch_sizes)
    opt = sorted(batch_sizes)[len(batch_sizes) // 2]
    shapes = zip(*(batch_shapes(graph, b) for b in (lo, opt, hi)))
    for i, (low, best, high) in enumerate(shapes):
        profile.set_shape(network.get_input(i).name, low, best, high)
    config.add_optimization_profile(profile)
    precision = "fp32 (strongly typed)" if strongly_typed else "fp32"
    if fp16 and not strongly_typed and builder.platform_has_fast_fp16:
        config.set_flag(trt.BuilderFlag.FP16)
        precision = "fp16"
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"{onnx_path}: TensorRT engine build failed (see the log above)")
    return Engine(bytes(serialized), precision, str(trt.__version__))


class TensorRTRunner:
    """Runs a serialized engine with `execute_async_v3`, torch CUDA tensors as buffers."""

    def __init__(self, serialized: bytes) -> None:
        trt = _import_tensorrt()
        self._trt = trt
        self._runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = self._runtime.deserialize_cuda_engine(serialized)
        if self.engine is None:
            raise RuntimeError("TensorRT could not deserialize the engine")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if n not in inputs]
        self.input_names, self.output_names = inputs, outputs

    def _torch_dtype(self, name: str) -> torch.dtype:
        trt = self._trt
        return {trt.float32: torch.float32, trt.float16: torch.float16}[
            self.engine.get_tensor_dtype(name)]

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """The engine's output(s) for `inputs` (in the engine's input order), like the module."""
        if len(inputs) != len(self.input_names):
            raise ValueError(f"engine takes {len(self.input_names)} input(s) "
                             f"{self.input_names}, got {len(inputs)}")
        feeds = [x.to("cuda", self._torch_dtype(n)).contiguous()
                 for n, x in zip(self.input_names, inputs)]
        for name, x in zip(self.input_names, feeds):  # all shapes first: outputs depend on them
            self.context.set_input_shape(name, tuple(x.shape))
            self.context.set_tensor_address(name, x.data_ptr())
        outs = [torch.empty(tuple(self.context.get_tensor_shape(n)),
                            dtype=self._torch_dtype(n), device="cuda") for n in self.output_names]
        for name, out in zip(self.output_names, outs):
            self.context.set_tensor_address(name, out.data_ptr())
        stream = torch.cuda.current_stream()
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("TensorRT execute_async_v3 failed")
        stream.synchronize()
        return outs[0] if len(outs) == 1 else tuple(outs)


def tensorrt_parity(graph: ExportGraph, runner: TensorRTRunner, batch_size: int,
                    seed: int = 0) -> float:
    """Max |torch - TensorRT| over the outputs on one random batch (torch on the same GPU)."""
    inputs = random_inputs(graph, batch_size, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected = as_outputs(graph.module.eval().to("cuda")(*(x.to("cuda") for x in inputs)))
    got = as_outputs(runner(*inputs))
    return max(float((g.float() - e.float()).abs().max()) for g, e in zip(got, expected))
