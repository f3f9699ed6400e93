import os

import pytest

from vreid.data.index import DatasetFormatError, ParsingIndex
from vreid.data.readers import read_dataset, read_lip


def test_reads_pairs_in_id_order(make_lip):
    root = make_lip()
    index = read_dataset("lip", root)
    assert isinstance(index, ParsingIndex)
    ids = [os.path.splitext(os.path.basename(s.image))[0] for s in index.train]
    assert ids == ["77_471474", "100034_483681", "3_1"]
    assert [os.path.basename(s.label) for s in index.val] == ["10_1.png", "9_2.png"]
    s = index.train[0]
    assert s.image == os.path.join(str(root), "TrainVal_images", "train_images", "77_471474.jpg")
    assert s.label == os.path.join(str(root), "TrainVal_parsing_annotations", "train_segmentations", "77_471474.png")


@pytest.mark.parametrize("name", ["train_id.txt", "val_id.txt"])
def test_missing_id_file(make_lip, name):
    root = make_lip()
    os.remove(root / "TrainVal_images" / name)
    with pytest.raises(DatasetFormatError, match=name.replace(".", r"\.")):
        read_lip(root)


def test_listed_image_missing(make_lip):
    root = make_lip()
    os.remove(root / "TrainVal_images" / "val_images" / "9_2.jpg")
    with pytest.raises(DatasetFormatError, match=r"9_2\.jpg.*val_id\.txt.*line 2"):
        read_lip(root)


def test_listed_label_missing(make_lip):
    root = make_lip()
    os.remove(root / "TrainVal_parsing_annotations" / "train_segmentations" / "100034_483681.png")
    with pytest.raises(DatasetFormatError, match=r"100034_483681\.png.*train_id\.txt.*line 2"):
        read_lip(root)


def test_missing_label_directory(make_lip):
    import shutil

    root = make_lip()
    shutil.rmtree(root / "TrainVal_parsing_annotations" / "val_segmentations")
    with pytest.raises(DatasetFormatError, match="val_segmentations"):
        read_lip(root)
