"""Throughput of a timed loop: the training loop (clips) or feature extraction (tracklets)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Throughput:
    """`items` (clips, tracklets) holding `frames` frames went through in `seconds`."""

    seconds: float = 0.0
    items: int = 0
    frames: int = 0

    def _rate(self, count: int) -> float:
        # nothing timed (a resumed stage with no epoch left): no rate, not a division error
        return count / self.seconds if self.seconds > 0 else 0.0

    @property
    def items_per_s(self) -> float:
        return self._rate(self.items)

    @property
    def frames_per_s(self) -> float:
        return self._rate(self.frames)

    def __add__(self, other: "Throughput") -> "Throughput":
        return Throughput(self.seconds + other.seconds, self.items + other.items,
                          self.frames + other.frames)


def count_clips(inputs: torch.Tensor) -> tuple[int, int]:
    """(clips, frames) of a model input: clips [B, T, C, H, W] hold B*T frames; images
    [B, C, H, W] (the parser's) are B one-frame clips."""
    clips = int(inputs.shape[0])
    return clips, clips * (int(inputs.shape[1]) if inputs.dim() == 5 else 1)
