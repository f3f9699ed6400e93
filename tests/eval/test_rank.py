"""evaluate_rank against a plain per-query loop (the oracle) and hand-made cases."""

import numpy as np
import pytest

from vreid.eval import evaluate_rank


def loop_oracle(dist, qp, gp, qc, gc, max_rank):
    """Per query: stable argsort, drop same pid + camera, score; CMC padded to max_rank."""
    max_rank = min(max_rank, dist.shape[1])
    cmcs, aps, inps, ap_rows = [], [], [], np.full(len(qp), np.nan)
    for i in range(len(qp)):
        order = np.argsort(dist[i], kind="stable")
        keep = [j for j in order if not (gp[j] == qp[i] and gc[j] == qc[i])]
        matches = np.array([gp[j] == qp[i] for j in keep], dtype=float)
        if not matches.any():
            continue
        cmc = np.minimum(matches.cumsum(), 1)[:max_rank]
        cmcs.append(np.concatenate([cmc, np.ones(max_rank - len(cmc))]))
        hits = np.flatnonzero(matches)
        aps.append(np.mean([(k + 1) / (r + 1) for k, r in enumerate(hits)]))
        ap_rows[i] = aps[-1]
        inps.append(len(hits) / (hits[-1] + 1))
    return np.mean(cmcs, 0), np.mean(aps), np.mean(inps), len(aps), ap_rows


@pytest.mark.parametrize("seed", range(5))
def test_matches_loop_oracle_on_random_cases(seed):
    rng = np.random.default_rng(seed)
    nq, ng = 37, 120
    qp, gp = rng.integers(0, 15, nq), rng.integers(0, 15, ng)
    qc, gc = rng.integers(0, 3, nq), rng.integers(0, 3, ng)
    dist = rng.integers(0, 20, (nq, ng)).astype(np.float32)  # many ties
    res = evaluate_rank(dist, qp, gp, qc, gc, max_rank=50, chunk=8)
    cmc, m_ap, m_inp, valid, _ = loop_oracle(dist, qp, gp, qc, gc, 50)
    np.testing.assert_allclose(res.cmc, cmc, atol=1e-12)
    assert res.mAP == pytest.approx(m_ap) and res.mINP == pytest.approx(m_inp)
    assert res.num_valid == valid


def test_hand_made_case():
    # query pid 1 cam 0; gallery: [same pid same cam (removed), distractor, true match cam 1]
    dist = np.array([[0.1, 0.2, 0.3]])
    res = evaluate_rank(dist, [1], [1, 0, 1], [0], [0, 1, 1], max_rank=3)
    # after removal: distractor at rank 1, match at rank 2
    assert res.cmc.tolist() == [0.0, 1.0, 1.0]
    assert res.mAP == pytest.approx(0.5) and res.mINP == pytest.approx(0.5)


def test_query_without_valid_match_is_skipped():
    dist = np.array([[0.1, 0.2], [0.1, 0.2]])
    # query 0 only matches itself in the same camera -> skipped
    res = evaluate_rank(dist, [5, 6], [5, 6], [0, 0], [0, 1], max_rank=2)
    assert res.num_valid == 1 and np.isnan(res.ap[0])
    assert res.cmc[-1] == 1.0


def test_single_camera_gallery_has_no_valid_query():
    with pytest.raises(ValueError, match="no query has a true match"):
        evaluate_rank(np.zeros((2, 3)), [1, 2], [1, 2, 3], [0, 0], [0, 0, 0])


@pytest.mark.parametrize("bad,msg", [
    (np.zeros((0, 3)), "empty"),
    (np.array([[np.nan, 1.0]]), "NaN"),
])
def test_bad_input(bad, msg):
    n, m = bad.shape
    with pytest.raises(ValueError, match=msg):
        evaluate_rank(bad, [0] * n, [0] * m, [0] * n, [1] * m)


def test_shape_mismatch_named():
    with pytest.raises(ValueError, match="g_pids has 2 entries"):
        evaluate_rank(np.zeros((1, 3)), [0], [0, 1], [0], [1, 1, 1])


# ---------------------------------------------------------------------------
# the fast engine against the oracle on harder random cases, and its other inputs

import torch  # noqa: E402

from vreid.eval import compute_distance, evaluate_rank_features  # noqa: E402


def assert_same(res, dist, qp, gp, qc, gc, max_rank):
    cmc, m_ap, m_inp, valid, ap_rows = loop_oracle(np.asarray(dist), qp, gp, qc, gc, max_rank)
    np.testing.assert_allclose(res.cmc, cmc, atol=1e-12)
    assert res.mAP == pytest.approx(m_ap, abs=1e-12) and res.mINP == pytest.approx(m_inp, abs=1e-12)
    assert res.num_valid == valid
    np.testing.assert_allclose(res.ap, ap_rows, atol=1e-12)


