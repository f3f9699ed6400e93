"""The retraining flow: retrain on new or changed data, promote only a better model,
skip unchanged data; its state file."""

import json

import mlflow
import pytest

from vreid.config import ConfigError
from vreid.flows.retraining import changed_datasets, read_state, retraining_flow


def test_changed_datasets_lists_new_and_edited_sets():
    assert changed_datasets({}, {"video": "a", "image": "b"}) == ["video", "image"]
    assert changed_datasets({"video": "a", "image": "b"}, {"video": "a", "image": "c"}) == \
        ["image"]
    assert changed_datasets({"video": "a"}, {"video": "a"}) == []


def test_unreadable_state_file_is_named(tmp_path):
    assert read_state(tmp_path / "absent.json") == {}
    bad = tmp_path / "state.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="state.json: retraining state is not valid JSON"):
        read_state(bad)
    bad.write_text(json.dumps({"data": [1, 2]}))
    with pytest.raises(ConfigError, match="must be a mapping with a `data` mapping"):
        read_state(bad)


@pytest.mark.integration  # the whole flow through a Prefect API server
def test_retrains_promotes_then_skips_unchanged_data_and_keeps_a_champion_not_beaten(
        first_run, flow_work):
    state_path = flow_work / "reports/retraining_state.json"
    first = retraining_flow("params.yaml", str(state_path), return_state=True).result()
    assert first["retrained"] and first["changed"] == ["video", "image", "parsing"]
    assert first["promoted"], first["reason"]  # no champion yet
    saved = json.loads(state_path.read_text())
    assert saved["data"] == first["data"] and saved["version"] == first["version"]

    unchanged = retraining_flow("params.yaml", str(state_path), return_state=True).result()
    assert not unchanged["retrained"]
    assert f"no new or changed data since flow run {first['flow_run_id']}" in unchanged["reason"]

    # The same model again (forced): not better than the champion, so not promoted.
    again = retraining_flow("params.yaml", str(state_path), force=True,
                            return_state=True).result()
    assert again["retrained"] and not again["promoted"], again["reason"]
    client = mlflow.MlflowClient(f"sqlite:///{flow_work / 'mlflow.db'}")
    champion = client.get_model_version_by_alias("vreid", "champion")
    assert str(champion.version) == first["version"] != again["version"]
    assert json.loads(state_path.read_text())["flow_run_id"] == again["flow_run_id"]
