"""The headline figures of a pipeline run, read back from the stages' reports: rank-1 /
mAP rows, the frames scored (eval.frames) and each stage's timing (reports/timing/)."""

from __future__ import annotations

import json
from pathlib import Path

from .timing import TIMING_DIR

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


def protocol_line(reports_dir: str | Path = "reports") -> str | None:
    """The frames the evaluation scored, as evaluate wrote it (None before it ran)."""
    protocol = _read(Path(reports_dir) / "eval_protocol.json")
    return f"frames scored: {protocol['frames']} ({protocol['scored']})" if protocol else None


def timing_rows(reports_dir: str | Path = "reports"
                ) -> list[tuple[str, float, float | None, float | None, float]]:
    """(stage, wall s, clips/s, tracklets/s, frames/s) of every reports/timing/*.json, in
    the order the stages ran (file time, then name); clips/s is a training stage's, over
    its training loop, tracklets/s the evaluation's feature extraction (else None)."""
    files = sorted((Path(reports_dir) / TIMING_DIR).glob("*.json"),
                   key=lambda f: (f.stat().st_mtime, f.name))
    rows = []
    for path in files:
        t = _read(path)
        rows.append((path.stem, float(t["wall_s"]), t.get("clips_per_s"), t.get("tracklets_per_s"),
                     float(t["frames_per_s"])))
    return rows
