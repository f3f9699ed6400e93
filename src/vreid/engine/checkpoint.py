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


def load_checkpoint(path: str | Path, what: str = "checkpoint") -> dict[str, Any]:
    """`path` read with weights_only=True; errors name the file (`what`: what it should be)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file or a pickle we refuse to run
        raise ValueError(f"{path}: not a loadable weights-only checkpoint ({exc})") from None


WRAPPERS = ("state_dict", "model")  # save_model's key first; {"model": ...} of other tools


def _is_state(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def load_state_dict(path: str | Path, what: str = "model file") -> dict[str, torch.Tensor]:
    """The weights (name -> tensor) of a model file `save_model` wrote, of a plain state
    dict, or of another tool's file wrapping one as {"state_dict": ...} / {"model": ...};
    a DataParallel "module." prefix on every key is dropped. Read with `load_checkpoint`
    (weights_only=True): every other pickle is refused.

    A missing file is a FileNotFoundError ("<what> not found: <path>"); a ValueError names
    the file when it is unreadable or holds no tensors by name.
    """
    state = load_checkpoint(path, what)
    if isinstance(state, dict):
        state = next((state[k] for k in WRAPPERS if _is_state(state.get(k))), state)
    if not _is_state(state):
        raise ValueError(f"{path}: not a model file or a state dict (name -> tensor)")
    if all(key.startswith("module.") for key in state):
        state = {key.removeprefix("module."): value for key, value in state.items()}
    return state


def checkpoint_path(directory: str | Path, epoch: int) -> Path:
    return Path(directory) / f"epoch_{epoch:03d}.pt"


def latest_checkpoint(directory: str | Path) -> Path | None:
    found = sorted(Path(directory).glob("epoch_*.pt")) if Path(directory).is_dir() else []
    return found[-1] if found else None
