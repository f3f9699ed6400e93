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


def test_find_duplicate_and_require_unique_name_both_positions():
    import numpy as np

    from vreid.data.readers._common import find_duplicate, require_unique

    assert find_duplicate(np.array([3, 1, 2])) is None and find_duplicate(["a", "b"]) is None
    assert find_duplicate(np.array([[4, 7, 9, 7, 4]])) == (1, 3)  # 7 repeats first
    assert find_duplicate(["x", "y", "y", "x"]) == (1, 2)
    with pytest.raises(DatasetFormatError, match=r"'f\.txt' line 3: name 'y' repeats line 2"):
        require_unique(["x", "y", "y"], "f.txt", "name")
    with pytest.raises(DatasetFormatError, match=r"'f\.mat' key k entry 2: row 5 repeats entry 1"):
        require_unique(np.array([5, 5]), "f.mat", "row", unit="entry", key="key k")


def test_require_in_range_and_disjoint_name_the_place():
    import numpy as np

    from vreid.data.readers._common import require_disjoint, require_in_range

    require_in_range(np.array([1, 6]), 1, 6, "t.mat", "camid")
    with pytest.raises(DatasetFormatError, match=r"'t\.mat' row 2: camid 7 is outside 1\.\.6"):
        require_in_range(np.array([1, 7, 0]), 1, 6, "t.mat", "camid")
    require_disjoint(["a"], ["b"], "here", "A", "B", "image")
    with pytest.raises(DatasetFormatError, match=r"here: image\(s\) \['b'\] in both A and B"):
        require_disjoint(["a", "b"], ["b"], "here", "A", "B", "image")


def test_person_dirs_refuses_odd_names_and_two_dirs_of_one_person(tmp_path):
    import re

    from vreid.data.readers._common import person_dirs

    pattern = re.compile(r"^person_(\d+)$")
    (tmp_path / "person_0002").mkdir()
    (tmp_path / "person_0010").mkdir()
    assert person_dirs(str(tmp_path), pattern, "person_NNNN") == {2: "person_0002", 10: "person_0010"}
    (tmp_path / "person_2").mkdir()
    with pytest.raises(DatasetFormatError, match=r"directories .*person_0*2' and 'person_0*2' are the same person 2"):
        person_dirs(str(tmp_path), pattern, "person_NNNN")
    (tmp_path / "person_2").rmdir()
    (tmp_path / "misc").mkdir()
    with pytest.raises(DatasetFormatError, match=r"misc'? is not named person_NNNN"):
        person_dirs(str(tmp_path), pattern, "person_NNNN")
