"""Pieces every stage shares: device, threads, model files, reading the configured data."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch
from torch import nn

# The stages import the atomic writers from here.
from ..atomic import atomic_write_bytes, atomic_write_json, atomic_write_text  # noqa: F401
from ..config import ConfigError, DatasetRef, InputConfig, ModelConfig, RuntimeConfig
from ..data.corruption import ClipCorruption
from ..data.index import ReIDIndex
from ..data.readers import DATASETS, read_dataset
from ..data.split import validation_split
from ..engine.checkpoint import atomic_torch_save, load_checkpoint
from ..engine.scoring import InputSpec
from ..models import build_model
from ..models.registry import INIT_CHECKPOINT
from ..models.frame_memo import FRAME_MEMO


def refuse_untrained_overwrite(model_path: str | Path, epochs: int, key: str) -> None:
    """`epochs: 0` writes the initialised model: only where no model is yet. Replacing a
    trained model file with an untrained one (issue 15: exit 0, the good model lost) is a
    ConfigError naming `key` and the file, raised before anything runs."""
    if epochs == 0 and Path(model_path).exists():
        raise ConfigError(f"{key}: 0 would replace {model_path} with an untrained model; "
                          "set epochs >= 1, or delete the file to write the initialised model")


def resolve_device(name: str) -> torch.device:
    """`runtime.device`: "auto" is CUDA when present, else the CPU; asking for CUDA on a
    machine without one is a ConfigError naming the key (not torch's driver traceback)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"runtime.device: {name!r} asked for, but torch finds no CUDA device "
                          "here (torch.cuda.is_available() is False); use 'auto' or 'cpu'")
    return device


def set_threads(threads: int) -> None:
    if threads > 0:
        torch.set_num_threads(threads)


def apply_runtime(runtime: RuntimeConfig) -> None:
    """A stage's process settings: torch threads and the frozen-frame memo's size."""
    set_threads(runtime.threads)
    FRAME_MEMO.configure(runtime.frame_memo_mb)


# Model kwargs naming files that only initialise weights: earlier stages' models (EgoReID's
# parser / extractor; any model's `init_checkpoint`, paper 001 table V) and a pretrained
# backbone. `save_model` drops them; their files' digests are in the fingerprints
# (`fingerprint.upstream_files`).
INIT_ONLY_KWARGS = ("parser_checkpoint", "extractor_checkpoint", "pretrained", INIT_CHECKPOINT)


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
            "input": _spec_dict(input_spec(input_cfg)),
            "state_dict": model.state_dict(),
        },
        path,
    )


def input_spec(input_cfg: InputConfig) -> InputSpec:
    """The input a stage trains with (normalisation: `build_transform`'s ImageNet default)."""
    return InputSpec(input_cfg.height, input_cfg.width, input_cfg.clip_len,
                     corruption=clip_corruption(input_cfg, input_cfg.clip_len))


def clip_corruption(input_cfg: InputConfig, clip_len: int) -> ClipCorruption | None:
    """`input.corruption` on clips of `clip_len` frames; None when off (max_clips 0)."""
    c = input_cfg.corruption
    return (None if c.max_clips == 0 else
            ClipCorruption(c.max_clips, clip_len, c.factor, c.jpeg_quality, c.seed))


def _spec_dict(spec: InputSpec) -> dict[str, Any]:
    return {"height": spec.height, "width": spec.width, "clip_len": spec.clip_len,
            "mean": list(spec.mean), "std": list(spec.std)}


def saved_input_spec(saved: dict[str, Any], fallback: InputConfig) -> InputSpec:
    """The input a model file was trained with (its `input` entry).

    Keys a file lacks fall back explicitly: height / width / clip_len to `fallback` (the
    stage config the file came from; every file `save_model` wrote has them), mean / std
    to ImageNet's (the only normalisation vreid trained with before files recorded it).
    The test-time corruption is `fallback`'s (the stage config's protocol, never saved).
    """
    inp = saved.get("input") or {}
    default = InputSpec(fallback.height, fallback.width, fallback.clip_len)
    return InputSpec(int(inp.get("height", default.height)), int(inp.get("width", default.width)),
                     int(inp.get("clip_len", default.clip_len)),
                     tuple(float(v) for v in inp.get("mean", default.mean)),
                     tuple(float(v) for v in inp.get("std", default.std)),
                     clip_corruption(fallback, int(inp.get("clip_len", default.clip_len))))


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


def has_splits(name: str) -> bool:
    """Whether the reader `name` has several train/test splits (a `split_id`)."""
    return "split_id" in inspect.signature(DATASETS.get(name)).parameters


def _reader_options(ref: DatasetRef) -> dict[str, Any]:
    """`split_id` for the readers of small sets with several train/test splits; any other
    reader has one fixed split and refuses a non-zero split_id (never silently split 0)."""
    if not ref.split_id:
        return {}
    if not has_splits(ref.name):
        with_splits = [n for n in DATASETS.names() if has_splits(n)]
        raise ValueError(f"{ref.name} ({ref.root or 'union'}): split_id {ref.split_id} given, but "
                         f"this dataset has one fixed train/test split (datasets with splits: "
                         f"{', '.join(with_splits)}; a union takes it per source)")
    return {"split_id": ref.split_id}


def read_configured(ref: DatasetRef) -> Any:
    """Read a configured dataset through the readers (a union reads each of its sources).

    `split_id` picks one of the train/test splits of iLIDS-VID / PRID2011 (the 10-split
    protocol: one run per split). With `holdout_ids`, training identities are held out
    as a validation query / gallery (`vreid.data.split.validation_split`) in place of the
    test split.
    """
    if any(s.holdout_ids for s in ref.sources):
        raise ValueError(f"{ref.name}: holdout_ids applies to the whole dataset, not a source")
    if ref.sources:
        index = read_dataset(ref.name, [(s.name, s.root, _reader_options(s))
                                        for s in ref.sources], **_reader_options(ref))
    else:
        index = read_dataset(ref.name, ref.root, **_reader_options(ref))
    if ref.holdout_ids:
        if not isinstance(index, ReIDIndex):
            raise ValueError(f"{ref.root}: holdout_ids needs a re-ID dataset, not {ref.name!r}")
        index = validation_split(index, ref.holdout_ids, ref.holdout_seed)
    return index
