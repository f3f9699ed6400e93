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
