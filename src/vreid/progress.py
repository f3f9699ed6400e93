"""A rich progress bar as a trainer hook (front-door code: the engine knows no UI)."""

from __future__ import annotations

import math
from typing import Mapping

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .engine.hooks import Hook


# what an epoch may measure besides its loss, and the short name the line prints
MEASURED = (("accuracy", "acc"), ("pixel_acc", "pixel acc"))


def epoch_line(epoch: int, epochs: int, metrics: Mapping[str, float]) -> str:
    """"epoch 3/10  loss 1.234  [acc 0.812  ]lr 1.00e-03": an accuracy only where the epoch
    measured one (the parsing stage measures none per epoch: no "acc nan")."""
    parts = [f"epoch {epoch + 1}/{epochs}", f"loss {metrics['loss_total']:.3f}"]
    parts += [f"{label} {metrics[key]:.3f}" for key, label in MEASURED
              if key in metrics and math.isfinite(metrics[key])]
    return "  ".join([*parts, f"lr {metrics['lr']:.2e}"])


class RichProgressHook(Hook):
    def __init__(self, epochs: int) -> None:
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[status]}"))
        self.epochs = epochs
        self.task = None

    def on_train_start(self, trainer) -> None:
        self.progress.start()
        steps = len(trainer.loader)
        done = trainer.start_epoch * steps
        self.task = self.progress.add_task("train", total=self.epochs * steps,
                                           completed=done, status="")

    def on_step_end(self, trainer, step: int, terms: Mapping[str, float]) -> None:
        self.progress.update(self.task, advance=1, status=f"loss {terms['total']:.3f}")

    def on_epoch_end(self, trainer, epoch: int, metrics: Mapping[str, float]) -> None:
        self.progress.console.log(epoch_line(epoch, self.epochs, metrics))

    def on_train_end(self, trainer) -> None:
        self.progress.stop()
