"""Weighted centre loss (paper 001 eq. 11): value, the centres' own SGD step, state."""

import math

import pytest
import torch

from vreid.engine.schedule import make_optimizers
from vreid.losses import LOSSES, CenterLoss, build_losses
from vreid.losses.center import centre_update

BETA = 5e-5


def build(beta=BETA, **kwargs):
    return build_losses([{"name": "center", "weight": beta, "kwargs": kwargs}],
                        num_classes=3, feature_dim=2)


def test_value_is_eq_11():
    crit = build()
    c = crit.terms["center"].centres.detach()
    f, y = torch.randn(4, 2), torch.tensor([0, 0, 2, 1])
    want = 0.5 * sum(float((f[i] - c[y[i]]).pow(2).sum()) for i in range(4))
    terms = crit({"features": f}, {"labels": y})
    assert math.isclose(float(terms["center"].detach()), want, rel_tol=1e-6)
    assert math.isclose(float(terms["total"].detach()), BETA * want, rel_tol=1e-6)


@pytest.mark.parametrize("beta", [BETA, 1.0])
def test_centres_take_their_own_sgd_step_towards_the_features(beta):
    crit = build(beta)
    loss = crit.terms["center"]
    assert crit.optimizer_settings["center"] == {"kind": "sgd", "lr": 0.5, "momentum": 0.0,
                                                 "weight_decay": 0.0}
    model_param = torch.nn.Parameter(torch.zeros(1))
    main, own = make_optimizers("adam", [model_param], crit, lr=1e-3, weight_decay=5e-4)
    assert set(own) == {"center"} and all(p is not loss.centres
                                          for g in main.param_groups for p in g["params"])
    f = torch.tensor([[1.0, 1.0], [3.0, 1.0], [-2.0, 0.0]], requires_grad=True)
    y = torch.tensor([0, 0, 2])
    before = loss.centres.detach().clone()
    crit({"features": f}, {"labels": y})["total"].backward()
    # features: the gradient of beta * eq. 11
    assert torch.allclose(f.grad, beta * (f.detach() - before[y]))
    own["center"].step()
    # Wen et al.'s update: c_j -= 0.5 * sum_{y_i = j} (c_j - f_i) / (1 + n_j), whatever beta
    want = before.clone()
    want[0] -= 0.5 * ((before[0] - f[0]) + (before[0] - f[1])).detach() / 3
    want[2] -= 0.5 * (before[2] - f[2]).detach() / 2
    assert torch.allclose(loss.centres.detach(), want, atol=1e-6)
    assert torch.equal(loss.centres[1].detach(), before[1])  # class 1 not in the batch
    mean0 = f[:2].detach().mean(0)
    assert torch.dist(loss.centres[0], mean0) < torch.dist(before[0], mean0)


def test_centre_update_matches_a_loop():
    c, f, y = torch.randn(3, 2), torch.randn(5, 2), torch.tensor([0, 2, 2, 0, 2])
    got = centre_update(f, y, c)
    for j in range(3):
        members = [i for i in range(5) if y[i] == j]
        want = sum((c[j] - f[i] for i in members), torch.zeros(2)) / (1 + len(members))
        assert torch.allclose(got[j], want, atol=1e-6)


def test_state_round_trips_through_the_composite_state_dict():
    a, b = build(), build()
    assert not torch.equal(a.terms["center"].centres, b.terms["center"].centres)
    state = a.state_dict()
    assert set(state) == {"terms.center.centres"}
    b.load_state_dict(state)
    assert torch.equal(a.terms["center"].centres, b.terms["center"].centres)


def test_builder_needs_a_feature_dim_and_the_right_width():
    assert LOSSES.get("center") is CenterLoss
    with pytest.raises(ValueError, match=r"loss 'center' needs \['feature_dim'\]"):
        build_losses([{"name": "center"}], num_classes=3)
    explicit = build_losses([{"name": "center", "kwargs": {"feature_dim": 4}}], num_classes=3)
    assert explicit.terms["center"].centres.shape == (3, 4)
    with pytest.raises(ValueError, match=r"features must be \[B, 4\]"):
        explicit({"features": torch.randn(2, 3)}, {"labels": torch.tensor([0, 1])})
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        explicit({"features": torch.randn(2, 4)}, {"labels": torch.tensor([0, 3])})
