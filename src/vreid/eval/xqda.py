"""XQDA metric learning (Liao et al., "Person re-identification by Local Maximal Occurrence
representation and metric learning", CVPR 2015), as paper 003 puts it on top of its
PersonVLAD features ("PersonVLAD + XQDA [12]", tables III/IV).

From labelled training features x_i:
- the covariances of pairwise differences x_i - x_j, over same-identity pairs (Sigma_I)
  and different-identity pairs (Sigma_E), each divided by its number of pairs; the
  differences of ordered pairs have zero mean, so no centring;
- Sigma_I + lambda * I (Liao et al.'s lambda = 0.001) for a stable inverse;
- W: the generalised eigenvectors of Sigma_E w = s Sigma_I w with the r largest s; by
  default r = the number of s > 1 (at least 1), Liao et al.'s choice;
- M = (W^T Sigma_I W)^-1 - (W^T Sigma_E W)^-1, and
  d(x, z) = (x - z)^T W M W^T (x - z).
With the s > 1 dims, M is positive definite (W is Sigma_I-orthonormal here, so M =
I - diag(1/s)) and every distance is >= 0. W M W^T does not depend on how the
eigenvectors are scaled, so it equals the closed form with Liao et al.'s eig() vectors.

Liao et al. form the pairs across two camera views (probe x gallery); here the pairs are
all pairs of one training set (video re-ID training sets mix cameras per identity).
Plain numpy/scipy, float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh

REGULARISATION = 1e-3  # Liao et al.'s lambda


def pair_covariances(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Sigma_I, Sigma_E), [d, d]: mean (x_i - x_j)(x_i - x_j)^T over ordered same-label /
    different-label pairs, in O(n d^2) via sum_{i,j in S} = 2 |S| X_S^T X_S - 2 s_S s_S^T."""
    x = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    n = len(x)
    total_sum = x.sum(axis=0)
    every = 2 * n * (x.T @ x) - 2 * np.outer(total_sum, total_sum)
    intra = np.zeros_like(every)
    n_intra = 0
    for label in np.unique(labels):
        xs = x[labels == label]
        s = xs.sum(axis=0)
        intra += 2 * len(xs) * (xs.T @ xs) - 2 * np.outer(s, s)
        n_intra += len(xs) * (len(xs) - 1)
    n_extra = n * n - n - n_intra
    if n_intra == 0 or n_extra == 0:
        raise ValueError(f"xqda: needs same-identity and different-identity pairs, got "
                         f"{n_intra} and {n_extra}")
    return intra / n_intra, (every - intra) / n_extra


@dataclass
class XQDA:
    """A fitted XQDA: projection W [d, r], metric M [r, r], eigenvalues s [r] (descending)."""

    projection: np.ndarray
    metric: np.ndarray
    eigenvalues: np.ndarray

    def project(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(features, dtype=np.float64) @ self.projection

    def distance(self, query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
        """[nq, ng] XQDA distances (x - z)^T W M W^T (x - z)."""
        u, v = self.project(query), self.project(gallery)
        uM, vM = u @ self.metric, v @ self.metric
        return ((uM * u).sum(axis=1)[:, None] + (vM * v).sum(axis=1)[None, :]
                - 2 * uM @ v.T)


def fit_xqda(features: np.ndarray, labels: np.ndarray, dims: int | None = None,
             regularisation: float = REGULARISATION) -> XQDA:
    """Fit XQDA on training features [n, d] and identity labels [n]; `dims` = r (default:
    the number of eigenvalues > 1, at least 1)."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"xqda: features must be [n, d] with n labels, got "
                         f"{list(features.shape)} and {len(labels)} labels")
    sigma_i, sigma_e = pair_covariances(features, labels)
    sigma_i = sigma_i + regularisation * np.eye(len(sigma_i))
    values, vectors = eigh(sigma_e, sigma_i)  # ascending; vectors^T sigma_i vectors = I
    values, vectors = values[::-1], vectors[:, ::-1]
    r = max(1, int((values > 1).sum())) if dims is None else int(dims)
    if not 1 <= r <= len(values):
        raise ValueError(f"xqda: dims must be in [1, {len(values)}], got {r}")
    w = vectors[:, :r]
    metric = np.linalg.inv(w.T @ sigma_i @ w) - np.linalg.inv(w.T @ sigma_e @ w)
    return XQDA(projection=w, metric=(metric + metric.T) / 2, eigenvalues=values[:r].copy())
