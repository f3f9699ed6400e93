"""Single-gallery-shot protocol against its own loop oracle; multi-split averaging."""

import numpy as np
import pytest

from vreid.eval import (
    RankResult,
    evaluate_rank,
    evaluate_rank_single_shot,
    evaluate_reader_splits,
    evaluate_splits,
)


def single_shot_oracle(dist, qp, gp, qc, gc, max_rank, repeats, seed):
    """Loop version of the documented definition of evaluate_rank_single_shot."""
    ids = np.unique(gp)
    max_rank = min(max_rank, len(ids))
    cmc_sum, ap_sum = np.zeros(max_rank), np.zeros(len(qp))
    valid = np.zeros(len(qp), bool)
    for r in range(repeats):
        u = np.random.default_rng([seed, r]).random((len(qp), len(ids)))
        for i in range(len(qp)):
            sampled = []
            for g_i, pid in enumerate(ids):
                items = [j for j in range(len(gp))
                         if gp[j] == pid and not (gp[j] == qp[i] and gc[j] == qc[i])]
                if items:
                    sampled.append(items[int(np.floor(u[i, g_i] * len(items)))])
            sampled = np.array(sorted(sampled))  # gallery order, for the stable sort
            order = sampled[np.argsort(dist[i, sampled], kind="stable")]
            matches = gp[order] == qp[i]
            if not matches.any():
                continue
            valid[i] = True
            rank = int(np.flatnonzero(matches)[0])
            cmc = np.zeros(max_rank)
            cmc[rank:] = 1.0 if rank < max_rank else 0.0
            cmc_sum += cmc
            ap_sum[i] += 1.0 / (rank + 1)
    n = valid.sum()
    return cmc_sum / (n * repeats), (ap_sum[valid] / repeats).mean(), int(n)


@pytest.mark.parametrize("seed", range(4))
def test_single_shot_matches_loop_oracle(seed):
    rng = np.random.default_rng(seed)
    nq, ng = 17, 60
    qp, gp = rng.integers(0, 8, nq), rng.integers(0, 9, ng)
    qc, gc = rng.integers(0, 2, nq), rng.integers(0, 2, ng)
    levels = [None, 4][seed % 2]
    dist = rng.random((nq, ng)) if levels is None else rng.integers(0, levels, (nq, ng)).astype(float)
    max_rank = [5, 50][seed % 2]
    for chunk in (3, 256):  # the sampling does not depend on the chunking
        res = evaluate_rank_single_shot(dist, qp, gp, qc, gc, max_rank=max_rank, repeats=3,
                                        seed=seed, chunk=chunk)
        cmc, m_ap, n = single_shot_oracle(dist, qp, gp, qc, gc, max_rank, 3, seed)
        np.testing.assert_allclose(res.cmc, cmc, atol=1e-12)
        assert res.mAP == pytest.approx(m_ap, abs=1e-12) and res.mINP == res.mAP
        assert res.num_valid == n


def test_single_shot_equals_multi_shot_with_one_item_per_identity():
    rng = np.random.default_rng(4)
    nq, ng = 20, 30
    gp, gc = rng.permutation(ng), np.ones(ng, int)
    qp, qc = rng.integers(0, ng, nq), np.zeros(nq, int)
    dist = rng.random((nq, ng)).astype(np.float32)
    a = evaluate_rank_single_shot(dist, qp, gp, qc, gc, max_rank=10, repeats=2)
    b = evaluate_rank(dist, qp, gp, qc, gc, max_rank=10)
    np.testing.assert_allclose(a.cmc, b.cmc)
    assert a.mAP == pytest.approx(b.mAP) and a.num_valid == b.num_valid


def test_single_shot_bad_input():
    with pytest.raises(ValueError, match="no query has a true match"):
        evaluate_rank_single_shot(np.zeros((2, 3)), [1, 2], [1, 2, 3], [0, 0], [0, 0, 0])
    with pytest.raises(ValueError, match="NaN"):
        evaluate_rank_single_shot(np.array([[np.nan, 1.0]]), [0], [0, 1], [0], [1, 1])
    with pytest.raises(ValueError, match="q_camids has 2 entries"):
        evaluate_rank_single_shot(np.zeros((1, 2)), [0], [0, 1], [0, 1], [1, 1])


