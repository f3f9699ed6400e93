"""The validation split carved from the training identities."""

import pytest

from vreid.data.index import ReIDIndex, Tracklet
from vreid.data.split import validation_split


def _index(num_ids=10, single_cam=(0,)):
    train = []
    for pid in range(num_ids):
        cams = [0] if pid in single_cam else [0, 1, 1]
        train += [Tracklet((f"{pid}_{i}.jpg",), pid, cam) for i, cam in enumerate(cams)]
    test = [Tracklet(("t.jpg",), 100, 0)]
    return ReIDIndex("mars", "/data/mars", train, test, test)


def test_held_out_ids_are_disjoint_deterministic_and_never_the_test_split():
    index = _index()
    val = validation_split(index, 3, seed=1)
    held = {t.pid for t in val.query} | {t.pid for t in val.gallery}
    assert len(held) == 3 and held.isdisjoint({t.pid for t in val.train})
    assert {t.pid for t in val.train} | held == {t.pid for t in index.train}
    assert 100 not in held  # the test identities are dropped
    assert 0 not in held  # a one-camera identity could never be matched: it stays in training
    # one query per identity and camera; every held-out tracklet in the gallery
    assert sorted((t.pid, t.camid) for t in val.query) == sorted({(p, c) for p in held
                                                                  for c in (0, 1)})
    assert len(val.gallery) == 3 * 3
    assert validation_split(index, 3, seed=1) == val
    others = {frozenset(t.pid for t in validation_split(index, 3, seed=s).query)
              for s in range(5)}
    assert len(others) > 1  # the seed picks the identities


@pytest.mark.parametrize("num_ids", [0, 10])
def test_impossible_hold_out_is_refused_naming_the_dataset(num_ids):
    with pytest.raises(ValueError, match="/data/mars: cannot hold out"):
        validation_split(_index(), num_ids)
