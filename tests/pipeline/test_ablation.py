from pathlib import Path

import pytest

from vreid.config import load_params
from vreid.pipeline.ablation import PAPER_MARS, VARIANTS, run_ablation


def test_variants_train_score_and_write_one_table(chain_models, monkeypatch, tmp_path):
    monkeypatch.chdir(chain_models)
    report = tmp_path / "ablation.md"
    rows = run_ablation(load_params("params.yaml"), ["Ub", "frame average (SPReID-style)"],
                        work_dir=tmp_path / "work", report_path=report)
    assert [r.variant for r in rows] == ["Ub", "frame average (SPReID-style)"]
    assert all(0 <= r.metrics["rank1"] <= 1 for r in rows)
    assert (tmp_path / "work" / "models" / "ub" / "model.pt").is_file()
    table = report.read_text().splitlines()
    assert table[0].startswith("| variant | rank-1") and len(table) == 4
    assert "| 70.76 | 56.61 |" in table[2]  # the paper's MARS figures beside ours


def test_every_variant_has_paper_figures_and_unknown_is_refused():
    assert set(VARIANTS) == set(PAPER_MARS)
    with pytest.raises(ValueError, match="unknown ablation variant"):
        run_ablation(load_params(Path(__file__).resolve().parents[2] / "params.yaml"), ["Xb"])


def test_variants_building_the_same_model_are_trained_once(in_prepared, monkeypatch, tmp_path):
    import torch

    from vreid.config import InputConfig, ModelConfig
    from vreid.models import build_model
    from vreid.pipeline import ablation
    from vreid.pipeline.common import save_model
    from vreid.pipeline.train import TrainOutput

    trained = []

    def fake_train(stage, data, runtime, out_dir, checkpoint_dir, logger):
        trained.append(Path(out_dir).name)
        torch.manual_seed(len(trained))
        path = Path(out_dir) / "model.pt"
        save_model(path, build_model("resnet_tap", num_classes=4, depth=18),
                   ModelConfig("resnet_tap", {"depth": 18}), 4, InputConfig(32, 16, 2))
        return TrainOutput(path, 1, 0, {})

    monkeypatch.setattr(ablation, "train_reid", fake_train)
    logged = []

    class Logger:
        def log_metrics(self, metrics):
            logged.append(dict(metrics))

    from contextlib import nullcontext

    names = ["Ub+Lb+Fb+Gf", "with multi-scale and weights", "Ub"]
    rows = run_ablation(load_params("params.yaml"), names, work_dir=tmp_path / "work",
                        report_path=tmp_path / "ablation.md",
                        run_context=lambda name: nullcontext(Logger()))
    # the tiny config leaves regions / use_global / use_weights / multi_scale at their
    # defaults, so the first two variants are the full default model
    assert trained == ["ub_lb_fb_gf", "ub"]
    assert [r.variant for r in rows] == names and rows[0].metrics == rows[1].metrics
    assert len(logged) == 3 and logged[0] == logged[1]  # each name's run still gets them
    assert rows[2].metrics != rows[0].metrics


def test_model_identity_fills_in_builder_defaults():
    from vreid.config import ModelConfig
    from vreid.pipeline.ablation import model_identity

    base = model_identity(ModelConfig("egoreid", {"channels": 16}))
    assert model_identity(ModelConfig("egoreid", {"channels": 16, "use_global": True,
                                                  "regions": ["fg", "ub", "lb"]})) == base
    assert model_identity(ModelConfig("egoreid", {"channels": 16, "use_global": False})) != base
    assert model_identity(ModelConfig("egoreid_frame", {})) != model_identity(
        ModelConfig("egoreid", {}))
