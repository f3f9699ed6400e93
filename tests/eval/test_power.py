import numpy as np
import pytest

from vreid.eval.bootstrap import bootstrap_draws, paired_difference
from vreid.eval.power import (VarianceComponents, predicted_half_width, queries_needed,
                              variance_components)


def simulated(seeds, queries, sa, sb, se, seed=0):
    rng = np.random.default_rng(seed)
    return (0.05 + rng.normal(0, sa, queries)[None, :] + rng.normal(0, sb, seeds)[:, None]
            + rng.normal(0, se, (seeds, queries)))


def test_components_recover_the_simulated_variances():
    c = variance_components(simulated(40, 4000, 0.4, 0.05, 0.3))
    assert c.query == pytest.approx(0.16, rel=0.1)
    assert c.seed == pytest.approx(0.0025, rel=0.5)
    assert c.residual == pytest.approx(0.09, rel=0.05)
    assert (c.num_seeds, c.num_queries) == (40, 4000)


def test_prediction_matches_the_bootstrap_interval_of_the_leaderboard():
    d = simulated(3, 600, 0.45, 0.0, 0.25, seed=1)
    c = variance_components(d)
    draws = bootstrap_draws(3, 600, samples=2000, seed=0)
    boot = paired_difference(d, np.zeros_like(d), draws).half_width
    # no seed effect: the percentile bootstrap and the normal formula agree closely
    assert predicted_half_width(c, 600, 3) == pytest.approx(boot, rel=0.15)


def test_queries_needed_reaches_the_target_and_one_fewer_does_not():
    c = VarianceComponents(query=0.2, seed=0.0001, residual=0.1, num_seeds=3, num_queries=100)
    n = queries_needed(c, 0.03, seeds=3)
    assert predicted_half_width(c, n, 3) <= 0.03 < predicted_half_width(c, n - 1, 3)


def test_seed_noise_wider_than_the_target_cannot_be_bought_with_queries():
    c = VarianceComponents(query=0.2, seed=0.01, residual=0.1, num_seeds=3, num_queries=100)
    assert queries_needed(c, 0.03, seeds=3) is None
    assert queries_needed(c, 0.03, seeds=60) is not None


def test_one_seed_and_bad_input():
    c = variance_components(np.array([[1.0, 0.0, 0.0, -1.0]]))
    assert c.seed == 0.0 and c.query == pytest.approx(np.var([1, 0, 0, -1], ddof=1))
    with pytest.raises(ValueError, match="num_seeds, num_queries"):
        variance_components(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        variance_components(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="target"):
        queries_needed(c, 0.0, 3)
