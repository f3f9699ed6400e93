"""The leaderboard's attribute-wise table (paper 004 table 7): each entry's rank-1 and mAP
on the queries whose person has an attribute, with 95% bootstrap intervals and the
paired difference to the reference on that same subset.

The subset of attribute <name> is the valid queries whose person has it
(`vreid.eval.attributes.attribute_masks`; `<root>/attributes.csv` of the scored set). Its
statistics are those of the main table (`vreid.eval.bootstrap`) restricted to the
subset's queries: seeds and the subset's queries are resampled, the same draws for every
entry (paired). A subset without queries is listed with its count only.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..config import DatasetRef
from ..data.readers.attributes import PersonAttributes, read_attributes
from ..eval.attributes import attribute_masks
from ..eval.bootstrap import bootstrap_draws, interval, paired_difference

ATTRIBUTE_METRICS = ("rank1", "mAP")


def scored_attributes(ref: DatasetRef, enabled: bool = True) -> PersonAttributes | None:
    """The attributes of the leaderboard's scored set (None: disabled, a union of sources,
    or no attribute file)."""
    if not enabled or ref.sources:
        return None
    return read_attributes(ref.root)


def attribute_report(entries: Sequence[str], seeds: Sequence[int],
                     records: Mapping[tuple[str, int], Mapping[str, Any]], reference: str,
                     attributes: PersonAttributes | None, samples: int, bootstrap_seed: int,
                     level: float) -> dict[str, Any] | None:
    """The report's `attributes` key: per attribute, its query count and each entry's
    intervals on that subset (None without attributes)."""
    if attributes is None:
        return None
    missing = sorted(f"{e} seed {s}" for (e, s), r in records.items() if "query_pids" not in r)
    if missing:  # e.g. stored results reported by --report-only
        return {"skipped": f"the results of {', '.join(missing)} carry no query_pids "
                           "(written before attribute subsets existed); rerun them for "
                           "this table"}
    pids = _query_pids(records)
    subsets = []
    for name, (has, _) in attribute_masks(pids, attributes).items():
        subsets.append({"attribute": name, "queries": int(has.sum()),
                        "entries": _subset_rows(entries, seeds, records, reference, has,
                                                samples, bootstrap_seed, level)})
    return {"num_queries": len(pids), "subsets": subsets}


def _query_pids(records: Mapping[tuple[str, int], Mapping[str, Any]]) -> list[int]:
    """The person ids of the valid queries, the same in every record (`run_job` stores
    them as `query_pids`)."""
    found = {tuple(r["query_pids"]) for r in records.values()}
    if len(found) != 1:
        raise ValueError("leaderboard: the runs were scored on different queries "
                         "(their query_pids differ)")
    return list(next(iter(found)))


def _subset_rows(entries: Sequence[str], seeds: Sequence[int],
                 records: Mapping[tuple[str, int], Mapping[str, Any]], reference: str,
                 mask: np.ndarray, samples: int, bootstrap_seed: int,
                 level: float) -> list[dict[str, Any]]:
    if not mask.any():
        return []
    draws = bootstrap_draws(len(seeds), int(mask.sum()), samples, bootstrap_seed)

    def values(entry: str, metric: str) -> np.ndarray:  # [seeds, subset queries]
        rows = [records[(entry, s)]["per_query"][metric] for s in seeds]
        return np.array(rows, dtype=float)[:, mask]

    rows = []
    for name in entries:
        diffs = {m: paired_difference(values(name, m), values(reference, m), draws, level)
                 for m in ATTRIBUTE_METRICS}
        rows.append({
            "name": name,
            "metrics": {m: interval(values(name, m), draws, level).as_dict()
                        for m in ATTRIBUTE_METRICS},
            "vs_reference": {m: {**d.as_dict(), "half_width": d.half_width,
                                 "significant": d.excludes_zero} for m, d in diffs.items()},
        })
    return rows


def attribute_markdown(report: Mapping[str, Any]) -> str:
    """The attribute-wise block of reports/leaderboard.md ("" without attributes)."""
    from ..markdown import markdown_table
    from .leaderboard import _delta, _pct

    table = report.get("attributes")
    if not table:
        return ""
    if "skipped" in table:
        return f"\nAttribute-wise table (paper 004 table 7) skipped: {table['skipped']}.\n"
    ref = report["reference"]
    cells = []
    for subset in table["subsets"]:
        label = f"{subset['attribute']} ({subset['queries']})"
        if not subset["entries"]:
            cells.append([label, "-", "no query", "-", "-", "-"])
        for row in subset["entries"]:
            m, d = row["metrics"], row["vs_reference"]
            is_ref = row["name"] == ref
            cells.append([label, row["name"] + (" (ref)" if is_ref else ""), _pct(m["rank1"]),
                          "-" if is_ref else _delta(d["rank1"]), _pct(m["mAP"]),
                          "-" if is_ref else _delta(d["mAP"])])
    headers = ["attribute (queries)", "entry", "rank-1", "Δrank-1 vs ref", "mAP",
               "ΔmAP vs ref"]
    note = (f"Attribute-wise (paper 004 table 7): the valid queries whose person has the "
            f"attribute (of {table['num_queries']}; per-person attributes.csv of the scored "
            f"set). [lo, hi]: {report['level']:.0%} bootstrap interval over those queries "
            f"and the seeds; Δ: paired difference to {ref} on the same subset; `*`: its "
            "interval excludes 0. Percent.")
    return "\n".join(["", markdown_table(headers, cells), "", note]) + "\n"
