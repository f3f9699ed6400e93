import numpy as np
import pytest
import torch

import vreid.eval.ecn as ecn_module
from vreid.eval import ecn_re_ranking
from vreid.eval.distance import compute_distance


def oracle(q_g, q_q, g_g, t=3, q=8, method="rankdist", k=25, matlab=False):
    """Plain-Python transcription of the ECN definitions in vreid.eval.ecn's docstring.

    ``matlab=True`` turns R into a distance as ECN_rerank.m does (per-row min-max).
    """
    q_g, q_q, g_g = (np.asarray(x, dtype=np.float64) for x in (q_g, q_q, g_g))
    Q, G = q_g.shape
    N = Q + G
    D = np.block([[q_q, q_g], [q_g.T, g_g]])  # D[a, b]: from item a to item b
    rank = []
    for a in range(N):
        others = sorted((b for b in range(N) if b != a), key=lambda b: (D[a, b], b))
        rank.append([a] + others)
    if method == "rankdist":
        pos = [{item: p for p, item in enumerate(rank[a])} for a in range(N)]
        R = [[sum(max(0, k - pos[a][l]) * max(0, k - pos[b][l]) for l in range(N))
              for b in range(N)] for a in range(N)]
        if matlab:
            d = [[1 - (R[a][b] - min(R[a])) / (max(R[a]) - min(R[a])) for b in range(N)]
                 for a in range(N)]
        else:
            r0 = sum((k - p) ** 2 for p in range(min(k, N)))
            d = [[1 - R[a][b] / r0 for b in range(N)] for a in range(N)]
    else:
        d = D

    def expanded(a):
        first = rank[a][1 : t + 1]
        return first + [n for f in first for n in rank[f][1 : q + 1]]

    out = np.zeros((Q, G))
    for i in range(Q):
        ni = expanded(i)
        for j in range(G):
            nj = expanded(Q + j)
            total = sum(d[n][Q + j] for n in ni) + sum(d[n][i] for n in nj)
            out[i, j] = total / (2 * len(ni))
    return out


def feats(n, dim=4, seed=0):
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def dists(Q, G, metric="euclidean", seed=0):
    qf, gf = feats(Q, seed=seed), feats(G, seed=seed + 100)
    return (compute_distance(qf, gf, metric), compute_distance(qf, qf, metric),
            compute_distance(gf, gf, metric))


@pytest.mark.parametrize("method", ["rankdist", "origdist"])
@pytest.mark.parametrize("t,q,k", [(3, 8, 25), (2, 3, 4), (1, 0, 1), (4, 5, 60)])
def test_matches_the_loop_oracle(method, t, q, k):
    qg, qq, gg = dists(6, 13, "cosine")
    got = ecn_re_ranking(qg, qq, gg, t=t, q=q, method=method, k=k)
    assert got.shape == (6, 13) and got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), oracle(qg, qq, gg, t, q, method, k), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("chunk_bytes", [None, 1])
@pytest.mark.parametrize("method", ["rankdist", "origdist"])
def test_asymmetric_inputs_follow_the_row_convention(method, chunk_bytes, monkeypatch):
    if chunk_bytes is not None:  # one row per chunk
        monkeypatch.setattr(ecn_module, "_CHUNK_BYTES", chunk_bytes)
    g = torch.Generator().manual_seed(3)
    qg, qq, gg = torch.rand(5, 9, generator=g), torch.rand(5, 5, generator=g), torch.rand(9, 9, generator=g)
    got = ecn_re_ranking(qg, qq, gg, t=2, q=3, method=method, k=5)
    np.testing.assert_allclose(got.numpy(), oracle(qg, qq, gg, 2, 3, method, 5), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["rankdist", "origdist"])
def test_ties_and_duplicates_are_broken_by_the_lower_index(method):
    qf = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    gf = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 0.0]])
    qg, qq, gg = (compute_distance(a, b) for a, b in ((qf, gf), (qf, qf), (gf, gf)))
    got = ecn_re_ranking(qg, qq, gg, t=2, q=2, method=method, k=3)
    np.testing.assert_allclose(got.numpy(), oracle(qg, qq, gg, 2, 2, method, 3), rtol=1e-5, atol=1e-6)


