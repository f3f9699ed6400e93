"""Test-time feature extraction: all frames in consecutive clips, averaged per tracklet."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..data.sampling import test_clips


def _first(batch: list) -> torch.Tensor:
    return batch[0]


@torch.no_grad()
def extract_features(
    model: nn.Module,
    tracklets: Dataset,
    clip_len: int,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    num_workers: int = 0,
) -> torch.Tensor:
    """Returns [N, D] features, N = len(tracklets), each the mean of its clips' embeddings.

    Clips of several tracklets are batched together (up to `batch_size` clips per
    forward), so short tracklets do not cost one forward each.
    """
    device = torch.device(device)
    model.eval().to(device)
    loader = DataLoader(tracklets, batch_size=1, collate_fn=_first, num_workers=num_workers)
    sums: torch.Tensor | None = None
    counts = torch.zeros(len(tracklets))
    pending: list[torch.Tensor] = []
    owners: list[int] = []

    def flush() -> None:
        nonlocal sums
        emb = model(torch.stack(pending).to(device)).float().cpu()
        if sums is None:
            sums = torch.zeros(len(tracklets), emb.shape[1])
        sums.index_add_(0, torch.tensor(owners), emb)
        counts.index_add_(0, torch.tensor(owners), torch.ones(len(owners)))
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
    if sums is None:
        raise ValueError("no tracklet to extract features from")
    return sums / counts.unsqueeze(1)


def _clips(frames: torch.Tensor, clip_len: int) -> Iterable[torch.Tensor]:
    for picks in test_clips(len(frames), clip_len):
        yield frames[picks]
