"""score_index: the default path equals the evaluation code it replaced, the input spec
reaches the model, a model's own encoder / scorer flows through evaluate_rank and
re_ranking, and a costly scorer refines a cheap one's top-K."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from vreid.config import XqdaConfig
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
    scorer: str = "distance"
    xqda: XqdaConfig = XqdaConfig()


@dataclass
class Index:
    query: list
    gallery: list
    train: list = ()


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


def colour_tracklets(folder, pids, per_pid, seed):
    """Tracklets of 3 frames of 20x10 pixels: a colour per person plus noise (planted)."""
    rng = np.random.default_rng(seed)
    base = {pid: np.random.default_rng(1000 + pid).integers(30, 220, 3) for pid in set(pids)}
    out = []
    for pid in pids:
        for k in range(per_pid):
            paths = []
            for i in range(3):
                path = folder / f"c{seed}_{pid}_{k}_{i}.png"
                pixels = base[pid] + rng.normal(scale=25, size=(20, 10, 3))
                Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path)
                paths.append(str(path))
            out.append(Tracklet(tuple(paths), pid, k % 2))
    return out


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    return Index(query=colour_tracklets(folder, [0, 1, 2], 1, seed=1),
                 gallery=colour_tracklets(folder, [0, 1, 2, 3], 1, seed=2),
                 train=colour_tracklets(folder, [4, 5, 6, 7, 8], 3, seed=3))


def liao_closed_form(train, pids, query, gallery, lam):
    """XQDA written out: covariances of pairwise differences by a loop over pairs,
    eig(Sigma_I \\ Sigma_E), the eigenvalues > 1, M = (W'S_I W)^-1 - (W'S_E W)^-1."""
    x, y = train.double().numpy(), np.asarray(pids)
    d = x.shape[1]
    intra, extra, ni, ne = np.zeros((d, d)), np.zeros((d, d)), 0, 0
    for i in range(len(x)):
        for j in range(len(x)):
            if i != j:
                diff = np.outer(x[i] - x[j], x[i] - x[j])
                if y[i] == y[j]:
                    intra, ni = intra + diff, ni + 1
                else:
                    extra, ne = extra + diff, ne + 1
    sigma_i, sigma_e = intra / ni + lam * np.eye(d), extra / ne
    values, vectors = np.linalg.eig(np.linalg.solve(sigma_i, sigma_e))
    order = np.argsort(values.real)[::-1]
    r = max(1, int((values.real > 1).sum()))
    w = vectors.real[:, order[:r]]
    m = np.linalg.inv(w.T @ sigma_i @ w) - np.linalg.inv(w.T @ sigma_e @ w)
    q, g = query.double().numpy(), gallery.double().numpy()
    return np.array([[(a - b) @ w @ m @ w.T @ (a - b) for b in g] for a in q]), r


def test_xqda_scorer_is_the_closed_form_fitted_on_the_training_tracklets(planted):
    torch.manual_seed(0)
    model, spec = TinyClipNet(), InputSpec(16, 8, 2)
    transform = build_transform(16, 8, train=False)
    feats = {name: extract_features(model, TrackletFrames(getattr(planted, name), transform),
                                    2, 3, "cpu", 0) for name in ("query", "gallery", "train")}
    want, r = liao_closed_form(feats["train"], [t.pid for t in planted.train], feats["query"],
                               feats["gallery"], XqdaConfig().regularisation)
    assert r >= 2  # the planted colours give more than one discriminant direction
    scores = score_index(model, planted, Settings(scorer="xqda"), spec, within=True)
    np.testing.assert_allclose(scores.query_gallery.numpy(), want, rtol=1e-4, atol=1e-5)
    assert scores.gallery_gallery.diagonal().abs().max() < 1e-5
    plain = score_index(model, planted, Settings(), spec)
    assert not torch.allclose(plain.query_gallery, scores.query_gallery, rtol=1e-2)
    # the training tracklets were encoded too: 3 + 4 + 15 tracklets of 3 frames
    assert (scores.extraction.items, scores.extraction.frames) == (22, 66)
    # an explicit subspace dimension is passed on (and one too large names the key)
    one = score_index(model, planted, Settings(scorer="xqda", xqda=XqdaConfig(dims=1)), spec)
    assert not torch.allclose(one.query_gallery, scores.query_gallery, rtol=1e-2)
    with pytest.raises(ValueError, match=r"eval.xqda: xqda: dims must be in \[1, 4\]"):
        score_index(model, planted, Settings(scorer="xqda", xqda=XqdaConfig(dims=5)), spec)


def test_xqda_refuses_clip_set_models_and_an_index_without_training_tracklets(planted, index):
    with pytest.raises(ValueError, match="xqda fits a metric on one vector per tracklet; "
                                         "ClipSetNet scores tracklets with its own "
                                         "ClipSetEncoder"):
        score_index(ClipSetNet(), planted, Settings(scorer="xqda"), InputSpec(16, 8, 2))
    with pytest.raises(ValueError, match="training tracklets, and this index has none"):
        score_index(TinyClipNet(), index, Settings(scorer="xqda"), InputSpec(16, 8, 2))


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


def scored_recording_sets(model, index, settings, spec):
    """score_index's result and the clip sets its ClipSetEncoder produced (query, gallery)."""
    sets = []
    real = ClipSetEncoder.encode

    def recording(self, *args):
        sets.append(real(self, *args))
        return sets[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ClipSetEncoder, "encode", recording)
        scores = score_index(model, index, settings, spec)
    return sets, scores


