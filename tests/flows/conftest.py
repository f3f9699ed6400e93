"""A Prefect API for the flow tests (a temporary server on a temporary database), with
results (the task cache) in a temporary folder, and one tiny flow run shared by them."""

import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    storage = tmp_path_factory.mktemp("prefect-results")
    with prefect_test_harness(server_startup_timeout=90), \
            temporary_settings({PREFECT_LOCAL_STORAGE_PATH: storage}):
        yield storage


@pytest.fixture(scope="module")
def flow_work(prepared, prefect_api, tmp_path_factory, tiny_params_writer):
    """A copy of the prepared tiny data with its own MLflow store; the cwd while in use."""
    work = tmp_path_factory.mktemp("flow-work")
    shutil.copytree(prepared / "data", work / "data")
    tiny_params_writer(work, tracking={"experiment": "vreid-flow", "log_model": False},
                       eval={"untrained_baseline": False})
    cwd = Path.cwd()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{work / 'mlflow.db'}")
        os.chdir(work)
        try:
            yield work
        finally:
            os.chdir(cwd)


@pytest.fixture(scope="module")
def first_run(flow_work):
    """The training flow run once on the tiny data (the stages all run)."""
    from vreid.flows.training import training_flow

    return training_flow("params.yaml", return_state=True)
