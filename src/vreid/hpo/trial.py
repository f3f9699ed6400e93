"""What runs inside one Tune trial: the tracked training stage, scored on a validation split."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping

from ..config import Params
from ..engine.hooks import Hook
from ..pipeline.stages import tuned_stage
from ..tracking.stages import run_train_stage
from .space import trial_params


class ValidationReportHook(Hook):
    """After each epoch: score the model on the validation split (the evaluation stage's
    `rank_metrics`), log `val_*` metrics on the active MLflow run and report them to Tune.

    The last epoch's result is kept in `final` instead of reported: the caller reports it
    once the stage has saved its model and closed its run (Tune may stop a trial on any
    report, which ends the trial's thread). When Tune stops a trial early (ASHA), `on_stop`
    runs before the stop goes on.
    """

    def __init__(self, p: Params, report: Callable[[dict[str, Any]], None],
                 log_metrics: Callable[[Mapping[str, float], int], None] | None = None,
                 on_stop: Callable[[], None] | None = None) -> None:
        self.p, self.report = p, report
        self.log_metrics, self.on_stop = log_metrics, on_stop
        self.stage = p.stages[tuned_stage(p)]
        self.epochs = self.stage.train.epochs
        self.index: Any = None
        self.final: dict[str, Any] | None = None

    def _score(self, trainer) -> dict[str, float]:
        from ..pipeline.common import input_spec, read_configured
        from ..pipeline.evaluate import rank_metrics

        if self.index is None:
            self.index = read_configured(getattr(self.p.data, self.stage.data))
        # the model in training has no file yet: its input is the tuned stage's
        spec = input_spec(self.stage.input)
        metrics, _ = rank_metrics(trainer.model, self.index, self.p, spec, trainer.device,
                                  rerank=False)
        trainer.model.train()
        return {f"val_{k}": v for k, v in metrics.items()}

    def on_epoch_end(self, trainer, epoch: int, metrics: Mapping[str, float]) -> None:
        val = self._score(trainer)
        if self.log_metrics:
            self.log_metrics(val, epoch)
        result = {**val, **{f"train_{k}": v for k, v in metrics.items()}, "epoch": epoch + 1}
        if epoch + 1 >= self.epochs:
            self.final = result
            return
        try:
            self.report(result)
        except SystemExit:  # Tune stops this trial (ASHA): it ends the thread this way
            if self.on_stop:
                self.on_stop()
            raise

    def on_train_end(self, trainer) -> None:
        # A trial restarted after its last epoch was checkpointed trains nothing: score it.
        if self.final is None:
            self.final = {**self._score(trainer), "epoch": self.epochs}


def run_trial(config: dict[str, Any], *, base: Params, root: str, key: str, search: str,
              trials_dir: str) -> None:
    """A Tune function trainable (bound with `tune.with_parameters`).

    Runs from the project `root` (Tune starts trials in their own folder), trains the
    stage through `run_train_stage` into `trials_dir/<trial id>/` (so a restored trial
    resumes from its last epoch checkpoint) and reports per epoch with `tune.report`.
    """
    import mlflow
    from ray import tune

    os.chdir(root)
    trial_id = tune.get_context().get_trial_id()
    p = trial_params(base, config)

    def stopped_early() -> None:
        mlflow.set_tag("vreid.tune.stopped_early", "true")
        mlflow.end_run("KILLED")

    hook = ValidationReportHook(
        p, tune.report, lambda m, step: mlflow.log_metrics(dict(m), step=step), stopped_early)
    out = Path(trials_dir) / trial_id
    run_train_stage(p, tuned_stage(p), key, hooks=[hook], resume=True,
                    tags={"vreid.stage": "tune_trial", "vreid.tune.stage": tuned_stage(p),
                          "vreid.tune.trial_id": trial_id, "vreid.tune.search": search,
                          **{f"vreid.tune.{k}": v for k, v in config.items()}},
                    models_dir=out / "models", checkpoints_dir=out / "checkpoints",
                    reports_dir=out / "reports")  # not the chain's reports/timing file
    tune.report(hook.final)
