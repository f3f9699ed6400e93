"""The GX suite: a clean index passes; each failure mode fails exactly its own check."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
from PIL import Image

from vreid.data.index import ParsingIndex, ReIDIndex
from vreid.validation import render_markdown, validate_parsing, validate_reid

REID_CHECKS = [
    "splits_non_empty",
    "tracklets_non_empty",
    "frames_exist",
    "frames_decode",
    "pid_in_range",
    "camid_in_range",
    "train_test_pids_disjoint",
    "query_has_cross_camera_match",
]
PARSING_CHECKS = [
    "samples_non_empty",
    "files_exist",
    "files_decode",
    "label_values_in_range",
    "image_label_sizes_agree",
]


def _with(index: ReIDIndex, split: str, i: int, **changes) -> ReIDIndex:
    items = list(getattr(index, split))
    items[i] = dataclasses.replace(items[i], **changes)
    return dataclasses.replace(index, **{split: items})


def test_clean_reid_passes(reid_index):
    result = validate_reid(reid_index, num_cams=2)
    assert [c.name for c in result.checks] == REID_CHECKS
    assert result.success, [(c.name, c.offending) for c in result.failed_checks]
    assert all(c.unexpected_count == 0 and c.offending == [] for c in result.checks)
    assert result.num_rows == 10 and result.num_files == 20
    assert result.rows_per_split == {"train": 4, "query": 2, "gallery": 4}
    assert result.params["num_cams"] == 2 and result.params["num_cams_inferred"] is False
    assert validate_reid(reid_index).params == {**result.params, "num_cams_inferred": True}


def _empty_tracklet(index, helpers):
    return _with(index, "train", 2, frames=()), "tracklets_non_empty", "bbox_train/0002: empty tracklet"


def _missing_frame(index, helpers):
    os.remove(os.path.join(index.root, index.gallery[1].frames[1]))
    return index, "frames_exist", "bbox_test/0004/0004C2T0004F002.jpg: missing"


def _truncated_frame(index, helpers):
    helpers.truncate(os.path.join(index.root, index.query[1].frames[1]))
    return index, "frames_decode", "bbox_test/0004/0004C1T0002F002.jpg: cannot decode (truncated)"


def _corrupt_frame(index, helpers):
    with open(os.path.join(index.root, index.train[0].frames[0]), "wb") as fh:
        fh.write(b"\x00garbage" * 10)
    return index, "frames_decode", "bbox_train/0001/0001C1T0001F001.jpg: cannot decode"


def _camid_out_of_range(index, helpers):
    return _with(index, "gallery", 3, camid=5), "camid_in_range", "bbox_test/0000/0000C2T0006F001.jpg: camid 5"


def _negative_pid(index, helpers):
    return _with(index, "gallery", 3, pid=-1), "pid_in_range", "bbox_test/0000/0000C2T0006F001.jpg: pid -1"


def _pid_shared(index, helpers):
    extra = helpers.make_tracklet(index.root, "bbox_train", 3, 1, 9)  # test pid 3 also in train
    index = dataclasses.replace(index, train=[*index.train, extra])
    return index, "train_test_pids_disjoint", "bbox_train/0003/0003C2T0009F001.jpg: pid 3 (train)"


def _no_cross_camera_match(index, helpers):
    # pid 3's only gallery tracklet moves to camera 0, the query's own camera (cam 1 stays in use).
    index = _with(index, "gallery", 0, camid=0)
    return index, "query_has_cross_camera_match", "bbox_test/0003/0003C1T0001F001.jpg: query pid 3 cam 0"


def _no_query(index, helpers):
    return dataclasses.replace(index, query=[]), "splits_non_empty", "split 'query': no tracklets"


@pytest.mark.parametrize(
    "mutate",
    [
        _empty_tracklet,
        _missing_frame,
        _truncated_frame,
        _corrupt_frame,
        _camid_out_of_range,
        _negative_pid,
        _pid_shared,
        _no_cross_camera_match,
        _no_query,
    ],
)
def test_reid_failure_mode_fails_only_its_check(reid_index, helpers, mutate):
    index, expected, offending = mutate(reid_index, helpers)
    result = validate_reid(index, num_cams=2)
    assert not result.success
    assert [c.name for c in result.failed_checks] == [expected]
    check = result.check(expected)
    assert check.unexpected_count >= 1
    assert any(line.startswith(offending) for line in check.offending), check.offending
    assert offending in render_markdown([result])


def test_camid_range_inferred_from_distinct_cameras(reid_index):
    # cams {0, 1, 5}: inferred num_cams = 3, so camid 5 is out of range without being told.
    result = validate_reid(_with(reid_index, "gallery", 3, camid=5))
    assert [c.name for c in result.failed_checks] == ["camid_in_range"]
    assert result.params["num_cams"] == 3


def test_pid_zero_is_not_a_shared_identity(reid_index, helpers):
    extra = helpers.make_tracklet(reid_index.root, "bbox_train", 0, 0, 8)
    result = validate_reid(dataclasses.replace(reid_index, train=[*reid_index.train, extra]), num_cams=2)
    assert result.success, [(c.name, c.offending) for c in result.failed_checks]


def test_clean_parsing_passes(parsing_index):
    result = validate_parsing(parsing_index)
    assert [c.name for c in result.checks] == PARSING_CHECKS
    assert result.success, [(c.name, c.offending) for c in result.failed_checks]
    assert result.num_rows == 5 and result.num_files == 10
    assert result.rows_per_split == {"train": 3, "val": 2}


def _label_25(index, helpers):
    helpers.make_pair(index.root, "train", 1, top=25)
    return index, "label_values_in_range", "train_segmentations/00001.png: label values 0..25 outside 0..19"


def _label_missing(index, helpers):
    os.remove(os.path.join(index.root, index.val[0].label))
    return index, "files_exist", "val_segmentations/00000.png: missing"


def _image_corrupt(index, helpers):
    helpers.truncate(os.path.join(index.root, index.train[2].image), keep=0.3)
    return index, "files_decode", "train_images/00002.jpg: cannot decode"


def _size_mismatch(index, helpers):
    helpers.write_jpeg(os.path.join(index.root, index.train[0].image), size=(6, 12))
    return index, "image_label_sizes_agree", "train_images/00000.jpg: image 6x12 but label"


def _label_16_bit(index, helpers):
    """Issue 15: a 16-bit label map (values < 20 here) is refused as not 8-bit."""
    path = os.path.join(index.root, index.train[1].label)
    with Image.open(path) as lab:
        arr = np.asarray(lab).astype(np.uint16)
    Image.fromarray(arr).save(path)
    return index, "files_decode", "train_segmentations/00001.png: cannot decode as a label map (mode I"


@pytest.mark.parametrize("mutate", [_label_25, _label_missing, _image_corrupt, _size_mismatch,
                                    _label_16_bit])
def test_parsing_failure_mode_fails_only_its_check(parsing_index, helpers, mutate):
    index, expected, offending = mutate(parsing_index, helpers)
    result = validate_parsing(index)
    assert [c.name for c in result.failed_checks] == [expected]
    check = result.check(expected)
    assert check.unexpected_count == 1
    assert any(line.startswith(offending) for line in check.offending), check.offending
    assert offending in render_markdown([result])


def test_empty_parsing_index_fails():
    result = validate_parsing(ParsingIndex("empty", "", [], []))
    assert [c.name for c in result.failed_checks] == ["samples_non_empty"]


_NO_NETWORK_CHILD = r"""
import json, socket, sys
attempts = []
def _refuse(*args, **kwargs):
    attempts.append(args[1:] if args else kwargs)
    raise OSError("network disabled in this test")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.getaddrinfo = _refuse
