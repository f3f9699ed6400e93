from typer.testing import CliRunner

from vreid.cli import app

runner = CliRunner()


def test_one_command_per_stage():
    out = runner.invoke(app, ["--help"])
    assert out.exit_code == 0
    for stage in ("prepare", "validate", "pretrain-parsing", "pretrain-image", "finetune-image",
                  "train-video", "evaluate", "evaluate-metadata", "stats", "export",
                  "benchmark"):
        assert stage in out.output


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


def test_export_of_a_missing_model_is_one_readable_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    params = tmp_path / "params.yaml"
    params.write_text("export: {opset: 18}\n")
    out = runner.invoke(app, ["export", "--params", str(params),
                              "--model", str(tmp_path / "no_such_model.pt")])
    assert out.exit_code == 1
    assert "no_such_model.pt" in out.output and "Traceback" not in out.output
