"""Expanded cross neighbourhood (ECN) re-ranking (Sarfraz et al., CVPR 2018, "A pose-sensitive
embedding for person re-identification with expanded cross neighborhood re-ranking"; paper 000's
reference [42], the "+RR" of its table 6). Torch, chunked; the same inputs as ``re_ranking``.

Definitions (the ECN paper's re-ranking section: the expanded neighbourhood, the ECN distance
and the rank-list distance. Its text is not among /work/shared/papers, so section and equation
numbers are not cited; what was checked, term by term, are the authors' two code releases,
``ECN_rerank.m`` (2017) and ``ecn.py`` (2018), github.com/pse-ecn/expanded-cross-neighborhood):

* All ``N = Q + G`` items (queries and gallery together) are ranked against each other. The
  working distance matrix is ``D = [[q_q, q_g], [q_g^T, g_g]]``, read row-wise: ``D[a, b]`` is the
  distance from item ``a`` to item ``b`` (queries first). Item ``a``'s rank list is ``a`` itself
  first, then every other item by ascending ``D[a, .]``, **ties broken by the lower index**
  (the reference sorts the raw row and drops position 1, assuming it is the item itself; the two
  agree unless another item is at distance 0 from ``a`` with a lower index).
* Expanded neighbourhood ``N(a, M) = {N(a, t), N(t, q)}``: the ``t`` first neighbours of ``a``
  (self excluded), followed by the ``q`` first neighbours (self excluded) of each of them;
  ``M = t + t * q`` entries, repeats kept (as the reference does).
* ECN distance of a query ``p`` and a gallery item ``g``:
  ``ECN(p, g) = 1 / (2M) * sum_{j=1..M} [ d(p_Nj, g) + d(g_Nj, p) ]``, where ``p_Nj`` is the
  ``j``-th member of ``N(p, M)``. With the row convention above, ``d(x, y) = D[x, y]``.
* ``d`` is either the input distance (``method="origdist"``; the reference computes cosine
  distances of the features, so pass ``metric: cosine`` distances to match it) or the rank-list
  distance (``method="rankdist"``, the reference's default, the paper's "rank list comparison"):
  with ``pos_a(l)`` the 0-based position of item ``l`` in ``a``'s rank list,
  ``R(a, b) = sum_l max(0, k - pos_a(l)) * max(0, k - pos_b(l))`` (the overlap of the two top-k
  lists, near items weighted more), and ``d(a, b) = 1 - R(a, b) / R(a, a)``.

The variant, chosen here: the authors' two releases turn the similarity ``R`` into a distance
differently. ``ecn.py`` uses ``-R``; ``ECN_rerank.m`` uses ``1 - (R - min_b R(a, b)) /
(max_b R(a, b) - min_b R(a, b))`` per row. ``R(a, a) = sum_{p < min(k, N)} (k - p)^2`` is the same
for every row and is each row's maximum (Cauchy-Schwarz), so ``1 - R / R(a, a)`` is an increasing
affine map of ``-R``: the ECN rankings are exactly those of ``ecn.py``, and the values are those of
``ECN_rerank.m`` whenever every row's minimum is 0 (some item shares no top-k member with it: the
usual case once ``N`` is well above ``k``). Distances lie in [0, 1].

Defaults ``t = 3``, ``q = 8``, ``k = 25``, ``method = "rankdist"`` are the reference's. ``t`` and
``q`` must be at most ``N - 1`` (each item has ``N - 1`` others): larger values raise
``ValueError`` rather than being clamped, since a clamped ``M`` would be a different method.
``k`` may exceed ``N``: then every position gets the positive weight ``k - pos``, as the
reference's ``max(0, k - pos)`` gives.
"""

from __future__ import annotations

import numpy as np
import torch

from .rerank import _distance_inputs, _finish, _stable_topk

__all__ = ["ECN_METHODS", "ecn_re_ranking"]

ECN_METHODS = ("rankdist", "origdist")

