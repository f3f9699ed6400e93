"""Stage cache keys follow params sections and input file contents; retries only for
transient I/O errors."""

import dataclasses
import shutil

import pytest

from vreid.config import ConfigError, load_params
from vreid.data.index import DatasetFormatError
from vreid.flows.caching import is_transient, stage_key, stage_outputs


@pytest.fixture
def data_copy(prepared, tmp_path, monkeypatch, tiny_params_writer):
    shutil.copytree(prepared / "data", tmp_path / "data")
    tiny_params_writer(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_key_changes_with_an_input_file_and_only_for_stages_reading_it(data_copy):
    p = load_params("params.yaml")
    stages = ["validate", "pretrain_parsing", "pretrain_image"]
    before = {s: stage_key(s, p) for s in stages}
    assert before == {s: stage_key(s, p) for s in stages}  # deterministic
    frame = next(f for f in sorted((data_copy / "data/synthetic/market1501").rglob("*.jpg")))
    frame.write_bytes(frame.read_bytes() + b"\0")
    after = {s: stage_key(s, p) for s in stages}
    assert after["validate"] != before["validate"]
    assert after["pretrain_image"] != before["pretrain_image"]
    assert after["pretrain_parsing"] == before["pretrain_parsing"]  # reads LIP only


def test_key_changes_with_its_params_section_and_upstream_model(data_copy, tmp_path):
    p = load_params("params.yaml")
    model = tmp_path / "models/pretrain_parsing/model.pt"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"weights v1")
    key = stage_key("pretrain_image", p)
    image = p.stages["pretrain_image"]
    lr = dataclasses.replace(image, train=dataclasses.replace(image.train, lr=0.5))
    assert stage_key("pretrain_image", dataclasses.replace(
        p, stages={**p.stages, "pretrain_image": lr})) != key
    assert stage_key("pretrain_image", dataclasses.replace(p, eval=p.eval)) == key
    model.write_bytes(b"weights v2")  # the parser changed: the image model must retrain
    assert stage_key("pretrain_image", p) != key


def test_outputs_and_unknown_stage(data_copy):
    p = load_params("params.yaml")
    assert [str(o) for o in stage_outputs("train_video", p)] == [
        "models/train_video/model.pt", "checkpoints/train_video",
        "reports/timing/train_video.json"]  # dvc.yaml's outs and metrics
    assert [str(o) for o in stage_outputs("evaluate", p)] == [
        "reports/eval_protocol.json", "reports/metrics.json", "reports/timing/evaluate.json",
        "reports/cmc.csv"]
    with pytest.raises(ValueError, match="unknown stage 'tune_audio'"):
        stage_key("tune_audio", p)


def test_validate_key_follows_the_egoreid_set_too(data_copy):
    p = load_params("params.yaml")
    key = stage_key("validate", p)
    log = next(f for f in sorted((data_copy / "data/synthetic/egoreid").rglob("*"))
               if f.is_file())
    log.write_bytes(log.read_bytes() + b"\n")
    assert stage_key("validate", p) != key


def test_a_table_without_a_parser_has_no_parser_stage(data_copy):
    import yaml

    params = yaml.safe_load(open("params.yaml"))
    params["stages"] = {"baseline": {"model": {"name": "resnet_tap", "kwargs": {"depth": 18}}}}
    open("params.yaml", "w").write(yaml.safe_dump(params))
    p = load_params("params.yaml")
    with pytest.raises(ValueError, match="unknown stage 'pretrain_parsing'"):
        stage_key("pretrain_parsing", p)
    assert [str(o) for o in stage_outputs("baseline", p)][0] == "models/baseline/model.pt"


def test_missing_dataset_names_the_folder(data_copy):
    shutil.rmtree(data_copy / "data/synthetic/lip")
    with pytest.raises(FileNotFoundError, match="data/synthetic/lip: dataset folder not found"):
        stage_key("pretrain_parsing", load_params("params.yaml"))


@pytest.mark.parametrize("exc, transient", [
    (ConnectionResetError("reset by peer"), True),
    (TimeoutError("tracking server"), True),
    (OSError(28, "No space left on device"), True),
    (FileNotFoundError("data/x.jpg"), False),
    (PermissionError("models/"), False),
    (ConfigError("params.yaml: unknown key"), False),
    (DatasetFormatError("bad layout"), False),
    (RuntimeError("nan loss"), False),
])
def test_transient_errors(exc, transient):
    assert is_transient(exc) is transient
