"""The evaluation stage: CMC / mAP / mINP of a trained model (and an untrained twin),
with and without k-reciprocal re-ranking."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..config import EvalConfig, Params
from ..data.clip_dataset import TrackletFrames
from ..data.index import ReIDIndex
from ..data.transforms import build_transform
from ..engine import MetricLogger, NullLogger, extract_features
from ..eval import compute_distance, evaluate_rank, re_ranking
from ..models import build_model
from .common import (atomic_write_json, atomic_write_text, load_model, read_configured,
                     resolve_device, set_threads)
from .stages import model_stage_config


@dataclass
class EvalOutput:
    metrics: dict[str, float]
    cmc: list[float]
    untrained_cmc: list[float] | None


def _summary(result, ev: EvalConfig, prefix: str = "") -> dict[str, float]:
    out = {f"{prefix}rank{k}": result.rank(k) for k in ev.ranks}
    out.update({f"{prefix}mAP": result.mAP, f"{prefix}mINP": result.mINP})
    return out


def query_gallery_features(model: nn.Module, index: ReIDIndex, params: Params, clip_len: int,
                           device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Tracklet features of the query and the gallery (eval transform of the model stage's
    input)."""
    inp, ev = model_stage_config(params).input, params.eval
    transform = build_transform(inp.height, inp.width, train=False)
    qf, gf = (
        extract_features(model, TrackletFrames(split, transform), clip_len, ev.batch_size, device,
                         params.runtime.num_workers)
        for split in (index.query, index.gallery)
    )
    return qf, gf


def saved_clip_len(saved: dict, params: Params) -> int:
    """The clip length a model file was trained with (older files: the model stage's)."""
    return saved.get("input", {}).get("clip_len", model_stage_config(params).input.clip_len)


def query_gallery_ids(index: ReIDIndex) -> tuple[list[int], list[int], list[int], list[int]]:
    """(q_pids, g_pids, q_camids, g_camids), the id arguments of `evaluate_rank`."""
    return ([t.pid for t in index.query], [t.pid for t in index.gallery],
            [t.camid for t in index.query], [t.camid for t in index.gallery])


def rank_metrics(model: nn.Module, index: ReIDIndex, params: Params, clip_len: int,
                 device: torch.device, rerank: bool) -> tuple[dict[str, float], list[float]]:
    """Extract query/gallery features once; score them plainly and, if asked, re-ranked."""
    ev = params.eval
    qf, gf = query_gallery_features(model, index, params, clip_len, device)
    ids = query_gallery_ids(index)
    q_g = compute_distance(qf, gf, metric=ev.metric)
    result = evaluate_rank(q_g.numpy(), *ids, max_rank=ev.max_rank)
    metrics = _summary(result, ev)
    metrics["num_valid_queries"] = result.num_valid
    if rerank:
        rr = ev.rerank
        q_g_rr = re_ranking(q_g, compute_distance(qf, qf, metric=ev.metric),
                            compute_distance(gf, gf, metric=ev.metric),
                            k1=rr.k1, k2=rr.k2, lambda_value=rr.lambda_value)
        metrics.update(_summary(evaluate_rank(np.asarray(q_g_rr), *ids, max_rank=ev.max_rank),
                                ev, prefix="rr_"))
    return metrics, result.cmc.tolist()


def score_model(params: Params, model_path: str | Path, index: ReIDIndex,
                device: torch.device) -> tuple[dict[str, float], list[float], dict]:
    """A saved model's metrics on `index` (clip length from the model file); also returns
    the model file's contents. Promotion scores challenger and champion with this."""
    model, saved = load_model(model_path)
    clip_len = saved_clip_len(saved, params)
    metrics, cmc = rank_metrics(model, index, params, clip_len, device,
                                rerank=params.eval.rerank.enabled)
    return metrics, cmc, saved


def evaluate(
    params: Params,
    model_path: str | Path = "models/video/model.pt",
    reports_dir: str | Path = "reports",
    logger: MetricLogger | None = None,
) -> EvalOutput:
    """Writes reports/metrics.json (DVC metrics) and reports/cmc.csv (DVC plot data)."""
    set_threads(params.runtime.threads)
    logger = logger or NullLogger()
    device = resolve_device(params.runtime.device)
    index = read_configured(params.data.video)
    metrics, cmc, saved = score_model(params, model_path, index, device)
    clip_len = saved_clip_len(saved, params)
    untrained_cmc = None
    if params.eval.untrained_baseline:
        # Same architecture, random initialisation from the training seed: the floor.
        torch.manual_seed(model_stage_config(params).train.seed)
        untrained = build_model(saved["model_name"], num_classes=saved["num_classes"],
                                **saved["model_kwargs"])
        base, untrained_cmc = rank_metrics(untrained, index, params, clip_len, device,
                                           rerank=False)
        metrics.update({f"untrained_{k}": v for k, v in base.items() if k != "num_valid_queries"})
    reports = Path(reports_dir)
    atomic_write_json(reports / "metrics.json", metrics)
    rows = ["rank,cmc" + (",untrained_cmc" if untrained_cmc else "")]
    for k, value in enumerate(cmc):
        extra = f",{untrained_cmc[k]:.6f}" if untrained_cmc else ""
        rows.append(f"{k + 1},{value:.6f}{extra}")
    atomic_write_text(reports / "cmc.csv", "\n".join(rows) + "\n")
    logger.log_metrics(metrics)
    logger.log_artifact(reports / "metrics.json")
    logger.log_artifact(reports / "cmc.csv")
    return EvalOutput(metrics, cmc, untrained_cmc)
