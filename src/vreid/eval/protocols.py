"""Evaluation protocols built on the ranking engine of `rank.py`.

* `evaluate_rank_single_shot`: CUHK03-style single-gallery-shot CMC / mAP. For each
  query and each repeat, one valid gallery item per gallery identity is sampled
  and the query is ranked against that one-item-per-identity gallery; CMC and AP
  are averaged over the repeats.
* `evaluate_splits` / `evaluate_reader_splits`: the small-set protocol of iLIDS-VID
  and PRID2011 (10 random half/half person splits): evaluate every split and
  report the per-split results with the mean and standard deviation of CMC / mAP /
  mINP. `evaluate_reader_splits` plugs into the dataset readers, e.g.::

      from vreid.data.readers import read_dataset
      res = evaluate_reader_splits(
          lambda k: read_dataset("ilids-vid", root, split_id=k),
          lambda index: my_model_rank_result(index),   # -> RankResult
      )
      print(res.summary())

  (the number of splits is taken from the index's `split_info["num_splits"]`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .rank import (
    RankResult,
    _as_distmat,
    _check_block,
    _check_ids,
    _Gallery,
    _to_numpy_block,
)


def evaluate_rank_single_shot(
    distmat,
    q_pids,
    g_pids,
    q_camids,
    g_camids,
    max_rank: int = 50,
    repeats: int = 10,
    seed: int = 0,
    chunk: int = 256,
) -> RankResult:
    """Single-gallery-shot CMC / mAP (CUHK03 style), averaged over `repeats` samplings.

    Definition (exact, and independent of `chunk`): gallery identities are the
    sorted unique gallery pids. For repeat r, U_r = np.random.default_rng([seed, r])
    .random((num_query, num_identities)). For query i and identity g, the valid
    items of g are its gallery items minus those with the query's pid and camid,
    in gallery order; if there are c > 0 of them, item number floor(U_r[i, g] * c)
    is sampled. The query is ranked against its sampled items (stable: gallery
    order breaks ties); it is skipped when its own identity has no valid item.
    With a single true match, AP = INP = 1 / rank, so mINP equals mAP. The CMC has
    min(max_rank, num_identities) entries; `ap` holds per-query AP averaged over
    the repeats.
    """
    distmat = _as_distmat(distmat)
    nq, ng = distmat.shape
    q_pids, g_pids, q_camids, g_camids = _check_ids(nq, ng, q_pids, g_pids, q_camids, g_camids)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    gallery = _Gallery(g_pids, g_camids)
    n_id = len(gallery.upids)
    max_rank = min(max_rank, n_id)
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1, got {max_rank}")
    rngs = [np.random.default_rng([seed, r]) for r in range(repeats)]
    hits = np.zeros(max_rank, dtype=np.int64)
    ap = np.full(nq, np.nan)
    chunk = max(1, int(chunk))
    for start in range(0, nq, chunk):
        block = _check_block(_to_numpy_block(distmat[start:start + chunk]))
        b = block.shape[0]
        qp, qc = q_pids[start:start + b], q_camids[start:start + b]
        own = np.searchsorted(gallery.upids, qp)
        own = np.minimum(own, n_id - 1)
        has_own = gallery.upids[own] == qp
        # the query's own identity: its valid (kept) items, in gallery order
        rows, cols, removed = gallery.same_pid_pairs(qp, qc)
        k_rows, k_cols = rows[~removed], cols[~removed]
        n_kept = np.bincount(k_rows, minlength=b)
        k_offset = np.cumsum(n_kept) - n_kept
        valid = has_own & (n_kept > 0)
        counts = np.broadcast_to(gallery.counts, (b, n_id)).copy()
        counts[np.flatnonzero(has_own), own[has_own]] = n_kept[has_own]
        vrows = np.flatnonzero(valid)
        ap_sum = np.zeros(b)
        for rng in rngs:
            u = rng.random((b, n_id))  # drawn for every row: independent of chunking
            t = np.floor(u * counts).astype(np.int64)
            sampled = gallery.order[gallery.starts[None, :] + np.minimum(t, gallery.counts - 1)]
            if vrows.size == 0:
                continue
            match = k_cols[k_offset[vrows] + t[vrows, own[vrows]]]
            d, v = block[vrows[:, None], sampled[vrows]], block[vrows, match][:, None]
            before = (d < v) | ((d == v) & (sampled[vrows] < match[:, None]))
            before[np.arange(len(vrows)), own[vrows]] = False  # the match itself
            rank = before.sum(1)  # 0-based
            ap_sum[vrows] += 1.0 / (rank + 1.0)
            hits += np.bincount(rank[rank < max_rank], minlength=max_rank)
        ap[start + vrows] = ap_sum[vrows] / repeats
    num_valid = int(np.isfinite(ap).sum())
    if num_valid == 0:
        raise ValueError("no query has a true match in the gallery from another camera")
    cmc = np.cumsum(hits) / (num_valid * repeats)
    m_ap = float(np.nanmean(ap))
    return RankResult(cmc=cmc, mAP=m_ap, mINP=m_ap, ap=ap, num_valid=num_valid)


@dataclass
class SplitsResult:
    """Per-split results of a multi-split protocol and their mean / std (ddof=0)."""

    results: list[RankResult]
    splits: list[Any]
    cmc: np.ndarray  # mean CMC over splits
    cmc_std: np.ndarray
    mAP: float
    mAP_std: float
    mINP: float
    mINP_std: float
    split_info: list[dict] = field(default_factory=list)  # from the readers, when known

    def rank(self, k: int) -> float:
        return float(self.cmc[min(k, len(self.cmc)) - 1])

    def rank_std(self, k: int) -> float:
        return float(self.cmc_std[min(k, len(self.cmc_std)) - 1])

    def summary(self, ranks: Sequence[int] = (1, 5, 10, 20)) -> str:
        parts = [f"{len(self.results)} splits"]
        parts += [f"R{k} {100 * self.rank(k):.1f}±{100 * self.rank_std(k):.1f}" for k in ranks]
        parts.append(f"mAP {100 * self.mAP:.1f}±{100 * self.mAP_std:.1f}")
        parts.append(f"mINP {100 * self.mINP:.1f}±{100 * self.mINP_std:.1f}")
        return ", ".join(parts)


def _pad_cmc(cmc: np.ndarray, length: int) -> np.ndarray:
    # past the gallery size every valid query has been matched: extend with the last value
    return np.concatenate([cmc, np.full(length - len(cmc), cmc[-1])]) if len(cmc) < length else cmc


def average_results(results: Sequence[RankResult], splits: Sequence[Any] | None = None,
                    split_info: list[dict] | None = None) -> SplitsResult:
    """Mean and std (ddof=0) of CMC / mAP / mINP over per-split results."""
    results = list(results)
    if not results:
        raise ValueError("no split results to average")
    length = max(len(r.cmc) for r in results)
    cmcs = np.stack([_pad_cmc(np.asarray(r.cmc, dtype=float), length) for r in results])
    maps = np.array([r.mAP for r in results])
    minps = np.array([r.mINP for r in results])
    return SplitsResult(
        results=results,
        splits=list(splits) if splits is not None else list(range(len(results))),
        cmc=cmcs.mean(0), cmc_std=cmcs.std(0),
        mAP=float(maps.mean()), mAP_std=float(maps.std()),
        mINP=float(minps.mean()), mINP_std=float(minps.std()),
        split_info=split_info or [],
    )


def evaluate_splits(score_fn: Callable[[Any], RankResult],
                    splits: Iterable[Any] = range(10)) -> SplitsResult:
    """Evaluate `score_fn(split)` on every split; per-split results + mean / std."""
    splits = list(splits)
    if not splits:
        raise ValueError("no splits to evaluate")
    results = []
    for s in splits:
        res = score_fn(s)
        if not isinstance(res, RankResult):
            raise TypeError(f"score_fn({s!r}) returned {type(res).__name__}, expected RankResult")
        results.append(res)
    return average_results(results, splits)


def evaluate_reader_splits(
    read_split: Callable[[int], Any],
    score_index: Callable[[Any], RankResult],
    splits: Iterable[int] | None = None,
) -> SplitsResult:
    """The iLIDS-VID / PRID2011 protocol over a dataset reader.

    `read_split(k)` returns the index of split k (e.g.
    `lambda k: read_dataset("prid2011", root, split_id=k)`); `score_index(index)`
    trains/extracts/evaluates on it and returns a RankResult. Without `splits`,
    all `index.split_info["num_splits"]` splits of the reader are evaluated.
    Each index's `split_info` (split id, source file or "generated") is kept.
    """
    first = None
    if splits is None:
        first = read_split(0)
        info = getattr(first, "split_info", None)
        if not isinstance(info, dict) or "num_splits" not in info:
            raise ValueError("the index has no split_info['num_splits']; pass `splits` explicitly")
        splits = range(int(info["num_splits"]))
    splits = list(splits)
    if not splits:
        raise ValueError("no splits to evaluate")
    results, infos = [], []
    for k in splits:
        index = first if (first is not None and k == 0) else read_split(k)
        info = dict(getattr(index, "split_info", None) or {})
        if "split_id" in info and info["split_id"] != k:
            raise ValueError(f"read_split({k}) returned split {info['split_id']}")
        res = score_index(index)
        if not isinstance(res, RankResult):
            raise TypeError(f"score_index returned {type(res).__name__} for split {k}, expected RankResult")
        results.append(res)
        infos.append(info)
    return average_results(results, splits, infos)
