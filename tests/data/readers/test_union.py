import os

import pytest

from vreid.data.readers import DATASETS, read_dataset, read_union


def _pids(index):
    return {t.pid for t in (*index.train, *index.query, *index.gallery)}


def _cams(index):
    return {t.camid for t in (*index.train, *index.query, *index.gallery)}


def test_offsets_are_disjoint(make_market, make_duke, tmp_path):
    market = make_market()
    market2 = make_market(tmp_path / "market_copy")
    duke = make_duke()
    parts = [("market1501", market), ("duke-video", duke), ("market1501", market2)]
    union = read_union(parts)
    singles = [read_dataset(n, r) for n, r in parts]
    assert [len(union.train), len(union.query), len(union.gallery)] == [
        sum(len(getattr(s, split)) for s in singles) for split in ("train", "query", "gallery")
    ]
    # offsets: running sum of (max id + 1); market pids 0..7, duke 8..12, market copy 13..
    spans = []
    pid_offset = cam_offset = 0
    for s in singles:
        spans.append((pid_offset, cam_offset))
        pid_offset += max(_pids(s)) + 1
        cam_offset += max(_cams(s)) + 1
    assert spans == [(0, 0), (8, 6), (13, 14)]
    expected = set()
    for (po, co), s in zip(spans, singles):
        expected |= {(t.pid + po, t.camid + co, t.frames) for t in (*s.train, *s.query, *s.gallery)}
    got = {(t.pid, t.camid, t.frames) for t in (*union.train, *union.query, *union.gallery)}
    assert got == expected
    # the two market copies share no pid or camid after offsetting
    first = {t.pid for t in union.train if t.frames[0].startswith(str(market) + os.sep)}
    last = {t.pid for t in union.train if t.frames[0].startswith(str(market2))}
    assert first and last and not first & last
    t = union.gallery[-1]
    assert t.meta["dataset"] == "market1501" and t.pid == t.meta["orig_pid"] + 13


def test_registered_and_options(make_market, make_prid):
    market, prid = make_market(), make_prid(splits=None)
    union = read_dataset("union", [("market1501", market), ("prid2011", prid, {"split_id": 2})])
    assert "union" in DATASETS
    assert union.name == "union(market1501+prid2011)"
    assert {t.camid for t in union.query} == {0, 1, 6}
    merged = read_union([("market1501", market)], all_to_train=True)
    assert merged.query == [] and merged.gallery == []
    # query + gallery folded into train, distractor pid 0 left out
    assert sorted(t.pid for t in merged.train) == [2, 2, 3, 3, 4, 4, 7]


def test_rejects_bad_sources(make_lip):
    with pytest.raises(TypeError, match="list of"):
        read_dataset("union", "/some/root")
    with pytest.raises(TypeError, match="not a re-ID dataset"):
        read_union([("lip", make_lip())])
    with pytest.raises(KeyError, match="unknown dataset 'nope'"):
        read_union([("nope", "/x")])
    with pytest.raises(ValueError, match="at least one"):
        read_union([])


# ------------------------------------------------------ invariants (issue 15, item 1)


def test_source_listed_twice_is_an_error(make_market, make_duke, make_prid):
    from vreid.data.index import DatasetFormatError

    market, duke = make_market(), make_duke()
    with pytest.raises(DatasetFormatError, match=r"union source 3 \('market1501' at .*Market-1501/'\) repeats source 1"):
        read_union([("market1501", market), ("duke-video", duke), ("market1501", str(market) + os.sep)])
    # the same root with other options is another source (two PRID2011 splits)
    prid = make_prid()
    read_union([("prid2011", prid, {"split_id": 0}), ("prid2011", prid, {"split_id": 1})])


def test_source_with_a_negative_pid_or_camid_is_an_error(make_market, monkeypatch):
    from vreid.data.index import DatasetFormatError, ReIDIndex, Tracklet

    def fake(root):
        return ReIDIndex(name="fake", root=root, train=[Tracklet(("a.jpg",), 1, 0)],
                         query=[Tracklet(("b.jpg",), -3, 0)], gallery=[])

    monkeypatch.setitem(DATASETS._items, "fake-negative", fake)
    with pytest.raises(DatasetFormatError,
                       match=r"union source 2 \('fake-negative' at '/x'\): tracklet 'b\.jpg' has pid -3"):
        read_union([("market1501", make_market()), ("fake-negative", "/x")])
