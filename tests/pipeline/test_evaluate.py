"""Scoring a model file: at the file's own input spec, whatever train_video says."""

from vreid.config import InputConfig, ModelConfig, load_params
from vreid.models import build_model
from vreid.pipeline import evaluate as evaluate_module
from vreid.pipeline.common import load_model, read_configured, resolve_device, save_model
from vreid.pipeline.evaluate import score_model


def test_each_model_file_is_scored_at_its_own_input_size(in_prepared, tmp_path, monkeypatch):
    seen: dict[str, set] = {}

    def recording_load(path):
        model, saved = load_model(path)
        shapes = seen.setdefault(str(path), set())
        model.register_forward_pre_hook(lambda _m, args: shapes.add(tuple(args[0].shape[1:])))
        return model, saved

    monkeypatch.setattr(evaluate_module, "load_model", recording_load)
    p = load_params("params.yaml")
    assert (p.stages["train_video"].input.height, p.stages["train_video"].input.width) == (32, 16)
    index = read_configured(p.data.video)
    files = {}
    for name, inp in (("small", InputConfig(32, 16, 2)), ("large", InputConfig(48, 24, 3))):
        files[name] = tmp_path / f"{name}.pt"
        save_model(files[name], build_model("resnet_tap", num_classes=4, depth=18),
                   ModelConfig("resnet_tap", {"depth": 18}), 4, inp)
        metrics, _, _ = score_model(p, files[name], index, resolve_device("cpu"))
        assert 0.0 <= metrics["mAP"] <= 1.0
    assert seen[str(files["small"])] == {(2, 3, 32, 16)}
    assert seen[str(files["large"])] == {(3, 3, 48, 24)}


def test_evaluate_scores_the_untrained_twin_at_the_model_files_size(in_prepared, tmp_path,
                                                                     monkeypatch):
    specs = []
    real = evaluate_module.rank_metrics_timed

    def recording(model, index, params, spec, device, rerank):
        specs.append(spec)
        return real(model, index, params, spec, device, rerank)

    monkeypatch.setattr(evaluate_module, "rank_metrics_timed", recording)
    path = tmp_path / "model.pt"
    save_model(path, build_model("resnet_tap", num_classes=4, depth=18),
               ModelConfig("resnet_tap", {"depth": 18}), 4, InputConfig(40, 20, 3))
    out = evaluate_module.evaluate(load_params("params.yaml"), path, tmp_path / "reports")
    assert [(s.height, s.width, s.clip_len) for s in specs] == [(40, 20, 3)] * 2
    assert out.untrained_cmc is not None and "rr_mAP" in out.metrics
    assert "untrained_rr_mAP" not in out.metrics  # the twin is scored without re-ranking
    assert not any(k.startswith("ecn_") for k in out.metrics)  # ECN is off by default
    assert not any(k.startswith(("first_stage", "refine_")) for k in out.metrics)  # one stage
    assert specs[0].corruption is None  # input.corruption is off by default


def test_evaluate_reports_a_two_stage_models_recall_at_k_and_corrupts_as_the_stage_says(
        in_prepared, tmp_path, monkeypatch):
    """Paper 002's step 2: metrics.json gets the first stage's recall@K and the refine
    cost; the model stage's input.corruption is the test protocol the spec carries."""
    import dataclasses
    import json

    from vreid.config import CorruptionConfig
    from vreid.models import MODELS

    specs = []
    real = evaluate_module.rank_metrics_timed

    def recording(model, index, params, spec, device, rerank):
        specs.append(spec)
        return real(model, index, params, spec, device, rerank)

    monkeypatch.setattr(evaluate_module, "rank_metrics_timed", recording)
    tiny = MODELS.info("i3d_clip_similarity").tiny_kwargs  # M = 3 clips of L = 1, top_k 2
    path = tmp_path / "model.pt"
    save_model(path, build_model("i3d_clip_similarity", **tiny),
               ModelConfig("i3d_clip_similarity", tiny), 4, InputConfig(32, 16, 3))
    p = load_params("params.yaml")
    stage = p.stages["train_video"]
    stage = dataclasses.replace(stage, input=dataclasses.replace(
        stage.input, corruption=CorruptionConfig(max_clips=2, seed=4)))
    p = dataclasses.replace(p, stages={**p.stages, "train_video": stage},
                            eval=dataclasses.replace(p.eval, untrained_baseline=False))
    out = evaluate_module.evaluate(p, path, tmp_path / "reports")
    m = out.metrics
    assert m["first_stage_top_k"] == 2 and 0 <= m["first_stage_recall"] <= 1
    assert m["refine_pairs"] == 2 * len(read_configured(p.data.video).query)
    assert m["refine_seconds"] > 0
    assert json.loads((tmp_path / "reports" / "metrics.json").read_text())["refine_pairs"] == (
        m["refine_pairs"])
    (spec,) = specs
    assert (spec.corruption.max_clips, spec.corruption.seed) == (2, 4)