def fake_result(cmc, m_ap, m_inp):
    cmc = np.asarray(cmc, float)
    return RankResult(cmc=cmc, mAP=m_ap, mINP=m_inp, ap=np.array([m_ap]), num_valid=1)


def test_evaluate_splits_mean_and_std():
    table = {0: fake_result([0.5, 1.0], 0.6, 0.4), 1: fake_result([0.7, 0.8], 0.8, 0.6),
             2: fake_result([1.0], 1.0, 1.0)}  # a shorter CMC is padded with its last value
    res = evaluate_splits(table.__getitem__, [0, 1, 2])
    assert res.splits == [0, 1, 2] and len(res.results) == 3
    np.testing.assert_allclose(res.cmc, [(0.5 + 0.7 + 1.0) / 3, (1.0 + 0.8 + 1.0) / 3])
    np.testing.assert_allclose(res.cmc_std, [np.std([0.5, 0.7, 1.0]), np.std([1.0, 0.8, 1.0])])
    assert res.mAP == pytest.approx(0.8) and res.mAP_std == pytest.approx(np.std([0.6, 0.8, 1.0]))
    assert res.mINP == pytest.approx(2.0 / 3)
    assert res.rank(1) == pytest.approx(res.cmc[0]) and res.rank(99) == pytest.approx(res.cmc[-1])
    assert "3 splits" in res.summary() and "mAP 80.0" in res.summary()
    with pytest.raises(TypeError, match="RankResult"):
        evaluate_splits(lambda k: 0.5, [0])
    with pytest.raises(ValueError, match="no splits"):
        evaluate_splits(table.__getitem__, [])


class FakeIndex:
    def __init__(self, k, num_splits=10):
        self.split_info = {"split_id": k, "num_splits": num_splits, "source": "generated"}


def test_evaluate_reader_splits_reads_every_split_once():
    read = []

    def read_split(k):
        read.append(k)
        return FakeIndex(k)

    res = evaluate_reader_splits(read_split, lambda idx: fake_result([idx.split_info["split_id"] / 10], 0.5, 0.5))
    assert read == list(range(10)) and res.splits == list(range(10))
    assert res.cmc[0] == pytest.approx(0.45) and res.mAP == pytest.approx(0.5) and res.mAP_std == 0
    assert [i["split_id"] for i in res.split_info] == list(range(10))
    res = evaluate_reader_splits(read_split, lambda idx: fake_result([1.0], 1, 1), splits=[3, 4])
    assert res.splits == [3, 4]
    with pytest.raises(ValueError, match="returned split 0"):
        evaluate_reader_splits(lambda k: FakeIndex(0), lambda idx: fake_result([1.0], 1, 1), splits=[2])
    with pytest.raises(ValueError, match="num_splits"):
        evaluate_reader_splits(lambda k: object(), lambda idx: fake_result([1.0], 1, 1))


def test_reader_splits_with_prid2011_reader(tmp_path, caplog):
    from vreid.data.readers import read_dataset

    for cam in ("cam_a", "cam_b"):
        for n in range(1, 13):
            d = tmp_path / "prid_2011" / "multi_shot" / cam / f"person_{n:04d}"
            d.mkdir(parents=True)
            for f in range(1, 23):  # generated splits keep persons with > 21 frames per camera
                (d / f"{f:04d}.png").write_bytes(b"")

    def score(index):
        qp = np.array([t.pid for t in index.query])
        gp = np.array([t.pid for t in index.gallery])
        qc = np.array([t.camid for t in index.query])
        gc = np.array([t.camid for t in index.gallery])
        dist = (np.abs(qp[:, None] - gp[None, :]) % 5).astype(np.float32)  # ties, pid-dependent
        return evaluate_rank(dist, qp, gp, qc, gc, max_rank=6)

    res = evaluate_reader_splits(lambda k: read_dataset("prid2011", str(tmp_path), split_id=k), score)
    assert res.splits == list(range(10)) and all(i["generated"] for i in res.split_info)
    maps = [r.mAP for r in res.results]
    assert res.mAP == pytest.approx(np.mean(maps)) and res.mAP_std == pytest.approx(np.std(maps))
    assert len(res.cmc) == 6
