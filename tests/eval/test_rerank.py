import numpy as np
import pytest
import torch

from vreid.eval.distance import compute_distance
from vreid.eval.rerank import RerankMemoryError, estimate_rerank_memory, re_ranking, re_ranking_features


def oracle(q_g, q_q, g_g, k1=20, k2=6, lambda_value=0.3, vdtype=np.float32):
    """Plain per-item transcription of the k-reciprocal re-ranking description (numpy).

    Ties in the initial ranking are broken by the lower index (stable sort).
    """
    q_g, q_q, g_g = (np.asarray(x) for x in (q_g, q_q, g_g))
    Q, G = q_g.shape
    N = Q + G
    full = np.block([[q_q, q_g], [q_g.T, g_g]])
    full = np.power(full, 2).astype(np.float32)
    full = (full / full.max(axis=0)).T  # column i divided by its max, then transposed
    rank = np.argsort(full, axis=1, kind="stable")

    def reciprocal(i, n):
        return [j for j in rank[i, :n] if i in rank[j, :n]]

    half_n = int(round(k1 / 2.0)) + 1
    V = np.zeros((N, N), dtype=vdtype)
    for i in range(N):
        recip = reciprocal(i, k1 + 1)
        expanded = list(recip)
        for c in recip:
            half = reciprocal(c, half_n)
            if len(set(half) & set(recip)) > 2.0 / 3.0 * len(half):
                expanded += half
        members = np.unique(np.array(expanded, dtype=np.int64))
        w = np.exp(-full[i, members])
        V[i, members] = w / w.sum()
    if k2 != 1:
        V = np.stack([V[rank[i, :k2]].mean(axis=0) for i in range(N)]).astype(vdtype)
    jac = np.zeros((Q, N), dtype=vdtype)
    for i in range(Q):
        s = np.minimum(V[i][None, :], V).sum(axis=1)
        jac[i] = 1 - s / (2.0 - s)
    final = jac * (1 - lambda_value) + full[:Q] * lambda_value
    return final[:, Q:]


def _feature_dists(q, g, metric="euclidean"):
    q, g = torch.as_tensor(q), torch.as_tensor(g)
    return (
        compute_distance(q, g, metric).numpy(),
        compute_distance(q, q, metric).numpy(),
        compute_distance(g, g, metric).numpy(),
    )


