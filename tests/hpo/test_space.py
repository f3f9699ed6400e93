"""The search space of params.yaml and the Params a trial runs with (no Ray needed)."""

import dataclasses

import pytest

from vreid.config import ConfigError, SearchDim, load_params
from vreid.hpo.space import ray_space, trial_params, validate_space

from ..conftest import write_tiny_params


@pytest.fixture
def p(tmp_path):
    return load_params(write_tiny_params(tmp_path))


def test_trial_params_override_the_stage_and_hold_out_validation_ids(p):
    q = trial_params(p, {"train.lr": 0.002, "input.clip_len": 3})
    stage = q.stages["train_video"]
    assert stage.train.lr == 0.002 and stage.input.clip_len == 3
    assert stage.train.epochs == p.tune.epochs and stage.train.iters_per_epoch == 1
    assert q.data.video.holdout_ids == 2 and q.data.image == p.data.image
    assert q.runtime.threads == p.tune.threads_per_trial and not q.tracking.log_model
    assert q.stages["finetune_image"] == p.stages["finetune_image"]
    assert p.stages["train_video"].train.lr == 0.001  # copies


def test_list_items_are_addressed_by_index(p):
    q = trial_params(p, {"train.losses.0.weight": 0.5})
    assert q.stages["train_video"].train.losses[0].weight == 0.5


@pytest.mark.parametrize("dim, message", [
    (SearchDim("train.lrr", "uniform", 0.1, 0.2), "no key 'lrr'"),
    (SearchDim("train.losses.3.weight", "uniform", 0.1, 0.2), "no item '3'"),
    (SearchDim("train.losses.0.kwargs.margin", "uniform", 0.1, 0.2), "no key 'margin'"),
    (SearchDim("train.lr", "loguniform", 0.0, 0.2), "low < high"),
    (SearchDim("input.clip_len", "choice"), "needs values"),
    (SearchDim("input.clip_len", "choice", values=("four",)),
     r"train_video\.input\.clip_len: Input should be a valid integer, got 'four'"),
])
def test_bad_space_is_a_config_error_naming_the_entry(p, dim, message):
    bad = dataclasses.replace(p, tune=dataclasses.replace(p.tune, space=(dim,)))
    with pytest.raises(ConfigError, match=message) as err:
        validate_space(bad, "my.yaml")
    assert str(err.value).startswith("my.yaml")


def test_unknown_stage_and_empty_space_are_refused(p):
    with pytest.raises(ConfigError, match="'eval' is not a re-ID training stage"):
        validate_space(dataclasses.replace(p, tune=dataclasses.replace(p.tune, stage="eval")))
    with pytest.raises(ConfigError, match="'pretrain_parsing' is not a re-ID training stage"):
        validate_space(dataclasses.replace(p, tune=dataclasses.replace(
            p.tune, stage="pretrain_parsing")))
    with pytest.raises(ConfigError, match="tune.space is empty"):
        validate_space(dataclasses.replace(p, tune=dataclasses.replace(p.tune, space=())))


def test_ray_space_samples_inside_the_bounds(p):
    from ray.tune.search.sample import Domain

    space = ray_space(p.tune)
    assert set(space) == {"train.lr", "train.weight_decay"}
    for dim in p.tune.space:
        assert isinstance(space[dim.path], Domain)
        values = space[dim.path].sample(size=50)
        assert all(dim.low <= v <= dim.high for v in values)


def test_repo_params_space_is_valid():
    from pathlib import Path

    validate_space(load_params(Path(__file__).resolve().parents[2] / "params.yaml"))
