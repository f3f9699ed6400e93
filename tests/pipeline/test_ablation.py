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
