import dataclasses
import json

import torch

from vreid.config import DatasetRef, ModelConfig, StageConfig, TrainConfig, load_params
from vreid.pipeline.common import load_model
from vreid.pipeline.evaluate import evaluate
from vreid.pipeline.train import run_fingerprint, train_reid


def baseline_params():
    """The tiny params with the video stage swapped for the ResNet + TAP baseline."""
    p = load_params("params.yaml")
    video = p.stages["train_video"]
    train = dataclasses.replace(video.train, losses=TrainConfig().losses)
    stage = dataclasses.replace(video, model=ModelConfig("resnet_tap", {"depth": 18}),
                                train=train, init_from={})
    return dataclasses.replace(p, stages={**p.stages, "train_video": stage})


def test_train_then_evaluate_writes_model_and_metrics(in_prepared, tmp_path):
    p = baseline_params()
    stage = p.stages["train_video"]
    out = train_reid(stage, p.data.video, p.runtime, tmp_path / "model", tmp_path / "ckpt")
    assert out.model_path.is_file() and out.epochs_run == 2
    model, saved = load_model(out.model_path)
    assert saved["input"]["clip_len"] == 2
    assert model.eval()(torch.zeros(1, 2, 3, 32, 16)).shape == (1, 512)
    ev = evaluate(p, out.model_path, tmp_path / "reports")
    metrics = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    for key in ("rank1", "rank5", "rank10", "rank20", "mAP", "mINP", "untrained_rank1",
                "rr_rank1", "rr_rank5", "rr_rank10", "rr_rank20", "rr_mAP", "rr_mINP"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["rank1"] <= metrics["rank5"] <= metrics["rank10"] <= metrics["rank20"]
    rows = (tmp_path / "reports" / "cmc.csv").read_text().splitlines()
    assert rows[0] == "rank,cmc,untrained_cmc" and len(rows) == 1 + len(ev.cmc)

    # Run again with the same settings: everything resumes from the last checkpoint.
    again = train_reid(stage, p.data.video, p.runtime, tmp_path / "model",
                       tmp_path / "ckpt")
    assert again.epochs_run == 0 and again.resumed_from_epoch == 2


def test_fingerprint_ignores_epochs_but_not_lr(in_prepared):
    stage = baseline_params().stages["train_video"]
    ref = load_params("params.yaml").data.video
    more = dataclasses.replace(stage, train=dataclasses.replace(stage.train, epochs=7))
    lr = dataclasses.replace(stage, train=dataclasses.replace(stage.train, lr=0.5))
    assert run_fingerprint(stage, ref) == run_fingerprint(more, ref) != run_fingerprint(lr, ref)


def test_fingerprint_follows_upstream_model_files(tmp_path):
    upstream = tmp_path / "parser.pt"
    upstream.write_bytes(b"first")
    stage = StageConfig(model=ModelConfig("egoreid", {"parser_checkpoint": str(upstream)}))
    ref = DatasetRef("mars", "data")
    before = run_fingerprint(stage, ref)
    upstream.write_bytes(b"retrained")
    assert run_fingerprint(stage, ref) != before
