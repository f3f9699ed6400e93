"""XQDA (Liao et al. CVPR'15, paper 003's metric): pair covariances, closed form, distances."""

import numpy as np
import pytest

from vreid.eval.xqda import REGULARISATION, fit_xqda, pair_covariances


def data(seed=0, n_ids=6, per_id=5, d=5, noise_dims=0):
    """Identity clusters; the last `noise_dims` dims carry no identity (eigenvalues ~ 1)."""
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=2.0, size=(n_ids, d))
    labels = np.repeat(np.arange(n_ids), per_id)
    x = means[labels] + rng.normal(scale=0.7, size=(len(labels), d)) * rng.uniform(0.3, 2, d)
    if noise_dims:
        x[:, d - noise_dims:] = np.random.default_rng(100 + seed).normal(
            size=(len(labels), noise_dims))
    return x, labels


def test_pair_covariances_match_a_loop_over_pairs():
    x, y = data(n_ids=3, per_id=3, d=3)
    intra, extra, ni, ne = np.zeros((3, 3)), np.zeros((3, 3)), 0, 0
    for i in range(len(x)):
        for j in range(len(x)):
            if i == j:
                continue
            diff = np.outer(x[i] - x[j], x[i] - x[j])
            if y[i] == y[j]:
                intra, ni = intra + diff, ni + 1
            else:
                extra, ne = extra + diff, ne + 1
    got_i, got_e = pair_covariances(x, y)
    np.testing.assert_allclose(got_i, intra / ni, rtol=1e-10)
    np.testing.assert_allclose(got_e, extra / ne, rtol=1e-10)


def test_fit_matches_the_closed_form_with_plain_eig():
    x, y = data(seed=1, noise_dims=2)
    sigma_i, sigma_e = pair_covariances(x, y)
    sigma_i = sigma_i + REGULARISATION * np.eye(x.shape[1])
    # Liao et al.: eig(Sigma_I \ Sigma_E), unit-norm eigenvectors, keep eigenvalues > 1
    values, vectors = np.linalg.eig(np.linalg.solve(sigma_i, sigma_e))
    values, vectors = values.real, vectors.real
    order = np.argsort(values)[::-1]
    r = int((values > 1).sum())
    assert r == 3  # the two noise dims are dropped: the case exercises the dimension choice
    w = vectors[:, order[:r]]
    m = np.linalg.inv(w.T @ sigma_i @ w) - np.linalg.inv(w.T @ sigma_e @ w)
    fit = fit_xqda(x, y)
    assert fit.projection.shape == (5, r) and fit.metric.shape == (r, r)
    np.testing.assert_allclose(fit.eigenvalues, values[order[:r]], rtol=1e-8)
    full = fit.projection @ fit.metric @ fit.projection.T
    np.testing.assert_allclose(full, w @ m @ w.T, rtol=1e-7, atol=1e-9)
    # the distance is (x - z)^T W M W^T (x - z)
    q, g = x[:4], x[10:13]
    want = np.array([[(a - b) @ w @ m @ w.T @ (a - b) for b in g] for a in q])
    np.testing.assert_allclose(fit.distance(q, g), want, rtol=1e-7, atol=1e-9)


def test_distances_are_symmetric_non_negative_and_separate_identities():
    x, y = data(seed=3)
    fit = fit_xqda(x, y)
    assert np.all(np.linalg.eigvalsh(fit.metric) > 0)  # eigenvalues > 1 -> M positive definite
    dist = fit.distance(x, x)
    np.testing.assert_allclose(dist, dist.T, atol=1e-9)
    np.testing.assert_allclose(np.diag(dist), 0.0, atol=1e-9)
    assert dist.min() > -1e-9
    same = y[:, None] == y[None, :]
    off = ~np.eye(len(y), dtype=bool)
    assert dist[same & off].mean() < dist[~same].mean()


def test_explicit_dims_and_bad_inputs():
    x, y = data()
    fit = fit_xqda(x, y, dims=5)
    assert fit.projection.shape == (5, 5)
    assert np.all(np.diff(fit.eigenvalues) <= 0)
    with pytest.raises(ValueError, match=r"dims must be in \[1, 5\]"):
        fit_xqda(x, y, dims=6)
    with pytest.raises(ValueError, match="same-identity and different-identity pairs"):
        fit_xqda(x[:3], np.arange(3))
    with pytest.raises(ValueError, match="features must be"):
        fit_xqda(x, y[:-1])
