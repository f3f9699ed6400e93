"""Bootstrap confidence intervals over queries and seeds (the leaderboard's statistics).

A metric of one entry is a `[num_seeds, num_queries]` array of per-query values (a
rank-k hit 0/1, AP, INP) for each training seed; the entry's score is its mean. One
bootstrap sample draws the seeds with replacement and, independently, the queries with
replacement, and averages the values over every (drawn seed, drawn query) pair. The
same draws serve every metric and every entry, so a difference between two entries is
PAIRED: both are resampled on the same queries and seeds, which removes the spread that
comes from which queries happen to be easy. A draw is kept as its counts (how often each
seed / query was drawn), so a sample's mean is `seed_counts @ values @ query_counts`.

numpy only (the core layer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Draws:
    """`samples` bootstrap draws: how often each seed / query is drawn in each sample."""

    seed_counts: np.ndarray  # [samples, num_seeds]
    query_counts: np.ndarray  # [samples, num_queries]

    @property
    def shape(self) -> tuple[int, int]:
        return self.seed_counts.shape[1], self.query_counts.shape[1]


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap interval [lo, hi]."""

    mean: float
    lo: float
    hi: float

    @property
    def half_width(self) -> float:
        return (self.hi - self.lo) / 2

    @property
    def excludes_zero(self) -> bool:
        """Significant at the interval's level: 0 lies outside [lo, hi]."""
        return self.lo > 0 or self.hi < 0

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "lo": self.lo, "hi": self.hi}


def bootstrap_draws(num_seeds: int, num_queries: int, samples: int = 1000,
                    seed: int = 0) -> Draws:
    """Draw seeds and queries with replacement, `samples` times (reproducible by `seed`)."""
    if num_seeds < 1 or num_queries < 1 or samples < 1:
        raise ValueError(f"bootstrap needs >= 1 seed, query and sample; got {num_seeds} seeds, "
                         f"{num_queries} queries, {samples} samples")
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, num_seeds, (samples, num_seeds))
    queries = rng.integers(0, num_queries, (samples, num_queries))
    return Draws(_counts(seeds, num_seeds), _counts(queries, num_queries))


def _counts(indices: np.ndarray, n: int) -> np.ndarray:
    """[samples, draws] indices -> [samples, n] how often each index was drawn."""
    rows = np.repeat(np.arange(indices.shape[0]), indices.shape[1])
    counts = np.zeros((indices.shape[0], n))
    np.add.at(counts, (rows, indices.ravel()), 1)
    return counts


def _checked(values: np.ndarray, draws: Draws) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape != draws.shape:
        raise ValueError(f"values have shape {values.shape}; the draws are over "
                         f"[num_seeds, num_queries] = {list(draws.shape)}")
    if not np.isfinite(values).all():
        raise ValueError("values contain NaN or inf (keep only queries with a valid match)")
    return values


def resampled_means(values: np.ndarray, draws: Draws) -> np.ndarray:
    """[samples]: the mean of `values` [num_seeds, num_queries] in each bootstrap sample."""
    values = _checked(values, draws)
    s, q = draws.shape
    return np.einsum("bs,sq,bq->b", draws.seed_counts, values, draws.query_counts) / (s * q)


def interval(values: np.ndarray, draws: Draws, level: float = 0.95) -> Interval:
    """Mean of `values` [num_seeds, num_queries] with its percentile bootstrap interval."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    means = resampled_means(values, draws)
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return Interval(float(np.mean(values)), float(lo), float(hi))


def paired_difference(values: np.ndarray, reference: np.ndarray, draws: Draws,
                      level: float = 0.95) -> Interval:
    """`values` - `reference` (same seeds, same queries), resampled on the same draws."""
    values, reference = _checked(values, draws), _checked(reference, draws)
    return interval(values - reference, draws, level)
