"""Paper 002's learned clip-similarity aggregation (eq. 1-4) and top-t% baseline (eq. 9)."""

import math

import pytest
import torch

from vreid.models.clip_similarity import (ImportanceMLP, LearnedClipSimilarity,
                                          TopPercentSimilarity, pooled_similarity,
                                          sequential_pool, sequential_pool_batch,
                                          top_percent_count, top_percent_similarity)


def _first_coordinate_exp(x: torch.Tensor) -> torch.Tensor:
    """A hand-checkable positive importance: g(x) = exp(x_0)."""
    return x[..., 0].exp()


def _oracle(fq, fg, importance):
    """Eq. 1-3 with plain Python floats, pairs (i, j) row-major, r_0 = 0."""
    unit = lambda v: [a / math.sqrt(sum(b * b for b in v)) for a in v]  # noqa: E731
    q = [unit(v) for v in fq.tolist()]
    g = [unit(v) for v in fg.tolist()]
    d = len(q[0])
    r, total, weighted_cos = [0.0] * d, 0.0, 0.0
    alphas = [[0.0] * len(g) for _ in q]
    for i, qi in enumerate(q):
        for j, gj in enumerate(g):
            c = [a * b for a, b in zip(qi, gj)]
            alpha = float(importance(torch.tensor([a - b for a, b in zip(r, c)])))
            r = [(total * rk + alpha * ck) / (total + alpha) for rk, ck in zip(r, c)]
            total += alpha
            weighted_cos += alpha * sum(c)
            alphas[i][j] = alpha
    return r, weighted_cos / total, alphas


def test_hand_computed_two_pairs():
    # c_1 = (1, 0), c_2 = (0, 0); alpha_1 = g(-c_1) = e^-1, r_1 = c_1, alpha_2 = g(r_1 - c_2) = e
    fq = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    fg = torch.tensor([[3.0, 0.0]])  # not unit: normalised inside
    r, s, alphas = sequential_pool(fq, fg, _first_coordinate_exp)
    e = math.e
    torch.testing.assert_close(alphas, torch.tensor([[1 / e], [e]]))
    torch.testing.assert_close(r, torch.tensor([(1 / e) / (1 / e + e), 0.0]))
    torch.testing.assert_close(s, torch.tensor(1 / (1 + e * e)))


def test_matches_a_python_loop_oracle_row_major():
    torch.manual_seed(0)
    fq, fg = torch.randn(3, 5), torch.randn(2, 5)  # M_q != M_g: the order is observable
    w = torch.randn(5)
    importance = lambda x: torch.nn.functional.softplus(3 * x @ w)  # noqa: E731
    r, s, alphas = sequential_pool(fq, fg, importance)
    r_ref, s_ref, alphas_ref = _oracle(fq, fg, importance)
    torch.testing.assert_close(r, torch.tensor(r_ref))
    torch.testing.assert_close(s, torch.tensor(s_ref))
    torch.testing.assert_close(alphas, torch.tensor(alphas_ref))
    # a column-major visit would give other importances (they depend on the history)
    _, _, alphas_t = _oracle(fg, fq, importance)
    assert not torch.allclose(alphas, torch.tensor(alphas_t).T)


def test_first_importance_is_g_of_minus_c1():
    torch.manual_seed(1)
    fq, fg = torch.randn(2, 4), torch.randn(2, 4)
    _, _, alphas = sequential_pool(fq, fg, _first_coordinate_exp)
    c1 = torch.nn.functional.normalize(fq[0], dim=0) * torch.nn.functional.normalize(fg[0], dim=0)
    torch.testing.assert_close(alphas[0, 0], _first_coordinate_exp(-c1))


def test_eq3_equals_eq4_and_the_batch_matches_one_by_one():
    torch.manual_seed(2)
    mlp = ImportanceMLP(6, hidden=8).eval()
    fq, fg = 4 * torch.randn(3, 4, 6), torch.randn(3, 4, 6)  # raw, non-unit features
    r, s, alphas = sequential_pool_batch(fq, fg, mlp)
    assert r.shape == (3, 6) and s.shape == (3,) and alphas.shape == (3, 4, 4)
    assert torch.all(alphas > 0)
    torch.testing.assert_close(pooled_similarity(r), s)  # eq. 4 == eq. 3
    for n in range(3):
        r_n, s_n, alphas_n = sequential_pool(fq[n], fg[n], mlp)
        torch.testing.assert_close(r_n, r[n]), torch.testing.assert_close(s_n, s[n])
        torch.testing.assert_close(alphas_n, alphas[n])


def test_similarity_is_a_weighted_mean_of_cosines():
    torch.manual_seed(3)
    fq, fg = torch.randn(2, 3), torch.randn(3, 3)
    _, s, alphas = sequential_pool(fq, fg, _first_coordinate_exp)
    cos = torch.nn.functional.cosine_similarity(fq[:, None], fg[None], dim=-1)
    torch.testing.assert_close(s, (alphas * cos).sum() / alphas.sum())
    assert cos.min() <= s <= cos.max()
    # identical tracklets of one clip each: cosine 1 whatever the importance
    _, s_same, _ = sequential_pool(fq[:1], 2 * fq[:1], _first_coordinate_exp)
    torch.testing.assert_close(s_same, torch.tensor(1.0))


