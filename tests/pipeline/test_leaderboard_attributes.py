"""The leaderboard's attribute-wise table on hand-made records with known answers."""

import numpy as np
import pytest

from vreid.data.readers.attributes import PersonAttributes
from vreid.eval.bootstrap import bootstrap_draws, interval
from vreid.pipeline.leaderboard_attributes import attribute_markdown, attribute_report

SEEDS = (0, 1)
PIDS = [1, 2, 3, 4]  # the valid queries' persons
ATTRS = PersonAttributes(("hat", "backpack", "coat"),
                         {1: frozenset({"hat"}), 2: frozenset({"hat"}),
                          3: frozenset({"coat"}), 4: frozenset()})
RANK1 = {"a": [[1, 0, 1, 0], [1, 1, 1, 0]], "b": [[1, 1, 0, 0], [1, 1, 0, 1]]}
MAP = {"a": [[1.0, 0.5, 1.0, 0.2], [1.0, 1.0, 1.0, 0.2]],
       "b": [[1.0, 1.0, 0.5, 0.2], [1.0, 1.0, 0.5, 1.0]]}


def _records(pids=PIDS):
    return {(e, s): {"per_query": {"rank1": RANK1[e][k], "mAP": MAP[e][k]}, "query_pids": pids}
            for e in RANK1 for k, s in enumerate(SEEDS)}


def _report(records=None, attributes=ATTRS):
    return attribute_report(["a", "b"], SEEDS, records or _records(), "a", attributes,
                            samples=300, bootstrap_seed=0, level=0.95)


def test_subsets_intervals_and_paired_differences():
    table = _report()
    assert table["num_queries"] == 4
    hat, backpack, coat = table["subsets"]
    assert (hat["attribute"], hat["queries"]) == ("hat", 2)
    assert (backpack["queries"], backpack["entries"]) == (0, [])  # nobody carries one
    a, b = hat["entries"]
    assert a["metrics"]["rank1"]["mean"] == pytest.approx(0.75)  # pids 1, 2 over both seeds
    assert b["metrics"]["rank1"]["mean"] == pytest.approx(1.0)
    assert a["metrics"]["mAP"]["mean"] == pytest.approx(0.875)
    assert b["vs_reference"]["rank1"]["mean"] == pytest.approx(0.25)
    assert a["vs_reference"]["rank1"] == {"mean": 0, "lo": 0, "hi": 0, "half_width": 0,
                                          "significant": False}
    for row in hat["entries"]:
        for ci in row["metrics"].values():
            assert 0 <= ci["lo"] <= ci["mean"] <= ci["hi"] <= 1
    # the subset's statistics are the bootstrap's on the subset's queries and the seeds
    expected = interval(np.array(RANK1["a"], float)[:, :2], bootstrap_draws(2, 2, 300, 0))
    assert a["metrics"]["rank1"] == expected.as_dict()
    # coat (pid 3): a always hits, b never: the paired difference is -1 in every draw
    diff = coat["entries"][1]["vs_reference"]["rank1"]
    assert (diff["mean"], diff["lo"], diff["hi"], diff["significant"]) == (-1, -1, -1, True)


def test_markdown_block():
    report = {"reference": "a", "level": 0.95, "attributes": _report()}
    md = attribute_markdown(report)
    lines = md.splitlines()
    assert lines[0] == "" and lines[1].startswith("| attribute (queries) | entry | rank-1 |")
    assert "| hat (2) | a (ref) | 75.0 [" in md and "| backpack (0) | - | no query |" in md
    assert "| coat (1) | b | 0.0 [0.0, 0.0] | -100.0 [-100.0, -100.0] * |" in md
    assert "of 4" in md
    assert attribute_markdown({"reference": "a", "attributes": None}) == ""


def test_without_attributes_or_with_mismatched_queries():
    assert _report(attributes=None) is None
    records = _records()
    records[("b", 1)] = dict(records[("b", 1)], query_pids=[1, 2, 4, 3])
    with pytest.raises(ValueError, match="query_pids differ"):
        _report(records)
    del records[("b", 1)]["query_pids"]  # stored before the subsets existed: said, not fatal
    skipped = _report(records)
    assert "b seed 1 carry no query_pids" in skipped["skipped"]
    assert "skipped: the results of b seed 1" in attribute_markdown(
        {"attributes": skipped, "reference": "a", "level": 0.95})
