"""Power calculation for the leaderboard: how many queries (and seeds) a paired difference
needs for a confidence interval of a given half-width.

A paired per-query difference between two entries (e.g. rank-1 hits, entry minus
reference) is a `[num_seeds, num_queries]` array d. It is modelled as a two-way layout
without replication,

    d[s, q] = mu + a[q] + b[s] + e[s, q],

with a query effect a (some queries separate the two entries, most do not), a seed effect
b (training noise: one seed's model is better on every query) and an interaction e.
The variance components come from the usual expected mean squares of that layout:

    MS_query = S * var_q(mean_s d)   -> sigma_e^2 + S * sigma_a^2
    MS_seed  = Q * var_s(mean_q d)   -> sigma_e^2 + Q * sigma_b^2
    MS_resid                         -> sigma_e^2

and the variance of the mean difference, when the queries and the seeds are both a sample
(as the leaderboard's bootstrap treats them), is

    var(mean d) = sigma_a^2 / Q + sigma_b^2 / S + sigma_e^2 / (S Q).

So more queries shrink only the first and last terms: if the seed term alone is wider than
the target, no number of queries reaches it (`queries_needed` returns None) and more
seeds, or training that varies less between seeds, are needed. Normal approximation:
half-width = z * sqrt(var). numpy only (the core layer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


@dataclass(frozen=True)
class VarianceComponents:
    """Per-query (`query`), per-seed (`seed`) and interaction (`residual`) variances of a
    paired difference, from `num_seeds` x `num_queries` measurements."""

    query: float
    seed: float
    residual: float
    num_seeds: int
    num_queries: int

    def as_dict(self) -> dict[str, float]:
        return {"query": self.query, "seed": self.seed, "residual": self.residual,
                "num_seeds": self.num_seeds, "num_queries": self.num_queries}


def variance_components(diff: np.ndarray) -> VarianceComponents:
    """Method-of-moments estimates (negative ones clipped to 0) from `diff` [S, Q]."""
    d = np.asarray(diff, dtype=float)
    if d.ndim != 2 or d.shape[1] < 2:
        raise ValueError(f"diff must be [num_seeds, num_queries] with >= 2 queries, got shape "
                         f"{d.shape}")
    if not np.isfinite(d).all():
        raise ValueError("diff contains NaN or inf")
    s, q = d.shape
    if s == 1:  # one seed: the seed effect cannot be told from the query effect
        return VarianceComponents(float(d.var(ddof=1)), 0.0, 0.0, 1, q)
    grand = d.mean()
    by_query, by_seed = d.mean(axis=0), d.mean(axis=1)
    ms_query = s * ((by_query - grand) ** 2).sum() / (q - 1)
    ms_seed = q * ((by_seed - grand) ** 2).sum() / (s - 1)
    resid = d - by_query[None, :] - by_seed[:, None] + grand
    ms_resid = (resid ** 2).sum() / ((s - 1) * (q - 1))
    return VarianceComponents(max(0.0, (ms_query - ms_resid) / s),
                              max(0.0, (ms_seed - ms_resid) / q), float(ms_resid), s, q)


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2)


def predicted_half_width(c: VarianceComponents, queries: int, seeds: int,
                         level: float = 0.95) -> float:
    """The interval half-width of the mean difference over `queries` x `seeds`."""
    if queries < 1 or seeds < 1:
        raise ValueError(f"need >= 1 query and seed, got {queries} and {seeds}")
    var = c.query / queries + c.seed / seeds + c.residual / (queries * seeds)
    return _z(level) * math.sqrt(var)


def queries_needed(c: VarianceComponents, target: float, seeds: int,
                   level: float = 0.95) -> int | None:
    """The fewest queries giving a half-width <= `target` with `seeds` seeds; None when the
    seed term alone exceeds it (more queries cannot help)."""
    if target <= 0:
        raise ValueError(f"target half-width must be > 0, got {target}")
    room = (target / _z(level)) ** 2 - c.seed / seeds
    if room <= 0:
        return None
    return max(1, math.ceil((c.query + c.residual / seeds) / room))
