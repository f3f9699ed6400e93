"""The model registry: one interface, `build_model(name, **kwargs)`, and each entry's
metadata (`ModelInfo`), which drives the registry-wide tests and the export code."""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ..engine.checkpoint import load_state_dict
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


log = logging.getLogger(__name__)

# The generic "start from a trained model" kwarg of `build_model` (every model takes it):
# a model file our trainer wrote (models/<stage>/model.pt) or a plain state dict. Paper
# 001 sec. III-B / IV-C3 and table V: the model trained on MARS initialises training on
# the small sets (iLIDS-VID, PRID2011), against ImageNet initialisation. It only
# initialises weights, so `save_model` drops it from a saved model's kwargs (the weights
# it gave are in the state dict: rebuilding a saved model never reads this file again).
INIT_CHECKPOINT = "init_checkpoint"


@dataclass(frozen=True)
class InitReport:
    """What `init_from_checkpoint` did: tensors copied, and those skipped by name."""

    path: str
    copied: tuple[str, ...]
    shape_mismatch: tuple[str, ...]  # "name: file (shape) vs model (shape)"
    missing: tuple[str, ...]  # in the model, not in the file: left as initialised
    unexpected: tuple[str, ...]  # in the file, not in the model: ignored

    @property
    def skipped(self) -> tuple[str, ...]:
        return self.shape_mismatch + self.missing + self.unexpected


def init_from_checkpoint(model: nn.Module, path: str | Path) -> InitReport:
    """Copy into `model` every tensor of the file at `path` whose name AND shape match.

    Paper 001 table V initialises a small-set model with the MARS model's weights; the
    identity classifier cannot transfer (MARS has other identity counts), so a tensor
    whose shape differs, and a name missing on either side, is skipped and reported (a
    warning names each). A ValueError names the file when nothing matched or it is not a
    model file / state dict (`load_state_dict`: weights_only loading, FileNotFoundError
    when missing).
    """
    source = load_state_dict(path)
    target = model.state_dict()
    matched, mismatch = {}, []
    for key, value in source.items():
        if key not in target:
            continue
        if tuple(value.shape) == tuple(target[key].shape):
            matched[key] = value
        else:
            mismatch.append(f"{key}: file {tuple(value.shape)} vs model "
                            f"{tuple(target[key].shape)}")
    if not matched:
        raise ValueError(f"{INIT_CHECKPOINT} {path}: no tensor of the file matches the "
                         f"model's by name and shape (file: {len(source)} tensors, model "
                         f"{type(model).__name__}: {len(target)}); is it this model's file?")
    model.load_state_dict(matched, strict=False)
    report = InitReport(str(path), tuple(matched), tuple(mismatch),
                        tuple(k for k in target if k not in source),
                        tuple(k for k in source if k not in target))
    if report.skipped:
        parts = [f"{what} ({len(names)}): {', '.join(names)}" for what, names in (
            ("shape differs", report.shape_mismatch), ("not in the file", report.missing),
            ("not in the model", report.unexpected)) if names]
        log.warning("%s %s: copied %d of %d model tensors; skipped %s", INIT_CHECKPOINT, path,
                    len(matched), len(target), "; ".join(parts))
    return report


def model_arguments(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Every builder argument of model `name` given `kwargs` (defaults filled in; the
    generic `init_checkpoint` left out). A ValueError for an unknown model or a kwarg the
    builder does not take names the known models / the builder's parameters: a config's
    typo fails before anything is trained, as one readable line."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; registered: {', '.join(MODELS.names())}")
    signature = inspect.signature(MODELS.get(name))
    given = {k: v for k, v in kwargs.items() if k != INIT_CHECKPOINT}
    try:
        bound = signature.bind_partial(**given)
    except TypeError as exc:
        raise ValueError(f"model {name!r}: {exc}; it takes {', '.join(signature.parameters)}"
                         ) from None
    bound.apply_defaults()
    return dict(bound.arguments)


def build_model(name: str, **kwargs) -> nn.Module:
    """Registered model `name` built with `kwargs`; `init_checkpoint` (any model): then
    initialised from that file's matching tensors (`init_from_checkpoint`)."""
    init = kwargs.pop(INIT_CHECKPOINT, None)
    model = MODELS.get(name)(**kwargs)
    if init:
        init_from_checkpoint(model, init)
    return model
