from pathlib import Path

import pytest

from vreid.config import (ConfigError, LossTerm, ParsingStageConfig, Params, StageConfig,
                          load_params, to_flat_dict)

REPO = Path(__file__).resolve().parents[1]


def test_repo_params_yaml_loads_typed():
    p = load_params(REPO / "params.yaml")
    assert isinstance(p, Params)
    assert list(p.stages) == ["pretrain_parsing", "pretrain_image", "finetune_image",
                              "train_video"]
    assert isinstance(p.stages["pretrain_parsing"], ParsingStageConfig)
    video = p.stages["train_video"]
    assert isinstance(video, StageConfig) and video.data == "video"
    assert video.init_from == {"parser_checkpoint": "pretrain_parsing",
                               "extractor_checkpoint": "finetune_image"}
    assert isinstance(video.train.milestones, tuple)
    assert all(isinstance(t, LossTerm) for t in video.train.losses)
    assert p.data.video.name == "mars" and p.model_stage == "train_video"


def test_unknown_key_names_file_and_key(tmp_path):
    f = tmp_path / "params.yaml"
    f.write_text("stages:\n  train_video:\n    train:\n      epocs: 3\n")
    with pytest.raises(ConfigError, match=r"params.yaml.stages.train_video.train: unknown "
                                          r"key\(s\) \['epocs'\]"):
        load_params(f)


def test_wrong_type_is_an_error(tmp_path):
    f = tmp_path / "params.yaml"
    f.write_text("stages:\n  train_video:\n    train:\n      epochs: three\n")
    with pytest.raises(ConfigError, match="train.epochs: expected int"):
        load_params(f)


def test_int_accepted_for_float_and_missing_file(tmp_path):
    f = tmp_path / "params.yaml"
    f.write_text("stages:\n  train_video:\n    train:\n      lr: 1\n")
    assert load_params(f).stages["train_video"].train.lr == 1.0
    with pytest.raises(ConfigError, match="file not found"):
        load_params(tmp_path / "nope.yaml")


def test_flat_dict_has_dotted_keys():
    flat = to_flat_dict(Params(stages={"train_video": StageConfig()}))
    assert flat["stages.train_video.train.lr"] == StageConfig().train.lr
    assert flat["data.video.name"] == "mars"


def _table(tmp_path, text):
    f = tmp_path / "params.yaml"
    f.write_text(text)
    return f


def test_stage_kind_picks_the_entry_class_and_unknown_kinds_are_errors(tmp_path):
    p = load_params(_table(tmp_path, "stages:\n  parser: {kind: parsing, epochs: 2}\n"
                                     "  reid: {data: image}\n"))
    assert isinstance(p.stages["parser"], ParsingStageConfig) and p.stages["parser"].epochs == 2
    assert isinstance(p.stages["reid"], StageConfig) and p.stages["reid"].data == "image"
    with pytest.raises(ConfigError, match=r"stages.x.kind: unknown kind 'audio'"):
        load_params(_table(tmp_path, "stages:\n  x: {kind: audio}\n"))
    with pytest.raises(ConfigError, match=r"stages.parser: unknown key\(s\) \['input'\]"):
        load_params(_table(tmp_path, "stages:\n  parser: {kind: parsing, input: {}}\n"))


@pytest.mark.parametrize("table, message", [
    ("a: {data: audio}", r"stages.a.data: unknown dataset 'audio'; known: \['egoreid', "),
    ("a: {init_from: {x: b}}", r"stages.a.init_from.x: 'b' is not a stage of the table"),
    ("a: {init_from: {x: a}}", r"stages.a.init_from.x: 'a' is the stage itself"),
    # a cycle: a <- b and b <- a; whichever comes first names a later stage
    ("a: {init_from: {x: b}}\n  b: {init_from: {y: a}}",
     r"stages.a.init_from.x: 'b' comes later in the table \(a cycle"),
])
def test_table_errors_name_the_key(tmp_path, table, message):
    with pytest.raises(ConfigError, match=message):
        load_params(_table(tmp_path, f"stages:\n  {table}\n"))


def test_model_and_tune_stage_must_be_reid_stages_of_the_table(tmp_path):
    with pytest.raises(ConfigError, match=r"model_stage: 'p' is not a re-ID stage.*\['v'\]"):
        load_params(_table(tmp_path, "stages:\n  p: {kind: parsing}\n  v: {}\nmodel_stage: p\n"))
    with pytest.raises(ConfigError, match=r"tune.stage: 'nope' is not a re-ID stage"):
        load_params(_table(tmp_path, "stages:\n  v: {}\ntune: {stage: nope}\n"))
