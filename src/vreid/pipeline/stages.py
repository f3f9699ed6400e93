"""The `stages:` table of params.yaml, resolved: one entry -> what its stage function needs.

Every front door (the CLI that dvc.yaml calls, the Prefect flow, Ray Tune, the MLflow
layer) goes through `resolve_stage` / `train_stage`, so an entry's dataset, the earlier
stages' model files it starts from (`init_from`) and its output folders are worked out
in one place.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..config import (ConfigError, DatasetRef, ModelConfig, ParsingStageConfig, Params,
                      StageConfig, TrainingStage)
from .timing import timing_file

MODELS = Path("models")
CHECKPOINTS = Path("checkpoints")
REPORTS = Path("reports")


def model_file(stage: str, models_dir: str | Path = MODELS) -> Path:
    """Where a training stage writes its model (what `init_from` points at)."""
    return Path(models_dir) / stage / "model.pt"


def model_stage(p: Params) -> str:
    """The stage whose model is evaluated / exported / promoted (`model_stage`, else the last
    re-ID stage of the table)."""
    if p.model_stage:
        return p.model_stage
    reid = [name for name, s in p.stages.items() if isinstance(s, StageConfig)]
    if not reid:
        raise ConfigError("params: the `stages:` table has no re-ID training stage")
    return reid[-1]


def model_stage_config(p: Params) -> StageConfig:
    return p.stages[model_stage(p)]


def model_stage_file(p: Params) -> Path:
    return model_file(model_stage(p))


def tuned_stage(p: Params) -> str:
    """The stage `vreid tune` searches over (`tune.stage`, else the model stage)."""
    return p.tune.stage or model_stage(p)


@dataclass(frozen=True)
class ResolvedStage:
    """A table entry ready to run: `config` has its `init_from` files merged into the model
    kwargs (re-ID) or the parser's model settings (parsing)."""

    name: str
    config: TrainingStage
    dataset: DatasetRef
    upstream: dict[str, Path]  # model kwarg -> the earlier stage's model file
    model_dir: Path
    checkpoint_dir: Path

    @property
    def model_path(self) -> Path:
        return self.model_dir / "model.pt"


def resolve_stage(p: Params, name: str, models_dir: str | Path = MODELS,
                  checkpoints_dir: str | Path = CHECKPOINTS,
                  upstream_dir: str | Path = MODELS) -> ResolvedStage:
    """Entry `name` of the table. Outputs go to `models_dir/<name>` and
    `checkpoints_dir/<name>`; upstream model files are read from `upstream_dir` (a tuning
    trial writes its own models elsewhere but starts from the chain's)."""
    if name not in p.stages:
        raise ConfigError(f"params: no training stage {name!r} in the `stages:` table; "
                          f"known: {list(p.stages)}")
    stage = p.stages[name]
    if isinstance(stage, StageConfig):  # a leaderboard entry checks its own (naming its file)
        check_model(stage.model, f"params.stages.{name}.model")
    return resolve_config(p, name, stage, models_dir, checkpoints_dir, upstream_dir)


def check_model(model: ModelConfig, where: str) -> None:
    """A registered model name and kwargs its builder takes, else a ConfigError naming
    `where` (the dotted key of the model section)."""
    from ..models.registry import MODELS, model_arguments  # torch: only when a stage runs

    try:
        model_arguments(model.name, model.kwargs)
    except ValueError as exc:
        key = "kwargs" if model.name in MODELS else "name"
        raise ConfigError(f"{where}.{key}: {exc}") from None


def resolve_config(p: Params, name: str, stage: TrainingStage, models_dir: str | Path = MODELS,
                   checkpoints_dir: str | Path = CHECKPOINTS,
                   upstream_dir: str | Path = MODELS) -> ResolvedStage:
    """`resolve_stage` for a stage config that need not be in the table (a leaderboard
    entry: a table stage with overrides); its `init_from` names stages of the table."""
    upstream = {kwarg: model_file(source, upstream_dir)
                for kwarg, source in stage.init_from.items()}
    files = {kwarg: str(path) for kwarg, path in upstream.items()}
    if isinstance(stage, ParsingStageConfig):
        config: TrainingStage = dataclasses.replace(stage, model={**stage.model, **files})
    else:
        config = dataclasses.replace(stage, model=ModelConfig(
            stage.model.name, {**stage.model.kwargs, **files}))
    return ResolvedStage(name, config, getattr(p.data, stage.data), upstream,
                         Path(models_dir) / name, Path(checkpoints_dir) / name)


def train_stage(p: Params, name: str, logger: Any = None, hooks: Sequence[Any] = (),
                resume: bool = True, models_dir: str | Path = MODELS,
                checkpoints_dir: str | Path = CHECKPOINTS,
                reports_dir: str | Path | None = REPORTS) -> Any:
    """Run training stage `name` of the table: `pretrain_parsing` for a parsing entry,
    `train_reid` for a re-ID one. Returns that function's output. Its timing report goes
    to `reports_dir/timing/<name>.json` (none when `reports_dir` is None)."""
    stage = resolve_stage(p, name, models_dir, checkpoints_dir)
    timing = timing_file(reports_dir, name) if reports_dir is not None else None
    if isinstance(stage.config, ParsingStageConfig):
        from .pretrain_parsing import pretrain_parsing

        return pretrain_parsing(stage.config, stage.dataset, p.runtime, stage.model_dir,
                                stage.checkpoint_dir, logger, list(hooks), resume,
                                timing_path=timing)
    from .train import train_reid

    return train_reid(stage.config, stage.dataset, p.runtime, stage.model_dir,
                      stage.checkpoint_dir, logger, list(hooks), resume, timing_path=timing)


def example_input_shape(config: TrainingStage) -> tuple[int, ...]:
    """A batch-of-one input of the stage's model (an image for the parser, else a clip)."""
    if isinstance(config, ParsingStageConfig):
        return (1, 3, config.height, config.width)
    inp = config.input
    return (1, inp.clip_len, 3, inp.height, inp.width)
