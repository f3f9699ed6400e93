"""One training loop for every model: image or video is only the clip length."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from .hooks import Hook


@dataclass
class TrainResult:
    epochs_run: int
    start_epoch: int
    history: list[dict[str, float]] = field(default_factory=list)


class Trainer:
    """Runs epochs over a loader of (clips, labels, camids); side effects live in hooks.

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
        device: torch.device | str = "cpu",
        amp: bool = False,
        seed: int = 0,
        hooks: Sequence[Hook] = (),
    ) -> None:
        self.model, self.criterion = model, criterion
        self.optimizer, self.scheduler, self.loader = optimizer, scheduler, loader
        self.device = torch.device(device)
        self.amp = amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.seed = seed
        self.hooks = list(hooks)
        self.start_epoch = 0

    def _set_epoch(self, epoch: int) -> None:
        torch.manual_seed(self.seed * 1_000_003 + epoch)
        for part in (getattr(self.loader, "sampler", None), getattr(self.loader, "dataset", None),
                     getattr(self.loader, "batch_sampler", None)):
            if hasattr(part, "set_epoch"):
                part.set_epoch(epoch)

    def train_epoch(self, epoch: int) -> dict[str, float]:
        self.model.train()
        sums: dict[str, float] = defaultdict(float)
        correct = seen = steps = 0
        for clips, labels, _camids in self.loader:
            clips, labels = clips.to(self.device), labels.to(self.device)
            with torch.autocast(self.device.type, enabled=self.amp):
                outputs = self.model(clips)
                terms = self.criterion(outputs, labels)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(terms["total"]).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            values = {k: float(v.detach()) for k, v in terms.items()}
            for k, v in values.items():
                sums[k] += v
            if "logits" in outputs:
                correct += int((outputs["logits"].argmax(1) == labels).sum())
                seen += len(labels)
            steps += 1
            for hook in self.hooks:
                hook.on_step_end(self, steps, values)
        if steps == 0:
            raise RuntimeError("the training loader yielded no batch")
        metrics = {f"loss_{k}": v / steps for k, v in sums.items()}
        if seen:
            metrics["accuracy"] = correct / seen
        metrics["lr"] = self.optimizer.param_groups[0]["lr"]
        return metrics

    def fit(self, epochs: int) -> TrainResult:
        self.model.to(self.device)
        for hook in self.hooks:
            hook.on_train_start(self)
        result = TrainResult(epochs_run=0, start_epoch=self.start_epoch)
        for epoch in range(self.start_epoch, epochs):
            self._set_epoch(epoch)
            metrics = self.train_epoch(epoch)
            self.scheduler.step()
            result.history.append(metrics)
            result.epochs_run += 1
            for hook in self.hooks:
                hook.on_epoch_end(self, epoch, metrics)
        for hook in self.hooks:
            hook.on_train_end(self)
        return result
