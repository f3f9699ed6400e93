"""The split-file-or-generated-splits index shared by the iLIDS-VID and PRID2011 readers."""

import json
import logging

import pytest

from vreid.data.index import DatasetFormatError, Tracklet
from vreid.data.readers._common import png_tracklet, two_camera_split_index


def fake_tracklet(i, camid):
    return Tracklet(frames=(f"p{i}c{camid}.png",), pid=100 + i, camid=camid)


def build(tmp_path, split_id=0, seed=0):
    split_path = str(tmp_path / "splits.json")

    def load(path):
        return [tuple(part) for part in json.loads(open(path).read())]

    return two_camera_split_index("toy", "Toy", str(tmp_path), split_path, load, 4, split_id,
                                  seed, fake_tracklet)


def test_split_file_gives_train_both_cameras_query_cam0_gallery_cam1(tmp_path, caplog):
    (tmp_path / "splits.json").write_text(json.dumps([[[0, 2], [1, 3]], [[1, 3], [0, 2]]]))
    with caplog.at_level(logging.WARNING):
        index = build(tmp_path, split_id=1)
    assert [(t.pid, t.camid) for t in index.train] == [(101, 0), (101, 1), (103, 0), (103, 1)]
    assert [(t.pid, t.camid) for t in index.query] == [(100, 0), (102, 0)]
    assert [(t.pid, t.camid) for t in index.gallery] == [(100, 1), (102, 1)]
    assert index.name == "toy" and index.split_info == {
        "split_id": 1, "num_splits": 2, "source": str(tmp_path / "splits.json"),
        "generated": False, "seed": None}
    assert caplog.records == []
    with pytest.raises(ValueError, match=r"split_id=2 out of range: .*splits\.json has 2 splits"):
        build(tmp_path, split_id=2)


def test_absent_split_file_generates_seeded_splits_and_says_so(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        a = build(tmp_path, split_id=9, seed=3)
    assert "Toy split file" in caplog.text and "splits.json" in caplog.text
    assert a.split_info["generated"] is True and a.split_info["seed"] == 3
    assert a.split_info["num_splits"] == 10
    assert [t.pid for t in a.train] == [t.pid for t in build(tmp_path, split_id=9, seed=3).train]
    assert {t.pid for t in a.query} == {t.pid for t in a.gallery}
    assert len({t.pid for t in a.train} | {t.pid for t in a.query}) == 4
    with pytest.raises(ValueError, match="the generated Toy splits has 10 splits"):
        build(tmp_path, split_id=10)


def test_png_tracklet_names_a_missing_or_empty_directory(tmp_path):
    with pytest.raises(DatasetFormatError, match=r"missing Toy frame directory.*person_0001"):
        png_tracklet(str(tmp_path / "person_0001"), 1, 0, "person_0001", "Toy")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "notes.txt").write_text("")
    with pytest.raises(DatasetFormatError, match=r"'.*p' holds no \.png frames"):
        png_tracklet(str(tmp_path / "p"), 1, 0, "p", "Toy")
    (tmp_path / "p" / "2.png").write_bytes(b"")
    (tmp_path / "p" / "10.png").write_bytes(b"")
    t = png_tracklet(str(tmp_path / "p"), 7, 1, "p", "Toy")
    assert [f.rsplit("/", 1)[1] for f in t.frames] == ["2.png", "10.png"]
    assert (t.pid, t.camid, t.meta) == (7, 1, {"person": "p"})
