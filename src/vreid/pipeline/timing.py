"""Stage timing: a stage's wall time and throughput, logged as metrics (`timing/*`) and
written to reports/timing/<stage>.json.

Training stages: clips/s and frames/s over the training loop (the trainer's batches;
frames/s = clips/s x clip length). Evaluation: tracklets/s and frames/s of feature
extraction (the trained model's query and gallery). One file per stage, because DVC
refuses two stages declaring one output; numbers only, so `dvc metrics show` reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import atomic_write_json

if TYPE_CHECKING:
    from ..engine.hooks import MetricLogger
    from ..engine.timing import Throughput

TIMING_DIR = "timing"  # under the reports folder


def timing_file(reports_dir: str | Path, stage: str) -> Path:
    return Path(reports_dir) / TIMING_DIR / f"{stage}.json"


def stage_timing(wall_s: float, throughput: "Throughput", unit: str) -> dict[str, float]:
    """The report: wall time, the timed loop's seconds, its `unit`s (clips, tracklets) and
    frames, and their rates."""
    return {"wall_s": wall_s, "timed_s": throughput.seconds, unit: throughput.items,
            "frames": throughput.frames, f"{unit}_per_s": throughput.items_per_s,
            "frames_per_s": throughput.frames_per_s}


def record_timing(timing: dict[str, float], logger: "MetricLogger",
                  path: str | Path | None = None) -> None:
    """Log `timing` as `timing/<key>` metrics; with `path`, also write it there (and log it)."""
    logger.log_metrics({f"timing/{k}": float(v) for k, v in timing.items()})
    if path is not None:
        atomic_write_json(path, timing)
        logger.log_artifact(path)

