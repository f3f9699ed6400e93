"""Erasing-attention loss (paper 001 sec. III-C, eq. 12, after its reference [22]).

    E_att_L = 1/T sum_t E_Label_t * a_t                                          (eq. 12)

with E_Label_t = 1 for a frame random erasing erased, 0 otherwise, and a_t the frame's
temporal attention weight (softmax over the clip's T frames); averaged over the batch.

Sign: paper 001's text says "a high attention score is given to the frame containing the
erased region", but eq. 12 as printed, minimised, LOWERS the erased frames' attention.
We follow the equation: its source, [22] (Pathak, Eshratifar & Gormish, "Video Person
Re-ID: Fantastic Techniques and Where to Find Them", AAAI 2020; identified from what
paper 001 says of it, our copy has no reference list), adds the erased frames' attention
(labels 1/0 from its per-frame erasing) to the minimised loss, i.e. it teaches the
temporal attention to turn away from occluded frames, which is also what attention
pooling is for. [22] sums over T where eq. 12 averages; we keep eq. 12's 1/T.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn


def erasing_attention_loss(attention: torch.Tensor, erased: torch.Tensor) -> torch.Tensor:
    """Eq. 12 averaged over the batch: `attention` [B, T] (each row sums to one),
    `erased` [B, T] bool / 0-1 labels of the erased frames."""
    if attention.dim() != 2:
        raise ValueError(f"erasing-attention loss: attention must be [B, T], got "
                         f"{list(attention.shape)}")
    if erased.shape != attention.shape:
        raise ValueError(f"erasing-attention loss: erased labels {list(erased.shape)} do not "
                         f"match attention {list(attention.shape)} (one label per frame)")
    return (attention * erased.to(attention.dtype)).mean(dim=1).mean()  # eq. 12


class ErasingAttentionLoss(nn.Module):
    """Eq. 12 on the model's per-frame temporal attention and the batch's `erased` labels
    (added by the per-frame random erasing, `input.random_erasing.per_frame`)."""

    uses = "attention"
    batch_keys = ("erased",)

    def forward(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> torch.Tensor:
        return erasing_attention_loss(outputs[self.uses], batch["erased"])
