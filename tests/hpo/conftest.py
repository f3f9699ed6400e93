"""A tiny search over the tiny chain (tests/conftest.py): 2 trials x 1 epoch x 1 iteration."""

import dataclasses

import pytest

from vreid.config import TuneConfig, from_dict, load_params

TINY_TUNE = {
    "stage": "train_video",
    "space": [
        {"path": "train.lr", "kind": "loguniform", "low": 1.0e-4, "high": 3.0e-3},
        {"path": "train.weight_decay", "kind": "uniform",
         "low": 0.0, "high": 1.0e-3},
    ],
    "num_samples": 2, "epochs": 1, "iters_per_epoch": 1, "holdout_ids": 2,
    "max_concurrent": 2, "cpus_per_trial": 1, "threads_per_trial": 1,
}


def tiny_tune_params(work, tmp_path, **tune):
    """The chain's tiny params with a tiny `tune:` section writing under tmp_path."""
    p = load_params(work / "params.yaml")
    t = from_dict(TuneConfig, {**TINY_TUNE, "storage": str(tmp_path / "tune"),
                               "best_params": str(tmp_path / "best_params.yaml"), **tune})
    return dataclasses.replace(p, tune=t, tracking=dataclasses.replace(
        p.tracking, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}"))


@pytest.fixture
def tune_env(chain_models, tmp_path, monkeypatch):
    monkeypatch.chdir(chain_models)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return chain_models, tmp_path
