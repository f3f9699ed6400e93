"""Pre-training of the human parser on LIP (paper 000, sec. 4.2 and appendix D).

One stage function shared by every front door. The paper trains Inception-V3 + ASPP
on LIP at 512x512, batch 8, Nesterov SGD, learning rate 0.01 for the trunk and 0.1
(x10) for ASPP and the classifier; the defaults below are the tiny CPU profile.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from torch.utils.data import DataLoader

from ..config import InputConfig, ModelConfig, ParsingTrainConfig, RuntimeConfig
from ..data.parsing_dataset import ParsingDataset, parsing_batch
from ..data.regions import LIP_CLASSES, NUM_LIP_CLASSES
from ..engine import CheckpointHook, Hook, MetricLogger, MetricsHook, NullLogger, Trainer
from ..engine.schedule import make_optimizer, warmup_multistep
from ..eval.segmentation import evaluate_segmentation
from ..losses import build_losses
from ..models import build_model
from .common import (atomic_write_json, read_configured, refuse_untrained_overwrite, resolve_device,
                     save_model, set_threads)
from .fingerprint import fingerprint
from .overlays import parsing_overlay
from .timing import record_timing, stage_timing

MODEL_NAME = "parsing_net"


@dataclass
class ParsingTrainOutput:
    model_path: Path
    metrics_path: Path
    epochs_run: int
    resumed_from_epoch: int
    final_metrics: dict[str, float]
    pixel_acc: float
    mean_acc: float
    mean_iou: float
    seconds: float
    timing: dict[str, float] = field(default_factory=dict)  # `timing.stage_timing`


def build_parsing_optimizer(cfg: ParsingTrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """Two parameter groups: trunk at `lr`, ASPP + classifier at `lr * head_lr_mult`."""
    groups = [{"params": [p for p in model.backbone.parameters() if p.requires_grad], "lr": cfg.lr},
              {"params": [p for p in model.head.parameters() if p.requires_grad],
               "lr": cfg.lr * cfg.head_lr_mult}]
    return make_optimizer(cfg.optimizer, groups, cfg.lr, cfg.weight_decay, cfg.momentum)


def parsing_fingerprint(cfg: ParsingTrainConfig, parsing_ref: Any) -> str:
    """What the checkpoints depend on: epochs and the eval batch size do not."""
    # a dict, not `replace`: eval_batch_size 0 is no valid setting (same digest)
    kept = {**asdict(cfg), "epochs": 0, "eval_batch_size": 0}
    return fingerprint(kept, {"name": parsing_ref.name, "root": str(parsing_ref.root)})


def pretrain_parsing(
    params_section: ParsingTrainConfig,
    parsing_ref: Any,
    runtime: RuntimeConfig = RuntimeConfig(),
    out_dir: str | Path = "models/parsing",
    checkpoint_dir: str | Path = "checkpoints/parsing",
    logger: MetricLogger | None = None,
    hooks: Sequence[Hook] = (),
    resume: bool = True,
    metrics_path: str | Path = "reports/parsing_metrics.json",
    overlay_path: str | Path | None = "reports/parsing_overlays.png",
    timing_path: str | Path | None = None,
) -> ParsingTrainOutput:
    """Train ParsingNet on the parsing set's train split, score it on its val split.

    `parsing_ref`: anything with `.name` (a reader, e.g. "lip") and `.root`.
    Checkpoints each epoch (resumed when the fingerprint matches); writes
    `out_dir/model.pt` (see `common.save_model`) and `metrics_path` atomically (pixel acc,
    mean acc, mIoU and `per_class_iou` keyed by LIP_CLASSES, null where a class is absent
    from labels and predictions; the logger gets `parsing/val/iou/<class>`). Wall time
    and images/s over the training loop (as clips/s and frames/s: an image is a one-frame
    clip) are logged (`timing/*`) and, with `timing_path`, written there.
    """
    cfg = params_section
    refuse_untrained_overwrite(Path(out_dir) / "model.pt", cfg.epochs, "epochs")
    started = time.perf_counter()
    set_threads(runtime.threads)
    torch.manual_seed(cfg.seed)
    logger = logger or NullLogger()
    index = read_configured(parsing_ref)
    if not index.train or not index.val:
        raise ValueError(f"parsing set {parsing_ref.root}: train and val must both be non-empty")
    train_set = ParsingDataset(index.train, cfg.height, cfg.width, train=True, flip=cfg.flip)
    loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True,
                        num_workers=runtime.num_workers, drop_last=len(train_set) > cfg.batch_size,
                        collate_fn=parsing_batch)
    model_cfg = ModelConfig(name=MODEL_NAME, kwargs=dict(cfg.model))
    model = build_model(MODEL_NAME, num_classes=NUM_LIP_CLASSES, **model_cfg.kwargs)
    optimizer = build_parsing_optimizer(cfg, model)
    scheduler = warmup_multistep(optimizer, cfg.warmup_epochs, cfg.warmup_factor, cfg.milestones,
                                 cfg.gamma)
    device = resolve_device(runtime.device)
    checkpoints = CheckpointHook(checkpoint_dir, resume=resume,
                                 fingerprint=parsing_fingerprint(cfg, parsing_ref))
    trainer = Trainer(model, build_losses([{"name": "pixel_cross_entropy"}]), optimizer, scheduler,
                      loader, input_key="images", device=device, seed=cfg.seed,
                      hooks=[checkpoints, MetricsHook(logger, prefix="parsing/train/"), *hooks])
    result = trainer.fit(cfg.epochs)

    val_loader = DataLoader(ParsingDataset(index.val, cfg.height, cfg.width, train=False),
                            batch_size=cfg.eval_batch_size, num_workers=runtime.num_workers)
    scores, _ = evaluate_segmentation(model, val_loader, NUM_LIP_CLASSES, device)
    scored = scores.to_dict(LIP_CLASSES)
    # per class too (issue 12): a mean can hide that the small parts region pooling
    # needs (arms, legs, shoes, face) score 0; classes absent from GT and prediction
    # have no IoU and are not logged
    per_class = {f"parsing/val/iou/{name}": iou for name, iou in scored["per_class_iou"].items()
                 if iou is not None}
    logger.log_metrics({"parsing/val/pixel_acc": scores.pixel_acc,
                        "parsing/val/mean_acc": scores.mean_acc,
                        "parsing/val/mIoU": scores.mean_iou, **per_class}, step=cfg.epochs)

    model_path = Path(out_dir) / "model.pt"
    save_model(model_path, model.cpu(), model_cfg, NUM_LIP_CLASSES,
               InputConfig(height=cfg.height, width=cfg.width, clip_len=1))
    metrics_path = Path(metrics_path)
    atomic_write_json(metrics_path, {**scored, "num_val_images": len(index.val)})
    logger.log_artifact(metrics_path)
    if overlay_path:
        logger.log_artifact(parsing_overlay(model, index.val, cfg.height, cfg.width, overlay_path))
    seconds = time.perf_counter() - started
    timing = stage_timing(seconds, result.throughput, "clips")
    record_timing(timing, logger, timing_path)
    final = result.history[-1] if result.history else {}
    return ParsingTrainOutput(model_path, metrics_path, result.epochs_run, result.start_epoch, final,
                              scores.pixel_acc, scores.mean_acc, scores.mean_iou, seconds,
                              timing)