_CHUNK_BYTES = 32 << 20  # bound on every [chunk, ...] temporary


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _work_dtype(*ts: torch.Tensor) -> torch.dtype:
    dtype = torch.float32
    for t in ts:
        if t.dtype == torch.float64:
            dtype = torch.float64
    return dtype


def _rank_lists(qg: torch.Tensor, qq: torch.Tensor, gg: torch.Tensor, length: int) -> torch.Tensor:
    """[N, length] first entries of every item's rank list: itself, then others ascending."""
    Q, G = qg.shape
    N = Q + G
    device, dtype = qg.device, _work_dtype(qg, qq, gg)
    ranks = torch.empty(N, length, dtype=torch.long, device=device)
    step = max(1, _CHUNK_BYTES // (4 * N))
    for a in range(0, N, step):
        b = min(a + step, N)
        qa, qb, ga, gb = min(a, Q), min(b, Q), max(a, Q) - Q, max(b, Q) - Q
        rows = torch.cat([torch.cat([qq[qa:qb], qg[qa:qb]], dim=1).to(dtype),  # query rows
                          torch.cat([qg[:, ga:gb].t(), gg[ga:gb]], dim=1).to(dtype)])  # gallery
        if not bool(torch.isfinite(rows).all()):
            raise ValueError("distances contain NaN or inf")
        # the item itself first, whatever its own distance (ties elsewhere: lower index)
        rows[torch.arange(b - a, device=device), torch.arange(a, b, device=device)] = -torch.inf
        ranks[a:b] = _stable_topk(rows, length)
    return ranks


def _orig_terms(qg, qq, gg, nbrs: torch.Tensor, out: torch.Tensor) -> None:
    """out += sum_j D[p_Nj, g] + sum_j D[g_Nj, p], D the input distances (origdist)."""
    Q, G = qg.shape
    m = nbrs.shape[1]
    dtype = out.dtype
    # queries: D[n, Q + g] is q_g[n, g] (n a query) or g_g[n - Q, g] (n a gallery item)
    step = max(1, _CHUNK_BYTES // (4 * m * G))
    for a in range(0, Q, step):
        b = min(a + step, Q)
        idx = nbrs[a:b].reshape(-1)
        isq = idx < Q
        vals = torch.empty(idx.shape[0], G, dtype=dtype, device=out.device)
        vals[isq] = qg[idx[isq]].to(dtype)
        vals[~isq] = gg[idx[~isq] - Q].to(dtype)
        out[a:b] += vals.view(b - a, m, G).sum(1)
    # gallery: D[n, p] is q_q[n, p] (n a query) or q_g[p, n - Q] (n a gallery item)
    step = max(1, _CHUNK_BYTES // (4 * m * Q))
    for a in range(0, G, step):
        b = min(a + step, G)
        idx = nbrs[Q + a : Q + b].reshape(-1)
        isq = idx < Q
        vals = torch.empty(Q, idx.shape[0], dtype=dtype, device=out.device)
        vals[:, isq] = qq[idx[isq]].t().to(dtype)
        vals[:, ~isq] = qg[:, idx[~isq] - Q].to(dtype)
        out[:, a:b] += vals.view(Q, b - a, m).sum(2)


def _rank_terms(ranks: torch.Tensor, k: int, Q: int, nbrs: torch.Tensor, out: torch.Tensor) -> None:
    """out += sum_j d_r(p_Nj, g) + sum_j d_r(g_Nj, p), d_r = 1 - R / R(a, a) (rankdist).

    R is linear in each argument's weight vector F[a] (F[a, ranks[a, i]] = k - i), so the sum over
    a neighbourhood is one aggregated vector W = sum_j F[Nj], matched against the other side's
    top-k list: sum_j R(Nj, x) = sum_i W[ranks[x, i]] * (k - i). No N x N matrix is formed.
    """
    N = ranks.shape[0]
    G = N - Q
    m = nbrs.shape[1]
    ke = min(k, N)
    dtype, device = out.dtype, out.device
    w = torch.arange(k, k - ke, -1, dtype=dtype, device=device)  # k, k-1, ..., k-ke+1
    r0 = float((w * w).sum())
    top = ranks[:, :ke]

    def aggregated(items: slice) -> torch.Tensor:
        cols = top[nbrs[items]].reshape(nbrs[items].shape[0], m * ke)
        agg = torch.zeros(cols.shape[0], N, dtype=dtype, device=device)
        return agg.scatter_add_(1, cols, w.repeat(m).expand_as(cols).contiguous())

    def matched(agg: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
        """[len(others), chunk]: sum_j R(Nj, x) for every x of `others` (row gathers of agg^T,
        about 3x faster on CPU than the column gathers of agg)."""
        agg_t = agg.t().contiguous()
        s = torch.zeros(others.shape[0], agg.shape[0], dtype=dtype, device=device)
        for i in range(ke):
            s.add_(agg_t[others[:, i]], alpha=float(w[i]))
        return s

    step = max(1, _CHUNK_BYTES // (4 * N))
    for a in range(0, Q, step):  # sum_j d_r(p_Nj, g) = M - sum_j R(p_Nj, g) / R0
        b = min(a + step, Q)
        out[a:b] += (m - matched(aggregated(slice(a, b)), top[Q:]) / r0).t()
    for a in range(0, G, step):  # sum_j d_r(g_Nj, p)
        b = min(a + step, G)
        out[:, a:b] += m - matched(aggregated(slice(Q + a, Q + b)), top[:Q]) / r0


def ecn_re_ranking(
    q_g_dist,
    q_q_dist,
    g_g_dist,
    t: int = 3,
    q: int = 8,
    method: str = "rankdist",
    k: int = 25,
):
    """ECN re-ranking of a query-gallery distance matrix -> ECN distances [Q, G].

    ``q_g_dist`` [Q, G], ``q_q_dist`` [Q, Q], ``g_g_dist`` [G, G] are numpy arrays or torch tensors
    (any device; the work runs on ``q_g_dist``'s device), used as given (not squared). ``t``: first
    neighbours per item, ``q``: neighbours of each of those, ``method``: ``"rankdist"`` (rank-list
    distance over the top ``k``) or ``"origdist"`` (the input distances); see the module text.
    Returns float32 of the same kind (numpy / torch) as ``q_g_dist``; lower is closer, so it goes
    straight into ``evaluate_rank``. Raises ``ValueError`` on bad shapes, empty inputs, NaN/inf,
    an unknown method, or ``t`` / ``q`` above ``Q + G - 1``.
    """
    t = _check_int("t", t, 1)
    q = _check_int("q", q, 0)
    k = _check_int("k", k, 1)
    if method not in ECN_METHODS:
        raise ValueError(f"method must be one of {ECN_METHODS}, got {method!r}")
    qg, qq, gg = _distance_inputs(q_g_dist, q_q_dist, g_g_dist)
    Q, G = qg.shape
    n = Q + G
    for name, value in (("t", t), ("q", q)):
        if value > n - 1:
            raise ValueError(f"ECN {name}={value} needs more than {value} items, but the query and "
                             f"gallery hold {n} together (each item has {n - 1} others); lower {name}")
    with torch.no_grad():
        length = max(t, q) + 1
        if method == "rankdist":
            length = max(length, min(k, n))
        ranks = _rank_lists(qg, qq, gg, length)
        first = ranks[:, 1 : t + 1]  # N(a, t)
        second = ranks[first, 1 : q + 1].reshape(n, t * q)  # N(t, q)
        nbrs = torch.cat([first, second], dim=1)  # N(a, M), M = t + t q
        m = nbrs.shape[1]
        out = torch.zeros(Q, G, dtype=_work_dtype(qg, qq, gg), device=qg.device)
        if method == "origdist":
            _orig_terms(qg, qq, gg, nbrs, out)
        else:
            _rank_terms(ranks, k, Q, nbrs, out)
        out = out.div_(2 * m).to(torch.float32)
    return _finish(out, q_g_dist)
