"""Named config files (configs/) load as typed params and name buildable models."""

from pathlib import Path

import pytest
import torch

from vreid.config import load_params
from vreid.models import build_model
from vreid.pipeline.common import INIT_ONLY_KWARGS

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_loads_and_its_models_build(path):
    params = load_params(path)
    for stage in (params.pretrain_image, params.finetune_image, params.train_video):
        kwargs = {k: v for k, v in stage.model.kwargs.items() if k not in INIT_ONLY_KWARGS}
        model = build_model(stage.model.name, num_classes=4, **kwargs).eval()
        clip = torch.randn(1, 2, 3, 128, 64)
        assert model(clip).dim() == 2
