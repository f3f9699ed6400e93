import os
import shutil

import numpy as np
import pytest
import scipy.io as sio

from vreid.data.index import DatasetFormatError
from vreid.data.readers import read_dataset, read_ilids_vid

PERSONS = [1, 2, 4, 7, 10, 11]
SPLIT = os.path.join("train-test people splits", "train_test_splits_ilidsvid.mat")


def test_split_from_file(make_ilids):
    root = make_ilids()
    index = read_dataset("ilids-vid", root)
    # split 0 row is [1..6]: first half TEST, second half TRAIN (Wang et al. ECCV'14)
    assert [(t.pid, t.camid) for t in index.train] == [(7, 0), (7, 1), (10, 0), (10, 1), (11, 0), (11, 1)]
    assert [(t.pid, t.camid) for t in index.query] == [(1, 0), (2, 0), (4, 0)]
    assert [(t.pid, t.camid) for t in index.gallery] == [(1, 1), (2, 1), (4, 1)]
    assert index.split_info["generated"] is False
    assert index.split_info["source"].endswith("train_test_splits_ilidsvid.mat")
    frames = index.query[0].frames
    assert [os.path.basename(f) for f in frames] == [
        "cam1_person001_00045.png", "cam1_person001_00100.png", "cam1_person001_00317.png"
    ]
    assert os.path.dirname(frames[0]) == os.path.join(str(root), "i-LIDS-VID", "sequences", "cam1", "person001")


def test_split_id_selects_row(make_ilids):
    root = make_ilids()
    index = read_ilids_vid(root, split_id=1)
    # row 1 is the rotation [6,1,2,3,4,5] -> test persons 11, 1, 2 (first half), train 4, 7, 10
    assert sorted({t.pid for t in index.train}) == [4, 7, 10]
    assert [t.pid for t in index.query] == [11, 1, 2]
    assert index.split_info["split_id"] == 1
    with pytest.raises(ValueError, match="split_id=10"):
        read_ilids_vid(root, split_id=10)


def test_generated_splits_are_deterministic(make_ilids):
    root = make_ilids(split_file=False)
    a = read_ilids_vid(root, split_id=3)
    b = read_ilids_vid(root, split_id=3)
    assert a.split_info["generated"] is True and a.split_info["source"] == "generated"
    assert [t.pid for t in a.train] == [t.pid for t in b.train]
    train, test = {t.pid for t in a.train}, {t.pid for t in a.query}
    assert len(train) == len(test) == 3 and not train & test and train | test == set(PERSONS)
    assert {t.pid for t in a.gallery} == test
    all_splits = {tuple(sorted({t.pid for t in read_ilids_vid(root, split_id=k).train})) for k in range(10)}
    assert len(all_splits) > 1
    other_seed = [tuple(sorted({t.pid for t in read_ilids_vid(root, split_id=k, seed=1).train})) for k in range(10)]
    same_seed = [tuple(sorted({t.pid for t in read_ilids_vid(root, split_id=k).train})) for k in range(10)]
    assert other_seed != same_seed


def test_missing_sequences(make_ilids):
    root = make_ilids()
    shutil.rmtree(root / "i-LIDS-VID" / "sequences" / "cam2")
    with pytest.raises(DatasetFormatError, match=r"cam2"):
        read_ilids_vid(root)


def test_missing_person_in_cam2(make_ilids):
    root = make_ilids()
    shutil.rmtree(root / "i-LIDS-VID" / "sequences" / "cam2" / "person010")
    with pytest.raises(DatasetFormatError,
                       match=r"person 10 \(person010\) has no directory in .*cam2'.*both cameras"):
        read_ilids_vid(root)


def test_split_file_without_key(make_ilids):
    root = make_ilids()
    sio.savemat(root / SPLIT, {"ts_set": np.ones((10, 6))})
    with pytest.raises(DatasetFormatError, match=r"train_test_splits_ilidsvid\.mat.*'ls_set'"):
        read_ilids_vid(root)


