"""The headline figures of a pipeline run, read back from the stages' reports."""

from __future__ import annotations

import json
from pathlib import Path

# (report file, metric prefix, row label): rank-1 and mAP rows, in pipeline order.
RANKING_ROWS = (
    ("metrics.json", "", "trained model"),
    ("metrics.json", "rr_", "trained model + re-ranking"),
    ("metrics.json", "untrained_", "same network, untrained"),
    ("metadata_metrics.json", "", "EgoReID set, no metadata"),
    ("metadata_metrics.json", "metadata_", "EgoReID set, metadata pruning"),
)


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None


def summary_rows(reports_dir: str | Path = "reports") -> list[tuple[str, float, float]]:
    """(label, rank-1, mAP) for every row whose report exists; fractions as written."""
    reports = Path(reports_dir)
    rows = []
    for name, prefix, label in RANKING_ROWS:
        metrics = _read(reports / name)
        if f"{prefix}rank1" in metrics:
            rows.append((label, float(metrics[f"{prefix}rank1"]), float(metrics[f"{prefix}mAP"])))
    return rows
