import json
import os
import shutil

import pytest

from vreid.data.index import DatasetFormatError
from vreid.data.readers import read_dataset, read_prid2011

COMMON = [1, 2, 3, 4, 5, 6]


def test_split_from_file(make_prid):
    root = make_prid()
    index = read_dataset("prid2011", root)
    # split 0: train = even persons, test = odd persons
    assert [(t.pid, t.camid) for t in index.train] == [(2, 0), (2, 1), (4, 0), (4, 1), (6, 0), (6, 1)]
    assert [(t.pid, t.camid) for t in index.query] == [(1, 0), (3, 0), (5, 0)]
    assert [(t.pid, t.camid) for t in index.gallery] == [(1, 1), (3, 1), (5, 1)]
    assert index.split_info["generated"] is False
    frames = index.query[0].frames
    assert frames == tuple(
        os.path.join(str(root), "prid_2011", "multi_shot", "cam_a", "person_0001", f"{f:04d}.png") for f in (1, 2, 10)
    )


def test_split_id_and_directory_names(make_prid):
    splits = [{"train": ["person_0001", "person_0002", "person_0003"], "test": ["person_0004", "person_0005", "person_0006"]}] * 2
    splits[1] = {"train": [4, 5, 6], "test": [1, 2, 3]}
    root = make_prid(splits=splits)
    assert [t.pid for t in read_prid2011(root, split_id=0).query] == [4, 5, 6]
    assert [t.pid for t in read_prid2011(root, split_id=1).query] == [1, 2, 3]
    with pytest.raises(ValueError, match="split_id=2"):
        read_prid2011(root, split_id=2)


def test_generated_splits_only_two_camera_persons(make_prid):
    root = make_prid(splits=None)
    a = read_prid2011(root, split_id=4)
    b = read_prid2011(root, split_id=4)
    assert a.split_info["generated"] is True
    assert [t.pid for t in a.train] == [t.pid for t in b.train]
    train, test = {t.pid for t in a.train}, {t.pid for t in a.query}
    # persons 7, 8 (cam_a only) and 9 (cam_b only) never take part
    assert len(train) == len(test) == 3 and train | test == set(COMMON) and not train & test
    splits = {tuple(sorted({t.pid for t in read_prid2011(root, split_id=k).train})) for k in range(10)}
    assert len(splits) > 1


def test_generated_splits_keep_persons_with_more_than_21_frames_in_both_cameras(make_prid):
    # paper 002 sec. 4 / Wang et al. ECCV'14: sequences of <= 21 frames are discarded
    root = make_prid(splits=None, frames={("cam_a", 2): 21, ("cam_b", 5): 3, ("cam_a", 3): 22})
    for k in range(10):
        index = read_prid2011(root, split_id=k)
        persons = {t.pid for t in index.train} | {t.pid for t in index.query}
        assert persons == {1, 3, 4, 6}
        assert {t.pid for t in index.gallery} == {t.pid for t in index.query}
    assert len(read_prid2011(root).query[0].frames) == 22


def test_generated_splits_without_long_enough_persons(make_prid):
    root = make_prid(splits=None, frames={("cam_b", p): 21 for p in COMMON})
    with pytest.raises(DatasetFormatError, match=r"more than 21 frames in both cameras"):
        read_prid2011(root)


def test_split_file_keeps_short_persons(make_prid):
    # with a split file, the file decides who takes part: no frame-count filter
    root = make_prid(frames={("cam_a", 1): 3})
    assert [t.pid for t in read_prid2011(root).query] == [1, 3, 5]


def test_split_names_person_missing_from_cam_b(make_prid):
    root = make_prid(splits=[{"train": [1, 2, 7], "test": [4, 5, 6]}])
    with pytest.raises(DatasetFormatError, match=r"splits_prid2011\.json.*person 7.*both"):
        read_prid2011(root)


