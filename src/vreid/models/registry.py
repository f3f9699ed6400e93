"""The model registry: one interface, `build_model(name, **kwargs)`, and each entry's
metadata (`ModelInfo`), which drives the registry-wide tests and the export code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from ..registry import Registry
from .inputs import BATCH_DIM, ExportGraph, InputSpec

# How a model's tracklets are scored (`vreid.engine.scoring`):
# "embedding": eval returns one vector per clip [B, D]; a tracklet is the mean of its
#   clips' vectors, compared by the configured metric (the default scoring).
# "clip_set" / "pairwise": the model defines `tracklet_scoring(metric)` (a set of clip
#   vectors per tracklet; a learned pairwise similarity) that `score_index` uses.
# None: not a re-ID model, nothing is scored (the parser).
SCORING_KINDS = ("embedding", "clip_set", "pairwise", None)

# The graph the export stage writes to models/export/model.onnx.
EMBEDDING_GRAPH = "embedding"
PER_FRAME_GRAPH = "per_frame"

ExportGraphs = Callable[[nn.Module, InputSpec, int], dict[str, ExportGraph]]


@dataclass(frozen=True)
class ModelInfo:
    """What the tests and the export code need to know about a registered model.

    `tiny_kwargs`: all builder kwargs of a tiny instance (no files on disk);
    `per_frame`: takes images [B, 3, H, W] (else clips [B, T, 3, H, W]);
    `tiny_input`: the input size the tiny instance is tested at;
    `graphs(model, input_spec, batch)`: the graphs it exports, when not the default one
    (its eval forward on an example batch, dynamic batch axis).
    """

    tiny_kwargs: dict[str, Any]
    per_frame: bool = False
    scoring: str | None = "embedding"
    tiny_input: InputSpec = InputSpec(height=32, width=16, clip_len=3)
    graphs: ExportGraphs | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.scoring not in SCORING_KINDS:
            raise ValueError(f"ModelInfo.scoring must be one of {SCORING_KINDS}, "
                             f"got {self.scoring!r}")

    def example_inputs(self, spec: InputSpec, batch: int) -> tuple[torch.Tensor, ...]:
        """Random inputs of the model's forward at `spec`'s size, `batch` samples."""
        if self.per_frame:
            return (torch.randn(batch, 3, spec.height, spec.width),)
        return (torch.randn(batch, spec.clip_len, 3, spec.height, spec.width),)

    def export_graphs(self, model: nn.Module, spec: InputSpec,
                      batch: int = 2) -> dict[str, ExportGraph]:
        """{graph name: (module, example inputs, dynamic axes)}, examples of `batch` samples."""
        if self.graphs is not None:
            return self.graphs(model, spec, batch)
        name, input_name = ((PER_FRAME_GRAPH, "images") if self.per_frame
                            else (EMBEDDING_GRAPH, "clips"))
        return {name: ExportGraph(model.eval(), self.example_inputs(spec, batch),
                                  {input_name: {0: BATCH_DIM}})}


MODELS: Registry = Registry("model", info_type=ModelInfo)


def build_model(name: str, **kwargs) -> nn.Module:
    return MODELS.get(name)(**kwargs)
