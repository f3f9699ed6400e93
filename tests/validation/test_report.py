"""Reports: JSON + markdown content, and atomic writing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vreid.validation import CheckResult, ValidationResult, report_dict, validate_parsing, write_report


def _result(name="mars", ok=False, n_bad=3):
    bad = [f"bbox_test/0003/0003C2T0001F{i:03d}.jpg: cannot decode (truncated)" for i in range(n_bad)]
    checks = [
        CheckResult("frames_exist", True, 0, [], description="every frame file exists"),
        CheckResult("frames_decode", ok, 0 if ok else 1, [] if ok else bad, description="decodes",
                    offending_total=0 if ok else n_bad),
    ]  # fmt: skip
    return ValidationResult(
        dataset=name, kind="reid", success=ok, checks=checks, num_rows=10,
        rows_per_split={"train": 4, "query": 2, "gallery": 4}, num_files=20,
        params={"num_cams": 2, "root": "/data/mars"},
    )  # fmt: skip


def _listing(directory):
    return sorted(os.listdir(directory))


def test_write_report_contents(tmp_path):
    results = [_result("mars", ok=False, n_bad=13), _result("duke", ok=True)]
    jp, mp = tmp_path / "reports" / "validation.json", tmp_path / "reports" / "validation.md"
    write_report(results, jp, mp, max_listed=10)
    assert _listing(tmp_path / "reports") == ["validation.json", "validation.md"]

    data = json.loads(jp.read_text())
    assert data["success"] is False and data["failed_datasets"] == ["mars"]
    assert data == report_dict(results)
    decode = data["datasets"][0]["checks"][1]
    assert decode["name"] == "frames_decode" and decode["success"] is False
    assert len(decode["offending"]) == 13

    md = mp.read_text()
    assert "Overall: **FAIL** (1 of 2 datasets passed)" in md
    assert "| frames_decode | **FAIL** | 1 |" in md
    assert "## duke (reid): pass" in md
    assert "`bbox_test/0003/0003C2T0001F009.jpg: cannot decode (truncated)`" in md
    assert "F010.jpg" not in md  # only the first 10 are listed
    assert "... and 3 more" in md
    assert oct(os.stat(jp).st_mode & 0o777) == "0o644"

    write_report(results, jp, mp)  # rewriting is deterministic
    assert jp.read_text() == json.dumps(report_dict(results), indent=2) + "\n"
    assert mp.read_text() == md


def test_failed_write_keeps_old_report_and_leaves_no_temp(tmp_path, monkeypatch):
    jp, mp = tmp_path / "validation.json", tmp_path / "validation.md"
    write_report([_result(ok=True)], jp, mp)
    old_json, old_md = jp.read_bytes(), mp.read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(json, "dumps", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_report([_result(ok=False)], jp, mp)
    assert jp.read_bytes() == old_json and mp.read_bytes() == old_md
    assert _listing(tmp_path) == ["validation.json", "validation.md"]


def test_failure_in_second_file_keeps_both_old_files(tmp_path, monkeypatch):
    jp, mp = tmp_path / "validation.json", tmp_path / "validation.md"
    write_report([_result(ok=True)], jp, mp)
    old_json, old_md = jp.read_bytes(), mp.read_bytes()
    real_write_text = Path.write_text

    def full_disk_for_markdown(self, text, **kwargs):
        if self.name.startswith(".validation.md."):  # the markdown temp file
            raise OSError("no space left on device")
        return real_write_text(self, text, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk_for_markdown)
    with pytest.raises(OSError, match="no space"):
        write_report([_result(ok=False)], jp, mp)
    assert jp.read_bytes() == old_json and mp.read_bytes() == old_md
    assert _listing(tmp_path) == ["validation.json", "validation.md"]


def test_real_parsing_failure_reaches_markdown(parsing_index, helpers, tmp_path):
    helpers.make_pair(parsing_index.root, "val", 1, top=25)
    result = validate_parsing(parsing_index)
    jp, mp = tmp_path / "out" / "v.json", tmp_path / "out" / "v.md"
    write_report([result], jp, mp)
    md = mp.read_text()
    assert "| label_values_in_range | **FAIL** | 1 |" in md
    assert "`val_segmentations/00001.png: label values 0..25 outside 0..19`" in md
    assert json.loads(jp.read_text())["datasets"][0]["params"]["num_classes"] == 20
