import math

import pytest
import torch

from vreid.losses import LOSSES, build_losses
from vreid.losses.segmentation import PixelCrossEntropy


def test_registered_and_consumes_seg_logits():
    assert LOSSES.get("pixel_cross_entropy") is PixelCrossEntropy
    assert PixelCrossEntropy.uses == "seg_logits"


def test_ignores_255_and_averages_labelled_pixels():
    logits = torch.zeros(1, 4, 1, 3)
    logits[0, 2, 0, 0] = 10.0  # confident and right on the first pixel
    labels = torch.tensor([[[2, 1, 255]]])
    loss = PixelCrossEntropy()({"seg_logits": logits}, {"labels": labels})
    first = -torch.log_softmax(logits[0, :, 0, 0], 0)[2]
    assert loss.item() == pytest.approx((first.item() + math.log(4)) / 2, rel=1e-5)


def test_composite_with_model_outputs():
    criterion = build_losses([{"name": "pixel_cross_entropy", "weight": 2.0}])
    logits = torch.randn(2, 20, 8, 4, requires_grad=True)
    labels = torch.randint(0, 20, (2, 8, 4))
    terms = criterion({"seg_logits": logits}, {"labels": labels})
    assert terms["total"].item() == pytest.approx(2 * terms["pixel_cross_entropy"].item())
    terms["total"].backward()
    with pytest.raises(KeyError, match="seg_logits"):
        criterion({"logits": logits}, {"labels": labels})


def test_shape_mismatch():
    with pytest.raises(ValueError):
        PixelCrossEntropy()({"seg_logits": torch.zeros(1, 3, 4, 4)},
                            {"labels": torch.zeros(1, 4, 5, dtype=torch.long)})
