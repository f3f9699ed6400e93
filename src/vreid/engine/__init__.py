"""Training loop, hooks, checkpoints, feature extraction and index scoring."""

from .checkpoint import atomic_torch_save, latest_checkpoint, load_checkpoint
from .features import extract_clip_sets, extract_features
from .cluster_init import KMeansInitHook, kmeans_centres
from .hooks import CheckpointHook, FreezeHook, Hook, MetricLogger, MetricsHook, NullLogger
from .schedule import warmup_multistep
from .scoring import (ClipSetEncoder, IndexScores, InputSpec, MeanClipEncoder, MetricScorer,
                      TopKRefinedScorer, TrackletScoring, XqdaScorer, fit_xqda_scorer,
                      model_scoring, score_index)
from .timing import Throughput
from .trainer import Trainer, TrainResult

__all__ = [
    "CheckpointHook", "ClipSetEncoder", "FreezeHook", "Hook", "IndexScores", "InputSpec",
    "KMeansInitHook", "MeanClipEncoder", "MetricLogger", "MetricScorer", "MetricsHook",
    "NullLogger", "Throughput", "TopKRefinedScorer", "TrackletScoring", "Trainer",
    "TrainResult", "XqdaScorer", "atomic_torch_save", "extract_clip_sets",
    "extract_features", "fit_xqda_scorer", "kmeans_centres", "latest_checkpoint",
    "load_checkpoint", "model_scoring", "score_index", "warmup_multistep",
]