def test_split_file_malformed(make_prid):
    root = make_prid()
    (root / "splits_prid2011.json").write_text("{not json")
    with pytest.raises(DatasetFormatError, match=r"splits_prid2011\.json.*not valid JSON"):
        read_prid2011(root)
    (root / "splits_prid2011.json").write_text(json.dumps([{"train": [1, 2]}]))
    with pytest.raises(DatasetFormatError, match=r"splits_prid2011\.json.*split 0.*'test'"):
        read_prid2011(root)
    (root / "splits_prid2011.json").write_text(json.dumps([{"train": [1, 2], "test": [2, 3]}]))
    with pytest.raises(DatasetFormatError, match=r"splits_prid2011\.json.*both train and test"):
        read_prid2011(root)


def test_missing_camera_directory(make_prid):
    root = make_prid()
    shutil.rmtree(root / "prid_2011" / "multi_shot" / "cam_b")
    with pytest.raises(DatasetFormatError, match=r"cam_b"):
        read_prid2011(root)


def test_empty_person_directory(make_prid):
    root = make_prid()
    pdir = root / "prid_2011" / "multi_shot" / "cam_b" / "person_0003"
    for f in pdir.iterdir():
        f.unlink()
    with pytest.raises(DatasetFormatError, match=r"person_0003.*no \.png frames"):
        read_prid2011(root)


# ------------------------------------------------------ invariants (issue 15, item 1)


@pytest.mark.parametrize("part", ["train", "test"])
def test_person_twice_in_one_list_is_an_error(make_prid, part):
    """A repeated test person would be scored as two queries."""
    split = {"train": [1, 2, 3], "test": [4, 5, 6]}
    split[part] = split[part] + [f"person_{split[part][0]:04d}"]  # same person, other spelling
    root = make_prid(splits=[split])
    with pytest.raises(DatasetFormatError,
                       match=rf"splits_prid2011\.json' split 0 '{part}' entry 4: person \d repeats entry 1"):
        read_prid2011(root)


@pytest.mark.parametrize("entry", [1.0, True, None, "p1"])
def test_split_entry_of_the_wrong_type_is_an_error(make_prid, entry):
    root = make_prid(splits=[{"train": [entry, 2, 3], "test": [4, 5, 6]}])
    with pytest.raises(DatasetFormatError, match=r"splits_prid2011\.json.*split 0 'train' entry .* neither"):
        read_prid2011(root)


def test_empty_split_list_or_part_is_an_error(make_prid):
    root = make_prid(splits=[{"train": [1, 2, 3], "test": [4, 5, 6]}])
    (root / "splits_prid2011.json").write_text("[]")
    with pytest.raises(DatasetFormatError, match=r"splits_prid2011\.json.*non-empty list of splits"):
        read_prid2011(root)
    (root / "splits_prid2011.json").write_text(json.dumps([{"train": [1], "test": []}]))
    with pytest.raises(DatasetFormatError, match=r"splits_prid2011\.json.*split 0 'test' must be a non-empty"):
        read_prid2011(root)


@pytest.mark.parametrize("cam", ["cam_a", "cam_b"])
def test_two_directories_of_one_person_is_an_error(make_prid, image_writer, cam):
    root = make_prid()
    image_writer(root / "prid_2011" / "multi_shot" / cam / "person_3" / "0001.png")
    with pytest.raises(DatasetFormatError, match=rf"{cam}.person_0*3' and 'person_0*3' are the same person 3"):
        read_prid2011(root)


def test_badly_named_person_directory_is_an_error(make_prid):
    root = make_prid()
    (root / "prid_2011" / "multi_shot" / "cam_b" / "person-9").mkdir()
    with pytest.raises(DatasetFormatError, match=r"cam_b.person-9'? is not named person_NNNN"):
        read_prid2011(root)


def test_no_person_in_both_cameras_is_an_error(make_prid):
    root = make_prid()
    for p in (1, 2, 3, 4, 5, 6):
        shutil.rmtree(root / "prid_2011" / "multi_shot" / "cam_b" / f"person_{p:04d}")
    with pytest.raises(DatasetFormatError, match=r"no person present in both .*cam_a'.*cam_b'"):
        read_prid2011(root)
