"""NetVLAD / PersonVLAD aggregation (paper 003 eq. 3-5): assignment, residuals, norms."""

import math

import pytest
import torch

from vreid.models.netvlad import ALPHA, NUM_CLUSTERS, NetVLAD


def test_defaults_are_the_papers():
    vlad = NetVLAD(8)
    assert (vlad.num_clusters, vlad.alpha) == (NUM_CLUSTERS, ALPHA) == (64, 1000.0)
    assert vlad.out_channels == 64 * 8


@pytest.mark.parametrize("shape", [(2, 4, 3, 2, 2), (2, 4, 5, 3), (2, 4, 6), (2, 4)])
def test_any_trailing_dims_shapes_and_norms(shape):
    torch.manual_seed(0)
    vlad = NetVLAD(4, num_clusters=3, alpha=1.0)
    maps = torch.randn(*shape)
    out = vlad(maps)
    assert out.shape == (2, 12)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(2))
    a = vlad.assignment(maps)
    n = math.prod(shape[2:])
    assert a.shape == (2, 3, n) and torch.all(a >= 0)
    torch.testing.assert_close(a.sum(dim=1), torch.ones(2, n))


def test_each_cluster_block_is_unit_norm_or_zero():
    vlad = NetVLAD(2, num_clusters=3, alpha=ALPHA)
    vlad.set_centres(torch.tensor([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]]))
    # alpha = 1000: every descriptor goes to the nearest centre; cell 2 gets nothing
    maps = torch.tensor([[[0.1, 4.9, 0.2], [0.3, 5.2, -0.1]]])  # [1, D=2, N=3]
    a = vlad.assignment(maps)
    assert torch.allclose(a[0, :, 0], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(a[0, :, 1], torch.tensor([0.0, 1.0, 0.0]))
    raw = vlad.residual_sums(maps)
    blocks = vlad(maps).view(1, 3, 2)
    # stacked unit blocks, then global L2: each non-empty block has norm 1/sqrt(#non-empty)
    norms = blocks.norm(dim=2)[0]
    torch.testing.assert_close(norms, torch.tensor([1 / math.sqrt(2), 1 / math.sqrt(2), 0.0]))
    torch.testing.assert_close(raw[0, 2], torch.zeros(2))
    # block direction is the residual sum's direction
    torch.testing.assert_close(blocks[0, 0] * math.sqrt(2), raw[0, 0] / raw[0, 0].norm())


def test_tiny_case_against_eq_4_by_hand():
    alpha = 0.5
    c = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # K=2, D=2
    f = [torch.tensor([1.0, 0.5]), torch.tensor([-0.5, 2.0])]  # two descriptors
    vlad = NetVLAD(2, num_clusters=2, alpha=alpha)
    vlad.set_centres(c)
    maps = torch.stack(f, dim=1).unsqueeze(0)  # [1, 2, 2]

    def soft(fb, k):  # eq. 4's soft assignment, from distances
        num = math.exp(-alpha * float((fb - c[k]).pow(2).sum()))
        return num / sum(math.exp(-alpha * float((fb - c[j]).pow(2).sum())) for j in range(2))

    V = torch.zeros(2, 2)  # [k, j]
    for k in range(2):
        for j in range(2):
            V[k, j] = sum(soft(fb, k) * float(fb[j] - c[k, j]) for fb in f)
    torch.testing.assert_close(vlad.residual_sums(maps)[0], V)
    a = vlad.assignment(maps).detach()
    for b, fb in enumerate(f):
        for k in range(2):
            assert math.isclose(float(a[0, k, b]), soft(fb, k), rel_tol=1e-5)
    intra = torch.stack([V[k] / V[k].norm() for k in range(2)]).flatten()
    torch.testing.assert_close(vlad(maps)[0], intra / intra.norm())


def test_assignment_and_residual_centres_are_decoupled():
    torch.manual_seed(1)
    vlad = NetVLAD(3, num_clusters=2, alpha=1.0)
    maps = torch.randn(2, 3, 4)
    a_before, v_before = vlad.assignment(maps), vlad.residual_sums(maps)
    with torch.no_grad():
        vlad.centres.add_(1.0)  # moving c_k leaves w_k, z_k alone
    torch.testing.assert_close(vlad.assignment(maps), a_before)
    # residuals shift by -(sum_b a_kb) * 1
    torch.testing.assert_close(vlad.residual_sums(maps),
                               v_before - a_before.sum(dim=2, keepdim=True))
    names = {n for n, _ in vlad.named_parameters()}
    assert names == {"assign.weight", "assign.bias", "centres"}
    vlad(maps).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in vlad.parameters())


def test_bad_inputs_are_refused():
    vlad = NetVLAD(4, num_clusters=2)
    with pytest.raises(ValueError, match=r"maps must be \[B, 4, \.\.\.\]"):
        vlad(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match=r"centres must be \[2, 4\]"):
        vlad.set_centres(torch.zeros(3, 4))
