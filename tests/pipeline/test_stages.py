"""The `stages:` table resolved: init_from -> earlier stages' model files, the model stage,
and one function that trains any entry (parser or re-ID)."""

import json
from pathlib import Path

import pytest
import yaml

from vreid.config import ConfigError, load_params
from vreid.pipeline.common import load_model
from vreid.pipeline.stages import (example_input_shape, model_stage, model_stage_file,
                                   resolve_stage, tuned_stage)

from ..conftest import write_tiny_params


@pytest.fixture
def tiny(tmp_path):
    return load_params(write_tiny_params(tmp_path))


def test_init_from_becomes_model_file_kwargs(tiny):
    video = resolve_stage(tiny, "train_video")
    assert video.config.model.kwargs["parser_checkpoint"] == "models/pretrain_parsing/model.pt"
    assert video.config.model.kwargs["extractor_checkpoint"] == "models/finetune_image/model.pt"
    assert "parser_checkpoint" not in tiny.stages["train_video"].model.kwargs  # a copy
    assert video.dataset == tiny.data.video and video.model_path == Path(
        "models/train_video/model.pt")
    assert resolve_stage(tiny, "pretrain_image").dataset == tiny.data.image
    # a trial writes its own files but starts from the chain's models
    trial = resolve_stage(tiny, "train_video", "t/models", "t/ckpt")
    assert trial.model_path == Path("t/models/train_video/model.pt")
    assert trial.checkpoint_dir == Path("t/ckpt/train_video")
    assert trial.upstream["extractor_checkpoint"] == Path("models/finetune_image/model.pt")
    assert example_input_shape(video.config) == (1, 2, 3, 32, 16)
    assert example_input_shape(resolve_stage(tiny, "pretrain_parsing").config) == (1, 3, 64, 32)


def test_unknown_stage_names_the_table(tiny):
    with pytest.raises(ConfigError, match=r"no training stage 'cosam'.*'train_video'"):
        resolve_stage(tiny, "cosam")


def test_model_stage_is_the_last_reid_stage_unless_named(tmp_path):
    p = load_params(write_tiny_params(tmp_path, model_stage="finetune_image"))
    assert model_stage(p) == "finetune_image" and tuned_stage(p) == "finetune_image"
    assert model_stage_file(p) == Path("models/finetune_image/model.pt")
    p = load_params(write_tiny_params(tmp_path, model_stage=""))
    assert model_stage(p) == "train_video"
    (tmp_path / "p.yaml").write_text("stages:\n  parser: {kind: parsing}\n")
    with pytest.raises(ConfigError, match="no re-ID training stage"):
        model_stage(load_params(tmp_path / "p.yaml"))


def test_train_stage_trains_parser_and_reid_entries_into_their_folders(chain_models):
    parser, _ = load_model(chain_models / "models/pretrain_parsing/model.pt")
    frame, saved = load_model(chain_models / "models/finetune_image/model.pt")
    assert type(parser).__name__ == "ParsingNet" and saved["model_name"] == "egoreid_frame"
    assert "extractor_checkpoint" not in saved["model_kwargs"]  # init-only kwargs dropped
    assert (chain_models / "checkpoints/pretrain_image").is_dir()
    for name in ("pretrain_parsing", "pretrain_image", "finetune_image"):  # one-frame clips
        timing = json.loads((chain_models / f"reports/timing/{name}.json").read_text())
        assert timing["clips"] == timing["frames"] > 0 and timing["clips_per_s"] > 0
        assert timing["frames_per_s"] == pytest.approx(timing["clips_per_s"])


def test_a_parsing_entry_takes_init_from_into_its_model_settings(tmp_path):
    (tmp_path / "p.yaml").write_text(
        "stages:\n  first: {kind: parsing}\n"
        "  second: {kind: parsing, init_from: {pretrained: first}}\n  reid: {}\n")
    second = resolve_stage(load_params(tmp_path / "p.yaml"), "second").config
    assert second.model["pretrained"] == "models/first/model.pt"
    assert second.model["backbone"] == "resnet"  # the parser's other settings are kept


@pytest.mark.parametrize("model, message", [
    ({"name": "resnet_tapp"}, r"stages\.baseline\.model\.name: unknown model 'resnet_tapp'; "
                              r"registered: .*resnet_tap"),
    ({"name": "resnet_tap", "kwargs": {"depht": 18}},
     r"stages\.baseline\.model\.kwargs: model 'resnet_tap': .*'depht'; it takes .*depth"),
])
def test_a_bad_model_name_or_kwarg_fails_before_training_naming_the_key(tmp_path, model,
                                                                        message):
    """Issue 15 item 4: these were a KeyError / TypeError traceback from the builder."""
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"stages": {"baseline": {"model": model}}}))
    with pytest.raises(ConfigError, match=message):
        resolve_stage(load_params(path), "baseline")
