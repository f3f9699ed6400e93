import pytest
from typer.testing import CliRunner

from vreid.cli import app

runner = CliRunner()


def test_one_command_per_stage():
    out = runner.invoke(app, ["--help"])
    assert out.exit_code == 0
    for stage in ("prepare", "validate", "train-stage", "dvc-yaml", "evaluate",
                  "evaluate-metadata", "stats", "export", "benchmark", "leaderboard", "ablate"):
        assert stage in out.output
    for alias in ("pretrain-parsing", "pretrain-image", "finetune-image", "train-video"):
        assert runner.invoke(app, [alias, "--help"]).exit_code == 0  # EgoReID's, kept


def test_train_stage_of_a_stage_not_in_the_table_is_one_readable_error(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("stages:\n  baseline: {model: {name: resnet_tap}}\n")
    out = runner.invoke(app, ["train-stage", "pretrain_parsing", "--params", str(params)])
    assert out.exit_code == 1
    assert "no training stage 'pretrain_parsing'" in out.output and "baseline" in out.output


def test_dvc_yaml_check_fails_on_a_stale_file_and_passes_once_written(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("stages:\n  baseline: {model: {name: resnet_tap}}\n")
    target = tmp_path / "dvc.yaml"
    target.write_text("stages: {}\n")
    args = ["--params", str(params), "--output", str(target)]
    stale = runner.invoke(app, ["dvc-yaml", "--check", *args])
    assert stale.exit_code == 1 and "out of date" in stale.output
    assert runner.invoke(app, ["dvc-yaml", *args]).exit_code == 0
    assert "vreid train-stage baseline" in target.read_text()
    assert runner.invoke(app, ["dvc-yaml", "--check", *args]).exit_code == 0


def test_bad_params_exit_non_zero_with_the_file_and_key(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("runtime:\n  epocs: 1\n")
    out = runner.invoke(app, ["validate", "--params", str(bad)])
    assert out.exit_code == 1
    assert "epocs" in out.output and "params.yaml" in out.output


def test_missing_dataset_is_one_readable_error(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(f"data:\n  video: {{name: mars, root: {tmp_path / 'nowhere'}}}\n")
    out = runner.invoke(app, ["validate", "--params", str(params)])
    assert out.exit_code == 1
    assert "nowhere" in out.output and "Traceback" not in out.output


@pytest.mark.parametrize("args, env", [(["--debug"], {}), ([], {"VREID_DEBUG": "1"})])
def test_debug_shows_the_traceback_behind_the_one_line_error(tmp_path, args, env):
    bad = tmp_path / "params.yaml"
    bad.write_text("runtime:\n  epocs: 1\n")
    out = runner.invoke(app, [*args, "validate", "--params", str(bad)], env=env)
    assert out.exit_code == 1
    assert "error:" in out.stdout and "epocs" in out.stdout  # the one line is still there
    assert out.stderr.startswith("Traceback (most recent call last):")
    assert "load_params" in out.stderr and "ConfigError" in out.stderr
    quiet = runner.invoke(app, ["validate", "--params", str(bad)], env={"VREID_DEBUG": "0"})
    assert quiet.exit_code == 1 and quiet.stderr == ""


def test_export_of_a_missing_model_is_one_readable_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    params = tmp_path / "params.yaml"
    params.write_text("export: {opset: 18}\n")
    out = runner.invoke(app, ["export", "--params", str(params),
                              "--model", str(tmp_path / "no_such_model.pt")])
    assert out.exit_code == 1
    assert "no_such_model.pt" in out.output and "Traceback" not in out.output


def test_promote_rollback_compare_commands(in_prepared, tmp_path, monkeypatch):
    from vreid.config import InputConfig, ModelConfig
    from vreid.models import build_model
    from vreid.pipeline.common import save_model

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    model = tmp_path / "model.pt"
    save_model(model, build_model("resnet_tap", num_classes=4, depth=18),
               ModelConfig("resnet_tap", {"depth": 18}), 4, InputConfig(32, 16, 2))
    out = runner.invoke(app, ["promote", "--model", str(model)])
    assert out.exit_code == 0, out.output
    assert "vreid v1: champion" in out.output and "no champion yet" in " ".join(out.output.split())
    out = runner.invoke(app, ["rollback"])
    assert out.exit_code == 1 and "no `previous-champion`" in " ".join(out.output.split())
    md = tmp_path / "compare.md"
    out = runner.invoke(app, ["compare", "--stage", "promote", "-m", "mAP", "--output", str(md)])
    assert out.exit_code == 0, out.output
    assert md.read_text().splitlines()[0] == "| run | name | stage | mAP |"
    out = runner.invoke(app, ["promote", "--model", str(tmp_path / "missing.pt")])
    assert out.exit_code == 1 and "missing.pt: model file not found" in " ".join(out.output.split())


def test_summary_prints_the_frames_scored_and_the_stage_timing_table(tmp_path):
    import json

    (tmp_path / "metrics.json").write_text(json.dumps({"rank1": 0.5, "mAP": 0.4}))
    (tmp_path / "eval_protocol.json").write_text(json.dumps(
        {"frames": "evenly:4", "scored": "one clip of 4 evenly spaced frames per tracklet"}))
    (tmp_path / "timing").mkdir()
    (tmp_path / "timing" / "train_video.json").write_text(json.dumps(
        {"wall_s": 12.0, "timed_s": 10.0, "clips": 40, "frames": 160, "clips_per_s": 4.0,
         "frames_per_s": 16.0}))
    out = runner.invoke(app, ["summary", "--reports", str(tmp_path)], terminal_width=200)
    assert out.exit_code == 0, out.output
    assert "frames scored: evenly:4" in out.output and "stage timing" in out.output
    row = next(line for line in out.output.splitlines() if "train_video" in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")] == \
        ["train_video", "12.0", "4.0", "-", "16.0"]


def test_leaderboard_with_a_bad_entry_is_one_readable_error(tmp_path):
    entry = tmp_path / "bad.yaml"
    entry.write_text("name: x\nstage: train_audio\n")
    out = runner.invoke(app, ["leaderboard", "--entries", str(entry)])
    assert out.exit_code == 1
    assert "bad.yaml: stage: no stage 'train_audio'" in " ".join(out.output.split())


def test_leaderboard_reference_outside_the_entries_fails_before_any_run(monkeypatch):
    from vreid.tracking import stages

    def no_run(*args, **kwargs):
        raise AssertionError("a tracking run was opened")

    monkeypatch.setattr(stages, "_board_runs", no_run)
    entries = ["--entries", "configs/leaderboard/p001_*.yaml"]
    out = runner.invoke(app, ["leaderboard", *entries])  # params.yaml's reference: paper 000's
    assert out.exit_code == 1
    assert "leaderboard.reference: 'Ub+Lb+Fb+Gf' is not an entry" in " ".join(out.output.split())
    out = runner.invoke(app, ["leaderboard", *entries, "--reference", "p004 ResNet + TP-avg"])
    assert out.exit_code == 1
    assert ("leaderboard.reference: 'p004 ResNet + TP-avg' is not an entry; entries: "
            "['p001 ") in " ".join(out.output.split())


def test_dvc_yaml_leaderboard_check(tmp_path):
    target = tmp_path / "dvc.yaml"
    target.write_text("stages: {}\n")
    args = ["dvc-yaml", "--leaderboard", "--output", str(target)]
    stale = runner.invoke(app, [*args, "--check"])
    assert stale.exit_code == 1 and "vreid dvc-yaml --leaderboard" in stale.output
    assert runner.invoke(app, args).exit_code == 0
    assert runner.invoke(app, [*args, "--check"]).exit_code == 0


def test_stats_of_the_parsing_set_and_an_unknown_key(in_prepared):
    out = runner.invoke(app, ["stats", "--dataset", "parsing"])
    assert out.exit_code == 0, out.output
    assert "Split images" in out.output and "train" in out.output
    bad = runner.invoke(app, ["stats", "--dataset", "nope"])
    assert bad.exit_code == 1 and "unknown dataset 'nope'" in bad.output
    assert "parsing" in bad.output and "video" in bad.output


@pytest.mark.parametrize("folder", ["MARS[v2]", "odd[/b]name"])
def test_errors_print_bracketed_paths_as_they_are(tmp_path, folder):
    """Issue 15 item 4: rich markup dropped `[v2]` from a root and raised on `[/b]`."""
    params = tmp_path / "params.yaml"
    root = tmp_path / folder
    params.write_text(f"data:\n  video: {{name: mars, root: '{root}'}}\n")
    out = runner.invoke(app, ["validate", "--params", str(params)])
    assert out.exit_code == 1 and "Traceback" not in out.output
    assert folder in "".join(out.output.split())  # rich may wrap the long line
