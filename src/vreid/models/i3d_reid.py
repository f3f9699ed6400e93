"""Paper 002's two registered models.

- `i3d_reid` (step 1, sec. 3.2 "3D CNN"): I3D -> global mean -> BNNeck / classifier,
  `video_cnn` with the "i3d" clip backbone; trained with the hard-mining triplet loss
  (eq. 7, LOSSES "triplet") plus softmax cross-entropy (eq. 8, LOSSES "cross_entropy"),
  scored as one mean vector per tracklet ("embedding").
- `i3d_clip_similarity` (step 2, sec. 3.2 "Clip similarity aggregation module"): the
  same I3D, frozen, + the learned clip-similarity aggregation psi_Theta (eq. 1-6,
  `LearnedClipSimilarity`) or the top-t% baseline (eq. 9, `TopPercentSimilarity`),
  trained with the triplet loss on negative similarities (LOSSES "similarity_triplet").
  Scored as clip sets ("clip_set"): the gallery keeps every clip vector of a tracklet;
  a cheap distance between the tracklets' mean (L2-normalised) clip vectors ranks the
  gallery and the learned similarity re-scores each query's `top_k`
  (`vreid.engine.scoring.TopKRefinedScorer`).

Step 2 starts from a step-1 model file with the generic `init_checkpoint` kwarg: both
models name the I3D `backbone`, so its tensors copy by name (the step-1 head is skipped
and reported).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .baseline import FrameCNNVideoModel, build_video_cnn
from .clip_similarity import LearnedClipSimilarity, TopPercentSimilarity
from .i3d import I3D
from .inputs import BATCH_DIM, ExportGraph, InputSpec
from .registry import EMBEDDING_GRAPH, MODELS, ModelInfo

if TYPE_CHECKING:
    from ..engine.scoring import TrackletScoring

TINY_WIDTH = 1 / 16  # D = 64: the registry-wide tests' CPU profile


@MODELS.register("i3d_reid", info=ModelInfo(tiny_kwargs={"num_classes": 5, "width": TINY_WIDTH}))
def build_i3d_reid(num_classes: int, width: float = 1.0, pretrained: str | None = None,
                   neck: str = "bnneck") -> FrameCNNVideoModel:
    """Paper 002 step 1: I3D (`width`; `pretrained` a local 2D Inception-V1 file, inflated)
    and the global average pooling of sec. 4.2 ("avg": space then time, equal sizes, so
    the global mean), then the project's BNNeck. The paper puts its classifier (eq. 8)
    directly on f; the BNNeck's default ("bnneck") keeps the triplet loss on f and puts
    the classifier behind a BN layer: the repository's convention, not the paper's."""
    return build_video_cnn(num_classes, backbone="i3d", depth=None, last_stride=None,
                           temporal="avg", neck=neck, pretrained=pretrained,
                           backbone_kwargs={"width": width})


AGGREGATIONS = ("learned", "top_percent")
IMPORTANCE_GRAPH = "clip_pair_importance"  # g_theta: [N, D] -> [N]
PROJECTION_GRAPH = "clip_projection"  # the top-t% baseline's D -> D projection


class I3DClipSimilarity(nn.Module):
    """Frozen (by default) I3D clip encoder f_xi + a clip-set similarity psi_Theta.

    Eval: clips [B, L, 3, H, W] -> clip vectors f [B, D] (the gallery stores them per
    tracklet, `tracklet_scoring`). Training: each sample is M consecutive clips of
    `clip_len` = L frames, [B, M * L, 3, H, W] (the stage's input clip_len is M * L;
    the paper samples the M clips uniformly over the sequence, sec. 3.1: a consecutive
    M * L window is what the clip sampler gives, our approximation); returns
    {"similarity": [B, B] (psi of every pair of sequences in the batch, sec. 3.2),
    "clip_features": [B, M, D]}.
    """

    def __init__(self, width: float = 1.0, clip_len: int = 4, num_clips: int = 8,
                 aggregation: str = "learned", hidden: int = 1024, dropout: float = 0.5,
                 percent: float = 20.0, train_percent: float | None = None, top_k: int = 100,
                 freeze_encoder: bool = True, pair_batch: int = 256) -> None:
        super().__init__()
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        for key, value in (("clip_len", clip_len), ("num_clips", num_clips), ("top_k", top_k),
                           ("pair_batch", pair_batch)):
            if value < 1:
                raise ValueError(f"{key} must be >= 1, got {value}")
        self.backbone = I3D(width)
        dim = self.backbone.out_channels
        self.embedding_dim = dim
        self.aggregation = aggregation
        self.similarity: nn.Module = (
            LearnedClipSimilarity(dim, hidden, dropout) if aggregation == "learned"
            else TopPercentSimilarity(dim, percent, train_percent))
        self.clip_len, self.num_clips, self.top_k = clip_len, num_clips, top_k
        self.pair_batch = pair_batch
        self.freeze_encoder = freeze_encoder
        if freeze_encoder:  # sec. 4.4: "We use the I3D network trained ... and keep it fixed"
            self.backbone.requires_grad_(False)

    def train(self, mode: bool = True) -> "I3DClipSimilarity":
        super().train(mode)
        if self.freeze_encoder:  # fixed also means fixed batch-norm statistics
            self.backbone.eval()
        return self

    def encode(self, clips: torch.Tensor) -> torch.Tensor:
        """f_xi: clips [B, L, 3, H, W] -> [B, D], the global mean of the I3D maps."""
        return self.backbone(clips).mean(dim=(2, 3, 4))

    def forward(self, clips: torch.Tensor) -> Any:
        if clips.dim() != 5:
            raise ValueError(f"expected clips [B, T, C, H, W], got shape {tuple(clips.shape)}")
        if not self.training:
            return self.encode(clips)
        b, t = clips.shape[:2]
        if t % self.clip_len:
            raise ValueError(f"a training sample is M clips of clip_len={self.clip_len} "
                             f"frames; got {t} frames")
        m = t // self.clip_len
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_encoder):
            f = self.encode(clips.reshape(b * m, self.clip_len, *clips.shape[2:]))
        f = f.view(b, m, -1)
        # sec. 3.2: "the similarity scores between all pairs of sequences in the batch"
        return {"similarity": self.similarity.score_matrix(f, f), "clip_features": f}

    def tracklet_scoring(self, metric: str) -> "TrackletScoring":
        """Clip sets; `metric` between mean clip vectors ranks, psi re-scores the top_k."""
        # imported here: vreid.engine.scoring imports vreid.models (a cycle at import time)
        from ..engine.scoring import (ClipSetEncoder, MeanSetScorer, SetSimilarityPairs,
                                      TopKRefinedScorer, TrackletScoring)

        costly = SetSimilarityPairs(self.similarity, self.num_clips, self.pair_batch)
        # clips of the model's L frames, whatever the stage's input clip_len (M * L for
        # training); under eval.frames "evenly:N" the N picked frames are cut into clips
        # of L (N / L clips spread over the tracklet, close to the paper's uniform M clips)
        return TrackletScoring(ClipSetEncoder(self.clip_len),
                               TopKRefinedScorer(MeanSetScorer(metric), costly, self.top_k))


def clip_similarity_graphs(model: I3DClipSimilarity, spec: InputSpec, batch: int
                           ) -> dict[str, ExportGraph]:
    """The clip encoder ("embedding": clips -> f) and the scorer's learned part as its own
    graph: g_theta (eq. 1) for "learned", whose M_q * M_g sequential steps (eq. 1-3) run
    outside it; the projection for "top_percent"."""
    model.eval()
    # clips of the model's L frames (scoring's), not the stage's M * L training samples
    clips = torch.randn(batch, model.clip_len, 3, spec.height, spec.width)
    vectors = torch.randn(batch, model.embedding_dim)
    graphs = {EMBEDDING_GRAPH: ExportGraph(model, (clips,), {"clips": {0: BATCH_DIM}})}
    if model.aggregation == "learned":
        graphs[IMPORTANCE_GRAPH] = ExportGraph(model.similarity.importance, (vectors,),
                                               {"pair_differences": {0: BATCH_DIM}})
    else:
        graphs[PROJECTION_GRAPH] = ExportGraph(model.similarity.projection, (vectors,),
                                               {"clip_features": {0: BATCH_DIM}})
    return graphs


# Tiny: M = 3 clips of L = 1 frame in training (the tests' 3-frame clips), hidden 8.
@MODELS.register("i3d_clip_similarity", info=ModelInfo(
    tiny_kwargs={"width": TINY_WIDTH, "clip_len": 1, "num_clips": 3, "hidden": 8, "top_k": 2},
    scoring="clip_set", graphs=clip_similarity_graphs))
def build_i3d_clip_similarity(width: float = 1.0, clip_len: int = 4, num_clips: int = 8,
                              aggregation: str = "learned", hidden: int = 1024,
                              dropout: float = 0.5, percent: float = 20.0,
                              train_percent: float | None = None, top_k: int = 100,
                              freeze_encoder: bool = True, pair_batch: int = 256,
                              num_classes: int | None = None) -> I3DClipSimilarity:
    """Paper 002 step 2 with sec. 4.2's M = 8 clips of L = 4 frames and g_theta's 1024-unit
    hidden layers. `aggregation`: "learned" (eq. 1-6) or "top_percent" (eq. 9; `percent`
    t at evaluation, `train_percent` in training: None = t, top-t%-traineval; 100 =
    top-t%-eval). `top_k`: gallery tracklets per query re-scored by psi (the rest keep
    the cheap order behind them); `pair_batch`: tracklet pairs per scorer call.
    `num_classes` is accepted and unused (no classifier: the loss is on similarities)."""
    del num_classes
    return I3DClipSimilarity(width, clip_len, num_clips, aggregation, hidden, dropout, percent,
                             train_percent, top_k, freeze_encoder, pair_batch)
