"""Attribute-wise rank-1 / mAP (paper 004 table 7): the queries whose person has an
attribute (a hat, a backpack, ...) against those whose person has not.

The attributes are per person (`vreid.data.readers.attributes`): a query "has" an
attribute when its identity carries it, whether or not that tracklet shows it. Queries
whose person the attribute file does not list count in neither subset. As everywhere in
`vreid.eval.rank`, only queries with a valid gallery match are scored; rank-1 is the
fraction of them whose first kept gallery item is a true match, mAP the mean of their AP.

Metric names: `attr_<name>_{rank1,mAP,queries}` for the queries with attribute <name>,
`attr_without_<name>_{rank1,mAP,queries}` for those without; a subset with no query
reports only its `_queries` (0). numpy only (the types are imported for checking only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import numpy as np

if TYPE_CHECKING:  # not imported at run time: this module needs numpy alone
    from vreid.data.readers.attributes import PersonAttributes

    from .rank import RankResult

__all__ = ["attribute_masks", "subset_scores", "attribute_metrics"]

Masks = dict[str, tuple[np.ndarray, np.ndarray]]


def attribute_masks(q_pids: Iterable[int], attributes: "PersonAttributes") -> Masks:
    """name -> (has, lacks): boolean masks over the queries (a person the file does not
    list is in neither)."""
    pids = [int(p) for p in q_pids]
    listed = np.array([p in attributes.by_pid for p in pids], dtype=bool)
    out: Masks = {}
    for name in attributes.names:
        has = np.array([name in attributes.by_pid.get(p, ()) for p in pids], dtype=bool)
        out[name] = (has, listed & ~has)
    return out


def subset_scores(hits: np.ndarray, ap: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """{queries, rank1, mAP} of the queries in `mask` (rank1 / mAP absent when none).

    `hits` / `ap` are per query: rank-1 hit (0/1) and AP; `mask` selects the subset."""
    hits, ap, mask = np.asarray(hits, float), np.asarray(ap, float), np.asarray(mask, bool)
    if not hits.shape == ap.shape == mask.shape:
        raise ValueError(f"hits {hits.shape}, ap {ap.shape} and mask {mask.shape} must have "
                         "one entry per query")
    n = int(mask.sum())
    if n == 0:
        return {"queries": 0}
    return {"queries": n, "rank1": float(hits[mask].mean()), "mAP": float(ap[mask].mean())}


def attribute_metrics(result: "RankResult", q_pids: Iterable[int],
                      attributes: "PersonAttributes") -> dict[str, float]:
    """The attr_* metrics of one ranking (`result` of `evaluate_rank`, `q_pids` its
    queries' person ids, in query order)."""
    if result.first_match is None:
        raise ValueError("attribute metrics need per-query first-match ranks "
                         "(RankResult.first_match)")
    valid = np.isfinite(result.ap)
    hits = (result.first_match == 0).astype(float)
    ap = np.where(valid, result.ap, 0.0)
    pids = list(q_pids)
    if len(pids) != len(valid):
        raise ValueError(f"{len(pids)} query pids for a ranking of {len(valid)} queries")
    metrics: dict[str, float] = {}
    for name, (has, lacks) in attribute_masks(pids, attributes).items():
        for prefix, mask in ((f"attr_{name}_", has), (f"attr_without_{name}_", lacks)):
            scores = subset_scores(hits, ap, mask & valid)
            metrics.update({prefix + k: v for k, v in scores.items()})
    return metrics
