"""CMC, mAP and mINP under the standard re-ID protocol, vectorised over query chunks.

Protocol: for each query, gallery items with the query's pid AND camid are removed;
a query with no remaining true match is skipped. CMC is the clipped cumulative match
curve; AP the mean precision at each true match; INP = #matches / rank of the last
match (Ye et al., 2021). Ties are broken by a stable sort on the gallery order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RankResult:
    cmc: np.ndarray  # [max_rank], fraction of valid queries matched within rank k
    mAP: float
    mINP: float
    ap: np.ndarray  # [num_query], NaN for queries with no valid match
    num_valid: int

    def rank(self, k: int) -> float:
        return float(self.cmc[min(k, len(self.cmc)) - 1])


def _as_1d(name: str, values, length: int) -> np.ndarray:
    arr = np.asarray(values).reshape(-1)
    if arr.shape[0] != length:
        raise ValueError(f"{name} has {arr.shape[0]} entries, the distance matrix needs {length}")
    return arr


def evaluate_rank(
    distmat,
    q_pids,
    g_pids,
    q_camids,
    g_camids,
    max_rank: int = 50,
    chunk: int = 256,
) -> RankResult:
    distmat = np.asarray(distmat)
    if distmat.ndim != 2:
        raise ValueError(f"distmat must be 2-D, got shape {distmat.shape}")
    nq, ng = distmat.shape
    if nq == 0 or ng == 0:
        raise ValueError(f"empty query ({nq}) or gallery ({ng})")
    if np.isnan(distmat).any():
        raise ValueError("distmat contains NaN")
    q_pids, q_camids = _as_1d("q_pids", q_pids, nq), _as_1d("q_camids", q_camids, nq)
    g_pids, g_camids = _as_1d("g_pids", g_pids, ng), _as_1d("g_camids", g_camids, ng)
    max_rank = min(max_rank, ng)

    hits = np.zeros(max_rank, dtype=np.int64)
    ap = np.full(nq, np.nan)
    inp = np.full(nq, np.nan)
    for start in range(0, nq, chunk):
        stop = min(start + chunk, nq)
        order = np.argsort(distmat[start:stop], axis=1, kind="stable")
        pid_sorted, cam_sorted = g_pids[order], g_camids[order]
        same_pid = pid_sorted == q_pids[start:stop, None]
        keep = ~(same_pid & (cam_sorted == q_camids[start:stop, None]))
        match = same_pid & keep
        n_match = match.sum(1)
        rank_of = np.cumsum(keep, axis=1)  # 1-based rank among kept items
        cum_match = np.cumsum(match, axis=1)
        valid = n_match > 0
        # first true match rank -> CMC
        first = np.where(match, rank_of, np.iinfo(np.int64).max).min(1)
        for r in first[valid]:
            if r <= max_rank:
                hits[r - 1] += 1
        precision_sum = np.where(match, cum_match / np.maximum(rank_of, 1), 0.0).sum(1)
        last = np.where(match, rank_of, 0).max(1)
        rows = np.arange(start, stop)[valid]
        ap[rows] = precision_sum[valid] / n_match[valid]
        inp[rows] = n_match[valid] / last[valid]
    num_valid = int(np.isfinite(ap).sum())
    if num_valid == 0:
        raise ValueError("no query has a true match in the gallery from another camera")
    cmc = np.cumsum(hits) / num_valid
    return RankResult(cmc=cmc, mAP=float(np.nanmean(ap)), mINP=float(np.nanmean(inp)),
                      ap=ap, num_valid=num_valid)
