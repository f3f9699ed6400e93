"""Models: backbones, temporal aggregators, heads and the registered methods."""

from . import baseline  # noqa: F401  (registers the baseline)
from . import egoreid, parsing  # noqa: F401  (register EgoReID and its parser)
from .backbones import BACKBONES
from .registry import MODELS, build_model
from .temporal import TEMPORAL

__all__ = ["BACKBONES", "MODELS", "TEMPORAL", "build_model"]
