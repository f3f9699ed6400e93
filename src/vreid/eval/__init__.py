"""Evaluation: distances, CMC / mAP / mINP. Importable with only numpy and torch."""

from .distance import compute_distance
from .rank import RankResult, evaluate_rank

__all__ = ["RankResult", "compute_distance", "evaluate_rank"]
