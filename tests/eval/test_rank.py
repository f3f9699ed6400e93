"""evaluate_rank against a plain per-query loop (the oracle) and hand-made cases."""

import numpy as np
import pytest

from vreid.eval import evaluate_rank


def loop_oracle(dist, qp, gp, qc, gc, max_rank):
    cmcs, aps, inps = [], [], []
    for i in range(len(qp)):
        order = np.argsort(dist[i], kind="stable")
        keep = [j for j in order if not (gp[j] == qp[i] and gc[j] == qc[i])]
        matches = np.array([gp[j] == qp[i] for j in keep], dtype=float)
        if not matches.any():
            continue
        cmc = np.minimum(matches.cumsum(), 1)[:max_rank]
        cmcs.append(cmc)
        hits = np.flatnonzero(matches)
        aps.append(np.mean([(k + 1) / (r + 1) for k, r in enumerate(hits)]))
        inps.append(len(hits) / (hits[-1] + 1))
    return np.mean(cmcs, 0), np.mean(aps), np.mean(inps), len(aps)


@pytest.mark.parametrize("seed", range(5))
def test_matches_loop_oracle_on_random_cases(seed):
    rng = np.random.default_rng(seed)
    nq, ng = 37, 120
    qp, gp = rng.integers(0, 15, nq), rng.integers(0, 15, ng)
    qc, gc = rng.integers(0, 3, nq), rng.integers(0, 3, ng)
    dist = rng.integers(0, 20, (nq, ng)).astype(np.float32)  # many ties
    res = evaluate_rank(dist, qp, gp, qc, gc, max_rank=50, chunk=8)
    cmc, m_ap, m_inp, valid = loop_oracle(dist, qp, gp, qc, gc, 50)
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
