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


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The weights of a model file `save_model` wrote (its `state_dict`) or of a plain
    state dict (name -> tensor), read with `load_checkpoint` (weights_only=True).

    A missing file is a FileNotFoundError; a ValueError names the file when it is
    unreadable (or a pickle weights_only refuses) or holds no tensors by name.
    """
    state = load_checkpoint(path)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ValueError(f"{path}: not a model file or a state dict (name -> tensor)")
    return state


def checkpoint_path(directory: str | Path, epoch: int) -> Path:
    return Path(directory) / f"epoch_{epoch:03d}.pt"


def latest_checkpoint(directory: str | Path) -> Path | None:
    found = sorted(Path(directory).glob("epoch_*.pt")) if Path(directory).is_dir() else []
    return found[-1] if found else None
