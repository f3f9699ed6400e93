import math

import pytest
import torch

from vreid.losses import BatchHardTriplet, CrossEntropyLabelSmooth, build_losses


def test_label_smoothing_matches_formula():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    target = torch.tensor([0])
    eps = 0.1
    logp = torch.log_softmax(logits, 1)[0]
    expected = -((1 - eps) * logp[0] + eps / 3 * logp.sum())
    got = CrossEntropyLabelSmooth(eps)(logits, target)
    assert math.isclose(float(got), float(expected), rel_tol=1e-6)


def test_batch_hard_triplet_hand_case():
    # two ids on a line: id0 at 0 and 1, id1 at 3 and 5
    f = torch.tensor([[0.0], [1.0], [3.0], [5.0]])
    y = torch.tensor([0, 0, 1, 1])
    # anchor 0: pos 1, neg 3 -> 1-3+m ; anchor1: pos 1, neg 2 ; anchor2: pos 2, neg 2 ; anchor3: pos 2, neg 4
    m = 0.5
    expected = (max(1 - 3 + m, 0) + max(1 - 2 + m, 0) + max(2 - 2 + m, 0) + max(2 - 4 + m, 0)) / 4
    assert math.isclose(float(BatchHardTriplet(m)(f, y)), expected, rel_tol=1e-5)


def test_triplet_needs_positives_and_negatives():
    with pytest.raises(ValueError, match="identities"):
        BatchHardTriplet()(torch.randn(3, 4), torch.tensor([0, 1, 2]))


def test_composite_logs_each_term_and_weighted_total():
    crit = build_losses([
        {"name": "cross_entropy", "weight": 1.0, "kwargs": {"label_smoothing": 0.0}},
        {"name": "triplet", "weight": 0.5, "kwargs": {"margin": 0.3}},
    ])
    out = {"logits": torch.randn(4, 2), "features": torch.randn(4, 8)}
    y = torch.tensor([0, 0, 1, 1])
    terms = crit(out, y)
    assert set(terms) == {"cross_entropy", "triplet", "total"}
    assert torch.isclose(terms["total"], terms["cross_entropy"] + 0.5 * terms["triplet"])


def test_composite_names_missing_output():
    crit = build_losses([{"name": "triplet"}])
    with pytest.raises(KeyError, match="needs model output 'features'"):
        crit({"logits": torch.randn(2, 2)}, torch.tensor([0, 1]))
    with pytest.raises(KeyError, match="unknown loss"):
        build_losses([{"name": "arcface"}])
