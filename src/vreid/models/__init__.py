"""Models: backbones, temporal aggregators, heads and the registered methods."""

from . import baseline  # noqa: F401  (registers the baseline)
from . import c3d, personvlad  # noqa: F401  (C3D clip backbone, 3D PersonVLAD: paper 003)
from . import cosam  # noqa: F401  (COSAM, paper 004; its models register in baseline)
from . import egoreid, parsing  # noqa: F401  (register EgoReID and its parser)
from . import i3d, i3d_reid  # noqa: F401  (the "i3d" clip backbone; paper 002's models)
from . import ibn, se  # noqa: F401  (register the resnet_ibn_a and se_resnet trunks)
from . import temporal_max  # noqa: F401  (registers the TP-max baseline)
from . import temporal_attention, temporal_rnn  # noqa: F401  (register TA and RNN aggregators)
from .backbones import BACKBONES
from .clip_backbone import CLIP_BACKBONES, build_clip_backbone
from .registry import MODELS, build_model
from .temporal import TEMPORAL

__all__ = ["BACKBONES", "CLIP_BACKBONES", "MODELS", "TEMPORAL", "build_clip_backbone",
           "build_model"]
