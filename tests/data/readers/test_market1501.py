import os
import shutil

import pytest

from vreid.data.index import DatasetFormatError
from vreid.data.readers import read_dataset, read_market1501


def test_reads_splits(make_market):
    root = make_market()
    index = read_dataset("market1501", root)
    assert index.name == "market1501"
    assert [(t.pid, t.camid) for t in index.train] == [(2, 0), (2, 1), (7, 2)]
    assert [(t.pid, t.camid) for t in index.query] == [(3, 0), (4, 1)]
    # junk (-1) skipped, distractor 0000 kept, Thumbs.db ignored
    assert sorted((t.pid, t.camid) for t in index.gallery) == [(0, 0), (3, 5), (4, 4)]
    assert all(len(t.frames) == 1 for t in (*index.train, *index.query, *index.gallery))
    assert index.train[0].frames == (os.path.join(str(root), "bounding_box_train", "0002_c1s1_000451_03.jpg"),)
    assert index.num_train_pids == 2


@pytest.mark.parametrize("sub", ["bounding_box_train", "bounding_box_test", "query"])
def test_missing_directory(make_market, sub):
    root = make_market()
    shutil.rmtree(root / sub)
    with pytest.raises(DatasetFormatError, match=sub):
        read_market1501(root)


def test_unparsable_name(make_market, image_writer):
    root = make_market()
    image_writer(root / "query" / "img_0001.jpg")
    with pytest.raises(DatasetFormatError, match=r"img_0001\.jpg.*does not parse"):
        read_market1501(root)


# ------------------------------------------------------ invariants (issue 15, item 1)


@pytest.mark.parametrize("cam", [0, 7])
def test_camera_out_of_range_is_an_error(make_market, image_writer, cam):
    root = make_market()
    image_writer(root / "bounding_box_test" / f"0005_c{cam}s1_000010_01.jpg")
    with pytest.raises(DatasetFormatError, match=rf"0005_c{cam}s1_000010_01\.jpg.*camera c{cam} is outside c1\.\.c6"):
        read_market1501(root)


@pytest.mark.parametrize("other", ["bounding_box_test", "bounding_box_train"])
def test_image_in_two_directories_is_an_error(make_market, other):
    root = make_market()
    shutil.copy(root / "query" / "0003_c1s1_000005_00.jpg", root / other)
    with pytest.raises(DatasetFormatError,
                       match=r"image\(s\) \['0003_c1s1_000005_00\.jpg'\] in both .*(query|bounding_box)"):
        read_market1501(root)


@pytest.mark.parametrize("pid", ["-1", "0000"])
def test_junk_or_distractor_query_is_an_error(make_market, image_writer, pid):
    root = make_market()
    image_writer(root / "query" / f"{pid}_c1s1_000007_00.jpg")
    with pytest.raises(DatasetFormatError, match=rf"query.{pid}_c1s1_000007_00\.jpg.*must show one identity"):
        read_market1501(root)


def test_generated_market_passes_every_check(tmp_path):
    from vreid.data.synth import ImageSetConfig, write_market1501

    write_market1501(tmp_path / "Market-1501", ImageSetConfig(num_train_ids=6, num_test_ids=6), seed=2)
    index = read_market1501(tmp_path / "Market-1501")
    assert index.train and index.query and index.gallery
