"""Stage tasks call the stage functions; transient I/O errors are retried, config and
data errors are not."""

import pytest
from prefect import flow

import vreid.pipeline.validate as validate_module
from vreid.config import ConfigError, Params
from vreid.flows.tasks import validate_task

pytestmark = pytest.mark.integration  # a Prefect API server (prefect_api)


def run_validate_in_flow(outcomes, monkeypatch):
    """Run the validate task (no retry delay, no cache) with a stage function that raises
    `outcomes` in turn; return how often it was called and the final state."""
    calls = []

    def stage(p, reports_dir):
        calls.append(reports_dir)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    monkeypatch.setattr(validate_module, "validate", stage)
    task = validate_task.with_options(retry_delay_seconds=0, refresh_cache=True,
                                      cache_policy=None, persist_result=False)

    @flow
    def one_task():
        return task(Params())

    return calls, one_task(return_state=True)


def test_config_error_is_not_retried(prefect_api, monkeypatch):
    calls, state = run_validate_in_flow([ConfigError("params.yaml: data: bad")] * 3, monkeypatch)
    assert state.is_failed() and len(calls) == 1
    with pytest.raises(ConfigError, match="params.yaml: data: bad"):
        state.result()


def test_transient_error_is_retried(prefect_api, monkeypatch):
    calls, state = run_validate_in_flow([ConnectionResetError("share dropped"), "ok"],
                                        monkeypatch)
    assert state.is_completed() and state.result() == "ok" and calls == ["reports"] * 2


def test_retries_are_bounded(prefect_api, monkeypatch):
    calls, state = run_validate_in_flow([TimeoutError("still down")] * 5, monkeypatch)
    assert state.is_failed() and len(calls) == 3  # 1 + retries=2
