import dataclasses
import json

import pytest
import torch

from vreid.config import DatasetRef, LossTerm, ModelConfig, StageConfig, TrainConfig, load_params
from vreid.engine import latest_checkpoint, load_checkpoint
from vreid.losses import LOSSES
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
    out = train_reid(stage, p.data.video, p.runtime, tmp_path / "model", tmp_path / "ckpt",
                     timing_path=tmp_path / "timing" / "train_video.json")
    assert out.model_path.is_file() and out.epochs_run == 2
    timing = json.loads((tmp_path / "timing" / "train_video.json").read_text())
    assert timing == out.timing
    batch = stage.train.ids_per_batch * stage.train.instances_per_id
    assert timing["clips"] > 0 and timing["clips"] % batch == 0  # whole PK batches
    assert timing["frames"] == 2 * timing["clips"]  # clip_len 2
    assert timing["frames_per_s"] == pytest.approx(2 * timing["clips_per_s"])
    assert timing["wall_s"] >= timing["timed_s"] > 0 and timing["clips_per_s"] > 0
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
    assert again.timing["clips"] == 0 and again.timing["wall_s"] > 0


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


class Centres(torch.nn.Module):
    """Test-only stateful loss: class centres (parameter) and a step count (buffer)."""

    uses = "features"
    batch_keys = ("labels", "camids")

    def __init__(self, num_classes, dim):
        super().__init__()
        self.centres = torch.nn.Parameter(torch.zeros(num_classes, dim))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def forward(self, outputs, batch):
        self.steps += 1
        return (outputs[self.uses] - self.centres[batch["labels"]]).pow(2).sum(1).mean()


def test_train_reid_trains_and_checkpoints_a_loss_with_state(in_prepared, tmp_path, monkeypatch):
    monkeypatch.setitem(LOSSES._items, "centres", Centres)
    p = baseline_params()
    centres = LossTerm("centres", 0.01, {"dim": 512, "optimizer": {"kind": "sgd", "lr": 0.5,
                                                                    "momentum": 0.0}})
    video = p.stages["train_video"]
    train = dataclasses.replace(video.train, losses=(*video.train.losses, centres))
    stage = dataclasses.replace(video, train=train)
    out = train_reid(stage, p.data.video, p.runtime, tmp_path / "model", tmp_path / "ckpt")
    assert out.final_metrics["loss_centres"] > 0
    state = load_checkpoint(latest_checkpoint(tmp_path / "ckpt"))
    num_ids = 6  # the tiny MARS train split's identities reach the loss as num_classes
    assert state["criterion"]["terms.centres.centres"].shape == (num_ids, 512)
    assert state["criterion"]["terms.centres.centres"].abs().sum() > 0  # its own SGD ran
    assert int(state["criterion"]["terms.centres.steps"]) == 4  # 2 epochs x 2 iterations
    assert set(state["loss_optimizers"]) == {"centres"}
    again = train_reid(stage, p.data.video, p.runtime, tmp_path / "model", tmp_path / "ckpt")
    assert again.epochs_run == 0 and again.resumed_from_epoch == 2
