"""CMC, mAP and mINP under the standard re-ID protocol, fast and memory-bounded.

Protocol: for each query, gallery items with the query's pid AND camid are removed;
a query with no remaining true match is skipped. CMC is the clipped cumulative match
curve; AP the mean precision at each true match; INP = #matches / rank of the last
match (Ye et al., 2021). Ties are broken by a stable sort on the gallery order.

How it is computed (exactly the numbers of a per-query stable argsort loop):
only the gallery items that share the query's pid matter (true matches and the
removed same-camera items), so instead of a full argsort of every row we need,
for each such item j, its stable rank among the whole row,

    rank_j = #{k : d_k < d_j} + #{k < j : d_k == d_j},

which a values-only sort of the row (SIMD sort, much cheaper than a stable argsort)
and two binary searches give; the second term is only non-zero when d_j is tied
with another item, which is then counted directly (or, for rows with many ties, by
a stable argsort of that row). The rank among the kept items is rank_j minus the
removed items ranked before j, which only involves the (few) same-pid items.

The query axis is processed in chunks; the distance matrix can be a numpy array, a
numpy memmap or a torch tensor (read one chunk at a time), or it is never built at
all (`evaluate_rank_features` computes one chunk of distances at a time).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from .distance import compute_distance

# a row with more tied same-pid items than this gets one stable argsort instead of
# per-item counting (bounds the worst case, e.g. constant distances, to one argsort)
_TIE_ARGSORT_MIN = 32
# blocks with fewer elements are sorted on one thread
_PARALLEL_SORT_MIN = 1 << 18
# default distance-chunk size of evaluate_rank_features, in bytes of float32 distances
_FEATURE_CHUNK_BYTES = 256 * 2**20


@dataclass
class RankResult:
    cmc: np.ndarray  # [max_rank], fraction of valid queries matched within rank k
    mAP: float
    mINP: float
    ap: np.ndarray  # [num_query], NaN for queries with no valid match
    num_valid: int
    # Per query (the leaderboard's bootstrap resamples them): 0-based rank of the first
    # true match among the kept gallery items (-1: none retrieved or no valid match) and
    # INP (NaN: no valid match). None where a protocol does not compute them.
    first_match: np.ndarray | None = None
    inp: np.ndarray | None = None

    def rank(self, k: int) -> float:
        return float(self.cmc[min(k, len(self.cmc)) - 1])


def _as_1d(name: str, values, length: int) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values).reshape(-1)
    if arr.shape[0] != length:
        raise ValueError(f"{name} has {arr.shape[0]} entries, the distance matrix needs {length}")
    return arr


def _check_sizes(nq: int, ng: int) -> None:
    if nq == 0 or ng == 0:
        raise ValueError(f"empty query ({nq}) or gallery ({ng})")


def _check_ids(nq: int, ng: int, q_pids, g_pids, q_camids, g_camids):
    """Sizes and identity arrays of one evaluation, checked once for every entry point."""
    _check_sizes(nq, ng)
    return (_as_1d("q_pids", q_pids, nq), _as_1d("g_pids", g_pids, ng),
            _as_1d("q_camids", q_camids, nq), _as_1d("g_camids", g_camids, ng))


def _as_distmat(distmat):
    if not isinstance(distmat, (np.ndarray, torch.Tensor)):
        distmat = np.asarray(distmat)
    if distmat.ndim != 2:
        raise ValueError(f"distmat must be 2-D, got shape {tuple(distmat.shape)}")
    return distmat


def _check_block(block: np.ndarray) -> np.ndarray:
    # max propagates NaN: one cheap reduction instead of a full boolean mask
    if block.dtype.kind in "fc" and block.size and np.isnan(np.max(block)):
        raise ValueError("distmat contains NaN")
    return block


def _to_numpy_block(block) -> np.ndarray:
    """A chunk of distances as a numpy array (torch: detached, on CPU; half -> float32)."""
    if isinstance(block, torch.Tensor):
        block = block.detach()
        if block.dtype in (torch.float16, torch.bfloat16):
            block = block.float()  # exact, order preserving
        return block.cpu().numpy()
    return np.asarray(block)


class _Gallery:
    """Gallery grouped by pid: for any query pid, the gallery indices with that pid."""

    def __init__(self, g_pids: np.ndarray, g_camids: np.ndarray):
        self.pids, self.camids = g_pids, g_camids
        self.order = np.argsort(g_pids, kind="stable")  # gallery order within a pid
        sorted_pids = g_pids[self.order]
        self.upids, self.starts, self.counts = np.unique(
            sorted_pids, return_index=True, return_counts=True
        )

    def same_pid_pairs(self, q_pids: np.ndarray, q_camids: np.ndarray):
        """(row, gallery index, removed) for every gallery item sharing its query's pid.

        Rows are ascending, and gallery indices ascending within a row.
        """
        n = len(q_pids)
        loc = np.searchsorted(self.upids, q_pids)
        loc = np.minimum(loc, len(self.upids) - 1)
        found = self.upids[loc] == q_pids
        sizes = np.where(found, self.counts[loc], 0)
        total = int(sizes.sum())
        rows = np.repeat(np.arange(n), sizes)
        offsets = np.cumsum(sizes) - sizes
        within = np.arange(total) - np.repeat(offsets, sizes)
        cols = self.order[np.repeat(self.starts[loc], sizes) + within]
        removed = self.camids[cols] == q_camids[rows]
        return rows, cols, removed


_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0


def _parallel_map(fn: Callable[[int, int], None], n: int, size: int) -> None:
    """fn(start, stop) over `n` items, split over torch's CPU threads when `size` is large.

    The work is numpy sorting / comparing, which releases the GIL.
    """
    workers = min(torch.get_num_threads(), os.cpu_count() or 1, n)
    if workers < 2 or size < _PARALLEL_SORT_MIN:
        fn(0, n)
        return
    global _POOL, _POOL_SIZE
    if _POOL is None or _POOL_SIZE != workers:
        if _POOL is not None:
            _POOL.shutdown(wait=False)
        _POOL, _POOL_SIZE = ThreadPoolExecutor(workers, thread_name_prefix="vreid-eval"), workers
    bounds = np.linspace(0, n, workers + 1).astype(int)
    for f in [_POOL.submit(fn, bounds[i], bounds[i + 1]) for i in range(workers)]:
        f.result()


def _row_ranks(row: np.ndarray, v: np.ndarray, c: np.ndarray) -> np.ndarray:
    """0-based stable rank of row[c] (= v) within `row`."""
    m = row.shape[0]
    # items above the largest queried value never rank before any of them: sort only
    # the rest (with a reasonable model the hardest positive is far from the row end)
    vmax = v.max()
    cand = row[row <= vmax] if vmax < row.max() else row
    srow = np.sort(cand)  # values only: SIMD sort, no index array
    lo = np.searchsorted(srow, v, side="left")
    tied = np.flatnonzero(np.searchsorted(srow, v, side="right") - lo > 1)
    if tied.size == 0:
        return lo
    c = c[tied]
    if tied.size >= _TIE_ARGSORT_MIN:
        inverse = np.empty(m, dtype=np.int64)
        inverse[np.argsort(row, kind="stable")] = np.arange(m)
        lo[tied] = inverse[c]
    else:  # + #{k < j : d_k == d_j}
        eq_before = (row[None, :] == v[tied, None]) & (np.arange(m)[None, :] < c[:, None])
        lo[tied] += eq_before.sum(1)
    return lo


def _stable_ranks(block: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """0-based rank of block[rows, cols] in a stable sort of its row (rows ascending)."""
    vals = block[rows, cols]
    urows, seg_start = np.unique(rows, return_index=True)
    seg_stop = np.append(seg_start[1:], len(rows))
    ranks = np.empty(len(rows), dtype=np.int64)

    def work(start: int, stop: int) -> None:
        for i in range(start, stop):
            a, b = seg_start[i], seg_stop[i]
            ranks[a:b] = _row_ranks(block[urows[i]], vals[a:b], cols[a:b])

    _parallel_map(work, len(urows), len(urows) * block.shape[1])
    return ranks


def _apply_mask(block: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Pruned items move behind every kept item (kept +inf become the largest finite value)."""
    if keep.shape != block.shape:
        raise ValueError(f"gallery_mask chunk has shape {keep.shape}, distances {block.shape}")
    if block.dtype.kind != "f":
        block = block.astype(np.float64)
    return np.where(keep, np.minimum(block, np.finfo(block.dtype).max), np.inf)


