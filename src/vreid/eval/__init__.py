"""Evaluation: distances, CMC / mAP / mINP (also per person attribute), protocols, k-reciprocal and ECN re-ranking,
sensor-metadata pruning.

Names load on first use, so `vreid.eval.metadata` imports with numpy alone; the rest
needs numpy and torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "attribute_masks": "attributes",
    "attribute_metrics": "attributes",
    "subset_scores": "attributes",
    "compute_distance": "distance",
    "ECN_METHODS": "ecn",
    "ecn_re_ranking": "ecn",
    "SplitsResult": "protocols",
    "evaluate_rank_single_shot": "protocols",
    "evaluate_splits": "protocols",
    "evaluate_reader_splits": "protocols",
    "RankResult": "rank",
    "evaluate_rank": "rank",
    "evaluate_rank_features": "rank",
    "RerankMemoryError": "rerank",
    "estimate_rerank_memory": "rerank",
    "re_ranking": "rerank",
    "re_ranking_features": "rerank",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
