"""3D part alignment of paper 003 (sec. III-B, eq. 1-2, Fig. 3).

B branches each detect one body region on the pool5 feature cubic F [C, L, h, w]: a
1x1x1 conv + sigmoid gives a part map m_b(l, x, y) in (0, 1) (eq. 1), which re-weights
the cubic element-wise, f_b(c, l, x, y) = f(c, l, x, y) * m_b(l, x, y) (eq. 2). The B
branches' 1x1x1 convs are held as one conv with B output channels: each output channel
has its own filter and bias, i.e. B independent detectors. B = 6 is the paper's choice
for MARS (sec. IV-B, Table IV: "6 body partition is more suitable for MARS").
What follows the part cubics (pooling + per-branch FC, or PersonVLAD) is the model's.
"""

from __future__ import annotations

import torch
from torch import nn

NUM_PARTS = 6  # sec. IV-B, Table IV


class PartAlign3d(nn.Module):
    """Maps [N, C, L, h, w] -> (part cubics [N, B, C, L, h, w], part maps [N, B, L, h, w])."""

    def __init__(self, channels: int, num_parts: int = NUM_PARTS) -> None:
        super().__init__()
        if channels < 1 or num_parts < 1:
            raise ValueError(f"part_align3d: needs channels >= 1 and num_parts >= 1, got "
                             f"{channels} and {num_parts}")
        self.channels, self.num_parts = channels, num_parts
        self.detectors = nn.Conv3d(channels, num_parts, kernel_size=1)  # the B branches

    def part_maps(self, maps: torch.Tensor) -> torch.Tensor:
        """M_b = sigmoid(conv_1x1x1_b(F)) for every branch b, [N, B, L, h, w] (eq. 1)."""
        if maps.dim() != 5 or maps.shape[1] != self.channels:
            raise ValueError(f"part_align3d: maps must be [N, {self.channels}, L, h, w], "
                             f"got {list(maps.shape)}")
        return torch.sigmoid(self.detectors(maps))

    def forward(self, maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        masks = self.part_maps(maps)
        parts = maps.unsqueeze(1) * masks.unsqueeze(2)  # eq. 2, broadcast over channels
        return parts, masks