def test_a_clip_set_model_under_evenly_n_gets_a_set_of_one_clip(index):
    sets, scores = scored_recording_sets(ClipSetNet(), index, Settings(frames="evenly:4"),
                                         InputSpec(16, 8, 2))
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


# ------------------------------------------- clip-set pieces (paper 002's second stage)

def test_evenly_spaced_clips_keep_the_ends_and_repeat_a_short_set():
    from vreid.engine.scoring import evenly_spaced_clips

    clips = torch.arange(10.0).unsqueeze(1)  # clip i = [i]
    assert evenly_spaced_clips(clips, 4).flatten().tolist() == [0, 3, 6, 9]
    assert evenly_spaced_clips(clips[:2], 4).flatten().tolist() == [0, 0, 1, 1]
    assert evenly_spaced_clips(clips[:1], 3).flatten().tolist() == [0, 0, 0]
    assert evenly_spaced_clips(clips, 1).flatten().tolist() == [5]


def test_mean_set_scorer_is_the_metric_between_means_of_normalised_clips():
    from vreid.engine.scoring import MeanSetScorer

    torch.manual_seed(0)
    a, b = [torch.randn(3, 4), torch.randn(1, 4)], [torch.randn(2, 4)]
    means = lambda sets: torch.stack([(s / s.norm(dim=1, keepdim=True)).mean(0) for s in sets])
    out = MeanSetScorer("euclidean").distance(a, b)
    assert out.shape == (2, 1)
    assert torch.allclose(out, compute_distance(means(a), means(b)), atol=1e-6)
    # scale of a clip does not matter (normalised first)
    scaled = [a[0] * torch.tensor([[1.0], [10.0], [0.1]]), a[1]]
    assert torch.allclose(MeanSetScorer("cosine").distance(scaled, b),
                          MeanSetScorer("cosine").distance(a, b), atol=1e-6)


