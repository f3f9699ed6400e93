"""k-reciprocal re-ranking (Zhong et al., CVPR 2017), chunked and sparse.

Reproduces the conventions of the widely used reference implementation:

* the full ``(Q+G) x (Q+G)`` matrix ``M = [[q_q, q_g], [q_g^T, g_g]]`` is squared elementwise, every
  column is divided by its maximum and the result transposed, so row ``i`` of the working matrix
  ``D`` is column ``i`` of ``M`` squared and divided by its maximum (for symmetric inputs: row ``i``
  divided by row ``i``'s maximum);
* initial ranking = each row of ``D`` in ascending order; **ties are broken by the lower index**
  (a stable sort; the reference's unstable ``argsort`` leaves them unspecified). Only the first
  ``max(k1 + 1, k2)`` neighbours are ever used, so a top-k (with an exact fallback to a full stable
  sort for rows whose k-th and (k+1)-th values tie) replaces the full argsort;
* k-reciprocal sets with ``k1 + 1`` neighbours, expansion by the "half" sets of ``round(k1/2) + 1``
  neighbours when ``|half(c) & recip(i)| > 2/3 |half(c)|``, ``V[i, S] = softmax(-D[i, S])``;
* local query expansion (``k2 != 1``): ``V[i] <- mean of V over i's first k2 neighbours``;
* Jaccard distance ``1 - s / (2 - s)`` with ``s = sum_k min(V[q, k], V[g, k])`` and
  ``final = jaccard * (1 - lambda) + D * lambda`` on query rows and gallery columns.

Differences from the reference: V and the Jaccard distance are kept in float32 (the reference uses
float16, which costs up to ~1e-3 absolute), V is a sparse matrix, and nothing of size N x N is
ever materialised: the distance rows are processed in chunks, so the peak memory is the inputs,
the [Q, G] float32 output and a few hundred MB of working memory.

Everything is torch, so CUDA tensors in means the work runs on that GPU.
"""

from __future__ import annotations

import os

import numpy as np
import torch

__all__ = ["RerankMemoryError", "estimate_rerank_memory", "re_ranking", "re_ranking_features"]

METRICS = ("euclidean", "cosine")

# working-memory knobs (bytes); they bound the size of every temporary
_ROW_CHUNK_BYTES = 32 << 20  # one [chunk, N] float32 block of the distance rows
_EXPAND_CHUNK_ROWS = 2048  # rows per chunk of the vectorised reciprocal / expansion tests
_PAIR_CHUNK = 32768  # feature pairs per batched dot product
_QE_ENTRIES = 4 << 20  # gathered V entries per chunk of the k2 query expansion
_PAIR_BUDGET = 2 << 20  # (query nonzero, gallery row) pairs per Jaccard chunk
_BLOCK_BYTES = 32 << 20  # dense [rows, G] similarity block per Jaccard chunk
_TILE = 64  # columns per tile of the transposed copies


class RerankMemoryError(MemoryError):
    """Raised up front when re-ranking would need more memory than allowed."""


# ---------------------------------------------------------------------------------------------
# inputs


def _as_tensor(x, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, np.ndarray):
        if any(s < 0 for s in x.strides):
            x = np.ascontiguousarray(x)
        t = torch.from_numpy(x)
    else:
        raise ValueError(f"{name} must be a numpy array or torch tensor, got {type(x).__name__}")
    if t.dtype == torch.bool or t.is_complex():
        raise ValueError(f"{name} must be real-valued, got dtype {t.dtype}")
    return t


def _distance_inputs(q_g_dist, q_q_dist, g_g_dist) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Checked ([Q, G], [Q, Q], [G, G]) tensors, q_q and g_g moved to q_g's device."""
    qg = _as_tensor(q_g_dist, "q_g_dist")
    qq = _as_tensor(q_q_dist, "q_q_dist")
    gg = _as_tensor(g_g_dist, "g_g_dist")
    for name, t in (("q_g_dist", qg), ("q_q_dist", qq), ("g_g_dist", gg)):
        if t.dim() != 2:
            raise ValueError(f"{name} must be 2-D, got shape {tuple(t.shape)}")
    Q, G = qg.shape
    if Q == 0 or G == 0:
        raise ValueError(f"q_g_dist is empty (shape {tuple(qg.shape)}); need at least one query and one gallery item")
    if tuple(qq.shape) != (Q, Q):
        raise ValueError(f"q_q_dist must be [{Q}, {Q}] to match q_g_dist {tuple(qg.shape)}, got {tuple(qq.shape)}")
    if tuple(gg.shape) != (G, G):
        raise ValueError(f"g_g_dist must be [{G}, {G}] to match q_g_dist {tuple(qg.shape)}, got {tuple(gg.shape)}")
    return qg, qq.to(qg.device), gg.to(qg.device)


