"""The stage graph: dvc.yaml is generated from params.yaml's table, every stage's deps
cover the code it imports, and a table without a parser trains no parser."""

from pathlib import Path

import yaml

from vreid.config import load_params
from vreid.pipeline.graph import code_deps, dvc_yaml, stage_graph

from ..conftest import write_tiny_params

REPO = Path(__file__).resolve().parents[2]
CHAIN = ["prepare", "validate", "pretrain_parsing", "pretrain_image", "finetune_image",
         "train_video", "evaluate", "evaluate_metadata", "export", "benchmark", "tune"]
BASELINE = {"baseline": {"data": "video", "model": {"name": "resnet_tap",
                                                    "kwargs": {"depth": 18}}}}


def test_committed_dvc_yaml_is_what_the_generator_writes():
    expected = dvc_yaml(load_params(REPO / "params.yaml"))
    assert (REPO / "dvc.yaml").read_text() == expected, "run `vreid dvc-yaml`"


def test_default_graph_is_egoreids_chain_with_dvc_yaml_names_and_outputs():
    p = load_params(REPO / "params.yaml")
    assert [s.name for s in stage_graph(p)] == CHAIN
    doc = yaml.safe_load(dvc_yaml(p))["stages"]
    assert list(doc) == CHAIN
    assert doc["train_video"]["cmd"] == "vreid train-stage train_video"
    assert doc["train_video"]["deps"][:3] == ["models/pretrain_parsing/model.pt",
                                              "models/finetune_image/model.pt",
                                              "reports/validation.json"]
    assert doc["pretrain_parsing"]["metrics"] == [
        {"reports/parsing_metrics.json": {"cache": False}},
        {"reports/timing/pretrain_parsing.json": {"cache": False}}]
    # one timing file per stage (DVC refuses two stages declaring one output)
    timing = [m for stage in doc.values() for m in stage.get("metrics", [])
              if next(iter(m)).startswith("reports/timing/")]
    assert [next(iter(m)) for m in timing] == [
        f"reports/timing/{name}.json" for name in CHAIN[2:8]]
    assert {"reports/eval_protocol.json": {"cache": False}} in doc["evaluate"]["outs"]
    assert {"checkpoints/train_video": {"cache": False, "persist": True}} in \
        doc["train_video"]["outs"]
    assert doc["evaluate"]["params"] == ["data.video", "stages.train_video.input", "eval"]
    for name, stage in doc.items():  # every dep is a real path (or an earlier stage's output)
        for dep in stage["deps"]:
            assert dep.startswith(("models/", "reports/", "data/")) or (REPO / dep).exists(), \
                (name, dep)


def _reruns(doc: dict, changed_param: str) -> list[str]:
    """The stages DVC reruns when `changed_param` changes: those whose params name it (or a
    section above it), then every stage that depends on what a rerun stage writes."""
    def names(entries):
        return [next(iter(e)) if isinstance(e, dict) else e for e in entries]

    ran = [n for n, s in doc.items()
           if any(changed_param == q or changed_param.startswith(q + ".")
                  for q in s.get("params", []))]
    for name, stage in doc.items():  # dvc.yaml lists stages in run order
        outs = [o for r in ran for o in names(doc[r].get("outs", []))]
        if name not in ran and any(d in outs for d in stage.get("deps", [])):
            ran.append(name)
    return [n for n in doc if n in ran]


def test_a_video_training_param_reaches_only_that_stage_and_what_uses_its_model():
    # The real `dvc repro` test changes an eval param (cheaper); this is the training case.
    doc = yaml.safe_load(dvc_yaml(load_params(REPO / "params.yaml")))["stages"]
    assert _reruns(doc, "stages.train_video.train.epochs") == [
        "train_video", "evaluate", "evaluate_metadata", "export", "benchmark", "tune"]
    assert _reruns(doc, "stages.pretrain_parsing.epochs") == CHAIN[2:]
    assert _reruns(doc, "eval.max_rank") == ["evaluate", "evaluate_metadata"]