def test_importance_mlp_shape_positivity_and_layout():
    torch.manual_seed(4)
    mlp = ImportanceMLP(5, hidden=7)
    layers = [type(m).__name__ for m in mlp.hidden]
    assert layers == ["Linear", "ReLU", "BatchNorm1d", "Dropout"] * 2
    assert mlp.hidden[3].p == 0.5 and mlp.hidden[0].out_features == 7
    out = mlp(-100 * torch.randn(4, 5))
    assert out.shape == (4,) and torch.all(out > 0)
    mlp.eval()
    assert mlp(torch.randn(5)).shape == ()
    assert ImportanceMLP(3).hidden[4].in_features == 1024  # the paper's 1024 units


def test_gradients_reach_every_layer_of_the_mlp_and_the_features():
    torch.manual_seed(5)
    model = LearnedClipSimilarity(4, hidden=6, dropout=0.0).train()
    fq = torch.randn(3, 2, 4, requires_grad=True)
    fg = torch.randn(3, 2, 4)
    s = model(fq, fg)
    assert s.shape == (3,)
    (s * torch.tensor([1.0, -2.0, 0.5])).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert fq.grad.abs().sum() > 0


def test_score_matrix_compares_every_query_with_every_gallery():
    torch.manual_seed(6)
    model = LearnedClipSimilarity(4, hidden=6).eval()
    query, gallery = torch.randn(2, 3, 4), torch.randn(3, 2, 4)
    scores = model.score_matrix(query, gallery)
    assert scores.shape == (2, 3)
    torch.testing.assert_close(scores[1, 2], model(query[1:2], gallery[2:3])[0])


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="fq \\[N, M_q, D\\]"):
        sequential_pool_batch(torch.randn(2, 3), torch.randn(2, 3), _first_coordinate_exp)
    with pytest.raises(ValueError, match="importance must map"):
        sequential_pool_batch(torch.randn(2, 1, 3), torch.randn(2, 1, 3), lambda x: x)


def test_top_percent_count():
    assert top_percent_count(64, 20) == 13  # 12.8 pairs -> 13
    assert top_percent_count(64, 25) == 16 and top_percent_count(9, 100) == 9
    assert top_percent_count(4, 1) == 1
    with pytest.raises(ValueError, match="percent"):
        top_percent_count(4, 0)


def test_top_percent_on_a_hand_made_2x2_case():
    fq = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    fg = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    h = 1 / math.sqrt(2)  # cosine matrix [[1, h], [0, h]]
    torch.testing.assert_close(top_percent_similarity(fq, fg, 25), torch.tensor(1.0))
    torch.testing.assert_close(top_percent_similarity(fq, fg, 50), torch.tensor((1 + h) / 2))
    torch.testing.assert_close(top_percent_similarity(fq, fg, 100), torch.tensor((1 + 2 * h) / 4))
    # the j-th gallery clip's own norm divides (eq. 9's ||f'^i_g|| is a typo): scaling
    # gallery clip 1 changes nothing, dividing by gallery clip i's norm would
    scaled = fg * torch.tensor([[1.0], [5.0]])
    torch.testing.assert_close(top_percent_similarity(fq, scaled, 50), torch.tensor((1 + h) / 2))


def test_top_percent_on_a_hand_made_3x3_case_with_gradients_for_the_top_pairs_only():
    fq = torch.eye(3, requires_grad=True)
    fg = torch.tensor([[1.0, 0.0, 0.0], [0.0, 3.0, 4.0], [0.0, 0.0, 2.0]])
    # cosines: q0 = [1, 0, 0], q1 = [0, .6, 0], q2 = [0, .8, 1]
    s = top_percent_similarity(fq, fg, 100 / 3)  # 3 pairs: 1, 1, .8
    torch.testing.assert_close(s, torch.tensor(2.8 / 3))
    s.backward()
    assert fq.grad[1].abs().sum() == 0  # query clip 1 is in no top pair
    assert fq.grad[2].abs().sum() > 0


def test_top_percent_module_projects_and_switches_variant_with_mode():
    torch.manual_seed(7)
    module = TopPercentSimilarity(3, percent=25, train_percent=100)
    with torch.no_grad():
        module.projection.weight.copy_(torch.eye(3)), module.projection.bias.zero_()
    fq, fg = torch.randn(2, 3), torch.randn(2, 3)
    torch.testing.assert_close(module(fq, fg), top_percent_similarity(fq, fg, 100))  # training
    module.eval()
    torch.testing.assert_close(module(fq, fg), top_percent_similarity(fq, fg, 25))
    query, gallery = torch.randn(2, 2, 3), torch.randn(4, 3, 3)
    scores = module.score_matrix(query, gallery)
    assert scores.shape == (2, 4)
    torch.testing.assert_close(scores[1, 3], module(query[1], gallery[3]))
    assert TopPercentSimilarity(3, percent=20).train_percent == 20
    with pytest.raises(ValueError, match="percent"):
        TopPercentSimilarity(3, percent=20, train_percent=0)
