"""score_index: the default path equals the evaluation code it replaced, the input spec
reaches the model, a model's own encoder / scorer flows through evaluate_rank and
re_ranking, and a costly scorer refines a cheap one's top-K."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from vreid.data.clip_dataset import TrackletFrames
from vreid.data.index import Tracklet
from vreid.data.transforms import build_transform
from vreid.engine import (ClipSetEncoder, InputSpec, MetricScorer, TopKRefinedScorer,
                          TrackletScoring, extract_features, model_scoring, score_index)
from vreid.eval import compute_distance, evaluate_rank, re_ranking


@dataclass
class Settings:
    metric: str = "euclidean"
    batch_size: int = 3
    frames: str = "all"


@dataclass
class Index:
    query: list
    gallery: list


class TinyClipNet(nn.Module):
    """[B, T, 3, H, W] -> [B, 4]; records the clip shapes it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.shapes: list[tuple[int, ...]] = []

    def forward(self, clips):
        self.shapes.append(tuple(clips.shape[1:]))
        b, t = clips.shape[:2]
        maps = self.conv(clips.flatten(0, 1)).relu()
        return maps.mean(dim=(2, 3)).view(b, t, -1).mean(1)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """3 query / 5 gallery tracklets of 2-7 random 20x10 frames, pids with repeats."""
    folder = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)

    def tracklet(name, pid, camid, n):
        paths = []
        for i in range(n):
            path = folder / f"{name}_{i}.png"
            Image.fromarray(rng.integers(0, 256, (20, 10, 3), dtype=np.uint8)).save(path)
            paths.append(str(path))
        return Tracklet(tuple(paths), pid, camid)

    query = [tracklet(f"q{i}", pid, 0, n) for i, (pid, n) in enumerate([(1, 5), (2, 3), (3, 7)])]
    gallery = [tracklet(f"g{i}", pid, 1, n)
               for i, (pid, n) in enumerate([(1, 2), (2, 6), (3, 4), (4, 5), (1, 3)])]
    return Index(query, gallery)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_default_scoring_is_bit_identical_to_mean_features_and_compute_distance(index, metric):
    torch.manual_seed(0)
    model, cfg, spec = TinyClipNet(), Settings(metric), InputSpec(16, 8, 2)
    transform = build_transform(16, 8, train=False)  # what evaluate built before score_index
    qf, gf = (extract_features(model, TrackletFrames(split, transform), 2, cfg.batch_size)
              for split in (index.query, index.gallery))
    scores = score_index(model, index, cfg, spec, within=True)
    assert torch.equal(scores.query_gallery, compute_distance(qf, gf, metric))
    assert torch.equal(scores.query_query, compute_distance(qf, qf, metric))
    assert torch.equal(scores.gallery_gallery, compute_distance(gf, gf, metric))
    assert score_index(model, index, cfg, spec).query_query is None  # only when asked


def test_the_spec_sets_size_clip_length_and_normalisation(index):
    model = TinyClipNet()
    plain = score_index(model, index, Settings(), InputSpec(12, 6, 3)).query_gallery
    assert set(model.shapes) == {(3, 3, 12, 6)}
    shifted = score_index(model, index, Settings(),
                          InputSpec(12, 6, 3, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)))
    assert not torch.allclose(plain, shifted.query_gallery)


