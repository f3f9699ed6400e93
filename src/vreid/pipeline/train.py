"""The video training stage: one function shared by the CLI/DVC, Prefect and Ray Tune."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch.utils.data import DataLoader

from ..config import Params, to_flat_dict
from ..data.clip_dataset import TrainClips
from ..data.sampling import IdentitySampler
from ..data.transforms import build_transform
from ..engine import CheckpointHook, Hook, MetricLogger, MetricsHook, NullLogger, Trainer
from ..engine.schedule import warmup_multistep
from ..losses import build_losses
from ..models import build_model
from .common import read_configured, resolve_device, save_model, set_threads


@dataclass
class TrainOutput:
    model_path: Path
    epochs_run: int
    resumed_from_epoch: int
    final_metrics: dict[str, float]


def build_optimizer(params: Params, model: torch.nn.Module) -> torch.optim.Optimizer:
    t = params.train
    trainable = [p for p in model.parameters() if p.requires_grad]
    if t.optimizer == "adam":
        return torch.optim.Adam(trainable, lr=t.lr, weight_decay=t.weight_decay)
    if t.optimizer == "sgd":
        return torch.optim.SGD(trainable, lr=t.lr, momentum=t.momentum,
                               weight_decay=t.weight_decay, nesterov=True)
    raise ValueError(f"train.optimizer must be 'adam' or 'sgd', got {t.optimizer!r}")


def train_video(
    params: Params,
    out_dir: str | Path = "models/video",
    checkpoint_dir: str | Path = "checkpoints/video",
    logger: MetricLogger | None = None,
    hooks: Sequence[Hook] = (),
    resume: bool = True,
) -> TrainOutput:
    """Train the configured model on the configured video set's train split.

    Checkpoints each epoch into `checkpoint_dir` and resumes from the last one there
    (a run killed mid-way continues where it stopped); writes `out_dir/model.pt`
    atomically at the end, so a failed run leaves the previous model in place.
    """
    t, inp = params.train, params.input
    set_threads(t.threads)
    torch.manual_seed(t.seed)
    logger = logger or NullLogger()
    index = read_configured(params.data.video)
    transform = build_transform(inp.height, inp.width, train=True, flip=inp.flip, pad=inp.pad,
                                random_erasing=inp.random_erasing)
    dataset = TrainClips(index.train, inp.clip_len, inp.train_sampling, transform, seed=t.seed)
    sampler = IdentitySampler(dataset.labels, t.ids_per_batch, t.instances_per_id,
                              num_batches=t.iters_per_epoch, seed=t.seed)
    loader = DataLoader(dataset, batch_size=t.ids_per_batch * t.instances_per_id,
                        sampler=sampler, num_workers=t.num_workers, drop_last=True)
    num_classes = len(dataset.pid_to_label)
    model = build_model(params.model.name, num_classes=num_classes, **params.model.kwargs)
    optimizer = build_optimizer(params, model)
    scheduler = warmup_multistep(optimizer, t.warmup_epochs, t.warmup_factor, t.milestones,
                                 t.gamma)
    checkpoints = CheckpointHook(checkpoint_dir, resume=resume, fingerprint=run_fingerprint(params))
    trainer = Trainer(model, build_losses(t.losses), optimizer, scheduler, loader,
                      device=resolve_device(t.device), amp=t.amp, seed=t.seed,
                      hooks=[checkpoints, MetricsHook(logger), *hooks])
    result = trainer.fit(t.epochs)
    model_path = Path(out_dir) / "model.pt"
    save_model(model_path, model.cpu(), params.model, num_classes, inp)
    final = result.history[-1] if result.history else {}
    return TrainOutput(model_path, result.epochs_run, result.start_epoch, final)


# Settings that change where checkpoints come from; threads/device/epochs do not.
_NOT_IN_FINGERPRINT = {"train.threads", "train.num_workers", "train.device", "train.epochs"}


def run_fingerprint(params: Params) -> str:
    flat = {f"{section}.{k}": v
            for section in ("data", "model", "input", "train")
            for k, v in to_flat_dict(getattr(params, section)).items()}
    kept = {k: v for k, v in flat.items() if k not in _NOT_IN_FINGERPRINT}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:16]
