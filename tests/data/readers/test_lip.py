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


# ------------------------------------------------------ invariants (issue 15, item 1)

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from vreid.data.readers.lip import IGNORE_LABEL, NUM_CLASSES, check_label_map  # noqa: E402


def test_class_constants_match_the_one_class_list():
    from vreid.data.regions import IGNORE_LABEL as REGIONS_IGNORE, NUM_LIP_CLASSES
    from vreid.data.synth.render import LIP_CLASSES

    assert NUM_CLASSES == len(LIP_CLASSES) == NUM_LIP_CLASSES == 20
    assert IGNORE_LABEL == REGIONS_IGNORE == 255


def test_id_listed_twice_is_an_error(make_lip):
    root = make_lip()
    (root / "TrainVal_images" / "val_id.txt").write_text("10_1\n\n9_2\n10_1.jpg\n")  # lines 1, 3, 4
    with pytest.raises(DatasetFormatError, match=r"val_id\.txt' line 4: id '10_1' repeats line 1"):
        read_lip(root)


def test_empty_id_list_is_an_error(make_lip):
    root = make_lip()
    (root / "TrainVal_images" / "val_id.txt").write_text("\n")
    with pytest.raises(DatasetFormatError, match=r"val_id\.txt' lists no ids"):
        read_lip(root)


@pytest.mark.parametrize("bad", ["../train_images/3_1", "sub/3_1", ".."])
def test_id_with_a_directory_part_is_an_error(make_lip, bad):
    root = make_lip()
    (root / "TrainVal_images" / "train_id.txt").write_text(f"3_1\n{bad}\n")
    with pytest.raises(DatasetFormatError, match=r"train_id\.txt' line 2: id .* must be a bare file name"):
        read_lip(root)


def _label_file(tmp_path, arr, mode=None):
    path = tmp_path / "lab.png"
    Image.fromarray(arr, mode=mode).save(path) if mode else Image.fromarray(arr).save(path)
    with Image.open(path) as lab:
        return np.asarray(lab), lab.mode, str(path)


def test_label_map_of_classes_and_ignore_passes(tmp_path):
    arr = np.array([[0, 19], [255, 5]], np.uint8)
    decoded, mode, path = _label_file(tmp_path, arr)
    assert mode == "L"
    assert check_label_map(decoded, path, mode, image_size=(2, 2)).tolist() == arr.tolist()


def test_16_bit_label_map_is_an_error_not_a_wrap(tmp_path):
    """Issue 15: 256 in a 16-bit map became class 0 through astype(np.uint8)."""
    decoded, mode, path = _label_file(tmp_path, np.array([[0, 256], [1, 2]], np.uint16))
    assert mode.startswith("I")
    with pytest.raises(DatasetFormatError, match=r"lab\.png'?: a label map must be 8-bit .*mode I"):
        check_label_map(decoded, path, mode)
    # even when every value is small, a 16-bit map is refused (bit depth 8)
    decoded, mode, path = _label_file(tmp_path, np.array([[0, 3], [1, 2]], np.uint16))
    with pytest.raises(DatasetFormatError, match=r"must be 8-bit"):
        check_label_map(decoded, path, mode)


@pytest.mark.parametrize("value", [20, 25, 254])
def test_label_value_outside_the_lip_classes_is_an_error(tmp_path, value):
    decoded, mode, path = _label_file(tmp_path, np.array([[0, value], [1, 2]], np.uint8))
    with pytest.raises(DatasetFormatError, match=rf"lab\.png'?: value\(s\) \[{value}\] are not LIP classes"):
        check_label_map(decoded, path, mode)


def test_multi_channel_label_map_is_an_error(tmp_path):
    decoded, mode, path = _label_file(tmp_path, np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(DatasetFormatError, match=r"lab\.png'?: a label map must be single-channel"):
        check_label_map(decoded, path, mode)


def test_label_size_differs_from_image_is_an_error(tmp_path):
    decoded, mode, path = _label_file(tmp_path, np.zeros((3, 2), np.uint8))
    with pytest.raises(DatasetFormatError, match=r"lab\.png' is 2x3 but its image is 4x8"):
        check_label_map(decoded, path, mode, image_size=(4, 8))


def test_line_numbers_count_blank_lines(make_lip):
    root = make_lip()
    (root / "TrainVal_images" / "val_id.txt").write_text("10_1\n\n\nnope\n")
    with pytest.raises(DatasetFormatError, match=r"nope\.jpg.*val_id\.txt' line 4 is missing"):
        read_lip(root)
