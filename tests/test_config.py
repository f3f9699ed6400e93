import dataclasses
from pathlib import Path

import pytest

from vreid.config import (
    ConfigError,
    LossTerm,
    ParsingStageConfig,
    Params,
    StageConfig,
    from_dict,
    load_params,
    to_flat_dict,
    with_override,
)
from vreid.data.synth import Difficulty, EgoWorldConfig, VideoSetConfig

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


def _load(tmp_path, text):
    f = tmp_path / "params.yaml"
    f.write_text(text)
    return load_params(f)


def _error(tmp_path, text) -> str:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    return str(err.value)


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
    assert p.data.video.split_id == 0
    assert p.eval.rerank.enabled and not p.eval.ecn.enabled  # ECN is opt-in
    assert p.eval.frames == "all"  # every frame scored unless evenly:N is asked for
    assert (p.eval.ecn.t, p.eval.ecn.q, p.eval.ecn.method, p.eval.ecn.k) == (3, 8, "rankdist", 25)
    assert isinstance(p.synth.difficulty, Difficulty) and isinstance(p.synth.egoreid, EgoWorldConfig)
    assert p.synth.video == VideoSetConfig(num_train_ids=100, num_test_ids=100, frames=(8, 24))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_named_config_loads(path):
    assert isinstance(load_params(path), Params)


def test_unknown_key_names_file_dotted_key_and_the_known_ones(tmp_path):
    message = _error(tmp_path, "stages:\n  train_video:\n    train:\n      epocs: 3\n")
    assert message.startswith(f"{tmp_path / 'params.yaml'}: stages.train_video.train.epocs: unknown key; ")
    assert "known: seed, epochs," in message
    assert "pretrain_imag: unknown key" in _error(tmp_path, "pretrain_imag: {}\n")


@pytest.mark.parametrize("text, problem", [
    ("stages:\n  train_video:\n    train:\n      epochs: three\n",
     "stages.train_video.train.epochs: Input should be a valid integer, got 'three'"),
    ("stages:\n  train_video:\n    train:\n      epochs: 2.5\n", "stages.train_video.train.epochs: Input should be a valid"),
    ("runtime: {amp: 1}\n", "runtime.amp: Input should be a valid boolean, got 1"),
    ("stages:\n  train_video:\n    train:\n      lr: 1e-3\n",  # YAML reads 1e-3 (no dot) as a string
     "stages.train_video.train.lr: Input should be a valid number, got '1e-3'"),
    ("eval: {ranks: [1, '5']}\n", "eval.ranks.1: Input should be a valid integer, got '5'"),
    ("stages:\n  train_video:\n    train:\n      losses: [{name: triplet, weight: heavy}]\n",
     "stages.train_video.train.losses.0.weight: Input should be a valid number"),
    ("data:\n  video: {root: /datasets/MARS}\n", "data.video.name: Field required"),
    ("stages:\n  train_video: 3\n", "stages.train_video: Input should be a dictionary"),
])
def test_wrong_type_names_the_dotted_path(tmp_path, text, problem):
    assert f"params.yaml: {problem}" in _error(tmp_path, text)


@pytest.mark.parametrize("text, problem", [
    ("stages:\n  train_video:\n    train:\n      lr: 0\n", "stages.train_video.train.lr: Input should be greater than 0"),
    ("stages:\n  train_video:\n    input: {flip: 1.5}\n", "stages.train_video.input.flip: Input should be less than"),
    ("stages:\n  train_video:\n    train: {optimizer: rmsprop}\n",
     "stages.train_video.train.optimizer: Input should be 'adam' or 'sgd', got 'rmsprop'"),
    ("stages:\n  train_video:\n    input: {train_sampling: dense}\n", "stages.train_video.input.train_sampling: Input"),
    ("runtime: {device: gpu}\n", "runtime.device: String should match pattern"),
    ("eval: {metric: manhattan}\n", "eval.metric: Input should be 'euclidean' or 'cosine'"),
    ("eval: {frames: evenly:0}\n",
     "eval.frames: must be 'all' or 'evenly:N' with N >= 1 (one clip of N evenly spaced "
     "frames per tracklet), got 'evenly:0'"),
    ("eval: {frames: some}\n", "eval.frames: must be 'all' or 'evenly:N'"),
    ("metadata: {on_missing: ignore}\n", "metadata.on_missing: Input should be 'error' or 'skip'"),
    ("tune: {searcher: grid}\n", "tune.searcher: Input should be 'random' or 'optuna'"),
    ("tune: {space: [{path: train.lr, kind: gaussian}]}\n", "tune.space.0.kind: Input should be"),
    ("tune: {epochs: 0}\n", "tune.epochs: Input should be greater than or equal to 1"),
    ("data:\n  video: {name: ilids-vid, root: x, split_id: -1}\n", "data.video.split_id: Input"),
    ("export: {export_batch: 1}\n", "export.export_batch: Input should be greater than or equal to 2"),
    ("eval:\n  ecn: {method: kreciprocal}\n", "eval.ecn.method: Input should be 'rankdist' or 'origdist'"),
    ("eval:\n  ecn: {q: -1}\n", "eval.ecn.q: Input should be greater than or equal to 0"),
    ("eval:\n  ecn: {t: 0}\n", "eval.ecn.t: Input should be greater than or equal to 1"),
])
def test_out_of_range_value_names_the_dotted_path(tmp_path, text, problem):
    assert f"params.yaml: {problem}" in _error(tmp_path, text)