def test_evenly_n_scores_one_clip_of_n_evenly_spaced_frames_per_tracklet(index):
    torch.manual_seed(0)
    model, spec = TinyClipNet(), InputSpec(16, 8, 2)
    plain = score_index(model, index, Settings(), spec)
    model.shapes.clear()
    evenly = score_index(model, index, Settings(frames="evenly:3", batch_size=50), spec)
    # one forward over all 8 tracklets (batch 50): one clip each, of 3 frames, not 2
    assert model.shapes == [(3, 3, 16, 8)] * 2  # query, gallery
    assert not torch.allclose(plain.query_gallery, evenly.query_gallery)
    transform = build_transform(16, 8, train=False)

    def one_clip(t):  # the picked frames, by hand: floor(i * len / 3), short ones padded
        n = len(t.frames)
        picks = [i * n // 3 for i in range(3)] if n >= 3 else list(range(n)) + [n - 1] * (3 - n)
        return TrackletFrames([t], transform)[0][picks]

    q = model.eval()(torch.stack([one_clip(t) for t in index.query])).detach()
    g = model.eval()(torch.stack([one_clip(t) for t in index.gallery])).detach()
    assert torch.allclose(evenly.query_gallery, compute_distance(q, g), atol=1e-5)
    # the extraction counts what was read: 8 tracklets, 3 frames each (every frame for all)
    assert (evenly.extraction.items, evenly.extraction.frames) == (8, 24)
    assert plain.extraction.items == 8
    assert plain.extraction.frames == sum(len(t.frames) for t in [*index.query, *index.gallery])
    assert plain.extraction.seconds > 0 and plain.extraction.frames_per_s > 0


class MinClipPair:
    """Set-to-set distance: the closest pair of clips (a pairwise scorer on clip sets)."""

    def distance(self, a, b):
        return torch.stack([torch.stack([compute_distance(x, y).min() for y in b]) for x in a])


class ClipSetNet(TinyClipNet):
    def tracklet_scoring(self, metric):
        return TrackletScoring(ClipSetEncoder(), MinClipPair())


def test_a_model_with_its_own_clip_set_scoring_runs_through_rank_and_rerank(index):
    torch.manual_seed(0)
    model, spec = ClipSetNet(), InputSpec(16, 8, 2)
    scores = score_index(model, index, Settings(), spec, within=True)
    # brute force: every clip embedded alone, min over clip pairs
    transform = build_transform(16, 8, train=False)

    def clip_set(t):
        frames = TrackletFrames([t], transform)[0]
        picks = [list(range(s, min(s + 2, len(frames)))) for s in range(0, len(frames), 2)]
        clips = torch.stack([frames[p + [p[-1]] * (2 - len(p))] for p in picks])
        return model.eval()(clips).detach()

    q_sets, g_sets = [clip_set(t) for t in index.query], [clip_set(t) for t in index.gallery]
    expected = torch.tensor([[compute_distance(q, g).min().item() for g in g_sets]
                             for q in q_sets])
    assert scores.query_gallery.shape == (3, 5)
    assert torch.allclose(scores.query_gallery, expected, atol=1e-5)
    assert torch.all(scores.gallery_gallery.diagonal() <= 1e-5)  # a set is closest to itself
    ids = ([t.pid for t in index.query], [t.pid for t in index.gallery],
           [t.camid for t in index.query], [t.camid for t in index.gallery])
    result = evaluate_rank(scores.query_gallery.numpy(), *ids, max_rank=5)
    assert result.num_valid == 3 and 0 < result.mAP <= 1
    rr = re_ranking(scores.query_gallery, scores.query_query, scores.gallery_gallery,
                    k1=3, k2=1, lambda_value=0.3)
    assert rr.shape == (3, 5) and torch.isfinite(rr).all()


def test_a_clip_set_model_under_evenly_n_gets_a_set_of_one_clip(index):
    model = ClipSetNet()
    sets = []
    real = ClipSetEncoder.encode

    def recording(self, *args):
        sets.append(real(self, *args))
        return sets[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ClipSetEncoder, "encode", recording)
        scores = score_index(model, index, Settings(frames="evenly:4"), InputSpec(16, 8, 2))
    assert [tuple(s.shape) for s in sets[0] + sets[1]] == [(1, 4)] * 8
    assert scores.query_gallery.shape == (3, 5) and torch.isfinite(scores.query_gallery).all()


def test_the_default_scoring_and_a_model_returning_the_wrong_thing():
    default = model_scoring(TinyClipNet(), "cosine")
    assert default.scorer == MetricScorer("cosine")

    class Wrong(TinyClipNet):
        def tracklet_scoring(self, metric):
            return MetricScorer(metric)

    with pytest.raises(TypeError, match="Wrong.tracklet_scoring must return a TrackletScoring"):
        model_scoring(Wrong(), "euclidean")


class CountingPairs:
    """A costly pairwise scorer: |a_i - b_j| summed, counting the pairs it is asked."""

    def __init__(self) -> None:
        self.asked = 0

    def pair_distance(self, a, b, pairs):
        self.asked += len(pairs)
        return (a[pairs[:, 0]] - b[pairs[:, 1]]).abs().sum(1)


def test_top_k_refines_each_rows_nearest_and_keeps_the_rest_behind_in_cheap_order():
    torch.manual_seed(0)
    a, b = torch.randn(4, 3), torch.randn(7, 3)
    costly = CountingPairs()
    out = TopKRefinedScorer(MetricScorer("euclidean"), costly, top_k=3).distance(a, b)
    assert costly.asked == 4 * 3  # only the top-3 of each row, not all 28 pairs
    cheap = compute_distance(a, b)
    full = torch.cdist(a, b, p=1)
    for i in range(4):
        near = torch.sort(cheap[i], stable=True).indices
        top, rest = near[:3], near[3:]
        assert torch.allclose(out[i, top], full[i, top])
        assert out[i, rest].min() > out[i, top].max()
        assert torch.equal(torch.sort(out[i, rest], stable=True).indices,
                           torch.sort(cheap[i, rest], stable=True).indices)
    everything = TopKRefinedScorer(MetricScorer(), CountingPairs(), top_k=50).distance(a, b)
    assert torch.allclose(everything, full)  # top_k >= gallery: the costly scorer alone
    with pytest.raises(ValueError, match="top_k must be >= 1"):
        TopKRefinedScorer(MetricScorer(), costly, top_k=0).distance(a, b)
