"""The search space of params.yaml's `tune:` section, and the Params a trial runs with."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from ..config import ConfigError, Params, SearchDim, StageConfig, TuneConfig, with_override
from ..pipeline.stages import tuned_stage


def _probe(dim: SearchDim) -> Any:
    """A value of the dimension, to check its path resolves."""
    return dim.values[0] if dim.kind == "choice" else (
        int(dim.low) if dim.kind == "randint" else dim.low)


def validate_space(p: Params, where: str = "params.yaml") -> None:
    """ConfigError naming `where` for an unknown stage, an empty or malformed space.

    Kinds and the counts' ranges are checked at load (vreid.config.SearchDim, TuneConfig).
    """
    t, name = p.tune, tuned_stage(p)
    reid = [n for n, s in p.stages.items() if isinstance(s, StageConfig)]
    if name not in reid:
        raise ConfigError(f"{where}: tune.stage {name!r} is not a re-ID training stage; "
                          f"known: {reid}")
    if not t.space:
        raise ConfigError(f"{where}: tune.space is empty")
    stage = p.stages[name]
    seen = set()
    for i, dim in enumerate(t.space):
        at = f"{where}: tune.space[{i}] ({dim.path})"
        if dim.path in seen:
            raise ConfigError(f"{at}: path listed twice")
        seen.add(dim.path)
        if dim.kind == "choice":
            if not dim.values:
                raise ConfigError(f"{at}: a choice needs values")
        elif not dim.low < dim.high or (dim.kind == "loguniform" and dim.low <= 0):
            raise ConfigError(f"{at}: needs low < high (and low > 0 for loguniform)")
        with_override(stage, dim.path, _probe(dim), f"{where}: stages.{name}")


def trial_params(base: Params, config: Mapping[str, Any]) -> Params:
    """An overridden copy of `base` for one trial.

    `config` maps search-space paths to sampled values (applied to the tuned stage);
    the trial also trains `tune.epochs` epochs (and `tune.iters_per_epoch` iterations),
    on the training identities minus the validation hold-out, with `threads_per_trial`
    torch threads, without logging MLflow models.
    """
    t: TuneConfig = base.tune
    name = tuned_stage(base)
    stage = base.stages[name]
    for path, value in config.items():
        stage = with_override(stage, path, value, f"tune.space stages.{name}")
    train = dataclasses.replace(stage.train, epochs=t.epochs,
                                iters_per_epoch=t.iters_per_epoch or stage.train.iters_per_epoch)
    stage = dataclasses.replace(stage, train=train)
    dataset = dataclasses.replace(getattr(base.data, stage.data), holdout_ids=t.holdout_ids,
                                  holdout_seed=t.holdout_seed)
    return dataclasses.replace(
        base, stages={**base.stages, name: stage},
        data=dataclasses.replace(base.data, **{stage.data: dataset}),
        runtime=dataclasses.replace(base.runtime, threads=t.threads_per_trial),
        tracking=dataclasses.replace(base.tracking, log_model=False))


def ray_space(t: TuneConfig) -> dict[str, Any]:
    """The Tune param_space: one sampler per dimension, keyed by its path."""
    from ray import tune

    samplers = {
        "loguniform": lambda d: tune.loguniform(d.low, d.high),
        "uniform": lambda d: tune.uniform(d.low, d.high),
        "randint": lambda d: tune.randint(int(d.low), int(d.high)),
        "choice": lambda d: tune.choice(list(d.values)),
    }
    return {d.path: samplers[d.kind](d) for d in t.space}
