"""Champion / challenger promotion, rollback and run comparison on a real MLflow store
(sqlite in a temp dir), with models scored on the tiny prepared data."""

import dataclasses
import re

import mlflow
import pytest
import torch

from vreid.config import InputConfig, ModelConfig, load_params
from vreid.models import build_model
from vreid.pipeline.common import read_configured, resolve_device, save_model
from vreid.pipeline.evaluate import score_model
from vreid.pipeline.fingerprint import file_digest
from vreid.tracking import registry
from vreid.tracking.mlflow_run import mlflow_run
from vreid.tracking.registry import (CHAMPION, PREVIOUS, RegistryError, compare_runs,
                                     fetch_model, promote, rollback)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture(scope="module")
def models(prepared, tmp_path_factory):
    """Two untrained models of different seeds, ordered by their mAP on the tiny data."""
    import os

    folder = tmp_path_factory.mktemp("models")
    cwd = os.getcwd()
    os.chdir(prepared)
    try:
        p = load_params("params.yaml")
        index = read_configured(p.data.video)
        scored = []
        for seed in (0, 1):
            torch.manual_seed(seed)
            path = folder / f"seed{seed}.pt"
            save_model(path, build_model("resnet_tap", num_classes=4, depth=18),
                       ModelConfig("resnet_tap", {"depth": 18}), 4, InputConfig(32, 16, 2))
            metrics, _, _ = score_model(p, path, index, resolve_device("cpu"))
            scored.append((metrics["mAP"], path))
    finally:
        os.chdir(cwd)
    (worse_map, worse), (better_map, better) = sorted(scored)
    assert better_map > worse_map, "the two seeds must score differently for these tests"
    return {"worse": worse, "better": better, "gain": better_map - worse_map}


