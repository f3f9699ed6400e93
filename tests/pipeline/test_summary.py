import json

import pytest

from vreid.pipeline.summary import summary_rows


def test_rows_follow_the_reports_that_exist(tmp_path):
    assert summary_rows(tmp_path) == []
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"rank1": 0.5, "mAP": 0.4, "untrained_rank1": 0.06, "untrained_mAP": 0.08}))
    assert summary_rows(tmp_path) == [("trained model", 0.5, 0.4),
                                      ("same network, untrained", 0.06, 0.08)]
    (tmp_path / "metadata_metrics.json").write_text(json.dumps(
        {"rank1": 0.3, "mAP": 0.42, "metadata_rank1": 0.41, "metadata_mAP": 0.45}))
    assert [r[0] for r in summary_rows(tmp_path)][-2:] == ["EgoReID set, no metadata",
                                                          "EgoReID set, metadata pruning"]


def test_a_broken_report_names_the_file(tmp_path):
    (tmp_path / "metrics.json").write_text("{rank1: ")
    with pytest.raises(ValueError, match="metrics.json: not valid JSON"):
        summary_rows(tmp_path)
