"""torch Datasets over the common index: training clips and whole test tracklets."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch.utils.data import Dataset
from PIL import Image, UnidentifiedImageError
from torchvision.transforms.v2.functional import pil_to_tensor

from .corruption import ClipCorruption, tracklet_generator
from .frames import ALL_FRAMES, scored_frames
from .index import DatasetFormatError, Tracklet
from .sampling import sample_clip


def read_frame(path: str) -> torch.Tensor:
    """Decode one frame to uint8 [3, H, W]; a bad file raises naming the file.

    Pillow decodes: torchvision's own image decoding is deprecated since 0.29.
    """
    try:
        with Image.open(path) as image:
            return pil_to_tensor(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise DatasetFormatError(f"{path}: cannot decode frame ({exc})") from None


def relabel(tracklets: Sequence[Tracklet]) -> dict[int, int]:
    """Dataset pids -> contiguous training labels 0..N-1 (sorted by pid)."""
    return {pid: label for label, pid in enumerate(sorted({t.pid for t in tracklets}))}


class TrainClips(Dataset):
    """Item i: one sampled clip of tracklet i, as the dict the trainer and losses read.

    Keys: `clips` [T, C, H, W] float, `labels` (training label), `camids`; with
    `erasing` (e.g. `transforms.FrameErasing`, applied after `transform`, returning the
    clip and which frames it erased) also `erased` [T] bool. The default collate stacks
    them into the batch dict (`clips` [B, T, C, H, W], `erased` [B, T]). `corruption`
    (paper 002's, `vreid.data.corruption`) degrades some clips of the sampled frames
    before `transform`, drawn from the epoch's generator.
    """

    def __init__(
        self,
        tracklets: Sequence[Tracklet],
        clip_len: int,
        mode: str,
        transform: Callable[[torch.Tensor], torch.Tensor],
        seed: int = 0,
        erasing: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
        corruption: ClipCorruption | None = None,
    ) -> None:
        self.tracklets = list(tracklets)
        self.pid_to_label = relabel(self.tracklets)
        self.labels = [self.pid_to_label[t.pid] for t in self.tracklets]
        self.clip_len, self.mode, self.transform = clip_len, mode, transform
        self.seed, self.erasing, self.corruption = seed, erasing, corruption
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Reseed clip sampling per epoch so a resumed run draws the same clips."""
        self.generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)

    def __len__(self) -> int:
        return len(self.tracklets)

    def __getitem__(self, index: int) -> dict[str, Any]:
        t = self.tracklets[index]
        picks = sample_clip(len(t.frames), self.clip_len, self.mode, self.generator)
        frames = torch.stack([read_frame(t.frames[i]) for i in picks])
        if self.corruption is not None:  # no draw when off: the clip stream is unchanged
            frames, _ = self.corruption(frames, self.generator)
        clip = self.transform(frames)
        item = {"clips": clip, "labels": self.labels[index], "camids": t.camid}
        if self.erasing is not None:
            item["clips"], item["erased"] = self.erasing(clip)
        return item


class TrackletFrames(Dataset):
    """Item i: the scored frames of tracklet i as [n, C, H, W] (clip splitting is the
    extractor's). `frames` is the `eval.frames` protocol (`vreid.data.frames`): "all"
    returns every frame, "evenly:N" the N evenly spaced ones (only those are read).
    `corruption` (paper 002's test-time clip corruption) degrades some clips of the scored
    frames before `transform`, drawn per tracklet (`tracklet_generator`): the same clips
    of the same tracklets for every model and run."""

    def __init__(self, tracklets: Sequence[Tracklet], transform: Callable,
                 frames: str = ALL_FRAMES, corruption: ClipCorruption | None = None) -> None:
        self.tracklets = list(tracklets)
        self.transform = transform
        self.frames = frames
        self.corruption = corruption
        scored_frames(1, frames)  # a bad protocol fails here, not at the first item

    def __len__(self) -> int:
        return len(self.tracklets)

    def picks(self, index: int) -> list[int]:
        """Indices of the frames of tracklet `index` that item `index` holds."""
        return scored_frames(len(self.tracklets[index].frames), self.frames)

    def __getitem__(self, index: int) -> torch.Tensor:
        t = self.tracklets[index]
        frames = torch.stack([read_frame(t.frames[i]) for i in self.picks(index)])
        if self.corruption is not None:
            frames, _ = self.corruption(frames, tracklet_generator(self.corruption.seed, t))
        return self.transform(frames)
