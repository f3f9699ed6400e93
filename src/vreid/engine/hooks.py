"""Trainer hooks: every side effect of training (checkpoints, tracking, progress)."""

from __future__ import annotations

import logging
import os
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Protocol, Sequence

from .checkpoint import atomic_torch_save, checkpoint_path, latest_checkpoint, load_checkpoint

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .trainer import Trainer


class Hook:
    """Override any of these; the trainer calls them in order of the hook list."""

    def on_train_start(self, trainer: "Trainer") -> None: ...

    def on_epoch_start(self, trainer: "Trainer", epoch: int) -> None: ...

    def on_step_end(self, trainer: "Trainer", step: int, terms: Mapping[str, float]) -> None: ...

    def on_epoch_end(self, trainer: "Trainer", epoch: int, metrics: Mapping[str, float]) -> None: ...

    def on_train_end(self, trainer: "Trainer") -> None: ...


class MetricLogger(Protocol):
    """What tracking backends implement (MLflow in vreid.tracking; nothing here imports it)."""

    def log_params(self, params: Mapping[str, Any]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None: ...

    def log_artifact(self, path: str | Path) -> None: ...


class NullLogger:
    def log_params(self, params: Mapping[str, Any]) -> None:
        pass

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        pass

    def log_artifact(self, path: str | Path) -> None:
        pass


class CheckpointHook(Hook):
    """Saves the trained state each epoch; resumes from the last one found.

    Keys: `model`, `criterion` (the losses' parameters and buffers), `optimizer`,
    `loss_optimizers` ({loss term: state} of the losses' own optimizers), `scheduler`,
    `epoch`, `metrics`, `fingerprint`.

    `fingerprint` identifies the run's settings: checkpoints written under another
    fingerprint (the config changed since) are moved aside (`set_aside`), not resumed.

    `keep_last`: how many of the newest epoch checkpoints stay on disk; older ones are
    deleted once a newer one is written (atomically, so the newest is always whole).
    Resuming needs only the last; every epoch's (~130 MB for a ResNet-18 with Adam state)
    filled a 250 GB disk on the small-set leaderboard (2026-12-04).
    """

    def __init__(self, directory: str | Path, resume: bool = True, fingerprint: str = "",
                 keep_last: int = 1) -> None:
        if keep_last < 1:
            raise ValueError(f"keep_last must be >= 1, got {keep_last}")
        self.directory = Path(directory)
        self.resume = resume
        self.fingerprint = fingerprint
        self.keep_last = keep_last
        self.resumed_from: Path | None = None

    def on_train_start(self, trainer: "Trainer") -> None:
        last = latest_checkpoint(self.directory) if self.resume else None
        if last is None:
            return
        state = load_checkpoint(last)
        if state.get("fingerprint", "") != self.fingerprint:
            self.set_aside(str(state.get("fingerprint", "")))
            return
        # checkpoints written before losses had state lack the two loss keys
        loss_optimizers = state.get("loss_optimizers", {})
        if set(loss_optimizers) != set(trainer.loss_optimizers):
            raise ValueError(f"{last}: holds loss optimizers {sorted(loss_optimizers)}, "
                             f"the run has {sorted(trainer.loss_optimizers)}")
        trainer.model.load_state_dict(state["model"])
        try:
            trainer.criterion.load_state_dict(state.get("criterion", {}))
        except RuntimeError as exc:
            raise ValueError(f"{last}: the loss state does not fit the configured losses "
                             f"({exc})") from None
        trainer.optimizer.load_state_dict(state["optimizer"])
        for name, optimizer in trainer.loss_optimizers.items():
            optimizer.load_state_dict(loss_optimizers[name])
        trainer.scheduler.load_state_dict(state["scheduler"])
        trainer.start_epoch = int(state["epoch"]) + 1
        self.resumed_from = last

    def set_aside(self, old_fingerprint: str) -> Path:
        """Move the checkpoints of another run (another fingerprint: other settings, data or
        upstream models) into `stale-<fingerprint>/` beside them, kept, not deleted (issue
        15: a run with another params file deleted the main run's). Returns that folder."""
        aside = self.directory / f"stale-{old_fingerprint[:16] or 'unknown'}"
        aside.mkdir(exist_ok=True)
        for old in sorted(self.directory.glob("epoch_*.pt")):
            os.replace(old, aside / old.name)
        log.warning("%s: checkpoints of another run (fingerprint %s) moved to %s; this run "
                    "starts from epoch 0", self.directory, old_fingerprint[:16] or "none", aside)
        return aside

    def on_epoch_end(self, trainer: "Trainer", epoch: int, metrics: Mapping[str, float]) -> None:
        atomic_torch_save(
            {
                "model": trainer.model.state_dict(),
                "criterion": trainer.criterion.state_dict(),
                "optimizer": trainer.optimizer.state_dict(),
                "loss_optimizers": {name: optimizer.state_dict()
                                    for name, optimizer in trainer.loss_optimizers.items()},
                "scheduler": trainer.scheduler.state_dict(),
                "epoch": epoch,
                "metrics": dict(metrics),
                "fingerprint": self.fingerprint,
            },
            checkpoint_path(self.directory, epoch),
        )
        for old in sorted(self.directory.glob("epoch_*.pt"))[:-self.keep_last]:
            old.unlink(missing_ok=True)


class FreezeHook(Hook):
    """Model parameters named by `patterns` (fnmatch, e.g. "vlad.*") get no gradient in
    epochs < `epochs` and train from then on (paper 003 sec. III-C: step 1 fixes the
    PersonVLAD centres, step 2 fine-tunes them jointly). They stay in the optimizer: a
    parameter without a gradient is skipped by its step (no update, no weight decay, no
    moment state), and the epoch alone decides, so a resumed run freezes alike."""

    def __init__(self, patterns: Sequence[str], epochs: int) -> None:
        self.patterns, self.epochs = tuple(patterns), epochs
        self.frozen: list[str] = []

    def on_train_start(self, trainer: "Trainer") -> None:
        names = [n for n, _ in trainer.model.named_parameters()]
        for pattern in self.patterns:
            if not any(fnmatchcase(n, pattern) for n in names):
                raise ValueError(f"train.freeze.params: {pattern!r} matches no parameter of "
                                 f"{type(trainer.model).__name__}; e.g. {names[:6]}")
        self.frozen = [n for n in names if any(fnmatchcase(n, p) for p in self.patterns)]

    def on_epoch_start(self, trainer: "Trainer", epoch: int) -> None:
        train = epoch >= self.epochs
        for name, param in trainer.model.named_parameters():
            if name in self.frozen:
                param.requires_grad_(train)

    def on_train_end(self, trainer: "Trainer") -> None:
        for name, param in trainer.model.named_parameters():
            if name in self.frozen:  # the saved model is a plain trainable one
                param.requires_grad_(True)


class MetricsHook(Hook):
    """Forwards per-epoch metrics to a tracking logger."""

    def __init__(self, logger: MetricLogger, prefix: str = "train/") -> None:
        self.logger, self.prefix = logger, prefix

    def on_epoch_end(self, trainer: "Trainer", epoch: int, metrics: Mapping[str, float]) -> None:
        self.logger.log_metrics({f"{self.prefix}{k}": v for k, v in metrics.items()}, step=epoch)
