"""Tiny params and one prepared tiny dataset, shared by the pipeline, tracking and flow tests."""

from pathlib import Path

import pytest
import yaml

from vreid.config import load_params

_PARSER = {"backbone": "resnet", "depth": 18, "aspp_rates": [1, 2], "aspp_channels": 8}
# params.yaml's frame-stage losses: one classifier per region (+ the CPU profile's triplet)
_FRAME_LOSSES = [{"name": "region_cross_entropy", "kwargs": {"label_smoothing": 0.1}},
                 {"name": "triplet", "kwargs": {"margin": 0.3}}]
_TRAIN = {"epochs": 2, "ids_per_batch": 3, "instances_per_id": 2, "iters_per_epoch": 2,
          "warmup_epochs": 1, "milestones": [1]}


def _stage(name, data, init_from, extra, clip_len=2, losses=None):
    kwargs = {"parser": _PARSER, "parser_size": [64, 32], **extra}
    train = dict(_TRAIN, **({"losses": losses} if losses else {}))
    return {"data": data, "init_from": init_from, "model": {"name": name, "kwargs": kwargs},
            "input": {"height": 32, "width": 16, "clip_len": clip_len}, "train": train}


TINY = {
    "data": {
        "synthetic_root": "data/synthetic",
        "video": {"name": "mars", "root": "data/synthetic/mars"},
        "image": {"name": "market1501", "root": "data/synthetic/market1501"},
        "parsing": {"name": "lip", "root": "data/synthetic/lip"},
        "egoreid": {"name": "egoreid", "root": "data/synthetic/egoreid"},
    },
    "synth": {
        "seed": 0,
        "render": {"height": 64, "width": 32},
        "video": {"num_train_ids": 6, "num_test_ids": 6, "num_cams": 3, "cams_per_id": [2, 3],
                  "frames": [3, 6], "num_distractors": 2, "num_junk": 1},
        "image": {"num_train_ids": 4, "num_test_ids": 4, "num_cams": 3, "cams_per_id": [2, 2],
                  "images_per_cam": [2, 2], "num_distractors": 2, "num_junk": 1},
        "parsing": {"num_train": 4, "num_val": 2, "height": [64, 64], "width": [32, 32]},
        "egoreid": {"num_pedestrians": 40, "duration_s": 120.0, "walkway_length_m": 100.0,
                    "frames": [16, 17]},
    },
    "runtime": {"device": "cpu", "threads": 1},
    "stages": {
        "pretrain_parsing": {"kind": "parsing", "data": "parsing", "model": _PARSER,
                             "height": 64, "width": 32, "epochs": 1, "batch_size": 2,
                             "milestones": [1]},
        "pretrain_image": _stage("egoreid_frame", "image",
                                 {"parser_checkpoint": "pretrain_parsing"}, {}, clip_len=1,
                                 losses=_FRAME_LOSSES),
        "finetune_image": _stage("egoreid_frame", "video",
                                 {"parser_checkpoint": "pretrain_parsing",
                                  "extractor_checkpoint": "pretrain_image"}, {}, clip_len=1,
                                 losses=_FRAME_LOSSES),
        "train_video": _stage("egoreid", "video",
                              {"parser_checkpoint": "pretrain_parsing",
                               "extractor_checkpoint": "finetune_image"}, {"channels": 16},
                              losses=[{"name": "region_cross_entropy"}]),
    },
    "eval": {"batch_size": 16, "max_rank": 20},
    "tracking": {"experiment": "vreid-test"},
    "export": {"opset": 18},
    "metadata": {"range_m": 30.0},  # a section DVC's params dep can find
    "benchmark": {"batch_sizes": [1, 2], "warmup": 0, "iterations": 1},
    # 2 trials x 1 epoch x 1 iteration over train_video, 2 of the 6 training ids held out
    "tune": {"space": [{"path": "train.lr", "kind": "loguniform", "low": 1.0e-4, "high": 3.0e-3},
                       {"path": "train.weight_decay", "kind": "uniform", "low": 0.0,
                        "high": 1.0e-3}],
             "num_samples": 2, "epochs": 1, "iters_per_epoch": 1, "holdout_ids": 2},
}


def write_tiny_params(directory: Path, **overrides) -> Path:
    """TINY with sections updated by `overrides` (`stages=` updates whole table entries;
    a scalar, e.g. `model_stage=`, replaces the value)."""
    params = {k: (dict(v) if isinstance(v, dict) else v) for k, v in TINY.items()}
    for section, values in overrides.items():
        params[section] = ({**params.get(section, {}), **values} if isinstance(values, dict)
                           else values)
    path = Path(directory) / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """A working directory with tiny params and the embedded data written once."""
    from vreid.pipeline.prepare import prepare

    work = tmp_path_factory.mktemp("work")
    params_path = write_tiny_params(work)
    cwd = Path.cwd()
    try:
        import os
        os.chdir(work)
        prepare(load_params(params_path))
    finally:
        os.chdir(cwd)
    return work


@pytest.fixture
def in_prepared(prepared, monkeypatch):
    monkeypatch.chdir(prepared)
    return prepared


@pytest.fixture(scope="session")
def tiny_params_writer():
    return write_tiny_params


@pytest.fixture(scope="session")
def chain_models(prepared):
    """The tiny chain's parser and image models (pretrain + fine-tune), trained once."""
    import os

    from vreid.pipeline.stages import train_stage

    cwd = Path.cwd()
    os.chdir(prepared)
    try:
        p = load_params("params.yaml")
        for stage in ("pretrain_parsing", "pretrain_image", "finetune_image"):
            train_stage(p, stage)
    finally:
        os.chdir(cwd)
    return prepared


class _PlantedPickle:
    """Creates its marker file when unpickled: a weights-only load must refuse it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def planted(tmp_path):
    """(marker path, an object whose unpickling would create the marker)."""
    marker = tmp_path / "ran"
    return marker, _PlantedPickle(marker)
