"""What a stage task depends on and what it writes: its cache key, its outputs, and
which of its failures are worth a retry.

The key of a stage = the vreid source + the params sections the stage reads (as
dvc.yaml lists them) + content digests of its input data and upstream model files, so a
re-run with unchanged inputs restores the stage's result instead of running it and an
edited input file runs it again. Prefect adds the task's own source (TASK_SOURCE).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ..config import Params
from ..pipeline.fingerprint import dataset_digest, file_digest, fingerprint, upstream_files
from ..tracking.stages import TRAIN_STAGES

REPORTS = Path("reports")
MODELS = Path("models")


def _train_params(stage: str) -> tuple[str, ...]:
    return (f"data.{TRAIN_STAGES[stage]}", stage)


# Params sections each stage reads: the same lists as the stages' `params:` in dvc.yaml.
STAGE_PARAMS: dict[str, tuple[str, ...]] = {
    "prepare": ("synth", "data.synthetic_root"),
    "validate": ("data",),
    "pretrain_parsing": ("data.parsing", "parsing"),
    **{stage: _train_params(stage) for stage in TRAIN_STAGES},
    "evaluate": ("data.video", "train_video.input", "eval"),
    "evaluate_metadata": ("data.egoreid", "train_video.input", "eval", "metadata"),
    "export": ("export",),
    "benchmark": ("benchmark",),
    "tune": ("data.video", "train_video", "tune"),
}


def section(p: Params, dotted: str) -> Any:
    value: Any = p
    for name in dotted.split("."):
        value = getattr(value, name)
    return value


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """Digest of the vreid package's sources: a code change re-runs every stage (conservative;
    dvc.yaml lists per-stage source folders, a flow run checks them all)."""
    root = Path(__file__).resolve().parent.parent
    return fingerprint({str(f.relative_to(root)): file_digest(f)
                        for f in sorted(root.rglob("*.py"))})


def stage_inputs(stage: str, p: Params, model_path: str | Path | None = None,
                 onnx_path: str | Path | None = None) -> dict[str, str]:
    """Content digests of the files a stage reads (datasets, upstream models)."""
    data = p.data
    if stage == "prepare":
        return {}
    if stage == "validate":
        return {f"data.{k}": dataset_digest(getattr(data, k))
                for k in ("video", "image", "parsing")}
    if stage == "pretrain_parsing":
        return {"data.parsing": dataset_digest(data.parsing)}
    if stage in TRAIN_STAGES:
        attr = TRAIN_STAGES[stage]
        return {f"data.{attr}": dataset_digest(getattr(data, attr)),
                **upstream_files(getattr(p, stage).model.kwargs)}
    if stage == "evaluate":
        return {"data.video": dataset_digest(data.video), "model": file_digest(model_path)}
    if stage == "evaluate_metadata":
        return {"data.egoreid": dataset_digest(data.egoreid), "model": file_digest(model_path)}
    if stage == "tune":
        searched = getattr(p, p.tune.stage)
        return {f"data.{TRAIN_STAGES[p.tune.stage]}": dataset_digest(
                    getattr(data, TRAIN_STAGES[p.tune.stage])),
                **upstream_files(searched.model.kwargs)}
    if stage == "export":
        return {"model": file_digest(model_path)}
    if stage == "benchmark":
        return {"model": file_digest(model_path), "onnx": file_digest(onnx_path)}
    raise ValueError(f"unknown stage {stage!r}; known: {sorted(STAGE_PARAMS)}")


def stage_key(stage: str, p: Params, model_path: str | Path | None = None,
              onnx_path: str | Path | None = None) -> str:
    inputs = stage_inputs(stage, p, model_path, onnx_path)  # raises on an unknown stage
    sections = {name: section(p, name) for name in STAGE_PARAMS[stage]}
    return f"vreid-{stage}-" + fingerprint(code_digest(), sections, inputs)


def stage_outputs(stage: str, p: Params) -> list[Path]:
    """The files a finished stage leaves; a cached result is reused only while they exist."""
    if stage == "prepare":
        root = Path(p.data.synthetic_root)
        return [root / "mars", root / "market1501", root / "lip", root / "egoreid"]
    if stage == "validate":
        return [REPORTS / "validation.json"]
    if stage == "pretrain_parsing":
        return [MODELS / "parsing" / "model.pt"]
    if stage in TRAIN_STAGES:
        return [MODELS / stage / "model.pt"]
    if stage == "evaluate":
        return [REPORTS / "metrics.json"]
    if stage == "evaluate_metadata":
        return [REPORTS / "metadata_metrics.json"]
    if stage == "tune":
        return [Path(p.tune.best_params)]
    if stage == "export":
        return [MODELS / "export" / "model.onnx", REPORTS / "export.json"]
    if stage == "benchmark":
        return [REPORTS / "benchmark.json"]
    raise ValueError(f"unknown stage {stage!r}; known: {sorted(STAGE_PARAMS)}")


def task_cache_key(context: Any, inputs: dict[str, Any]) -> str:
    """Prefect `cache_key_fn`: the stage is the task's `stage` argument, else the task's name."""
    stage = inputs.get("stage") or context.task.name
    return stage_key(stage, inputs["p"], inputs.get("model_path"), inputs.get("onnx_path"))


# OSErrors that a second try cannot fix: a missing or unreadable file is a data/config error.
NOT_TRANSIENT = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
                 PermissionError)


def is_transient(exc: BaseException | None) -> bool:
    """I/O hiccups (a network share, a full disk freed, a dropped tracking server)."""
    return isinstance(exc, OSError) and not isinstance(exc, NOT_TRANSIENT)


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry transient I/O errors, never config or data errors."""
    exc = state.data if isinstance(state.data, BaseException) \
        else state.result(raise_on_failure=False)
    return is_transient(exc)
