"""The real front door: `dvc repro` over dvc.yaml's stages on tiny params (the CI pipeline test)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration  # a real `dvc repro` of the whole graph

REPO = Path(__file__).resolve().parents[2]
STAGES = ("prepare", "validate", "pretrain_parsing", "pretrain_image", "finetune_image",
          "train_video", "evaluate", "evaluate_metadata", "export", "benchmark", "tune")


def run(cmd, cwd, env):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def test_dvc_repro_runs_stages_tracks_mlflow_and_reruns_only_what_changed(
        tmp_path, tiny_params_writer):
    work = tmp_path / "repo"
    work.mkdir()
    shutil.copy(REPO / "dvc.yaml", work)  # generated from the repo's params.yaml table
    shutil.copytree(REPO / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__"))
    tiny_params_writer(work)
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
           "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
           "DVC_NO_ANALYTICS": "1", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
    dvc = [str(Path(bin_dir) / "dvc")]
    run(dvc + ["init", "--no-scm", "-q"], work, env)

    first = run(dvc + ["repro"], work, env)
    for stage in STAGES:
        assert f"Running stage '{stage}'" in first
    metrics = json.loads((work / "reports" / "metrics.json").read_text())
    assert 0 <= metrics["rank1"] <= 1 and 0 <= metrics["mAP"] <= 1
    shown = json.loads(run(dvc + ["metrics", "show", "--json"], work, env))
    assert "rank1" in json.dumps(shown)
    assert "parity_max_abs_diff" in json.dumps(shown)
    assert "ort_cpu.bs1.clips_per_s" in json.dumps(shown)

    second = run(dvc + ["repro"], work, env)
    assert "Running stage" not in second

    # An evaluation param changes: only the two stages that score the model run again,
    # none that trains or exports it (tests/pipeline/test_graph.py checks the training-param
    # case on the same dvc.yaml; rerunning six stages here cost about two minutes).
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["eval"]["max_rank"] = 10
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    third = run(dvc + ["repro"], work, env)
    ran = [s for s in STAGES if f"Running stage '{s}'" in third]
    assert ran == ["evaluate", "evaluate_metadata"], third

    import mlflow

    client = mlflow.MlflowClient(env["MLFLOW_TRACKING_URI"])
    exp = client.get_experiment_by_name("vreid-test")
    runs = client.search_runs([exp.experiment_id])
    stages = sorted(r.data.tags.get("vreid.stage") for r in runs)
    assert stages == sorted(["pipeline", "pipeline", "pretrain_parsing", "pretrain_image",
                             "finetune_image", "train_video", "evaluate", "evaluate",
                             "evaluate_metadata", "evaluate_metadata", "export", "benchmark",
                             "tune", "tune_trial", "tune_trial"])
    parents = {r.info.run_id for r in runs if r.data.tags["vreid.stage"] in ("pipeline", "tune")}
    children = [r for r in runs if r.data.tags["vreid.stage"] != "pipeline"]
    assert all(r.data.tags.get("mlflow.parentRunId") in parents for r in children)
    train_run = next(r for r in runs if r.data.tags["vreid.stage"] == "train_video")
    history = client.get_metric_history(train_run.info.run_id, "train/loss_total")
    assert len(history) >= 1 and train_run.data.params["train.lr"]
    parsing_run = next(r for r in runs if r.data.tags["vreid.stage"] == "pretrain_parsing")
    assert "parsing/val/mIoU" in parsing_run.data.metrics
    artifacts = [a.path for a in client.list_artifacts(parsing_run.info.run_id)]
    assert "parsing_overlays.png" in artifacts
    assert client.search_logged_models([exp.experiment_id])  # the model itself is logged
    eval_run = next(r for r in runs if r.data.tags["vreid.stage"] == "evaluate")
    assert "rank1" in eval_run.data.metrics
    meta_run = next(r for r in runs if r.data.tags["vreid.stage"] == "evaluate_metadata")
    assert {"rank1", "metadata_rank1", "gallery_shrink"} <= set(meta_run.data.metrics)
    assert "metadata_rank1" in json.dumps(shown)