def _square32(raw: torch.Tensor) -> torch.Tensor:
    """Elementwise square in the input precision (at least float32), then float32."""
    if raw.dtype not in (torch.float32, torch.float64):
        raw = raw.to(torch.float64 if not raw.is_floating_point() else torch.float32)
    return (raw * raw).to(torch.float32)


def _check_params(k1, k2, lambda_value) -> None:
    for name, k in (("k1", k1), ("k2", k2)):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {k!r}")
    lam = float(lambda_value)
    if not (0.0 <= lam <= 1.0):
        raise ValueError(f"lambda_value must be in [0, 1], got {lambda_value!r}")


def _available_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def _fmt(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


# ---------------------------------------------------------------------------------------------
# memory estimate


def _sizes(n: int, k1: int, k2: int) -> tuple[int, int, int, int]:
    kk = min(k1 + 1, n)
    kh = min(int(round(k1 / 2.0)) + 1, n)
    kall = min(max(k1 + 1, k2), n)
    k2e = min(k2, n)
    return kk, kh, kall, k2e


def estimate_rerank_memory(
    num_query: int, num_gallery: int, k1: int = 20, k2: int = 6, feature_dim: int | None = None
) -> int:
    """Upper estimate (bytes) of the memory re-ranking allocates on top of its inputs.

    Counts the [Q, G] float32 output, the chunk buffers and the sparse V matrices at their
    worst-case density (every expanded set at its maximum size), so the real use is usually lower.
    ``feature_dim`` adds the feature copy used by :func:`re_ranking_features`.
    """
    q, g = int(num_query), int(num_gallery)
    n = q + g
    kk, kh, kall, k2e = _sizes(n, k1, k2)
    out = q * g * 4
    rows = max(1, min(n, _ROW_CHUNK_BYTES // (4 * n)))
    pass1 = 4 * rows * n * 4 + n * kall * 8 + n * 16
    cand = min(n, kk + kk * kh)
    expand = _EXPAND_CHUNK_ROWS * (kk * kh * kk + (kk + kk * kh) * 24) + n * kh * 9
    v = n * cand * 20
    qe_nnz = n * min(n, k2e * cand)
    v_qe = qe_nnz * 20 + _QE_ENTRIES * 56
    jac = qe_nnz * 20 + _PAIR_BUDGET * 64 + 3 * _BLOCK_BYTES + max(g, 1) * 4 * 3
    feats = 0
    if feature_dim is not None:
        feats = n * int(feature_dim) * 4 + 2 * _PAIR_CHUNK * int(feature_dim) * 4
    # V is freed once V_qe exists, but both live during the expansion
    return int(out + feats + max(pass1, expand + n * kall * 8) + v + max(v_qe, jac) + (64 << 20))


def _check_memory(needed: int, limit: int | None, device: torch.device, what: str) -> None:
    if limit is None:
        limit = _available_bytes(device)
    if needed > limit:
        raise RerankMemoryError(
            f"{what} would need about {_fmt(needed)} ({needed} bytes) of "
            f"{'GPU' if device.type == 'cuda' else 'host'} memory on top of its inputs, "
            f"more than the limit of {_fmt(limit)} ({limit} bytes); "
            "reduce the number of items, or raise max_memory_bytes if you know it fits"
        )


# ---------------------------------------------------------------------------------------------
# distance sources: rows of the raw (unsquared) working matrix, and single entries of it


class _MatrixSource:
    """Row i of the working matrix = column i of [[q_q, q_g], [q_g^T, g_g]]."""

    def __init__(self, q_g: torch.Tensor, q_q: torch.Tensor, g_g: torch.Tensor):
        self.q_g, self.q_q, self.g_g = q_g, q_q, g_g
        self.Q, self.G = q_g.shape
        self.N = self.Q + self.G

    def squared_rows(self, a: int, b: int, device: torch.device) -> torch.Tensor:
        """float32 squares of rows a:b, transposed copy done in cache-friendly tiles."""
        Q = self.Q
        if not all(t.dtype == torch.float32 and t.device == device for t in (self.q_g, self.q_q, self.g_g)):
            return _square32(self.raw_rows(a, b).to(device))
        y = torch.empty(b - a, self.N, dtype=torch.float32, device=device)
        for u in range(a, b, _TILE):
            v = min(u + _TILE, b)
            if b <= Q:
                left, right = self.q_q[:, u:v].t(), self.q_g[u:v, :]
            else:
                left, right = self.q_g[:, u - Q : v - Q].t(), self.g_g[:, u - Q : v - Q].t()
            torch.mul(left, left, out=y[u - a : v - a, :Q])
            torch.mul(right, right, out=y[u - a : v - a, Q:])
        return y

    def raw_rows(self, a: int, b: int) -> torch.Tensor:
        Q = self.Q
        if b <= Q:
            return torch.cat([self.q_q[:, a:b].t(), self.q_g[a:b, :]], dim=1)
        return torch.cat([self.q_g[:, a - Q : b - Q].t(), self.g_g[:, a - Q : b - Q].t()], dim=1)

    def raw_pairs(self, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        """Working-matrix entries (i, j) = M[j, i], before squaring."""
        Q = self.Q
        dev = self.q_g.device
        i, j = i.to(dev), j.to(dev)
        iq, jq = i < Q, j < Q
        dtype = torch.promote_types(torch.promote_types(self.q_g.dtype, self.q_q.dtype), self.g_g.dtype)
        out = torch.empty(i.shape[0], dtype=dtype, device=dev)
        m = iq & jq
        out[m] = self.q_q[j[m], i[m]].to(dtype)
        m = iq & ~jq
        out[m] = self.q_g[i[m], j[m] - Q].to(dtype)
        m = ~iq & jq
        out[m] = self.q_g[j[m], i[m] - Q].to(dtype)
        m = ~iq & ~jq
        out[m] = self.g_g[j[m] - Q, i[m] - Q].to(dtype)
        return out


class _FeatureSource:
    """Rows computed from features like ``compute_distance`` (squared euclidean or 1 - cos)."""

    def __init__(self, q: torch.Tensor, g: torch.Tensor, metric: str):
        f = torch.cat([q.float(), g.float()], dim=0)
        if metric == "cosine":
            f = torch.nn.functional.normalize(f, dim=1)
        self.f = f
        self.sq = f.pow(2).sum(1)
        self.metric = metric
        self.Q, self.G = q.shape[0], g.shape[0]
        self.N = self.Q + self.G

    def raw_rows(self, a: int, b: int) -> torch.Tensor:
        part = self.f[a:b]
        if self.metric == "cosine":
            return 1.0 - part @ self.f.t()
        d = part.pow(2).sum(1, keepdim=True) + self.sq - 2.0 * (part @ self.f.t())
        return d.clamp_min_(0)

    def squared_rows(self, a: int, b: int, device: torch.device) -> torch.Tensor:
        # same values as raw_rows up to float rounding, with fewer passes over the block
        part = self.f[a:b]
        if self.metric == "cosine":
            d = torch.ones(b - a, self.N, dtype=torch.float32, device=device)
            d.addmm_(part, self.f.t(), alpha=-1.0)
        else:
            d = (self.sq[a:b, None] + self.sq[None, :]).addmm_(part, self.f.t(), alpha=-2.0).clamp_min_(0)
        return d.mul_(d)

    def raw_pairs(self, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        out = torch.empty(i.shape[0], dtype=torch.float32, device=self.f.device)
        for s in range(0, i.shape[0], _PAIR_CHUNK):
            ii, jj = i[s : s + _PAIR_CHUNK], j[s : s + _PAIR_CHUNK]
            dot = (self.f[ii] * self.f[jj]).sum(1)
            if self.metric == "cosine":
                out[s : s + _PAIR_CHUNK] = 1.0 - dot
            else:
                out[s : s + _PAIR_CHUNK] = (self.sq[ii] + self.sq[jj] - 2.0 * dot).clamp_min_(0)
        return out


# ---------------------------------------------------------------------------------------------
# core


def _stable_topk(d: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the k smallest entries per row, ascending, ties by lower index (exact)."""
    n = d.shape[1]
    if k >= n:
        return torch.sort(d, dim=1, stable=True).indices[:, :k]
    tv, ti = torch.topk(d, k + 1, dim=1, largest=False, sorted=True)
    ti, order = torch.sort(ti, dim=1)
    tv = tv.gather(1, order)
    tv, order = torch.sort(tv, dim=1, stable=True)
    ti = ti.gather(1, order)
    res = ti[:, :k].contiguous()
    tie = tv[:, k - 1] == tv[:, k]  # the k-th place is ambiguous: full stable sort for those rows
    if bool(tie.any()):
        rows = tie.nonzero().squeeze(1)
        res[rows] = torch.sort(d[rows], dim=1, stable=True).indices[:, :k]
    return res


def _segment_starts(counts: torch.Tensor) -> torch.Tensor:
    return torch.cumsum(counts, 0) - counts


def _gather_segments(starts: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Concatenation of arange(starts[t], starts[t] + lengths[t]) over t."""
    total = int(lengths.sum())
    if total == 0:
        return torch.zeros(0, dtype=torch.long, device=starts.device)
    base = starts - _segment_starts(lengths)
    return torch.repeat_interleave(base, lengths, output_size=total) + torch.arange(
        total, device=starts.device
    )


def _rerank(src, k1: int, k2: int, lam: float, device: torch.device, row_chunk: int | None):
    Q, G, N = src.Q, src.G, src.N
    kk, kh, kall, k2e = _sizes(N, k1, k2)
    long = dict(dtype=torch.long, device=device)

    # pass 1: squared + normalised rows, top-k neighbours, normalised q_g part kept in `out`
    out = torch.empty(Q, G, dtype=torch.float32, device=device)
    ranks = torch.empty(N, kall, **long)
    colmax = torch.empty(N, dtype=torch.float32, device=device)
    step = row_chunk or max(1, min(N, _ROW_CHUNK_BYTES // (4 * N)))
    bounds = [(a, min(a + step, Q)) for a in range(0, Q, step)]
    bounds += [(a, min(a + step, N)) for a in range(Q, N, step)]
    for a, b in bounds:
        d = src.squared_rows(a, b, device)
        mx = d.max(dim=1).values  # NaN and inf propagate to the maximum
        if not bool(torch.isfinite(mx).all()):
            raise ValueError("distances contain NaN or inf (or overflow when squared)")
        if not bool((mx > 0).all()):
            bad = a + int((mx <= 0).nonzero()[0, 0])
            raise ValueError(f"item {bad} has all distances 0; its row cannot be normalised")
        colmax[a:b] = mx
        d.div_(mx[:, None])
        ranks[a:b] = _stable_topk(d, kall)
        if a < Q:
            out[a:b] = d[:, Q:]
        del d

    def dist(i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        return _square32(src.raw_pairs(i, j).to(device)) / colmax[i]

    # k-reciprocal sets and their expansion, vectorised over row chunks
    r = ranks[:, :kk]
    rh = ranks[:, :kh]
    ar = torch.arange(N, **long)
    hmask = torch.empty(N, kh, dtype=torch.bool, device=device)
    for a in range(0, N, _EXPAND_CHUNK_ROWS):
        b = min(a + _EXPAND_CHUNK_ROWS, N)
        hmask[a:b] = (rh[rh[a:b]] == ar[a:b, None, None]).any(2)
    hsize = hmask.sum(1).to(torch.float64) * (2.0 / 3.0)

    v_rows, v_cols, v_vals = [], [], []
    for a in range(0, N, _EXPAND_CHUNK_ROWS):
        b = min(a + _EXPAND_CHUNK_ROWS, N)
        c = b - a
        rc = r[a:b]  # [c, kk]
        rmask = (r[rc] == ar[a:b, None, None]).any(2)  # j in R(i) and i in R(j)
        h = rh[rc]  # [c, kk, kh]: half neighbours of each candidate
        hm = hmask[rc]  # which of those are half-reciprocal to the candidate
        inr = ((h.unsqueeze(-1) == rc[:, None, None, :]) & rmask[:, None, None, :]).any(-1)
        cnt = (inr & hm).sum(-1).to(torch.float64)
        accept = rmask & (cnt > hsize[rc])
        cand = torch.cat([rc, h.reshape(c, kk * kh)], dim=1)
        valid = torch.cat([rmask, (accept[:, :, None] & hm).reshape(c, kk * kh)], dim=1)
        cand = torch.where(valid, cand, torch.full_like(cand, N)).sort(dim=1).values
        keep = cand < N
        keep[:, 1:] &= cand[:, 1:] != cand[:, :-1]
        rows = ar[a:b, None].expand_as(cand)[keep]
        cols = cand[keep]
        w = torch.exp(-dist(rows, cols))
        tot = torch.zeros(c, dtype=torch.float32, device=device).index_add_(0, rows - a, w)
        v_rows.append(rows)
        v_cols.append(cols)
        v_vals.append(w / tot[rows - a])
    v_row = torch.cat(v_rows)  # sorted by row, then column
    v_col = torch.cat(v_cols)
    v_val = torch.cat(v_vals)
    del v_rows, v_cols, v_vals, hmask, hsize

    # local query expansion: V_qe[i] = mean of V over i's first k2 neighbours (sparse, chunked)
    if k2 != 1:
        row_len = torch.bincount(v_row, minlength=N)
        row_ptr = _segment_starts(row_len)
        nb = ranks[:, :k2e]
        per_row = row_len[nb].sum(1)
        q_rows, q_cols, q_vals = [], [], []
        a = 0
        cum = torch.cumsum(per_row, 0)
        while a < N:
            prev = int(cum[a - 1]) if a else 0
            b = int(torch.searchsorted(cum, prev + _QE_ENTRIES, right=True))
            b = min(max(b, a + 1), N)
            src_rows = nb[a:b].reshape(-1)
            lens = row_len[src_rows]
            pos = _gather_segments(row_ptr[src_rows], lens)
            dst = torch.repeat_interleave(ar[a:b].repeat_interleave(k2e), lens, output_size=pos.shape[0])
            sp = torch.sparse_coo_tensor(
                torch.stack([dst - a, v_col[pos]]), v_val[pos], (b - a, N), device=device, check_invariants=False
            ).coalesce()
            idx = sp.indices()
            q_rows.append(idx[0] + a)
            q_cols.append(idx[1])
            q_vals.append(sp.values() / k2e)
            a = b
        v_row, v_col, v_val = torch.cat(q_rows), torch.cat(q_cols), torch.cat(q_vals)
        del q_rows, q_cols, q_vals

    # Jaccard over nonzeros: inverted index of the gallery rows by column
    nq = int((v_row < Q).sum())
    qr, qc, qv = v_row[:nq], v_col[:nq], v_val[:nq]
    gc, order = torch.sort(v_col[nq:], stable=True)
    g_row = v_row[nq:][order] - Q
    g_val = v_val[nq:][order]
    del order, v_row, v_col, v_val
    col_len = torch.bincount(gc, minlength=N)
    col_ptr = _segment_starts(col_len)
    del gc
    pair_len = col_len[qc]
    row_pairs = torch.zeros(Q, **long).index_add_(0, qr, pair_len)
    cum_pairs = torch.cumsum(row_pairs, 0)
    q_ptr = _segment_starts(torch.bincount(qr, minlength=Q))
    q_ptr = torch.cat([q_ptr, torch.tensor([nq], **long)])
    max_rows = max(1, _BLOCK_BYTES // (4 * G))
    a = 0
    while a < Q:
        prev = int(cum_pairs[a - 1]) if a else 0
        b = int(torch.searchsorted(cum_pairs, prev + _PAIR_BUDGET, right=True))
        b = min(max(b, a + 1), a + max_rows, Q)
        e0, e1 = int(q_ptr[a]), int(q_ptr[b])
        lens = pair_len[e0:e1]
        pos = _gather_segments(col_ptr[qc[e0:e1]], lens)
        total = pos.shape[0]
        m = torch.minimum(torch.repeat_interleave(qv[e0:e1], lens, output_size=total), g_val[pos])
        flat = torch.repeat_interleave((qr[e0:e1] - a) * G, lens, output_size=total) + g_row[pos]
        s = torch.zeros((b - a) * G, dtype=torch.float32, device=device).index_add_(0, flat, m)
        s = s.view(b - a, G)
        jac = 1.0 - s / (2.0 - s)
        blk = out[a:b]
        blk.mul_(lam).add_(jac.mul_(1.0 - lam))
        a = b
    return out


def _finish(out: torch.Tensor, like) -> torch.Tensor | np.ndarray:
    if isinstance(like, np.ndarray):
        return out.cpu().numpy()
    return out


def re_ranking(
    q_g_dist,
    q_q_dist,
    g_g_dist,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    *,
    max_memory_bytes: int | None = None,
):
    """k-reciprocal re-ranking of a query-gallery distance matrix -> final distances [Q, G].

    ``q_g_dist`` [Q, G], ``q_q_dist`` [Q, Q], ``g_g_dist`` [G, G] are numpy arrays or torch tensors
    (any device; the work runs on ``q_g_dist``'s device). As in the reference implementation they
    are squared before use, so pass the distances the evaluation uses (``compute_distance``).
    Returns float32 of the same kind (numpy / torch) as ``q_g_dist``. Raises ``ValueError`` on bad
    shapes, empty inputs, NaN/inf or bad parameters, and :class:`RerankMemoryError` up front when
    the estimated working memory exceeds ``max_memory_bytes`` (default: the available RAM, or the
    free GPU memory for CUDA inputs).
    """
    _check_params(k1, k2, lambda_value)
    qg, qq, gg = _distance_inputs(q_g_dist, q_q_dist, g_g_dist)
    Q, G = qg.shape
    device = qg.device
    _check_memory(estimate_rerank_memory(Q, G, k1, k2), max_memory_bytes, device, "re_ranking")
    with torch.no_grad():
        out = _rerank(_MatrixSource(qg, qq, gg), int(k1), int(k2), float(lambda_value), device, None)
    return _finish(out, q_g_dist)


def re_ranking_features(
    q_feats,
    g_feats,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    metric: str = "euclidean",
    chunk: int | None = None,
    *,
    max_memory_bytes: int | None = None,
):
    """Re-ranking straight from features, never materialising an N x N matrix.

    Equals ``re_ranking(dist(q, g), dist(q, q), dist(g, g))`` with ``dist = compute_distance(.,
    ., metric)`` -- i.e. for ``"euclidean"`` the *squared* euclidean distances the vreid evaluate
    stage passes (which re-ranking then squares again, as the reference does), for ``"cosine"``
    ``1 - cos``. Distance rows are computed ``chunk`` rows at a time (default: ~32 MiB blocks).
    The only large allocation is the [Q, G] float32 output. Returns the same kind as ``q_feats``.
    Raises :class:`RerankMemoryError` up front when the estimate exceeds ``max_memory_bytes``.
    """
    _check_params(k1, k2, lambda_value)
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1):
        raise ValueError(f"chunk must be a positive integer or None, got {chunk!r}")
    qf = _as_tensor(q_feats, "q_feats")
    gf = _as_tensor(g_feats, "g_feats")
    if qf.dim() != 2 or gf.dim() != 2 or qf.shape[1] != gf.shape[1]:
        raise ValueError(f"features must be [Q, D] and [G, D], got {tuple(qf.shape)}, {tuple(gf.shape)}")
    if qf.shape[0] == 0 or gf.shape[0] == 0:
        raise ValueError(f"need at least one query and one gallery feature, got {qf.shape[0]} and {gf.shape[0]}")
    device = qf.device
    gf = gf.to(device)
    if not bool(torch.isfinite(qf).all()) or not bool(torch.isfinite(gf).all()):
        raise ValueError("features contain NaN or inf")
    Q, G = qf.shape[0], gf.shape[0]
    need = estimate_rerank_memory(Q, G, k1, k2, feature_dim=qf.shape[1])
    if chunk is not None:
        need += max(0, 4 * int(chunk) * (Q + G) * 4 - 4 * _ROW_CHUNK_BYTES)
    _check_memory(need, max_memory_bytes, device, "re_ranking_features")
    with torch.no_grad():
        out = _rerank(_FeatureSource(qf, gf, metric), int(k1), int(k2), float(lambda_value), device, chunk)
    return _finish(out, q_feats)
