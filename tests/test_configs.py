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
        # small, but above what every trunk needs (plain Inception-V3: 75 px per side)
        clip = torch.randn(1, 2, 3, 128, 96)
        assert model(clip).dim() == 2


ROOT = Path(__file__).resolve().parents[1]


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
