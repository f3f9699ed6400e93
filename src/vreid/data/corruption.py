"""Paper 002's clip corruption (sec. 4.4, table 2): some clips of a sequence are downscaled,
JPEG-compressed and upscaled back, at training and at test.

"For every training or test sequence x, we first randomly pick a number M_c(x) with
0 <= M_c(x) <= M_c^max ... Next, we apply a corruption transformation function to randomly
selected M_c(x) of the M clips sampled from the sequence x. The corruption transformation
function consists of first scaling of every frame in the clip down by a factor of 5, JPEG
compression of resulting scaled-down frames, and finally rescaling of the frames up to the
original size."

A sequence's clips are the ones the model embeds: `test_clips(len(frames), clip_len)`,
consecutive runs of the model's L frames (at test every clip of the scored frames; in
training the M clips of one M * L sample, one clip for a single-clip model). M_c is drawn
uniformly in [0, min(M_c^max, M)] (the paper has M_c^max <= M; a short sequence with fewer
clips than M_c^max can at most have all of them corrupted). The corruption acts on the
decoded uint8 frames at their own size ("the original size"), before the model's resize.

At test a sequence's draw is seeded from the corruption seed and the tracklet itself
(`tracklet_generator`), so every model scored on a set sees the same corrupted query and
gallery (paired comparisons), whatever order or split it is read in.
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass
from pathlib import PurePath

import torch
from torchvision.io import decode_jpeg, encode_jpeg
from torchvision.transforms.v2 import functional as F

from .index import Tracklet
from .sampling import test_clips


@dataclass(frozen=True)
class ClipCorruption:
    """Corrupts up to `max_clips` of a sequence's clips of `clip_len` frames: each frame
    resized down by `factor`, JPEG-encoded at `jpeg_quality` and decoded, resized back.
    `seed`: the test-time draws' seed (`tracklet_generator`)."""

    max_clips: int
    clip_len: int
    factor: float = 5.0
    jpeg_quality: int = 75
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_clips < 0 or self.clip_len < 1 or self.factor < 1:
            raise ValueError(f"clip corruption: need max_clips >= 0, clip_len >= 1, factor >= 1; "
                             f"got {self.max_clips}, {self.clip_len}, {self.factor}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"clip corruption: jpeg_quality must be in 1..100, "
                             f"got {self.jpeg_quality}")

    def degrade(self, frames: torch.Tensor) -> torch.Tensor:
        """The corruption function on uint8 frames [T, 3, H, W] -> the same shape."""
        if frames.dtype != torch.uint8 or frames.dim() != 4:
            raise ValueError(f"clip corruption: expects uint8 frames [T, 3, H, W], got "
                             f"{frames.dtype} {list(frames.shape)}")
        h, w = frames.shape[-2:]
        # at least 2 pixels a side: torch's antialiased uint8 resize fails on a 1 x 1 output
        small = F.resize(frames, [max(2, round(h / self.factor)), max(2, round(w / self.factor))],
                         antialias=True)
        with warnings.catch_warnings():  # torchvision 0.29 deprecates its image codecs
            warnings.filterwarnings("ignore", category=DeprecationWarning,
                                    module=r"torchvision\.io")
            coded = decode_jpeg(encode_jpeg(list(small.contiguous()), quality=self.jpeg_quality))
        return F.resize(torch.stack(coded), [h, w], antialias=True)

    def draw(self, num_clips: int, generator: torch.Generator) -> list[int]:
        """The corrupted clips (sorted indices) of a sequence of `num_clips` clips."""
        count = int(torch.randint(0, min(self.max_clips, num_clips) + 1, (1,),
                                  generator=generator))
        return sorted(torch.randperm(num_clips, generator=generator)[:count].tolist())

    def __call__(self, frames: torch.Tensor, generator: torch.Generator
                 ) -> tuple[torch.Tensor, list[int]]:
        """A sequence's uint8 frames [n, 3, H, W] with M_c of its clips corrupted, and which
        clips (indices into `test_clips(n, clip_len)`)."""
        clips = test_clips(len(frames), self.clip_len)
        chosen = self.draw(len(clips), generator)
        if not chosen:
            return frames, chosen
        # a padded last clip repeats its last frame: a frame belongs to one clip only
        rows = torch.tensor(sorted({i for c in chosen for i in clips[c]}))
        out = frames.clone()
        out[rows] = self.degrade(frames[rows])
        return out, chosen


def tracklet_generator(seed: int, tracklet: Tracklet) -> torch.Generator:
    """A generator seeded from `seed` and the tracklet (identity, camera, length, first and
    last frame's file name): the same draw for the tracklet in every run and model."""
    frames = tracklet.frames
    ends = "/".join(PurePath(f).name for f in frames[:1] + frames[-1:])
    key = f"{seed}/{tracklet.pid}/{tracklet.camid}/{len(frames)}/{ends}"
    return torch.Generator().manual_seed(zlib.crc32(key.encode()))
