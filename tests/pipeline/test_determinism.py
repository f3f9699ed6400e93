"""Issue 12 item 1: same params and seed give bit-identical models and metrics on CPU,
training included. The tiny chain (parser on LIP, frame model, video model) is trained
twice from scratch in separate folders (resume off, num_workers 0) and evaluated."""

import dataclasses
import os
from pathlib import Path

import torch

from vreid.config import load_params
from vreid.pipeline.common import load_checkpoint
from vreid.pipeline.evaluate import evaluate
from vreid.pipeline.stages import train_stage

from ..conftest import write_tiny_params

CHAIN = ("pretrain_parsing", "pretrain_image", "train_video")


def _run_chain(prepared: Path, run_dir: Path) -> tuple[dict, dict, dict]:
    """Train CHAIN in `run_dir` (the prepared data linked in), evaluate the video model."""
    run_dir.mkdir()
    (run_dir / "data").symlink_to(prepared / "data", target_is_directory=True)
    params = load_params(write_tiny_params(run_dir, model_stage="train_video"))
    video = params.stages["train_video"]  # skip fine-tuning: start from the image model
    video = dataclasses.replace(video, init_from={**video.init_from,
                                                  "extractor_checkpoint": "pretrain_image"})
    params = dataclasses.replace(params, stages={**params.stages, "train_video": video})
    cwd = Path.cwd()
    os.chdir(run_dir)
    try:
        final = {name: train_stage(params, name, resume=False).final_metrics for name in CHAIN}
        states = {name: load_checkpoint(f"models/{name}/model.pt")["state_dict"]
                  for name in CHAIN}
        metrics = evaluate(params, "models/train_video/model.pt", "reports").metrics
    finally:
        os.chdir(cwd)
    return final, states, metrics


def test_two_runs_from_scratch_are_bit_identical(prepared, tmp_path):
    assert load_params(prepared / "params.yaml").runtime.num_workers == 0
    final_a, states_a, metrics_a = _run_chain(prepared, tmp_path / "a")
    final_b, states_b, metrics_b = _run_chain(prepared, tmp_path / "b")
    assert final_a == final_b  # training losses, accuracy, lr of the last epoch, exactly
    for name in CHAIN:
        a, b = states_a[name], states_b[name]
        assert list(a) == list(b), name
        differ = [k for k in a if not torch.equal(a[k], b[k])]
        assert not differ, f"{name}: {differ}"
    assert metrics_a == metrics_b  # plain, re-ranked and untrained-twin metrics, exactly
    assert {"rank1", "mAP", "rr_rank1", "untrained_rank1"} <= set(metrics_a)
