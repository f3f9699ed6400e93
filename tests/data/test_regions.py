import pytest
import torch

from vreid.data.regions import (LIP_CLASSES, REGION_CLASSES, REGION_NAMES, region_masks,
                                region_masks_from_logits, region_matrix)
from vreid.data.synth import LIP_CLASSES as SYNTH_LIP_CLASSES


def test_class_order_matches_the_generator():
    assert LIP_CLASSES is SYNTH_LIP_CLASSES and len(LIP_CLASSES) == 20


def test_grouping():
    names = {r: {LIP_CLASSES[c] for c in REGION_CLASSES[r]} for r in REGION_NAMES}
    assert names["foreground"] == set(LIP_CLASSES) - {"Background"}
    assert {"Hat", "Hair", "Face", "UpperClothes", "Coat", "Left-arm", "Right-arm"} <= names["upper_body"]
    assert {"Pants", "Skirt", "Left-leg", "Right-leg", "Left-shoe", "Right-shoe", "Socks"} <= names["lower_body"]
    # garments spanning torso and legs count in both regions (documented choice)
    assert names["upper_body"] & names["lower_body"] == {"Dress", "Jumpsuits"}
    assert names["upper_body"] | names["lower_body"] == names["foreground"]
    assert region_matrix().sum(1).tolist() == [19, 12, 9]


def test_label_map_to_masks():
    labels = torch.tensor([[[0, 2, 9, 255], [6, 18, 14, 0]]])  # [1, 2, 4]
    masks = region_masks(labels)
    assert masks.shape == (1, 3, 2, 4)
    assert masks[0, 0].tolist() == [[0, 1, 1, 0], [1, 1, 1, 0]]
    assert masks[0, 1].tolist() == [[0, 1, 0, 0], [1, 0, 1, 0]]
    assert masks[0, 2].tolist() == [[0, 0, 1, 0], [1, 1, 0, 0]]


def test_probabilities_to_soft_masks():
    torch.manual_seed(0)
    probs = torch.randn(2, 20, 5, 3).softmax(1)
    masks = region_masks(probs)
    assert masks.shape == (2, 3, 5, 3)
    assert torch.allclose(masks[:, 0], 1 - probs[:, 0], atol=1e-6)
    assert torch.allclose(masks[:, 2], probs[:, list(REGION_CLASSES["lower_body"])].sum(1))
    # a hard (one-hot) probability map gives the label-map masks
    labels = torch.randint(0, 20, (2, 5, 3))
    onehot = torch.nn.functional.one_hot(labels, 20).permute(0, 3, 1, 2).float()
    assert torch.equal(region_masks(onehot), region_masks(labels))


def test_rejects_wrong_shapes():
    with pytest.raises(ValueError):
        region_masks(torch.zeros(1, 7, 4, 4))
    with pytest.raises(ValueError):
        region_masks(torch.zeros(1, 1, 4, 4, dtype=torch.long))


def test_masks_from_logits_equal_masks_of_the_softmax():
    logits = torch.randn(2, 20, 5, 3) * 8
    expected = region_masks(torch.softmax(logits, dim=1))
    assert torch.allclose(region_masks_from_logits(logits), expected, atol=1e-6)
    with pytest.raises(ValueError, match="logits must be"):
        region_masks_from_logits(torch.randn(2, 19, 5, 3))
