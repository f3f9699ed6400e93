import os
import shutil

import numpy as np
import pytest
import scipy.io as sio

from vreid.data.index import DatasetFormatError
from vreid.data.readers import read_dataset, read_mars


def test_reads_splits(make_mars):
    root = make_mars()
    index = read_dataset("mars", root)
    assert index.name == "mars"
    assert [(t.pid, t.camid, len(t.frames)) for t in index.train] == [(1, 0, 3), (1, 1, 2), (2, 0, 2)]
    assert [(t.pid, t.camid) for t in index.query] == [(3, 0), (4, 2)]
    # all other test rows, junk (pid -1) skipped, distractor (pid 0) kept
    assert [(t.pid, t.camid) for t in index.gallery] == [(3, 1), (4, 0), (0, 1)]
    first = index.train[0].frames
    assert first == tuple(
        os.path.join(str(root), "bbox_train", "0001", f"0001C1T0001F{f:03d}.jpg") for f in (1, 2, 3)
    )
    assert all(os.path.exists(f) for t in index.gallery for f in t.frames)
    assert index.num_cams == 3


def test_query_idx_as_column(make_mars):
    index = read_mars(make_mars(query_column=True))
    assert [(t.pid, t.camid) for t in index.query] == [(3, 0), (4, 2)]


@pytest.mark.parametrize(
    "name", ["train_name.txt", "test_name.txt", "tracks_train_info.mat", "tracks_test_info.mat", "query_IDX.mat"]
)
def test_missing_info_file(make_mars, name):
    root = make_mars()
    os.remove(root / "info" / name)
    with pytest.raises(DatasetFormatError, match=name.replace(".", r"\.")):
        read_mars(root)


def test_missing_frame_directory(make_mars):
    root = make_mars()
    shutil.rmtree(root / "bbox_test" / "0004")
    with pytest.raises(DatasetFormatError, match=r"missing frame directory.*bbox_test.0004"):
        read_mars(root)


def test_missing_bbox_dir(make_mars):
    root = make_mars()
    shutil.rmtree(root / "bbox_train")
    with pytest.raises(DatasetFormatError, match="bbox_train"):
        read_mars(root)


def test_mat_without_key(make_mars):
    root = make_mars()
    sio.savemat(root / "info" / "tracks_test_info.mat", {"something_else": np.ones((2, 4))})
    with pytest.raises(DatasetFormatError, match=r"tracks_test_info\.mat.*'track_test_info'"):
        read_mars(root)


def test_mat_wrong_columns(make_mars):
    root = make_mars()
    info = sio.loadmat(root / "info" / "tracks_train_info.mat")["track_train_info"]
    sio.savemat(root / "info" / "tracks_train_info.mat", {"track_train_info": info[:, :3]})
    with pytest.raises(DatasetFormatError, match=r"tracks_train_info\.mat.*N x 4"):
        read_mars(root)


def test_unparsable_name(make_mars):
    root = make_mars()
    path = root / "info" / "test_name.txt"
    lines = path.read_text().split()
    lines[3] = "garbage.jpg"
    path.write_text("\n".join(lines))
    with pytest.raises(DatasetFormatError, match=r"test_name\.txt.*line 4.*garbage\.jpg"):
        read_mars(root)


def test_start_end_out_of_range(make_mars):
    root = make_mars()
    info = sio.loadmat(root / "info" / "tracks_test_info.mat")["track_test_info"]
    info[2, 1] = 99
    sio.savemat(root / "info" / "tracks_test_info.mat", {"track_test_info": info})
    with pytest.raises(DatasetFormatError, match=r"tracks_test_info\.mat.*row 3.*out of range"):
        read_mars(root)


def test_name_disagrees_with_row(make_mars):
    root = make_mars()
    info = sio.loadmat(root / "info" / "tracks_train_info.mat")["track_train_info"]
    info[1, 3] = 5  # camera 5, but the names say C2
    sio.savemat(root / "info" / "tracks_train_info.mat", {"track_train_info": info})
    with pytest.raises(DatasetFormatError, match=r"tracks_train_info\.mat.*row 2.*train_name\.txt.*line 4"):
        read_mars(root)


def test_query_idx_out_of_range(make_mars):
    root = make_mars()
    sio.savemat(root / "info" / "query_IDX.mat", {"query_IDX": np.array([[1, 7]], dtype=float)})
    with pytest.raises(DatasetFormatError, match=r"query_IDX\.mat.*7 out of range"):
        read_mars(root)


def test_corrupt_mat(make_mars):
    root = make_mars()
    (root / "info" / "query_IDX.mat").write_bytes(b"not a mat file at all")
    with pytest.raises(DatasetFormatError, match=r"query_IDX\.mat"):
        read_mars(root)


def test_large_index(tmp_path):
    """~150k names / 2.5k tracklets (speed is measured in benchmarks/, not asserted here)."""
    root = tmp_path / "MARS"
    (root / "info").mkdir(parents=True)
    for split, ntrack, pid0 in (("train", 1000, 1), ("test", 1500, 2000)):
        names, info = [], []
        for t in range(ntrack):
            pid, cam = pid0 + t % 300, 1 + t % 6
            start = len(names) + 1
            names.extend(f"{pid:04d}C{cam}T{t:04d}F{f:03d}.jpg" for f in range(1, 61))
            info.append([start, len(names), pid, cam])
        for pid in range(pid0, pid0 + 300):
            (root / f"bbox_{split}" / f"{pid:04d}").mkdir(parents=True)
        (root / "info" / f"{split}_name.txt").write_text("\n".join(names))
        sio.savemat(root / "info" / f"tracks_{split}_info.mat", {f"track_{split}_info": np.array(info)})
    sio.savemat(root / "info" / "query_IDX.mat", {"query_IDX": np.arange(1, 301)})
    index = read_mars(root)
    assert (len(index.train), len(index.query), len(index.gallery)) == (1000, 300, 1200)
