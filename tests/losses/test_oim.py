"""OIM loss (paper 003 eq. 6): lookup-table update, circular queue, value, state."""

import math

import pytest
import torch
import torch.nn.functional as F

from vreid.losses import LOSSES, OIMLoss, build_losses
from vreid.losses.oim import MOMENTUM, QUEUE_SIZE, TEMPERATURE


def unit(*values):
    return F.normalize(torch.tensor(values, dtype=torch.float32), dim=-1)


def test_registered_with_the_papers_defaults():
    crit = build_losses([{"name": "oim"}], num_classes=4, feature_dim=3)
    loss = crit.terms["oim"]
    assert LOSSES.get("oim") is OIMLoss and isinstance(loss, OIMLoss)
    assert (loss.temperature, len(loss.queue), loss.momentum) == (TEMPERATURE, QUEUE_SIZE,
                                                                 MOMENTUM) == (0.1, 5000, 0.5)
    assert loss.lookup.shape == (4, 3) and loss.queue.shape == (5000, 3)
    assert crit.parameter_groups() == []  # tables are buffers, not learned by gradient


def test_lookup_momentum_update_by_hand():
    loss = OIMLoss(num_classes=3, feature_dim=2, queue_size=4, momentum=0.5)
    e0, e2 = unit(1.0, 0.0), unit(0.0, 1.0)
    loss.lookup[0], loss.lookup[2] = e0, e2
    x = torch.tensor([[3.0, 4.0], [0.0, -2.0], [1.0, 1.0]])  # normalised inside: (.6, .8), ...
    loss({"features": x}, {"labels": torch.tensor([0, 0, 2])})
    # identity 0 twice, in batch order
    step1 = F.normalize(0.5 * e0 + 0.5 * torch.tensor([0.6, 0.8]), dim=0)
    step2 = F.normalize(0.5 * step1 + 0.5 * torch.tensor([0.0, -1.0]), dim=0)
    torch.testing.assert_close(loss.lookup[0], step2)
    torch.testing.assert_close(loss.lookup[2], F.normalize(0.5 * e2 + 0.5 * unit(1.0, 1.0), dim=0))
    torch.testing.assert_close(loss.lookup[1], torch.zeros(2))  # not in the batch
    assert int(loss.queue_count) == 0  # nothing unlabelled
    # eval mode: no update
    loss.eval()
    before = loss.lookup.clone()
    loss({"features": torch.randn(2, 2)}, {"labels": torch.tensor([0, 1])})
    torch.testing.assert_close(loss.lookup, before)


def test_queue_wraps_around_like_a_circular_buffer():
    size = 3
    loss = OIMLoss(num_classes=2, feature_dim=2, queue_size=size)
    slots, ptr, count = [None] * size, 0, 0
    feats = F.normalize(torch.randn(12, 2), dim=1)
    for lo, hi in [(0, 2), (2, 4), (4, 9), (9, 10), (10, 12)]:  # pushes of 2, 2, 5, 1, 2
        labels = torch.full((hi - lo,), -1)
        loss({"features": feats[lo:hi]}, {"labels": labels})
        for i in range(lo, hi):  # the same pushes one by one
            slots[ptr], ptr, count = feats[i], (ptr + 1) % size, min(count + 1, size)
        assert int(loss.queue_ptr) == ptr and int(loss.queue_count) == count
        filled = [s for s in slots if s is not None]
        torch.testing.assert_close(loss.queue[:len(filled)], torch.stack(filled))
    torch.testing.assert_close(loss.queue, torch.stack(slots))


def test_value_is_eq_6_by_hand():
    tau = TEMPERATURE
    loss = OIMLoss(num_classes=3, feature_dim=2, queue_size=5)
    E = torch.stack([unit(1.0, 0.0), unit(0.0, 1.0), unit(-1.0, 1.0)])
    U = torch.stack([unit(1.0, 1.0), unit(-1.0, -0.5)])
    loss.lookup.copy_(E)
    loss.enqueue(U)  # 2 of 5 slots filled: the 3 empty ones are not in the partition function
    v = torch.tensor([[2.0, 1.0], [0.5, -1.0], [1.0, 3.0]])
    labels = torch.tensor([1, -1, 2])  # the unlabelled sample adds no term
    got = loss({"features": v}, {"labels": labels})
    want = 0.0
    for i in (0, 2):
        vi = F.normalize(v[i], dim=0)
        denom = (sum(math.exp(float(e @ vi) / tau) for e in E)
                 + sum(math.exp(float(u @ vi) / tau) for u in U))
        want += -math.log(math.exp(float(E[labels[i]] @ vi) / tau) / denom)
    assert math.isclose(float(got), want / 2, rel_tol=1e-5)
    # the forward used the tables from before its own update
    assert int(loss.queue_count) == 3 and not torch.equal(loss.lookup, E)


def test_gradient_reaches_features_and_no_labelled_sample_gives_zero():
    loss = OIMLoss(num_classes=2, feature_dim=3, queue_size=4)
    loss.lookup.copy_(F.normalize(torch.randn(2, 3), dim=1))
    x = torch.randn(2, 3, requires_grad=True)
    loss({"features": x}, {"labels": torch.tensor([0, 1])}).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    z = torch.randn(2, 3, requires_grad=True)
    value = loss({"features": z}, {"labels": torch.tensor([-1, -1])})
    value.backward()
    assert float(value.detach()) == 0.0 and int(loss.queue_count) == 2


def test_buffers_are_in_the_state_dict_and_restored():
    a = build_losses([{"name": "oim", "kwargs": {"queue_size": 4}}], num_classes=3, feature_dim=2)
    b = build_losses([{"name": "oim", "kwargs": {"queue_size": 4}}], num_classes=3, feature_dim=2)
    a({"features": torch.randn(5, 2)}, {"labels": torch.tensor([0, -1, 2, -1, -1])})
    state = a.state_dict()
    assert set(state) == {"terms.oim.lookup", "terms.oim.queue", "terms.oim.queue_ptr",
                          "terms.oim.queue_count"}
    b.load_state_dict(state)
    for key, value in b.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert int(b.terms["oim"].queue_ptr) == 3 and int(b.terms["oim"].queue_count) == 3


def test_bad_inputs_are_refused():
    loss = OIMLoss(num_classes=3, feature_dim=4, queue_size=2)
    with pytest.raises(ValueError, match=r"features must be \[B, 4\]"):
        loss({"features": torch.randn(2, 3)}, {"labels": torch.tensor([0, 1])})
    with pytest.raises(ValueError, match=r"labels must be < 3"):
        loss({"features": torch.randn(2, 4)}, {"labels": torch.tensor([0, 3])})
    with pytest.raises(ValueError, match="temperature > 0"):
        OIMLoss(num_classes=3, feature_dim=4, temperature=0.0)
