import json
import math

import numpy as np
import pytest
import torch

from vreid.eval.segmentation import confusion_matrix, evaluate_segmentation, segmentation_scores


def test_hand_made_case():
    # 4 classes; class 3 is absent from prediction and ground truth; 255 is ignored
    target = torch.tensor([[0, 0, 0, 1], [1, 2, 2, 255]])
    pred = torch.tensor([[0, 0, 1, 1], [2, 2, 0, 3]])
    conf = confusion_matrix(pred, target, 4)
    assert conf.tolist() == [[2, 1, 0, 0], [0, 1, 1, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    s = segmentation_scores(conf)
    assert s.pixel_acc == pytest.approx(4 / 7)
    assert s.mean_acc == pytest.approx((2 / 3 + 1 / 2 + 1 / 2) / 3)
    # IoU: class0 2/(3+3-2)=1/2, class1 1/(2+2-1)=1/3, class2 1/(2+2-1)=1/3, class3 absent
    assert s.per_class_iou[:3] == pytest.approx([1 / 2, 1 / 3, 1 / 3])
    assert math.isnan(s.per_class_iou[3])
    assert s.mean_iou == pytest.approx((1 / 2 + 1 / 3 + 1 / 3) / 3)
    d = s.to_dict(("a", "b", "c", "d"))
    assert d["per_class_iou"]["d"] is None and json.dumps(d)


def test_class_only_predicted_counts_with_zero_iou():
    conf = confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 0]), 3)
    s = segmentation_scores(conf)
    assert s.per_class_iou[1] == 0.0 and math.isnan(s.per_class_iou[2])
    assert s.mean_iou == pytest.approx((1 / 2 + 0) / 2)
    assert s.mean_acc == pytest.approx(1 / 2)  # only class 0 is in the ground truth


def test_perfect_and_errors():
    t = torch.randint(0, 5, (3, 7, 4))
    s = segmentation_scores(confusion_matrix(t, t, 5))
    assert s.pixel_acc == s.mean_acc == s.mean_iou == 1.0
    with pytest.raises(ValueError):
        confusion_matrix(t, t, 3)
    with pytest.raises(ValueError):
        segmentation_scores(np.zeros((3, 3)))


def test_evaluate_segmentation_runs_a_model():
    class Oracle(torch.nn.Module):  # logits that put the class in the first channel value
        def forward(self, x):
            return torch.nn.functional.one_hot(x[:, 0].long(), 3).permute(0, 3, 1, 2).float()

    labels = torch.randint(0, 3, (4, 5, 6))
    images = labels.unsqueeze(1).float().expand(-1, 3, -1, -1)
    loader = [(images[:2], labels[:2], 0), (images[2:], labels[2:], 0)]
    scores, conf = evaluate_segmentation(Oracle(), loader, 3)
    assert scores.mean_iou == 1.0 and conf.sum() == labels.numel()
