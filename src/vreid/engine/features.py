"""Test-time feature extraction: all frames in consecutive clips, per tracklet either
averaged (`extract_features`) or kept as a set of clip vectors (`extract_clip_sets`)."""

from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..data.sampling import test_clips


def _first(batch: list) -> torch.Tensor:
    return batch[0]


@torch.no_grad()
def _embed_clips(
    model: nn.Module,
    tracklets: Dataset,
    clip_len: int,
    batch_size: int,
    device: torch.device | str,
    num_workers: int,
    consume: Callable[[list[int], torch.Tensor], None],
) -> None:
    """Every clip of every tracklet through `model`; `consume(owners, embeddings)` gets
    each forward's [n, D] float32 CPU embeddings and the tracklet index of each row.

    Clips of several tracklets are batched together (up to `batch_size` clips per
    forward), so short tracklets do not cost one forward each.
    """
    device = torch.device(device)
    model.eval().to(device)
    loader = DataLoader(tracklets, batch_size=1, collate_fn=_first, num_workers=num_workers)
    pending: list[torch.Tensor] = []
    owners: list[int] = []

    def flush() -> None:
        consume(owners, model(torch.stack(pending).to(device)).float().cpu())
        pending.clear()
        owners.clear()

    for index, frames in enumerate(loader):
        for clip in _clips(frames, clip_len):
            pending.append(clip)
            owners.append(index)
            if len(pending) == batch_size:
                flush()
    if pending:
        flush()


def extract_features(
    model: nn.Module,
    tracklets: Dataset,
    clip_len: int,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    num_workers: int = 0,
) -> torch.Tensor:
    """Returns [N, D] features, N = len(tracklets), each the mean of its clips' embeddings."""
    sums: torch.Tensor | None = None
    counts = torch.zeros(len(tracklets))

    def add(owners: list[int], emb: torch.Tensor) -> None:
        nonlocal sums
        if sums is None:
            sums = torch.zeros(len(tracklets), emb.shape[1])
        sums.index_add_(0, torch.tensor(owners), emb)
        counts.index_add_(0, torch.tensor(owners), torch.ones(len(owners)))

    _embed_clips(model, tracklets, clip_len, batch_size, device, num_workers, add)
    if sums is None:
        raise ValueError("no tracklet to extract features from")
    return sums / counts.unsqueeze(1)


def extract_clip_sets(
    model: nn.Module,
    tracklets: Dataset,
    clip_len: int,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    num_workers: int = 0,
) -> list[torch.Tensor]:
    """Returns one [n_clips_i, D] tensor per tracklet: its clips' embeddings in order."""
    rows: list[list[torch.Tensor]] = [[] for _ in range(len(tracklets))]

    def keep(owners: list[int], emb: torch.Tensor) -> None:
        for owner, vector in zip(owners, emb):
            rows[owner].append(vector)

    _embed_clips(model, tracklets, clip_len, batch_size, device, num_workers, keep)
    if not rows:
        raise ValueError("no tracklet to extract features from")
    empty = [i for i, r in enumerate(rows) if not r]
    if empty:
        raise ValueError(f"tracklets {empty[:5]} have no clip to embed")
    return [torch.stack(r) for r in rows]


def _clips(frames: torch.Tensor, clip_len: int) -> Iterable[torch.Tensor]:
    for picks in test_clips(len(frames), clip_len):
        yield frames[picks]