def test_evaluate_reports_ecn_metrics_when_configured(in_prepared, tmp_path, monkeypatch):
    import dataclasses
    import json

    import numpy as np

    from vreid.config import EcnConfig
    from vreid.eval import evaluate_rank
    from vreid.pipeline.evaluate import query_gallery_ids

    calls = []
    real = evaluate_module.ecn_re_ranking

    def recording(q_g, q_q, g_g, **kwargs):
        calls.append((tuple(q_g.shape), tuple(q_q.shape), tuple(g_g.shape), kwargs))
        calls[-1] += (real(q_g, q_q, g_g, **kwargs),)
        return calls[-1][-1]

    monkeypatch.setattr(evaluate_module, "ecn_re_ranking", recording)
    p = load_params("params.yaml")
    ev = dataclasses.replace(p.eval, untrained_baseline=False,
                             rerank=dataclasses.replace(p.eval.rerank, enabled=False),
                             ecn=EcnConfig(enabled=True, t=2, q=4, method="origdist", k=7))
    p = dataclasses.replace(p, eval=ev)
    path = tmp_path / "model.pt"
    save_model(path, build_model("resnet_tap", num_classes=4, depth=18),
               ModelConfig("resnet_tap", {"depth": 18}), 4, InputConfig(32, 16, 2))
    out = evaluate_module.evaluate(p, path, tmp_path / "reports")
    written = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    assert written == out.metrics
    index = read_configured(p.data.video)
    Q, G = len(index.query), len(index.gallery)
    assert len(calls) == 1
    shapes_qg, shapes_qq, shapes_gg, kwargs, ecn_dist = calls[0]
    assert (shapes_qg, shapes_qq, shapes_gg) == ((Q, G), (Q, Q), (G, G))
    assert kwargs == {"t": 2, "q": 4, "method": "origdist", "k": 7}
    expected = evaluate_rank(np.asarray(ecn_dist), *query_gallery_ids(index), max_rank=p.eval.max_rank)
    assert written["ecn_rank1"] == expected.rank(1) and written["ecn_mAP"] == expected.mAP
    for key in ("ecn_rank1", "ecn_rank5", "ecn_rank10", "ecn_rank20", "ecn_mAP", "ecn_mINP"):
        assert 0.0 <= written[key] <= 1.0
    assert not any(k.startswith(("rr_", "untrained_")) for k in written)


class Recorder:
    def __init__(self):
        self.metrics, self.artifacts = {}, []

    def log_params(self, params):
        pass

    def log_metrics(self, metrics, step=None):
        self.metrics.update(metrics)

    def log_artifact(self, path):
        self.artifacts.append(str(path))


def test_evaluate_records_the_frames_protocol_and_its_timing(in_prepared, tmp_path):
    import dataclasses
    import json

    import pytest

    p = load_params("params.yaml")
    plain = dataclasses.replace(p.eval, untrained_baseline=False,
                                rerank=dataclasses.replace(p.eval.rerank, enabled=False))
    path = tmp_path / "model.pt"
    save_model(path, build_model("resnet_tap", num_classes=4, depth=18),
               ModelConfig("resnet_tap", {"depth": 18}), 4, InputConfig(32, 16, 2))
    index = read_configured(p.data.video)
    tracklets = [*index.query, *index.gallery]
    written = {}
    for frames in ("all", "evenly:3"):
        reports, logger = tmp_path / frames.replace(":", "_"), Recorder()
        q = dataclasses.replace(p, eval=dataclasses.replace(plain, frames=frames))
        out = evaluate_module.evaluate(q, path, reports, logger)
        protocol = json.loads((reports / "eval_protocol.json").read_text())
        assert protocol == out.protocol and protocol["frames"] == frames
        timing = json.loads((reports / "timing" / "evaluate.json").read_text())
        assert timing == out.timing
        assert timing["tracklets"] == len(tracklets)
        assert timing["wall_s"] >= timing["timed_s"] > 0 and timing["tracklets_per_s"] > 0
        assert timing["frames_per_s"] == pytest.approx(
            timing["tracklets_per_s"] * timing["frames"] / timing["tracklets"])
        assert logger.metrics["timing/frames_per_s"] == timing["frames_per_s"]
        assert str(reports / "timing" / "evaluate.json") in logger.artifacts
        written[frames] = (json.loads((reports / "metrics.json").read_text()), timing)
    assert written["all"][1]["frames"] == sum(len(t.frames) for t in tracklets)
    assert written["evenly:3"][1]["frames"] == 3 * len(tracklets)
    (all_metrics, _), (evenly_metrics, _) = written["all"], written["evenly:3"]
    assert set(all_metrics) == set(evenly_metrics)  # same numeric keys: dvc metrics reads both
    assert all(isinstance(v, (int, float)) for v in evenly_metrics.values())
    assert all_metrics != evenly_metrics  # other frames scored, other distances


