"""The trial hook: per-epoch validation reports, the last one kept for after the stage."""

import dataclasses
from types import SimpleNamespace

import pytest

from vreid.config import load_params
from vreid.hpo.trial import ValidationReportHook

from ..conftest import write_tiny_params


class ScoredHook(ValidationReportHook):
    def _score(self, trainer):  # the real one runs rank_metrics (covered by test_tune)
        return {"val_mAP": 0.1 * trainer.calls}


@pytest.fixture
def p(tmp_path):
    p = load_params(write_tiny_params(tmp_path))
    stage = p.stages["train_video"]
    return dataclasses.replace(p, stages={**p.stages, "train_video": dataclasses.replace(
        stage, train=dataclasses.replace(stage.train, epochs=3))})


def test_reports_each_epoch_but_keeps_the_last_for_after_the_stage(p):
    reports, logged = [], []
    hook = ScoredHook(p, reports.append, lambda m, step: logged.append((step, dict(m))))
    trainer = SimpleNamespace(calls=0)
    for epoch in range(3):
        trainer.calls += 1
        hook.on_epoch_end(trainer, epoch, {"loss_total": 1.0})
    hook.on_train_end(trainer)
    assert [r["epoch"] for r in reports] == [1, 2]
    assert reports[0] == {"val_mAP": 0.1, "train_loss_total": 1.0, "epoch": 1}
    assert hook.final["epoch"] == 3 and hook.final["val_mAP"] == pytest.approx(0.3)
    assert [step for step, _ in logged] == [0, 1, 2]


def test_early_stop_runs_on_stop_then_lets_the_stop_through(p):
    stopped = []

    def report(_result):
        raise SystemExit(0)  # how Tune ends a stopped trial's thread

    hook = ScoredHook(p, report, on_stop=lambda: stopped.append(True))
    with pytest.raises(SystemExit):
        hook.on_epoch_end(SimpleNamespace(calls=1), 0, {})
    assert stopped == [True] and hook.final is None


def test_a_trial_restarted_after_its_last_epoch_is_still_scored(p):
    hook = ScoredHook(p, lambda r: None)
    hook.on_train_end(SimpleNamespace(calls=2))
    assert hook.final == {"val_mAP": 0.2, "epoch": 3}


def test_validation_scores_the_model_in_memory_at_the_tuned_stages_input(p, monkeypatch):
    from vreid.engine import InputSpec
    from vreid.pipeline import common, evaluate

    calls = []

    def rank_metrics(model, index, params, spec, device, rerank):
        calls.append((model, index, spec, device, rerank))
        return {"mAP": 0.5}, []

    monkeypatch.setattr(common, "read_configured", lambda ref: ("index of", ref.name))
    monkeypatch.setattr(evaluate, "rank_metrics", rank_metrics)
    model = SimpleNamespace(train=lambda: None)
    hook = ValidationReportHook(p, lambda r: None)
    assert hook._score(SimpleNamespace(model=model, device="cpu")) == {"val_mAP": 0.5}
    inp = hook.stage.input
    assert calls == [(model, ("index of", "mars"), InputSpec(inp.height, inp.width, inp.clip_len),
                      "cpu", False)]
