"""The one markdown-table writer of the reports, summaries and CLI tables."""

from __future__ import annotations

from typing import Collection, Iterable, Sequence


def _cell(value: object) -> str:
    # A `|` or a line break inside a cell would end the cell or the row.
    return str(value).replace("|", "\\|").replace("\n", " ")


def _line(cells: Sequence[object]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def markdown_table(headers: Sequence[object], rows: Iterable[Sequence[object]], *,
                   right: Collection[str] = ()) -> str:
    """A GitHub markdown table, no trailing newline; cells are str()-ed; the columns
    whose header is in `right` are right-aligned."""
    lines = [_line(headers), "|" + "|".join("---:" if h in right else "---" for h in headers) + "|"]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"markdown table row {list(row)!r} has {len(row)} cells for "
                             f"{len(headers)} columns {list(headers)!r}")
        lines.append(_line(row))
    return "\n".join(lines)
