import numpy as np
import pytest
import torch
from PIL import Image

from vreid.data.index import DatasetFormatError, ParsingSample
from vreid.data.parsing_dataset import (FlipWithLabelSwap, ParsingDataset, parsing_batch,
                                       swap_left_right)
from vreid.data.readers import read_dataset
from vreid.data.synth import Difficulty, ParsingSetConfig, RenderConfig, write_lip
from vreid.data.transforms import IMAGENET_MEAN, IMAGENET_STD


@pytest.fixture(scope="module")
def lip_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("lip") / "LIP"
    write_lip(root, ParsingSetConfig(num_train=3, num_val=2, height=(64, 80), width=(32, 40)),
              RenderConfig(), Difficulty(), seed=1)
    return root


def _pair(tmp_path, label: np.ndarray) -> ParsingSample:
    """An image whose red channel encodes the column, and its label map."""
    h, w = label.shape
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0] = np.arange(w, dtype=np.uint8)[None] * 20
    Image.fromarray(rgb).save(tmp_path / "img.png")
    Image.fromarray(label.astype(np.uint8)).save(tmp_path / "lab.png")
    return ParsingSample(image=str(tmp_path / "img.png"), label=str(tmp_path / "lab.png"))


def test_items_from_the_lip_reader(lip_root):
    index = read_dataset("lip", lip_root)
    ds = ParsingDataset(index.train, 48, 24, train=True)
    assert len(ds) == 3
    image, label, extra = ds[0]
    assert image.dtype == torch.float32 and image.shape == (3, 48, 24)
    assert label.dtype == torch.long and label.shape == (48, 24)
    assert extra == 0 and int(label.max()) < 20 and int(label.min()) >= 0
    assert type(image) is torch.Tensor and type(label) is torch.Tensor
    batch = parsing_batch([ds[0], ds[1]])  # the trainer's batch dict
    assert set(batch) == {"images", "labels"}
    assert batch["images"].shape == (2, 3, 48, 24) and batch["labels"].shape == (2, 48, 24)


def test_resize_keeps_label_values_nearest(tmp_path):
    label = np.zeros((8, 4), np.uint8)
    label[:4, :2], label[4:, 2:] = 5, 255
    image, resized, _ = ParsingDataset([_pair(tmp_path, label)], 16, 8, train=False)[0]
    assert set(resized.unique().tolist()) == {0, 5, 255}
    assert resized[:8, :4].eq(5).all() and resized[8:, 4:].eq(255).all()
    mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
    std = torch.tensor(IMAGENET_STD)[:, None, None]
    assert (image * std + mean).min() >= -1e-5 and (image * std + mean).max() <= 1 + 1e-5


def test_swap_left_right():
    label = torch.tensor([0, 5, 14, 15, 16, 17, 18, 19, 255], dtype=torch.uint8)
    assert swap_left_right(label).tolist() == [0, 5, 15, 14, 17, 16, 19, 18, 255]


def test_flip_mirrors_and_swaps_left_right_classes(tmp_path):
    label = np.array([[14, 14, 0, 15], [16, 0, 17, 17], [18, 5, 5, 19]], np.uint8)
    sample = _pair(tmp_path, label)
    plain = ParsingDataset([sample], 3, 4, train=False)[0]
    flipped = ParsingDataset([sample], 3, 4, train=True, flip=1.0)[0]
    expected = torch.tensor([[14, 0, 15, 15], [16, 16, 0, 17], [18, 5, 5, 19]])
    assert torch.equal(flipped[1], expected)
    assert torch.equal(flipped[0], plain[0].flip(-1))  # the image is mirrored too
    never = ParsingDataset([sample], 3, 4, train=True, flip=0.0)[0]
    assert torch.equal(never[1], plain[1])


def test_flip_probability_uses_torch_rng():
    t = FlipWithLabelSwap(0.5)
    from torchvision import tv_tensors
    img = tv_tensors.Image(torch.arange(6, dtype=torch.uint8).view(1, 2, 3))
    lab = tv_tensors.Mask(torch.tensor([[14, 0, 0], [0, 0, 15]], dtype=torch.uint8))
    torch.manual_seed(0)
    first = [bool(t(img, lab)[1][0, 0] != 14) for _ in range(20)]
    torch.manual_seed(0)
    again = [bool(t(img, lab)[1][0, 0] != 14) for _ in range(20)]
    assert first == again and 0 < sum(first) < 20


# ------------------------------------------------------ invariants (issue 15, item 1)


def test_16_bit_label_is_an_error_naming_the_file(tmp_path):
    """Issue 15: a 16-bit label wrapped through astype(np.uint8) (256 -> class 0)."""
    sample = _pair(tmp_path, np.zeros((8, 4), np.uint8))
    Image.fromarray(np.full((8, 4), 256, np.uint16)).save(sample.label)
    with pytest.raises(DatasetFormatError, match=r"lab\.png'?: a label map must be 8-bit"):
        ParsingDataset([sample], 16, 8, train=False)[0]


def test_label_outside_the_lip_classes_is_an_error_naming_the_file(tmp_path):
    label = np.zeros((8, 4), np.uint8)
    label[2, 1] = 25
    with pytest.raises(DatasetFormatError, match=r"lab\.png'?: value\(s\) \[25\] are not LIP classes"):
        ParsingDataset([_pair(tmp_path, label)], 16, 8, train=False)[0]


def test_label_of_another_size_is_an_error_naming_the_file(tmp_path):
    sample = _pair(tmp_path, np.zeros((8, 4), np.uint8))
    Image.fromarray(np.zeros((8, 5), np.uint8)).save(sample.label)
    with pytest.raises(DatasetFormatError, match=r"lab\.png' is 5x8 but its image is 4x8"):
        ParsingDataset([sample], 16, 8, train=False)[0]
