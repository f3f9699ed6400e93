import json
import shutil
from pathlib import Path

import pytest

from vreid.config import load_params
from vreid.pipeline.validate import ValidationFailed, validate


def test_clean_data_passes_and_report_written(in_prepared, tmp_path):
    out = validate(load_params("params.yaml"), tmp_path / "reports")
    assert out.success
    report = json.loads(out.report_json.read_text())
    assert report and out.report_md.is_file()
    assert "egoreid" in out.report_md.read_text()  # every configured set is checked


def test_broken_frame_fails_naming_the_file(in_prepared, tmp_path):
    broken = tmp_path / "mars"
    shutil.copytree("data/synthetic/mars", broken)
    frame = sorted((broken / "bbox_test" / "0000").rglob("*.jpg"))[0]  # a distractor: kept
    frame.write_bytes(frame.read_bytes()[:40])  # truncated JPEG
    params_text = Path("params.yaml").read_text().replace(
        "root: data/synthetic/mars", f"root: {broken}")
    (tmp_path / "params.yaml").write_text(params_text)
    reports = tmp_path / "reports"
    with pytest.raises(ValidationFailed, match="frames_decode"):
        validate(load_params(tmp_path / "params.yaml"), reports)
    assert frame.name in (reports / "validation.md").read_text()


def test_broken_sensor_log_fails_naming_the_file_and_line(in_prepared, tmp_path):
    broken = tmp_path / "egoreid"
    shutil.copytree("data/synthetic/egoreid", broken)
    log = broken / "sensors" / "cam2.csv"
    lines = log.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")
    row[header.index("time_s")] = "0"  # time goes back: the reader would refuse this log
    lines[3] = ",".join(row)
    log.write_text("\n".join(lines) + "\n")
    params_text = Path("params.yaml").read_text().replace(
        "root: data/synthetic/egoreid", f"root: {broken}")
    (tmp_path / "params.yaml").write_text(params_text)
    reports = tmp_path / "reports"
    with pytest.raises(ValidationFailed, match="egoreid sensors: sensor_time_increasing"):
        validate(load_params(tmp_path / "params.yaml"), reports)
    assert "sensors/cam2.csv:4: time_s 0.0 is not after" in (reports / "validation.md").read_text()
