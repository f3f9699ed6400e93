from pathlib import Path

import pytest

from vreid.config import ConfigError, LossTerm, Params, load_params, to_flat_dict

REPO = Path(__file__).resolve().parents[1]


def test_repo_params_yaml_loads_typed():
    p = load_params(REPO / "params.yaml")
    assert isinstance(p, Params)
    assert isinstance(p.train_video.train.milestones, tuple)
    assert all(isinstance(t, LossTerm) for t in p.train_video.train.losses)
    assert p.data.video.name == "mars"


def test_unknown_key_names_file_and_key(tmp_path):
    f = tmp_path / "params.yaml"
    f.write_text("train_video:\n  train:\n    epocs: 3\n")
    with pytest.raises(ConfigError,
                       match=r"params.yaml.train_video.train: unknown key\(s\) \['epocs'\]"):
        load_params(f)


def test_wrong_type_is_an_error(tmp_path):
    f = tmp_path / "params.yaml"
    f.write_text("train_video:\n  train:\n    epochs: three\n")
    with pytest.raises(ConfigError, match="train.epochs: expected int"):
        load_params(f)


def test_int_accepted_for_float_and_missing_file(tmp_path):
    f = tmp_path / "params.yaml"
    f.write_text("train_video:\n  train:\n    lr: 1\n")
    assert load_params(f).train_video.train.lr == 1.0
    with pytest.raises(ConfigError, match="file not found"):
        load_params(tmp_path / "nope.yaml")


def test_flat_dict_has_dotted_keys():
    flat = to_flat_dict(Params())
    assert flat["train_video.train.lr"] == Params().train_video.train.lr
    assert flat["data.video.name"] == "mars"