def test_evaluate_reports_attribute_metrics_of_the_trained_model(in_prepared, tmp_path):
    import dataclasses

    import pytest

    from vreid.data.readers import read_attributes
    from vreid.data.synth.appearance import ACCESSORIES

    p = load_params("params.yaml")
    ev = dataclasses.replace(p.eval, rerank=dataclasses.replace(p.eval.rerank, enabled=False))
    path = tmp_path / "model.pt"
    save_model(path, build_model("resnet_tap", num_classes=4, depth=18),
               ModelConfig("resnet_tap", {"depth": 18}), 4, InputConfig(32, 16, 2))
    assert read_attributes(p.data.video.root).names == ACCESSORIES  # prepare wrote them
    m = evaluate_module.evaluate(dataclasses.replace(p, eval=ev), path, tmp_path / "on").metrics
    n = m["num_valid_queries"]
    for name in ACCESSORIES:
        with_, without = m[f"attr_{name}_queries"], m[f"attr_without_{name}_queries"]
        assert with_ + without == n  # every test person is listed: the subsets split the queries
        # the two subsets' rank-1 / mAP, weighted by their sizes, give the whole ranking's
        for metric in ("rank1", "mAP"):
            total = sum(m.get(f"{prefix}{name}_{metric}", 0.0) * count for prefix, count in
                        (("attr_", with_), ("attr_without_", without)))
            assert total == pytest.approx(n * m[metric])
    assert any(0 < m[f"attr_{name}_queries"] < n for name in ACCESSORIES)
    assert not any(k.startswith("untrained_attr_") for k in m)  # the trained model only
    off = dataclasses.replace(p, eval=dataclasses.replace(ev, attributes=False,
                                                          untrained_baseline=False))
    m_off = evaluate_module.evaluate(off, path, tmp_path / "off").metrics
    assert not any(k.startswith("attr_") for k in m_off)
    assert m_off["rank1"] == m["rank1"]


def test_evaluate_with_xqda_fits_on_the_training_split_and_ranks_otherwise(in_prepared,
                                                                            tmp_path):
    """eval.scorer: xqda (paper 003 table IX) through `vreid evaluate`: finite metrics, not
    those of the plain distance; the default scorer's numbers are the plain distance's."""
    import dataclasses
    import json
    import math

    import torch

    from vreid.config import XqdaConfig

    p = load_params("params.yaml")
    assert p.eval.scorer == "distance"
    path = tmp_path / "model.pt"
    torch.manual_seed(0)
    save_model(path, build_model("resnet_tap", num_classes=4, depth=18),
               ModelConfig("resnet_tap", {"depth": 18}), 4, InputConfig(32, 16, 2))
    ev = dataclasses.replace(p.eval, untrained_baseline=False)
    outs = {}
    for scorer in ("distance", "xqda"):
        q = dataclasses.replace(p, eval=dataclasses.replace(ev, scorer=scorer,
                                                            xqda=XqdaConfig(dims=8)))
        outs[scorer] = evaluate_module.evaluate(q, path, tmp_path / scorer).metrics
        written = json.loads((tmp_path / scorer / "metrics.json").read_text())
        assert written == outs[scorer]
    plain, xqda = outs["distance"], outs["xqda"]
    assert all(math.isfinite(v) for v in xqda.values())
    assert 0.0 <= xqda["mAP"] <= 1.0 and 0.0 <= xqda["rr_mAP"] <= 1.0
    assert xqda["mAP"] != plain["mAP"]
    # the default (distance) is the plain scoring: the same numbers as before the option
    index = read_configured(p.data.video)
    assert score_model(dataclasses.replace(p, eval=ev), path, index,
                       resolve_device("cpu"))[0]["mAP"] == plain["mAP"]
