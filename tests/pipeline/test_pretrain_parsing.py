"""The parser stage: writes its files, resumes, and LEARNS on a tiny synthetic LIP set."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from vreid.config import DatasetRef, ParsingTrainConfig, RuntimeConfig
from vreid.data.regions import LIP_CLASSES
from vreid.data.synth import Difficulty, ParsingSetConfig, RenderConfig, write_lip
from vreid.pipeline.common import load_model
from vreid.pipeline.pretrain_parsing import parsing_fingerprint, pretrain_parsing

CPU1 = RuntimeConfig(device="cpu", threads=1)


class RecordingLogger:
    """A MetricLogger that keeps the last value of each metric."""

    def __init__(self):
        self.metrics = {}

    def log_params(self, params):
        pass

    def log_metrics(self, metrics, step=None):
        self.metrics.update(metrics)

    def log_artifact(self, path):
        pass


TINY_MODEL = {"backbone": "resnet", "depth": 18, "aspp_rates": [1, 2, 3], "aspp_channels": 32}
# A clean set (no clutter, noise, blur, occluders) so a few CPU epochs visibly learn.
CLEAN = Difficulty(clutter=0, noise=0, blur_prob=0, low_res_prob=0, occlusion_prob=0,
                   truncation_prob=0, misalign=0, color_cast=0.05, illumination=0.1)


def chance_miou(conf_gt_counts: np.ndarray) -> float:
    """Best of two chance parsers on the val labels: all-majority and uniform-random."""
    n = conf_gt_counts.astype(float)
    total, present = n.sum(), n > 0
    majority = n.max() / total / present.sum()  # IoU of the majority class, others 0
    k = len(n)
    tp = n / k
    uniform = float(np.mean(tp / (n + total / k - tp)))  # every class is predicted
    return max(majority, uniform)


def val_label_counts(root) -> np.ndarray:
    from PIL import Image
    counts = np.zeros(20, np.int64)
    for path in (root / "TrainVal_parsing_annotations" / "val_segmentations").glob("*.png"):
        counts += np.bincount(np.asarray(Image.open(path)).ravel(), minlength=20)[:20]
    return counts


def test_tiny_pretraining_writes_model_and_metrics(tmp_path):
    root = tmp_path / "lip"
    write_lip(root, ParsingSetConfig(num_train=4, num_val=2, height=(64, 64), width=(32, 32)),
              RenderConfig(), Difficulty(), seed=0)
    cfg = ParsingTrainConfig(model=TINY_MODEL, height=64, width=32, epochs=2, batch_size=2,
                             warmup_epochs=1, milestones=(1,))
    ref = DatasetRef("lip", str(root))
    kwargs = dict(runtime=CPU1, out_dir=tmp_path / "models", checkpoint_dir=tmp_path / "ckpt",
                  metrics_path=tmp_path / "reports" / "parsing_metrics.json")
    logger = RecordingLogger()
    out = pretrain_parsing(cfg, ref, logger=logger, **kwargs)
    assert out.epochs_run == 2 and out.model_path.is_file()
    metrics = json.loads(out.metrics_path.read_text())
    assert set(metrics) >= {"pixel_acc", "mean_acc", "mIoU", "per_class_iou"}
    # per-class IoU: every LIP class by name (null: absent); the mean is over the others
    per_class = metrics["per_class_iou"]
    assert set(per_class) == set(LIP_CLASSES)
    scored = {k: v for k, v in per_class.items() if v is not None}
    assert "Background" in scored and all(0.0 <= v <= 1.0 for v in scored.values())
    assert metrics["mIoU"] == pytest.approx(np.mean(list(scored.values())))
    logged = {k.removeprefix("parsing/val/iou/"): v for k, v in logger.metrics.items()
              if k.startswith("parsing/val/iou/")}
    assert logged == pytest.approx(scored)
    model, state = load_model(out.model_path)
    assert state["model_name"] == "parsing_net" and state["input"]["height"] == 64
    assert model.eval()(torch.randn(1, 3, 64, 32)).shape == (1, 20, 64, 32)

    again = pretrain_parsing(cfg, ref, **kwargs)  # every epoch checkpointed: nothing to run
    assert again.epochs_run == 0 and again.resumed_from_epoch == 2
    assert again.mean_iou == pytest.approx(out.mean_iou)
    assert parsing_fingerprint(replace(cfg, epochs=9), ref) == parsing_fingerprint(cfg, ref)
    assert parsing_fingerprint(replace(cfg, lr=0.1), ref) != parsing_fingerprint(cfg, ref)


def test_parser_learns_above_chance(tmp_path):
    root = tmp_path / "lip"
    write_lip(root, ParsingSetConfig(num_train=48, num_val=16, height=(96, 96), width=(48, 48)),
              RenderConfig(), CLEAN, seed=0)
    # the tiny defaults: Adam lr 0.003 (x3 for ASPP + classifier), 15 epochs, batch 8
    cfg = ParsingTrainConfig(height=96, width=48)
    out = pretrain_parsing(cfg, DatasetRef("lip", str(root)), CPU1, out_dir=tmp_path / "models",
                           checkpoint_dir=tmp_path / "ckpt",
                           metrics_path=tmp_path / "parsing_metrics.json")
    chance = chance_miou(val_label_counts(root))
    assert out.mean_iou > 2.5 * chance, (out.mean_iou, chance)
    majority_acc = val_label_counts(root).max() / val_label_counts(root).sum()
    assert out.pixel_acc > majority_acc + 0.03, (out.pixel_acc, majority_acc)
