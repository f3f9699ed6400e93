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


def test_timing_rows_and_the_protocol_line(tmp_path):
    import os

    from vreid.pipeline.summary import protocol_line, timing_rows

    assert timing_rows(tmp_path) == [] and protocol_line(tmp_path) is None
    timing = tmp_path / "timing"
    timing.mkdir()
    (timing / "train_video.json").write_text(json.dumps(
        {"wall_s": 12.0, "timed_s": 10.0, "clips": 40, "frames": 160, "clips_per_s": 4.0,
         "frames_per_s": 16.0}))
    (timing / "evaluate.json").write_text(json.dumps(
        {"wall_s": 3.0, "timed_s": 2.0, "tracklets": 10, "frames": 90,
         "tracklets_per_s": 5.0, "frames_per_s": 45.0}))
    os.utime(timing / "train_video.json", (1, 1))  # it ran first
    assert timing_rows(tmp_path) == [("train_video", 12.0, 4.0, None, 16.0),
                                     ("evaluate", 3.0, None, 5.0, 45.0)]
    (tmp_path / "eval_protocol.json").write_text(json.dumps(
        {"frames": "evenly:4", "scored": "one clip of 4 evenly spaced frames per tracklet"}))
    assert protocol_line(tmp_path).startswith("frames scored: evenly:4 (one clip of 4")
    (timing / "evaluate.json").write_text("{")
    with pytest.raises(ValueError, match="evaluate.json: not valid JSON"):
        timing_rows(tmp_path)