def test_split_index_out_of_range(make_ilids):
    root = make_ilids()
    ls_set = sio.loadmat(root / SPLIT)["ls_set"]
    ls_set[2, 4] = 7
    sio.savemat(root / SPLIT, {"ls_set": ls_set})
    with pytest.raises(DatasetFormatError, match=r"train_test_splits_ilidsvid\.mat.*row 3.*7 out of range"):
        read_ilids_vid(root)


def test_empty_person_directory(make_ilids):
    root = make_ilids()
    pdir = root / "i-LIDS-VID" / "sequences" / "cam1" / "person002"
    for f in pdir.iterdir():
        f.unlink()
    with pytest.raises(DatasetFormatError, match=r"person002.*no \.png frames"):
        read_ilids_vid(root)


def test_public_layout_first_half_is_test(tmp_path, make_ilids):
    """A hand-written ls_set in the public layout (known, unsorted 1-based ids, 10 rows):
    the first half of each row is test, the second half train (Wang et al. ECCV'14)."""
    root = make_ilids(split_file=False)
    rows = np.array([[5, 3, 1, 6, 2, 4]] * 10, dtype=float)  # positions -> pids 10, 4, 1 | 11, 2, 7
    sdir = root / "train-test people splits"
    sdir.mkdir(parents=True, exist_ok=True)
    sio.savemat(sdir / "train_test_splits_ilidsvid.mat", {"ls_set": rows})
    index = read_ilids_vid(root, split_id=3)
    assert [t.pid for t in index.query] == [10, 4, 1]
    assert [t.pid for t in index.gallery] == [10, 4, 1]
    assert sorted({t.pid for t in index.train}) == [2, 7, 11]


# ------------------------------------------------------ invariants (issue 15, item 1)


def test_person_only_in_cam2_is_an_error(make_ilids, image_writer):
    root = make_ilids()
    image_writer(root / "i-LIDS-VID" / "sequences" / "cam2" / "person099" / "a_00001.png")
    with pytest.raises(DatasetFormatError, match=r"person 99 \(person099\) has no directory in .*cam1'"):
        read_ilids_vid(root)


@pytest.mark.parametrize("cam", ["cam1", "cam2"])
def test_badly_named_person_directory_is_an_error(make_ilids, cam):
    root = make_ilids()
    (root / "i-LIDS-VID" / "sequences" / cam / "notes").mkdir()
    with pytest.raises(DatasetFormatError, match=rf"{cam}.notes'? is not named personNNN"):
        read_ilids_vid(root)


def test_two_directories_of_one_person_is_an_error(make_ilids, image_writer):
    root = make_ilids()
    image_writer(root / "i-LIDS-VID" / "sequences" / "cam1" / "person7" / "a_00001.png")
    with pytest.raises(DatasetFormatError, match=r"cam1.person007'? and 'person7' are the same person 7"):
        read_ilids_vid(root)


def test_repeated_index_in_a_split_row_is_an_error(make_ilids):
    """A repeat puts one person in train and test (or twice in test)."""
    root = make_ilids()
    ls_set = sio.loadmat(root / SPLIT)["ls_set"]
    ls_set[4, 5] = ls_set[4, 0]
    sio.savemat(root / SPLIT, {"ls_set": ls_set})
    with pytest.raises(DatasetFormatError,
                       match=r"train_test_splits_ilidsvid\.mat' ls_set row 5 column 6: person index \d repeats column 1"):
        read_ilids_vid(root)


def test_odd_split_row_is_an_error(make_ilids):
    root = make_ilids()
    sio.savemat(root / SPLIT, {"ls_set": sio.loadmat(root / SPLIT)["ls_set"][:, :5]})
    with pytest.raises(DatasetFormatError, match=r"ls_set.*even number of persons.*\(10, 5\)"):
        read_ilids_vid(root)


def test_non_integer_split_entry_is_an_error(make_ilids):
    root = make_ilids()
    ls_set = sio.loadmat(root / SPLIT)["ls_set"].astype(float)
    ls_set[0, 0] = 1.5
    sio.savemat(root / SPLIT, {"ls_set": ls_set})
    with pytest.raises(DatasetFormatError, match=r"train_test_splits_ilidsvid\.mat.*non-integer"):
        read_ilids_vid(root)

