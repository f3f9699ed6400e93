"""What a model takes in, and the graphs it hands to ONNX / TensorRT / the benchmark.

An `ExportGraph` is (module, example inputs, dynamic axes): `dynamic_axes` names every
input of `module.forward`, in order, with the axes whose size may vary
({input name: {axis: dim name}}); the keys are the ONNX input names. Axes named
`BATCH_DIM` are the ones parity checks, engine profiles and benchmarks resize.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from ..data.corruption import ClipCorruption
from ..data.transforms import IMAGENET_MEAN, IMAGENET_STD, build_transform

BATCH_DIM = "batch"


@dataclass(frozen=True)
class InputSpec:
    """What a model sees: frames resized to height x width, normalised with mean / std, in
    clips of `clip_len`. Read from the model file (`input`), not from the config; export,
    scoring and promotion all use it. `corruption`: paper 002's test-time clip corruption
    (a protocol of the stage config, not of the model file; None: off), which scoring
    applies to clips of the model's own length."""

    height: int
    width: int
    clip_len: int = 1
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    corruption: ClipCorruption | None = None

    def eval_transform(self):
        return build_transform(self.height, self.width, train=False, mean=self.mean,
                               std=self.std)


class ExportGraph(NamedTuple):
    module: nn.Module
    example_inputs: tuple[torch.Tensor, ...]
    dynamic_axes: dict[str, dict[int, str]]


def batch_shapes(graph: ExportGraph, batch: int) -> list[tuple[int, ...]]:
    """Each input's example shape with its `BATCH_DIM` axes set to `batch`."""
    shapes = []
    for x, axes in zip(graph.example_inputs, graph.dynamic_axes.values()):
        shapes.append(tuple(batch if axes.get(i) == BATCH_DIM else n
                            for i, n in enumerate(x.shape)))
    return shapes


def random_inputs(graph: ExportGraph, batch: int,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
    """Standard-normal inputs of the graph's shapes at batch size `batch`."""
    return tuple(torch.randn(shape, generator=generator, dtype=x.dtype)
                 for shape, x in zip(batch_shapes(graph, batch), graph.example_inputs))