def test_deps_cover_the_code_each_stage_imports():
    deps = {s.name: code_deps(s.modules) for s in stage_graph(load_params(REPO / "params.yaml"))}
    for pkg in ("engine", "models", "data", "eval"):  # evaluate omitted these before
        assert f"src/vreid/{pkg}" in deps["evaluate"]
    assert "src/vreid/models" in deps["export"] and "src/vreid/export" in deps["export"]
    assert "src/vreid/pipeline/train.py" in deps["train_video"]
    assert "src/vreid/hpo" in deps["tune"]
    assert not any("tracking" in d or d.endswith("cli.py") for d in deps["evaluate"])


def test_a_table_without_a_parser_trains_none(tmp_path):
    p = load_params(_baseline_params(tmp_path))
    names = [s.name for s in stage_graph(p)]
    assert names == ["prepare", "validate", "baseline", "evaluate", "evaluate_metadata",
                     "export", "benchmark", "tune"]
    text = dvc_yaml(p)
    assert "pretrain_parsing:" not in text and "models/pretrain_parsing" not in text
    doc = yaml.safe_load(text)["stages"]
    assert doc["evaluate"]["deps"][0] == "models/baseline/model.pt"
    assert doc["tune"]["params"] == ["data.video", "stages.baseline", "tune"]


def test_validate_reads_every_configured_dataset():
    p = load_params(REPO / "params.yaml")
    validate = next(s for s in stage_graph(p) if s.name == "validate")
    assert validate.data == ("video", "image", "parsing", "egoreid", "ilids_vid", "prid2011")


def _baseline_params(tmp_path):
    path = write_tiny_params(tmp_path)
    params = yaml.safe_load(path.read_text())
    params["stages"] = BASELINE
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def test_leaderboard_has_its_own_dvc_yaml_outside_the_default_graph():
    from vreid.pipeline.graph import LEADERBOARD_DVC_YAML, leaderboard_dvc_yaml

    p = load_params(REPO / "params.yaml")
    text = leaderboard_dvc_yaml(p)
    assert (REPO / LEADERBOARD_DVC_YAML).read_text() == text, "run `vreid dvc-yaml --leaderboard`"
    stage = yaml.safe_load(text)["stages"]["leaderboard"]
    assert stage["wdir"] == ".." and stage["cmd"] == "vreid leaderboard"
    assert "configs/leaderboard" in stage["deps"] and "models/finetune_image/model.pt" in \
        stage["deps"]
    assert "models/train_video/model.pt" not in stage["deps"]  # no entry starts from it
    assert "leaderboard" in stage["params"] and "src/vreid/hpo" in stage["deps"]  # Ray jobs
    assert "leaderboard" not in yaml.safe_load(dvc_yaml(p))["stages"]  # not in `make run`


def test_code_deps_are_relative_to_the_working_folder(tmp_path, monkeypatch):
    from vreid.pipeline.graph import source_dir

    assert source_dir(REPO) == "src/vreid" and source_dir(REPO / "configs") == "../src/vreid"
    assert source_dir(tmp_path) == "src/vreid"  # no src/vreid above: the repository's name
    profile = REPO / "configs" / "leaderboard"
    monkeypatch.chdir(profile)  # a profile folder two levels down, with its own dvc.yaml
    deps = code_deps(("vreid.pipeline.evaluate",))
    assert deps and all(d.startswith("../../src/vreid/") and (profile / d).exists() for d in deps)


def test_benchmark_profile_has_current_dvc_yamls_and_the_power_calculations_size(monkeypatch):
    from vreid.pipeline.graph import LEADERBOARD_DVC_YAML, leaderboard_dvc_yaml

    profile = REPO / "benchmark"
    monkeypatch.chdir(profile)  # deps resolve from the profile's folder (../src/vreid)
    p = load_params(profile / "params.yaml")
    assert (profile / "dvc.yaml").read_text() == dvc_yaml(p), "cd benchmark; vreid dvc-yaml"
    assert (profile / LEADERBOARD_DVC_YAML).read_text() == leaderboard_dvc_yaml(p), \
        "cd benchmark; vreid dvc-yaml --leaderboard"
    lb = yaml.safe_load((profile / LEADERBOARD_DVC_YAML).read_text())["stages"]["leaderboard"]
    assert "../configs/leaderboard" in lb["deps"]  # the root's entries, seen from benchmark/
    assert p.synth.video.num_test_ids >= 1150 and p.synth.video.num_train_ids >= 300
    assert p.runtime.frame_memo_mb > 0 and p.stages["train_video"].input.pad == 0
