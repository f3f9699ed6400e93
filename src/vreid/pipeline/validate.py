"""The validate stage: the Great Expectations gate over every configured dataset."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..config import DatasetRef, Params
from ..data.index import ParsingIndex
from .common import read_configured


class ValidationFailed(RuntimeError):
    """Some check failed; the message points at the report naming the offending files."""


@dataclass
class ValidateOutput:
    success: bool
    report_json: Path
    report_md: Path


def validate(params: Params, reports_dir: str | Path = "reports") -> ValidateOutput:
    """Validate every configured set (video, image, parsing, EgoReID, the small sets) (and EgoReID's sensor logs);
    write the report; raise on failure."""
    from ..validation import validate_parsing, validate_reid, validate_sensor_logs, write_report

    results = []
    data = params.data
    refs = [getattr(data, f.name) for f in dataclasses.fields(data)]
    for ref in (r for r in refs if isinstance(r, DatasetRef)):  # the order of graph.dataset_keys
        if ref.name == "egoreid":  # its logs first: the reader refuses logs that fail them
            sensors = validate_sensor_logs(ref.root, dataset=f"{ref.name} sensors")
            results.append(sensors)
            if not sensors.success:
                continue
        index = read_configured(ref)
        if isinstance(index, ParsingIndex):
            results.append(validate_parsing(index))
        else:
            results.append(validate_reid(index))
    reports = Path(reports_dir)
    json_path, md_path = reports / "validation.json", reports / "validation.md"
    write_report(results, json_path, md_path)
    out = ValidateOutput(all(r.success for r in results), json_path, md_path)
    if not out.success:
        failed = [f"{r.dataset}: {c.name}" for r in results for c in r.checks if not c.success]
        raise ValidationFailed(
            f"data validation failed ({'; '.join(failed)}); offending files in {md_path}")
    return out
