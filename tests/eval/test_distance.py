import pytest
import torch

from vreid.eval import compute_distance


def test_squared_euclidean_and_cosine_match_direct_formulas():
    a, b = torch.randn(7, 5), torch.randn(11, 5)
    d = compute_distance(a, b, "euclidean", chunk=3)
    torch.testing.assert_close(d, torch.cdist(a, b).pow(2), atol=1e-4, rtol=1e-4)
    c = compute_distance(a, b, "cosine", chunk=2)
    expected = 1 - torch.nn.functional.cosine_similarity(a[:, None], b[None], dim=2)
    torch.testing.assert_close(c, expected, atol=1e-5, rtol=1e-5)


def test_bad_metric_and_shapes():
    with pytest.raises(ValueError, match="metric"):
        compute_distance(torch.zeros(1, 2), torch.zeros(1, 2), "manhattan")
    with pytest.raises(ValueError, match="features must be"):
        compute_distance(torch.zeros(1, 2), torch.zeros(1, 3))
