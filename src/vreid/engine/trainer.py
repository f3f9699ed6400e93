"""One training loop for every model: image or video is only the clip length."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from .hooks import Hook
from .timing import Throughput, count_clips


@dataclass
class TrainResult:
    epochs_run: int
    start_epoch: int
    history: list[dict[str, float]] = field(default_factory=list)
    # the epochs run by this call: batches only (epoch-end hooks, e.g. checkpoints and
    # validation, are not timed), clips and frames trained on
    throughput: Throughput = Throughput()


class Trainer:
    """Runs epochs over a loader of batch dicts; side effects live in hooks.

    A batch is a dict (`clips`, `labels`, `camids`, plus whatever the dataset adds); every
    tensor in it is moved to the device, the model gets `batch[input_key]`, the criterion
    `(outputs, batch)`. The criterion is part of the trained module tree: it moves to the
    device with the model and its trainable parameters must be in `optimizer` or in one of
    `loss_optimizers` (see `schedule.make_optimizers`), which are stepped every step too.

    Determinism: the global torch RNG is reseeded at each epoch start from (seed, epoch),
    and the sampler / dataset get `set_epoch`, so a run resumed at epoch e draws the same
    batches and augmentations as an uninterrupted one.
    """

    def __init__(
        self,
        model: nn.Module,
        criterion: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        loader: DataLoader,
        *,
        loss_optimizers: Mapping[str, torch.optim.Optimizer] | None = None,
        input_key: str = "clips",
        device: torch.device | str = "cpu",
        amp: bool = False,
        seed: int = 0,
        hooks: Sequence[Hook] = (),
    ) -> None:
        self.model, self.criterion = model, criterion
        self.optimizer, self.scheduler, self.loader = optimizer, scheduler, loader
        self.loss_optimizers = dict(loss_optimizers or {})
        self.optimizers = [optimizer, *self.loss_optimizers.values()]
        self.input_key = input_key
        optimized = {id(p) for opt in self.optimizers for g in opt.param_groups for p in g["params"]}
        orphans = [n for n, p in criterion.named_parameters()
                   if p.requires_grad and id(p) not in optimized]
        if orphans:
            raise ValueError(f"loss parameters {orphans} are in no optimizer; build the "
                             f"optimizers with engine.schedule.make_optimizers")
        self.device = torch.device(device)
        self.amp = amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.seed = seed
        self.hooks = list(hooks)
        self.start_epoch = 0
        self.seen = Throughput()  # clips and frames of the last train_epoch (seconds: fit's)

    def set_epoch(self, epoch: int) -> None:
        """Reseed the global torch RNG and the loader's sampler / dataset for `epoch`."""
        torch.manual_seed(self.seed * 1_000_003 + epoch)
        for part in (getattr(self.loader, "sampler", None), getattr(self.loader, "dataset", None),
                     getattr(self.loader, "batch_sampler", None)):
            if hasattr(part, "set_epoch"):
                part.set_epoch(epoch)

    def to_device(self, batch: Any) -> dict[str, Any]:
        if not isinstance(batch, Mapping):
            raise TypeError(f"the training loader must yield dict batches, got {type(batch).__name__}")
        if self.input_key not in batch:
            raise KeyError(f"the batch has no {self.input_key!r} (the model input); "
                           f"it has {sorted(batch)}")
        return {k: v.to(self.device) if isinstance(v, torch.Tensor) else v
                for k, v in batch.items()}

    def train_epoch(self, epoch: int) -> dict[str, float]:
        self.model.train()
        self.criterion.train()
        sums: dict[str, float] = defaultdict(float)
        correct = seen = steps = clips = frames = 0
        for batch in self.loader:
            batch = self.to_device(batch)
            n_clips, n_frames = count_clips(batch[self.input_key])
            clips, frames = clips + n_clips, frames + n_frames
            with torch.autocast(self.device.type, enabled=self.amp):
                outputs = self.model(batch[self.input_key])
                terms = self.criterion(outputs, batch)
            for optimizer in self.optimizers:
                optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(terms["total"]).backward()
            for optimizer in self.optimizers:
                self.scaler.step(optimizer)
            self.scaler.update()
            values = {k: float(v.detach()) for k, v in terms.items()}
            for k, v in values.items():
                sums[k] += v
            if "logits" in outputs:
                correct += int((outputs["logits"].argmax(1) == batch["labels"]).sum())
                seen += len(batch["labels"])
            steps += 1
            for hook in self.hooks:
                hook.on_step_end(self, steps, values)
        if steps == 0:
            raise RuntimeError("the training loader yielded no batch")
        metrics = {f"loss_{k}": v / steps for k, v in sums.items()}
        if seen:
            metrics["accuracy"] = correct / seen
        metrics["lr"] = self.optimizer.param_groups[0]["lr"]
        self.seen = Throughput(0.0, clips, frames)
        return metrics

    def fit(self, epochs: int) -> TrainResult:
        self.model.to(self.device)
        self.criterion.to(self.device)
        for hook in self.hooks:
            hook.on_train_start(self)
        result = TrainResult(epochs_run=0, start_epoch=self.start_epoch)
        for epoch in range(self.start_epoch, epochs):
            self.set_epoch(epoch)
            for hook in self.hooks:
                hook.on_epoch_start(self, epoch)
            started = time.perf_counter()
            metrics = self.train_epoch(epoch)
            result.throughput += Throughput(time.perf_counter() - started, self.seen.items,
                                            self.seen.frames)
            self.scheduler.step()
            result.history.append(metrics)
            result.epochs_run += 1
            for hook in self.hooks:
                hook.on_epoch_end(self, epoch, metrics)
        for hook in self.hooks:
            hook.on_train_end(self)
        return result
