"""Training loop, hooks, checkpoints and feature extraction."""

from .checkpoint import atomic_torch_save, latest_checkpoint, load_checkpoint
from .features import extract_features
from .hooks import CheckpointHook, Hook, MetricLogger, MetricsHook, NullLogger
from .schedule import warmup_multistep
from .trainer import Trainer, TrainResult

__all__ = [
    "CheckpointHook", "Hook", "MetricLogger", "MetricsHook", "NullLogger", "Trainer",
    "TrainResult", "atomic_torch_save", "extract_features", "latest_checkpoint",
    "load_checkpoint", "warmup_multistep",
]