def random_case(rng, nq, ng, n_ids, n_cams, levels=None, dtype=np.float32):
    qp, gp = rng.integers(0, n_ids, nq), rng.integers(0, n_ids + 3, ng)  # some distractor pids
    qc, gc = rng.integers(0, n_cams, nq), rng.integers(0, n_cams, ng)
    if levels is None:
        dist = rng.random((nq, ng)).astype(dtype)
    else:
        dist = rng.integers(0, levels, (nq, ng)).astype(dtype)
    return dist, qp, gp, qc, gc


@pytest.mark.parametrize("seed", range(12))
def test_engine_matches_oracle_varied(seed):
    rng = np.random.default_rng(100 + seed)
    nq, ng = int(rng.integers(1, 40)), int(rng.integers(1, 150))
    n_ids, n_cams = int(rng.integers(1, 12)), int(rng.integers(1, 4))
    if seed % 6 != 5:  # mostly cases with valid queries; some single-camera ones
        nq, ng, n_cams = max(nq, 5), max(ng, 30), max(n_cams, 2)
    levels = [None, 2, 5, 40][seed % 4]  # from no ties to almost all tied
    dtype = [np.float32, np.float64, np.int64][seed % 3]
    dist, qp, gp, qc, gc = random_case(rng, nq, ng, n_ids, n_cams, levels, dtype)
    if seed % 5 == 0:
        dist = -dist  # negative distances (e.g. negated similarities)
    max_rank = int(rng.integers(1, 200))  # often larger than the gallery
    chunk = int(rng.integers(1, 50))
    has_valid = any(((gp == qp[i]) & (gc != qc[i])).any() for i in range(nq))
    if not has_valid:
        with pytest.raises(ValueError, match="no query has a true match"):
            evaluate_rank(dist, qp, gp, qc, gc, max_rank=max_rank, chunk=chunk)
        return
    res = evaluate_rank(dist, qp, gp, qc, gc, max_rank=max_rank, chunk=chunk)
    assert len(res.cmc) == min(max_rank, ng)
    assert_same(res, dist, qp, gp, qc, gc, max_rank)


@pytest.mark.parametrize("levels", [None, 3])
def test_engine_many_matches_and_ties_per_row(levels):
    # many same-pid items per query, so that rows take the argsort tie path too
    rng = np.random.default_rng(7)
    dist, qp, gp, qc, gc = random_case(rng, 25, 400, 2, 3, levels)
    res = evaluate_rank(dist, qp, gp, qc, gc, max_rank=50, chunk=7)
    assert_same(res, dist, qp, gp, qc, gc, 50)


def test_constant_distances_rank_in_gallery_order():
    rng = np.random.default_rng(3)
    qp, gp = rng.integers(0, 3, 10), rng.integers(0, 3, 300)
    qc, gc = np.zeros(10, int), rng.integers(0, 2, 300)
    dist = np.zeros((10, 300), np.float32)
    res = evaluate_rank(dist, qp, gp, qc, gc, max_rank=20)
    assert_same(res, dist, qp, gp, qc, gc, 20)


def test_signed_zero_and_inf_ties():
    dist = np.array([[0.0, -0.0, np.inf, 0.0, np.inf, -np.inf]], np.float32)
    qp, gp = [1], [1, 1, 1, 2, 1, 1]
    qc, gc = [0], [1, 1, 1, 1, 1, 1]
    assert_same(evaluate_rank(dist, qp, gp, qc, gc), dist, qp, gp, qc, gc, 50)


def test_single_camera_query_and_distractors():
    # every gallery item in camera 0 except one match per query; the rest are distractors
    rng = np.random.default_rng(11)
    nq, ng = 8, 60
    qp = np.arange(nq)
    gp = np.concatenate([np.arange(nq), np.arange(nq), np.full(ng - 2 * nq, -1)])
    gc = np.concatenate([np.zeros(nq, int), np.ones(nq, int), np.zeros(ng - 2 * nq, int)])
    qc = np.zeros(nq, int)
    dist = rng.random((nq, ng)).astype(np.float32)
    res = evaluate_rank(dist, qp, gp, qc, gc, max_rank=10)
    assert_same(res, dist, qp, gp, qc, gc, 10)


