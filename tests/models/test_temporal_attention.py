"""Temporal attention (paper 001 eq. 1): softmax weights over T, F = (1/T) sum_t a_t f_t."""

import pytest
import torch

from vreid.models import TEMPORAL
from vreid.models.temporal_attention import TemporalAttention


def _center_tap(att: TemporalAttention) -> TemporalAttention:
    """Positive spatial weights, a temporal kernel that only sees frame t: s_t = g(f_t)."""
    with torch.no_grad():
        att.spatial.weight.fill_(0.1), att.spatial.bias.zero_()
        att.temporal.weight.zero_(), att.temporal.bias.zero_()
        att.temporal.weight[0, :, 1] = 0.1
    return att


def test_weights_sum_to_one_and_output_is_eq_1_by_hand():
    torch.manual_seed(0)
    att = TEMPORAL.get("attention")(8, mid_channels=4, score_relu=False)
    maps = torch.randn(3, 8, 4, 2, 2)  # [B, C, T, h, w]
    out = att(maps)
    a = att.last_weights
    assert a.shape == (3, 4) and torch.all(a > 0)
    torch.testing.assert_close(a.sum(dim=1), torch.ones(3))
    torch.testing.assert_close(att.weights(maps), a)
    f = maps.mean(dim=(3, 4))  # [B, C, T]: frame GAP vectors f_t
    by_hand = sum(a[:, t:t + 1] * f[:, :, t] for t in range(4)) / 4
    torch.testing.assert_close(out, by_hand)
    assert out.shape == (3, att.out_channels) == (3, 8)
    # without the printed 1/T: the plain softmax-weighted sum of Gao & Nevatia's code
    att.divide_by_t = False
    torch.testing.assert_close(att(maps), by_hand * 4)


def test_a_frame_that_differs_changes_its_weight():
    att = _center_tap(TemporalAttention(4, mid_channels=3))
    same = torch.ones(1, 4, 3, 2, 2)  # three identical frames
    torch.testing.assert_close(att.weights(same), torch.full((1, 3), 1 / 3))
    brighter = same.clone()
    brighter[:, :, 1] *= 3.0  # frame 1 responds more
    a = att.weights(brighter)[0]
    assert a[1] > 1 / 3 > a[0]
    torch.testing.assert_close(a[0], a[2])
    torch.testing.assert_close(a.sum(), torch.tensor(1.0))


def test_map_sized_spatial_kernel_is_the_sources_full_map_conv():
    torch.manual_seed(0)
    att = TEMPORAL.get("attention")(8, mid_channels=4, spatial_kernel=[2, 1])
    assert tuple(att.spatial.weight.shape) == (4, 8, 2, 1)
    maps = torch.randn(2, 8, 3, 2, 1)
    assert att(maps).shape == (2, 8)
    torch.testing.assert_close(att.last_weights.sum(dim=1), torch.ones(2))
    with pytest.raises(ValueError, match="must be the map size"):
        att(torch.randn(2, 8, 3, 4, 2))


def test_size_agnostic_default_is_a_shared_conv_on_the_frame_means():
    torch.manual_seed(0)
    att = TEMPORAL.get("attention")(8, mid_channels=4)
    assert tuple(att.spatial.weight.shape) == (4, 8, 1, 1)
    for h, w in ((2, 1), (4, 2)):
        assert att(torch.randn(2, 8, 3, h, w)).shape == (2, 8)
    with pytest.raises(ValueError, match="odd"):
        TemporalAttention(8, temporal_kernel=2)
