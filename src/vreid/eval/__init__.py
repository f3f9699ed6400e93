"""Evaluation: distances, CMC / mAP / mINP, protocols, k-reciprocal re-ranking.

Importable with only numpy and torch.
"""

from .distance import compute_distance
from .protocols import SplitsResult, evaluate_rank_single_shot, evaluate_splits, evaluate_reader_splits
from .rank import RankResult, evaluate_rank, evaluate_rank_features
from .rerank import RerankMemoryError, estimate_rerank_memory, re_ranking, re_ranking_features

__all__ = [
    "RankResult",
    "RerankMemoryError",
    "SplitsResult",
    "compute_distance",
    "evaluate_rank",
    "evaluate_rank_features",
    "evaluate_rank_single_shot",
    "evaluate_reader_splits",
    "evaluate_splits",
    "estimate_rerank_memory",
    "re_ranking",
    "re_ranking_features",
]
