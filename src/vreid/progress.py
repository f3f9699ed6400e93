"""A rich progress bar as a trainer hook (front-door code: the engine knows no UI)."""

from __future__ import annotations

from typing import Mapping

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .engine.hooks import Hook


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
        acc = metrics.get("accuracy", float("nan"))
        self.progress.console.log(
            f"epoch {epoch + 1}/{self.epochs}  loss {metrics['loss_total']:.3f}  "
            f"acc {acc:.3f}  lr {metrics['lr']:.2e}")

    def on_train_end(self, trainer) -> None:
        self.progress.stop()
