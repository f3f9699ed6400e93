"""Identity (PK) batch sampling and clip sampling within a tracklet."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator, Sequence

import torch
from torch.utils.data import Sampler

from .frames import evenly_spaced

CLIP_MODES = ("random", "consecutive", "evenly", "evenly_fixed")


def sample_clip(num_frames: int, length: int, mode: str, generator: torch.Generator) -> list[int]:
    """Frame indices of one training clip of `length` frames (repeats if too short).

    random: `length` sorted random frames; consecutive: a random run of `length`
    frames; evenly: one random frame from each of `length` equal chunks (restricted
    random sampling, as in paper 003 / most video re-ID code); evenly_fixed: the same
    evenly spaced frames at every draw (`evenly_spaced`, the test protocol "evenly:N"),
    which is what torchreid's default video sampler 'evenly' trains on: a tracklet then
    shows the network `length` frames only, for the whole run.
    """
    if num_frames < 1:
        raise ValueError("cannot sample a clip from an empty tracklet")
    if mode not in CLIP_MODES:
        raise ValueError(f"clip sampling mode must be one of {CLIP_MODES}, got {mode!r}")
    if num_frames < length or mode == "evenly_fixed":  # short: all, then the last repeated
        return evenly_spaced(num_frames, length)
    if mode == "random":
        return sorted(torch.randperm(num_frames, generator=generator)[:length].tolist())
    if mode == "consecutive":
        start = int(torch.randint(0, num_frames - length + 1, (1,), generator=generator))
        return list(range(start, start + length))
    bounds = torch.linspace(0, num_frames, length + 1).long().tolist()
    return [
        int(torch.randint(lo, max(hi, lo + 1), (1,), generator=generator))
        for lo, hi in zip(bounds[:-1], bounds[1:])
    ]


def test_clips(num_frames: int, length: int) -> list[list[int]]:
    """All frames in consecutive clips of `length`; the last clip is padded by repeating."""
    clips = []
    for start in range(0, num_frames, length):
        clip = list(range(start, min(start + length, num_frames)))
        clips.append(clip + [clip[-1]] * (length - len(clip)))
    return clips


class IdentitySampler(Sampler[int]):
    """PK sampler: each batch holds `ids_per_batch` identities x `instances_per_id` items.

    Yields item indices batch after batch (use with a plain batch_size = P*K). An
    identity with fewer than K items is sampled with replacement.
    """

    def __init__(
        self,
        labels: Sequence[int],
        ids_per_batch: int,
        instances_per_id: int,
        num_batches: int = 0,
        seed: int = 0,
    ) -> None:
        self.by_label: dict[int, list[int]] = defaultdict(list)
        for index, label in enumerate(labels):
            self.by_label[int(label)].append(index)
        if len(self.by_label) < ids_per_batch:
            raise ValueError(f"PK sampling needs >= {ids_per_batch} identities, "
                             f"the training set has {len(self.by_label)}")
        self.p, self.k = ids_per_batch, instances_per_id
        self.num_batches = num_batches or len(self.by_label) // ids_per_batch
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Each epoch draws different batches, reproducibly (resume-safe)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_batches * self.p * self.k

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        labels = sorted(self.by_label)
        order: list[int] = []
        for _ in range(self.num_batches):
            if not order:
                order = [labels[i] for i in torch.randperm(len(labels), generator=g).tolist()]
            chosen, order = order[: self.p], order[self.p :]
            if len(chosen) < self.p:  # top up from a fresh permutation, without repeats
                rest = [lab for lab in labels if lab not in chosen]
                extra = torch.randperm(len(rest), generator=g)[: self.p - len(chosen)]
                chosen += [rest[i] for i in extra.tolist()]
            for label in chosen:
                items = self.by_label[label]
                if len(items) >= self.k:
                    picks = torch.randperm(len(items), generator=g)[: self.k].tolist()
                else:
                    picks = torch.randint(0, len(items), (self.k,), generator=g).tolist()
                yield from (items[i] for i in picks)


class ShuffleSampler(Sampler[int]):
    """Uniform batches: a fresh seeded permutation of the items each epoch (no identity
    grouping), `num_batches` batches of `batch_size` (default: one pass over the items).

    Epoch-aware like `IdentitySampler`, so a resumed run draws the same batches."""

    def __init__(self, num_items: int, batch_size: int, num_batches: int = 0,
                 seed: int = 0) -> None:
        if num_items < batch_size:
            raise ValueError(f"a batch of {batch_size} needs >= {batch_size} training items, "
                             f"the training set has {num_items}")
        self.num_items, self.batch_size = num_items, batch_size
        self.num_batches = num_batches or num_items // batch_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_batches * self.batch_size

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order: list[int] = []
        for _ in range(len(self)):
            if not order:
                order = torch.randperm(self.num_items, generator=g).tolist()
            yield order.pop()