def _score_block(block: np.ndarray, q_pids: np.ndarray, q_camids: np.ndarray,
                 gallery: _Gallery, keep: np.ndarray | None = None):
    """Per query of one chunk: 0-based first-match rank (-1: no valid match), AP, INP.

    `keep` (bool, chunk-shaped): pruned true matches still count in the number of
    matches but are never retrieved (a missed match: AP's precision term 0, INP 0).
    """
    n = block.shape[0]
    first = np.full(n, -1, dtype=np.int64)
    ap = np.full(n, np.nan)
    inp = np.full(n, np.nan)
    rows, cols, removed = gallery.same_pid_pairs(q_pids, q_camids)
    n_pos = np.bincount(rows[~removed], minlength=n)
    valid = n_pos > 0
    if not valid.any():
        return first, ap, inp
    sel = valid[rows]
    if keep is not None:
        block = _apply_mask(block, keep)
        ap[valid] = 0.0  # a query whose matches are all pruned scores 0
        inp[valid] = 0.0
        sel &= keep[rows, cols]
    rows, cols, removed = rows[sel], cols[sel], removed[sel]
    ranks = _stable_ranks(block, rows, cols)

    # order each query's same-pid items by rank; subtract removed items ranked before
    order = np.argsort(rows * np.int64(block.shape[1]) + ranks)
    rows, ranks, removed = rows[order], ranks[order], removed[order]
    rem_per_row = np.bincount(rows, weights=removed, minlength=n).astype(np.int64)
    rem_offset = np.cumsum(rem_per_row) - rem_per_row
    removed_before = np.cumsum(removed) - removed - rem_offset[rows]
    pos = ~removed
    prow = rows[pos]
    kept_rank = ranks[pos] - removed_before[pos]  # 0-based rank among kept items
    n_ret = np.bincount(prow, minlength=n)  # retrievable matches (= n_pos without a mask)
    pos_offset = np.cumsum(n_ret) - n_ret
    k = np.arange(1, len(prow) + 1) - pos_offset[prow]  # 1-based index of the match
    precision = k / (kept_rank + 1.0)
    ap[valid] = np.bincount(prow, weights=precision, minlength=n)[valid] / n_pos[valid]
    first[prow[k == 1]] = kept_rank[k == 1]
    last = k == n_pos[prow]
    inp[prow[last]] = n_pos[prow[last]] / (kept_rank[last] + 1.0)
    return first, ap, inp


