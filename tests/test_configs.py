"""Named config files (configs/) load as typed params and name buildable models."""

from pathlib import Path

import pytest
import torch
import yaml

from vreid.config import StageConfig, load_params
from vreid.models import build_model

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_loads_and_its_models_build(path):
    params = load_params(path)
    reid = [s for s in params.stages.values() if isinstance(s, StageConfig)]
    assert reid
    for stage in reid:  # init_from files are not read: untrained weights
        model = build_model(stage.model.name, num_classes=4, **stage.model.kwargs).eval()
        # small, but above what every trunk needs (plain Inception-V3: 75 px per side);
        # a model built for its input size (COSAM, a map-sized attention kernel) runs at it
        inp = stage.input
        clip = (torch.randn(1, inp.clip_len, 3, inp.height, inp.width) if _input_bound(stage)
                else torch.randn(1, 2, 3, 128, 96))
        with torch.no_grad():
            assert model(clip).dim() == 2


def _input_bound(stage):
    kwargs = stage.model.kwargs
    return bool(kwargs.get("cosam_after") or
                (kwargs.get("temporal_kwargs") or {}).get("spatial_kernel"))


PAPER_PROFILES = {"paper001_ibn_attention.yaml", "paper004_se_cosam.yaml"}


def test_paper_001_and_004_profiles_state_the_papers_recipes():
    """Paper 001 sec. III-IV and paper 004 sec. 5-6 (the YAML comments cite the lines)."""
    assert PAPER_PROFILES <= {p.name for p in CONFIGS}
    p001 = load_params(ROOT / "configs/paper001_ibn_attention.yaml").stages["train_video"]
    kw = p001.model.kwargs
    assert (p001.model.name, kw["backbone"], kw["depth"], kw["last_stride"]) == (
        "video_cnn", "resnet_ibn_a", 50, 1)
    assert (kw["temporal"], kw["neck"]) == ("attention", "before_both")
    inp = p001.input
    assert (inp.height, inp.width, inp.clip_len, inp.pad, inp.flip) == (244, 112, 4, 10, 0.5)
    assert inp.random_erasing.per_frame and inp.random_erasing.p > 0
    t = p001.train
    assert (t.optimizer, t.lr, t.epochs, t.ids_per_batch, t.instances_per_id) == (
        "adam", 3.5e-4, 120, 8, 4)
    assert (t.warmup_epochs, t.warmup_factor, t.milestones, t.gamma) == (10, 0.1, (40, 70), 0.1)
    terms = {term.name: (term.weight, term.kwargs) for term in t.losses}
    assert terms == {"cross_entropy": (1.0, {"label_smoothing": 0.1}),
                     "ranked_list": (1.0, {"alpha": 2.0, "margin": 1.3, "normalize": True}),
                     "center": (5e-5, {}), "erasing_attention": (1.0, {})}

    p004 = load_params(ROOT / "configs/paper004_se_cosam.yaml").stages["train_video"]
    kw = p004.model.kwargs
    assert (kw["backbone"], kw["depth"], kw["temporal"]) == ("se_resnet", 50, "avg")
    assert kw["cosam_after"] == ["layer3", "layer4"] and kw["cosam_kwargs"]["reduced_dim"] == 256
    inp = p004.input
    # the COSAMs are built for the stage's input
    assert (kw["clip_len"], kw["height"], kw["width"]) == (inp.clip_len, inp.height,
                                                           inp.width) == (4, 256, 128)
    t = p004.train
    assert (t.optimizer, t.lr, t.warmup_epochs, t.ids_per_batch * t.instances_per_id) == (
        "adam", 1e-4, 0, 32)
    assert t.epochs * t.iters_per_epoch == 60_000 and t.milestones == (15, 30, 45)
    assert [(term.name, term.weight) for term in t.losses] == [("cross_entropy", 1.0),
                                                              ("triplet", 1.0)]


ROOT = Path(__file__).resolve().parents[1]