@pytest.mark.parametrize("text, problem", [
    ("synth:\n  difficulty: {blur_prob: 1.5}\n", "synth.difficulty.blur_prob: Input should be less"),
    ("synth:\n  difficulty: {blur_prob: high}\n", "synth.difficulty.blur_prob: Input should be a valid"),
    ("synth:\n  video: {num_train_idz: 3}\n", "synth.video.num_train_idz: unknown key; known: num_train_ids"),
    ("synth:\n  video: {frames: [24, 8]}\n", "synth.video.frames: must be a (low, high) pair"),
    ("synth:\n  video: {num_cams: 3, cams_per_id: [2, 4]}\n",
     "synth.video: cams_per_id [2, 4] must lie in [2, num_cams = 3]"),
    ("synth:\n  egoreid: {test_fraction: 1.0}\n", "synth.egoreid.test_fraction: Input should be less than 1"),
    ("synth:\n  render: {jpeg_quality: 101}\n", "synth.render.jpeg_quality: Input should be less"),
])
def test_synth_sections_are_typed(tmp_path, text, problem):
    assert f"params.yaml: {problem}" in _error(tmp_path, text)


def test_every_problem_is_one_line(tmp_path):
    lines = _error(tmp_path, "stages:\n  train_video:\n    train: {lr: 0, epocs: 3}\neval: {metric: l1}\n").splitlines()
    assert len(lines) == 3 and all(line.startswith(f"{tmp_path / 'params.yaml'}: ") for line in lines)


def test_int_accepted_for_float_and_missing_file(tmp_path):
    p = _load(tmp_path, "stages:\n  train_video:\n    train:\n      lr: 1\n")
    assert p.stages["train_video"].train.lr == 1.0 and isinstance(p.stages["train_video"].train.lr, float)
    with pytest.raises(ConfigError, match="file not found"):
        load_params(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        _load(tmp_path, "- 1\n")


def test_sections_are_frozen_and_replace_revalidates():
    train = StageConfig().train
    with pytest.raises(dataclasses.FrozenInstanceError):
        train.lr = 0.1  # type: ignore[misc]
    assert dataclasses.replace(train, lr=2).lr == 2.0
    with pytest.raises(ValueError, match="lr"):
        dataclasses.replace(train, lr=-1.0)


def test_from_dict_builds_any_section():
    ref = from_dict(type(Params().data.video), {"name": "union", "sources": [
        {"name": "ilids-vid", "root": "a", "split_id": 3}]}, "here")
    assert ref.sources[0].split_id == 3 and isinstance(ref.sources, tuple)
    with pytest.raises(ConfigError, match=r"^here: sources\.0\.root: Input should be a valid string"):
        from_dict(type(ref), {"name": "union", "sources": [{"name": "mars", "root": 1}]}, "here")


def test_flat_dict_has_dotted_keys():
    flat = to_flat_dict(Params(stages={"train_video": StageConfig()}))
    assert flat["stages.train_video.train.lr"] == StageConfig().train.lr
    assert flat["data.video.name"] == "mars" and flat["data.video.split_id"] == 0
    stage = to_flat_dict(load_params(REPO / "params.yaml").stages["train_video"])
    assert stage["model.kwargs.backbone.depth"] == 18  # mappings flatten too
    assert stage["train.milestones"] == (8,) and stage["input.clip_len"] == 4


def test_with_override_types_like_the_field_and_copies():
    stage = load_params(REPO / "params.yaml").stages["train_video"]
    new = with_override(stage, "train.lr", 1)
    assert new.train.lr == 1.0 and isinstance(new.train.lr, float) and stage.train.lr == 0.001
    assert with_override(stage, "train.losses.0.weight", 0.5).train.losses[0].weight == 0.5
    smoothed = with_override(stage, "train.losses.0.kwargs.label_smoothing", 0.2)
    assert smoothed.train.losses[0].kwargs == {"label_smoothing": 0.2}
    assert with_override(stage, "train.milestones.0", 5).train.milestones == (5,)


@pytest.mark.parametrize("path, value, message", [
    ("train.lrr", 0.1, r"^w: train_video\.train: no key 'lrr'; known: \["),
    ("train.losses.3.weight", 0.1, r"^w: train_video\.train\.losses: no item '3' in a list of 1"),
    ("train.losses.0.kwargs.margin", 0.1, r"^w: train_video\.train\.losses\.0\.kwargs: no key"),
    ("input.clip_len", "four", r"^w: train_video\.input\.clip_len: Input should be a valid integer"),
    ("train.lr", -1.0, r"^w: train_video\.train\.lr: Input should be greater than 0, got -1.0$"),
    ("train.milestones.0", "x", r"^w: train_video\.train\.milestones\.0: Input should be a valid"),
    ("input.clip_len.0", 1, r"^w: train_video\.input\.clip_len: int value has no key '0'"),
])
def test_with_override_errors_name_where_and_the_path(path, value, message):
    stage = load_params(REPO / "params.yaml").stages["train_video"]
    with pytest.raises(ConfigError, match=message):
        with_override(stage, path, value, "w: train_video")


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
    with pytest.raises(ConfigError, match=r"stages.parser.input: unknown key; known: "):
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
