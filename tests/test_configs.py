"""Named config files (configs/) load as typed params and name buildable models."""

from pathlib import Path

import pytest
import torch

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
        clip = torch.randn(1, 2, 3, 128, 64)
        assert model(clip).dim() == 2
