"""The evaluation stage: CMC / mAP / mINP of a trained model (and an untrained twin),
plain and, as `eval` configures, re-ranked: k-reciprocal (rr_) and ECN (ecn_). With
`eval.attributes` and a scored set that has per-person attributes, also the plain
ranking's rank-1 / mAP per attribute (attr_*: `vreid.eval.attributes`; trained model only).
A model scored in two stages (paper 002's clip sets: a cheap distance's top-K re-scored by
the learned similarity) adds the first stage's recall@K and the second's cost
(first_stage_top_k, first_stage_recall, refine_pairs, refine_seconds; `RefineCost`).

It also writes which frames were scored (`eval.frames`) to reports/eval_protocol.json
(a plain output, not a DVC metric: metrics files hold numbers only) and its timing
(wall time; tracklets/s and frames/s of the trained model's feature extraction) to
reports/timing/evaluate.json.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..config import EvalConfig, Params
from ..data.frames import describe_frames
from ..data.index import ReIDIndex
from ..data.readers.attributes import PersonAttributes, read_attributes
from ..engine import InputSpec, MetricLogger, NullLogger, Throughput, score_index
from ..eval import RankResult, attribute_metrics, ecn_re_ranking, evaluate_rank, re_ranking
from ..models import build_model
from .common import (apply_runtime, atomic_write_json, atomic_write_text, load_model,
                     read_configured, resolve_device, saved_input_spec)
from .stages import model_stage_config
from .timing import record_timing, stage_timing, timing_file

PROTOCOL_REPORT = "eval_protocol.json"


@dataclass
class EvalOutput:
    metrics: dict[str, float]
    cmc: list[float]
    untrained_cmc: list[float] | None
    timing: dict[str, float] = field(default_factory=dict)  # `timing.stage_timing`
    protocol: dict[str, str] = field(default_factory=dict)  # reports/eval_protocol.json


def _summary(result, ev: EvalConfig, prefix: str = "") -> dict[str, float]:
    out = {f"{prefix}rank{k}": result.rank(k) for k in ev.ranks}
    out.update({f"{prefix}mAP": result.mAP, f"{prefix}mINP": result.mINP})
    return out


def query_gallery_ids(index: ReIDIndex) -> tuple[list[int], list[int], list[int], list[int]]:
    """(q_pids, g_pids, q_camids, g_camids), the id arguments of `evaluate_rank`."""
    return ([t.pid for t in index.query], [t.pid for t in index.gallery],
            [t.camid for t in index.query], [t.camid for t in index.gallery])


def index_attributes(index: ReIDIndex) -> PersonAttributes | None:
    """The scored set's per-person attributes (`<root>/attributes.csv`), or None: the set
    has no such file, or it is a union (whose pids are offset from the files')."""
    if index.name.startswith("union("):
        return None
    return read_attributes(index.root)


def rank_metrics(model: nn.Module, index: ReIDIndex, params: Params, spec: InputSpec,
                 device: torch.device, rerank: bool) -> tuple[dict[str, float], list[float]]:
    """Score the index once (`score_index` at `spec`); rank plainly and, if `rerank`, with
    the re-rankings `params.eval` enables: k-reciprocal (`eval.rerank`, metrics rr_*) and
    ECN (`eval.ecn`, metrics ecn_*)."""
    metrics, cmc, _ = rank_metrics_timed(model, index, params, spec, device, rerank)
    return metrics, cmc


def rank_metrics_timed(model: nn.Module, index: ReIDIndex, params: Params, spec: InputSpec,
                       device: torch.device, rerank: bool
                       ) -> tuple[dict[str, float], list[float], Throughput]:
    """`rank_metrics`, and the feature extraction's throughput."""
    metrics, results, extraction = _ranked(model, index, params, spec, device, rerank)
    return metrics, results[0].cmc.tolist(), extraction


def ranked(model: nn.Module, index: ReIDIndex, params: Params, spec: InputSpec,
           device: torch.device, rerank: bool = False
           ) -> tuple[dict[str, float], tuple[RankResult, ...]]:
    """`rank_metrics` with the `RankResult`s behind it (plain first, then the re-rankings),
    whose per-query values the leaderboard resamples."""
    metrics, results, _ = _ranked(model, index, params, spec, device, rerank)
    return metrics, results


def _ranked(model: nn.Module, index: ReIDIndex, params: Params, spec: InputSpec,
            device: torch.device, rerank: bool
            ) -> tuple[dict[str, float], tuple[RankResult, ...], Throughput]:
    ev = params.eval
    rr_on, ecn_on = rerank and ev.rerank.enabled, rerank and ev.ecn.enabled
    scores = score_index(model, index, ev, spec, device=device,
                         num_workers=params.runtime.num_workers, within=rr_on or ecn_on)
    ids = query_gallery_ids(index)
    result = evaluate_rank(scores.query_gallery.numpy(), *ids, max_rank=ev.max_rank)
    results = [result]
    metrics = _summary(result, ev)
    metrics["num_valid_queries"] = result.num_valid
    if scores.refine is not None:  # two-stage scoring: first-stage recall@K, refine cost
        metrics.update(scores.refine.metrics(*ids))
    attributes = index_attributes(index) if ev.attributes else None
    if attributes is not None:
        metrics.update(attribute_metrics(result, ids[0], attributes))
    within = (scores.query_gallery, scores.query_query, scores.gallery_gallery)
    if rr_on:
        rr = ev.rerank
        q_g_rr = re_ranking(*within, k1=rr.k1, k2=rr.k2, lambda_value=rr.lambda_value)
        results.append(evaluate_rank(np.asarray(q_g_rr), *ids, max_rank=ev.max_rank))
        metrics.update(_summary(results[-1], ev, prefix="rr_"))
    if ecn_on:
        ecn = ev.ecn
        q_g_ecn = ecn_re_ranking(*within, t=ecn.t, q=ecn.q, method=ecn.method, k=ecn.k)
        results.append(evaluate_rank(np.asarray(q_g_ecn), *ids, max_rank=ev.max_rank))
        metrics.update(_summary(results[-1], ev, prefix="ecn_"))
    return metrics, tuple(results), scores.extraction


def score_model(params: Params, model_path: str | Path, index: ReIDIndex,
                device: torch.device) -> tuple[dict[str, float], list[float], dict]:
    """A saved model's metrics on `index` at the input spec of the model file; also returns
    the model file's contents. Promotion scores challenger and champion with this."""
    metrics, cmc, saved, _ = _score_model(params, model_path, index, device)
    return metrics, cmc, saved


def _score_model(params: Params, model_path: str | Path, index: ReIDIndex,
                 device: torch.device) -> tuple[dict[str, float], list[float], dict, Throughput]:
    model, saved = load_model(model_path)
    spec = saved_input_spec(saved, model_stage_config(params).input)
    metrics, cmc, extraction = rank_metrics_timed(
        model, index, params, spec, device,
        rerank=params.eval.rerank.enabled or params.eval.ecn.enabled)
    return metrics, cmc, saved, extraction


def evaluate(
    params: Params,
    model_path: str | Path = "models/video/model.pt",
    reports_dir: str | Path = "reports",
    logger: MetricLogger | None = None,
) -> EvalOutput:
    """Writes reports/metrics.json (DVC metrics), reports/cmc.csv (DVC plot data),
    reports/eval_protocol.json (the frames scored) and reports/timing/evaluate.json."""
    started = time.perf_counter()
    apply_runtime(params.runtime)
    logger = logger or NullLogger()
    device = resolve_device(params.runtime.device)
    index = read_configured(params.data.video)
    metrics, cmc, saved, extraction = _score_model(params, model_path, index, device)
    untrained_cmc = None
    if params.eval.untrained_baseline:
        # Same architecture, random initialisation from the training seed: the floor.
        torch.manual_seed(model_stage_config(params).train.seed)
        untrained = build_model(saved["model_name"], num_classes=saved["num_classes"],
                                **saved["model_kwargs"])
        spec = saved_input_spec(saved, model_stage_config(params).input)
        base, untrained_cmc = rank_metrics(untrained, index, params, spec, device,
                                           rerank=False)
        metrics.update({f"untrained_{k}": v for k, v in base.items()
                        if k != "num_valid_queries" and not k.startswith("attr_")})
    reports = Path(reports_dir)
    atomic_write_json(reports / "metrics.json", metrics)
    rows = ["rank,cmc" + (",untrained_cmc" if untrained_cmc else "")]
    for k, value in enumerate(cmc):
        extra = f",{untrained_cmc[k]:.6f}" if untrained_cmc else ""
        rows.append(f"{k + 1},{value:.6f}{extra}")
    atomic_write_text(reports / "cmc.csv", "\n".join(rows) + "\n")
    protocol = {"frames": params.eval.frames, "scored": describe_frames(params.eval.frames)}
    atomic_write_json(reports / PROTOCOL_REPORT, protocol)
    logger.log_metrics(metrics)
    logger.log_artifact(reports / "metrics.json")
    logger.log_artifact(reports / "cmc.csv")
    logger.log_artifact(reports / PROTOCOL_REPORT)
    timing = stage_timing(time.perf_counter() - started, extraction, "tracklets")
    record_timing(timing, logger, timing_file(reports, "evaluate"))
    return EvalOutput(metrics, cmc, untrained_cmc, timing, protocol)
