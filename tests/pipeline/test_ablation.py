from pathlib import Path

import pytest

from vreid.config import load_params
from vreid.pipeline.ablation import run_ablation

REPO = Path(__file__).resolve().parents[2]
ENTRIES = (str(REPO / "configs" / "leaderboard" / "egoreid_*.yaml"),)


def test_variants_train_score_and_write_one_table(chain_models, monkeypatch, tmp_path):
    import dataclasses

    monkeypatch.chdir(chain_models)
    p = load_params("params.yaml")
    p = dataclasses.replace(p, leaderboard=dataclasses.replace(
        p.leaderboard, out_dir=str(tmp_path / "runs"), bootstrap_samples=50))
    out = run_ablation(p, ["Ub", "frame average (SPReID-style)"], ENTRIES,
                       reports_dir=tmp_path / "reports")
    rows = out.report["entries"]
    assert [r["name"] for r in rows] == ["Ub", "frame average (SPReID-style)"]
    assert out.report["seeds"] == [0] and out.report["reference"] == "Ub"
    assert all(0 <= r["metrics"]["rank1"]["mean"] <= 1 for r in rows)
    assert (tmp_path / "runs" / "Ub" / "seed0" / "model.pt").is_file()
    assert out.md_path == tmp_path / "reports" / "egoreid_ablation.md"
    table = out.md_path.read_text().splitlines()
    assert table[0].startswith("| entry | rank-1") and table[0].endswith("| paper mAP |")
    assert table[2].endswith("| 70.76 | 56.61 |")  # the paper's MARS figures beside ours


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match=r"unknown ablation variant\(s\) \['Xb'\]"):
        run_ablation(load_params(REPO / "params.yaml"), ["Xb"], ENTRIES)
