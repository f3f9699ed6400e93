import os
import shutil

import pytest

from vreid.data.index import DatasetFormatError
from vreid.data.readers import read_dataset, read_duke_video


def _frame_numbers(tracklet):
    return [int(os.path.basename(f).split("_F")[1].split("_")[0]) for f in tracklet.frames]


def test_reads_splits(make_duke):
    root = make_duke()
    index = read_dataset("duke-video", root)
    assert index.name == "duke-video"
    # empty tracklet folder 0002/0005 is skipped
    assert [(t.pid, t.camid, t.meta["tracklet"]) for t in index.train] == [
        (1, 0, "0001"), (1, 1, "0002"), (2, 2, "0006")
    ]
    assert [(t.pid, t.camid) for t in index.query] == [(3, 1)]
    assert [(t.pid, t.camid) for t in index.gallery] == [(3, 4), (4, 7)]
    # numeric F order, not lexicographic (F10000 after F9999); Thumbs.db ignored
    assert _frame_numbers(index.train[0]) == [9998, 9999, 10000]
    assert _frame_numbers(index.train[1]) == [3, 4, 5]
    assert _frame_numbers(index.gallery[0]) == [69, 70]
    assert all(f.startswith(os.path.join(str(root), "train", "0001", "0001")) for f in index.train[0].frames)


@pytest.mark.parametrize("split", ["train", "query", "gallery"])
def test_missing_split_directory(make_duke, split):
    root = make_duke()
    shutil.rmtree(root / split)
    with pytest.raises(DatasetFormatError, match=rf"DukeMTMC-VideoReID {split} directory.*{split}'"):
        read_duke_video(root)


def test_unparsable_frame(make_duke, image_writer):
    root = make_duke()
    image_writer(root / "query" / "0003" / "0001" / "frame_001.jpg")
    with pytest.raises(DatasetFormatError, match=r"frame_001\.jpg.*does not parse"):
        read_duke_video(root)


def test_frame_pid_disagrees_with_folder(make_duke, image_writer):
    root = make_duke()
    image_writer(root / "gallery" / "0004" / "0001" / "0005_C8_F0002_X00002.jpg")
    with pytest.raises(DatasetFormatError, match=r"0005_C8_F0002_X00002\.jpg.*pid 5.*pid 4"):
        read_duke_video(root)


def test_mixed_cameras(make_duke, image_writer):
    root = make_duke()
    image_writer(root / "gallery" / "0004" / "0001" / "0004_C2_F0002_X00002.jpg")
    with pytest.raises(DatasetFormatError, match=r"0001'? mixes cameras"):
        read_duke_video(root)


def test_non_numeric_pid_folder(make_duke):
    root = make_duke()
    (root / "train" / "abc").mkdir()
    with pytest.raises(DatasetFormatError, match=r"train.abc"):
        read_duke_video(root)


# ------------------------------------------------------ invariants (issue 15, item 1)


def test_non_numeric_tracklet_folder_is_an_error(make_duke):
    root = make_duke()
    (root / "gallery" / "0004" / "extra").mkdir()
    with pytest.raises(DatasetFormatError, match=r"gallery.0004.extra'? is not a <tracklet id> folder"):
        read_duke_video(root)


@pytest.mark.parametrize("cam", [0, 9])
def test_camera_out_of_range_is_an_error(make_duke, image_writer, cam):
    root = make_duke()
    shutil.rmtree(root / "query" / "0003" / "0001")
    image_writer(root / "query" / "0003" / "0001" / f"0003_C{cam}_F0001_X00001.jpg")
    with pytest.raises(DatasetFormatError, match=rf"query.0003.0001'?: camera C{cam} is"):
        read_duke_video(root)


def test_repeated_frame_number_is_an_error(make_duke, image_writer):
    root = make_duke()
    image_writer(root / "query" / "0003" / "0001" / "0003_C2_F0040_X00099.jpg")
    with pytest.raises(DatasetFormatError, match=r"query.0003.0001'?: frames .* same frame number F40"):
        read_duke_video(root)
