"""Scoring a re-ID index with a model: the model says how a tracklet is encoded and how
two encodings compare; `score_index` returns the distance matrices that evaluation
(`evaluate_rank`, its `gallery_mask`), re-ranking, promotion and tuning all take.

A model opts in by defining `tracklet_scoring(metric) -> TrackletScoring` (`metric` is
the configured `eval.metric`, which it may ignore); without it a tracklet is the mean of
its clip embeddings compared with `compute_distance(metric)`, exactly the evaluation
code before scoring moved here. An encoder may return any encoding its scorer takes
(a [N, D] tensor, a list of [n_clips, D] sets, ...); a scorer returns [N, M] float32
distances, smaller = more alike (a similarity s is returned as e.g. 1 - s). A metric
fitted on training features (paper 003's XQDA, `eval.scorer: xqda`) is fitted here, on
the vectors of the index's training tracklets, for any model with the default vector
scoring; nothing of it is stored in the model file.

A costly pairwise scorer (paper 002's learned clip-pair similarity) runs as a second
stage over a cheap distance's top-K per row: `TopKRefinedScorer`.

Which frames are scored is `eval.frames` (`vreid.data.frames`), applied here for every
caller (evaluation, metadata evaluation, ablation, tuning trials, promotion): "all" cuts
every frame into clips of the model's clip length; "evenly:N" gives each tracklet one
clip of N evenly spaced frames, so a clip-set or pairwise model sees a set of one clip.
The spec's clip corruption (paper 002 table 2, `vreid.data.corruption`) is also applied
here, to the clips the encoder cuts, for every caller alike.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.clip_dataset import TrackletFrames
from ..data.frames import evenly_count
from ..data.index import Tracklet
from ..models.inputs import InputSpec
from ..eval.distance import compute_distance
from ..eval.xqda import XQDA, fit_xqda
from .features import extract_clip_sets, extract_features
from .timing import Throughput


class Encoder(Protocol):
    def encode(self, model: nn.Module, tracklets: TrackletFrames, clip_len: int,
               batch_size: int, device: torch.device | str, num_workers: int) -> Any: ...


class Scorer(Protocol):
    def distance(self, a: Any, b: Any) -> torch.Tensor: ...


@dataclass(frozen=True)
class MeanClipEncoder:
    """A tracklet is the mean of its clip embeddings: [N, D]."""

    def encode(self, model, tracklets, clip_len, batch_size, device, num_workers):
        return extract_features(model, tracklets, clip_len, batch_size, device, num_workers)


@dataclass(frozen=True)
class ClipSetEncoder:
    """A tracklet is the set of its clip embeddings: a list of [n_clips, D].

    `clip_len` (None: the one `score_index` passes) fixes the model's own clip length:
    paper 002's step-2 model trains on samples of M clips of L frames (its input
    clip_len is M * L) and encodes clips of L frames.
    """

    clip_len: int | None = None

    def encode(self, model, tracklets, clip_len, batch_size, device, num_workers):
        return extract_clip_sets(model, tracklets, encoder_clip_len(self, clip_len),
                                 batch_size, device, num_workers)


def encoder_clip_len(encoder: Encoder, clip_len: int) -> int:
    """The frames per clip `encoder` embeds: its own `clip_len` where it fixes one (a
    `ClipSetEncoder`'s), else `clip_len`."""
    own = getattr(encoder, "clip_len", None)
    return clip_len if own is None else own


@dataclass(frozen=True)
class MetricScorer:
    """A fixed metric between [N, D] encodings (squared euclidean or 1 - cos)."""

    metric: str = "euclidean"

    def distance(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return compute_distance(a, b, metric=self.metric)


@dataclass(frozen=True)
class XqdaScorer:
    """The XQDA distance (x - z)^T W M W^T (x - z) between [N, D] encodings
    (`vreid.eval.xqda`, fitted on training vectors: `fit_xqda_scorer`)."""

    fitted: XQDA

    def distance(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        d = self.fitted.distance(a.double().cpu().numpy(), b.double().cpu().numpy())
        return torch.from_numpy(d).float()


class XqdaSettings(Protocol):
    """What XQDA reads of its config (`vreid.config.XqdaConfig` has them)."""

    dims: int | None
    regularisation: float


def fit_xqda_scorer(train: torch.Tensor, pids: Sequence[int],
                    settings: XqdaSettings) -> XqdaScorer:
    """XQDA fitted on training encodings [N, D] and their identities; a bad setting is a
    ValueError naming the `eval.xqda` key."""
    if not isinstance(train, torch.Tensor) or train.dim() != 2:
        raise ValueError("eval.scorer: xqda needs one vector per tracklet ([N, D]), got "
                         f"{type(train).__name__}")
    try:
        fitted = fit_xqda(train.double().cpu().numpy(), list(pids), dims=settings.dims,
                          regularisation=settings.regularisation)
    except ValueError as exc:
        raise ValueError(f"eval.xqda: {exc} (on {train.shape[0]} training tracklets of "
                         f"{train.shape[1]}-d vectors)") from None
    return XqdaScorer(fitted)


class PairScorer(Protocol):
    def pair_distance(self, a: Any, b: Any, pairs: torch.Tensor) -> torch.Tensor:
        """[P] distances of (a[i], b[j]) for the rows (i, j) of `pairs` [P, 2]."""


@dataclass(frozen=True)
class TopKRefinedScorer:
    """`cheap` for every pair, `costly` only for each row's `top_k` nearest by `cheap`.

    Per row, the refined items rank first in the costly order; every other item ranks
    behind them in its cheap order (shifted past the row's largest refined distance).
    """

    cheap: Scorer
    costly: PairScorer
    top_k: int

    def distance(self, a: Any, b: Any) -> torch.Tensor:
        return self.refine(a, b)[0]

    def refine(self, a: Any, b: Any) -> tuple[torch.Tensor, "RefineCost"]:
        """`distance`, and what the two stages did (`RefineCost`)."""
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        d = self.cheap.distance(a, b)
        near = torch.sort(d, dim=1, stable=True).indices[:, : self.top_k]  # [N, k]
        rows = torch.arange(d.shape[0], device=d.device).unsqueeze(1).expand_as(near)
        pairs = torch.stack([rows.flatten(), near.flatten()], dim=1)
        started = time.perf_counter()
        refined = self.costly.pair_distance(a, b, pairs).float().view_as(near)
        cost = RefineCost(d, near.shape[1], len(pairs), time.perf_counter() - started)
        out = d - d.gather(1, near[:, -1:]) + refined.max(1, keepdim=True).values + 1.0
        return out.scatter_(1, near, refined), cost


@dataclass(frozen=True)
class RefineCost:
    """One `TopKRefinedScorer` call: the `cheap` distances it ranked by, its `top_k` (at
    most the number of columns), the `pairs` the costly scorer scored and their `seconds`."""

    cheap: torch.Tensor
    top_k: int
    pairs: int
    seconds: float

    def metrics(self, query_pids: Sequence[int], gallery_pids: Sequence[int],
                query_camids: Sequence[int] | None = None,
                gallery_camids: Sequence[int] | None = None) -> dict[str, float]:
        """The first stage's recall@K (`top_k_recall`) and the second stage's cost."""
        return {"first_stage_top_k": float(self.top_k),
                "first_stage_recall": top_k_recall(self.cheap, query_pids, gallery_pids,
                                                   self.top_k, query_camids, gallery_camids),
                "refine_pairs": float(self.pairs), "refine_seconds": self.seconds}


@dataclass(frozen=True)
class MeanSetScorer:
    """A cheap distance between clip sets: `metric` between each set's mean of its
    L2-normalised clip vectors (paper 002 sec. 4.3 / Fig. 4: averaging the normalised
    clip features of a sequence ranks better than unnormalised ones)."""

    metric: str = "euclidean"

    def means(self, sets: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.stack([F.normalize(s.float(), dim=1).mean(0) for s in sets])

    def distance(self, a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> torch.Tensor:
        return compute_distance(self.means(a), self.means(b), metric=self.metric)


def evenly_spaced_clips(clips: torch.Tensor, count: int) -> torch.Tensor:
    """`count` of a set's clips [n, D] at evenly spaced positions (first and last
    included), [count, D]; a set of fewer clips repeats some (paper 002 sec. 3.1 samples
    M clips per sequence, "allowing potential overlap of the clips" when it is short)."""
    n = clips.shape[0]
    picks = torch.linspace(0, n - 1, count).round().long() if count > 1 else torch.tensor([n // 2])
    return clips[picks]


class SetSimilarity(Protocol):
    def __call__(self, fq: torch.Tensor, fg: torch.Tensor) -> torch.Tensor:
        """fq [P, M, D], fg [P, M, D] -> similarities [P] (larger = more alike)."""


@dataclass(frozen=True)
class SetSimilarityPairs:
    """A `PairScorer` over clip sets from a learned set similarity (paper 002's psi):
    each set cut to `num_clips` evenly spaced clips, the pairs scored `pair_batch` at a
    time on the similarity module's device, distance = 1 - similarity."""

    similarity: nn.Module
    num_clips: int
    pair_batch: int = 256

    @torch.no_grad()
    def pair_distance(self, a: Sequence[torch.Tensor], b: Sequence[torch.Tensor],
                      pairs: torch.Tensor) -> torch.Tensor:
        device = next(self.similarity.parameters()).device
        fa = torch.stack([evenly_spaced_clips(s, self.num_clips) for s in a])
        fb = torch.stack([evenly_spaced_clips(s, self.num_clips) for s in b])
        out = [1.0 - self.similarity(fa[chunk[:, 0]].to(device), fb[chunk[:, 1]].to(device))
               .float().cpu() for chunk in pairs.split(self.pair_batch)]
        return torch.cat(out) if out else torch.zeros(0)


def top_k_recall(cheap: torch.Tensor, query_pids: Sequence[int], gallery_pids: Sequence[int],
                 top_k: int, query_camids: Sequence[int] | None = None,
                 gallery_camids: Sequence[int] | None = None) -> float:
    """Recall@K of a first stage: the fraction of queries with a true match in the gallery
    that have one among their `top_k` nearest by the `cheap` distances [Q, G] (the most
    the second stage of `TopKRefinedScorer` can rank first). With camera ids, the gallery
    items of the query's identity AND camera are left out first (the evaluation's junk).
    NaN when no query has a match."""
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    qp, gp = torch.as_tensor(list(query_pids)), torch.as_tensor(list(gallery_pids))
    if cheap.shape != (len(qp), len(gp)):
        raise ValueError(f"distances {tuple(cheap.shape)} for {len(qp)} queries and "
                         f"{len(gp)} gallery items")
    match = qp.unsqueeze(1) == gp.unsqueeze(0)  # [Q, G]
    keep = torch.ones_like(match)
    if query_camids is not None and gallery_camids is not None:
        qc, gc = torch.as_tensor(list(query_camids)), torch.as_tensor(list(gallery_camids))
        keep = ~(match & (qc.unsqueeze(1) == gc.unsqueeze(0)))
    d = cheap.float().masked_fill(~keep, float("inf"))
    near = torch.sort(d, dim=1, stable=True).indices[:, :top_k]
    hit = (match & keep).gather(1, near).any(dim=1)
    has_match = (match & keep).any(dim=1)
    if not has_match.any():
        return float("nan")
    return hit[has_match].float().mean().item()


@dataclass(frozen=True)
class TrackletScoring:
    encoder: Encoder
    scorer: Scorer


def model_clip_len(model: nn.Module, clip_len: int) -> int:
    """The frames per clip `model` embeds when fed samples of `clip_len` frames (paper
    002's step 2: its L, for training samples of M * L); what clip corruption counts."""
    return encoder_clip_len(model_scoring(model, "euclidean").encoder, clip_len)


def model_scoring(model: nn.Module, metric: str) -> TrackletScoring:
    """The model's own `tracklet_scoring(metric)`, else the mean-embedding default."""
    own = getattr(model, "tracklet_scoring", None)
    if own is None:
        return TrackletScoring(MeanClipEncoder(), MetricScorer(metric))
    scoring = own(metric)
    if not isinstance(scoring, TrackletScoring):
        raise TypeError(f"{type(model).__name__}.tracklet_scoring must return a "
                        f"TrackletScoring, got {type(scoring).__name__}")
    return scoring


class ScoringSettings(Protocol):
    """What `score_index` reads of its config (`vreid.config.EvalConfig` has them)."""

    metric: str
    batch_size: int
    frames: str  # "all" | "evenly:N" (vreid.data.frames)
    scorer: str  # "distance" (the model's scoring) | "xqda" (fitted on the training split)
    xqda: XqdaSettings


@dataclass(frozen=True)
class IndexScores:
    """Distances [Q, G]; with `within=True` also [Q, Q] and [G, G] (re-ranking's inputs).
    `extraction`: the encoding of query and gallery (tracklets, the frames they gave)."""

    query_gallery: torch.Tensor
    query_query: torch.Tensor | None = None
    gallery_gallery: torch.Tensor | None = None
    extraction: Throughput = Throughput()
    # a two-stage scorer's query-gallery call (`TopKRefinedScorer.refine`); None: one stage
    refine: RefineCost | None = None


class QueryGallery(Protocol):
    """What `score_index` reads of an index (`vreid.data.index.ReIDIndex` has them; `train`
    only with `scorer: xqda`)."""

    query: Sequence[Tracklet]
    gallery: Sequence[Tracklet]


def score_index(model: nn.Module, index: QueryGallery, cfg: ScoringSettings, spec: InputSpec,
                *, device: torch.device | str = "cpu", num_workers: int = 0,
                within: bool = False) -> IndexScores:
    """Encode the query then the gallery tracklets at `spec` and compare them with the
    model's scoring (`model_scoring`); `within` adds query-query and gallery-gallery.
    The frames of each tracklet are those `cfg.frames` selects (see the module doc). A
    two-stage scorer's query-gallery cost is in `refine`.

    `cfg.scorer == "xqda"` (paper 003 table IX): the index's training tracklets are
    encoded too (counted in `extraction`), XQDA is fitted on their vectors and identities
    (`cfg.xqda`) and replaces the model's scorer; a model with its own tracklet scoring
    (clip sets, pairwise) is refused."""
    scoring = model_scoring(model, cfg.metric)
    tracklets = [index.query, index.gallery]
    if cfg.scorer == "xqda":
        if not isinstance(scoring.encoder, MeanClipEncoder):
            raise ValueError(f"eval.scorer: xqda fits a metric on one vector per tracklet; "
                             f"{type(model).__name__} scores tracklets with its own "
                             f"{type(scoring.encoder).__name__} (clip sets / pairwise)")
        train = getattr(index, "train", None)
        if not train:
            raise ValueError("eval.scorer: xqda is fitted on the scored set's training "
                             "tracklets, and this index has none")
        tracklets.append(train)
    transform = spec.eval_transform()
    evenly = evenly_count(cfg.frames)
    # "evenly:N": the N picked frames are one clip (N, not the model's clip length)
    clip_len = spec.clip_len if evenly is None else evenly
    # paper 002's corruption, on the clips the encoder cuts (both encoders, one place)
    corruption = (None if spec.corruption is None else dataclasses.replace(
        spec.corruption, clip_len=encoder_clip_len(scoring.encoder, clip_len)))
    splits = [TrackletFrames(split, transform, cfg.frames, corruption) for split in tracklets]
    started = time.perf_counter()
    q, g, *t = (scoring.encoder.encode(model, split, clip_len, cfg.batch_size, device,
                                       num_workers) for split in splits)
    extraction = Throughput(time.perf_counter() - started, sum(len(s) for s in splits),
                            sum(len(s.picks(i)) for s in splits for i in range(len(s))))
    scorer = (fit_xqda_scorer(t[0], [x.pid for x in tracklets[2]], cfg.xqda) if t
              else scoring.scorer)
    distance = scorer.distance
    refine = getattr(scorer, "refine", None)  # a two-stage scorer reports its cost
    query_gallery, cost = refine(q, g) if refine is not None else (distance(q, g), None)
    if not within:
        return IndexScores(query_gallery, extraction=extraction, refine=cost)
    return IndexScores(query_gallery, distance(q, q), distance(g, g), extraction, cost)
