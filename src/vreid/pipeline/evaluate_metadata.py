"""Evaluation with and without sensor-metadata pruning on an EgoReID set (paper 000, table 2).

The same features and distances are scored twice: over the whole gallery, and over the
gallery that eq. 2 keeps per query (`vreid.eval.metadata.prune_gallery`); a pruned true
match counts as missed. Also reported: how much the gallery shrank, how often the
predicted next camera is the camera of the query's true next appearance (the same pid's
first later tracklet in another camera) and how often that appearance survives pruning.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import MetadataConfig, Params
from ..data.index import ReIDIndex
from ..engine import MetricLogger, NullLogger, score_index
from ..eval import evaluate_rank
from ..eval.metadata import MetadataError, PruneResult, SensorTrack, prune_gallery
from .common import (atomic_write_json, load_model, read_configured, resolve_device,
                     saved_input_spec, set_threads)
from .evaluate import query_gallery_ids
from .stages import model_stage_config
from .timing import record_timing, stage_timing, timing_file

REPORT = "metadata_metrics.json"


@dataclass
class MetadataEvalOutput:
    metrics: dict[str, float]
    report: Path
    timing: dict[str, float] = field(default_factory=dict)  # `timing.stage_timing`


def prune_index(index: ReIDIndex, cfg: MetadataConfig) -> PruneResult:
    """Eq. 2's gallery mask for an index read by the egoreid reader."""
    sensors = index.metadata.get("sensors")
    if not sensors:
        raise ValueError(f"dataset {index.name!r} at {index.root!r} has no sensor metadata "
                         "(read it with the egoreid reader)")
    for t in (*index.query, *index.gallery):
        if "exit_time" not in t.meta or "direction" not in t.meta:
            raise ValueError(f"dataset {index.name!r}: tracklet {t.frames[0]!r} lacks "
                             "entry/exit times or direction")
    tracks = {cam: SensorTrack.from_columns(cols) for cam, cols in sensors.items()}
    try:
        return _prune(index, tracks, cfg)
    except MetadataError as exc:
        raise MetadataError(f"{index.name} at {index.root!r}: {exc} (camid k logs in "
                            "sensors/cam<k+1>.csv)") from exc


def _prune(index: ReIDIndex, tracks: dict, cfg: MetadataConfig) -> PruneResult:
    return prune_gallery(
        [t.camid for t in index.query], [t.meta["exit_time"] for t in index.query],
        [t.meta["direction"] == "towards" for t in index.query],
        [t.camid for t in index.gallery], [t.meta["entry_time"] for t in index.gallery], tracks,
        target_speed=cfg.target_speed, tolerance_deg=cfg.tolerance_deg, range_m=cfg.range_m,
        slack_s=cfg.slack_s, max_gap_s=cfg.max_gap_s, on_missing=cfg.on_missing)


def next_appearance_stats(index: ReIDIndex, pruned: PruneResult) -> dict[str, float]:
    """Next-camera accuracy and the share of true next appearances kept by the mask."""
    right = kept = total = 0
    for i, q in enumerate(index.query):
        later = [(g.meta["entry_time"], j) for j, g in enumerate(index.gallery)
                 if g.pid == q.pid and g.camid != q.camid
                 and g.meta["entry_time"] >= q.meta["exit_time"]]
        if not later:
            continue
        j = min(later)[1]
        total += 1
        right += int(pruned.next_camera[i] == index.gallery[j].camid)
        kept += int(pruned.mask[i, j])
    return {"queries_with_next_appearance": total,
            "next_camera_accuracy": right / total if total else float("nan"),
            "true_next_kept": kept / total if total else float("nan")}


def evaluate_metadata(params: Params, model_path: str | Path = "models/train_video/model.pt",
                      reports_dir: str | Path = "reports",
                      logger: MetricLogger | None = None) -> MetadataEvalOutput:
    """Writes reports/metadata_metrics.json (DVC metrics): rank-k / mAP without and with
    metadata (prefix ``metadata_``), gallery kept / shrink fractions and diagnostics;
    reports/timing/evaluate_metadata.json (wall time, feature-extraction rates)."""
    started = time.perf_counter()
    set_threads(params.runtime.threads)
    logger = logger or NullLogger()
    ev = params.eval
    index = read_configured(params.data.egoreid)
    pruned = prune_index(index, params.metadata)  # sensor problems fail before any feature work
    model, saved = load_model(model_path)
    scores = score_index(model, index, ev,
                         saved_input_spec(saved, model_stage_config(params).input),
                         device=resolve_device(params.runtime.device),
                         num_workers=params.runtime.num_workers)
    dist = scores.query_gallery.numpy()
    ids = query_gallery_ids(index)
    metrics: dict[str, float] = {}
    for prefix, mask in (("", None), ("metadata_", pruned.mask)):
        res = evaluate_rank(dist, *ids, max_rank=ev.max_rank, gallery_mask=mask)
        metrics.update({f"{prefix}rank{k}": res.rank(k) for k in ev.ranks})
        metrics.update({f"{prefix}mAP": res.mAP, f"{prefix}mINP": res.mINP})
    metrics.update({
        "num_query": len(index.query), "num_gallery": len(index.gallery),
        "gallery_kept_fraction": pruned.kept_fraction,
        "gallery_shrink": 1.0 - pruned.kept_fraction,
        "skipped_missing_sensors": pruned.skipped_missing,
        "skipped_no_candidate": pruned.skipped_no_candidate,
        **next_appearance_stats(index, pruned),
    })
    report = Path(reports_dir) / REPORT
    atomic_write_json(report, metrics)
    logger.log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(v)})
    logger.log_artifact(report)
    timing = stage_timing(time.perf_counter() - started, scores.extraction, "tracklets")
    record_timing(timing, logger, timing_file(reports_dir, "evaluate_metadata"))
    return MetadataEvalOutput(metrics, report, timing)


def format_table(metrics: dict[str, float], model_name: str) -> str:
    """Paper 000 table-2 style rows: without / with metadata."""
    from ..markdown import markdown_table

    return markdown_table(["Method", "R-1", "mAP", "gallery searched"], [
        [model_name, f"{metrics['rank1']:.2%}", f"{metrics['mAP']:.2%}", "100%"],
        [f"{model_name} + Metadata", f"{metrics['metadata_rank1']:.2%}",
         f"{metrics['metadata_mAP']:.2%}", f"{metrics['gallery_kept_fraction']:.1%}"]])
