"""Attribute-wise rank-1 / mAP on a hand-made ranking with known answers."""

import numpy as np
import pytest

from vreid.data.readers.attributes import PersonAttributes
from vreid.eval import evaluate_rank
from vreid.eval.attributes import attribute_masks, attribute_metrics, subset_scores

# gallery: pids 1, 2, 3, 5, 6 in camera 1 and pid 4 in camera 0 (the query's camera: removed)
G_PIDS, G_CAMS = [1, 2, 3, 5, 6, 4], [1, 1, 1, 1, 1, 0]
Q_PIDS, Q_CAMS = [1, 2, 3, 4, 6], [0, 0, 0, 0, 0]
DIST = np.array([
    [0.1, 0.5, 0.6, 0.7, 0.8, 0.9],  # pid 1: hit at rank 1, AP 1
    [0.5, 0.2, 0.6, 0.1, 0.8, 0.9],  # pid 2: pid 5 first, then its match: AP 1/2
    [0.5, 0.6, 0.1, 0.7, 0.8, 0.9],  # pid 3: hit, AP 1
    [0.5, 0.6, 0.7, 0.8, 0.9, 0.1],  # pid 4: its only match is in its camera: no valid match
    [0.1, 0.2, 0.6, 0.7, 0.3, 0.9],  # pid 6: match third, AP 1/3 (pid 6 is not listed)
])
ATTRS = PersonAttributes(("hat", "backpack", "scarf"),
                         {1: frozenset({"hat"}), 2: frozenset({"hat", "backpack"}),
                          3: frozenset(), 4: frozenset({"hat"})})


@pytest.fixture
def result():
    return evaluate_rank(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, max_rank=6)


def test_masks_leave_unlisted_persons_out():
    masks = attribute_masks(Q_PIDS, ATTRS)
    assert masks["hat"][0].tolist() == [True, True, False, True, False]
    assert masks["hat"][1].tolist() == [False, False, True, False, False]  # pid 6: neither
    assert masks["scarf"][0].tolist() == [False] * 5
    assert masks["scarf"][1].tolist() == [True, True, True, True, False]


def test_metrics_with_and_without_each_attribute(result):
    assert result.num_valid == 4 and result.rank(1) == 0.5  # the whole ranking, for contrast
    m = attribute_metrics(result, Q_PIDS, ATTRS)
    expected = {
        # hat: pids 1, 2 (pid 4 has no valid match); without: pid 3
        "attr_hat_queries": 2, "attr_hat_rank1": 0.5, "attr_hat_mAP": 0.75,
        "attr_without_hat_queries": 1, "attr_without_hat_rank1": 1.0, "attr_without_hat_mAP": 1.0,
        "attr_backpack_queries": 1, "attr_backpack_rank1": 0.0, "attr_backpack_mAP": 0.5,
        "attr_without_backpack_queries": 2, "attr_without_backpack_rank1": 1.0,
        "attr_without_backpack_mAP": 1.0,
        # nobody wears a scarf: only the count
        "attr_scarf_queries": 0,
        "attr_without_scarf_queries": 3, "attr_without_scarf_rank1": 2 / 3,
        "attr_without_scarf_mAP": 2.5 / 3,
    }
    assert m.keys() == expected.keys()
    for key, value in expected.items():
        assert m[key] == pytest.approx(value), key


def test_wrong_query_count_is_refused(result):
    with pytest.raises(ValueError, match="4 query pids for a ranking of 5 queries"):
        attribute_metrics(result, Q_PIDS[:4], ATTRS)


def test_subset_scores_checks_shapes():
    assert subset_scores([1, 0], [1.0, 0.5], [True, True]) == {
        "queries": 2, "rank1": 0.5, "mAP": 0.75}
    with pytest.raises(ValueError, match="one entry per query"):
        subset_scores([1, 0], [1.0], [True, True])
