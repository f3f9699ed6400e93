"""The index -> DataFrame step: computed columns and file probing (no GX here)."""

from __future__ import annotations

import dataclasses
import math
import os

from PIL import ImageFile

from vreid.data.index import ReIDIndex, Tracklet
from vreid.validation.table import file_table, parsing_table, parsing_tables, probe_files, reid_table


def test_reid_table_clean(reid_index):
    df = reid_table(reid_index)
    assert list(df["split"]) == ["train"] * 4 + ["query"] * 2 + ["gallery"] * 4
    assert (df["num_frames"] == 2).all()
    files = file_table(reid_index)
    assert len(files) == 20 and not files["missing"].any() and not files["undecodable"].any()
    assert files["problem"].isna().all()
    assert files.loc[0, "name"] == "bbox_train/0001/0001C1T0001F001.jpg"
    assert not df["pid_in_both_train_and_test"].any()
    query = df[df["split"] == "query"]
    assert list(query["has_cross_camera_match"]) == [True, True]
    assert df.loc[df["split"] != "query", "has_cross_camera_match"].isna().all()
    assert df.loc[0, "name"] == "bbox_train/0001/0001C1T0001F001.jpg"


def test_reid_table_flags_rows(reid_index, helpers):
    root = reid_index.root
    bad = reid_index.train[0]
    os.remove(os.path.join(root, bad.frames[1]))
    helpers.truncate(os.path.join(root, reid_index.query[0].frames[0]))
    shared = dataclasses.replace(reid_index.gallery[0], pid=1)  # train pid 1 reappears in the gallery
    empty = dataclasses.replace(reid_index.gallery[1], frames=())
    index = ReIDIndex(
        reid_index.name, root, reid_index.train, reid_index.query,
        [shared, empty, *reid_index.gallery[2:]],
    )  # fmt: skip
    df = reid_table(index)
    files = file_table(index)  # one row per frame: the bad ones name themselves
    bad_rows = files[files["missing"] | files["undecodable"]]
    assert bad_rows[["split", "position", "name", "missing", "problem"]].values.tolist() == [
        ["train", 0, bad.frames[1], True, "missing"],
        ["query", 0, reid_index.query[0].frames[0], False, "cannot decode (truncated)"]]
    q0 = df.index[df["split"] == "query"][0]
    assert df.loc[q0, "has_cross_camera_match"] is False  # pid 3's only other-cam gallery row became pid 1
    both = df[df["pid_in_both_train_and_test"]]
    assert set(both["pid"]) == {1} and set(both["split"]) == {"train", "gallery"}
    empty_row = df[(df["split"] == "gallery") & (df["num_frames"] == 0)].iloc[0]
    assert empty_row["name"] == "bbox_test/0004"  # falls back to meta["dir"]


def test_probe_files_thread_pool_and_strict_truncation(tmp_path, helpers):
    paths = []
    for i in range(80):  # above the thread-pool threshold
        p = str(tmp_path / f"f{i:03d}.jpg")
        helpers.write_jpeg(p)
        paths.append(p)
    helpers.truncate(paths[5])
    (tmp_path / "f006.jpg").write_bytes(b"not an image at all")
    os.remove(paths[7])
    old = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True  # as training code might set it globally
    try:
        found = probe_files(paths + paths[:3], workers=4)
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = old
    assert len(found) == 80
    bad = {os.path.basename(p): v for p, v in found.items() if v is not None}
    assert bad == {
        "f005.jpg": ("undecodable", "cannot decode (truncated)"),
        "f006.jpg": ("undecodable", "cannot decode (not a recognised image)"),
        "f007.jpg": ("missing", "missing"),
    }


def test_parsing_table(parsing_index, helpers, tmp_path):
    df = parsing_table(parsing_index)
    assert list(df["split"]) == ["train"] * 3 + ["val"] * 2
    assert (df["label_min"] == 0).all() and (df["label_max"] == 19).all()
    assert df["sizes_agree"].tolist() == [True] * 5
    assert (df["image_width"] == 6).all() and (df["image_height"] == 10).all()

    os.remove(os.path.join(parsing_index.root, parsing_index.val[1].label))
    df, files = parsing_tables(parsing_index)
    row = df.iloc[4]
    assert files["missing"].tolist() == [False] * 9 + [True]  # image, label of each pair
    assert files.iloc[9][["split", "position", "name", "problem"]].tolist() == \
        ["val", 1, "val_segmentations/00001.png", "missing"]
    assert math.isnan(row["label_min"]) and row["sizes_agree"] is None


def test_absolute_paths_outside_root_are_kept(tmp_path, helpers):
    t = helpers.make_tracklet(str(tmp_path / "elsewhere"), "x", 1, 0, 1, n=1)
    absolute = dataclasses.replace(t, frames=(str(tmp_path / "elsewhere" / t.frames[0]),))
    index = ReIDIndex("abs", str(tmp_path / "root"), [absolute], [], [])
    df = reid_table(index)
    assert df.loc[0, "name"] == absolute.frames[0]
    assert not file_table(index)["missing"].any()


def test_frames_already_joined_with_a_relative_root(tmp_path, monkeypatch, helpers):
    # Readers build frames as root + sep + name; with a cwd-relative root they must not be re-joined.
    monkeypatch.chdir(tmp_path)
    t = helpers.make_tracklet("data/mars", "bbox_train", 1, 0, 1, n=2)
    joined = dataclasses.replace(t, frames=tuple(os.path.join("data/mars", f) for f in t.frames))
    empty = Tracklet(frames=(), pid=1, camid=0, meta={"row": 7})
    df = reid_table(ReIDIndex("rel", "data/mars", [joined, empty], [], []))
    assert not file_table(ReIDIndex("rel", "data/mars", [joined, empty], [], []))["missing"].any()
    assert df.loc[0, "name"] == "bbox_train/0001/0001C1T0001F001.jpg"
    assert df.loc[1, "name"] == "train tracklet #1 (pid 1, cam 0, row 7)"


def test_sensor_table_one_row_per_sample_with_file_and_line(tmp_path):
    import pytest

    from vreid.data.index import DatasetFormatError
    from vreid.validation.table import sensor_table

    from .test_suite import write_sensor_logs

    with pytest.raises(DatasetFormatError, match=r"no sensors/\*\.csv under"):
        sensor_table(str(tmp_path))
    df = sensor_table(write_sensor_logs(str(tmp_path), n=3, time_s=(2, 0.5)))
    assert df[["file", "line", "name"]].values.tolist()[2:4] == [
        ["sensors/cam1.csv", 4, "sensors/cam1.csv:4"], ["sensors/cam2.csv", 2, "sensors/cam2.csv:2"]]
    assert df["time_increases"].tolist() == [True, True, True, True, True, False]
