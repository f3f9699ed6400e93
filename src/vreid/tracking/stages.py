"""Stage functions run inside MLflow runs: the one tracked entry point per stage.

Every front door (the CLI that dvc.yaml calls, the Prefect flows, the Ray Tune trials)
calls these, so a stage logs the same params, metrics, artifacts and model whichever
door started it. They take typed `Params` (a tuning trial passes an overridden copy)
and the key of the MLflow pipeline run the stage nests under; `tags` adds run tags
(a Prefect flow run id and URL, a Tune trial id).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..config import Params, to_flat_dict
from .mlflow_run import MlflowLogger, mlflow_run

if TYPE_CHECKING:  # the engine (torch) loads only when a stage runs
    from ..engine.hooks import Hook

# The re-ID training stages of the chain: params section -> dataset attribute of `data`.
TRAIN_STAGES: dict[str, str] = {
    "pretrain_image": "image",
    "finetune_image": "video",
    "train_video": "video",
}


def pipeline_key(params_path: str | Path) -> str:
    """Stage runs of one configuration nest under one MLflow pipeline run."""
    from ..pipeline.fingerprint import file_digest

    return file_digest(params_path)[:16]


def _stage_run(p: Params, stage: str, key: str | None, tags: Mapping[str, Any] | None):
    return mlflow_run(p.tracking.experiment, stage, p.tracking.tracking_uri,
                      tags={"vreid.stage": stage, **(tags or {})}, parent_key=key)


def log_model(log: MlflowLogger, p: Params, model_path: Path,
              example_shape: tuple[int, ...]) -> None:
    """The model file as an artifact and, unless switched off, as an MLflow model."""
    log.log_artifact(model_path)
    if p.tracking.log_model:
        import torch

        from ..pipeline.common import load_model

        model, _ = load_model(model_path)
        log.log_torch_model(model.eval(), torch.zeros(example_shape).numpy())


def run_pretrain_parsing(p: Params, key: str | None = None, hooks: Sequence["Hook"] = (),
                         resume: bool = True, tags: Mapping[str, Any] | None = None):
    from ..pipeline.pretrain_parsing import pretrain_parsing

    with _stage_run(p, "pretrain_parsing", key, tags) as log:
        log.log_params({**to_flat_dict(p.parsing, "parsing."),
                        **to_flat_dict(p.data.parsing, "data.")})
        out = pretrain_parsing(p.parsing, p.data.parsing, p.runtime, hooks=list(hooks),
                               logger=log, resume=resume)
        log_model(log, p, out.model_path, (1, 3, p.parsing.height, p.parsing.width))
    return out


def run_train_stage(p: Params, stage_name: str, key: str | None = None,
                    hooks: Sequence["Hook"] = (), resume: bool = True,
                    tags: Mapping[str, Any] | None = None,
                    models_dir: str | Path = "models", checkpoints_dir: str | Path = "checkpoints"):
    """One re-ID training stage of the chain (`pretrain_image`, `finetune_image`, `train_video`)."""
    from ..pipeline.train import train_reid

    if stage_name not in TRAIN_STAGES:
        raise ValueError(f"unknown training stage {stage_name!r}; known: {sorted(TRAIN_STAGES)}")
    stage = getattr(p, stage_name)
    dataset = getattr(p.data, TRAIN_STAGES[stage_name])
    with _stage_run(p, stage_name, key, tags) as log:
        log.log_params({**to_flat_dict(stage), **to_flat_dict(dataset, "data.")})
        out = train_reid(stage, dataset, p.runtime, Path(models_dir) / stage_name,
                         Path(checkpoints_dir) / stage_name, log, list(hooks), resume)
        inp = stage.input
        log_model(log, p, out.model_path, (1, inp.clip_len, 3, inp.height, inp.width))
    return out


def run_evaluate(p: Params, model_path: str | Path = "models/train_video/model.pt",
                 reports_dir: str | Path = "reports", key: str | None = None,
                 tags: Mapping[str, Any] | None = None):
    from ..pipeline.evaluate import evaluate

    with _stage_run(p, "evaluate", key, {"vreid.model_path": str(model_path), **(tags or {})}) \
            as log:
        log.log_params(to_flat_dict(p.eval, "eval."))
        return evaluate(p, model_path, reports_dir, log)


def run_ablation(p: Params, variants: Sequence[str], key: str | None = None,
                 tags: Mapping[str, Any] | None = None):
    from ..pipeline.ablation import run_ablation as ablation

    def run_context(name: str):
        return _stage_run(p, f"ablation: {name}", key,
                          {"vreid.stage": "ablation", "vreid.variant": name, **(tags or {})})

    return ablation(p, variants, run_context=run_context)


def run_evaluate_metadata(p: Params, model_path: str | Path = "models/train_video/model.pt",
                          reports_dir: str | Path = "reports", key: str | None = None,
                          tags: Mapping[str, Any] | None = None):
    """Rank-k / mAP on the EgoReID set without and with sensor-metadata pruning."""
    from ..pipeline.evaluate_metadata import evaluate_metadata

    with _stage_run(p, "evaluate_metadata", key,
                    {"vreid.model_path": str(model_path), **(tags or {})}) as log:
        log.log_params({**to_flat_dict(p.metadata, "metadata."),
                        **to_flat_dict(p.data.egoreid, "data."),
                        "eval.metric": p.eval.metric})
        return evaluate_metadata(p, model_path, reports_dir, log)


def run_export(p: Params, model_path: str | Path = "models/train_video/model.pt",
               out_dir: str | Path = "models/export", reports_dir: str | Path = "reports",
               key: str | None = None, tags: Mapping[str, Any] | None = None):
    """ONNX export (+ TensorRT engine where possible); the ONNX file is logged as an artifact."""
    from ..pipeline.export import export

    with _stage_run(p, "export", key, {"vreid.model_path": str(model_path), **(tags or {})}) \
            as log:
        log.log_params(to_flat_dict(p.export, "export."))
        out = export(p.export, model_path, out_dir, reports_dir, p.runtime, log)
        log.set_tags({"vreid.tensorrt": out.report["tensorrt"]})
        log.log_artifact(out.onnx_path)
    return out


def run_benchmark(p: Params, model_path: str | Path = "models/train_video/model.pt",
                  onnx_path: str | Path = "models/export/model.onnx",
                  reports_dir: str | Path = "reports", key: str | None = None,
                  tags: Mapping[str, Any] | None = None):
    """Inference benchmark; each backend's status (ok / unavailable / failed) is a run tag."""
    from ..pipeline.benchmark import benchmark

    with _stage_run(p, "benchmark", key, {"vreid.model_path": str(model_path), **(tags or {})}) \
            as log:
        log.log_params(to_flat_dict(p.benchmark, "benchmark."))
        out = benchmark(p.benchmark, model_path, onnx_path, reports_dir, p.runtime, log)
        log.set_tags({f"vreid.backend.{name}": status for name, status in out.result.status.items()})
    return out
