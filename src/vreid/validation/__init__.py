"""Data validation gate: Great Expectations checks over dataset indexes.

Cheap to import: pandas, Pillow and great_expectations load only when a
validate / table function runs.

    >>> from vreid.validation import validate_reid, validate_parsing, write_report
    >>> results = [validate_reid(mars_index, num_cams=6), validate_parsing(lip_index)]
    >>> write_report(results, "reports/validation.json", "reports/validation.md")
    >>> ok = all(r.success for r in results)
"""

from __future__ import annotations

from typing import Any

from .report import render_markdown, report_dict, write_report
from .suite import (CheckResult, ValidationResult, validate_parsing, validate_reid,
                    validate_sensor_logs)

__all__ = [
    "CheckResult",
    "ValidationResult",
    "validate_reid",
    "validate_parsing",
    "validate_sensor_logs",
    "write_report",
    "render_markdown",
    "report_dict",
    "reid_table",
    "parsing_table",
]


def __getattr__(name: str) -> Any:  # lazy: table.py is only needed when validating
    if name in ("reid_table", "parsing_table"):
        from . import table

        return getattr(table, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
