import math

import pytest
import torch

from vreid.losses import LOSSES, BatchHardTriplet, CrossEntropyLabelSmooth, build_losses
from vreid.losses.cross_entropy import RegionCrossEntropy


def test_label_smoothing_matches_formula():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    target = torch.tensor([0])
    eps = 0.1
    logp = torch.log_softmax(logits, 1)[0]
    expected = -((1 - eps) * logp[0] + eps / 3 * logp.sum())
    got = CrossEntropyLabelSmooth(eps)({"logits": logits}, {"labels": target})
    assert math.isclose(float(got), float(expected), rel_tol=1e-6)


def test_region_cross_entropy_is_the_mean_over_regions():
    region_logits = torch.randn(3, 4, 5)  # [R, B, classes]
    labels = torch.tensor([0, 4, 2, 2])
    got = RegionCrossEntropy()({"region_logits": region_logits}, {"labels": labels})
    expected = sum(torch.nn.functional.cross_entropy(r, labels) for r in region_logits) / 3
    assert math.isclose(float(got), float(expected), rel_tol=1e-6)


def test_batch_hard_triplet_hand_case():
    # two ids on a line: id0 at 0 and 1, id1 at 3 and 5
    f = torch.tensor([[0.0], [1.0], [3.0], [5.0]])
    y = torch.tensor([0, 0, 1, 1])
    # anchor 0: pos 1, neg 3 -> 1-3+m ; anchor1: pos 1, neg 2 ; anchor2: pos 2, neg 2 ; anchor3: pos 2, neg 4
    m = 0.5
    expected = (max(1 - 3 + m, 0) + max(1 - 2 + m, 0) + max(2 - 2 + m, 0) + max(2 - 4 + m, 0)) / 4
    got = BatchHardTriplet(m)({"features": f}, {"labels": y})
    assert math.isclose(float(got), expected, rel_tol=1e-5)


def test_triplet_needs_positives_and_negatives():
    with pytest.raises(ValueError, match="identities"):
        BatchHardTriplet()({"features": torch.randn(3, 4)}, {"labels": torch.tensor([0, 1, 2])})


def test_composite_logs_each_term_and_weighted_total():
    crit = build_losses([
        {"name": "cross_entropy", "weight": 1.0, "kwargs": {"label_smoothing": 0.0}},
        {"name": "triplet", "weight": 0.5, "kwargs": {"margin": 0.3}},
    ])
    out = {"logits": torch.randn(4, 2), "features": torch.randn(4, 8)}
    batch = {"labels": torch.tensor([0, 0, 1, 1]), "camids": torch.tensor([0, 1, 0, 1])}
    terms = crit(out, batch)
    assert set(terms) == {"cross_entropy", "triplet", "total"}
    assert torch.isclose(terms["total"], terms["cross_entropy"] + 0.5 * terms["triplet"])


def test_composite_names_missing_output():
    crit = build_losses([{"name": "triplet"}])
    with pytest.raises(KeyError, match="needs model output 'features'"):
        crit({"logits": torch.randn(2, 2)}, {"labels": torch.tensor([0, 1])})
    with pytest.raises(KeyError, match=r"loss 'triplet' needs batch key\(s\) \['labels'\]; "
                                       r"the batch has \['camids', 'clips'\]"):
        crit({"features": torch.randn(2, 2)}, {"clips": torch.zeros(2), "camids": torch.zeros(2)})
    with pytest.raises(KeyError, match="unknown loss"):
        build_losses([{"name": "arcface"}])


class Centres(torch.nn.Module):
    """A loss with a parameter that needs the number of training identities."""

    uses = "features"
    optimizer_settings = {"kind": "sgd", "lr": 0.5}

    def __init__(self, num_classes, dim=2):
        super().__init__()
        self.centres = torch.nn.Parameter(torch.zeros(num_classes, dim))

    def forward(self, outputs, batch):
        return (outputs[self.uses] - self.centres[batch["labels"]]).pow(2).sum(1).mean()


def test_losses_get_num_classes_and_optimizer_settings(monkeypatch):
    monkeypatch.setitem(LOSSES._items, "centres", Centres)
    crit = build_losses([{"name": "triplet"},
                         {"name": "centres", "weight": 0.01,
                          "kwargs": {"dim": 3, "optimizer": {"lr": 0.05, "momentum": 0.0}}}],
                        num_classes=5)
    assert crit.terms["centres"].centres.shape == (5, 3)
    assert crit.optimizer_settings == {"triplet": {},
                                       "centres": {"kind": "sgd", "lr": 0.05, "momentum": 0.0}}
    ((name, params, settings),) = crit.parameter_groups()
    assert name == "centres" and params == [crit.terms["centres"].centres]
    assert set(crit.state_dict()) == {"terms.centres.centres"}
    explicit = build_losses([{"name": "centres", "kwargs": {"num_classes": 2}}], num_classes=5)
    assert explicit.terms["centres"].centres.shape == (2, 2)
    with pytest.raises(ValueError, match=r"loss 'centres': unknown optimizer setting\(s\) \['lr_mult'\]"):
        build_losses([{"name": "centres", "kwargs": {"optimizer": {"lr_mult": 2}}}], num_classes=2)
    with pytest.raises(ValueError, match="kwargs.optimizer must be a mapping"):
        build_losses([{"name": "centres", "kwargs": {"optimizer": "sgd"}}], num_classes=2)