def _evaluate_blocks(
    blocks: Iterator[tuple[int, np.ndarray]],
    q_pids: np.ndarray,
    q_camids: np.ndarray,
    g_pids: np.ndarray,
    g_camids: np.ndarray,
    max_rank: int,
    gallery_mask: np.ndarray | None = None,
) -> RankResult:
    """The protocol over (start row, distance chunk) pairs: one implementation for all inputs."""
    nq, ng = len(q_pids), len(g_pids)
    max_rank = min(max_rank, ng)
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1, got {max_rank}")
    gallery = _Gallery(g_pids, g_camids)
    hits = np.zeros(max_rank, dtype=np.int64)
    ap = np.full(nq, np.nan)
    inp = np.full(nq, np.nan)
    first_match = np.full(nq, -1, dtype=np.int64)
    for start, block in blocks:
        block = _check_block(_to_numpy_block(block))
        stop = start + block.shape[0]
        keep = None if gallery_mask is None else gallery_mask[start:stop]
        first, ap[start:stop], inp[start:stop] = _score_block(
            block, q_pids[start:stop], q_camids[start:stop], gallery, keep
        )
        first_match[start:stop] = first
        hits += np.bincount(first[(first >= 0) & (first < max_rank)], minlength=max_rank)
    num_valid = int(np.isfinite(ap).sum())
    if num_valid == 0:
        raise ValueError("no query has a true match in the gallery from another camera")
    cmc = np.cumsum(hits) / num_valid
    return RankResult(cmc=cmc, mAP=float(np.nanmean(ap)), mINP=float(np.nanmean(inp)),
                      ap=ap, num_valid=num_valid, first_match=first_match, inp=inp)


