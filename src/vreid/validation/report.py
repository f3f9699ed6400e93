"""Validation reports: a JSON file for machines and a markdown summary for people.

Both files are written atomically (``vreid.atomic``): each goes to a temporary file
in its target directory, and only once both are complete are they moved into place.
A failure while writing leaves any earlier report untouched and no temporary file
behind.  Reports hold no timestamps or timings, so the
same data gives byte-identical reports.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Sequence

from ..atomic import atomic_path
from ..markdown import markdown_table

if TYPE_CHECKING:  # pragma: no cover
    from .suite import ValidationResult

__all__ = ["report_dict", "render_markdown", "write_report"]

#: offending files listed per failed check in the markdown report.
DEFAULT_MAX_LISTED = 10


def report_dict(results: Sequence["ValidationResult"]) -> dict[str, Any]:
    """The JSON report as a dict."""
    return {
        "success": all(r.success for r in results),
        "num_datasets": len(results),
        "failed_datasets": [r.dataset for r in results if not r.success],
        "datasets": [r.to_dict() for r in results],
    }


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render_markdown(results: Sequence["ValidationResult"], *, max_listed: int = DEFAULT_MAX_LISTED) -> str:
    """The markdown summary: overall verdict, one check table per dataset, offending files."""
    ok = all(r.success for r in results)
    failed = [r for r in results if not r.success]
    out: list[str] = ["# Data validation report", ""]
    verdict = "PASS" if ok else "FAIL"
    out.append(f"Overall: **{verdict}** ({len(results) - len(failed)} of {len(results)} datasets passed)")
    out.append("")
    if results:
        out.append(markdown_table(
            ["Dataset", "Kind", "Rows", "Files", "Failed checks", "Result"],
            [[r.dataset, r.kind, r.num_rows, r.num_files,
              ", ".join(c.name for c in r.failed_checks) or "-", "pass" if r.success else "**FAIL**"]
             for r in results],
            right=("Rows", "Files")))
        out.append("")

    for r in results:
        out.append(f"## {r.dataset} ({r.kind}): {'pass' if r.success else 'FAIL'}")
        out.append("")
        splits = ", ".join(f"{k} {v}" for k, v in r.rows_per_split.items())
        unit = "tracklets" if r.kind == "reid" else "samples"
        out.append(f"{r.num_rows} {unit} ({splits}); {r.num_files} files checked.")
        params = ", ".join(f"{k}={v}" for k, v in r.params.items() if k != "root")
        if params:
            out.append(f"Parameters: {params}.")
        if r.params.get("root"):
            out.append(f"Root: {_code(str(r.params['root']))}; paths below are relative to it.")
        out.append("")
        out.append(markdown_table(
            ["Check", "Result", "Unexpected", "What it checks"],
            [[c.name, "pass" if c.success else "**FAIL**", c.unexpected_count, c.description]
             for c in r.checks],
            right=("Unexpected",)))
        out.append("")
        for c in r.failed_checks:
            total = max(c.offending_total, len(c.offending))
            out.append(f"### {r.dataset}: {c.name} failed ({c.unexpected_count} unexpected, {total} offending)")
            out.append("")
            for line in c.offending[:max_listed]:
                out.append(f"- {_code(line)}")
            if total > max_listed:
                out.append(f"- ... and {total - max_listed} more (see the JSON report)")
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def write_report(
    results: Sequence["ValidationResult"],
    json_path: str | os.PathLike[str],
    md_path: str | os.PathLike[str],
    *,
    max_listed: int = DEFAULT_MAX_LISTED,
) -> None:
    """Write the JSON and markdown reports atomically (both or neither replaced on error).

    Parent directories are created.  The JSON holds every offending line each
    check kept; the markdown lists the first ``max_listed`` per failed check.
    """
    payload = report_dict(results)
    markdown = render_markdown(results, max_listed=max_listed)
    with atomic_path(md_path) as md_tmp, atomic_path(json_path) as json_tmp:
        json_tmp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        md_tmp.write_text(markdown, encoding="utf-8")
