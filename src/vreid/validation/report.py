"""Validation reports: a JSON file for machines and a markdown summary for people.

Both files are written atomically: each goes to a temporary file in its target
directory, and only once both are complete are they moved into place with
``os.replace``.  A failure while writing leaves any earlier report untouched
and no temporary file behind.  Reports hold no timestamps or timings, so the
same data gives byte-identical reports.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import TYPE_CHECKING, Any, Sequence

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


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


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
        out += ["| Dataset | Kind | Rows | Files | Failed checks | Result |", "|---|---|---:|---:|---|---|"]
        for r in results:
            names = ", ".join(c.name for c in r.failed_checks) or "-"
            out.append(
                f"| {_cell(r.dataset)} | {r.kind} | {r.num_rows} | {r.num_files} | {_cell(names)} | "
                f"{'pass' if r.success else '**FAIL**'} |"
            )
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
        out += ["| Check | Result | Unexpected | What it checks |", "|---|---|---:|---|"]
        for c in r.checks:
            out.append(
                f"| {c.name} | {'pass' if c.success else '**FAIL**'} | {c.unexpected_count} | {_cell(c.description)} |"
            )
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


def _temp_in(path: str) -> tuple[Any, str]:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; reports are meant to be read
    except OSError:
        pass
    return os.fdopen(fd, "w", encoding="utf-8"), tmp


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
    json_path, md_path = os.fspath(json_path), os.fspath(md_path)
    payload = report_dict(results)
    markdown = render_markdown(results, max_listed=max_listed)
    temps: list[str] = []
    try:
        handle, tmp = _temp_in(json_path)
        temps.append(tmp)
        with handle:
            json.dump(payload, handle, indent=2, sort_keys=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        handle, tmp = _temp_in(md_path)
        temps.append(tmp)
        with handle:
            handle.write(markdown)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temps[0], json_path)
        os.replace(temps[1], md_path)
        temps.clear()
    finally:
        for tmp in temps:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