def test_paper_003_profile_is_its_two_step_training():
    """Paper 003 sec. III-C: step 1 k-means centres fixed, Adam eps 1e-4 at 0.003 halved
    every 1K of 50K iterations; step 2 from step 1, everything at 1e-4; OIM tau 0.1 Q 5000."""
    params = load_params(ROOT / "configs/paper003_personvlad.yaml")
    step1, step2 = params.stages["train_step1"], params.stages["train_video"]
    assert step2.init_from == {"init_checkpoint": "train_step1"}
    assert step1.model.kwargs == step2.model.kwargs
    assert (step1.model.kwargs["num_clusters"], step1.model.kwargs["alpha"]) == (64, 1000.0)
    t1, t2 = step1.train, step2.train
    assert (t1.adam_eps, t2.adam_eps, t1.lr, t2.lr) == (1e-4, 1e-4, 0.003, 1e-4)
    assert t1.epochs * t1.iters_per_epoch == 50_000 and t1.gamma == 0.5
    assert t1.milestones == tuple(range(1, 50))  # halved after every 1K iterations
    assert t1.kmeans_init.enabled and t1.freeze.params == ("vlad.*",)
    assert t1.freeze.epochs == t1.epochs and not t2.kmeans_init.enabled
    assert t1.ids_per_batch * t1.instances_per_id == 15
    assert (step1.input.clip_len, step1.input.height, step1.input.width) == (16, 180, 90)
    for t in (t1, t2):
        assert [(x.name, x.kwargs) for x in t.losses] == [
            ("oim", {"temperature": 0.1, "queue_size": 5000})]


def test_paper_002_profile_chains_its_two_steps():
    """Paper 002 sec. 3.2 / 4.2: step 1 trains I3D (triplet + softmax); step 2 starts from
    that model, I3D frozen, M = 8 clips of L = 4, g_theta 1024-1024 with dropout 0.5."""
    params = load_params(ROOT / "configs/paper002_i3d_clip_similarity.yaml")
    step1, step2 = params.stages["train_i3d"], params.stages["train_video"]
    assert params.model_stage == "train_video" and list(params.stages) == ["train_i3d",
                                                                            "train_video"]
    assert (step1.model.name, step1.input.height, step1.input.width, step1.input.clip_len) == (
        "i3d_reid", 256, 128, 4)
    assert [t.name for t in step1.train.losses] == ["cross_entropy", "triplet"]
    assert step2.init_from == {"init_checkpoint": "train_i3d"}
    kw = step2.model.kwargs
    assert (step2.model.name, kw["num_clips"], kw["clip_len"], kw["hidden"], kw["dropout"]) == (
        "i3d_clip_similarity", 8, 4, 1024, 0.5)
    assert step2.input.clip_len == kw["num_clips"] * kw["clip_len"]  # M x L frames a sample
    assert [t.name for t in step2.train.losses] == ["similarity_triplet"]
    assert params.eval.frames == "evenly:32"


def _egoreid_stages(path):
    return {name: s for name, s in load_params(path).stages.items()
            if isinstance(s, StageConfig) and s.model.name.startswith("egoreid")}


def test_paper_profile_trains_softmax_only_one_classifier_per_region():
    """Paper 000 sec. 4.2 / 6.1: a separate soft-max classifier per body region, their
    losses averaged; no triplet term, no label smoothing (the paper names neither)."""
    stages = _egoreid_stages(ROOT / "configs/egoreid_paper.yaml")
    assert set(stages) == {"pretrain_image", "finetune_image", "train_video"}
    for name, stage in stages.items():
        terms = [(t.name, t.weight, t.kwargs) for t in stage.train.losses]
        assert terms == [("region_cross_entropy", 1.0, {"label_smoothing": 0.0})], name
        # sec. 4.1: plain Inception-V3 (OS32) scaled up to the OS16 parser's maps
        kwargs = stage.model.kwargs
        assert kwargs["backbone"] == {"name": "inception_v3", "output_stride": 32}, name
        assert kwargs["upsample"] == "parser" and kwargs["parser"]["backbone"] == "inception_v3"


def test_cpu_profile_states_every_egoreid_stage_loss():
    """No EgoReID stage of params.yaml silently falls back on TrainConfig's default losses
    (CE + triplet for a single classifier); each trains its region classifiers."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())["stages"]
    for name, stage in _egoreid_stages(ROOT / "params.yaml").items():
        assert "losses" in raw[name]["train"], name
        assert "region_cross_entropy" in [t.name for t in stage.train.losses], name
