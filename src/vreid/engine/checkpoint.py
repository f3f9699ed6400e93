"""Atomic checkpoints that load with weights_only=True."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_path


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """Never a half-written checkpoint: a temp file renamed over `path` (`atomic_path`)."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file or a pickle we refuse to run
        raise ValueError(f"{path}: not a loadable weights-only checkpoint ({exc})") from None


def checkpoint_path(directory: str | Path, epoch: int) -> Path:
    return Path(directory) / f"epoch_{epoch:03d}.pt"


def latest_checkpoint(directory: str | Path) -> Path | None:
    found = sorted(Path(directory).glob("epoch_*.pt")) if Path(directory).is_dir() else []
    return found[-1] if found else None