def test_rankdist_equals_the_matlab_release_when_every_row_minimum_is_zero():
    qg, qq, gg = dists(8, 22, seed=5)
    mine = ecn_re_ranking(qg, qq, gg, t=2, q=2, k=3).numpy()
    # with k = 3 of 30 items some item shares no top-3 member with each row: min R = 0
    np.testing.assert_allclose(mine, oracle(qg, qq, gg, 2, 2, "rankdist", 3, matlab=True), rtol=1e-5, atol=1e-6)


def test_chunked_paths_match_one_block(monkeypatch):
    qg, qq, gg = dists(7, 11, seed=2)
    whole = {m: ecn_re_ranking(qg, qq, gg, t=2, q=3, method=m, k=6) for m in ecn_module.ECN_METHODS}
    monkeypatch.setattr(ecn_module, "_CHUNK_BYTES", 1)  # one row per chunk, straddling Q
    for m, ref in whole.items():
        torch.testing.assert_close(ecn_re_ranking(qg, qq, gg, t=2, q=3, method=m, k=6), ref)


@pytest.mark.parametrize("method", ["rankdist", "origdist"])
def test_swapping_query_and_gallery_transposes_the_result(method):
    # ECN(p, g) is symmetric in the pair; with distinct distances only the order of items changes
    qg, qq, gg = dists(5, 9, seed=7)
    a = ecn_re_ranking(qg, qq, gg, method=method, k=6)
    b = ecn_re_ranking(qg.t().contiguous(), gg, qq, method=method, k=6)
    torch.testing.assert_close(b, a.t())


def test_properties_range_finite_kinds_and_gallery_order():
    qg, qq, gg = dists(6, 15, seed=4)
    out = ecn_re_ranking(qg.numpy(), qq.numpy(), gg.numpy())
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (6, 15)
    assert np.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()
    perm = torch.randperm(15, generator=torch.Generator().manual_seed(1))
    moved = ecn_re_ranking(qg[:, perm], qq, gg[perm][:, perm])
    np.testing.assert_allclose(moved.numpy(), out[:, perm.numpy()], rtol=1e-5, atol=1e-6)
    orig = ecn_re_ranking(qg.double(), qq.double(), gg.double(), method="origdist")
    assert orig.dtype == torch.float32 and bool(torch.isfinite(orig).all())


def test_parameter_and_input_errors():
    qg, qq, gg = dists(2, 3)  # N = 5: each item has 4 others
    ecn_re_ranking(qg, qq, gg, t=4, q=4, k=100)  # the largest t and q; k may exceed N
    with pytest.raises(ValueError, match="t=5 needs more than 5 items.*hold 5"):
        ecn_re_ranking(qg, qq, gg, t=5, q=1)
    with pytest.raises(ValueError, match="q=5"):
        ecn_re_ranking(qg, qq, gg, t=1, q=5)
    for kwargs, msg in (({"t": 0}, "t must be an integer >= 1"), ({"q": -1}, "q must be"),
                        ({"k": 0}, "k must be"), ({"t": 2.0}, "t must be"), ({"t": True}, "t must be"),
                        ({"method": "kreciprocal"}, "method must be one of")):
        with pytest.raises(ValueError, match=msg):
            ecn_re_ranking(qg, qq, gg, **kwargs)
    with pytest.raises(ValueError, match=r"g_g_dist must be \[3, 3\]"):
        ecn_re_ranking(qg, qq, qq)
    bad = qg.clone()
    bad[0, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf"):
        ecn_re_ranking(bad, qq, gg, t=1, q=1)
    with pytest.raises(ValueError, match="empty"):
        ecn_re_ranking(qg[:0], qq[:0, :0], gg, t=1, q=1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("method", ["rankdist", "origdist"])
def test_cuda_matches_the_oracle(method):
    qg, qq, gg = dists(6, 13, "cosine")
    out = ecn_re_ranking(*(x.cuda() for x in (qg, qq, gg)), method=method, k=6)
    assert out.is_cuda
    np.testing.assert_allclose(out.cpu().numpy(), oracle(qg, qq, gg, 3, 8, method, 6), rtol=1e-5, atol=1e-6)