socket.create_connection = _refuse

from vreid.data.index import ReIDIndex, Tracklet
from vreid.validation import validate_reid
spec = json.loads(sys.argv[1])
split = lambda key: [Tracklet(tuple(f), p, c) for f, p, c in spec[key]]
result = validate_reid(ReIDIndex("net", spec["root"], split("train"), split("query"), split("gallery")), num_cams=2)
print(json.dumps({"success": result.success, "attempts": [repr(a) for a in attempts]}))
"""


def test_no_network_during_import_and_validation(reid_index):
    import json
    import subprocess
    import sys

    spec = {"root": reid_index.root}
    for key in ("train", "query", "gallery"):
        spec[key] = [[list(t.frames), t.pid, t.camid] for t in getattr(reid_index, key)]
    env = {k: v for k, v in os.environ.items() if k not in ("GX_ANALYTICS_ENABLED", "DO_NOT_TRACK")}
    import vreid

    src = os.path.dirname(os.path.dirname(os.path.abspath(vreid.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    out = subprocess.run(
        [sys.executable, "-c", _NO_NETWORK_CHILD, json.dumps(spec)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"success": True, "attempts": []}


def test_empty_reid_index_fails_only_splits_check():
    result = validate_reid(ReIDIndex("empty", "", [], [], []))
    assert [c.name for c in result.failed_checks] == ["splits_non_empty"]
    assert sorted(result.check("splits_non_empty").offending) == [
        "split 'gallery': no tracklets", "split 'query': no tracklets", "split 'train': no tracklets",
    ]  # fmt: skip


# --------------------------------------------------------------------------- sensor logs

SENSOR_CHECKS = ["sensor_values_present", "sensor_time_increasing", "sensor_position_in_range",
                 "sensor_heading_in_range", "sensor_speed_plausible"]


def write_sensor_logs(root, n=6, **edits):
    """Clean logs sensors/cam1.csv and cam2.csv; `edits` maps column -> (row, value) in cam2."""
    import numpy as np

    from vreid.data.sensors import SENSOR_COLUMNS, format_sensor_csv

    os.makedirs(os.path.join(root, "sensors"), exist_ok=True)
    for cam in (1, 2):
        cols = {c: np.full(n, 0.5) for c in SENSOR_COLUMNS}
        cols.update(time_s=np.arange(n, dtype=float), latitude_deg=np.full(n, 48.1),
                    longitude_deg=np.full(n, 11.6), heading_deg=np.full(n, 359.5),
                    speed_mps=np.full(n, 1.4))
        if cam == 2:
            for column, (row, value) in edits.items():
                cols[column][row] = value
        with open(os.path.join(root, "sensors", f"cam{cam}.csv"), "w") as fh:
            fh.write(format_sensor_csv(cols))
    return root


def test_clean_sensor_logs_pass(tmp_path):
    from vreid.validation import validate_sensor_logs

    result = validate_sensor_logs(write_sensor_logs(str(tmp_path)))
    assert [c.name for c in result.checks] == SENSOR_CHECKS
    assert result.success and result.kind == "sensors" and result.num_rows == 12
    assert result.rows_per_split == {"sensors/cam1.csv": 6, "sensors/cam2.csv": 6}


@pytest.mark.parametrize("column, row, value, check, problem", [
    ("gyro_y_radps", 2, float("nan"), "sensor_values_present",
     "empty or NaN field(s) ['gyro_y_radps']"),
    ("time_s", 3, 1.5, "sensor_time_increasing", "time_s 1.5 is not after the previous sample's"),
    ("latitude_deg", 0, 91.0, "sensor_position_in_range",
     "latitude 91.0, longitude 11.6 outside [-90, 90] / [-180, 180]"),
    ("longitude_deg", 5, -181.0, "sensor_position_in_range",
     "latitude 48.1, longitude -181.0 outside [-90, 90] / [-180, 180]"),
    ("heading_deg", 1, 360.0, "sensor_heading_in_range", "heading 360.0 outside [0, 360)"),
    ("speed_mps", 4, 40.0, "sensor_speed_plausible", "speed 40.0 m/s outside [0, 15]"),
])
def test_broken_sensor_log_fails_only_its_check_naming_file_and_line(tmp_path, column, row, value,
                                                                    check, problem):
    from vreid.validation import validate_sensor_logs

    result = validate_sensor_logs(write_sensor_logs(str(tmp_path), **{column: (row, value)}))
    assert [c.name for c in result.failed_checks] == [check]
    failed = result.check(check)
    assert failed.unexpected_count == 1
    assert failed.offending == [f"sensors/cam2.csv:{row + 2}: {problem}"]  # line 1: the header
    assert f"sensors/cam2.csv:{row + 2}: {problem}" in render_markdown([result])
