"""Pieces every stage shares: device, threads, model files, reading the configured data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

# The stages import the atomic writers from here.
from ..atomic import atomic_write_bytes, atomic_write_json, atomic_write_text  # noqa: F401
from ..config import DatasetRef, InputConfig, ModelConfig
from ..data.index import ReIDIndex
from ..data.readers import read_dataset
from ..data.split import validation_split
from ..engine.checkpoint import atomic_torch_save, load_checkpoint
from ..models import build_model


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def set_threads(threads: int) -> None:
    if threads > 0:
        torch.set_num_threads(threads)


INIT_ONLY_KWARGS = ("parser_checkpoint", "extractor_checkpoint", "pretrained")


def save_model(path: str | Path, model: nn.Module, model_cfg: ModelConfig, num_classes: int,
               input_cfg: InputConfig) -> None:
    """A self-describing model file: weights plus what is needed to rebuild the module.

    Kwargs that only initialise weights from other files (earlier stages' models, a
    pretrained backbone) are dropped: the weights they gave are in the state dict.
    """
    kwargs = {k: v for k, v in model_cfg.kwargs.items() if k not in INIT_ONLY_KWARGS}
    atomic_torch_save(
        {
            "model_name": model_cfg.name,
            "model_kwargs": kwargs,
            "num_classes": num_classes,
            "input": {"height": input_cfg.height, "width": input_cfg.width,
                      "clip_len": input_cfg.clip_len},
            "state_dict": model.state_dict(),
        },
        path,
    )


def load_model(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model saved by `save_model` (weights_only loading)."""
    state = load_checkpoint(path)
    missing = {"model_name", "model_kwargs", "num_classes", "state_dict"} - set(state)
    if missing:
        raise ValueError(f"{path}: not a vreid model file (missing {sorted(missing)})")
    model = build_model(state["model_name"], num_classes=state["num_classes"],
                        **state["model_kwargs"])
    model.load_state_dict(state["state_dict"])
    return model, state


def read_configured(ref: DatasetRef) -> Any:
    """Read a configured dataset through the readers (a union reads each of its sources).

    With `holdout_ids`, training identities are held out as a validation query / gallery
    (`vreid.data.split.validation_split`) in place of the test split.
    """
    if any(s.holdout_ids for s in ref.sources):
        raise ValueError(f"{ref.name}: holdout_ids applies to the whole dataset, not a source")
    if ref.sources:
        index = read_dataset(ref.name, [(s.name, s.root) for s in ref.sources])
    else:
        index = read_dataset(ref.name, ref.root)
    if ref.holdout_ids:
        if not isinstance(index, ReIDIndex):
            raise ValueError(f"{ref.root}: holdout_ids needs a re-ID dataset, not {ref.name!r}")
        index = validation_split(index, ref.holdout_ids, ref.holdout_seed)
    return index
