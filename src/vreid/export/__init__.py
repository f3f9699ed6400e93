"""Deployment: ONNX export with a parity check, TensorRT engines, inference benchmarks.

onnx / onnxruntime / tensorrt are imported inside functions, never at import time.
"""

from .benchmark import BACKENDS, BenchmarkResult, benchmark_backends, describe_machine, format_table
from .onnx import export_onnx, onnx_opset, onnx_parity, ort_session
from .tensorrt import tensorrt_status

__all__ = ["BACKENDS", "BenchmarkResult", "benchmark_backends", "describe_machine",
           "export_onnx", "format_table", "onnx_opset", "onnx_parity", "ort_session",
           "tensorrt_status"]