def _clustered(rng, q, g, d=16, ids=None):
    ids = ids or max(2, (q + g) // 8)
    centres = rng.normal(size=(ids, d)).astype(np.float32)
    lab = rng.integers(0, ids, size=q + g)
    f = centres[lab] + 0.6 * rng.normal(size=(q + g, d)).astype(np.float32)
    return f[:q], f[q:]


def _close(a, b, tol=1e-4):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    assert np.isfinite(a).all()
    err = float(np.abs(a - b).max())
    assert err <= tol, err


@pytest.mark.parametrize(
    "q,g,k1,k2,lam,seed",
    [
        (5, 30, 20, 6, 0.3, 0),
        (20, 80, 20, 6, 0.3, 1),
        (40, 160, 20, 6, 0.3, 2),
        (1, 25, 20, 6, 0.3, 3),
        (30, 120, 7, 3, 0.5, 4),
        (12, 50, 5, 2, 0.2, 5),  # round(5/2) = 2 (half to even), as numpy.around
        (6, 10, 30, 8, 0.3, 6),  # k1 + 1 > N: every item is a neighbour
        (10, 40, 4, 9, 0.3, 7),  # k2 > k1 + 1
    ],
)
def test_matches_oracle_on_feature_distances(q, g, k1, k2, lam, seed):
    rng = np.random.default_rng(seed)
    qf, gf = _clustered(rng, q, g)
    qg, qq, gg = _feature_dists(qf, gf)
    _close(re_ranking(qg, qq, gg, k1, k2, lam), oracle(qg, qq, gg, k1, k2, lam))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_oracle_on_asymmetric_random_matrices(seed):
    # not symmetric: checks the "column divided by its max, then transposed" convention
    rng = np.random.default_rng(seed)
    q, g = 15, 60
    qg = rng.random((q, g)).astype(np.float32) + 0.01
    qq = rng.random((q, q)).astype(np.float32) + 0.01
    gg = rng.random((g, g)).astype(np.float32) + 0.01
    np.fill_diagonal(qq, 0)
    np.fill_diagonal(gg, 0)
    _close(re_ranking(qg, qq, gg, 10, 4, 0.3), oracle(qg, qq, gg, 10, 4, 0.3))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matches_oracle_with_duplicate_features_and_exact_ties(seed):
    rng = np.random.default_rng(seed)
    q, g = 20, 90
    # small-integer features: exact duplicates and many exactly tied distances
    f = rng.integers(0, 3, size=(q + g, 4)).astype(np.float32)
    f[q + 5] = f[0]
    f[q + 6] = f[0]
    qg, qq, gg = _feature_dists(f[:q], f[q:])
    for k1, k2 in ((20, 6), (6, 3), (9, 1)):
        _close(re_ranking(qg, qq, gg, k1, k2, 0.3), oracle(qg, qq, gg, k1, k2, 0.3))


def test_duplicates_of_real_valued_features():
    rng = np.random.default_rng(9)
    qf, gf = _clustered(rng, 15, 70)
    gf[:10] = gf[10:20]  # duplicated gallery tracks
    qf[3] = gf[4]  # a query equal to a gallery item
    qg, qq, gg = _feature_dists(qf, gf)
    _close(re_ranking(qg, qq, gg), oracle(qg, qq, gg))


def test_k2_one_and_lambda_edges():
    rng = np.random.default_rng(11)
    qf, gf = _clustered(rng, 18, 70)
    qg, qq, gg = _feature_dists(qf, gf)
    _close(re_ranking(qg, qq, gg, 20, 1, 0.3), oracle(qg, qq, gg, 20, 1, 0.3))
    only_jaccard = re_ranking(qg, qq, gg, 20, 6, 0.0)
    _close(only_jaccard, oracle(qg, qq, gg, 20, 6, 0.0))
    assert only_jaccard.min() >= -1e-6 and only_jaccard.max() <= 1 + 1e-6
    # lambda = 1: the squared distances, each query row divided by its maximum
    only_orig = re_ranking(qg, qq, gg, 20, 6, 1.0)
    full_max = np.maximum(qg.max(axis=1), qq.max(axis=0)) ** 2
    _close(only_orig, qg**2 / full_max[:, None], 1e-6)
    _close(only_orig, oracle(qg, qq, gg, 20, 6, 1.0))


def test_torch_in_torch_out_and_float64():
    rng = np.random.default_rng(12)
    qf, gf = _clustered(rng, 10, 40)
    qg, qq, gg = _feature_dists(qf, gf)
    expected = oracle(qg, qq, gg)
    out = re_ranking(torch.from_numpy(qg), torch.from_numpy(qq), torch.from_numpy(gg))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (10, 40)
    _close(out.numpy(), expected)
    out64 = re_ranking(qg.astype(np.float64), qq.astype(np.float64), gg.astype(np.float64))
    assert isinstance(out64, np.ndarray) and out64.dtype == np.float32
    _close(out64, oracle(qg.astype(np.float64), qq.astype(np.float64), gg.astype(np.float64)))


def test_small_chunks_give_the_same_answer(monkeypatch):
    import vreid.eval.rerank as rr

    rng = np.random.default_rng(13)
    qf, gf = _clustered(rng, 25, 90)
    qg, qq, gg = _feature_dists(qf, gf)
    expected = re_ranking(qg, qq, gg)
    monkeypatch.setattr(rr, "_ROW_CHUNK_BYTES", 4 * 115 * 3)
    monkeypatch.setattr(rr, "_EXPAND_CHUNK_ROWS", 7)
    monkeypatch.setattr(rr, "_QE_ENTRIES", 50)
    monkeypatch.setattr(rr, "_PAIR_BUDGET", 100)
    monkeypatch.setattr(rr, "_BLOCK_BYTES", 4 * 90 * 2)
    monkeypatch.setattr(rr, "_PAIR_CHUNK", 5)
    _close(re_ranking(qg, qq, gg), expected, 1e-6)
    _close(re_ranking_features(qf, gf), expected)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_features_equal_matrix_version(metric):
    rng = np.random.default_rng(14)
    qf, gf = _clustered(rng, 30, 110, d=32)
    qg, qq, gg = _feature_dists(qf, gf, metric)
    expected = re_ranking(qg, qq, gg, 20, 6, 0.3)
    _close(expected, oracle(qg, qq, gg, 20, 6, 0.3))
    out = re_ranking_features(qf, gf, 20, 6, 0.3, metric=metric)
    assert isinstance(out, np.ndarray)
    _close(out, expected)
    out_t = re_ranking_features(torch.from_numpy(qf), torch.from_numpy(gf), 20, 6, 0.3, metric=metric, chunk=16)
    assert isinstance(out_t, torch.Tensor)
    _close(out_t.numpy(), expected)


def test_bad_inputs_raise_value_errors():
    rng = np.random.default_rng(15)
    qg = rng.random((4, 9)).astype(np.float32)
    qq = rng.random((4, 4)).astype(np.float32)
    gg = rng.random((9, 9)).astype(np.float32)
    with pytest.raises(ValueError, match="q_q_dist must be"):
        re_ranking(qg, qq[:3, :3], gg)
    with pytest.raises(ValueError, match="g_g_dist must be"):
        re_ranking(qg, qq, gg[:, :8])
    with pytest.raises(ValueError, match="2-D"):
        re_ranking(qg[0], qq, gg)
    with pytest.raises(ValueError, match="empty"):
        re_ranking(qg[:0], qq[:0, :0], gg)
    with pytest.raises(ValueError, match="empty"):
        re_ranking(qg[:, :0], qq, gg[:0, :0])
    for which in range(3):
        mats = [qg.copy(), qq.copy(), gg.copy()]
        mats[which][1, 2] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            re_ranking(*mats)
    bad_inf = gg.copy()
    bad_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        re_ranking(qg, qq, bad_inf)
    with pytest.raises(ValueError, match="all distances 0"):
        re_ranking(np.zeros((2, 3), np.float32), np.zeros((2, 2), np.float32), np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="k1"):
        re_ranking(qg, qq, gg, k1=0)
    with pytest.raises(ValueError, match="k2"):
        re_ranking(qg, qq, gg, k2=0)
    with pytest.raises(ValueError, match="lambda"):
        re_ranking(qg, qq, gg, lambda_value=1.5)
    with pytest.raises(ValueError, match="numpy array or torch tensor"):
        re_ranking(qg.tolist(), qq, gg)
    qf, gf = rng.random((4, 8)).astype(np.float32), rng.random((9, 8)).astype(np.float32)
    with pytest.raises(ValueError, match="features must be"):
        re_ranking_features(qf, gf[:, :7])
    with pytest.raises(ValueError, match="metric"):
        re_ranking_features(qf, gf, metric="manhattan")
    with pytest.raises(ValueError, match="at least one"):
        re_ranking_features(qf[:0], gf)
    qf[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        re_ranking_features(qf, gf)


def test_refuses_up_front_when_memory_is_short():
    rng = np.random.default_rng(16)
    qg = rng.random((4, 9)).astype(np.float32)
    qq = rng.random((4, 4)).astype(np.float32)
    gg = rng.random((9, 9)).astype(np.float32)
    with pytest.raises(RerankMemoryError, match=r"would need about .* bytes"):
        re_ranking(qg, qq, gg, max_memory_bytes=1000)
    with pytest.raises(MemoryError, match="re_ranking_features would need"):
        re_ranking_features(rng.random((4, 8)), rng.random((9, 8)), max_memory_bytes=1000)
    # the output alone at 10,000 x 50,000 is 2 GB: the estimate must count it
    assert estimate_rerank_memory(10_000, 50_000, feature_dim=512) > 10_000 * 50_000 * 4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    rng = np.random.default_rng(17)
    qf, gf = _clustered(rng, 25, 100)
    qg, qq, gg = _feature_dists(qf, gf)
    expected = oracle(qg, qq, gg)
    out = re_ranking(*(torch.from_numpy(x).cuda() for x in (qg, qq, gg)))
    assert out.is_cuda
    _close(out.cpu().numpy(), expected)
    outf = re_ranking_features(torch.from_numpy(qf).cuda(), torch.from_numpy(gf).cuda())
    assert outf.is_cuda
    _close(outf.cpu().numpy(), expected)