def test_torch_tensor_and_memmap_inputs(tmp_path):
    rng = np.random.default_rng(5)
    dist, qp, gp, qc, gc = random_case(rng, 30, 90, 8, 3, levels=6)
    ref = evaluate_rank(dist, qp, gp, qc, gc, chunk=4)
    res_t = evaluate_rank(torch.from_numpy(dist), torch.from_numpy(qp), gp, qc, gc, chunk=7)
    path = tmp_path / "dist.f32"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=dist.shape)
    mm[:] = dist
    mm.flush()
    del mm
    res_m = evaluate_rank(np.memmap(path, dtype=np.float32, mode="r", shape=dist.shape),
                          qp, gp, qc, gc, chunk=11)
    for res in (res_t, res_m):
        np.testing.assert_array_equal(res.cmc, ref.cmc)
        assert res.mAP == ref.mAP and res.mINP == ref.mINP and res.num_valid == ref.num_valid
    assert_same(ref, dist, qp, gp, qc, gc, 50)


def test_nan_found_in_a_later_chunk():
    dist = np.zeros((10, 4), np.float32)
    dist[9, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        evaluate_rank(dist, [0] * 10, [0] * 4, [0] * 10, [1] * 4, chunk=3)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_features_equal_full_distance_matrix(metric):
    rng = np.random.default_rng(9)
    if metric == "euclidean":
        # small integer features: exact distances in float32, with many ties
        q = torch.from_numpy(rng.integers(-2, 3, (33, 6)).astype(np.float32))
        g = torch.from_numpy(rng.integers(-2, 3, (140, 6)).astype(np.float32))
    else:
        # normalised features are not exact: a different GEMM shape per chunk may move
        # a distance by an ulp, which would reorder exact ties; use untied features
        q, g = torch.randn(33, 16, generator=torch.Generator().manual_seed(0)), \
            torch.randn(140, 16, generator=torch.Generator().manual_seed(1))
    qp, gp = rng.integers(0, 10, 33), rng.integers(0, 10, 140)
    qc, gc = rng.integers(0, 3, 33), rng.integers(0, 3, 140)
    dist = compute_distance(q, g, metric)
    ref = evaluate_rank(dist, qp, gp, qc, gc, max_rank=30)
    for chunk in (1, 5, None):
        res = evaluate_rank_features(q, g, qp, gp, qc, gc, metric=metric, max_rank=30, chunk=chunk)
        np.testing.assert_allclose(res.cmc, ref.cmc, atol=1e-12)
        assert res.mAP == pytest.approx(ref.mAP, abs=1e-12)
        assert res.mINP == pytest.approx(ref.mINP, abs=1e-12)
        assert res.num_valid == ref.num_valid
    if metric == "euclidean":
        assert_same(ref, dist.numpy(), qp, gp, qc, gc, 30)


def test_features_bad_input():
    with pytest.raises(ValueError, match="metric"):
        evaluate_rank_features(torch.zeros(2, 3), torch.zeros(2, 3), [0, 1], [0, 1], [0, 0], [1, 1],
                               metric="manhattan")
    with pytest.raises(ValueError, match="features must be"):
        evaluate_rank_features(torch.zeros(2, 3), torch.zeros(2, 4), [0, 1], [0, 1], [0, 0], [1, 1])
    with pytest.raises(ValueError, match="empty"):
        evaluate_rank_features(torch.zeros(0, 3), torch.zeros(2, 3), [], [0, 1], [], [1, 1])
    with pytest.raises(ValueError, match="g_pids has 1 entries"):
        evaluate_rank_features(torch.zeros(2, 3), torch.zeros(2, 3), [0, 1], [0], [0, 0], [1, 1])


def test_threaded_row_sort(monkeypatch):
    import vreid.eval.rank as rank_mod

    monkeypatch.setattr(rank_mod, "_PARALLEL_SORT_MIN", 0)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    rng = np.random.default_rng(21)
    dist, qp, gp, qc, gc = random_case(rng, 40, 200, 6, 3, levels=30)
    assert_same(evaluate_rank(dist, qp, gp, qc, gc, chunk=13), dist, qp, gp, qc, gc, 50)


# ---------------------------------------------------------------------------
# gallery_mask (sensor-metadata pruning): pruned true matches are misses

def masked_oracle(dist, qp, gp, qc, gc, keep, max_rank):
    """Per query: rank only kept items; every (unpruned or pruned) true match counts in AP."""
    max_rank = min(max_rank, dist.shape[1])
    cmcs, aps, inps = [], [], []
    for i in range(len(qp)):
        n_pos = sum(1 for j in range(len(gp)) if gp[j] == qp[i] and gc[j] != qc[i])
        if n_pos == 0:
            continue
        order = [j for j in np.argsort(dist[i], kind="stable") if keep[i, j]]
        order = [j for j in order if not (gp[j] == qp[i] and gc[j] == qc[i])]
        hits = np.flatnonzero([gp[j] == qp[i] for j in order])
        cmc = np.zeros(max_rank)
        if hits.size and hits[0] < max_rank:
            cmc[hits[0]:] = 1
        cmcs.append(cmc)
        aps.append(sum((k + 1) / (r + 1) for k, r in enumerate(hits)) / n_pos)
        inps.append(n_pos / (hits[-1] + 1) if len(hits) == n_pos else 0.0)
    return np.mean(cmcs, 0), np.mean(aps), np.mean(inps), len(aps)


@pytest.mark.parametrize("seed", range(4))
def test_gallery_mask_matches_oracle(seed):
    rng = np.random.default_rng(100 + seed)
    nq, ng = 29, 80
    qp, gp = rng.integers(0, 10, nq), rng.integers(0, 10, ng)
    qc, gc = rng.integers(0, 3, nq), rng.integers(0, 3, ng)
    dist = rng.integers(0, 15, (nq, ng)).astype(np.float32)
    keep = rng.random((nq, ng)) < 0.5
    res = evaluate_rank(dist, qp, gp, qc, gc, max_rank=50, chunk=7, gallery_mask=keep)
    cmc, m_ap, m_inp, valid = masked_oracle(dist, qp, gp, qc, gc, keep, 50)
    np.testing.assert_allclose(res.cmc, cmc, atol=1e-12)
    assert res.mAP == pytest.approx(m_ap) and res.mINP == pytest.approx(m_inp)
    assert res.num_valid == valid


def test_gallery_mask_all_true_changes_nothing():
    rng = np.random.default_rng(7)
    dist = rng.random((12, 30))
    ids = rng.integers(0, 4, 12), rng.integers(0, 4, 30), rng.integers(0, 2, 12), rng.integers(0, 2, 30)
    a = evaluate_rank(dist, *ids)
    b = evaluate_rank(dist, *ids, gallery_mask=np.ones((12, 30), bool))
    np.testing.assert_array_equal(a.cmc, b.cmc)
    assert a.mAP == b.mAP and a.mINP == b.mINP


def test_gallery_mask_hand_made():
    # query pid 1 cam 0; gallery: distractor (closest), match A (cam 1), match B (cam 2)
    dist = np.array([[0.1, 0.2, 0.3]])
    ids = ([1], [0, 1, 1], [0], [1, 1, 2])
    # prune the distractor and match A: B is found at rank 1, A is a miss -> AP = 1/2
    res = evaluate_rank(dist, *ids, max_rank=3, gallery_mask=[[False, False, True]])
    assert res.cmc.tolist() == [1.0, 1.0, 1.0]
    assert res.mAP == pytest.approx(0.5) and res.mINP == 0.0
    # prune both matches: the query stays valid and misses everything
    res = evaluate_rank(dist, *ids, max_rank=3, gallery_mask=[[True, False, False]])
    assert res.num_valid == 1 and res.cmc.tolist() == [0.0, 0.0, 0.0] and res.mAP == 0.0
    with pytest.raises(ValueError, match="gallery_mask has shape"):
        evaluate_rank(dist, *ids, gallery_mask=[[True, True]])


@pytest.mark.parametrize("seed", range(3))
def test_per_query_outputs_match_the_oracle_and_the_aggregates(seed):
    nq, ng = 29, 90
    dist, qp, gp, qc, gc = random_case(np.random.default_rng(seed), nq, ng, 12, 3, levels=20)
    res = evaluate_rank(dist, qp, gp, qc, gc, max_rank=50, chunk=7)
    valid = np.isfinite(res.ap)
    first, inp = [], []
    for i in np.flatnonzero(valid):  # first match and INP by a plain loop
        order = np.argsort(dist[i], kind="stable")
        keep = [j for j in order if not (gp[j] == qp[i] and gc[j] == qc[i])]
        hits = np.flatnonzero([gp[j] == qp[i] for j in keep])
        first.append(hits[0])
        inp.append(len(hits) / (hits[-1] + 1))
    assert res.first_match[valid].tolist() == first
    assert (res.first_match[~valid] == -1).all() and np.isnan(res.inp[~valid]).all()
    np.testing.assert_allclose(res.inp[valid], inp)
    for k in (1, 5, 10):  # the aggregates are the per-query means
        assert res.rank(k) == pytest.approx(np.mean(res.first_match[valid] < k))
    assert res.mINP == pytest.approx(np.mean(res.inp[valid]))
