"""EgoReID ablations (paper 000, tables 2-4) as runnable variants of the video stage.

Each variant trains the `train_video` stage with some model switches changed and is
scored on the same query / gallery; the frame-average (SPReID-style) baseline of
table 3 is the fine-tuned frame model itself, averaged over the tracklet. Variants that
build the same model (tables 2 and 4 share their full model) are trained and scored
once and reported under each name.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ContextManager, Sequence

from ..config import ModelConfig, Params
from ..engine import MetricLogger, NullLogger
from ..models import MODELS
from .common import (atomic_write_text, load_model, read_configured, resolve_device,
                     saved_input_spec, set_threads)
from .evaluate import rank_metrics
from .stages import model_stage, resolve_stage
from .train import train_reid

# name -> train_video model-kwargs overrides (None: the frame-average baseline)
VARIANTS: dict[str, dict | None] = {
    "Ub": {"regions": ["ub"], "use_global": False},
    "Lb": {"regions": ["lb"], "use_global": False},
    "Fb": {"regions": ["fg"], "use_global": False},
    "Ub+Lb+Fb": {"regions": ["fg", "ub", "lb"], "use_global": False},
    "Ub+Lb+Fb+Gf": {"regions": ["fg", "ub", "lb"], "use_global": True},
    "without weights and multi-scale": {"use_weights": False, "multi_scale": False},
    "with multi-scale": {"use_weights": False, "multi_scale": True},
    "with multi-scale and weights": {"use_weights": True, "multi_scale": True},
    "frame average (SPReID-style)": None,
}

# The paper's MARS figures (rank-1, mAP) for each variant: tables 2, 3 and 4.
PAPER_MARS: dict[str, tuple[float, float]] = {
    "Ub": (70.76, 56.61), "Lb": (72.12, 57.91), "Fb": (77.22, 63.71),
    "Ub+Lb+Fb": (80.01, 67.96), "Ub+Lb+Fb+Gf": (83.18, 72.91),
    "without weights and multi-scale": (79.19, 65.91), "with multi-scale": (81.22, 70.30),
    "with multi-scale and weights": (83.18, 72.91),
    "frame average (SPReID-style)": (58.23, 31.21),
}


@dataclass
class AblationRow:
    variant: str
    metrics: dict[str, float]


def run_ablation(
    params: Params,
    variants: Sequence[str] = tuple(VARIANTS),
    work_dir: str | Path = "ablation",
    report_path: str | Path = "reports/egoreid_ablation.md",
    run_context: Callable[[str], ContextManager[MetricLogger]] | None = None,
) -> list[AblationRow]:
    """Train and score each variant; write one markdown comparison table."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown ablation variant(s) {unknown}; known: {list(VARIANTS)}")
    set_threads(params.runtime.threads)
    device = resolve_device(params.runtime.device)
    index = read_configured(params.data.video)
    stage = resolve_stage(params, model_stage(params)).config  # init_from files merged in
    rows = []
    scored: dict[str, dict[str, float]] = {}  # model identity -> metrics
    for name in variants:
        with (run_context(name) if run_context else nullcontext(NullLogger())) as logger:
            overrides = VARIANTS[name]
            if overrides is None:  # table 3: the fine-tuned frame model, frame-averaged
                model_path = Path(stage.model.kwargs["extractor_checkpoint"])
                key = f"file:{model_path}"
            else:
                variant = dataclasses.replace(stage, model=ModelConfig(
                    stage.model.name, {**stage.model.kwargs, **overrides}))
                key = model_identity(variant.model)
            if key not in scored:
                if overrides is not None:
                    slug = _slug(name)
                    model_path = train_reid(variant, params.data.video, params.runtime,
                                            Path(work_dir) / "models" / slug,
                                            Path(work_dir) / "checkpoints" / slug,
                                            logger).model_path
                model, saved = load_model(model_path)
                scored[key], _ = rank_metrics(model, index, params,
                                              saved_input_spec(saved, stage.input), device,
                                              rerank=False)
            logger.log_metrics(scored[key])
            rows.append(AblationRow(name, dict(scored[key])))
    atomic_write_text(report_path, ablation_table(rows))
    return rows


def model_identity(model: ModelConfig) -> str:
    """The model name with every builder argument (defaults filled in): two configs with
    the same identity build the same model, e.g. a switch set to its default value."""
    args = inspect.signature(MODELS.get(model.name)).bind_partial(**model.kwargs)
    args.apply_defaults()
    return json.dumps([model.name, args.arguments], sort_keys=True, default=str)


def ablation_table(rows: Sequence[AblationRow]) -> str:
    from ..markdown import markdown_table

    cells = []
    for row in rows:
        m, paper = row.metrics, PAPER_MARS.get(row.variant, (float("nan"),) * 2)
        cells.append([row.variant, f"{100 * m['rank1']:.1f}", f"{100 * m['rank5']:.1f}",
                      f"{100 * m['mAP']:.1f}", f"{paper[0]:.2f}", f"{paper[1]:.2f}"])
    return markdown_table(["variant", "rank-1", "rank-5", "mAP", "paper MARS rank-1",
                           "paper MARS mAP"], cells) + "\n"


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