def evaluate_rank(
    distmat,
    q_pids,
    g_pids,
    q_camids,
    g_camids,
    max_rank: int = 50,
    chunk: int = 256,
    gallery_mask=None,
) -> RankResult:
    """CMC / mAP / mINP from a [num_query, num_gallery] distance matrix.

    `distmat` may be a numpy array, a numpy memmap or a torch tensor (any device);
    it is read `chunk` query rows at a time, so a memmap is never loaded whole.

    `gallery_mask` ([num_query, num_gallery] bool, True = searched), e.g. the sensor
    pruning of `vreid.eval.metadata.prune_gallery`: a query only ranks its kept items;
    a pruned true match is a miss (it still counts among the query's matches, so AP
    and CMC drop as if it were never retrieved, and INP is 0). Which queries are valid
    does not depend on the mask.
    """
    distmat = _as_distmat(distmat)
    nq, ng = distmat.shape
    q_pids, g_pids, q_camids, g_camids = _check_ids(nq, ng, q_pids, g_pids, q_camids, g_camids)
    if gallery_mask is not None:
        gallery_mask = np.asarray(gallery_mask, dtype=bool)
        if gallery_mask.shape != (nq, ng):
            raise ValueError(f"gallery_mask has shape {gallery_mask.shape}, "
                             f"the distance matrix {(nq, ng)}")
    chunk = max(1, int(chunk))
    blocks = ((s, distmat[s:s + chunk]) for s in range(0, nq, chunk))
    return _evaluate_blocks(blocks, q_pids, q_camids, g_pids, g_camids, max_rank, gallery_mask)


def _as_features(name: str, x) -> torch.Tensor:
    x = torch.as_tensor(x) if not isinstance(x, torch.Tensor) else x.detach()
    if x.dim() != 2:
        raise ValueError(f"{name} must be [N, D], got shape {tuple(x.shape)}")
    return x


def default_feature_chunk(num_gallery: int, budget_bytes: int = _FEATURE_CHUNK_BYTES) -> int:
    """Query rows per distance chunk so that one float32 chunk is about `budget_bytes`."""
    return int(max(16, min(8192, budget_bytes // max(4 * num_gallery, 1))))


def evaluate_rank_features(
    q_feats,
    g_feats,
    q_pids,
    g_pids,
    q_camids,
    g_camids,
    metric: str = "euclidean",
    max_rank: int = 50,
    chunk: int | None = None,
    device: str | torch.device | None = None,
    distance_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> RankResult:
    """CMC / mAP / mINP from features, never materialising the full distance matrix.

    Distances of `chunk` queries at a time are computed with `compute_distance`
    (on `device` if given, else where the features are) and scored as in
    `evaluate_rank`; peak memory is about the features plus a few chunks of
    `chunk x num_gallery` floats. `distance_fn(q_chunk, g)` overrides the metric.
    """
    q = _as_features("q_feats", q_feats)
    g = _as_features("g_feats", g_feats)
    if device is not None:
        q, g = q.to(device), g.to(device)
    nq, ng = q.shape[0], g.shape[0]
    q_pids, g_pids, q_camids, g_camids = _check_ids(nq, ng, q_pids, g_pids, q_camids, g_camids)
    if distance_fn is None:
        compute_distance(q[:1], g[:1], metric)  # bad metric / feature shapes: fail before any work

        def distance_fn(a, b):
            return compute_distance(a, b, metric)
    chunk = default_feature_chunk(ng) if chunk is None else max(1, int(chunk))
    blocks = ((s, distance_fn(q[s:s + chunk], g)) for s in range(0, nq, chunk))
    return _evaluate_blocks(blocks, q_pids, q_camids, g_pids, g_camids, max_rank)
