"""A Prefect API for the flow tests (a temporary server on a temporary database), with
results (the task cache) in a temporary folder, and one tiny flow run shared by them."""

import shutil

import pytest


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from vreid.tracking.env import disable_telemetry

    disable_telemetry()  # before the server subprocess starts: it reads the environment

    storage = tmp_path_factory.mktemp("prefect-results")
    with prefect_test_harness(server_startup_timeout=90), \
            temporary_settings({PREFECT_LOCAL_STORAGE_PATH: storage}):
        yield storage


def _inside(work):
    """cwd and MLflow store of a flow working folder, restored afterwards."""
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{work / 'mlflow.db'}")
    return mp


@pytest.fixture(scope="session")
def flow_dir(prepared, prefect_api, tmp_path_factory, tiny_params_writer):
    """A copy of the prepared tiny data with tiny params, shared by the flow tests (the
    training flow runs once for all of them)."""
    work = tmp_path_factory.mktemp("flow-work")
    shutil.copytree(prepared / "data", work / "data")
    tiny_params_writer(work, tracking={"experiment": "vreid-flow", "log_model": False},
                       eval={"untrained_baseline": False})
    return work


@pytest.fixture(scope="session")
def first_run(flow_dir):
    """The training flow run once on the tiny data (the stages all run)."""
    from vreid.flows.training import training_flow

    mp = _inside(flow_dir)
    try:
        return training_flow("params.yaml", return_state=True)
    finally:
        mp.undo()


@pytest.fixture
def flow_work(flow_dir):
    """The shared flow folder as the cwd, with its own MLflow store."""
    mp = _inside(flow_dir)
    yield flow_dir
    mp.undo()