@pytest.fixture
def setup(in_prepared, store, monkeypatch, request):
    """Params on the tiny data with a registered model name of this test's own."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    p = load_params("params.yaml")
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())
    p = dataclasses.replace(p, promote=dataclasses.replace(p.promote, registered_name=name))
    return p, mlflow.MlflowClient(store)


def _aliases(client, name):
    return {alias: str(v) for alias, v in client.get_registered_model(name).aliases.items()}


def _champions(client, name):
    """Versions carrying alias `champion` (MLflow keeps an alias on one version at most;
    this counts them rather than trusting it)."""
    versions = client.search_model_versions(f"name = '{name}'")
    return [str(v.version) for v in versions
            if CHAMPION in client.get_model_version(name, v.version).aliases]


def test_first_model_is_champion_and_a_worse_one_is_never_promoted(setup, models, tmp_path):
    p, client = setup
    name = p.promote.registered_name
    onnx = tmp_path / "exported.onnx"
    onnx.write_bytes(b"onnx bytes")
    first = promote(p, models["better"], onnx_path=onnx, tags={"prefect.flow_run_id": "f1"})
    assert first.promoted and first.version == "1" and first.champion_metrics is None
    assert "no champion yet" in first.reason
    arts = {a.path for a in client.list_artifacts(first.run_id, registry.ARTIFACT_DIR)}
    assert arts == {"vreid_model/model.pt", "vreid_model/model.onnx"}
    fetched = fetch_model(client, name, "1", tmp_path / "dl")
    assert file_digest(fetched) == file_digest(models["better"])

    second = promote(p, models["worse"])
    assert not second.promoted and second.version == "2" and second.champion_version == "1"
    # Both scored in the same call on the same data: the champion's numbers are its own.
    assert second.champion_metrics == first.challenger_metrics
    assert second.challenger_metrics["mAP"] < second.champion_metrics["mAP"]
    assert second.data_fingerprint == first.data_fingerprint
    assert _champions(client, name) == ["1"]
    tags = client.get_model_version(name, "2").tags
    assert tags["vreid.promoted"] == "false" and tags["vreid.reason"] == second.reason
    assert float(tags["vreid.challenger.mAP"]) == pytest.approx(
        second.challenger_metrics["mAP"], abs=1e-6)
    assert float(tags["vreid.champion.mAP"]) == pytest.approx(
        second.champion_metrics["mAP"], abs=1e-6)
    assert tags["vreid.data_fingerprint"] == second.data_fingerprint
    assert tags["vreid.champion_version"] == "1" and tags["vreid.git_commit"]
    assert tags["vreid.git_commit"] == registry.git_commit()  # in a repo: HEAD, or "unknown"
    assert client.get_model_version(name, "1").tags["prefect.flow_run_id"] == "f1"


def test_better_model_is_promoted_and_rollback_restores_the_previous(setup, models):
    p, client = setup
    name = p.promote.registered_name
    assert promote(p, models["worse"]).promoted
    better = promote(p, models["better"])
    assert better.promoted and better.version == "2"
    assert f"+{models['gain']:.4f}" in better.reason
    assert _aliases(client, name) == {CHAMPION: "2", PREVIOUS: "1"}
    assert client.get_model_version(name, "2").tags["vreid.replaced_version"] == "1"

    back = rollback(p)
    assert (back.champion_version, back.demoted_version, back.previous_version) == \
        ("1", "2", None)
    assert _aliases(client, name) == {CHAMPION: "1"}
    assert "vreid.rolled_back" in client.get_model_version(name, "2").tags
    with pytest.raises(RegistryError, match="no `previous-champion`"):
        rollback(p)


def test_a_gain_within_the_margin_keeps_the_champion(setup, models):
    p, client = setup
    p = dataclasses.replace(p, promote=dataclasses.replace(p.promote,
                                                           margin=models["gain"] + 0.01))
    promote(p, models["worse"])
    kept = promote(p, models["better"])
    assert not kept.promoted and "<= margin" in kept.reason
    assert _champions(client, p.promote.registered_name) == ["1"]


@pytest.mark.parametrize("failing_write", [1, 2])
def test_a_crash_between_alias_moves_leaves_exactly_one_champion(setup, models, monkeypatch,
                                                                  failing_write):
    p, client = setup
    name = p.promote.registered_name
    promote(p, models["worse"])
    real = mlflow.MlflowClient.set_registered_model_alias
    calls = []

    def crashing(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == failing_write:
            raise KeyboardInterrupt("killed between alias moves")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(mlflow.MlflowClient, "set_registered_model_alias", crashing)
    with pytest.raises(KeyboardInterrupt):
        promote(p, models["better"])
    assert calls[0][1] == PREVIOUS  # the old champion is remembered before champion moves
    assert _champions(client, name) == ["1"]
    assert "vreid.promoted" not in client.get_model_version(name, "2").tags  # interrupted

    monkeypatch.setattr(mlflow.MlflowClient, "set_registered_model_alias", real)
    again = promote(p, models["better"])
    assert again.promoted and _champions(client, name) == [again.version]


def test_a_crash_inside_rollback_leaves_one_champion_and_a_rerun_finishes(setup, models,
                                                                         monkeypatch):
    p, client = setup
    name = p.promote.registered_name
    promote(p, models["worse"])
    promote(p, models["better"])

    def crashing(self, *args, **kwargs):
        raise KeyboardInterrupt("killed after champion moved")

    real = mlflow.MlflowClient.delete_registered_model_alias
    monkeypatch.setattr(mlflow.MlflowClient, "delete_registered_model_alias", crashing)
    with pytest.raises(KeyboardInterrupt):
        rollback(p)
    assert _champions(client, name) == ["1"]
    monkeypatch.setattr(mlflow.MlflowClient, "delete_registered_model_alias", real)
    assert rollback(p).champion_version == "1"
    assert _aliases(client, name) == {CHAMPION: "1"}


def test_an_unknown_metric_fails_before_anything_is_registered(setup, models):
    p, client = setup
    p = dataclasses.replace(p, promote=dataclasses.replace(p.promote, metric="rank3"))
    with pytest.raises(RegistryError, match="'rank3' is not among"):
        promote(p, models["better"])
    assert client.search_model_versions(f"name = '{p.promote.registered_name}'") == []


def test_evaluation_fingerprint_covers_the_evaluation_settings(setup):
    p, _ = setup
    index = read_configured(p.data.video)
    base = registry.evaluation_fingerprint(p, index)
    assert registry.evaluation_fingerprint(p, index) == base
    cosine = dataclasses.replace(p, eval=dataclasses.replace(p.eval, metric="cosine"))
    assert registry.evaluation_fingerprint(cosine, index) != base
    fewer = dataclasses.replace(index, query=index.query[1:])
    assert registry.evaluation_fingerprint(p, fewer) != base


def test_rollback_without_a_champion_is_a_clear_error(setup):
    p, _ = setup
    with pytest.raises(RegistryError, match="no `champion`"):
        rollback(p)


def test_compare_shows_differing_params_and_metrics(setup):
    p, _ = setup
    p = dataclasses.replace(p, tracking=dataclasses.replace(p.tracking, experiment="cmp"))
    ids = []
    for lr, m in ((0.1, 0.5), (0.2, 0.75), (0.3, 0.25)):
        with mlflow_run("cmp", f"lr{lr}", tags={"vreid.stage": "train_video"},
                        parent_key="k") as log:
            log.log_params({"train.lr": lr, "train.epochs": 2})
            log.log_metrics({"mAP": m, "rank@1": m / 2})
            ids.append(log.run_id)
    table = compare_runs(p)
    assert table.columns == ["run", "name", "stage", "train.lr", "mAP", "rank_1"]
    assert sorted(table.rows) == sorted([  # the pipeline parent run is left out
        [ids[0][:8], "lr0.1", "train_video", "0.1", "0.5", "0.25"],
        [ids[1][:8], "lr0.2", "train_video", "0.2", "0.75", "0.375"],
        [ids[2][:8], "lr0.3", "train_video", "0.3", "0.25", "0.125"]])
    md = table.to_markdown().splitlines()
    assert md[0] == "| run | name | stage | train.lr | mAP | rank_1 |" and len(md) == 5
    picked = compare_runs(p, ids[:2], metrics=["mAP"])
    assert picked.columns == ["run", "name", "stage", "train.lr", "mAP"]
    assert picked.to_rich().row_count == 2
    assert compare_runs(p, stage="evaluate").rows == []
    with pytest.raises(RegistryError, match="no MLflow experiment named 'nope'"):
        compare_runs(p, experiment="nope")
