"""EgoReID ablations (paper 000, tables 2-4): the leaderboard over its ablation entries.

The variants are the entry files configs/leaderboard/egoreid_*.yaml (the `train_video`
stage with model switches changed; the frame-average row of table 3 is the fine-tuned
frame model, `finetune_image`, averaged over the tracklet), each carrying the paper's
MARS figures. `vreid ablate` runs them through `vreid.pipeline.leaderboard` with one
seed (the model stage's `train.seed`) and writes reports/egoreid_ablation.{md,json,png};
`vreid leaderboard` runs them for every seed with confidence intervals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..config import Params
from .leaderboard import LeaderboardOutput, RunContext, leaderboard, load_entries
from .stages import model_stage_config

ENTRIES = ("configs/leaderboard/egoreid_*.yaml",)
FULL_MODEL = "Ub+Lb+Fb+Gf"  # the reference of the differences, when it is run


def run_ablation(
    params: Params,
    variants: Sequence[str] | None = None,
    entries: Sequence[str] = ENTRIES,
    reports_dir: str | Path = "reports",
    run_context: RunContext | None = None,
) -> LeaderboardOutput:
    """Train and score the ablation entries named `variants` (default: all) with one seed."""
    known = load_entries(params, entries)
    chosen = [e for e in known if variants is None or e.name in variants]
    unknown = sorted(set(variants or ()) - {e.name for e in known})
    if unknown:
        raise ValueError(f"unknown ablation variant(s) {unknown}; known: "
                         f"{[e.name for e in known]}")
    names = [e.name for e in chosen]
    reference = FULL_MODEL if FULL_MODEL in names else names[0]
    return leaderboard(params, chosen, seeds=[model_stage_config(params).train.seed],
                       reports_dir=reports_dir, report_name="egoreid_ablation",
                       reference=reference, run_context=run_context)
