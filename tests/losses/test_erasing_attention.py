"""Erasing-attention loss (paper 001 eq. 12): minimising it lowers the attention on
erased frames (the equation's and its source [22]'s direction, see the module)."""

import math

import pytest
import torch

from vreid.losses import LOSSES, ErasingAttentionLoss, build_losses
from vreid.losses.erasing_attention import erasing_attention_loss


def test_value_is_eq_12_averaged_over_the_batch():
    a = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]])
    erased = torch.tensor([[True, False, False, True], [False, False, False, False]])
    got = erasing_attention_loss(a, erased)
    assert math.isclose(float(got), ((0.1 + 0.4) / 4 + 0.0) / 2, rel_tol=1e-6)


def test_minimising_moves_attention_off_the_erased_frames():
    logits = torch.zeros(2, 4, requires_grad=True)
    erased = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    crit = build_losses([{"name": "erasing_attention"}])
    for _ in range(20):
        attention = torch.softmax(logits, dim=1)
        loss = crit({"attention": attention}, {"erased": erased})["total"]
        logits.grad = None
        loss.backward()
        with torch.no_grad():
            logits -= 1.0 * logits.grad
    attention = torch.softmax(logits.detach(), dim=1)
    assert torch.all(attention[erased.bool()] < 0.25 - 0.05)  # below uniform
    assert torch.all(attention[~erased.bool()] > 0.25)


def test_registered_and_refuses_mismatched_labels():
    assert LOSSES.get("erasing_attention") is ErasingAttentionLoss
    assert ErasingAttentionLoss.uses == "attention"
    assert ErasingAttentionLoss.batch_keys == ("erased",)
    crit = build_losses([{"name": "erasing_attention"}])
    with pytest.raises(KeyError, match=r"needs batch key\(s\) \['erased'\]"):
        crit({"attention": torch.full((2, 4), 0.25)}, {"labels": torch.tensor([0, 1])})
    with pytest.raises(ValueError, match=r"erased labels \[2, 3\] do not match attention \[2, 4\]"):
        crit({"attention": torch.full((2, 4), 0.25)}, {"erased": torch.zeros(2, 3)})
