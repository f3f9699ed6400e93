"""Bootstrap intervals over seeds and queries against hand-computable cases."""

import numpy as np
import pytest

from vreid.eval.bootstrap import (Interval, bootstrap_draws, interval, paired_difference,
                                  resampled_means)


def test_counts_are_draws_with_replacement():
    draws = bootstrap_draws(3, 5, samples=200, seed=1)
    assert draws.seed_counts.shape == (200, 3) and draws.query_counts.shape == (200, 5)
    assert (draws.seed_counts.sum(1) == 3).all() and (draws.query_counts.sum(1) == 5).all()
    assert (draws.query_counts.max(1) > 1).any()  # with replacement: some drawn twice
    again = bootstrap_draws(3, 5, samples=200, seed=1)
    assert np.array_equal(again.query_counts, draws.query_counts)  # reproducible


def test_means_equal_explicit_resampling():
    rng = np.random.default_rng(0)
    values = rng.random((3, 7))
    seeds = rng.integers(0, 3, (50, 3))
    queries = rng.integers(0, 7, (50, 7))
    from vreid.eval.bootstrap import Draws, _counts

    draws = Draws(_counts(seeds, 3), _counts(queries, 7))
    explicit = [values[np.ix_(s, q)].mean() for s, q in zip(seeds, queries)]
    np.testing.assert_allclose(resampled_means(values, draws), explicit)


def test_constant_values_have_a_zero_width_interval():
    ci = interval(np.full((2, 4), 0.25), bootstrap_draws(2, 4, 100))
    assert (ci.mean, ci.lo, ci.hi) == pytest.approx((0.25, 0.25, 0.25))


def test_two_queries_zero_and_one():
    # one seed, queries {0, 1}: a sample's mean is 0, 1/2 or 1 with probabilities 1/4, 1/2,
    # 1/4, so the 95% percentile interval is [0, 1] and half the samples are 1/2
    draws = bootstrap_draws(1, 2, samples=4000, seed=3)
    means = resampled_means(np.array([[0.0, 1.0]]), draws)
    assert set(np.unique(means)) == {0.0, 0.5, 1.0}
    assert np.mean(means == 0.5) == pytest.approx(0.5, abs=0.03)
    assert interval(np.array([[0.0, 1.0]]), draws) == Interval(0.5, 0.0, 1.0)


def test_seeds_are_resampled_too():
    # every query scores the same within a seed, seeds differ: only the seed draw spreads it
    values = np.array([[0.0] * 5, [1.0] * 5])
    ci = interval(values, bootstrap_draws(2, 5, samples=2000))
    assert ci.mean == 0.5 and ci.lo == 0.0 and ci.hi == 1.0


def test_paired_difference_removes_the_query_spread():
    rng = np.random.default_rng(0)
    reference = rng.random((3, 200))  # queries of very different difficulty
    better = reference + 0.01
    draws = bootstrap_draws(3, 200, samples=500)
    diff = paired_difference(better, reference, draws)
    assert diff.mean == pytest.approx(0.01) and diff.lo == pytest.approx(0.01)
    assert diff.hi == pytest.approx(0.01) and diff.excludes_zero
    a, b = interval(better, draws), interval(reference, draws)
    assert a.lo < b.hi  # unpaired, the two intervals overlap: no difference visible


def test_identical_entries_differ_by_exactly_zero_not_significant():
    values = np.random.default_rng(1).random((2, 30))
    diff = paired_difference(values, values.copy(), bootstrap_draws(2, 30, 100))
    assert diff == Interval(0.0, 0.0, 0.0) and not diff.excludes_zero
    assert Interval(0.1, -0.02, 0.3).excludes_zero is False
    assert Interval(-0.1, -0.2, -0.01).excludes_zero and Interval(0, -1, 1).half_width == 1


@pytest.mark.parametrize("bad, msg", [
    (np.zeros((2, 3)), r"shape \(2, 3\)"),
    (np.array([[0.0, np.nan, 1.0, 1.0]]), "NaN"),
])
def test_bad_values(bad, msg):
    with pytest.raises(ValueError, match=msg):
        interval(bad, bootstrap_draws(1, 4, 10))


def test_bad_sizes_and_level():
    with pytest.raises(ValueError, match="0 queries"):
        bootstrap_draws(1, 0)
    with pytest.raises(ValueError, match="level"):
        interval(np.ones((1, 2)), bootstrap_draws(1, 2, 5), level=1.5)
