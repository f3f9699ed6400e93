"""3D part alignment (paper 003 eq. 1-2): B sigmoid part maps re-weighting the cubic."""

import pytest
import torch

from vreid.models.part_align3d import NUM_PARTS, PartAlign3d


def test_shapes_and_maps_in_open_unit_interval():
    torch.manual_seed(0)
    align = PartAlign3d(4)
    assert align.num_parts == NUM_PARTS == 6
    maps = torch.randn(2, 4, 3, 5, 2)  # [N, C, L, h, w]
    parts, masks = align(maps)
    assert masks.shape == (2, 6, 3, 5, 2) and parts.shape == (2, 6, 4, 3, 5, 2)
    assert torch.all(masks > 0) and torch.all(masks < 1)


def test_eq_1_and_2_by_hand():
    torch.manual_seed(1)
    align = PartAlign3d(3, num_parts=2)
    maps = torch.randn(1, 3, 2, 2, 2)
    parts, masks = align(maps)
    w, b = align.detectors.weight.view(2, 3), align.detectors.bias
    for k in range(2):
        # eq. 1: 1x1x1 conv (a per-location dot product) + sigmoid
        want = torch.sigmoid(torch.einsum("c,nclxy->nlxy", w[k], maps) + b[k])
        torch.testing.assert_close(masks[:, k], want)
        # eq. 2: every channel times the part map
        torch.testing.assert_close(parts[:, k], maps * want.unsqueeze(1))


def test_branches_are_independent_and_trainable():
    align = PartAlign3d(3, num_parts=2)
    maps = torch.randn(2, 3, 2, 2, 2)
    before = align.part_maps(maps).detach()
    with torch.no_grad():
        align.detectors.weight[0].add_(1.0)
    after = align.part_maps(maps).detach()
    assert not torch.allclose(after[:, 0], before[:, 0])
    torch.testing.assert_close(after[:, 1], before[:, 1])
    parts, _ = align(maps)
    parts.sum().backward()
    assert align.detectors.weight.grad.abs().sum() > 0


def test_wrong_input_is_refused():
    with pytest.raises(ValueError, match=r"maps must be \[N, 3, L, h, w\]"):
        PartAlign3d(3)(torch.randn(2, 4, 2, 2, 2))
