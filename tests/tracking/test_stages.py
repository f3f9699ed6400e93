"""Tracked stage runs: what every front door (CLI, flows, tuning) logs for a stage."""

import dataclasses
from pathlib import Path

import mlflow
import pytest

from vreid.config import InputConfig, ModelConfig, load_params
from vreid.models import build_model
from vreid.pipeline.common import save_model
from vreid.tracking.stages import (pipeline_key, run_benchmark, run_evaluate,
                                   run_evaluate_metadata, run_export, run_train_stage)


@pytest.fixture
def tracked(in_prepared, tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    p = load_params("params.yaml")
    p = dataclasses.replace(p, tracking=dataclasses.replace(p.tracking, log_model=False))
    return p, mlflow.MlflowClient(uri)


def test_evaluate_run_is_nested_tagged_and_logs_metrics(tracked, tmp_path):
    p, client = tracked
    model_path = tmp_path / "model.pt"
    save_model(model_path, build_model("resnet_tap", num_classes=4, depth=18),
               ModelConfig("resnet_tap", {"depth": 18}), 4, InputConfig(32, 16, 2))
    key = pipeline_key("params.yaml")
    run_evaluate(p, model_path, tmp_path / "reports", key=key,
                 tags={"prefect.flow_run_id": "abc"})
    runs = client.search_runs([client.get_experiment_by_name("vreid-test").experiment_id])
    parent = next(r for r in runs if r.data.tags["vreid.stage"] == "pipeline")
    child = next(r for r in runs if r.data.tags["vreid.stage"] == "evaluate")
    assert parent.data.tags["vreid.pipeline_key"] == key
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child.data.tags["prefect.flow_run_id"] == "abc"
    assert child.data.tags["vreid.model_path"] == str(model_path)
    assert 0.0 <= child.data.metrics["rank1"] <= 1.0 and "eval.metric" in child.data.params
    assert child.data.params["eval.frames"] == "all"
    assert child.data.metrics["timing/tracklets_per_s"] > 0
    assert child.data.metrics["timing/wall_s"] >= child.data.metrics["timing/timed_s"] > 0


def test_unknown_training_stage_is_refused(tracked):
    p, _ = tracked
    with pytest.raises(ValueError, match="no training stage 'train_audio' in the `stages:` table"):
        run_train_stage(p, "train_audio")


def test_evaluate_metadata_run_logs_both_rankings(tracked, tmp_path):
    p, client = tracked
    model_path = tmp_path / "model.pt"
    save_model(model_path, build_model("resnet_tap", num_classes=4, depth=18),
               ModelConfig("resnet_tap", {"depth": 18}), 4, InputConfig(32, 16, 2))
    run_evaluate_metadata(p, model_path, tmp_path / "reports", key=pipeline_key("params.yaml"))
    runs = client.search_runs([client.get_experiment_by_name("vreid-test").experiment_id])
    run = next(r for r in runs if r.data.tags["vreid.stage"] == "evaluate_metadata")
    assert {"rank1", "mAP", "metadata_rank1", "metadata_mAP", "gallery_shrink"} <= \
        set(run.data.metrics)
    assert run.data.params["metadata.range_m"] == "30.0"


def test_export_and_benchmark_runs_log_onnx_metrics_and_backend_status(tracked, tmp_path):
    p, client = tracked
    p = dataclasses.replace(p, benchmark=dataclasses.replace(
        p.benchmark, batch_sizes=(1,), warmup=0, iterations=1, backends=("ort_cpu", "tensorrt")))
    model_path = tmp_path / "model.pt"
    save_model(model_path, build_model("resnet_tap", num_classes=4, depth=18),
               ModelConfig("resnet_tap", {"depth": 18}), 4, InputConfig(32, 16, 2))
    exported = run_export(p, model_path, tmp_path / "export", tmp_path / "reports")
    run_benchmark(p, model_path, exported.onnx_path, tmp_path / "reports")
    runs = client.search_runs([client.get_experiment_by_name("vreid-test").experiment_id])
    ex = next(r for r in runs if r.data.tags["vreid.stage"] == "export")
    bench = next(r for r in runs if r.data.tags["vreid.stage"] == "benchmark")
    assert ex.data.params["export.opset"] == "18" and ex.data.metrics["parity_max_abs_diff"] <= 1e-4
    assert ex.data.tags["vreid.tensorrt"] == exported.report["tensorrt"]
    assert {a.path for a in client.list_artifacts(ex.info.run_id)} == {"model.onnx", "export.json"}
    assert bench.data.metrics["ort_cpu.bs1.clips_per_s"] > 0
    assert bench.data.tags["vreid.backend.ort_cpu"] == "ok"
    assert bench.data.tags["vreid.backend.tensorrt"].startswith(("unavailable (", "ok"))


def test_leaderboard_is_one_parent_run_with_a_child_per_entry_and_seed(tracked, tmp_path,
                                                                       monkeypatch):
    import yaml

    from vreid.pipeline import leaderboard as lb
    from vreid.pipeline.train import TrainOutput
    from vreid.tracking.stages import run_leaderboard

    p, client = tracked

    def fake_train(stage, dataset, runtime, out_dir, checkpoint_dir, logger):
        path = Path(out_dir) / "model.pt"  # an untrained model: tracking is under test here
        save_model(path, build_model(stage.model.name, num_classes=4, depth=18), stage.model,
                   4, stage.input)
        logger.log_metrics({"loss": 1.0}, step=0)
        return TrainOutput(path, 1, 0, {})

    monkeypatch.setattr(lb, "train_reid", fake_train)
    stage = {"data": "video", "model": {"name": "resnet_tap", "kwargs": {"depth": 18}},
             "input": {"height": 32, "width": 16, "clip_len": 2}}
    for name, model in (("tap", "resnet_tap"), ("tmp", "resnet_tmp")):
        entry = {"name": name, "stage": {**stage, "model": {"name": model, "kwargs": {}}}}
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(entry))
    p = dataclasses.replace(p, leaderboard=dataclasses.replace(
        p.leaderboard, out_dir=str(tmp_path / "runs"), seeds=(0, 1), bootstrap_samples=20))
    out = run_leaderboard(p, [str(tmp_path / "*.yaml")], key=pipeline_key("params.yaml"),
                          reports_dir=tmp_path / "reports")
    runs = client.search_runs([client.get_experiment_by_name("vreid-test").experiment_id])
    parent = next(r for r in runs if r.info.run_name == "leaderboard")
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted((r.data.tags["vreid.entry"], r.data.tags["vreid.seed"]) for r in children) == [
        ("tap", "0"), ("tap", "1"), ("tmp", "0"), ("tmp", "1")]
    assert all("rank1" in r.data.metrics and "train_seconds" in r.data.metrics
               for r in children)
    assert parent.data.tags["vreid.reference"] == "tap"
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"leaderboard.md", "leaderboard.png", "leaderboard.json"} <= artifacts
    assert out.trained == [("tap", 0), ("tap", 1), ("tmp", 0), ("tmp", 1)]
