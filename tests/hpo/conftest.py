"""The tiny search of tests/conftest.py (2 trials x 1 epoch x 1 iteration) over the tiny chain."""

import dataclasses

import pytest

from vreid.config import load_params


def tiny_tune_params(work, tmp_path, **tune):
    """The chain's tiny params, writing the search and MLflow store under tmp_path."""
    p = load_params(work / "params.yaml")
    t = dataclasses.replace(p.tune, storage=str(tmp_path / "tune"),
                            best_params=str(tmp_path / "best_params.yaml"), **tune)
    return dataclasses.replace(p, tune=t, tracking=dataclasses.replace(
        p.tracking, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}"))


@pytest.fixture
def tune_env(chain_models, tmp_path, monkeypatch):
    monkeypatch.chdir(chain_models)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return chain_models, tmp_path
