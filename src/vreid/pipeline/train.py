"""Re-ID training stages (image pretraining, image fine-tuning, video training).

One function, `train_reid`, shared by the CLI/DVC, Prefect and Ray Tune; a stage is a
`StageConfig` (model, input, train) plus the dataset it trains on. An image stage is
the clip_len=1 case: each item is one frame (a random frame of a tracklet for video
sets, the image itself for image sets).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch
from torch.utils.data import DataLoader

from ..config import DatasetRef, RuntimeConfig, StageConfig, TrainConfig
from ..data.clip_dataset import TrainClips, relabel
from ..data.sampling import IdentitySampler, ShuffleSampler
from ..data.transforms import FrameErasing, build_transform
from ..engine import (CheckpointHook, FreezeHook, Hook, KMeansInitHook, MetricLogger,
                      MetricsHook, NullLogger, Trainer)
from ..engine.schedule import make_optimizers, warmup_multistep
from ..engine.scoring import model_clip_len
from ..losses import CompositeLoss, build_losses
from ..models import build_model
from .common import (apply_runtime, clip_corruption, read_configured, refuse_untrained_overwrite,
                     resolve_device, save_model)
from .fingerprint import fingerprint, upstream_files
from .timing import record_timing, stage_timing


@dataclass
class TrainOutput:
    model_path: Path
    epochs_run: int
    resumed_from_epoch: int
    final_metrics: dict[str, float]
    timing: dict[str, float] = field(default_factory=dict)  # `timing.stage_timing`


def build_optimizers(t: TrainConfig, model: torch.nn.Module, criterion: CompositeLoss
                     ) -> tuple[torch.optim.Optimizer, dict[str, torch.optim.Optimizer]]:
    """The model's trainable parameters first (one group), then the losses' (see
    `engine.schedule.make_optimizers`)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    return make_optimizers(t.optimizer, trainable, criterion, t.lr, t.weight_decay, t.momentum,
                           t.adam_eps)


def batch_sampler(t: TrainConfig, labels: Sequence[int], criterion: CompositeLoss
                  ) -> IdentitySampler | ShuffleSampler:
    """`t.sampler` (auto: PK batches only when a loss mines pairs inside the batch)."""
    identity = t.sampler == "identity" or (t.sampler == "auto" and criterion.needs_identity_batches)
    if identity:
        return IdentitySampler(labels, t.ids_per_batch, t.instances_per_id,
                               num_batches=t.iters_per_epoch, seed=t.seed)
    return ShuffleSampler(len(labels), t.ids_per_batch * t.instances_per_id,
                          num_batches=t.iters_per_epoch, seed=t.seed)


def two_step_hooks(t: TrainConfig) -> list[Hook]:
    """Paper 003's two-step training (sec. III-C) as hooks: k-means centres at the start of
    a fresh run (`train.kmeans_init`), then the `train.freeze` parameters fixed for its
    first epochs. Run after the checkpoint hook, which decides whether the run resumes."""
    hooks: list[Hook] = []
    if t.kmeans_init.enabled:
        hooks.append(KMeansInitHook(t.kmeans_init.batches, t.kmeans_init.iterations, t.seed))
    if bool(t.freeze.epochs) != bool(t.freeze.params):
        raise ValueError(f"train.freeze: give both params and epochs, got params "
                         f"{list(t.freeze.params)} and epochs {t.freeze.epochs}")
    if t.freeze.epochs:
        hooks.append(FreezeHook(t.freeze.params, t.freeze.epochs))
    return hooks


def run_fingerprint(stage: StageConfig, dataset: DatasetRef) -> str:
    """Settings that change what a checkpoint holds; epochs does not (more epochs resume)."""
    train = dataclasses.replace(stage.train, epochs=0)
    return fingerprint(stage.model, stage.input, train, dataset,
                       upstream_files(stage.model.kwargs))


def train_reid(
    stage: StageConfig,
    dataset: DatasetRef,
    runtime: RuntimeConfig = RuntimeConfig(),
    out_dir: str | Path = "models/video",
    checkpoint_dir: str | Path = "checkpoints/video",
    logger: MetricLogger | None = None,
    hooks: Sequence[Hook] = (),
    resume: bool = True,
    timing_path: str | Path | None = None,
) -> TrainOutput:
    """Train `stage.model` on the train split of `dataset`.

    Checkpoints each epoch into `checkpoint_dir` and resumes from the last one there
    when its fingerprint matches (a run killed mid-way continues where it stopped);
    writes `out_dir/model.pt` atomically at the end, so a failed run leaves the
    previous model in place. Wall time and clips/s, frames/s over the training loop
    are logged (`timing/*`) and, with `timing_path`, written there.
    """
    started = time.perf_counter()
    t, inp = stage.train, stage.input
    refuse_untrained_overwrite(Path(out_dir) / "model.pt", t.epochs, "train.epochs")
    apply_runtime(runtime)
    torch.manual_seed(t.seed)
    logger = logger or NullLogger()
    index = read_configured(dataset)
    erasing = inp.random_erasing
    transform = build_transform(inp.height, inp.width, train=True, flip=inp.flip, pad=inp.pad,
                                random_erasing=0.0 if erasing.per_frame else erasing.p,
                                erasing_scale=erasing.scale, erasing_ratio=erasing.ratio,
                                erasing_value=erasing.value)
    per_frame = (FrameErasing(erasing.p, erasing.scale, erasing.ratio, erasing.value)
                 if erasing.per_frame else None)
    num_classes = len(relabel(index.train))
    model = build_model(stage.model.name, num_classes=num_classes, **stage.model.kwargs)
    # paper 002's corruption counts the clips the model embeds (its L, not M * L)
    corruption = clip_corruption(inp, model_clip_len(model, inp.clip_len))
    clips = TrainClips(index.train, inp.clip_len, inp.train_sampling, transform, seed=t.seed,
                       erasing=per_frame, corruption=corruption)
    criterion = build_losses(t.losses, num_classes=num_classes,  # after the model: RNG order
                             feature_dim=getattr(model, "embedding_dim", None))
    sampler = batch_sampler(t, clips.labels, criterion)
    loader = DataLoader(clips, batch_size=t.ids_per_batch * t.instances_per_id,
                        sampler=sampler, num_workers=runtime.num_workers, drop_last=True)
    optimizer, loss_optimizers = build_optimizers(t, model, criterion)
    scheduler = warmup_multistep(optimizer, t.warmup_epochs, t.warmup_factor, t.milestones,
                                 t.gamma)
    checkpoints = CheckpointHook(checkpoint_dir, resume=resume,
                                 fingerprint=run_fingerprint(stage, dataset))
    trainer = Trainer(model, criterion, optimizer, scheduler, loader,
                      loss_optimizers=loss_optimizers,
                      device=resolve_device(runtime.device), amp=runtime.amp, seed=t.seed,
                      hooks=[checkpoints, *two_step_hooks(t), MetricsHook(logger), *hooks])
    result = trainer.fit(t.epochs)
    model_path = Path(out_dir) / "model.pt"
    save_model(model_path, model.cpu(), stage.model, num_classes, inp)
    timing = stage_timing(time.perf_counter() - started, result.throughput, "clips")
    record_timing(timing, logger, timing_path)
    final = result.history[-1] if result.history else {}
    return TrainOutput(model_path, result.epochs_run, result.start_epoch, final, timing)
