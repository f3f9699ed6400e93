"""Ranked list loss (paper 001 eq. 5-10) against a slow loop over the equations."""

import math

import pytest
import torch

from vreid.losses import LOSSES, RankedListLoss, build_losses
from vreid.losses.ranked_list import ranked_list_loss


def loop_oracle(x, y, alpha, margin, temperature, lam):
    """Eq. 5-10 written out pair by pair in plain Python floats."""
    n, total = len(y), 0.0
    for i in range(n):
        d = [math.dist(x[i].tolist(), x[j].tolist()) for j in range(n)]
        pos = [j for j in range(n) if j != i and y[j] == y[i] and d[j] > alpha - margin]  # eq. 6
        neg = [j for j in range(n) if y[j] != y[i] and d[j] < alpha]  # eq. 7
        lp = sum(d[j] - (alpha - margin) for j in pos) / len(pos) if pos else 0.0  # eq. 8
        w = {j: math.exp(temperature * (alpha - d[j])) for j in neg}
        ln = sum(w[j] / sum(w.values()) * (alpha - d[j]) for j in neg)  # eq. 9
        total += lp + lam * ln  # eq. 10
    return total / n


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_loop_oracle(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 3, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1, 2, 2, 2, 3])
    for alpha, margin, temperature, lam in [(2.0, 1.3, 10.0, 1.0), (1.5, 0.4, 3.0, 0.5)]:
        got = ranked_list_loss(x, y, alpha, margin, temperature, lam)
        want = loop_oracle(x, y, alpha, margin, temperature, lam)
        assert want > 0
        assert math.isclose(float(got), want, rel_tol=1e-9, abs_tol=1e-12)


def test_zero_when_every_constraint_holds():
    # ids 0 and 1 each packed within alpha - margin = 0.7, 10 apart (> alpha)
    x = torch.tensor([[0.0, 0.0], [0.5, 0.0], [10.0, 0.0], [10.0, 0.5]], requires_grad=True)
    y = torch.tensor([0, 0, 1, 1])
    loss = ranked_list_loss(x, y)
    assert float(loss.detach()) == 0.0
    loss.backward()
    assert torch.all(x.grad == 0)


def test_gradient_pulls_far_positives_and_pushes_near_negatives():
    # a positive pair 3 apart (> alpha - margin = 0.7) and a negative pair 1 apart (< alpha)
    x = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 1.0], [100.0, 100.0]], requires_grad=True)
    y = torch.tensor([0, 0, 1, 1])
    ranked_list_loss(x, y).backward()
    step = x.detach() - 1e-2 * x.grad
    assert torch.dist(step[0], step[1]) < torch.dist(x[0], x[1])  # positives come closer
    assert torch.dist(step[0], step[2]) > torch.dist(x[0], x[2])  # the negative moves away


def test_a_single_item_per_identity_has_only_negatives():
    x = torch.tensor([[0.0], [1.0]])
    got = ranked_list_loss(x, torch.tensor([0, 1]), alpha=2.0, margin=1.3)
    assert math.isclose(float(got), 1.0, rel_tol=1e-6)  # each: weight 1 * (2 - 1)


def test_refuses_bad_inputs():
    with pytest.raises(ValueError, match="margin < alpha"):
        ranked_list_loss(torch.randn(4, 2), torch.tensor([0, 0, 1, 1]), alpha=1.0, margin=1.0)
    with pytest.raises(ValueError, match="labels"):
        ranked_list_loss(torch.randn(4, 2), torch.tensor([0, 1]))


def test_registered_on_the_metric_features():
    assert LOSSES.get("ranked_list") is RankedListLoss
    crit = build_losses([{"name": "ranked_list", "kwargs": {"margin": 0.04}}])
    assert crit.needs_identity_batches
    x, y = torch.randn(6, 4), torch.tensor([0, 0, 1, 1, 2, 2])
    terms = crit({"features": x, "logits": torch.randn(6, 3)}, {"labels": y})
    assert torch.isclose(terms["ranked_list"], ranked_list_loss(x, y, margin=0.04))


def test_normalize_scores_the_unit_sphere_where_alpha_bounds_the_distances():
    torch.manual_seed(0)
    features = 10 * torch.randn(6, 16)  # far apart: every negative beyond alpha = 2
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    batch = {"labels": labels}
    unit = torch.nn.functional.normalize(features, dim=1)
    normalized = RankedListLoss(normalize=True)({"features": features}, batch)
    torch.testing.assert_close(normalized, ranked_list_loss(unit, labels))
    raw = RankedListLoss()({"features": features}, batch)
    torch.testing.assert_close(raw, ranked_list_loss(features, labels))
    assert not torch.allclose(normalized, raw)
    # every distance on the sphere is <= 2 = alpha: each negative is non-trivial (eq. 7)
    neg = labels[:, None] != labels[None, :]
    assert (torch.cdist(unit, unit)[neg] < 2.0).all()
    assert (torch.cdist(features, features)[neg] > 2.0).all()
