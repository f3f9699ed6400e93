"""Evaluation: distances, CMC / mAP / mINP. Importable with only numpy and torch."""

from .distance import compute_distance
from .protocols import SplitsResult, evaluate_rank_single_shot, evaluate_splits, evaluate_reader_splits
from .rank import RankResult, evaluate_rank, evaluate_rank_features

__all__ = [
    "RankResult",
    "SplitsResult",
    "compute_distance",
    "evaluate_rank",
    "evaluate_rank_features",
    "evaluate_rank_single_shot",
    "evaluate_reader_splits",
    "evaluate_splits",
]