class MeanCosine(nn.Module):
    """A set similarity: cosine of the two sets' mean clips; counts its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.calls: list[int] = []

    def forward(self, fq, fg):
        self.calls.append(len(fq))
        return torch.cosine_similarity(fq.mean(1), fg.mean(1), dim=1) * self.scale


def test_set_similarity_pairs_score_each_pair_in_chunks_as_one_minus_psi():
    from vreid.engine.scoring import MeanSetScorer, SetSimilarityPairs, evenly_spaced_clips

    torch.manual_seed(0)
    a = [torch.randn(n, 4) for n in (5, 1, 3)]
    b = [torch.randn(n, 4) for n in (2, 6)]
    psi = MeanCosine()
    pairs = torch.tensor([[0, 0], [1, 1], [2, 0], [2, 1], [0, 1]])
    out = SetSimilarityPairs(psi, num_clips=2, pair_batch=2).pair_distance(a, b, pairs)
    assert psi.calls == [2, 2, 1]
    expected = torch.stack([1 - torch.cosine_similarity(evenly_spaced_clips(a[i], 2).mean(0),
                                                        evenly_spaced_clips(b[j], 2).mean(0), dim=0)
                            for i, j in pairs.tolist()])
    assert torch.allclose(out, expected, atol=1e-6) and not out.requires_grad
    # as the costly stage: only the top-1 of each row asks psi
    psi.calls.clear()
    d = TopKRefinedScorer(MeanSetScorer(), SetSimilarityPairs(psi, 2), top_k=1).distance(a, b)
    assert d.shape == (3, 2) and psi.calls == [3]
    # a top_k above the gallery's size refines every pair and says so
    _, cost = TopKRefinedScorer(MeanSetScorer(), SetSimilarityPairs(psi, 2), top_k=9).refine(a, b)
    assert (cost.top_k, cost.pairs) == (2, 6)


def test_paper_002_step_two_model_scores_an_index_end_to_end(index):
    """i3d_clip_similarity through score_index: clip sets of the model's L frames,
    mean-vector top-2, psi."""
    from vreid.engine.scoring import MeanSetScorer, evenly_spaced_clips
    from vreid.models import MODELS, build_model

    torch.manual_seed(0)
    model = build_model("i3d_clip_similarity",
                        **{**MODELS.info("i3d_clip_similarity").tiny_kwargs, "top_k": 2,
                           "clip_len": 2})
    # the stage's clip_len is M * L = 3 * 2 (training samples); scoring cuts clips of L
    sets, scores = scored_recording_sets(model, index, Settings(metric="cosine"),
                                         InputSpec(32, 16, 6))
    q, g = sets
    assert [len(s) for s in q] == [-(-len(t.frames) // 2) for t in index.query]
    assert model.backbone.training is False
    cheap = MeanSetScorer("cosine").distance(q, g)
    with torch.no_grad():
        psi = model.similarity.score_matrix(torch.stack([evenly_spaced_clips(s, 3) for s in q]),
                                            torch.stack([evenly_spaced_clips(s, 3) for s in g]))
    out = scores.query_gallery
    assert out.shape == (3, 5) and torch.isfinite(out).all()
    for i in range(3):
        near = torch.sort(cheap[i], stable=True).indices[:2]
        assert torch.allclose(out[i, near], 1 - psi[i, near], atol=1e-5)
    # the two stages' record: the cheap distances ranked by, top-2 of 3 queries re-scored
    cost = scores.refine
    assert torch.equal(cost.cheap, cheap) and (cost.top_k, cost.pairs) == (2, 6)
    assert cost.seconds > 0
    ids = ([t.pid for t in index.query], [t.pid for t in index.gallery],
           [t.camid for t in index.query], [t.camid for t in index.gallery])
    from vreid.engine.scoring import top_k_recall

    assert cost.metrics(*ids) == {"first_stage_top_k": 2.0,
                                  "first_stage_recall": top_k_recall(cheap, *ids[:2], 2, *ids[2:]),
                                  "refine_pairs": 6.0, "refine_seconds": cost.seconds}
    # a one-stage model records none
    assert score_index(TinyClipNet(), index, Settings(), InputSpec(16, 8, 2)).refine is None


def test_the_specs_clip_corruption_hits_the_clips_each_encoder_cuts(index, monkeypatch):
    """Paper 002 table 2's test corruption: applied where score_index builds the test
    frames, on clips of the spec's length (mean encoder) or the model's own L (clip sets),
    the same at every call; without it, scores are the clean ones."""
    from vreid.data.corruption import ClipCorruption
    from vreid.engine import scoring
    from vreid.models import MODELS, build_model

    seen = []

    class Recording(TrackletFrames):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen.append(self.corruption)

    monkeypatch.setattr(scoring, "TrackletFrames", Recording)
    corruption = ClipCorruption(max_clips=7, clip_len=99, seed=3)  # clip_len: the encoder's
    torch.manual_seed(0)
    vector = TinyClipNet()
    clean = score_index(vector, index, Settings(), InputSpec(16, 8, 2)).query_gallery
    assert seen == [None, None]
    spec = InputSpec(16, 8, 2, corruption=corruption)
    got = score_index(vector, index, Settings(), spec).query_gallery
    assert [c.clip_len for c in seen[2:]] == [2, 2] and not torch.allclose(clean, got)
    assert torch.equal(got, score_index(vector, index, Settings(), spec).query_gallery)
    seen.clear()
    model = build_model("i3d_clip_similarity",
                        **{**MODELS.info("i3d_clip_similarity").tiny_kwargs, "clip_len": 2})
    spec = InputSpec(32, 16, 6, corruption=corruption)  # stage clip_len M * L = 3 * 2
    clean = score_index(model, index, Settings(), InputSpec(32, 16, 6)).query_gallery
    got = score_index(model, index, Settings(), spec).query_gallery
    assert [c.clip_len for c in seen[2:]] == [2, 2] and not torch.allclose(clean, got)
    assert scoring.model_clip_len(model, 6) == 2 and scoring.model_clip_len(vector, 6) == 6


def test_top_k_recall_of_the_first_stage_leaves_out_same_camera_matches():
    from vreid.engine.scoring import top_k_recall

    cheap = torch.tensor([[0.1, 0.2, 0.9, 0.5],
                          [0.3, 0.1, 0.2, 0.8],
                          [0.5, 0.4, 0.3, 0.2]])
    q_pids, g_pids = [1, 2, 7], [1, 3, 2, 1]
    # query 0: its match (gallery 0) is 1st; query 1: match (gallery 2) 2nd; query 2: none
    assert top_k_recall(cheap, q_pids, g_pids, 1) == 0.5
    assert top_k_recall(cheap, q_pids, g_pids, 2) == 1.0
    # gallery 0 shares query 0's camera: junk, so query 0's next match (gallery 3) ranks
    # 2nd of the 3 left; query 1's match (gallery 2, another camera) stays 2nd
    q_cams, g_cams = [0, 0, 0], [0, 1, 1, 1]
    assert top_k_recall(cheap, q_pids, g_pids, 1, q_cams, g_cams) == 0.0
    assert top_k_recall(cheap, q_pids, g_pids, 2, q_cams, g_cams) == 1.0
    assert top_k_recall(cheap[:1], [1], g_pids, 1) == 1.0  # without cameras gallery 0 counts
    assert np.isnan(top_k_recall(cheap[2:], [7], g_pids, 2))
    with pytest.raises(ValueError, match="top_k must be >= 1"):
        top_k_recall(cheap, q_pids, g_pids, 0)
    with pytest.raises(ValueError, match=r"distances \(3, 4\) for 1 queries"):
        top_k_recall(torch.zeros(3, 4), [1], [1, 2, 3, 4], 1)
