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


# ------------------------------------------------------ invariants (issue 15, item 1)


def _save(root, name, key, arr):
    sio.savemat(root / "info" / name, {key: np.asarray(arr, dtype=float)})


def _info(root, split):
    return sio.loadmat(root / "info" / f"tracks_{split}_info.mat")[f"track_{split}_info"]


def test_repeated_query_entry_is_an_error(make_mars):
    """The issue's case: a repeated query_IDX entry was scored twice (rank-1 16.7 -> 22.2)."""
    root = make_mars()
    _save(root, "query_IDX.mat", "query_IDX", [[1, 3, 1]])
    with pytest.raises(DatasetFormatError,
                       match=r"query_IDX\.mat' entry 3: query row 1 repeats entry 1"):
        read_mars(root)


def test_junk_query_row_is_an_error(make_mars):
    root = make_mars()
    _save(root, "query_IDX.mat", "query_IDX", [[1, 3, 6]])  # row 6 is the junk tracklet
    with pytest.raises(DatasetFormatError, match=r"query_IDX\.mat' entry 3: query row 6 .*junk"):
        read_mars(root)


def test_query_idx_non_integer_is_an_error(make_mars):
    root = make_mars()
    _save(root, "query_IDX.mat", "query_IDX", [[1, 2.5]])
    with pytest.raises(DatasetFormatError, match=r"query_IDX\.mat.*'query_IDX' holds non-integer"):
        read_mars(root)


def test_query_idx_not_numeric_is_an_error(make_mars):
    root = make_mars()
    sio.savemat(root / "info" / "query_IDX.mat", {"query_IDX": np.array(["1", "3"])})
    with pytest.raises(DatasetFormatError, match=r"query_IDX\.mat.*not a non-empty numeric"):
        read_mars(root)


def test_query_idx_wrong_shape_is_an_error(make_mars):
    root = make_mars()
    _save(root, "query_IDX.mat", "query_IDX", [[1, 3], [2, 4]])
    with pytest.raises(DatasetFormatError, match=r"query_IDX\.mat.*1 x Q or Q x 1"):
        read_mars(root)


def test_repeated_track_row_is_an_error(make_mars):
    root = make_mars()
    info = _info(root, "test")
    info = np.vstack([info, info[1:2]])  # row 7 repeats row 2
    _save(root, "tracks_test_info.mat", "track_test_info", info)
    with pytest.raises(DatasetFormatError,
                       match=r"tracks_test_info\.mat' row 7 \(names 3\.\.5\) repeats row 2"):
        read_mars(root)


def test_overlapping_track_rows_are_an_error(make_mars):
    root = make_mars()
    info = _info(root, "train")
    info[1, 0] = 3  # row 2 now starts inside row 1 (names 1..3); names 3 and 4 disagree
    _save(root, "tracks_train_info.mat", "track_train_info", info)
    with pytest.raises(DatasetFormatError,
                       match=r"tracks_train_info\.mat' row 2 \(names 3\.\.5\) overlaps row 1"):
        read_mars(root)


def test_track_camid_out_of_range_is_an_error(make_mars):
    root = make_mars()
    info = _info(root, "test")
    info[3, 3] = 0
    _save(root, "tracks_test_info.mat", "track_test_info", info)
    with pytest.raises(DatasetFormatError, match=r"tracks_test_info\.mat' row 4: camid.* 0 is outside 1\.\.6"):
        read_mars(root)


def test_track_info_non_integer_is_an_error(make_mars):
    root = make_mars()
    info = _info(root, "train").astype(float)
    info[0, 1] = 2.5
    _save(root, "tracks_train_info.mat", "track_train_info", info)
    with pytest.raises(DatasetFormatError, match=r"tracks_train_info\.mat.*non-integer"):
        read_mars(root)


def test_repeated_name_is_an_error(make_mars):
    root = make_mars()
    path = root / "info" / "train_name.txt"
    lines = path.read_text().split()
    lines[2] = lines[1]  # line 3 repeats line 2 (same pid and camera: only uniqueness catches it)
    path.write_text("\n".join(lines))
    with pytest.raises(DatasetFormatError,
                       match=r"train_name\.txt' line 3: name '0001C1T0001F002\.jpg' repeats line 2"):
        read_mars(root)


def test_name_camera_out_of_range_is_an_error(make_mars):
    root = make_mars()
    path = root / "info" / "test_name.txt"
    lines = path.read_text().split()
    lines[0] = lines[0].replace("C1T", "C7T")
    path.write_text("\n".join(lines))
    with pytest.raises(DatasetFormatError, match=r"test_name\.txt' line 1: camera 7 is outside 1\.\.6"):
        read_mars(root)


def test_empty_name_list_is_an_error(make_mars):
    root = make_mars()
    (root / "info" / "train_name.txt").write_text("\n")
    with pytest.raises(DatasetFormatError, match=r"train_name\.txt' is empty"):
        read_mars(root)


def test_generated_mars_passes_every_check(tmp_path):
    from vreid.data.synth import VideoSetConfig, write_mars

    small = VideoSetConfig(num_train_ids=6, num_test_ids=6, frames=(2, 3), num_distractors=3,
                           num_junk=3)
    write_mars(tmp_path / "MARS", small, seed=3)
    index = read_mars(tmp_path / "MARS")
    assert index.query and index.gallery and index.train
    assert len({t.meta["row"] for t in index.query}) == len(index.query)
